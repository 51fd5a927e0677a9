//! `/auth/v1/admin/*` as supabase-js `auth.admin.*` calls it: listUsers (paginated, with
//! `X-Total-Count` and `Link`), createUser, getUserById, updateUserById, deleteUser, generateLink.
//! Who may (a `service_role` token or a super admin) is decided in SQL (`auth.admin_problem`).

use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue};
use hyper::http::request::Parts;
use hyper::StatusCode;
use serde_json::Value;

use super::flows::{action_link, Query};
use super::{call_auth, checked, is_uuid, json_body, json_response, redirect, user_call, AuthServiceError, Reply};
use crate::auth::Identity;
use crate::sql::auth::AuthCall;
use crate::state::AppState;

fn user_not_found() -> AuthServiceError {
    AuthServiceError::Refused { status: 404, code: "user_not_found".into(), message: "User not found".into() }
}

fn user_id(path: &str) -> Result<String, AuthServiceError> {
    let id = path.trim_start_matches("/auth/v1/admin/users/");
    // GoTrue's answer for an id that names no user, a malformed one included.
    if is_uuid(id) {
        Ok(id.to_string())
    } else {
        Err(user_not_found())
    }
}

/// GET /admin/users?page=1&per_page=50
pub(super) async fn list(state: &AppState, parts: &Parts, query: Query<'_>, identity: &Identity) -> Reply {
    let number = |key: &str, default: i64| -> Result<i64, AuthServiceError> {
        match query(key).filter(|s| !s.is_empty()) {
            None => Ok(default),
            Some(v) => v
                .parse::<i32>()
                .map(i64::from)
                .map_err(|_| AuthServiceError::Validation("page and per_page must be whole numbers")),
        }
    };
    let (page, per_page) = (number("page", 1)?, number("per_page", 50)?);
    let call = AuthCall::AdminUsersPage { page, per_page };
    let mut result = checked(call_auth(state, parts, Some(identity), call).await?)?;
    let total = result.get("total").and_then(Value::as_i64).unwrap_or(0);
    if let Some(map) = result.as_object_mut() {
        map.remove("total");
    }
    let mut resp = json_response(StatusCode::OK, &result);
    let last = ((total + per_page - 1) / per_page).max(1);
    let mut links = Vec::new();
    if page < last {
        links.push(format!("</admin/users?page={}&per_page={per_page}>; rel=\"next\"", page + 1));
    }
    links.push(format!("</admin/users?page={last}&per_page={per_page}>; rel=\"last\""));
    let headers = resp.headers_mut();
    headers.insert(HeaderName::from_static("x-total-count"), HeaderValue::from(total));
    if let Ok(v) = HeaderValue::from_str(&links.join(", ")) {
        headers.insert(HeaderName::from_static("link"), v);
    }
    Ok(resp)
}

pub(super) async fn get(state: &AppState, parts: &Parts, identity: &Identity, path: &str) -> Reply {
    user_call(state, parts, identity, AuthCall::AdminGetUser { id: user_id(path)? }).await
}

pub(super) async fn create(state: &AppState, parts: &Parts, identity: &Identity, body: &Bytes) -> Reply {
    let attrs = json_body(body)?.to_string();
    user_call(state, parts, identity, AuthCall::AdminCreate { attrs }).await
}

/// PUT /admin/users/{id}: email, password, email_confirm, user_metadata, app_metadata,
/// ban_duration ("none" lifts a ban), or `disabled: bool`.
pub(super) async fn update(state: &AppState, parts: &Parts, identity: &Identity, path: &str, body: &Bytes) -> Reply {
    let id = user_id(path)?;
    let attrs = json_body(body)?.to_string();
    user_call(state, parts, identity, AuthCall::AdminUpdate { id, attrs }).await
}

pub(super) async fn delete(state: &AppState, parts: &Parts, identity: &Identity, path: &str) -> Reply {
    user_call(state, parts, identity, AuthCall::AdminDeleteUser { id: user_id(path)? }).await
}

/// POST /admin/generate_link {type, email, password, data, new_email}: no email is sent; the
/// answer is the user with `action_link`, `email_otp`, `hashed_token`, `redirect_to`,
/// `verification_type` (supabase-js splits them into `properties`).
pub(super) async fn generate_link(
    state: &AppState,
    parts: &Parts,
    query: Query<'_>,
    identity: &Identity,
    body: &Bytes,
) -> Reply {
    let input = json_body(body)?;
    let asked = query("redirect_to").or_else(|| input.get("redirect_to").and_then(Value::as_str));
    let redirect = redirect::target(&state.config.auth_flows, asked).ok_or(AuthServiceError::RedirectNotAllowed)?;
    let call = AuthCall::AdminGenerateLink { attrs: input.to_string() };
    let result = checked(call_auth(state, parts, Some(identity), call).await?)?;
    let link = &result["link"];
    let kind = link["type"].as_str().unwrap_or_default();
    let token = link["token"].as_str().unwrap_or_default();
    let mut answer = result["user"].clone();
    if let Some(map) = answer.as_object_mut() {
        map.insert("action_link".into(), action_link(state, token, kind, &redirect).into());
        map.insert("email_otp".into(), link["code"].clone());
        map.insert("hashed_token".into(), token.into());
        map.insert("redirect_to".into(), redirect.into());
        map.insert("verification_type".into(), kind.into());
    }
    Ok(json_response(StatusCode::OK, &answer))
}

//! `/auth/v1`: the auth service's HTTP shell, GoTrue-compatible where GoTrue has the endpoint.
//! Routing and bodies here; every rule (passwords, sessions, rotation, limits, revocation) is a
//! function of schema `auth`, called through `sql::auth` in the request's own transaction;
//! `session.rs` signs the access token of a new session; `flows.rs` holds the emailed flows and
//! `admin.rs` the admin API.

mod admin;
mod error;
mod flows;
mod mfa;
mod oauth;
mod redirect;
mod session;

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use hyper::http::request::Parts;
use hyper::{Method, Response, StatusCode};
use serde_json::{json, Value};

pub use error::AuthServiceError;

use crate::auth::Identity;
use crate::body::{full, Body};
use crate::db::execute::Finish;
use crate::error::{ApiError, Internal};
use crate::observe::{self, AuthEvent, Phase};
use crate::pipeline::{run_transaction, TxContext};
use crate::rate_limit::client_ip::ClientIp;
use crate::sql::auth::AuthCall;
use crate::sql::context::RequestContext;
use crate::state::AppState;

type Reply = Result<Response<Body>, AuthServiceError>;

pub async fn handle(state: &AppState, parts: &Parts, body: &Bytes) -> Response<Body> {
    route(state, parts, body).await.unwrap_or_else(|e| ApiError::from(e).into_response())
}

async fn route(state: &AppState, parts: &Parts, body: &Bytes) -> Reply {
    if !state.config.auth_enabled {
        return Err(AuthServiceError::NotFound);
    }
    let query: Vec<(String, String)> = form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let param = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    match (&parts.method, parts.uri.path()) {
        (&Method::GET | &Method::HEAD, "/auth/v1/.well-known/jwks.json") => {
            let jwks = state.signing.as_ref().map_or_else(|| json!({ "keys": [] }), |k| k.jwks());
            Ok(json_response(StatusCode::OK, &jwks))
        }
        (&Method::POST, "/auth/v1/token") => {
            let grant = param("grant_type");
            let input = json_body(body)?;
            let field = |k: &str| input.get(k).and_then(Value::as_str).map(str::to_string);
            let call = match grant {
                Some("password") => {
                    let (Some(email), Some(password)) = (field("email"), field("password")) else {
                        return Err(AuthServiceError::Validation("email and password are required"));
                    };
                    AuthCall::Login { email, password, ip: client_ip(parts) }
                }
                Some("refresh_token") => {
                    let token =
                        field("refresh_token").ok_or(AuthServiceError::Validation("refresh_token is required"))?;
                    AuthCall::Refresh { token }
                }
                // OAuth sign-in's code exchange (oauth/mod.rs, functions/auth_oauth.sql).
                Some("pkce") => AuthCall::Oauth(crate::sql::auth_oauth::OauthCall::Pkce {
                    auth_code: field("auth_code").unwrap_or_default(),
                    code_verifier: field("code_verifier").unwrap_or_default(),
                }),
                _ => return Err(AuthServiceError::UnsupportedGrant),
            };
            let result = call_auth(state, parts, None, call).await?;
            if let Some(event) = grant.and_then(|grant| AuthEvent::of_grant(grant, &result)) {
                state.metrics.auth_event(event);
            }
            session::issue(state, result)
        }
        (&Method::POST, "/auth/v1/bootstrap") => {
            let (email, password) = credentials(body)?;
            session::issue(state, call_auth(state, parts, None, AuthCall::Bootstrap { email, password }).await?)
        }
        (&Method::POST, "/auth/v1/signup") => {
            if !state.config.auth_signup_enabled {
                return Err(AuthServiceError::SignupDisabled);
            }
            flows::signup(state, parts, &param, body).await
        }
        (&Method::GET, "/auth/v1/settings") => flows::settings(state),
        (&Method::GET, "/auth/v1/verify") => flows::verify_get(state, parts, &param).await,
        (&Method::POST, "/auth/v1/verify") => flows::verify_post(state, parts, body).await,
        (&Method::POST, "/auth/v1/otp") => flows::send_link(state, parts, &param, body, "otp").await,
        (&Method::POST, "/auth/v1/recover") => flows::send_link(state, parts, &param, body, "recover").await,
        (&Method::POST, "/auth/v1/resend") => flows::send_link(state, parts, &param, body, "resend").await,
        (&Method::POST, "/auth/v1/invite") => {
            let identity = bearer_identity(state, parts)?;
            flows::invite(state, parts, &param, &identity, body).await
        }
        (&Method::GET, "/auth/v1/reauthenticate") => {
            let identity = bearer_identity(state, parts)?;
            flows::reauthenticate(state, parts, &identity).await
        }
        (&Method::GET, "/auth/v1/user") => {
            let identity = bearer_identity(state, parts)?;
            user_call(state, parts, &identity, AuthCall::GetUser).await
        }
        (&Method::PUT, "/auth/v1/user") => {
            let identity = bearer_identity(state, parts)?;
            flows::update_user(state, parts, &param, &identity, body).await
        }
        (&Method::POST, "/auth/v1/logout") => {
            let identity = bearer_identity(state, parts)?;
            let scope = param("scope").unwrap_or("global").to_string();
            if !matches!(scope.as_str(), "global" | "local" | "others") {
                return Err(AuthServiceError::Validation("scope must be global, local or others"));
            }
            checked(call_auth(state, parts, Some(&identity), AuthCall::Logout { scope }).await?)?;
            let mut resp = Response::new(full(""));
            *resp.status_mut() = StatusCode::NO_CONTENT;
            Ok(resp)
        }
        (method, path) if path.starts_with("/auth/v1/admin/") => {
            let identity = bearer_identity(state, parts)?;
            match (method, path) {
                (&Method::GET, "/auth/v1/admin/users") => admin::list(state, parts, &param, &identity).await,
                (&Method::POST, "/auth/v1/admin/users") => admin::create(state, parts, &identity, body).await,
                (&Method::POST, "/auth/v1/admin/generate_link") => {
                    admin::generate_link(state, parts, &param, &identity, body).await
                }
                (&Method::GET, p) if p.starts_with("/auth/v1/admin/users/") => {
                    admin::get(state, parts, &identity, p).await
                }
                (&Method::PUT, p) if p.starts_with("/auth/v1/admin/users/") => {
                    admin::update(state, parts, &identity, p, body).await
                }
                (&Method::DELETE, p) if p.starts_with("/auth/v1/admin/users/") => {
                    admin::delete(state, parts, &identity, p).await
                }
                _ => Err(AuthServiceError::NotFound),
            }
        }
        (&Method::GET, "/auth/v1/authorize") => Ok(oauth::authorize(state, parts).await),
        (&Method::GET, "/auth/v1/callback") => Ok(oauth::callback(state, parts, body).await),
        (_, path) if path == "/auth/v1/factors" || path.starts_with("/auth/v1/factors/") => {
            Ok(mfa::handle(state, parts, body).await)
        }
        _ => Err(AuthServiceError::NotFound),
    }
}

/// `8-4-4-4-12` hex digits (the form GoTrue's ids and `auth.users.id` have).
fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// An endpoint that acts for the bearer and answers the function's JSON as it is.
async fn user_call(state: &AppState, parts: &Parts, identity: &Identity, call: AuthCall) -> Reply {
    let answer = checked(call_auth(state, parts, Some(identity), call).await?)?;
    Ok(json_response(StatusCode::OK, &answer))
}

/// Runs one auth function as the gateway's own role (request roles cannot reach schema `auth`),
/// with the caller's claims when a token was sent, and returns its JSON result.
async fn call_auth(
    state: &AppState,
    parts: &Parts,
    identity: Option<&Identity>,
    call: AuthCall,
) -> Result<Value, AuthServiceError> {
    let ip = client_ip(parts);
    // Only the request id of the headers reaches SQL here (the audit log records it).
    let request_id = parts.headers.get("x-request-id").and_then(|v| v.to_str().ok());
    let headers = request_id.map_or_else(|| "{}".to_string(), |id| json!({ "x-request-id": id }).to_string());
    let (extra_search_path, statement_timeout_ms) = TxContext::settings(state);
    let ctx = TxContext {
        request: RequestContext {
            schema: &state.config.schemas[0],
            extra_search_path,
            // `none` resets to the session user: the authenticator.
            role: "none",
            claims: identity.map_or("{}", |i| &i.claims),
            method: parts.method.as_str(),
            path: parts.uri.path(),
            headers: &headers,
            cookies: "{}",
            statement_timeout_ms,
            timezone: "",
            client_ip: &ip,
            // The lifetimes, limits and confirmation rule of `functions/auth_flows.sql`.
            role_settings: &state.config.auth_flows.sql_settings,
        },
        has_token: identity.is_some(),
        pre_request: false,
    };
    let main = call.statement();
    let outcome = run_transaction(state, &ctx, false, &main, None, Finish::Commit).await?;
    // A logout or a profile change: the subject's next reads wait for a replica to replay it.
    if let (Some(replicas), Some(identity)) = (&state.replicas, identity) {
        replicas.wrote(&identity.subject_key());
    }
    let text: &str = outcome.main.required_text(0).map_err(|e| Internal(e.to_string()))?;
    Ok(serde_json::from_str(text).map_err(|e| Internal(e.to_string()))?)
}

/// Turns `{"error": {status, code, message}}` from SQL into GoTrue's error response.
fn checked(result: Value) -> Result<Value, AuthServiceError> {
    match result.get("error") {
        Some(e) => Err(AuthServiceError::Refused {
            status: e["status"].as_u64().and_then(|s| u16::try_from(s).ok()).unwrap_or(400),
            code: e["code"].as_str().unwrap_or("unexpected_failure").to_string(),
            message: e["message"].as_str().unwrap_or("Request failed").to_string(),
        }),
        None => Ok(result),
    }
}

fn bearer_identity(state: &AppState, parts: &Parts) -> Result<Identity, AuthServiceError> {
    let header = parts.headers.get(AUTHORIZATION).map(HeaderValue::as_bytes);
    if header.is_none() {
        return Err(AuthServiceError::NoAuthorization);
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    Ok(observe::time(Phase::Jwt, || state.auth.authenticate(header, now))?)
}

fn credentials(body: &Bytes) -> Result<(String, String), AuthServiceError> {
    let input = json_body(body)?;
    match (input.get("email").and_then(Value::as_str), input.get("password").and_then(Value::as_str)) {
        (Some(e), Some(p)) => Ok((e.to_string(), p.to_string())),
        _ => Err(AuthServiceError::Validation("email and password are required")),
    }
}

fn json_body(body: &Bytes) -> Result<Value, AuthServiceError> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
        .ok_or(AuthServiceError::Validation("the body must be a JSON object"))
}

/// The client address the router resolved (socket peer, or `X-Forwarded-For` from a trusted
/// proxy, see `rate_limit::client_ip`), for the per-IP sign-in limit in SQL.
fn client_ip(parts: &Parts) -> String {
    parts.extensions.get::<ClientIp>().map(|c| c.0.to_string()).unwrap_or_default()
}

fn json_response(status: StatusCode, v: &Value) -> Response<Body> {
    let mut resp = Response::new(full(v.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    resp
}

#[cfg(test)]
mod tests {
    #[test]
    fn user_ids_are_uuids() {
        assert!(super::is_uuid("0a000000-0000-4000-8000-00000000000A"));
        for bad in [
            "",
            "0a000000000040008000000000000000",
            "0a000000-0000-4000-8000-00000000000",
            "../../x",
            "0a000000-0000-4000-8000-00000000000g",
        ] {
            assert!(!super::is_uuid(bad), "{bad}");
        }
    }
}

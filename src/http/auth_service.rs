//! `/auth/v1`: the auth service's HTTP side, GoTrue-compatible where GoTrue has the endpoint.
//! Every rule (passwords, sessions, rotation, limits) is a function in schema `auth`; the
//! gateway runs it in the request's transaction and signs the access token.

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use hyper::http::request::Parts;
use hyper::{Method, Response, StatusCode};
use serde_json::{json, Value};

use super::{full, Body};
use crate::app::AppState;
use crate::auth::Identity;
use crate::db::execute::{self, Finish, Transaction};
use crate::db::pool::Lease;
use crate::observe::{self, AuthEvent, Phase};
use crate::response::{from_db, ApiError};
use crate::sql::{context, Statement};

/// Access tokens live three hours; revocation is immediate through `auth.check_request`.
const ACCESS_TOKEN_SECONDS: u64 = 3 * 3600;

pub async fn handle(state: &AppState, parts: &Parts, body: &Bytes) -> Response<Body> {
    match route(state, parts, body).await {
        Ok(resp) => resp,
        Err(e) => e,
    }
}

type Reply = Result<Response<Body>, Response<Body>>;

async fn route(state: &AppState, parts: &Parts, body: &Bytes) -> Reply {
    let query: Vec<(String, String)> = form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let param = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    if !state.config.auth_enabled {
        return Err(not_found());
    }
    match (&parts.method, parts.uri.path()) {
        (&Method::GET | &Method::HEAD, "/auth/v1/.well-known/jwks.json") => {
            let jwks = state.signing.as_ref().map_or_else(|| json!({ "keys": [] }), |k| k.jwks());
            Ok(json_response(StatusCode::OK, &jwks))
        }
        (&Method::POST, "/auth/v1/token") => {
            let input = json_body(body)?;
            let field = |k: &str| input.get(k).and_then(Value::as_str).map(str::to_string);
            let result = match param("grant_type") {
                Some("password") => {
                    let (Some(email), Some(password)) = (field("email"), field("password")) else {
                        return Err(gotrue_error(400, "validation_failed", "email and password are required"));
                    };
                    call(
                        state,
                        parts,
                        None,
                        "select auth.login($1, $2, $3)::text",
                        vec![email, password, client_ip(parts)],
                    )
                    .await?
                }
                Some("refresh_token") => {
                    let Some(token) = field("refresh_token") else {
                        return Err(gotrue_error(400, "validation_failed", "refresh_token is required"));
                    };
                    call(state, parts, None, "select auth.refresh($1)::text", vec![token]).await?
                }
                _ => {
                    return Err(gotrue_error(
                        400,
                        "unsupported_grant_type",
                        "grant_type must be password or refresh_token",
                    ))
                }
            };
            if let Some(event) = param("grant_type").and_then(|grant| AuthEvent::of_grant(grant, &result)) {
                state.metrics.auth_event(event);
            }
            issue_session(state, result)
        }
        (&Method::POST, "/auth/v1/bootstrap") => {
            let (email, password) = credentials(body)?;
            issue_session(
                state,
                call(state, parts, None, "select auth.bootstrap($1, $2)::text", vec![email, password]).await?,
            )
        }
        (&Method::POST, "/auth/v1/signup") => {
            if !state.config.auth_signup_enabled {
                return Err(gotrue_error(422, "signup_disabled", "Signups not allowed for this instance"));
            }
            let (email, password) = credentials(body)?;
            issue_session(
                state,
                call(state, parts, None, "select auth.signup($1, $2)::text", vec![email, password]).await?,
            )
        }
        (&Method::PUT, "/auth/v1/user") => {
            let identity = bearer_identity(state, parts)?;
            let changes = json_body(body)?.to_string();
            let sql = "select auth.update_user($1::jsonb)::text";
            let user = checked(call(state, parts, Some(&identity), sql, vec![changes]).await?)?;
            Ok(json_response(StatusCode::OK, &user))
        }
        (&Method::GET, "/auth/v1/admin/users") => {
            let identity = bearer_identity(state, parts)?;
            let users =
                checked(call(state, parts, Some(&identity), "select auth.admin_list_users()::text", vec![]).await?)?;
            Ok(json_response(StatusCode::OK, &users))
        }
        (&Method::POST, "/auth/v1/admin/users") => {
            let identity = bearer_identity(state, parts)?;
            let input = json_body(body)?;
            let (email, password) = credentials(body)?;
            let super_admin = input.get("is_super_admin").and_then(Value::as_bool).unwrap_or(false).to_string();
            let sql = "select auth.admin_create_user($1, $2, $3::boolean)::text";
            let user = checked(call(state, parts, Some(&identity), sql, vec![email, password, super_admin]).await?)?;
            Ok(json_response(StatusCode::OK, &user))
        }
        (&Method::PUT, path) if path.starts_with("/auth/v1/admin/users/") => {
            let identity = bearer_identity(state, parts)?;
            let id = path.trim_start_matches("/auth/v1/admin/users/").to_string();
            let input = json_body(body)?;
            // `disabled: bool`, or GoTrue's `ban_duration` ("none" lifts the ban).
            let disabled = match (input.get("disabled").and_then(Value::as_bool), input.get("ban_duration")) {
                (Some(d), _) => d,
                (None, Some(Value::String(b))) => b != "none",
                _ => return Err(gotrue_error(400, "validation_failed", "expected disabled or ban_duration")),
            };
            let sql = "select auth.admin_set_disabled($1::uuid, $2::boolean)::text";
            let user = checked(call(state, parts, Some(&identity), sql, vec![id, disabled.to_string()]).await?)?;
            Ok(json_response(StatusCode::OK, &user))
        }
        (&Method::POST, "/auth/v1/logout") => {
            let identity = bearer_identity(state, parts)?;
            let scope = param("scope").unwrap_or("global").to_string();
            if !matches!(scope.as_str(), "global" | "local" | "others") {
                return Err(gotrue_error(400, "validation_failed", "scope must be global, local or others"));
            }
            checked(call(state, parts, Some(&identity), "select auth.logout($1)::text", vec![scope]).await?)?;
            let mut resp = Response::new(full(""));
            *resp.status_mut() = StatusCode::NO_CONTENT;
            Ok(resp)
        }
        (&Method::GET, "/auth/v1/user") => {
            let identity = bearer_identity(state, parts)?;
            let user = checked(call(state, parts, Some(&identity), "select auth.get_user()::text", vec![]).await?)?;
            Ok(json_response(StatusCode::OK, &user))
        }
        _ => Err(not_found()),
    }
}

fn not_found() -> Response<Body> {
    ApiError::new(404, "PGRST125", "Invalid path specified in request URL").into_response()
}

/// Runs one auth function as the gateway's own role (request roles cannot reach schema `auth`),
/// with the caller's claims when a token was sent, and returns its JSON result.
async fn call(
    state: &AppState,
    parts: &Parts,
    identity: Option<&Identity>,
    sql: &str,
    params: Vec<String>,
) -> Result<Value, Response<Body>> {
    let (claims, has_token) = match identity {
        Some(i) => (i.claims.to_string(), true),
        None => ("{}".to_string(), false),
    };
    // `none` resets to the session user: the authenticator.
    let role = "none";
    let ctx = context::context_statement(&context::RequestContext {
        schema: &state.config.schemas[0],
        extra_search_path: &state.config.extra_search_path,
        role,
        claims: &claims,
        method: parts.method.as_str(),
        path: parts.uri.path(),
        headers: "{}",
        cookies: "{}",
        statement_timeout_ms: state.config.statement_timeout.as_millis() as u64,
        timezone: "",
    });
    let main = Statement { sql: sql.to_string().into(), params };
    let db_err = |e| from_db(e, has_token).into_response();
    let mut conn = observe::time_async(Phase::Transaction, Lease::get(&state.pool)).await.map_err(db_err)?;
    let tx = Transaction {
        read_only: false,
        context: &ctx,
        pre_request: None,
        main: &main,
        explain: None,
        finish: Finish::Commit,
    };
    let outcome = observe::time_async(Phase::Transaction, execute::run(&mut conn, tx)).await.map_err(db_err)?;
    let text: &str = outcome.main.required_text(0).map_err(|e| internal(&e.to_string()))?;
    serde_json::from_str(text).map_err(|e| internal(&e.to_string()))
}

/// Turns `{"error": {status, code, message}}` from SQL into GoTrue's error response.
fn checked(result: Value) -> Result<Value, Response<Body>> {
    match result.get("error") {
        Some(e) => Err(gotrue_error(
            e["status"].as_u64().unwrap_or(400) as u16,
            e["code"].as_str().unwrap_or("unexpected_failure"),
            e["message"].as_str().unwrap_or("Request failed"),
        )),
        None => Ok(result),
    }
}

/// `{user, session_id, refresh_token}` from SQL → GoTrue's session response with a signed token.
fn issue_session(state: &AppState, result: Value) -> Reply {
    let result = checked(result)?;
    let Some(key) = &state.signing else {
        return Err(internal("no signing key configured (ROWGATE_JWT_SIGNING_KEY)"));
    };
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let user = &result["user"];
    let claims = json!({
        "sub": user["id"],
        "role": "authenticated",
        "aud": state.config.jwt_aud.clone().unwrap_or_else(|| "authenticated".into()),
        "iss": "rowgate",
        "iat": now,
        "exp": now + ACCESS_TOKEN_SECONDS,
        "session_id": result["session_id"],
        "email": user["email"],
    });
    let access_token = key.sign(&claims).map_err(|e| internal(&e.to_string()))?;
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "access_token": access_token,
            "token_type": "bearer",
            "expires_in": ACCESS_TOKEN_SECONDS,
            "expires_at": now + ACCESS_TOKEN_SECONDS,
            "refresh_token": result["refresh_token"],
            "user": user,
        }),
    ))
}

fn bearer_identity(state: &AppState, parts: &Parts) -> Result<Identity, Response<Body>> {
    let header = parts.headers.get(AUTHORIZATION).map(HeaderValue::as_bytes);
    if header.is_none() {
        return Err(gotrue_error(401, "no_authorization", "This endpoint requires a Bearer token"));
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    observe::time(Phase::Jwt, || state.auth.authenticate(header, now)).map_err(|e| ApiError::from(e).into_response())
}

fn credentials(body: &Bytes) -> Result<(String, String), Response<Body>> {
    let input = json_body(body)?;
    match (input.get("email").and_then(Value::as_str), input.get("password").and_then(Value::as_str)) {
        (Some(e), Some(p)) => Ok((e.to_string(), p.to_string())),
        _ => Err(gotrue_error(400, "validation_failed", "email and password are required")),
    }
}

fn json_body(body: &Bytes) -> Result<Value, Response<Body>> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| gotrue_error(400, "validation_failed", "the body must be a JSON object"))
}

/// The client address the handler resolved (socket peer, or `X-Forwarded-For` from a trusted
/// proxy, see `rate_limit::client_ip`), for the per-IP sign-in limit in SQL.
fn client_ip(parts: &Parts) -> String {
    parts.extensions.get::<super::rate_limit::client_ip::ClientIp>().map(|c| c.0.to_string()).unwrap_or_default()
}

fn json_response(status: StatusCode, v: &Value) -> Response<Body> {
    let mut resp = Response::new(full(v.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    resp
}

/// GoTrue's error body (both its current and its older field names, which clients read).
pub(super) fn gotrue_error(status: u16, code: &str, message: &str) -> Response<Body> {
    let body = json!({
        "code": status, "error_code": code, "msg": message,
        "error": code, "error_description": message,
    });
    let mut resp = json_response(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST), &body);
    if status == 429 {
        resp.headers_mut().insert(hyper::header::RETRY_AFTER, HeaderValue::from_static("60"));
    }
    resp
}

fn internal(details: &str) -> Response<Body> {
    ApiError::new(500, "PGRSTX00", "Internal error").details(details).into_response()
}

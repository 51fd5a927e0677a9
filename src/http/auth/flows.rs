//! The emailed flows of `/auth/v1`, GoTrue-compatible: sign-up with confirmation, `/verify`
//! (link and code forms), `/otp`, `/recover`, `/resend`, `/invite`, email change through
//! `PUT /user`, and `/settings`. The rules are in `functions/auth_flows.sql`; here the bodies,
//! the redirect check, and the emails SQL asks for (its `mail`), which go to `mail::Mailer`.
//! An endpoint that sends first makes sure the mail server answers, so an outage refuses the
//! request (500, nothing written) instead of leaving a token nobody receives.

use bytes::Bytes;
use hyper::header::{HeaderValue, LOCATION};
use hyper::http::request::Parts;
use hyper::{Response, StatusCode};
use serde_json::{json, Value};

use super::{call_auth, checked, json_body, json_response, redirect, session, AuthServiceError, Reply};
use crate::auth::Identity;
use crate::body::full;
use crate::mail::{Template, Vars};
use crate::sql::auth::AuthCall;
use crate::state::AppState;

/// The parsed query string.
pub(super) type Query<'a> = &'a (dyn Fn(&str) -> Option<&'a str> + Sync);

fn text(input: &Value, key: &str) -> String {
    input.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

/// `data` of a body: a JSON object, `{}` when absent.
fn data(input: &Value, key: &str) -> Result<String, AuthServiceError> {
    match input.get(key) {
        None | Some(Value::Null) => Ok("{}".into()),
        Some(v @ Value::Object(_)) => Ok(v.to_string()),
        Some(_) => Err(AuthServiceError::Validation("data must be a JSON object")),
    }
}

/// Email flows answer with tokens in the redirect's fragment (the implicit flow); the PKCE flow
/// (`code_challenge`) is not offered for them yet.
fn refuse_pkce(input: &Value) -> Result<(), AuthServiceError> {
    match input.get("code_challenge") {
        Some(Value::String(s)) if !s.is_empty() => Err(AuthServiceError::Validation(
            "PKCE (code_challenge) is not supported for email flows; use flowType 'implicit'",
        )),
        _ => Ok(()),
    }
}

fn redirect_to(state: &AppState, query: Query<'_>, input: &Value) -> Result<String, AuthServiceError> {
    let asked = query("redirect_to").or_else(|| input.get("redirect_to").and_then(Value::as_str));
    redirect::target(&state.config.auth_flows, asked).ok_or(AuthServiceError::RedirectNotAllowed)
}

async fn mail_ready(state: &AppState, what: &'static str) -> Result<(), AuthServiceError> {
    state.mailer.ready().await.map_err(|e| {
        tracing::error!(error = %e, "cannot send the {what} email");
        AuthServiceError::MailUnavailable(what)
    })
}

/// `{external}/auth/v1/verify?token=…&type=…&redirect_to=…`: what the email links to.
pub(super) fn action_link(state: &AppState, token: &str, kind: &str, redirect: &str) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("token", token)
        .append_pair("type", kind)
        .append_pair("redirect_to", redirect)
        .finish();
    format!("{}/auth/v1/verify?{query}", state.external_url)
}

/// Queues the email SQL asked for, if any (`{type, to, token, code, email}`).
fn deliver(state: &AppState, result: &Value, redirect: &str, what: &'static str) -> Result<(), AuthServiceError> {
    let Some(mail) = result.get("mail").filter(|m| m.is_object()) else { return Ok(()) };
    let kind = mail["type"].as_str().unwrap_or_default();
    let template = Template::of_type(kind).ok_or_else(|| crate::error::Internal(format!("no template for {kind}")))?;
    let to = mail["to"].as_str().unwrap_or_default();
    let token = mail["token"].as_str().unwrap_or_default();
    let vars = Vars {
        confirmation_url: action_link(state, token, kind, redirect),
        token: mail["code"].as_str().unwrap_or_default().to_string(),
        token_hash: token.to_string(),
        site_url: state.config.auth_flows.site_url.clone(),
        email: mail["email"].as_str().unwrap_or_default().to_string(),
        new_email: if kind == "email_change" { to.to_string() } else { String::new() },
        redirect_to: redirect.to_string(),
    };
    state.mailer.send(template, to, &vars).map_err(|e| {
        tracing::error!(error = %e, "the {what} email was not queued; the user may ask again");
        AuthServiceError::MailUnavailable(what)
    })
}

/// POST /signup {email, password, data}
pub(super) async fn signup(state: &AppState, parts: &Parts, query: Query<'_>, body: &Bytes) -> Reply {
    let input = json_body(body)?;
    let (email, password) = super::credentials(body)?;
    // Under autoconfirm the answer is a session and no link is sent, whatever the flow type or
    // redirect (as GoTrue answers).
    let mut redirect = state.config.auth_flows.site_url.clone();
    if !state.config.auth_flows.autoconfirm {
        refuse_pkce(&input)?;
        redirect = redirect_to(state, query, &input)?;
        mail_ready(state, "confirmation").await?;
    }
    let call = AuthCall::SignUp { email, password, data: data(&input, "data")? };
    let result = checked(call_auth(state, parts, None, call).await?)?;
    if result.get("session_id").is_some() {
        return session::issue(state, result);
    }
    deliver(state, &result, &redirect, "confirmation")?;
    Ok(json_response(StatusCode::OK, &result["user"]))
}

/// GET /verify?token=&type=&redirect_to= (the emailed link): a 303 to the redirect with the
/// session in the fragment, or GoTrue's `error`, `error_code`, `error_description` there.
pub(super) async fn verify_get(state: &AppState, parts: &Parts, query: Query<'_>) -> Reply {
    let kind = query("type")
        .filter(|s| !s.is_empty())
        .ok_or(AuthServiceError::Validation("Verify requires a verification type"))?;
    let token = query("token")
        .filter(|s| !s.is_empty())
        .ok_or(AuthServiceError::Validation("Verify requires a token or a token hash"))?;
    let redirect = redirect_to(state, query, &Value::Null)?;
    let call = AuthCall::Verify { kind: kind.into(), link: token.into(), email: String::new(), code: String::new() };
    let fragment = match checked(call_auth(state, parts, None, call).await?) {
        Ok(result) => {
            let s = session::session_json(state, result)?;
            let mut f = form_urlencoded::Serializer::new(String::new());
            for key in ["access_token", "expires_at", "expires_in", "refresh_token", "token_type"] {
                let v = &s[key];
                f.append_pair(key, &v.as_str().map_or_else(|| v.to_string(), str::to_string));
            }
            f.append_pair("type", kind).finish()
        }
        Err(AuthServiceError::Refused { code, message, status }) if status < 500 => {
            form_urlencoded::Serializer::new(String::new())
                .append_pair("error", if status == 429 { "too_many_requests" } else { "access_denied" })
                .append_pair("error_code", &code)
                .append_pair("error_description", &message)
                .finish()
        }
        Err(e) => return Err(e),
    };
    let location = format!("{}#{fragment}", redirect.split('#').next().unwrap_or(&redirect));
    let mut resp = Response::new(full(""));
    *resp.status_mut() = StatusCode::SEE_OTHER;
    let value = HeaderValue::from_str(&location).map_err(|_| AuthServiceError::RedirectNotAllowed)?;
    resp.headers_mut().insert(LOCATION, value);
    Ok(resp)
}

/// POST /verify {type, token_hash} or {type, email, token}: the session.
pub(super) async fn verify_post(state: &AppState, parts: &Parts, body: &Bytes) -> Reply {
    let input = json_body(body)?;
    let kind = text(&input, "type");
    if kind.is_empty() {
        return Err(AuthServiceError::Validation("Verify requires a verification type"));
    }
    let (token, hash, email) = (text(&input, "token"), text(&input, "token_hash"), text(&input, "email"));
    let call = match (token.is_empty(), hash.is_empty()) {
        (true, false) => AuthCall::Verify { kind, link: hash, email: String::new(), code: String::new() },
        (false, true) if !email.is_empty() => AuthCall::Verify { kind, link: String::new(), email, code: token },
        (false, true) => {
            return Err(AuthServiceError::Validation(
                "Only an email address or phone number should be provided on verify",
            ))
        }
        _ => return Err(AuthServiceError::Validation("Verify requires either a token or a token hash")),
    };
    session::issue(state, call_auth(state, parts, None, call).await?)
}

/// POST /otp {email, create_user, data}: a magic link and a 6-digit code. POST /recover {email}:
/// a recovery link and code. POST /resend {type, email}: the confirmation or email change again.
/// All answer `{}` whether or not the address is a user's.
pub(super) async fn send_link(
    state: &AppState,
    parts: &Parts,
    query: Query<'_>,
    body: &Bytes,
    endpoint: &str,
) -> Reply {
    let input = json_body(body)?;
    refuse_pkce(&input)?;
    if input.get("phone").and_then(Value::as_str).is_some_and(|p| !p.is_empty()) {
        return Err(AuthServiceError::Validation("Phone sign-in is not supported; use email"));
    }
    let email = text(&input, "email");
    if email.is_empty() {
        return Err(AuthServiceError::Validation("An email address is required"));
    }
    let redirect = redirect_to(state, query, &input)?;
    let (kind, what) = match endpoint {
        "otp" => ("otp".to_string(), "magic link"),
        "recover" => ("recovery".to_string(), "recovery"),
        _ => match text(&input, "type").as_str() {
            "signup" => ("signup".to_string(), "confirmation"),
            "email_change" => ("email_change".to_string(), "email change"),
            _ => return Err(AuthServiceError::Validation("Missing one of these types: signup, email_change")),
        },
    };
    mail_ready(state, what).await?;
    let create_user =
        input.get("create_user").and_then(Value::as_bool).unwrap_or(true) && state.config.auth_signup_enabled;
    let call = AuthCall::SendLink { kind, email, data: data(&input, "data")?, create_user };
    let result = checked(call_auth(state, parts, None, call).await?)?;
    deliver(state, &result, &redirect, what)?;
    Ok(json_response(StatusCode::OK, &json!({})))
}

/// POST /invite {email, data}: super admins and the service_role; an org's owners and admins with
/// `data: {org_id, role}` (the invitation is accepted by the emailed link).
pub(super) async fn invite(
    state: &AppState,
    parts: &Parts,
    query: Query<'_>,
    identity: &Identity,
    body: &Bytes,
) -> Reply {
    let input = json_body(body)?;
    let email = text(&input, "email");
    let redirect = redirect_to(state, query, &input)?;
    mail_ready(state, "invite").await?;
    let call = AuthCall::Invite { email, data: data(&input, "data")? };
    let result = checked(call_auth(state, parts, Some(identity), call).await?)?;
    deliver(state, &result, &redirect, "invite")?;
    Ok(json_response(StatusCode::OK, &result["user"]))
}

/// PUT /user {email, password, data}: a new email waits for its confirmation unless autoconfirm.
pub(super) async fn update_user(
    state: &AppState,
    parts: &Parts,
    query: Query<'_>,
    identity: &Identity,
    body: &Bytes,
) -> Reply {
    let input = json_body(body)?;
    let redirect = redirect_to(state, query, &input)?;
    if input.get("email").is_some() && !state.config.auth_flows.autoconfirm {
        mail_ready(state, "email change").await?;
    }
    let call = AuthCall::UpdateUser { changes: input.to_string() };
    let result = checked(call_auth(state, parts, Some(identity), call).await?)?;
    if result.get("mail").is_some() {
        deliver(state, &result, &redirect, "email change")?;
        return Ok(json_response(StatusCode::OK, &result["user"]));
    }
    Ok(json_response(StatusCode::OK, &result))
}

/// GET /reauthenticate (live session): the nonce for a password change, by email.
pub(super) async fn reauthenticate(state: &AppState, parts: &Parts, identity: &Identity) -> Reply {
    mail_ready(state, "reauthentication").await?;
    let result = checked(call_auth(state, parts, Some(identity), AuthCall::Reauthenticate).await?)?;
    deliver(state, &result, &state.config.auth_flows.site_url, "reauthentication")?;
    Ok(json_response(StatusCode::OK, &json!({})))
}

/// GET /settings: what this instance offers (GoTrue's shape).
pub(super) fn settings(state: &AppState) -> Reply {
    let flows = &state.config.auth_flows;
    let mut external = json!({ "email": true, "phone": false, "anonymous_users": false });
    for provider in &state.config.external_providers {
        external[provider.name.as_str()] = json!(true);
    }
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "external": external,
            "disable_signup": !state.config.auth_signup_enabled,
            "mailer_autoconfirm": flows.autoconfirm,
            "phone_autoconfirm": false,
            "sms_provider": "",
            "saml_enabled": false,
        }),
    ))
}

//! `/auth/v1/factors`: MFA with TOTP as GoTrue answers it (enroll, challenge, verify, unenroll).
//! Every rule and all state live in functions/auth_mfa.sql; here only what SQL cannot do well:
//! the otpauth URI and its QR code (SVG), the key that encrypts the secrets, and signing the
//! aal2 session that a verified code answers with.

mod error;

use aws_lc_rs::hmac;
use bytes::Bytes;
use hyper::header::HOST;
use hyper::http::request::Parts;
use hyper::{Method, Response, StatusCode};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::Value;

pub use error::MfaError;

use super::{bearer_identity, call_auth, checked, client_ip, is_uuid, json_body, json_response, session};
use crate::body::Body;
use crate::error::{ApiError, Internal};
use crate::sql::auth::AuthCall;
use crate::sql::auth_mfa::MfaCall;
use crate::state::AppState;

pub(super) async fn handle(state: &AppState, parts: &Parts, body: &Bytes) -> Response<Body> {
    route(state, parts, body).await.unwrap_or_else(|e| ApiError::from(e).into_response())
}

async fn route(state: &AppState, parts: &Parts, body: &Bytes) -> Result<Response<Body>, MfaError> {
    let rest = parts.uri.path().trim_start_matches("/auth/v1/factors");
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let identity = bearer_identity(state, parts)?;
    let factor = |id: &str| if is_uuid(id) { Ok(id.to_string()) } else { Err(MfaError::FactorNotFound) };
    let call = |call: MfaCall| call_auth(state, parts, Some(&identity), AuthCall::Mfa(call));
    match (&parts.method, segments.as_slice()) {
        (&Method::POST, []) => {
            let input = json_body(body)?;
            let text = |k: &str| input.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            let enroll = MfaCall::Enroll {
                key: encryption_key(state)?,
                factor_type: text("factor_type"),
                friendly_name: text("friendly_name"),
            };
            let mut answer = checked(call(enroll).await?)?;
            let issuer = match text("issuer") {
                i if i.is_empty() => default_issuer(state, parts),
                i => i,
            };
            let email = answer.get("email").and_then(Value::as_str).unwrap_or("").to_string();
            let secret = answer["totp"]["secret"].as_str().unwrap_or("").to_string();
            let uri = otpauth_uri(&issuer, &email, &secret);
            answer["totp"]["uri"] = Value::String(uri.clone());
            answer["totp"]["qr_code"] = Value::String(qr_svg(&uri)?);
            if let Some(object) = answer.as_object_mut() {
                object.remove("email");
            }
            Ok(json_response(StatusCode::OK, &answer))
        }
        (&Method::POST, [id, "challenge"]) => {
            let answer = call(MfaCall::Challenge { factor: factor(id)?, ip: client_ip(parts) }).await?;
            Ok(json_response(StatusCode::OK, &checked(answer)?))
        }
        (&Method::POST, [id, "verify"]) => {
            let input = json_body(body)?;
            let code = input.get("code").and_then(Value::as_str).unwrap_or("").trim().to_string();
            if code.is_empty() {
                return Err(MfaError::Validation("Code needs to be non-empty"));
            }
            let challenge = input.get("challenge_id").and_then(Value::as_str).unwrap_or("");
            if !is_uuid(challenge) {
                return Err(MfaError::Validation("challenge_id must be a UUID"));
            }
            let verify = MfaCall::Verify {
                key: encryption_key(state)?,
                factor: factor(id)?,
                challenge: challenge.to_string(),
                code,
                ip: client_ip(parts),
            };
            Ok(session::issue(state, call(verify).await?)?)
        }
        (&Method::DELETE, [id]) => {
            let answer = call(MfaCall::Unenroll { factor: factor(id)? }).await?;
            Ok(json_response(StatusCode::OK, &checked(answer)?))
        }
        _ => Err(super::AuthServiceError::NotFound.into()),
    }
}

/// GoTrue's default issuer is the site URL's host; without `ROWGATE_SITE_URL`, the request's.
fn default_issuer(state: &AppState, parts: &Parts) -> String {
    let site_host = Some(state.config.auth_flows.site_url.as_str())
        .and_then(|u| u.split_once("://"))
        .map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or("").to_string());
    site_host
        .filter(|h| !h.is_empty())
        .or_else(|| parts.headers.get(HOST).and_then(|h| h.to_str().ok()).map(str::to_string))
        .unwrap_or_else(|| "rowgate".into())
}

/// `otpauth://totp/Issuer:email?secret=…` (the Key Uri Format authenticator apps read).
fn otpauth_uri(issuer: &str, email: &str, secret: &str) -> String {
    let enc = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
    format!(
        "otpauth://totp/{}:{}?algorithm=SHA1&digits=6&issuer={}&period=30&secret={secret}",
        enc(issuer),
        enc(email),
        enc(issuer)
    )
}

/// The URI as a QR code in SVG, which supabase-js turns into a data URI.
fn qr_svg(uri: &str) -> Result<String, MfaError> {
    let code = qrcode::QrCode::new(uri.as_bytes()).map_err(|_| MfaError::QrCode)?;
    Ok(code.render::<qrcode::render::svg::Color>().min_dimensions(200, 200).build())
}

/// The passphrase the TOTP secrets are encrypted with: `ROWGATE_MFA_ENCRYPTION_KEY`, or else
/// HMAC-SHA-256 of the JWT signing key (or secret) text, so changing that key without setting
/// this one makes enrolled factors unusable (docs/auth.md says so).
fn encryption_key(state: &AppState) -> Result<String, MfaError> {
    if let Some(key) = &state.config.mfa_encryption_key {
        return Ok(key.clone());
    }
    let base = state.config.jwt_signing_key.as_deref().or(state.config.jwt_secret.as_deref());
    let base = base.ok_or_else(|| Internal("no key to derive the MFA encryption key from".into()))?;
    let text = match base.trim().strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).map_err(|e| Internal(format!("cannot read {path}: {e}")))?,
        None => base.to_string(),
    };
    let tag =
        hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, text.trim().as_bytes()), b"rowgate mfa secret encryption v1");
    Ok(tag.as_ref().iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn otpauth_uri_encodes_the_label_and_issuer() {
        let uri = super::otpauth_uri("My App", "a+b@x.io", "JBSWY3DPEHPK3PXP");
        assert_eq!(
            uri,
            "otpauth://totp/My%20App:a%2Bb%40x%2Eio?algorithm=SHA1&digits=6&issuer=My%20App&period=30&secret=JBSWY3DPEHPK3PXP"
        );
        assert!(super::qr_svg(&uri).is_ok_and(|svg| svg.contains("<svg")));
    }
}

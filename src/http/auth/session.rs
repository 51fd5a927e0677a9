//! A new session's answer: GoTrue's `{access_token, token_type, expires_in, expires_at,
//! refresh_token, user}`, with the access token signed here (the only thing SQL cannot do).
//! `session_response` gives the JSON for `/verify`'s redirect as well.

use std::time::{SystemTime, UNIX_EPOCH};

use hyper::StatusCode;
use serde_json::{json, Value};

use super::{checked, json_response, AuthServiceError, Reply};
use crate::error::Internal;
use crate::state::AppState;

/// `{user, session_id, refresh_token}` from SQL → GoTrue's session response.
pub(super) fn issue(state: &AppState, result: Value) -> Reply {
    Ok(json_response(StatusCode::OK, &session_json(state, checked(result)?)?))
}

/// The session object: `access_token`, `token_type`, `expires_in`, `expires_at`, `refresh_token`, `user`.
pub(super) fn session_json(state: &AppState, result: Value) -> Result<Value, AuthServiceError> {
    let key = state.signing.as_ref().ok_or_else(|| AuthServiceError::from(Internal("no signing key".into())))?;
    // `ROWGATE_JWT_EXP`; revocation is immediate anyway through the session checks.
    let lifetime = state.config.auth_flows.jwt_exp;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let user = &result["user"];
    let claims = json!({
        "sub": user["id"],
        "role": "authenticated",
        "aud": state.config.jwt_aud.clone().unwrap_or_else(|| "authenticated".into()),
        "iss": "rowgate",
        "iat": now,
        "exp": now + lifetime,
        "session_id": result["session_id"],
        "email": user["email"],
        // The session's assurance level and methods (auth.session_answer, MFA).
        "aal": result.get("aal").cloned().unwrap_or_else(|| json!("aal1")),
        "amr": result.get("amr").cloned().unwrap_or_else(|| json!([])),
    });
    let access_token = key.sign(&claims).map_err(|e| Internal(e.to_string()))?;
    Ok(json!({
        "access_token": access_token,
        "token_type": "bearer",
        "expires_in": lifetime,
        "expires_at": now + lifetime,
        "refresh_token": result["refresh_token"],
        "user": user,
    }))
}

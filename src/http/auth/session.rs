//! A new session's answer: GoTrue's `{access_token, token_type, expires_in, expires_at,
//! refresh_token, user}`, with the access token signed here (the only thing SQL cannot do).

use std::time::{SystemTime, UNIX_EPOCH};

use hyper::StatusCode;
use serde_json::{json, Value};

use super::{checked, json_response, AuthServiceError, Reply};
use crate::error::Internal;
use crate::state::AppState;

/// Access tokens live three hours; revocation is immediate through the session checks.
const ACCESS_TOKEN_SECONDS: u64 = 3 * 3600;

/// `{user, session_id, refresh_token}` from SQL → GoTrue's session response.
pub(super) fn issue(state: &AppState, result: Value) -> Reply {
    let result = checked(result)?;
    let key = state.signing.as_ref().ok_or_else(|| AuthServiceError::from(Internal("no signing key".into())))?;
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
        // The session's assurance level and methods (auth.session_answer, MFA).
        "aal": result.get("aal").cloned().unwrap_or_else(|| json!("aal1")),
        "amr": result.get("amr").cloned().unwrap_or_else(|| json!([])),
    });
    let access_token = key.sign(&claims).map_err(|e| Internal(e.to_string()))?;
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

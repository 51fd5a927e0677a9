//! Errors of `/auth/v1`, in GoTrue's body shape (which supabase-js reads) where GoTrue has the
//! error; token, database and internal errors keep PostgREST's, as before.

use std::borrow::Cow;

use hyper::header::{HeaderName, RETRY_AFTER};
use thiserror::Error;

use crate::auth::AuthError;
use crate::db::error::DbFailure;
use crate::error::{BodyShape, ClientError, Internal};
use crate::rate_limit::Limited;

#[derive(Debug, Error)]
pub enum AuthServiceError {
    /// 400 `validation_failed`
    #[error("{0}")]
    Validation(&'static str),
    /// 400 `unsupported_grant_type`
    #[error("grant_type must be password, refresh_token or pkce")]
    UnsupportedGrant,
    /// 422 `signup_disabled` (`ROWGATE_AUTH_SIGNUP_ENABLED=false`)
    #[error("Signups not allowed for this instance")]
    SignupDisabled,
    /// 401 `no_authorization`
    #[error("This endpoint requires a Bearer token")]
    NoAuthorization,
    /// A rule of schema `auth` refused: `{"error": {status, code, message}}` from SQL.
    #[error("{message}")]
    Refused { status: u16, code: String, message: String },
    /// 429 `over_request_rate_limit` with `Retry-After`.
    #[error("{0}")]
    RateLimited(#[from] Limited),
    /// 400 `validation_failed`: `redirect_to` is neither the site nor in the allow-list.
    #[error("redirect_to is not an allowed redirect URL (see ROWGATE_SITE_URL and ROWGATE_URI_ALLOW_LIST)")]
    RedirectNotAllowed,
    /// 500 `unexpected_failure` (GoTrue's answer): the email cannot be sent now; nothing was
    /// written, the user may retry.
    #[error("Error sending {0} email")]
    MailUnavailable(&'static str),
    /// 404 PGRST125: no such endpoint (or `ROWGATE_AUTH_ENABLED=false`).
    #[error("Invalid path specified in request URL")]
    NotFound,
    /// An invalid or expired token (PostgREST's PGRST30x).
    #[error(transparent)]
    Token(#[from] AuthError),
    #[error(transparent)]
    Db(#[from] DbFailure),
    #[error(transparent)]
    Internal(#[from] Internal),
}

impl AuthServiceError {
    /// The error that keeps PostgREST's shape, if this is one.
    fn postgrest(&self) -> Option<&dyn ClientError> {
        match self {
            AuthServiceError::Token(e) => Some(e),
            AuthServiceError::Db(e) => Some(e),
            AuthServiceError::Internal(e) => Some(e),
            _ => None,
        }
    }
}

impl ClientError for AuthServiceError {
    fn status(&self) -> u16 {
        match self {
            AuthServiceError::Validation(_)
            | AuthServiceError::UnsupportedGrant
            | AuthServiceError::RedirectNotAllowed => 400,
            AuthServiceError::MailUnavailable(_) => 500,
            AuthServiceError::SignupDisabled => 422,
            AuthServiceError::NoAuthorization => 401,
            AuthServiceError::Refused { status, .. } => *status,
            AuthServiceError::RateLimited(_) => 429,
            AuthServiceError::NotFound => 404,
            other => other.postgrest().map_or(500, |e| e.status()),
        }
    }

    fn code(&self) -> Cow<'_, str> {
        match self {
            AuthServiceError::Validation(_) | AuthServiceError::RedirectNotAllowed => "validation_failed".into(),
            AuthServiceError::MailUnavailable(_) => "unexpected_failure".into(),
            AuthServiceError::UnsupportedGrant => "unsupported_grant_type".into(),
            AuthServiceError::SignupDisabled => "signup_disabled".into(),
            AuthServiceError::NoAuthorization => "no_authorization".into(),
            AuthServiceError::Refused { code, .. } => Cow::Borrowed(code),
            AuthServiceError::RateLimited(_) => "over_request_rate_limit".into(),
            AuthServiceError::NotFound => "PGRST125".into(),
            other => other.postgrest().map_or(Cow::Borrowed("PGRSTX00"), |e| e.code()),
        }
    }

    fn message(&self) -> String {
        self.postgrest().map_or_else(|| self.to_string(), |e| e.message())
    }

    fn details(&self) -> Option<serde_json::Value> {
        self.postgrest().and_then(|e| e.details())
    }

    fn hint(&self) -> Option<String> {
        self.postgrest().and_then(|e| e.hint())
    }

    fn headers(&self) -> Vec<(HeaderName, String)> {
        match self {
            AuthServiceError::RateLimited(l) => vec![(RETRY_AFTER, l.retry_after_secs.to_string())],
            // SQL's sign-in limits count failures over five minutes.
            AuthServiceError::Refused { status: 429, .. } => vec![(RETRY_AFTER, "60".into())],
            other => other.postgrest().map(|e| e.headers()).unwrap_or_default(),
        }
    }

    fn shape(&self) -> BodyShape {
        match self {
            AuthServiceError::NotFound => BodyShape::PostgRest,
            other if other.postgrest().is_some() => BodyShape::PostgRest,
            _ => BodyShape::GoTrue,
        }
    }
}

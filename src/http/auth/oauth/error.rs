//! Errors of OAuth / OIDC sign-in found in the gateway, in GoTrue's body shape; at `/callback`
//! every error becomes a redirect carrying `error`, `error_code` and `error_description`.

use std::borrow::Cow;

use hyper::header::HeaderName;
use thiserror::Error;

use crate::error::{BodyShape, ClientError, Internal};
use crate::http::auth::AuthServiceError;
use crate::oidc::OidcError;

#[derive(Debug, Error)]
pub enum OauthError {
    /// 400 `validation_failed`: `provider` names no configured provider.
    #[error("Unsupported provider: Provider {0} could not be found")]
    UnsupportedProvider(String),
    /// 400 `bad_oauth_callback`
    #[error("OAuth state parameter missing")]
    StateMissing,
    /// 400 `bad_oauth_state`: not a state rowgate issued.
    #[error("OAuth state parameter is invalid")]
    StateInvalid,
    /// 400 `bad_oauth_callback`
    #[error("OAuth callback with missing authorization code")]
    CodeMissing,
    /// The provider answered the callback with an error (the person declined, …): passed on.
    #[error("{description}")]
    Provider { error: String, description: String },
    #[error(transparent)]
    Oidc(#[from] OidcError),
    #[error(transparent)]
    Service(#[from] AuthServiceError),
}

impl From<Internal> for OauthError {
    fn from(e: Internal) -> Self {
        OauthError::Service(e.into())
    }
}

impl OauthError {
    /// The OAuth 2.0 `error` of the callback redirect (RFC 6749 §4.1.2.1), as GoTrue maps it.
    pub fn oauth_error(&self) -> String {
        if let OauthError::Provider { error, .. } = self {
            return error.clone();
        }
        match (self.status(), self.code().as_ref()) {
            (_, "signup_disabled" | "user_banned" | "provider_email_needs_verification") => "access_denied".into(),
            (401, _) => "unauthorized_client".into(),
            (403, _) => "access_denied".into(),
            (s, _) if s >= 500 => "server_error".into(),
            _ => "invalid_request".into(),
        }
    }
}

impl ClientError for OauthError {
    fn status(&self) -> u16 {
        match self {
            OauthError::Provider { .. } => 403,
            OauthError::Oidc(e) => e.status(),
            OauthError::Service(e) => e.status(),
            _ => 400,
        }
    }

    fn code(&self) -> Cow<'_, str> {
        match self {
            OauthError::UnsupportedProvider(_) => "validation_failed".into(),
            OauthError::StateMissing | OauthError::CodeMissing => "bad_oauth_callback".into(),
            OauthError::StateInvalid => "bad_oauth_state".into(),
            OauthError::Provider { .. } => "access_denied".into(),
            OauthError::Oidc(e) => e.code(),
            OauthError::Service(e) => e.code(),
        }
    }

    fn message(&self) -> String {
        match self {
            OauthError::Oidc(e) => e.message(),
            OauthError::Service(e) => e.message(),
            other => other.to_string(),
        }
    }

    fn details(&self) -> Option<serde_json::Value> {
        match self {
            OauthError::Service(e) => e.details(),
            _ => None,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            OauthError::Service(e) => e.hint(),
            _ => None,
        }
    }

    fn headers(&self) -> Vec<(HeaderName, String)> {
        match self {
            OauthError::Service(e) => e.headers(),
            _ => Vec::new(),
        }
    }

    fn shape(&self) -> BodyShape {
        match self {
            OauthError::Service(e) => e.shape(),
            _ => BodyShape::GoTrue,
        }
    }
}

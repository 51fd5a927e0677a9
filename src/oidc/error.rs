//! Errors of talking to an OpenID Connect provider, in GoTrue's body shape. At `/callback` they
//! reach the browser as the redirect's `error`/`error_code`/`error_description`.

use std::borrow::Cow;

use thiserror::Error;

use crate::error::{BodyShape, ClientError};

#[derive(Debug, Error)]
pub enum OidcError {
    /// 500: the HTTP client could not be built (a fault of ours).
    #[error("OIDC client set-up failed: {0}")]
    Setup(String),
    /// 502: discovery, the JWKS or the token endpoint could not be read.
    #[error("The identity provider could not be reached: {0}")]
    Unreachable(String),
    /// 400 `bad_oauth_callback`: the provider refused the code.
    #[error("The identity provider refused the authorization code: {0}")]
    CodeRefused(String),
    /// 400 `bad_oauth_callback`: the ID token failed verification.
    #[error("The ID token is invalid: {0}")]
    IdToken(String),
    /// The token names a key the cached JWKS lacks (refetched once, then `IdToken`).
    #[error("The ID token is signed by an unknown key")]
    UnknownKey,
}

impl ClientError for OidcError {
    fn status(&self) -> u16 {
        match self {
            OidcError::Setup(_) => 500,
            OidcError::Unreachable(_) => 502,
            OidcError::CodeRefused(_) | OidcError::IdToken(_) | OidcError::UnknownKey => 400,
        }
    }

    fn code(&self) -> Cow<'_, str> {
        match self {
            OidcError::Setup(_) | OidcError::Unreachable(_) => "unexpected_failure".into(),
            _ => "bad_oauth_callback".into(),
        }
    }

    fn shape(&self) -> BodyShape {
        BodyShape::GoTrue
    }
}

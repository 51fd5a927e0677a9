//! Errors of `/auth/v1/factors` found before SQL is asked, in GoTrue's body shape; what SQL
//! refuses arrives as the auth service's `Refused` and keeps its code.

use std::borrow::Cow;

use hyper::header::HeaderName;
use thiserror::Error;

use crate::error::{BodyShape, ClientError, Internal};
use crate::http::auth::AuthServiceError;

#[derive(Debug, Error)]
pub enum MfaError {
    /// 400 `validation_failed`
    #[error("{0}")]
    Validation(&'static str),
    /// 404 `mfa_factor_not_found`: the path names no factor id.
    #[error("Factor not found")]
    FactorNotFound,
    /// 500: the URI did not fit a QR code (it always does; a fault of ours if not).
    #[error("Error generating QR Code")]
    QrCode,
    /// Anything the auth service answers (SQL's refusals, tokens, the database).
    #[error(transparent)]
    Service(#[from] AuthServiceError),
}

impl From<Internal> for MfaError {
    fn from(e: Internal) -> Self {
        MfaError::Service(e.into())
    }
}

impl ClientError for MfaError {
    fn status(&self) -> u16 {
        match self {
            MfaError::Validation(_) => 400,
            MfaError::FactorNotFound => 404,
            MfaError::QrCode => 500,
            MfaError::Service(e) => e.status(),
        }
    }

    fn code(&self) -> Cow<'_, str> {
        match self {
            MfaError::Validation(_) => "validation_failed".into(),
            MfaError::FactorNotFound => "mfa_factor_not_found".into(),
            MfaError::QrCode => "unexpected_failure".into(),
            MfaError::Service(e) => e.code(),
        }
    }

    fn message(&self) -> String {
        match self {
            MfaError::Service(e) => e.message(),
            other => other.to_string(),
        }
    }

    fn details(&self) -> Option<serde_json::Value> {
        match self {
            MfaError::Service(e) => e.details(),
            _ => None,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            MfaError::Service(e) => e.hint(),
            _ => None,
        }
    }

    fn headers(&self) -> Vec<(HeaderName, String)> {
        match self {
            MfaError::Service(e) => e.headers(),
            _ => Vec::new(),
        }
    }

    fn shape(&self) -> BodyShape {
        match self {
            MfaError::Service(e) => e.shape(),
            _ => BodyShape::GoTrue,
        }
    }
}

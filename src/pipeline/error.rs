//! Errors of the REST pipeline: each stage's own error, carried as it is, plus the few the
//! pipeline itself decides (no schema cache yet, a method the target does not take).

use std::borrow::Cow;

use hyper::header::{HeaderName, RETRY_AFTER};
use thiserror::Error;

use crate::auth::AuthError;
use crate::db::error::DbFailure;
use crate::error::{ClientError, Internal};
use crate::plan::PlanError;
use crate::rate_limit::Limited;
use crate::request::RequestError;
use crate::response::ResponseError;

#[derive(Debug, Error)]
pub enum PipelineError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    RateLimited(#[from] Limited),
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// Already mapped: 42501's status depends on whether a token was sent.
    #[error(transparent)]
    Db(#[from] DbFailure),
    #[error(transparent)]
    Response(#[from] ResponseError),
    /// 503 PGRST002: the schema cache has not loaded yet.
    #[error("Could not query the database for the schema cache. Retrying.")]
    SchemaCacheNotReady,
    /// 405 PGRST101
    #[error("Cannot use the {0} method on RPC")]
    RpcMethod(String),
    /// 404 PGRST126
    #[error("Root endpoint metadata is disabled")]
    OpenApiDisabled,
    #[error(transparent)]
    Internal(#[from] Internal),
}

impl PipelineError {
    /// The stage error this one carries, if any.
    fn inner(&self) -> Option<&dyn ClientError> {
        Some(match self {
            PipelineError::Request(e) => e,
            PipelineError::Auth(e) => e,
            PipelineError::RateLimited(e) => e,
            PipelineError::Plan(e) => e,
            PipelineError::Db(e) => e,
            PipelineError::Response(e) => e,
            PipelineError::Internal(e) => e,
            _ => return None,
        })
    }
}

impl ClientError for PipelineError {
    fn status(&self) -> u16 {
        match self {
            PipelineError::SchemaCacheNotReady => 503,
            PipelineError::RpcMethod(_) => 405,
            PipelineError::OpenApiDisabled => 404,
            other => other.inner().map_or(500, |e| e.status()),
        }
    }

    fn code(&self) -> Cow<'_, str> {
        match self {
            PipelineError::SchemaCacheNotReady => "PGRST002".into(),
            PipelineError::RpcMethod(_) => "PGRST101".into(),
            PipelineError::OpenApiDisabled => "PGRST126".into(),
            other => other.inner().map_or(Cow::Borrowed("PGRSTX00"), |e| e.code()),
        }
    }

    fn message(&self) -> String {
        self.inner().map_or_else(|| self.to_string(), |e| e.message())
    }

    fn details(&self) -> Option<serde_json::Value> {
        self.inner().and_then(|e| e.details())
    }

    fn hint(&self) -> Option<String> {
        self.inner().and_then(|e| e.hint())
    }

    fn headers(&self) -> Vec<(HeaderName, String)> {
        match self {
            PipelineError::SchemaCacheNotReady => vec![(RETRY_AFTER, "1".into())],
            other => other.inner().map(|e| e.headers()).unwrap_or_default(),
        }
    }
}

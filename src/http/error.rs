//! Errors of the HTTP stage: the request's head or body broke a limit, or the client is over
//! its rate limit. Answered before the request is parsed or the database is touched.

use std::borrow::Cow;
use std::time::Duration;

use hyper::header::{HeaderName, CONNECTION};
use thiserror::Error;

use crate::error::ClientError;
use crate::rate_limit::Limited;

#[derive(Debug, Error)]
pub enum HttpError {
    /// 431 PGRST431
    #[error("Request headers larger than {limit} bytes (ROWGATE_MAX_HEADER_BYTES)")]
    HeadTooLarge { limit: usize },
    /// 413 PGRST413
    #[error("Request body larger than {limit} bytes (ROWGATE_MAX_BODY_BYTES)")]
    BodyTooLarge { limit: usize },
    /// 408 PGRST408. Over HTTP/1 the connection is closed after the answer (the rest of the body
    /// would otherwise have to be read first); an HTTP/2 stream is simply finished.
    #[error("Request body not received within {timeout:?} (ROWGATE_BODY_READ_TIMEOUT)")]
    BodyTimeout { timeout: Duration, close_connection: bool },
    /// 400 PGRST102
    #[error("Could not read the request body")]
    BodyUnreadable(String),
    /// 429 PGRST429 with `Retry-After`.
    #[error(transparent)]
    RateLimited(#[from] Limited),
}

impl ClientError for HttpError {
    fn status(&self) -> u16 {
        match self {
            HttpError::HeadTooLarge { .. } => 431,
            HttpError::BodyTooLarge { .. } => 413,
            HttpError::BodyTimeout { .. } => 408,
            HttpError::BodyUnreadable(_) => 400,
            HttpError::RateLimited(l) => l.status(),
        }
    }

    fn code(&self) -> Cow<'_, str> {
        Cow::Borrowed(match self {
            HttpError::HeadTooLarge { .. } => "PGRST431",
            HttpError::BodyTooLarge { .. } => "PGRST413",
            HttpError::BodyTimeout { .. } => "PGRST408",
            HttpError::BodyUnreadable(_) => "PGRST102",
            HttpError::RateLimited(l) => return l.code(),
        })
    }

    fn message(&self) -> String {
        match self {
            HttpError::RateLimited(l) => l.message(),
            other => other.to_string(),
        }
    }

    fn details(&self) -> Option<serde_json::Value> {
        match self {
            HttpError::BodyUnreadable(why) => Some(why.clone().into()),
            HttpError::RateLimited(l) => l.details(),
            _ => None,
        }
    }

    fn headers(&self) -> Vec<(HeaderName, String)> {
        match self {
            HttpError::BodyTimeout { close_connection: true, .. } => vec![(CONNECTION, "close".into())],
            HttpError::RateLimited(l) => l.headers(),
            _ => Vec::new(),
        }
    }
}

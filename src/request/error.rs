//! Errors of the request stage: malformed query strings, headers and bodies.

use std::borrow::Cow;

use thiserror::Error;

use crate::error::ClientError;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum RequestError {
    /// PGRST100: the query string does not follow the grammar.
    #[error("\"failed to parse {what} ({input})\" (line 1, column {column})")]
    Parse { what: &'static str, input: String, column: usize, details: String },
    /// PGRST100 for a parameter whose whole value is invalid (e.g. `limit=abc`).
    #[error("{message}")]
    InvalidParam { message: String, details: String },
    /// PGRST106
    #[error("The schema must be one of the following: {allowed}")]
    UnacceptableSchema { allowed: String },
    /// PGRST107
    #[error("None of these media types are available: {0}")]
    UnacceptableMedia(String),
    /// PGRST103
    #[error("Requested range not satisfiable")]
    InvalidRange { details: String },
    /// PGRST117
    #[error("Unsupported HTTP method: {0}")]
    UnsupportedMethod(String),
    /// PGRST122
    #[error("Invalid preferences given with handling=strict")]
    InvalidPreferences { details: String },
    /// PGRST102
    #[error("{message}")]
    InvalidBody { message: String, details: String },
    /// 415 PGRST107 (PostgREST's code for both: its docs give 415 for a body it cannot read, its
    /// code 406 for an `Accept` it cannot serve).
    #[error("Content-Type not acceptable: {0}")]
    UnsupportedContentType(String),
    /// PGRST125
    #[error("Invalid path specified in request URL")]
    InvalidPath,
}

impl ClientError for RequestError {
    fn status(&self) -> u16 {
        match self {
            RequestError::Parse { .. }
            | RequestError::InvalidParam { .. }
            | RequestError::InvalidPreferences { .. }
            | RequestError::InvalidBody { .. } => 400,
            RequestError::InvalidPath => 404,
            RequestError::UnsupportedMethod(_) => 405,
            RequestError::UnacceptableSchema { .. } | RequestError::UnacceptableMedia(_) => 406,
            RequestError::UnsupportedContentType(_) => 415,
            RequestError::InvalidRange { .. } => 416,
        }
    }

    fn code(&self) -> Cow<'_, str> {
        Cow::Borrowed(match self {
            RequestError::Parse { .. } | RequestError::InvalidParam { .. } => "PGRST100",
            RequestError::InvalidBody { .. } => "PGRST102",
            RequestError::InvalidRange { .. } => "PGRST103",
            RequestError::UnacceptableSchema { .. } => "PGRST106",
            RequestError::UnacceptableMedia(_) | RequestError::UnsupportedContentType(_) => "PGRST107",
            RequestError::UnsupportedMethod(_) => "PGRST117",
            RequestError::InvalidPreferences { .. } => "PGRST122",
            RequestError::InvalidPath => "PGRST125",
        })
    }

    fn details(&self) -> Option<serde_json::Value> {
        match self {
            RequestError::Parse { details, .. }
            | RequestError::InvalidParam { details, .. }
            | RequestError::InvalidRange { details }
            | RequestError::InvalidPreferences { details }
            | RequestError::InvalidBody { details, .. } => Some(details.clone().into()),
            _ => None,
        }
    }
}

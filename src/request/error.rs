//! Errors of the request stage: malformed query strings, headers and bodies.

use thiserror::Error;

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
    /// 415
    #[error("Content-Type not acceptable: {0}")]
    UnsupportedContentType(String),
    /// PGRST125
    #[error("Invalid path specified in request URL")]
    InvalidPath,
}

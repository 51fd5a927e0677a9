//! Errors of the database stage.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum DbError {
    /// No connection within the acquisition timeout (PGRST003).
    #[error("Timed out acquiring connection from connection pool.")]
    PoolTimeout,
    /// Cannot reach the database (PGRST000).
    #[error("Database connection error: {0}")]
    Unavailable(String),
    /// The connection broke during the request (PGRST001).
    #[error("Database client error: {0}")]
    Lost(String),
    /// PostgreSQL answered the request's statements with an error.
    #[error("{}", .0.message)]
    Server(ServerError),
    /// The result did not have the expected shape.
    #[error("unexpected result from the database: {0}")]
    Shape(String),
}

/// An ErrorResponse: the fields PostgREST's error body carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerError {
    /// SQLSTATE (or a custom code such as `PGRST` / `PT404`).
    pub code: String,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
}

impl From<deadpool::managed::PoolError<DbError>> for DbError {
    fn from(e: deadpool::managed::PoolError<DbError>) -> Self {
        use deadpool::managed::PoolError;
        match e {
            PoolError::Timeout(_) => DbError::PoolTimeout,
            PoolError::Backend(e) => e,
            other => DbError::Unavailable(other.to_string()),
        }
    }
}

/// An error and its causes on one line: tokio-postgres's "error connecting to server" hides
/// the OS error ("Connection refused (os error 111)") in its source.
pub fn with_causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}

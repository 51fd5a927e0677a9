//! Errors of the database stage.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum DbError {
    /// No connection within the acquisition timeout (PGRST003).
    #[error("Timed out acquiring connection from connection pool.")]
    PoolTimeout,
    /// Cannot reach the database (PGRST000/PGRST001).
    #[error("Database connection error: {0}")]
    Unavailable(String),
    /// Postgres answered with an error for the request's statements.
    #[error("{0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// The result did not have the expected shape.
    #[error("unexpected result from the database: {0}")]
    Shape(String),
}

impl From<deadpool_postgres::PoolError> for DbError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        use deadpool_postgres::PoolError;
        match e {
            PoolError::Timeout(_) => DbError::PoolTimeout,
            PoolError::Backend(e) => DbError::Unavailable(e.to_string()),
            other => DbError::Unavailable(other.to_string()),
        }
    }
}

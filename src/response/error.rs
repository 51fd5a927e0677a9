//! Errors of the response stage: the result does not fit what the request asked for, or SQL set
//! response headers or a status that cannot be sent.

use std::borrow::Cow;

use hyper::header::{HeaderName, CONTENT_RANGE};
use thiserror::Error;

use crate::db::DbError;
use crate::error::{ClientError, Internal};

#[derive(Debug, Error)]
pub enum ResponseError {
    /// 406 PGRST116: `vnd.pgrst.object+json` (or a singular write) with another number of rows.
    #[error("Cannot coerce the result to a single JSON object")]
    NotSingular { rows: i64 },
    /// 416 PGRST103: an offset past the counted total.
    #[error("Requested range not satisfiable")]
    RangeNotSatisfiable { offset: i64, total: i64 },
    /// 400 PGRST124: `Prefer: max-affected` with `handling=strict` exceeded (rolled back).
    #[error("Query result exceeds max-affected preference constraint")]
    MaxAffectedExceeded { rows: i64 },
    /// 500 PGRST111
    #[error("response.headers guc must be a JSON array composed of objects with a single key and a string value")]
    InvalidResponseHeaders,
    /// 500 PGRST112
    #[error("response.status guc must be a valid status code")]
    InvalidResponseStatus,
    /// The result row is not the shape rowgate generated it to have.
    #[error(transparent)]
    Internal(#[from] Internal),
}

impl ClientError for ResponseError {
    fn status(&self) -> u16 {
        match self {
            ResponseError::NotSingular { .. } => 406,
            ResponseError::RangeNotSatisfiable { .. } => 416,
            ResponseError::MaxAffectedExceeded { .. } => 400,
            ResponseError::InvalidResponseHeaders | ResponseError::InvalidResponseStatus => 500,
            ResponseError::Internal(e) => e.status(),
        }
    }

    fn code(&self) -> Cow<'_, str> {
        Cow::Borrowed(match self {
            ResponseError::NotSingular { .. } => "PGRST116",
            ResponseError::RangeNotSatisfiable { .. } => "PGRST103",
            ResponseError::MaxAffectedExceeded { .. } => "PGRST124",
            ResponseError::InvalidResponseHeaders => "PGRST111",
            ResponseError::InvalidResponseStatus => "PGRST112",
            ResponseError::Internal(e) => return e.code(),
        })
    }

    fn details(&self) -> Option<serde_json::Value> {
        let text = match self {
            ResponseError::NotSingular { rows } => format!("The result contains {rows} rows"),
            ResponseError::RangeNotSatisfiable { offset, total } => {
                format!("An offset of {offset} was requested, but there are only {total} rows.")
            }
            ResponseError::MaxAffectedExceeded { rows } => format!("The query affects {rows} rows"),
            ResponseError::Internal(e) => return e.details(),
            _ => return None,
        };
        Some(text.into())
    }

    fn headers(&self) -> Vec<(HeaderName, String)> {
        match self {
            ResponseError::RangeNotSatisfiable { total, .. } => vec![(CONTENT_RANGE, format!("*/{total}"))],
            _ => Vec::new(),
        }
    }
}

/// A result row that cannot be read is rowgate's fault.
impl From<DbError> for ResponseError {
    fn from(e: DbError) -> Self {
        ResponseError::Internal(Internal(e.to_string()))
    }
}

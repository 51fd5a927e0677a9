//! Response stage: status, headers and body from results; every error mapped once to the
//! PostgREST error shape.

pub mod error;
pub mod read;
pub mod write;

pub use error::{from_db, ApiError};

//! Response stage: status, headers and body from the result row (the body itself was built by
//! PostgreSQL); its own errors in `error.rs`.

pub mod error;
pub mod read;
pub mod write;

pub use error::ResponseError;

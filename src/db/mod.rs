//! Database stage: the pool of request connections (`wire`: one write and one read per
//! request), the pipelined request transaction and migrations. The PostgreSQL clusters rowgate
//! starts itself (embedded, throwaway) are managed in the `cluster` module.

pub mod error;
pub mod execute;
pub mod migrate;
pub mod pool;
pub mod replica;
pub mod wire;

pub use error::{DbError, ServerError};

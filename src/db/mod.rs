//! Database stage: the pool of request connections (`wire`: one write and one read per
//! request), the pipelined request transaction, migrations and the embedded/throwaway
//! PostgreSQL cluster.

pub mod cluster;
pub mod error;
pub mod execute;
pub mod migrate;
pub mod pool;
pub mod wire;

pub use error::{DbError, ServerError};

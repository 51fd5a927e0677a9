//! Database stage: the pool, the pipelined request transaction, migrations and the
//! embedded/throwaway PostgreSQL cluster.

pub mod cluster;
pub mod error;
pub mod execute;
pub mod migrate;
pub mod params;
pub mod pool;

pub use error::DbError;

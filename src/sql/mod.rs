//! SQL stage: renders plans as statements. Every value is a bind parameter, every identifier
//! goes through [`quote::push_ident`], operators and casts come from fixed lists. Pure: no I/O.

pub mod auth;
pub mod auth_mfa;
pub mod auth_oauth;
pub mod builder;
pub mod context;
pub mod expr;
pub mod quote;
pub mod read;
pub mod rpc;
pub mod shape;
pub mod write;

pub use builder::Statement;
pub use read::{render_read, ReadStatements};
pub use write::render_write;

#[cfg(test)]
mod tests;

//! HTTP stage: the listeners and connection limits (`server.rs`, `conn_guard.rs`), CORS, the
//! router that hands each request to the REST pipeline or the auth service's shell (`auth/`),
//! the admin listener (and its `/health` report), and this stage's own errors. Nothing here plans or renders SQL.

pub mod admin;
pub mod auth;
pub mod conn_guard;
pub mod cors;
pub mod error;
pub mod health;
pub mod router;
pub mod server;

//! rowgate: a PostgREST-compatible gateway. Modules follow the request pipeline:
//! http → auth → request → plan → sql → db → response; `app` wires them together.

// Errors carry the whole PostgREST body; they are the cold path, so size beats indirection.
#![allow(clippy::result_large_err)]

pub mod app;
pub mod audit;
pub mod auth;
pub mod cluster;
pub mod config;
pub mod db;
pub mod http;
pub mod observe;
pub mod openapi;
pub mod plan;
pub mod request;
pub mod response;
pub mod schema;
pub mod sql;
pub mod tls;

//! rowgate: a PostgREST-compatible gateway. A request flows
//! `http` (listeners, limits, routing) → `pipeline` (the stages in order: `request` → `auth` →
//! `plan` → `sql` → `db` → `response`), or to the auth service's shell in `http::auth`;
//! `app` wires everything together. `state`, `body` and `error` are the shared bottom layer.

// Errors carry the whole PostgREST body; they are the cold path, so size beats indirection.
#![allow(clippy::result_large_err)]

pub mod app;
pub mod audit;
pub mod auth;
pub mod body;
pub mod channels;
pub mod cluster;
pub mod config;
pub mod db;
pub mod error;
pub mod http;
pub mod mail;
pub mod maintenance;
pub mod observe;
pub mod oidc;
pub mod openapi;
pub mod pipeline;
pub mod plan;
pub mod rate_limit;
pub mod realtime;
pub mod request;
pub mod response;
pub mod schema;
pub mod sql;
pub mod state;
pub mod tls;

//! HTTP stage: the listeners, the API handler that drives one request through the pipeline,
//! and the admin endpoints.

pub mod admin;
pub mod auth_service;
pub mod conn_guard;
pub mod cors;
pub mod handler;
pub mod rate_limit;
pub mod server;

use bytes::Bytes;
use http_body_util::Full;

pub type Body = Full<Bytes>;

pub fn full(b: impl Into<Bytes>) -> Body {
    Full::new(b.into())
}

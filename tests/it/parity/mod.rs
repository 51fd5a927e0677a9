//! PostgREST parity, round 2 (issue 15), over HTTP against `tests/fixtures/parity.sql`: computed
//! fields and relationships, every embedding target, counts on writes, `max-affected` on RPC,
//! bulk inserts, media types, the auth contract's details, role settings and OpenAPI.

mod auth;
mod computed;
mod embedding;
mod media;
mod openapi;
mod roles;
mod rpc;
mod writes;

use crate::harness::*;

/// A 200 JSON body.
pub async fn ok(g: &Gateway, path: &str) -> serde_json::Value {
    let r = g.get(path).await;
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    r.json()
}

/// An error's status and code.
pub fn status_code(r: &Reply) -> (u16, String) {
    (r.status, r.code())
}

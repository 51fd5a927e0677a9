//! The body of every response: whole, from one buffer (JSON and CSV are built by PostgreSQL and
//! shared from the connection's read buffer, never copied).

use bytes::Bytes;
use http_body_util::Full;

pub type Body = Full<Bytes>;

pub fn full(b: impl Into<Bytes>) -> Body {
    Full::new(b.into())
}

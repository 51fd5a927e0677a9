//! The bracket around every API request: [`Observed::start`] picks the request id and starts
//! the clock; [`Observed::finish`] counts the request, adds `X-Request-Id` (and
//! `Server-Timing` when enabled) and writes the access-log line.
//!
//! The line holds the method, the path **without its query string** (query values can carry
//! secrets: `?apikey=…`), status, latency, kind, role and error code: never a header value
//! other than the request id, a token, a cookie or a body.

use std::time::Instant;

use hyper::header::{HeaderName, HeaderValue};
use hyper::http::request::Parts;
use hyper::Response;

use super::metrics::Metrics;
use super::request_id;
use super::timing::Trace;
use super::Kind;
use crate::body::Body;
use crate::error::ErrorCode;

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const SERVER_TIMING: HeaderName = HeaderName::from_static("server-timing");

/// A request being served.
#[derive(Debug)]
pub struct Observed {
    started: Instant,
    id: HeaderValue,
    kind: Kind,
}

impl Observed {
    /// Starts the clock and settles the request id: the client's `X-Request-Id` when sane, else a
    /// new one. It is written back into the request's headers, so SQL sees the same id as
    /// `request.headers->>'x-request-id'` (the reference schema's audit trigger records it).
    pub fn start(parts: &mut Parts) -> Observed {
        let started = Instant::now();
        let id = match parts.headers.get(&X_REQUEST_ID) {
            Some(v) if request_id::is_sane(v.as_bytes()) => v.clone(),
            _ => HeaderValue::try_from(request_id::generate()).unwrap_or(HeaderValue::from_static("invalid")),
        };
        // `insert` also drops any further (possibly insane) copies of the header.
        parts.headers.insert(X_REQUEST_ID, id.clone());
        Observed { started, id, kind: Kind::of(&parts.method, parts.uri.path()) }
    }

    /// Counts the request and logs it; decorates the response.
    pub fn finish(
        self,
        metrics: &Metrics,
        server_timing: bool,
        parts: &Parts,
        trace: Trace,
        mut resp: Response<Body>,
    ) -> Response<Body> {
        let took = self.started.elapsed();
        let status = resp.status().as_u16();
        let code = resp.extensions_mut().remove::<ErrorCode>().map(|c| c.0);
        metrics.request(self.kind, status, took);
        match code.as_deref() {
            Some("42501") => metrics.denial(self.kind),
            Some("PGRST003") => metrics.pool_timeout(),
            Some("quota_exceeded") => metrics.quota_rejection(self.kind),
            _ => {}
        }
        let headers = resp.headers_mut();
        if server_timing {
            if let Some(v) = trace.server_timing().and_then(|t| HeaderValue::try_from(t).ok()) {
                headers.insert(SERVER_TIMING, v);
            }
        }
        headers.insert(X_REQUEST_ID, self.id.clone());
        tracing::info!(
            target: "rowgate::access",
            request_id = self.id.to_str().unwrap_or_default(),
            method = parts.method.as_str(),
            path = parts.uri.path(),
            status,
            latency_ms = took.as_micros() as f64 / 1000.0,
            kind = self.kind.as_str(),
            role = trace.role.as_deref(),
            code = code.as_deref(),
            "request"
        );
        resp
    }
}

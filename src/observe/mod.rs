//! Observability: Prometheus metrics for `/metrics` on the admin listener, `Server-Timing`,
//! request ids and the JSON access log (one line per request, target `rowgate::access`).
//!
//! The hot path touches only atomic counters and a task-local record of the request's phase
//! timings and role; label values are fixed enums, and text is formatted only when a line is
//! logged, a header is sent or `/metrics` is scraped. See docs/observability.md.

mod access;
mod histogram;
pub mod log_writer;
pub mod metrics;
pub mod realtime;
mod request_id;
pub mod scrape;
mod timing;

use hyper::Method;
use thiserror::Error;

pub use access::Observed;
pub use metrics::{AuthEvent, MailOutcome, Metrics, PoolGauges, TenantCount};
pub use timing::{set_role, time, time_async, traced, Phase, Trace};

#[derive(Debug, Error)]
pub enum ObserveError {
    #[error("cannot encode the metrics: {0}")]
    Encode(#[from] std::fmt::Error),
}

/// What a request does, by method and path alone (a label: never the relation's name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Read,
    Write,
    Rpc,
    Auth,
    OpenApi,
    Other,
}

impl Kind {
    pub const ALL: [Kind; 6] = [Kind::Read, Kind::Write, Kind::Rpc, Kind::Auth, Kind::OpenApi, Kind::Other];

    pub fn of(method: &Method, path: &str) -> Kind {
        if path.starts_with("/auth/v1/") {
            Kind::Auth
        } else if path.starts_with("/rpc/") {
            Kind::Rpc
        } else if path == "/" {
            if matches!(*method, Method::GET | Method::HEAD) {
                Kind::OpenApi
            } else {
                Kind::Other
            }
        } else {
            match *method {
                Method::GET | Method::HEAD => Kind::Read,
                Method::POST | Method::PATCH | Method::PUT | Method::DELETE => Kind::Write,
                _ => Kind::Other,
            }
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Read => "read",
            Kind::Write => "write",
            Kind::Rpc => "rpc",
            Kind::Auth => "auth",
            Kind::OpenApi => "openapi",
            Kind::Other => "other",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_by_method_and_path() {
        assert_eq!(Kind::of(&Method::GET, "/todos"), Kind::Read);
        assert_eq!(Kind::of(&Method::HEAD, "/todos"), Kind::Read);
        assert_eq!(Kind::of(&Method::PATCH, "/todos"), Kind::Write);
        assert_eq!(Kind::of(&Method::DELETE, "/todos"), Kind::Write);
        assert_eq!(Kind::of(&Method::GET, "/rpc/f"), Kind::Rpc);
        assert_eq!(Kind::of(&Method::POST, "/rpc/f"), Kind::Rpc);
        assert_eq!(Kind::of(&Method::POST, "/auth/v1/token"), Kind::Auth);
        assert_eq!(Kind::of(&Method::GET, "/"), Kind::OpenApi);
        assert_eq!(Kind::of(&Method::POST, "/"), Kind::Other);
        assert_eq!(Kind::of(&Method::OPTIONS, "/todos"), Kind::Other);
        for (i, k) in Kind::ALL.iter().enumerate() {
            assert_eq!(k.index(), i);
        }
    }
}

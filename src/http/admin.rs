//! Admin listener: `/live`, `/ready`, `/health` (a JSON report, `health.rs`), `/metrics`.

use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Request, Response, StatusCode};

use crate::body::{full, Body};
use crate::observe;
use crate::state::AppState;

pub async fn handle(state: Arc<AppState>, req: Request<Incoming>) -> Response<Body> {
    let status = match req.uri().path() {
        "/metrics" => return metrics(&state),
        "/live" => StatusCode::OK,
        "/health" => {
            let (ready, report) = super::health::report(&state).await;
            let mut resp = Response::new(full(report.to_string()));
            *resp.status_mut() = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
            resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            return resp;
        }
        "/ready" => {
            if ready(&state).await {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
        _ => StatusCode::NOT_FOUND,
    };
    let mut resp = Response::new(full(""));
    *resp.status_mut() = status;
    resp
}

/// A loaded schema cache and a pool that hands out a working connection.
async fn ready(state: &AppState) -> bool {
    if state.schema.load().is_none() {
        return false;
    }
    let check = async {
        let mut conn = crate::db::pool::Lease::get(&state.pool).await.ok()?;
        conn.simple("").await.ok().filter(|r| r.error.is_none()).map(|_| ())
    };
    matches!(tokio::time::timeout(Duration::from_secs(2), check).await, Ok(Some(())))
}

/// Prometheus scrape: the counters plus the pool and JWT cache sampled now.
fn metrics(state: &AppState) -> Response<Body> {
    let pool = state.pool.status().into();
    let replicas = state.replicas.as_deref().map(Into::into);
    let channels = state.realtime.counts().0 as u64;
    match observe::scrape::encode(&state.metrics, pool, state.auth.cache_stats(), replicas, channels) {
        Ok(text) => {
            let mut resp = Response::new(full(text));
            resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(observe::scrape::CONTENT_TYPE));
            resp
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot encode /metrics");
            let mut resp = Response::new(full(""));
            *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            resp
        }
    }
}

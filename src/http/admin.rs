//! Admin listener: `/live`, `/ready` (and `/health`).

use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};

use super::{full, Body};
use crate::app::AppState;

pub async fn handle(state: Arc<AppState>, req: Request<Incoming>) -> Response<Body> {
    let status = match req.uri().path() {
        "/live" => StatusCode::OK,
        "/ready" | "/health" => {
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
        let client = state.pool.get().await.ok()?;
        client.batch_execute("").await.ok()
    };
    matches!(tokio::time::timeout(Duration::from_secs(2), check).await, Ok(Some(())))
}

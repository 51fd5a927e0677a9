//! The API listener's requests: limits and CORS first, then by path to the auth service
//! (`/auth/v1`) or the REST pipeline (everything else, also under Supabase's `/rest/v1`).

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::task::Poll;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::http::request::Parts;
use hyper::{Method, Request, Response};

use super::conn_guard::PeerAddr;
use super::error::HttpError;
use crate::body::Body;
use crate::config::Config;
use crate::error::ApiError;
use crate::observe;
use crate::rate_limit::client_ip::{self, ClientIp};
use crate::state::AppState;

pub async fn handle(state: Arc<AppState>, req: Request<Incoming>) -> Response<Body> {
    let (mut parts, body) = req.into_parts();
    // Request id, metrics, Server-Timing and the access-log line around the whole request.
    let observed = observe::Observed::start(&mut parts);
    let (resp, trace) = observe::traced(respond(&state, &mut parts, body)).await;
    observed.finish(&state.metrics, state.config.server_timing, &parts, trace, resp)
}

async fn respond(state: &Arc<AppState>, parts: &mut Parts, body: Incoming) -> Response<Body> {
    if let Some(e) = super::conn_guard::head_too_large(parts, state.config.limits.max_header_bytes) {
        return ApiError::from(e).into_response();
    }
    strip_rest_prefix(parts);
    let origins = state.config.cors_origins.as_deref();
    if let Some(resp) = super::cors::preflight(parts, origins) {
        return resp;
    }
    let peer = parts.extensions.get::<PeerAddr>().map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |p| p.0.ip());
    let ip = client_ip::resolve(peer, &parts.headers, &state.config.limits.trusted_proxies);
    parts.extensions.insert(ClientIp(ip));
    let auth_service = parts.uri.path().starts_with("/auth/v1/");
    let realtime = crate::realtime::upgrade::is_endpoint(parts.uri.path());
    let mut resp = match state.rate_limits.check_client(ip, parts.uri.path()) {
        // Refused before the body is read or the database is touched.
        Err(limited) if auth_service => {
            state.metrics.auth_event(observe::AuthEvent::RateLimited);
            ApiError::from(super::auth::AuthServiceError::from(limited)).into_response()
        }
        Err(limited) => ApiError::from(HttpError::from(limited)).into_response(),
        // The WebSocket of /realtime/v1: its own checks, then the connection leaves HTTP.
        Ok(()) if realtime => {
            crate::realtime::upgrade::upgrade(state, parts).unwrap_or_else(|e| ApiError::from(e).into_response())
        }
        Ok(()) => match read_body(parts, body, &state.config).await {
            Ok(bytes) if auth_service => super::auth::handle(state, parts, &bytes).await,
            Ok(bytes) => {
                crate::pipeline::serve(state, parts, &bytes).await.unwrap_or_else(|e| ApiError::from(e).into_response())
            }
            Err(e) => ApiError::from(e).into_response(),
        },
    };
    super::cors::decorate(parts, origins, resp.headers_mut());
    resp
}

/// `/rest/v1/…` is the REST API under Supabase's prefix, so `createClient(rowgateUrl, key)` works
/// without a proxy; no PostgREST path starts with it. The rest of the pipeline (and the
/// `request.path` setting) sees the path without it, as behind Supabase's gateway.
fn strip_rest_prefix(parts: &mut Parts) {
    let rest = match parts.uri.path().strip_prefix("/rest/v1") {
        Some("") => "/",
        Some(rest) if rest.starts_with('/') && !rest.starts_with("/auth/v1/") => rest,
        _ => return,
    };
    let path_and_query = match parts.uri.query() {
        Some(q) => format!("{rest}?{q}"),
        None => rest.to_string(),
    };
    let mut uri = parts.uri.clone().into_parts();
    uri.path_and_query = hyper::http::uri::PathAndQuery::try_from(path_and_query).ok();
    if let Ok(stripped) = hyper::Uri::from_parts(uri) {
        parts.uri = stripped;
    }
}

/// The whole body of POST/PATCH/PUT, up to `ROWGATE_MAX_BODY_BYTES` (413 beyond) and within
/// `ROWGATE_BODY_READ_TIMEOUT` of the head (408 beyond); other verbs have none.
async fn read_body(parts: &Parts, body: Incoming, config: &Config) -> Result<Bytes, HttpError> {
    use http_body_util::BodyExt;
    if !matches!(parts.method, Method::POST | Method::PATCH | Method::PUT) {
        return Ok(Bytes::new());
    }
    let (limit, timeout) = (config.max_body_bytes, config.limits.body_read_timeout);
    let mut collect = std::pin::pin!(http_body_util::Limited::new(body, limit).collect());
    // An empty body, or one that came in with the head, is complete at the first look: the
    // timer is only armed for a body still on its way.
    let collected = match std::future::poll_fn(|cx| Poll::Ready(collect.as_mut().poll(cx))).await {
        Poll::Ready(collected) => collected,
        Poll::Pending => match tokio::time::timeout(timeout, collect).await {
            Ok(collected) => collected,
            Err(_) => {
                return Err(HttpError::BodyTimeout {
                    timeout,
                    close_connection: parts.version < hyper::Version::HTTP_2,
                })
            }
        },
    };
    match collected {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
            Err(HttpError::BodyTooLarge { limit })
        }
        Err(e) => Err(HttpError::BodyUnreadable(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The size of the future `f` returns, without calling it.
    fn future_size<F, Fut>(_: F) -> usize
    where
        F: Fn(Arc<AppState>, Request<Incoming>) -> Fut,
    {
        std::mem::size_of::<Fut>()
    }

    /// Every request's future is moved into its connection's task and lives as long as the
    /// request: it was 41 KB when deadpool's inline connection start-up and the timing wrappers'
    /// doubled captures sat in it (memmove was 5 % of the gateway's CPU in the profile).
    #[test]
    fn the_request_future_stays_small() {
        let size = future_size(handle);
        assert!(size <= 8 * 1024, "the request future is {size} bytes");
    }
}

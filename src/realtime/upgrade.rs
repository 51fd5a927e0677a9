//! `GET /realtime/v1/websocket?apikey=…&vsn=…`: checks the request like Supabase does before the
//! upgrade (the apikey — query parameter or `apikey`/`x-api-key` header — verified as a bearer
//! token; a vsn it can speak), answers 101 and hands the upgraded connection to `socket.rs`.
//! Refusals are HTTP errors with Supabase's `{"error": …}` body.

use std::sync::Arc;

use hyper::header::{HeaderValue, CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION, UPGRADE};
use hyper::http::request::Parts;
use hyper::{Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;

use super::error::UpgradeError;
use super::protocol::Vsn;
use super::Status;
use crate::body::{full, Body};
use crate::state::AppState;

/// Whether a path is realtime's WebSocket endpoint (realtime-js also asks with a trailing slash).
pub fn is_endpoint(path: &str) -> bool {
    matches!(path, "/realtime/v1/websocket" | "/realtime/v1/websocket/")
}

fn query_param(parts: &Parts, name: &str) -> Option<String> {
    let q = parts.uri.query()?;
    form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

fn header(parts: &Parts, name: &str) -> Option<String> {
    parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

/// Checks the request and starts the connection.
pub fn upgrade(state: &Arc<AppState>, parts: &mut Parts) -> Result<Response<Body>, UpgradeError> {
    let hub = &state.realtime;
    if let Status::Off(why) = hub.status() {
        return Err(UpgradeError::Unavailable(why));
    }
    let is_upgrade = header(parts, "upgrade").is_some_and(|u| u.eq_ignore_ascii_case("websocket"));
    if parts.method != hyper::Method::GET || !is_upgrade {
        return Err(UpgradeError::NotWebSocket("expected GET with Upgrade: websocket"));
    }
    if header(parts, SEC_WEBSOCKET_VERSION.as_str()).as_deref() != Some("13") {
        return Err(UpgradeError::NotWebSocket("Sec-WebSocket-Version must be 13"));
    }
    let key = parts.headers.get(SEC_WEBSOCKET_KEY).ok_or(UpgradeError::NotWebSocket("no Sec-WebSocket-Key"))?.clone();
    let vsn_text = query_param(parts, "vsn");
    let vsn =
        Vsn::parse(vsn_text.as_deref()).ok_or_else(|| UpgradeError::UnsupportedVsn(vsn_text.unwrap_or_default()))?;
    let apikey = header(parts, "x-api-key")
        .or_else(|| query_param(parts, "apikey"))
        .or_else(|| header(parts, "apikey"))
        .filter(|k| !k.is_empty())
        .ok_or(UpgradeError::ApiKeyMissing)?;
    let bearer = format!("Bearer {apikey}");
    state
        .auth
        .authenticate(Some(bearer.as_bytes()), super::socket::now_secs())
        .map_err(|e| UpgradeError::InvalidToken(crate::error::ApiError::from(e).message))?;
    let on_upgrade = parts
        .extensions
        .remove::<hyper::upgrade::OnUpgrade>()
        .ok_or(UpgradeError::NotWebSocket("the connection cannot be upgraded (HTTP/2?)"))?;

    let limit = hub.settings.max_message_bytes;
    let state = state.clone();
    tokio::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(u) => u,
            Err(e) => {
                tracing::debug!(error = %e, "realtime: upgrade failed");
                return;
            }
        };
        // Small buffers: tens of thousands of mostly idle connections (tungstenite's default read
        // buffer is 128 KiB per connection); frames go out as they are flushed.
        let config = WebSocketConfig::default()
            .max_message_size(Some(limit))
            .max_frame_size(Some(limit))
            .read_buffer_size(4 * 1024)
            .write_buffer_size(0)
            .max_write_buffer_size(4 * 1024 * 1024);
        let ws = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config)).await;
        super::socket::serve(state, ws, vsn, apikey).await;
    });

    let mut resp = Response::new(full(""));
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = resp.headers_mut();
    h.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    h.insert(UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(v) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
        h.insert(SEC_WEBSOCKET_ACCEPT, v);
    }
    Ok(resp)
}

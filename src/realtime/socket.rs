//! One WebSocket connection: a single task reads client frames, writes what the delivery queued
//! (the bounded [`Outbox`]: a client that stops reading is cut off, never buffered without
//! bound), answers heartbeats, closes idle sockets (60 s, as Phoenix) and channels whose token
//! expired. Joins, leaves and token changes are in `channel.rs`. Frames are read and written by
//! tokio-tungstenite, which also enforces the message size limit (1009 beyond it).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

use super::protocol::join::Binding;
use super::protocol::{decode_binary, decode_text, Inbound, Vsn};
use super::registry::{ChannelId, Identity, Out, Outbox};
use crate::state::AppState;

pub type Ws = WebSocketStream<TokioIo<Upgraded>>;

/// No frame from the client for this long closes the socket (realtime-js heartbeats every 25 s).
const IDLE: Duration = Duration::from_secs(60);
/// Frames written per flush.
const WRITE_BATCH: usize = 64;

/// A joined channel.
pub(super) struct Channel {
    pub id: ChannelId,
    pub join_ref: Option<String>,
    /// `realtime:<name>`.
    pub topic: String,
    pub identity: Arc<Identity>,
    pub token: String,
    /// The token's `exp` (Unix seconds).
    pub expires: Option<u64>,
    pub broadcast_ack: bool,
    /// The join's bindings with their ids, for a new token.
    pub bindings: Vec<(Binding, u32)>,
    pub start_lsn: u64,
}

/// One connection's state.
pub(super) struct Session {
    pub state: Arc<AppState>,
    pub vsn: Vsn,
    pub outbox: Arc<Outbox>,
    /// The `apikey` of the connection: the token of joins that bring none.
    pub apikey: String,
    pub channels: HashMap<String, Channel>,
}

pub fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Session {
    pub fn frame(
        &self,
        join_ref: Option<&str>,
        reference: Option<&str>,
        topic: &str,
        event: &str,
        payload: &Value,
    ) -> String {
        self.vsn.frame(join_ref, reference, topic, event, payload)
    }

    pub fn reply(&self, m: &Inbound, status: &str, response: Value) -> String {
        let payload = json!({"status": status, "response": response});
        self.frame(m.join_ref.as_deref(), m.reference.as_deref(), &m.topic, "phx_reply", &payload)
    }

    pub fn system(&self, ch: &Channel, extension: &str, status: &str, message: &str) -> String {
        let name = ch.topic.strip_prefix("realtime:").unwrap_or(&ch.topic);
        let payload = json!({"extension": extension, "status": status, "message": message, "channel": name});
        self.frame(ch.join_ref.as_deref(), None, &ch.topic, "system", &payload)
    }

    pub fn close_frame(&self, ch: &Channel) -> String {
        self.frame(ch.join_ref.as_deref(), ch.join_ref.as_deref(), &ch.topic, "phx_close", &json!({}))
    }

    /// Forgets a channel here and in the registry.
    pub fn drop_channel(&mut self, topic: &str) -> Option<Channel> {
        let ch = self.channels.remove(topic)?;
        if let Ok(mut r) = self.state.realtime.registry.write() {
            r.remove_channel(ch.id);
        }
        Some(ch)
    }

    fn topic_of(&self, channel: ChannelId) -> Option<String> {
        self.channels.iter().find(|(_, c)| c.id == channel).map(|(t, _)| t.clone())
    }

    /// What the delivery or the re-check decided about a channel, as frames.
    fn control(&mut self, out: Out) -> Vec<String> {
        match out {
            Out::Text(t) => vec![t],
            Out::Close { channel, message } => {
                let Some(topic) = self.topic_of(channel) else { return vec![] };
                let Some(ch) = self.drop_channel(&topic) else { return vec![] };
                let mut frames = Vec::new();
                if let Some(m) = message {
                    frames.push(self.system(&ch, "system", "error", &m));
                }
                frames.push(self.close_frame(&ch));
                frames
            }
            Out::Error { channel } => {
                let Some(topic) = self.topic_of(channel) else { return vec![] };
                let Some(ch) = self.drop_channel(&topic) else { return vec![] };
                vec![self.frame(ch.join_ref.as_deref(), ch.join_ref.as_deref(), &ch.topic, "phx_error", &json!({}))]
            }
            Out::ChangesError { channel, message } => {
                let Some(topic) = self.topic_of(channel) else { return vec![] };
                let ch = &self.channels[&topic];
                vec![self.system(ch, "postgres_changes", "error", &message)]
            }
            Out::Shutdown => Vec::new(),
        }
    }

    /// Channels whose token expired: system error, `phx_close`.
    fn expire(&mut self) -> Vec<String> {
        let now = now_secs();
        let expired: Vec<(String, u64)> =
            self.channels.iter().filter_map(|(t, c)| c.expires.filter(|&e| e <= now).map(|e| (t.clone(), e))).collect();
        let mut frames = Vec::new();
        for (topic, exp) in expired {
            if let Some(ch) = self.drop_channel(&topic) {
                frames.push(self.system(
                    &ch,
                    "system",
                    "error",
                    &format!("Token has expired {} seconds ago", now - exp),
                ));
                frames.push(self.close_frame(&ch));
            }
        }
        frames
    }

    /// One client frame; what to answer.
    async fn incoming(&mut self, m: Inbound) -> Vec<String> {
        match (m.topic.as_str(), m.event.as_str()) {
            ("phoenix", "heartbeat") => vec![self.reply(&m, "ok", json!({}))],
            (_, "phx_join") => self.join(m).await,
            (topic, _) if !self.channels.contains_key(topic) => {
                vec![self.reply(&m, "error", json!({"reason": "unmatched topic"}))]
            }
            (_, "phx_leave") => {
                let reply = self.reply(&m, "ok", json!({}));
                match self.drop_channel(&m.topic) {
                    Some(ch) => vec![reply, self.close_frame(&ch)],
                    None => vec![reply],
                }
            }
            (_, "access_token") => self.access_token(m).await,
            (topic, "broadcast") => {
                // rowgate relays no broadcasts (docs/realtime.md); a client waiting for an ack is told so.
                let ack = self.channels.get(topic).is_some_and(|c| c.broadcast_ack);
                if ack && m.reference.is_some() {
                    vec![self.reply(&m, "error", json!({"reason": "Broadcast is not supported by this server (rowgate relays postgres_changes only)"}))]
                } else {
                    Vec::new()
                }
            }
            (_, "presence") => {
                vec![self.reply(&m, "error", json!({"reason": "Presence is not supported by this server (rowgate relays postgres_changes only)"}))]
            }
            // Anything else is ignored, as Supabase does.
            _ => Vec::new(),
        }
    }
}

/// Writes frames, then flushes once; gives up when the connection is cut for being slow (a
/// write to a client that does not read would otherwise wait forever).
async fn write_all(ws: &mut Ws, frames: Vec<String>, outbox: &Outbox) -> Result<(), WsError> {
    if frames.is_empty() {
        return Ok(());
    }
    let write = async {
        for f in frames {
            ws.feed(Message::text(f)).await?;
        }
        ws.flush().await
    };
    tokio::select! {
        r = write => r,
        _ = outbox.kill.notified() => Err(WsError::ConnectionClosed),
    }
}

async fn close(ws: &mut Ws, code: CloseCode, reason: &'static str) {
    let frame = CloseFrame { code, reason: reason.into() };
    let _ = tokio::time::timeout(Duration::from_secs(1), ws.send(Message::Close(Some(frame)))).await;
}

/// Runs one connection to its end.
pub async fn serve(state: Arc<AppState>, mut ws: Ws, vsn: Vsn, apikey: String) {
    let hub = state.realtime.clone();
    let (outbox, mut rx): (Arc<Outbox>, mpsc::Receiver<Out>) = Outbox::new(hub.settings.queue, vsn);
    let id = hub.next_id();
    hub.add_conn(id, outbox.clone());
    state.metrics.realtime.connection(1);
    let mut s = Session { state: state.clone(), vsn, outbox: outbox.clone(), apikey, channels: HashMap::new() };
    let mut last_seen = Instant::now();
    // Idle and expiry checks: every 2 s is precise enough, and cheap with tens of thousands of sockets.
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    loop {
        tokio::select! {
            biased;
            _ = outbox.kill.notified() => {
                // Too slow to read what it asked for: dropped without a goodbye (a close frame
                // would only queue behind the rest).
                break;
            }
            out = rx.recv() => {
                let Some(out) = out else { break };
                if matches!(out, Out::Shutdown) {
                    close(&mut ws, CloseCode::Restart, "server restarting").await;
                    break;
                }
                let mut frames = s.control(out);
                while frames.len() < WRITE_BATCH {
                    match rx.try_recv() {
                        Ok(Out::Shutdown) | Err(_) => break,
                        Ok(more) => frames.extend(s.control(more)),
                    }
                }
                if write_all(&mut ws, frames, &outbox).await.is_err() {
                    break;
                }
            }
            msg = ws.next() => {
                last_seen = Instant::now();
                let inbound = match msg {
                    None | Some(Ok(Message::Close(_))) => break,
                    Some(Err(WsError::Capacity(_))) => {
                        close(&mut ws, CloseCode::Size, "message too big").await;
                        break;
                    }
                    Some(Err(_)) => break,
                    Some(Ok(Message::Text(t))) => decode_text(vsn, &t),
                    Some(Ok(Message::Binary(b))) => decode_binary(&b),
                    Some(Ok(_)) => continue,
                };
                let frames = match inbound {
                    Ok(m) => s.incoming(m).await,
                    Err(e) => {
                        let payload = json!({"status": "error", "response": {"reason": e.to_string()}});
                        vec![s.frame(None, None, "phoenix", "phx_reply", &payload)]
                    }
                };
                if write_all(&mut ws, frames, &outbox).await.is_err() {
                    break;
                }
            }
            _ = tick.tick() => {
                if last_seen.elapsed() > IDLE {
                    close(&mut ws, CloseCode::Away, "heartbeat timeout").await;
                    break;
                }
                let frames = s.expire();
                if write_all(&mut ws, frames, &outbox).await.is_err() {
                    break;
                }
            }
        }
    }
    if outbox.was_killed() {
        state.metrics.realtime.slow_client();
    }
    let topics: Vec<String> = s.channels.keys().cloned().collect();
    for t in topics {
        s.drop_channel(&t);
    }
    hub.remove_conn(id);
    state.metrics.realtime.connection(-1);
}

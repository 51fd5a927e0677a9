//! A raw WebSocket client speaking Phoenix frames (vsn 1.0.0 or 2.0.0), for protocol tests that
//! need to see every frame; the behaviour users get is tested with supabase-js.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

pub struct Client {
    pub ws: WebSocketStream<TcpStream>,
    pub v2: bool,
    next_ref: u64,
}

/// One server frame as `(join_ref, ref, topic, event, payload)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub join_ref: Value,
    pub reference: Value,
    pub topic: String,
    pub event: String,
    pub payload: Value,
}

impl Client {
    /// Connects to `/realtime/v1/websocket?apikey=…&vsn=…` of the gateway at `addr`.
    pub async fn connect(addr: std::net::SocketAddr, apikey: &str, v2: bool) -> Client {
        let vsn = if v2 { "2.0.0" } else { "1.0.0" };
        let url = format!("ws://{addr}/realtime/v1/websocket?apikey={apikey}&vsn={vsn}");
        let stream = TcpStream::connect(addr).await.expect("tcp");
        let (ws, resp) = tokio_tungstenite::client_async(url, stream).await.expect("websocket handshake");
        assert_eq!(resp.status(), 101);
        Client { ws, v2, next_ref: 0 }
    }

    pub fn reference(&mut self) -> String {
        self.next_ref += 1;
        self.next_ref.to_string()
    }

    pub async fn send_raw(&mut self, text: &str) {
        self.ws.send(Message::text(text.to_string())).await.expect("send");
    }

    /// Sends a frame; returns its ref.
    pub async fn send(&mut self, join_ref: Option<&str>, topic: &str, event: &str, payload: Value) -> String {
        let r = self.reference();
        let text = if self.v2 {
            json!([join_ref, r, topic, event, payload]).to_string()
        } else {
            json!({"topic": topic, "event": event, "payload": payload, "ref": r, "join_ref": join_ref}).to_string()
        };
        self.send_raw(&text).await;
        r
    }

    /// The next text frame within `wait`.
    pub async fn recv(&mut self, wait: Duration) -> Option<Frame> {
        loop {
            let msg = tokio::time::timeout(wait, self.ws.next()).await.ok()??.ok()?;
            let Message::Text(t) = msg else {
                if matches!(msg, Message::Close(_)) {
                    return None;
                }
                continue;
            };
            let v: Value = serde_json::from_str(&t).expect("server frames are JSON");
            return Some(if self.v2 {
                let a = v.as_array().expect("vsn 2 frames are arrays");
                Frame {
                    join_ref: a[0].clone(),
                    reference: a[1].clone(),
                    topic: a[2].as_str().unwrap().into(),
                    event: a[3].as_str().unwrap().into(),
                    payload: a[4].clone(),
                }
            } else {
                assert!(v.get("join_ref").is_none(), "vsn 1 server frames carry no join_ref: {v}");
                Frame {
                    join_ref: Value::Null,
                    reference: v["ref"].clone(),
                    topic: v["topic"].as_str().unwrap().into(),
                    event: v["event"].as_str().unwrap().into(),
                    payload: v["payload"].clone(),
                }
            });
        }
    }

    /// Frames until `pred` holds (at most `wait` in all); panics otherwise.
    pub async fn until(&mut self, wait: Duration, pred: impl Fn(&Frame) -> bool) -> Frame {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.recv(left).await {
                Some(f) if pred(&f) => return f,
                Some(_) => {}
                None => panic!("no matching frame within {wait:?}"),
            }
        }
    }

    /// Joins `topic` with `bindings`; returns the reply and the frames after it up to the system message.
    pub async fn join(&mut self, topic: &str, bindings: Value, token: Option<&str>) -> (String, Frame) {
        let mut payload = json!({"config": {"broadcast": {"ack": false, "self": false},
            "presence": {"key": "", "enabled": false}, "postgres_changes": bindings, "private": false}});
        if let Some(t) = token {
            payload["access_token"] = t.into();
        }
        let r = self.reference();
        let text = if self.v2 {
            json!([r, r, topic, "phx_join", payload]).to_string()
        } else {
            json!({"topic": topic, "event": "phx_join", "payload": payload, "ref": r, "join_ref": r}).to_string()
        };
        self.send_raw(&text).await;
        let reply = self.until(Duration::from_secs(10), |f| f.event == "phx_reply" && f.reference == json!(r)).await;
        (r, reply)
    }

    /// `postgres_changes` frames for `wait` (all of them).
    pub async fn changes(&mut self, wait: Duration) -> Vec<Frame> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut out = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.recv(left).await {
                Some(f) if f.event == "postgres_changes" => out.push(f),
                Some(_) => {}
                None => return out,
            }
        }
    }
}

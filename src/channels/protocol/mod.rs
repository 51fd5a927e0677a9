//! The Phoenix channel protocol realtime-js speaks (shared/reference/realtime.md §1): the
//! envelope `{join_ref, ref, topic, event, payload}` in its two serializations — vsn 1.0.0 JSON
//! objects (the server leaves `join_ref` out), vsn 2.0.0 JSON arrays, plus the binary push frame
//! (kind 3) a 2.0.0 client uses for broadcasts — decoded into [`Inbound`] and encoded by
//! [`Vsn::frame`]. What a message means is decided by the socket (`socket.rs`, `channel.rs`);
//! what a join asks for is parsed in `join.rs`, its filters in `filter.rs`.

pub mod filter;
pub mod join;

use serde_json::Value;

use super::error::ProtocolError;

/// The serializer the client chose with `vsn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vsn {
    V1,
    V2,
}

impl Vsn {
    /// `vsn` from the query string: absent means 1.0.0, as Phoenix; `1.x.y` and `2.x.y` choose.
    pub fn parse(vsn: Option<&str>) -> Option<Vsn> {
        match vsn {
            None => Some(Vsn::V1),
            Some(v) if v == "1.0.0" || v.starts_with("1.") => Some(Vsn::V1),
            Some(v) if v == "2.0.0" || v.starts_with("2.") => Some(Vsn::V2),
            Some(_) => None,
        }
    }

    /// One server frame. `join_ref` is only written by vsn 2.0.0 (Phoenix's V1 serializer has
    /// no `join_ref` in what the server sends).
    pub fn frame(
        self,
        join_ref: Option<&str>,
        reference: Option<&str>,
        topic: &str,
        event: &str,
        payload: &Value,
    ) -> String {
        let s = |v: Option<&str>| v.map_or(Value::Null, |v| Value::String(v.to_string()));
        match self {
            Vsn::V2 => {
                Value::Array(vec![s(join_ref), s(reference), topic.into(), event.into(), payload.clone()]).to_string()
            }
            Vsn::V1 => {
                serde_json::json!({"topic": topic, "event": event, "payload": payload, "ref": s(reference)}).to_string()
            }
        }
    }

    /// A `postgres_changes` push: `data` is already JSON text (shared by every subscriber of one
    /// role), `topic_json` the channel's topic as a JSON string.
    pub fn change(self, topic_json: &str, ids: &[u32], data: &str) -> String {
        let mut ids_json = String::with_capacity(ids.len() * 6 + 2);
        ids_json.push('[');
        for (i, id) in ids.iter().enumerate() {
            if i > 0 {
                ids_json.push(',');
            }
            ids_json.push_str(&id.to_string());
        }
        ids_json.push(']');
        match self {
            Vsn::V2 => format!(r#"[null,null,{topic_json},"postgres_changes",{{"ids":{ids_json},"data":{data}}}]"#),
            Vsn::V1 => format!(
                r#"{{"topic":{topic_json},"event":"postgres_changes","payload":{{"ids":{ids_json},"data":{data}}},"ref":null}}"#
            ),
        }
    }
}

/// A client message.
#[derive(Debug, Clone, PartialEq)]
pub struct Inbound {
    pub join_ref: Option<String>,
    pub reference: Option<String>,
    pub topic: String,
    pub event: String,
    pub payload: Value,
}

fn opt_string(v: &Value) -> Result<Option<String>, ProtocolError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        // Refs are strings; a client that sends numbers still gets them echoed.
        Value::Number(n) => Ok(Some(n.to_string())),
        _ => Err(ProtocolError::Malformed("join_ref and ref must be strings or null".into())),
    }
}

fn required_string(v: Option<&Value>, what: &str) -> Result<String, ProtocolError> {
    match v {
        Some(Value::String(s)) => Ok(s.clone()),
        _ => Err(ProtocolError::Malformed(format!("{what} must be a string"))),
    }
}

/// A text frame in the client's serialization.
pub fn decode_text(vsn: Vsn, text: &str) -> Result<Inbound, ProtocolError> {
    let value: Value = serde_json::from_str(text).map_err(|e| ProtocolError::Malformed(format!("not JSON: {e}")))?;
    match (vsn, value) {
        (Vsn::V2, Value::Array(items)) if items.len() == 5 => Ok(Inbound {
            join_ref: opt_string(&items[0])?,
            reference: opt_string(&items[1])?,
            topic: required_string(items.get(2), "topic")?,
            event: required_string(items.get(3), "event")?,
            payload: items[4].clone(),
        }),
        (Vsn::V1, Value::Object(mut o)) => Ok(Inbound {
            join_ref: opt_string(o.get("join_ref").unwrap_or(&Value::Null))?,
            reference: opt_string(o.get("ref").unwrap_or(&Value::Null))?,
            topic: required_string(o.get("topic"), "topic")?,
            event: required_string(o.get("event"), "event")?,
            payload: o.remove("payload").unwrap_or(Value::Null),
        }),
        (Vsn::V2, _) => {
            Err(ProtocolError::Malformed("vsn 2.0.0 expects [join_ref, ref, topic, event, payload]".into()))
        }
        (Vsn::V1, _) => Err(ProtocolError::Malformed("vsn 1.0.0 expects {topic, event, payload, ref}".into())),
    }
}

/// A binary frame: vsn 2.0.0's user broadcast push (kind 3: lengths of join_ref, ref, topic,
/// event and metadata, an encoding byte, the strings, the payload). Only the envelope is read;
/// the payload is left alone (rowgate relays no broadcasts).
pub fn decode_binary(bytes: &[u8]) -> Result<Inbound, ProtocolError> {
    let bad = || ProtocolError::Malformed("binary frame: not a broadcast push (kind 3)".into());
    if bytes.len() < 7 || bytes[0] != 3 {
        return Err(bad());
    }
    let lens: Vec<usize> = bytes[1..6].iter().map(|b| usize::from(*b)).collect();
    let mut at = 7;
    let mut take = |n: usize| -> Result<String, ProtocolError> {
        let s = bytes.get(at..at + n).ok_or_else(bad)?;
        at += n;
        String::from_utf8(s.to_vec()).map_err(|_| bad())
    };
    let join_ref = take(lens[0])?;
    let reference = take(lens[1])?;
    let topic = take(lens[2])?;
    let user_event = take(lens[3])?;
    let _meta = take(lens[4])?;
    let nonempty = |s: String| (!s.is_empty()).then_some(s);
    Ok(Inbound {
        join_ref: nonempty(join_ref),
        reference: nonempty(reference),
        topic,
        event: "broadcast".into(),
        payload: serde_json::json!({"type": "broadcast", "event": user_event}),
    })
}

#[cfg(test)]
mod tests;

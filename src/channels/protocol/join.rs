//! What a `phx_join` asks for (shared/reference/realtime.md §2.1): the `postgres_changes`
//! bindings, kept exactly as sent because the `ok` reply must echo them in order with an `id`
//! added; the channel's token; the broadcast, presence and private switches. Lenient like
//! Supabase: unknown keys are ignored, `null` bindings dropped, a binding that cannot be used is
//! kept (the reply must still echo it) with the reason it will be reported with.

use serde_json::{Map, Value};

use super::filter::{self, Filter};

/// Which actions a binding wants (`event`: INSERT, UPDATE, DELETE or `*`, any case).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Events(u8);

impl Events {
    pub const INSERT: Events = Events(1);
    pub const UPDATE: Events = Events(2);
    pub const DELETE: Events = Events(4);
    pub const ALL: Events = Events(7);

    /// An unknown value means `*`, as Supabase.
    pub fn parse(event: Option<&str>) -> Events {
        match event.map(str::to_ascii_uppercase).as_deref() {
            Some("INSERT") => Events::INSERT,
            Some("UPDATE") => Events::UPDATE,
            Some("DELETE") => Events::DELETE,
            _ => Events::ALL,
        }
    }

    pub fn contains(self, other: Events) -> bool {
        self.0 & other.0 == other.0
    }
}

/// One `postgres_changes` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    /// The object as the client sent it (the reply echoes it with `id`).
    pub echo: Map<String, Value>,
    pub events: Events,
    /// `public` when only a table is named; `*` for any.
    pub schema: String,
    /// `*` for every published table of the schema.
    pub table: String,
    pub filter: Option<Filter>,
    /// Why the binding cannot be subscribed (reported as a `postgres_changes` system error).
    pub problem: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct JoinRequest {
    pub bindings: Vec<Binding>,
    /// `access_token` (or the legacy `user_token`); `None` falls back to the connection's apikey.
    pub access_token: Option<String>,
    /// `config.broadcast.ack`: the client waits for a reply to its broadcasts.
    pub broadcast_ack: bool,
    /// `config` was absent: the legacy topic-encoded API, which rowgate does not serve.
    pub legacy: bool,
}

fn text(o: &Map<String, Value>, key: &str) -> Option<String> {
    o.get(key).and_then(Value::as_str).map(str::to_string)
}

fn binding(echo: Map<String, Value>) -> Binding {
    let events = Events::parse(echo.get("event").and_then(Value::as_str));
    let schema = text(&echo, "schema").filter(|s| !s.is_empty());
    let table = text(&echo, "table").filter(|s| !s.is_empty());
    let (schema, table, mut problem) = match (schema, table) {
        (Some(s), Some(t)) => (s, t, None),
        (Some(s), None) => (s, "*".to_string(), None),
        (None, Some(t)) => ("public".to_string(), t, None),
        (None, None) => (String::new(), String::new(), Some("a binding needs a schema or a table".to_string())),
    };
    let filter = match echo.get("filter") {
        None | Some(Value::Null) => None,
        Some(Value::String(f)) => match filter::parse(f) {
            Ok(f) => f,
            Err(why) => {
                problem.get_or_insert(why);
                None
            }
        },
        Some(_) => {
            problem.get_or_insert("Error parsing `filter` params: the filter must be a string".into());
            None
        }
    };
    if filter.is_some() && (schema == "*" || table == "*") {
        problem.get_or_insert("a filter needs one table, not a wildcard".into());
    }
    if echo.contains_key("select") {
        problem.get_or_insert("`select` is not supported: every column the subscriber may read is sent".into());
    }
    Binding { echo, events, schema, table, filter, problem }
}

/// The join payload; anything unusable in it is a per-binding problem, never a refusal.
pub fn parse(payload: &Value) -> JoinRequest {
    let token = ["access_token", "user_token"]
        .iter()
        .find_map(|k| payload.get(k).and_then(Value::as_str))
        .map(str::to_string)
        .filter(|t| !t.is_empty());
    let Some(config) = payload.get("config").filter(|c| c.is_object()) else {
        return JoinRequest { access_token: token, legacy: true, ..Default::default() };
    };
    let bindings = match config.get("postgres_changes") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|item| match item {
                Value::Object(o) => Some(binding(o.clone())),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let broadcast_ack = config.pointer("/broadcast/ack").and_then(Value::as_bool).unwrap_or(false);
    JoinRequest { bindings, access_token: token, broadcast_ack, legacy: false }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::channels::protocol::filter::Op;

    #[test]
    fn supabase_js_join() {
        let p = json!({"config": {"broadcast": {"ack": false, "self": false}, "presence": {"key": "", "enabled": false},
            "postgres_changes": [
                {"event": "INSERT", "schema": "api", "table": "tasks", "filter": "org_id=eq.7"},
                null,
                {"event": "*", "schema": "api", "table": "tasks"},
                {"event": "delete", "table": "notes"},
                {"event": "*", "schema": "api"}
            ], "private": false}, "access_token": "tok"});
        let j = parse(&p);
        assert_eq!(j.access_token.as_deref(), Some("tok"));
        assert!(!j.legacy && !j.broadcast_ack);
        assert_eq!(j.bindings.len(), 4, "null entries are dropped");
        let b = &j.bindings[0];
        assert_eq!((b.events, b.schema.as_str(), b.table.as_str()), (Events::INSERT, "api", "tasks"));
        assert_eq!(b.filter.as_ref().map(|f| (f.op, f.values.clone())), Some((Op::Eq, vec!["7".to_string()])));
        assert_eq!(
            b.echo,
            json!({"event": "INSERT", "schema": "api", "table": "tasks", "filter": "org_id=eq.7"})
                .as_object()
                .unwrap()
                .clone()
        );
        assert_eq!(j.bindings[1].events, Events::ALL);
        assert_eq!((j.bindings[2].schema.as_str(), j.bindings[2].events), ("public", Events::DELETE));
        assert_eq!(j.bindings[3].table, "*");
        assert!(j.bindings.iter().all(|b| b.problem.is_none()));
    }

    #[test]
    fn problems_are_kept_per_binding() {
        let p = json!({"config": {"postgres_changes": [
            {"event": "*", "schema": "api", "table": "tasks", "filter": "total=foo.1"},
            {"event": "*"},
            {"event": "*", "schema": "api", "filter": "a=eq.1"},
            {"event": "*", "schema": "api", "table": "t", "filter": 5},
            {"event": "*", "schema": "api", "table": "t", "select": ["a"]}
        ]}});
        let j = parse(&p);
        assert_eq!(j.bindings.len(), 5);
        assert!(j.bindings.iter().all(|b| b.problem.is_some()), "{:?}", j.bindings);
        assert_eq!(j.access_token, None);
    }

    #[test]
    fn no_config_is_the_legacy_api() {
        assert!(parse(&json!({})).legacy);
        assert!(parse(&json!(null)).legacy);
        assert_eq!(parse(&json!({"config": {}})).bindings, vec![]);
        assert_eq!(parse(&json!({"user_token": "t", "config": {}})).access_token.as_deref(), Some("t"));
    }
}

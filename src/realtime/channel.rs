//! Joining, and changing the token of, a channel (shared/reference/realtime.md §2). A join is
//! verified like a REST request — the token by the authenticator, then in one round trip the
//! REST transaction's shape per group: the pre-request check (revoked sessions and API tokens
//! fail here) with the WAL position the subscription starts from, and per binding
//! `realtime.subscribe` as the subscriber (published table, readable column, values of its
//! type). The subscription is registered *before* the `ok` reply and the "Subscribed to
//! PostgreSQL" message, so every change committed after SUBSCRIBED is delivered.

use std::sync::Arc;

use serde_json::{json, Value};

use super::capture::pgoutput::parse_lsn;
use super::delivery::{context_of, context_steps, verdict_of_error};
use super::error::JoinError;
use super::protocol::join::{self, Binding};
use super::protocol::Inbound;
use super::registry::{Identity, Subscription};
use super::socket::{now_secs, Channel, Session};
use crate::db::pool::Lease;
use crate::db::wire::Step;

const LSN_SQL: &str = "select pg_catalog.pg_current_wal_insert_lsn()::text";
const SUBSCRIBE_SQL: &str = "select realtime.subscribe($1, $2, nullif($3, ''), nullif($4, ''), $5::text[])::text";

/// A verified token: who, and until when.
struct Token {
    identity: Arc<Identity>,
    expires: Option<u64>,
}

/// What PostgreSQL said about a join (or a new token).
struct Checked {
    start_lsn: u64,
    /// Per binding: the published tables `(oid, schema, table)` or why not.
    tables: Vec<Result<Vec<u32>, String>>,
}

impl Session {
    /// The token of a join or an `access_token` message: verified as a REST bearer token.
    fn verify(&self, token: &str) -> Result<Token, JoinError> {
        let header = format!("Bearer {token}");
        let identity = self
            .state
            .auth
            .authenticate(Some(header.as_bytes()), now_secs())
            .map_err(|e| JoinError::InvalidToken(crate::error::ApiError::from(e).message))?;
        let expires =
            serde_json::from_str::<Value>(&identity.claims).ok().and_then(|c| c.get("exp").and_then(Value::as_u64));
        Ok(Token { identity: Arc::new(Identity { role: identity.role, claims: identity.claims }), expires })
    }

    /// The pre-request check, the start LSN and each binding's tables, in one round trip.
    async fn check(&self, identity: &Identity, bindings: &[(Binding, u32)]) -> Result<Checked, JoinError> {
        let state = &self.state;
        let context = context_of(state, identity);
        let none: [String; 0] = [];
        let params: Vec<[String; 5]> = bindings
            .iter()
            .map(|(b, _)| {
                let (col, op, vals) = match &b.filter {
                    Some(f) => (f.column.clone(), f.op.name().to_string(), super::delivery::text_array(&f.values)),
                    None => (String::new(), String::new(), "{}".to_string()),
                };
                [b.schema.clone(), b.table.clone(), col, op, vals]
            })
            .collect();
        let mut groups: Vec<Vec<Step>> = Vec::with_capacity(1 + bindings.len());
        let mut first = context_steps(state, &context);
        first.push(Step::new(LSN_SQL, &none));
        groups.push(first);
        for ((b, _), p) in bindings.iter().zip(&params) {
            if b.problem.is_none() {
                let mut g = context_steps(state, &context);
                g.push(Step::new(SUBSCRIBE_SQL, p));
                groups.push(g);
            }
        }
        let unavailable = |e: crate::db::DbError| JoinError::Unavailable(e.to_string());
        let mut conn = Lease::get(&state.pool).await.map_err(unavailable)?;
        let replies = conn.pipeline_groups(&groups).await.map_err(unavailable)?;
        let mut replies = replies.into_iter();
        let head = replies.next().ok_or_else(|| JoinError::Unavailable("no reply".into()))?;
        if let Some(e) = &head.error {
            return Err(match verdict_of_error(e) {
                super::delivery::Verdict::Revoked(why) => JoinError::InvalidToken(why),
                _ => JoinError::Unavailable(e.message.clone()),
            });
        }
        let lsn_at = head.rows.len() - 1;
        let lsn = head.rows[lsn_at].first().and_then(|r| r.text(0).ok().flatten()).and_then(parse_lsn);
        let start_lsn =
            self.state.realtime.floor().or(lsn).ok_or_else(|| JoinError::Unavailable("no WAL position".into()))?;
        let mut tables = Vec::with_capacity(bindings.len());
        for (b, _) in bindings {
            if let Some(p) = &b.problem {
                tables.push(Err(p.clone()));
                continue;
            }
            let Some(r) = replies.next() else { return Err(JoinError::Unavailable("missing reply".into())) };
            tables.push(match &r.error {
                Some(e) => Err(format!("Unable to subscribe to changes with given parameters: {}", e.message)),
                None => {
                    let text = r
                        .rows
                        .last()
                        .and_then(|rows| rows.first())
                        .and_then(|row| row.text(0).ok().flatten())
                        .unwrap_or("[]");
                    let found: Vec<Value> = serde_json::from_str(text).unwrap_or_default();
                    Ok(found.iter().filter_map(|t| t.get("oid").and_then(Value::as_u64)).map(|o| o as u32).collect())
                }
            });
        }
        Ok(Checked { start_lsn, tables })
    }

    /// Registers the channel's subscriptions; returns the per-binding problems.
    fn register(&self, ch: &Channel, checked: &Checked) -> Vec<String> {
        let topic_json: Arc<str> = Value::String(ch.topic.clone()).to_string().into();
        let mut subs = Vec::new();
        let mut problems = Vec::new();
        for ((b, id), tables) in ch.bindings.iter().zip(&checked.tables) {
            match tables {
                Err(why) => problems.push(why.clone()),
                Ok(tables) => subs.extend(tables.iter().map(|&table| {
                    Arc::new(Subscription {
                        table,
                        channel: ch.id,
                        binding_id: *id,
                        events: b.events,
                        filter: b.filter.clone(),
                        identity: ch.identity.clone(),
                        start_lsn: ch.start_lsn,
                        topic_json: topic_json.clone(),
                        outbox: self.outbox.clone(),
                    })
                })),
            }
        }
        if let Ok(mut r) = self.state.realtime.registry.write() {
            r.set_channel(ch.id, subs);
        }
        problems
    }

    pub(super) async fn join(&mut self, m: Inbound) -> Vec<String> {
        let mut frames = Vec::new();
        // A second join of a joined topic ends the first (Phoenix).
        if let Some(old) = self.drop_channel(&m.topic) {
            frames.push(self.close_frame(&old));
        }
        match self.try_join(&m).await {
            Ok(mut more) => frames.append(&mut more),
            Err(e) => frames.push(self.reply(&m, "error", json!({"reason": e.reason()}))),
        }
        frames
    }

    async fn try_join(&mut self, m: &Inbound) -> Result<Vec<String>, JoinError> {
        match m.topic.strip_prefix("realtime:") {
            Some(name) if !name.is_empty() => {}
            _ => return Err(JoinError::TopicNameRequired),
        }
        if self.channels.len() >= self.state.realtime.settings.max_channels {
            return Err(JoinError::TooManyChannels);
        }
        let request = join::parse(&m.payload);
        if request.legacy {
            return Err(JoinError::Legacy);
        }
        // A new-style API key (`sb_…`) is not a token: the connection's apikey stands in, as Supabase.
        let token = request.access_token.filter(|t| !t.starts_with("sb_")).unwrap_or_else(|| self.apikey.clone());
        let verified = self.verify(&token)?;
        let bindings: Vec<(Binding, u32)> =
            request.bindings.into_iter().map(|b| (b, self.state.realtime.next_id() as u32)).collect();
        let checked = self.check(&verified.identity, &bindings).await?;
        let ch = Channel {
            id: self.state.realtime.next_id(),
            join_ref: m.join_ref.clone().or_else(|| m.reference.clone()),
            topic: m.topic.clone(),
            identity: verified.identity,
            token,
            expires: verified.expires,
            broadcast_ack: request.broadcast_ack,
            bindings,
            start_lsn: checked.start_lsn,
        };
        let problems = self.register(&ch, &checked);
        let echo: Vec<Value> = ch
            .bindings
            .iter()
            .map(|(b, id)| {
                let mut o = b.echo.clone();
                o.insert("id".into(), (*id).into());
                Value::Object(o)
            })
            .collect();
        let mut frames = vec![self.reply(m, "ok", json!({"postgres_changes": echo}))];
        if ch.bindings.len() > problems.len() {
            frames.push(self.system(&ch, "postgres_changes", "ok", "Subscribed to PostgreSQL"));
        }
        for p in problems {
            frames.push(self.system(&ch, "postgres_changes", "error", &p));
        }
        self.channels.insert(ch.topic.clone(), ch);
        Ok(frames)
    }

    /// `access_token` on a joined channel: later changes are checked with the new token; a token
    /// that fails closes the channel (system error, `phx_close`). No reply, as Supabase.
    pub(super) async fn access_token(&mut self, m: Inbound) -> Vec<String> {
        let Some(token) = m.payload.get("access_token").and_then(Value::as_str).map(str::to_string) else {
            return vec![];
        };
        let Some(ch) = self.channels.get(&m.topic) else { return vec![] };
        if token.is_empty() || token.starts_with("sb_") || token == ch.token {
            return vec![];
        }
        let bindings = ch.bindings.clone();
        let result = match self.verify(&token) {
            Ok(v) => self.check(&v.identity, &bindings).await.map(|c| (v, c)),
            Err(e) => Err(e),
        };
        match result {
            Ok((verified, checked)) => {
                let Some(ch) = self.channels.get_mut(&m.topic) else { return vec![] };
                ch.identity = verified.identity;
                ch.expires = verified.expires;
                ch.token = token;
                let Some(ch) = self.channels.get(&m.topic) else { return vec![] };
                // The start LSN stays: nothing committed since the join is skipped.
                let checked = Checked { start_lsn: ch.start_lsn, tables: checked.tables };
                let problems = self.register(ch, &checked);
                problems.iter().map(|p| self.system(ch, "postgres_changes", "error", p)).collect()
            }
            Err(e) => {
                let Some(ch) = self.drop_channel(&m.topic) else { return vec![] };
                let message = match e {
                    JoinError::InvalidToken(why) => why,
                    other => other.reason(),
                };
                vec![self.system(&ch, "system", "error", &message), self.close_frame(&ch)]
            }
        }
    }
}

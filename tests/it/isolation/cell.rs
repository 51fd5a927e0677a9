//! The cells of the isolation matrix (`matrix.rs`): which row of each table a cell aims at, the
//! bodies it sends, what the answer and the tables must be afterwards, and the audit rows an
//! allowed write adds.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::{json, Value};

use super::*;

/// Tables whose writes the `audit` trigger records.
pub const AUDITED: [&str; 10] = [
    "organizations",
    "memberships",
    "invitations",
    "projects",
    "tasks",
    "org_models",
    "org_entitlements",
    "platform_settings",
    "models",
    "plans",
];

/// The audited tables of the platform itself: their entries go to the nil org.
const PLATFORM_AUDITED: [&str; 3] = ["platform_settings", "models", "plans"];
const NIL_ORG: &str = "00000000-0000-0000-0000-000000000000";

/// The views of the matrix: read only (writes are 405), their rows follow other tables.
pub const VIEWS: [&str; 2] = ["org_usage", "access_report"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Org {
    A,
    B,
}

impl Org {
    pub fn id(self) -> &'static str {
        match self {
            Org::A => ORG_A,
            Org::B => ORG_B,
        }
    }
    pub fn pick(self, a: &'static str, b: &'static str) -> &'static str {
        match self {
            Org::A => a,
            Org::B => b,
        }
    }
}

pub struct Line {
    pub deny: &'static str,
    pub cells: HashMap<Actor, &'static str>,
}

/// The key of the row the matrix aims at in `table` for `org`.
pub fn target_key(table: &str, org: Org) -> Value {
    match table {
        "platform_settings" => json!({"id": true}),
        "organizations" => json!({"id": org.id()}),
        "memberships" => json!({"org_id": org.id(), "user_id": org.pick(TARGET_A, TARGET_B)}),
        "invitations" => json!({"org_id": org.id(), "id": org.pick(INV_A, INV_B)}),
        "projects" => json!({"org_id": org.id(), "id": org.pick(PROJ2_A, PROJ2_B)}),
        "tasks" => json!({"org_id": org.id(), "id": org.pick(TASK_A, TASK_B)}),
        "models" => json!({"id": org.pick(MODEL_A, MODEL_B)}),
        "org_models" => json!({"org_id": org.id(), "model_id": org.pick(MODEL_A, MODEL_B)}),
        "audit_log" => json!({"org_id": org.id(), "id": org.pick(AUDIT_A, AUDIT_B)}),
        "plans" => json!({"id": org.pick("plan_a", "plan_b")}),
        "usage_counters" => json!({"org_id": org.id(), "counter": "members"}),
        "org_entitlements" => json!({"org_id": org.id(), "model_id": org.pick(MODEL_A, MODEL_B)}),
        "org_usage" => json!({"org_id": org.id()}),
        "access_report" => {
            json!({"org_id": org.id(), "user_id": org.pick(OWNER_A, OWNER_B), "model_id": org.pick(MODEL_A, MODEL_B)})
        }
        other => panic!("no target in {other}"),
    }
}

/// A new row for `org`.
pub fn post_body(table: &str, org: Org) -> Value {
    let o = org.id();
    match table {
        "platform_settings" => json!({"auto_activate_new_orgs": false}),
        "organizations" => json!({"name": "posted org"}),
        "memberships" => json!({"org_id": o, "user_id": NEWBIE, "role": "viewer"}),
        "invitations" => json!({"org_id": o, "email": "posted@x.test", "role": "viewer", "token_hash": "forged"}),
        "projects" => json!({"org_id": o, "name": "posted"}),
        "tasks" => json!({"org_id": o, "project_id": org.pick(PROJ_A, PROJ_B), "title": "posted"}),
        "models" => json!({"name": "posted-model"}),
        "org_models" => json!({"org_id": o, "model_id": MODEL_FREE}),
        "audit_log" => json!({"org_id": o, "action": "DELETE", "table_name": "tasks", "row_key": {}}),
        "plans" => json!({"id": "posted-plan", "name": "Posted"}),
        "usage_counters" => json!({"org_id": o, "counter": "forged", "used": 1}),
        "org_entitlements" => json!({"org_id": o, "model_id": MODEL_B}),
        "org_usage" => json!({"org_id": o, "name": "forged"}),
        "access_report" => json!({"org_id": o, "role": "owner"}),
        other => panic!("no post body for {other}"),
    }
}

/// The change a PATCH makes to the target row.
pub fn patch_body(table: &str) -> Value {
    match table {
        "platform_settings" => json!({"deletion_grace_period": "7 days"}),
        "organizations" => json!({"name": "patched"}),
        "memberships" => json!({"role": "member"}),
        "invitations" => json!({"role": "member"}),
        "projects" => json!({"name": "patched"}),
        "tasks" => json!({"title": "patched", "done": true}),
        "models" => json!({"name": "patched-model"}),
        "org_models" => json!({"created_at": "2001-01-01T00:00:00+00:00"}),
        "audit_log" => json!({"action": "DELETE"}),
        "plans" => json!({"name": "patched"}),
        "usage_counters" => json!({"used": 0}),
        "org_entitlements" => json!({"expires_at": "2100-01-01T00:00:00+00:00"}),
        "org_usage" => json!({"name": "patched"}),
        "access_report" => json!({"role": "viewer"}),
        other => panic!("no patch body for {other}"),
    }
}

/// An upsert meeting the target row: its key plus a change.
pub fn upsert_body(table: &str, org: Org) -> Value {
    let mut body = target_key(table, org);
    let change = match table {
        "platform_settings" => json!({"deletion_grace_period": "9 days"}),
        "organizations" => json!({"name": "upserted"}),
        "memberships" => json!({"role": "member"}),
        "invitations" => json!({"email": "upserted@x.test", "role": "member", "token_hash": "forged"}),
        "projects" => json!({"name": "upserted"}),
        "tasks" => json!({"project_id": org.pick(PROJ_A, PROJ_B), "title": "upserted"}),
        "models" => json!({"name": "upserted-model"}),
        "org_models" => json!({}),
        "audit_log" => json!({"action": "DELETE", "table_name": "tasks", "row_key": {}}),
        "plans" => json!({"name": "upserted"}),
        "usage_counters" => json!({"used": 99}),
        "org_entitlements" => json!({"expires_at": "2100-01-01T00:00:00+00:00"}),
        "org_usage" => json!({"name": "upserted"}),
        "access_report" => json!({"role": "viewer"}),
        other => panic!("no upsert body for {other}"),
    };
    merge(&mut body, &change);
    body
}

pub fn merge(into: &mut Value, change: &Value) {
    let into = into.as_object_mut().expect("an object");
    for (k, v) in change.as_object().expect("an object") {
        into.insert(k.clone(), v.clone());
    }
}

pub fn filter_of(key: &Value) -> String {
    let parts: Vec<String> = key
        .as_object()
        .expect("a key object")
        .iter()
        .map(|(k, v)| match v {
            Value::String(s) => format!("{k}=eq.{s}"),
            other => format!("{k}=eq.{other}"),
        })
        .collect();
    parts.join("&")
}

pub fn matches_key(row: &Value, key: &Value) -> bool {
    key.as_object().expect("a key object").iter().all(|(k, v)| &row[k] == v)
}

pub fn contains(row: &Value, fields: &Value) -> bool {
    fields.as_object().expect("an object").iter().all(|(k, v)| &row[k] == v)
}

/// Equal as multisets of rows.
pub fn same_rows(a: &[Value], b: &[Value]) -> bool {
    let mut rest: Vec<&Value> = b.iter().collect();
    a.len() == b.len()
        && a.iter().all(|row| match rest.iter().position(|r| *r == row) {
            Some(i) => {
                rest.swap_remove(i);
                true
            }
            None => false,
        })
}

pub fn array(v: &Value) -> Vec<Value> {
    v.as_array().unwrap_or_else(|| panic!("an array: {v}")).clone()
}

pub struct Cell<'a> {
    pub table: &'static str,
    pub method: &'static str,
    pub actor: Actor,
    pub org: Org,
    pub allowed: bool,
    pub deny: &'static str,
    pub snapshot: &'a HashMap<&'static str, Vec<Value>>,
    /// Sent through the gateway without the pre-request check (`World::without_pre_request`).
    pub direct: Option<&'a Gateway>,
}

impl Cell<'_> {
    pub fn name(&self) -> String {
        format!(
            "{} {} as {} on org {:?}'s row ({}{})",
            self.table,
            self.method,
            self.actor.column(),
            self.org,
            if self.allowed { "allowed" } else { "denied" },
            if self.direct.is_some() { ", without the pre-request check" } else { "" }
        )
    }

    pub fn target(&self) -> Value {
        let key = target_key(self.table, self.org);
        self.snapshot[self.table]
            .iter()
            .find(|r| matches_key(r, &key))
            .unwrap_or_else(|| panic!("{}: target {key} not seeded", self.table))
            .clone()
    }

    /// The target row after an allowed PATCH or upsert.
    pub fn changed_target(&self) -> Value {
        let mut row = self.target();
        let change = match self.method {
            "PATCH" => patch_body(self.table),
            _ => upsert_body(self.table, self.org),
        };
        merge(&mut row, &change);
        row
    }

    pub async fn send(&self, w: &World) -> Reply {
        let key = target_key(self.table, self.org);
        let (method, path, body, prefer) = match self.method {
            "GET" => (Method::GET, format!("/{}?{}", self.table, filter_of(&key)), None, None),
            "POST" => (Method::POST, format!("/{}", self.table), Some(post_body(self.table, self.org)), None),
            "PATCH" => {
                (Method::PATCH, format!("/{}?{}", self.table, filter_of(&key)), Some(patch_body(self.table)), None)
            }
            "DELETE" => (Method::DELETE, format!("/{}?{}", self.table, filter_of(&key)), None, None),
            "UPSERT" => (
                Method::POST,
                format!("/{}", self.table),
                Some(upsert_body(self.table, self.org)),
                Some("return=representation,resolution=merge-duplicates"),
            ),
            other => panic!("method {other}"),
        };
        let prefer = prefer.unwrap_or("return=representation");
        let body = body.map(|b| b.to_string());
        let g = self.direct.unwrap_or(&w.g);
        w.call_on(g, self.actor, method, &path, &[("prefer", prefer)], body.as_deref()).await
    }

    /// What is wrong with the response, if anything.
    pub fn check_response(&self, r: &Reply) -> Option<String> {
        let body: Option<Value> = serde_json::from_str(&r.body).ok();
        let code = body.as_ref().and_then(|b| b.get("code")).and_then(Value::as_str).unwrap_or("");
        let (want_status, ok) = if self.deny == "405" && self.method != "GET" {
            // A view PostgreSQL cannot write: refused by the planner, for everyone.
            (405, code == "55000")
        } else if self.actor == Actor::Anon {
            (401, code == "42501")
        } else if self.actor == Actor::Service && !self.allowed {
            let kind = if VIEWS.contains(&self.table) { "view" } else { "table" };
            let by_grant = message(r) == format!("permission denied for {kind} {}", self.table);
            (403, code == "42501" && (self.direct.is_none() || by_grant))
        } else if !self.allowed {
            match (self.method, self.deny) {
                ("GET", _) | ("PATCH" | "DELETE", "[]") => (200, body == Some(json!([]))),
                _ => (403, code == "42501"),
            }
        } else {
            match self.method {
                // A view's row follows the tables behind it, which other lanes change meanwhile:
                // exactly the target row, by its key.
                "GET" if VIEWS.contains(&self.table) => {
                    let key = target_key(self.table, self.org);
                    let rows = body.as_ref().and_then(Value::as_array);
                    (200, rows.is_some_and(|rows| rows.len() == 1 && matches_key(&rows[0], &key)))
                }
                "GET" | "DELETE" => (200, body == Some(json!([self.target()]))),
                "PATCH" | "UPSERT" => (200, body == Some(json!([self.changed_target()]))),
                "POST" => {
                    let posted = post_body(self.table, self.org);
                    let rows = body.as_ref().and_then(Value::as_array);
                    (201, rows.is_some_and(|rows| rows.len() == 1 && contains(&rows[0], &posted)))
                }
                other => panic!("method {other}"),
            }
        };
        (r.status != want_status || !ok)
            .then(|| format!("{}: expected {want_status}, got {} {}", self.name(), r.status, r.body))
    }

    /// What the lane's tables must hold right after the request.
    pub fn expected(&self, table: &str) -> Expect {
        let seeded = self.snapshot[table].clone();
        if !self.allowed || self.method == "GET" {
            return Expect::Rows(seeded);
        }
        let target = self.target();
        if table == "usage_counters" {
            // A member, project or task added or removed counts in its org's usage.
            let counter = match self.table {
                "memberships" => "members",
                "projects" => "projects",
                "tasks" => "tasks",
                _ => "",
            };
            let delta = match self.method {
                "POST" => 1,
                "DELETE" => -1,
                _ => 0,
            };
            if !counter.is_empty() && delta != 0 {
                return Expect::Counted(seeded, self.org.id(), counter, delta);
            }
        }
        if table != self.table {
            // Deleting a model deletes its entitlements (and what was enabled of it).
            return match (self.table, self.method) {
                ("models", "DELETE") => {
                    Expect::Rows(seeded.into_iter().filter(|r| r["model_id"] != target["id"]).collect())
                }
                _ => Expect::Rows(seeded),
            };
        }
        match self.method {
            "POST" => Expect::PlusOne(seeded, post_body(self.table, self.org)),
            "DELETE" => Expect::Rows(seeded.into_iter().filter(|r| *r != target).collect()),
            _ => {
                let changed = self.changed_target();
                Expect::Rows(seeded.into_iter().map(|r| if r == target { changed.clone() } else { r }).collect())
            }
        }
    }

    /// The audit rows an allowed write adds: `(table, action, org, actor)`.
    pub fn audit(&self) -> Vec<(String, String, String, String)> {
        if !self.allowed || self.method == "GET" {
            return vec![];
        }
        let user = self.actor.user().expect("signed in").to_string();
        let action = match self.method {
            "POST" => "INSERT",
            "DELETE" => "DELETE",
            _ => "UPDATE",
        };
        let mut out = vec![];
        if AUDITED.contains(&self.table) {
            // The platform's tables log to the nil org (read by the super admin only).
            let org = if PLATFORM_AUDITED.contains(&self.table) { NIL_ORG } else { self.org.id() };
            out.push((self.table.to_string(), action.to_string(), org.to_string(), user.clone()));
        }
        if (self.table, self.method) == ("models", "DELETE") {
            for cascaded in ["org_models", "org_entitlements"] {
                out.push((cascaded.to_string(), "DELETE".to_string(), self.org.id().to_string(), user.clone()));
            }
        }
        out
    }
}

pub enum Expect {
    Rows(Vec<Value>),
    /// The seeded rows and one more, holding these fields.
    PlusOne(Vec<Value>, Value),
    /// The seeded usage counters, but for this org's counter moved by this much.
    Counted(Vec<Value>, &'static str, &'static str, i64),
}

impl Expect {
    pub fn holds(&self, now: &[Value]) -> bool {
        match self {
            Expect::Counted(rows, org, counter, delta) => {
                let is_it = |r: &Value| r["org_id"] == json!(org) && r["counter"] == json!(counter);
                now.len() == rows.len()
                    && rows.iter().all(|seeded| match is_it(seeded) {
                        true => now
                            .iter()
                            .any(|r| is_it(r) && r["used"].as_i64() == seeded["used"].as_i64().map(|u| u + delta)),
                        false => now.contains(seeded),
                    })
            }
            Expect::Rows(rows) => same_rows(rows, now),
            Expect::PlusOne(rows, fields) => {
                let extra: Vec<&Value> = now.iter().filter(|r| !rows.contains(r)).collect();
                now.len() == rows.len() + 1 && extra.len() == 1 && contains(extra[0], fields)
            }
        }
    }
}

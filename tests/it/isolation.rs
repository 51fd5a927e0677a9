//! Tenant isolation over HTTP (issue 5 point 4, SPEC §6): the reference schema's isolation matrix
//! and its edges (embedding, RPCs, counts, response headers, error messages, pooled connections),
//! and how users join orgs (invitations, invite links, `create_organization`),
//! exercised with real credentials — access tokens from `/auth/v1` password sign-in and API tokens
//! from `api.create_api_token` — asserting the allowed and the denied outcome, and checking the
//! database as the superuser afterwards.
//!
//! The world: orgs A and B active, S suspended, P pending; owner/admin/member/viewer in A and in B
//! (plus a viewer in each that only serves as a target row), a user in no org, a user who joins
//! nothing but is a membership payload, the super admin, a `service_role` token, and two API
//! tokens of org A (member and viewer ceilings) created by A's owner.

mod cell;
mod counts;
mod embedding;
mod errors;
mod headers;
mod leak;
mod matrix;
mod onboarding;
mod rpcs;

use std::collections::HashMap;

use reqwest::Method;
use rowgate::config::ServeArgs;
use serde_json::{json, Value};

use crate::harness::*;

pub use crate::tenants::{
    ADMIN_A, LONER, MEMBER_A, MODEL_A, MODEL_B, MODEL_FREE, ORG_A, ORG_B, ORG_P, ORG_S, OWNER_A, OWNER_B, PROJ2_A,
    PROJ_A, PROJ_B, SUPER, TASK_A, TASK_B, VIEWER_A,
};

/// A viewer of A who never acts: the membership row the matrix aims at.
pub const TARGET_A: &str = "a0000000-0000-0000-0000-000000000005";
pub const ADMIN_B: &str = "b0000000-0000-0000-0000-000000000002";
pub const MEMBER_B: &str = "b0000000-0000-0000-0000-000000000003";
pub const VIEWER_B: &str = "b0000000-0000-0000-0000-000000000004";
pub const TARGET_B: &str = "b0000000-0000-0000-0000-000000000005";
/// In no org either; the user that membership inserts name.
pub const NEWBIE: &str = "e0000000-0000-0000-0000-000000000002";

/// Projects without tasks: the rows the matrix writes (a delete cascades to nothing).
pub const PROJ2_B: &str = "1b000000-0000-0000-0000-000000000002";
pub const TASK_B2: &str = "2b000000-0000-0000-0000-000000000002";
pub const TASK_B3: &str = "2b000000-0000-0000-0000-000000000003";
pub const INV_A: &str = "3a000000-0000-0000-0000-000000000001";
pub const INV_B: &str = "3b000000-0000-0000-0000-000000000001";
pub const AUDIT_A: &str = "4a000000-0000-0000-0000-000000000001";
pub const AUDIT_B: &str = "4b000000-0000-0000-0000-000000000001";

pub const PASSWORD: &str = "isolation-pw";

/// Every value of org B a response to one of A's actors must never contain.
pub const B_SECRETS: [&str; 16] = [
    ORG_B, OWNER_B, ADMIN_B, MEMBER_B, VIEWER_B, TARGET_B, PROJ_B, PROJ2_B, TASK_B, TASK_B2, TASK_B3, INV_B, AUDIT_B,
    "beta", "b-task", "Org B",
];

/// On top of the shared tenant world and its suspended and pending orgs: the rest of B's people,
/// a target viewer in A and in B, a second user in no org, a second (task-less) project in each of
/// A and B, two more tasks in B, an invitation and an audit row in each, two plans (the rows the
/// matrix aims at in api.plans).
const WORLD: &str = r#"
insert into auth.users (id, email) values
  ('a0000000-0000-0000-0000-000000000005', 'target@a.test'),
  ('b0000000-0000-0000-0000-000000000002', 'admin@b.test'),
  ('b0000000-0000-0000-0000-000000000003', 'member@b.test'),
  ('b0000000-0000-0000-0000-000000000004', 'viewer@b.test'),
  ('b0000000-0000-0000-0000-000000000005', 'target@b.test'),
  ('e0000000-0000-0000-0000-000000000002', 'newbie@x.test');
insert into api.memberships (org_id, user_id, role) values
  ('0a000000-0000-0000-0000-000000000000', 'a0000000-0000-0000-0000-000000000005', 'viewer'),
  ('0b000000-0000-0000-0000-000000000000', 'b0000000-0000-0000-0000-000000000002', 'admin'),
  ('0b000000-0000-0000-0000-000000000000', 'b0000000-0000-0000-0000-000000000003', 'member'),
  ('0b000000-0000-0000-0000-000000000000', 'b0000000-0000-0000-0000-000000000004', 'viewer'),
  ('0b000000-0000-0000-0000-000000000000', 'b0000000-0000-0000-0000-000000000005', 'viewer');
insert into api.projects (org_id, id, name) values
  ('0a000000-0000-0000-0000-000000000000', '1a000000-0000-0000-0000-000000000002', 'alpha-2'),
  ('0b000000-0000-0000-0000-000000000000', '1b000000-0000-0000-0000-000000000002', 'beta-2');
insert into api.tasks (org_id, id, project_id, title) values
  ('0b000000-0000-0000-0000-000000000000', '2b000000-0000-0000-0000-000000000002', '1b000000-0000-0000-0000-000000000001', 'b-task-2'),
  ('0b000000-0000-0000-0000-000000000000', '2b000000-0000-0000-0000-000000000003', '1b000000-0000-0000-0000-000000000001', 'b-task-3');
insert into api.invitations (org_id, id, email, role, token_hash) values
  ('0a000000-0000-0000-0000-000000000000', '3a000000-0000-0000-0000-000000000001', 'invitee@a.test', 'viewer', 'hash-of-a'),
  ('0b000000-0000-0000-0000-000000000000', '3b000000-0000-0000-0000-000000000001', 'invitee@b.test', 'viewer', 'hash-of-b');
insert into api.plans (id, name, max_members) values ('plan_a', 'Plan A', 50), ('plan_b', 'Plan B', 50);
insert into api.audit_log (org_id, id, action, table_name, row_key) values
  ('0a000000-0000-0000-0000-000000000000', '4a000000-0000-0000-0000-000000000001', 'INSERT', 'projects', '{"note": "a"}'),
  ('0b000000-0000-0000-0000-000000000000', '4b000000-0000-0000-0000-000000000001', 'INSERT', 'projects', '{"note": "b"}');
"#;

/// Who sends a request. `Service` holds a JWT with `role: service_role` signed with the test
/// secret (the role automation gets; the SQL suite's `service` actor). `TokenMemberA` /
/// `TokenViewerA` are API tokens of org A (created by A's owner) with the member and viewer
/// ceilings; every other signed-in actor uses the access token of a password sign-in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Actor {
    Anon,
    OwnerA,
    AdminA,
    MemberA,
    ViewerA,
    OwnerB,
    AdminB,
    MemberB,
    ViewerB,
    Loner,
    Super,
    Service,
    TokenMemberA,
    TokenViewerA,
}

impl Actor {
    pub const ALL: [Actor; 14] = [
        Actor::Anon,
        Actor::OwnerA,
        Actor::AdminA,
        Actor::MemberA,
        Actor::ViewerA,
        Actor::OwnerB,
        Actor::AdminB,
        Actor::MemberB,
        Actor::ViewerB,
        Actor::Loner,
        Actor::Super,
        Actor::Service,
        Actor::TokenMemberA,
        Actor::TokenViewerA,
    ];

    /// The matrix's column name.
    pub fn column(self) -> &'static str {
        match self {
            Actor::Anon => "anon",
            Actor::OwnerA => "ownA",
            Actor::AdminA => "admA",
            Actor::MemberA => "memA",
            Actor::ViewerA => "viwA",
            Actor::OwnerB => "ownB",
            Actor::AdminB => "admB",
            Actor::MemberB => "memB",
            Actor::ViewerB => "viwB",
            Actor::Loner => "none",
            Actor::Super => "super",
            Actor::Service => "svc",
            Actor::TokenMemberA => "tokM",
            Actor::TokenViewerA => "tokV",
        }
    }

    /// The actor of the SQL suite (tests/sql/lib/fixture.sql) that stands for this one: the same
    /// role and claims, as the gateway sets them. The SQL suite has no viewer API token.
    pub fn sql_name(self) -> Option<&'static str> {
        Some(match self {
            Actor::Anon => "anon",
            Actor::OwnerA => "owner_a",
            Actor::AdminA => "admin_a",
            Actor::MemberA => "member_a",
            Actor::ViewerA => "viewer_a",
            Actor::OwnerB => "owner_b",
            Actor::AdminB => "admin_b",
            Actor::MemberB => "member_b",
            Actor::ViewerB => "viewer_b",
            Actor::Loner => "loner",
            Actor::Super => "super",
            Actor::Service => "service",
            Actor::TokenMemberA => "token_a",
            Actor::TokenViewerA => return None,
        })
    }

    /// The user behind the actor (the creator for API tokens), as the audit log records it.
    pub fn user(self) -> Option<&'static str> {
        Some(match self {
            Actor::Anon | Actor::Service => return None,
            Actor::OwnerA | Actor::TokenMemberA | Actor::TokenViewerA => OWNER_A,
            Actor::AdminA => ADMIN_A,
            Actor::MemberA => MEMBER_A,
            Actor::ViewerA => VIEWER_A,
            Actor::OwnerB => OWNER_B,
            Actor::AdminB => ADMIN_B,
            Actor::MemberB => MEMBER_B,
            Actor::ViewerB => VIEWER_B,
            Actor::Loner => LONER,
            Actor::Super => SUPER,
        })
    }

    fn email(self) -> Option<&'static str> {
        Some(match self {
            Actor::OwnerA => "owner@a.test",
            Actor::AdminA => "admin@a.test",
            Actor::MemberA => "member@a.test",
            Actor::ViewerA => "viewer@a.test",
            Actor::OwnerB => "owner@b.test",
            Actor::AdminB => "admin@b.test",
            Actor::MemberB => "member@b.test",
            Actor::ViewerB => "viewer@b.test",
            Actor::Loner => "loner@x.test",
            Actor::Super => "root@platform.test",
            Actor::Anon | Actor::Service | Actor::TokenMemberA | Actor::TokenViewerA => return None,
        })
    }
}

/// A seeded gateway (with a signing key, so `/auth/v1` issues access tokens, and the pre-request
/// check, so API tokens and sessions are checked) and every actor's `Authorization` value.
pub struct World {
    pub g: Gateway,
    /// The signing key of `g`'s `/auth/v1` (the access tokens' issuer).
    signing_key: String,
    authorization: HashMap<Actor, String>,
    /// `(id, token)` of the two API tokens.
    pub token_member: (String, String),
    pub token_viewer: (String, String),
}

impl World {
    pub async fn new() -> World {
        World::with(|_| {}).await
    }

    pub async fn with(tweak: impl FnOnce(&mut ServeArgs)) -> World {
        let key = rowgate::auth::signing::SigningKey::generate_jwk().expect("generate a signing key");
        let g = Gateway::start_with(|a| {
            a.jwt_signing_key = Some(key.clone());
            a.db_pre_request = Some("internal.check_request".into());
            tweak(a);
        })
        .await;
        crate::tenants::seed(&g.db, &[crate::tenants::STATUS_ORGS, WORLD, &crate::tenants::passwords(PASSWORD)]).await;

        let sign_ins = Actor::ALL.iter().filter_map(|&a| a.email().map(|e| (a, e))).map(|(actor, email)| {
            let g = &g;
            async move {
                let body = json!({"email": email, "password": PASSWORD}).to_string();
                let r = g.send(Method::POST, "/auth/v1/token?grant_type=password", &[], &body).await;
                assert_eq!(r.status, 200, "password sign-in of {email}: {}", r.body);
                let access = r.json()["access_token"].as_str().expect("an access_token").to_string();
                (actor, format!("Bearer {access}"))
            }
        });
        let mut authorization: HashMap<Actor, String> =
            futures_util::future::join_all(sign_ins).await.into_iter().collect();

        let owner = authorization[&Actor::OwnerA].clone();
        let mint = |role: &'static str| {
            let (g, owner) = (&g, owner.clone());
            async move {
                let args = json!({"org": ORG_A, "name": format!("iso-{role}"), "role": role}).to_string();
                let r = g.send(Method::POST, "/rpc/create_api_token", &[("authorization", &owner)], &args).await;
                assert_eq!(r.status, 200, "create_api_token {role}: {}", r.body);
                let v = r.json();
                let id = v["id"].as_str().expect("token id").to_string();
                let token = v["token"].as_str().expect("token").to_string();
                assert!(token.starts_with("rg_"), "{token}");
                (id, token)
            }
        };
        let token_member = mint("member").await;
        let token_viewer = mint("viewer").await;
        authorization.insert(Actor::TokenMemberA, format!("Bearer {}", token_member.1));
        authorization.insert(Actor::TokenViewerA, format!("Bearer {}", token_viewer.1));
        // A token as an operator mints one for automation: role service_role, the shared secret.
        authorization.insert(Actor::Service, bearer(json!({"role": "service_role", "exp": now() + 3600})));
        World { g, signing_key: key, authorization, token_member, token_viewer }
    }

    /// A second gateway on the world's database, trusting the same keys as the first (so every
    /// actor's token works) but without the pre-request check `internal.check_request`: what a request
    /// meets there is the grants and policies alone, as the SQL suite's actors meet them. (The
    /// check is granted to anon and authenticated only, so with it every `service_role` request
    /// stops at the check itself: 42501 "permission denied for function check_request".)
    pub async fn without_pre_request(&self) -> Gateway {
        let db = TestDb { name: self.g.db.name.clone() };
        let config = config(&db, |a| a.jwt_signing_key = Some(self.signing_key.clone()));
        Gateway::start_on(db, config).await
    }

    /// The actor's `Authorization` header value (None for anonymous).
    pub fn authorization(&self, actor: Actor) -> Option<&str> {
        self.authorization.get(&actor).map(String::as_str)
    }

    /// A request as `actor` with extra headers and an optional JSON body.
    pub async fn call(
        &self,
        actor: Actor,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Reply {
        self.call_on(&self.g, actor, method, path, headers, body).await
    }

    /// `call` through another gateway on the world's database (see `without_pre_request`).
    pub async fn call_on(
        &self,
        g: &Gateway,
        actor: Actor,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Reply {
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        if let Some(a) = self.authorization(actor) {
            all.push(("authorization", a));
        }
        match body {
            Some(b) => g.send(method, path, &all, b).await,
            None => g.request(method, path, &all).await,
        }
    }

    pub async fn get(&self, actor: Actor, path: &str) -> Reply {
        self.call(actor, Method::GET, path, &[], None).await
    }

    /// A write answering with the representation.
    pub async fn write(&self, actor: Actor, method: Method, path: &str, body: Option<&Value>) -> Reply {
        let body = body.map(Value::to_string);
        self.call(actor, method, path, &[("prefer", "return=representation")], body.as_deref()).await
    }

    pub async fn rpc(&self, actor: Actor, function: &str, args: &Value) -> Reply {
        self.call(actor, Method::POST, &format!("/rpc/{function}"), &[], Some(&args.to_string())).await
    }

    /// Rows of `sql` read as the superuser, as one JSON array.
    pub async fn rows(&self, sql: &str) -> Value {
        rows_of(&self.g.db.admin().await, sql).await
    }

    /// Every table of the reference schema as the superuser sees it, by name.
    pub async fn dump(&self) -> Value {
        let db = self.g.db.admin().await;
        let mut out = serde_json::Map::new();
        for t in TABLES {
            out.insert(t.to_string(), dump_table(&db, t, None).await);
        }
        Value::Object(out)
    }
}

/// The exposed tables and views of the reference schema.
pub const TABLES: [&str; 14] = [
    "platform_settings",
    "organizations",
    "memberships",
    "invitations",
    "projects",
    "tasks",
    "models",
    "org_models",
    "audit_log",
    "plans",
    "usage_counters",
    "org_entitlements",
    "org_usage",
    "access_report",
];

pub async fn rows_of(db: &tokio_postgres::Client, sql: &str) -> Value {
    let q = format!("select coalesce(jsonb_agg(t), '[]') from ({sql}) t");
    let row = db.query_one(q.as_str(), &[]).await.unwrap_or_else(|e| panic!("{q}: {e}"));
    row.get(0)
}

/// `api.<table>` as the superuser sees it (optionally filtered), rows ordered by their JSON text.
pub async fn dump_table(db: &impl tokio_postgres::GenericClient, table: &str, filter: Option<&str>) -> Value {
    let filter = filter.map(|f| format!(" where {f}")).unwrap_or_default();
    let q =
        format!("select coalesce(jsonb_agg(to_jsonb(t) order by to_jsonb(t)::text), '[]') from api.{table} t{filter}");
    let row = db.query_one(q.as_str(), &[]).await.unwrap_or_else(|e| panic!("{q}: {e}"));
    row.get(0)
}

/// The `id` (or `key`) values of a JSON array, sorted.
pub fn column(v: &Value, key: &str) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .unwrap_or_else(|| panic!("expected an array, got {v}"))
        .iter()
        .map(|r| match &r[key] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect();
    out.sort();
    out
}

/// What is wrong, if anything, with how a request as `service_role` is answered. It is sent twice:
/// through the world's gateway as deployed, and through `direct` (`World::without_pre_request`).
/// `service_role` holds no privilege on any table or function of `api` (sql/V3 and V6 grant it
/// nothing), as the SQL suite's `service` actor shows: both must refuse it with 403 and code 42501,
/// carry no `Content-Range` and nothing of org B; and PostgreSQL's own message must name the
/// privilege that refused it, `permission denied for <object>` (e.g. `table tasks`, or just
/// `table ` when any table will do), also past the pre-request check, which service_role may run
/// (sql/V11). HEAD answers have no body to check.
pub async fn service_refusal(
    w: &World,
    direct: &Gateway,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
    object: &str,
) -> Vec<String> {
    let mut failures = vec![];
    for (via, g) in [("", &w.g), (" without the pre-request check", direct)] {
        let r = w.call_on(g, Actor::Service, method.clone(), path, headers, body).await;
        let context = format!("svc {method} {path}{via}");
        assert_no_b(&context, &r);
        let by_grant = method == Method::HEAD || {
            let m = message(&r);
            m.starts_with("permission denied for ") && m["permission denied for ".len()..].starts_with(object)
        };
        let code_ok = method == Method::HEAD || error_field(&r, "code") == "42501";
        if r.status != 403 || !code_ok || !by_grant || r.header("content-range").is_some() {
            failures.push(format!(
                "{context}: expected 403 42501 (permission denied for {object}…), got {} {:?} {}",
                r.status,
                r.header("content-range"),
                r.body
            ));
        }
    }
    failures
}

/// The `message` of an error body (empty when there is none).
pub fn message(r: &Reply) -> String {
    error_field(r, "message")
}

/// A string field of an error body (empty when there is none, or the body is no JSON object).
pub fn error_field(r: &Reply, key: &str) -> String {
    serde_json::from_str::<Value>(&r.body)
        .ok()
        .and_then(|v| v.get(key).and_then(Value::as_str).map(str::to_string))
        .unwrap_or_default()
}

/// Fails when any of org B's values appears in the response's headers or body.
pub fn assert_no_b(context: &str, r: &Reply) {
    let headers: Vec<String> =
        r.headers.iter().map(|(k, v)| format!("{k}: {}", String::from_utf8_lossy(v.as_bytes()))).collect();
    for secret in B_SECRETS {
        assert!(!r.body.contains(secret), "{context}: the body reveals {secret:?}: {} {}", r.status, r.body);
        for h in &headers {
            assert!(!h.contains(secret), "{context}: a header reveals {secret:?}: {h}");
        }
    }
}

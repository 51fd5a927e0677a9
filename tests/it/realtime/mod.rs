//! Realtime (`/realtime/v1`, issue 16) against a real PostgreSQL with logical decoding: the
//! protocol with a raw WebSocket client (`protocol.rs`: both serializations, replies, errors,
//! limits), delivery under RLS (`delivery.rs`), the real supabase-js client in node
//! (`supabase_js.rs`), restarts and two instances (`resilience.rs`), and the leak test
//! (`leak.rs`: thousands of changes across 100+ orgs, each delivery checked against SQL).

pub mod client;
mod delivery;
mod leak;
mod predicate;
mod protocol;
mod resilience;
mod supabase_js;

use std::time::Duration;

use rowgate::config::ServeArgs;
use serde_json::json;

use crate::harness::*;

pub use client::Client;

/// A gateway with realtime on, over a database seeded with the tenant world.
pub async fn gateway(db: TestDb, tweak: impl FnOnce(&mut ServeArgs)) -> Gateway {
    let replication = db.replication_url();
    let slot = format!("rt_{}", db.name);
    let cfg = config(&db, |a| {
        a.realtime = Some("on".into());
        a.realtime_db_url = Some(replication);
        a.realtime_slot = Some(slot);
        a.realtime_recheck = Some("1s".into());
        a.realtime_resume_grace = Some("0s".into());
        a.db_pre_request = Some("internal.check_request".into());
        tweak(a);
    });
    let g = Gateway::start_on(db, cfg).await;
    wait_streaming(&g).await;
    g
}

/// A database with the tenant world (tests/it/tenants.rs) and `extra` SQL.
pub async fn world(extra: &[&str]) -> TestDb {
    let db = TestDb::new().await;
    crate::tenants::seed(&db, extra).await;
    db
}

/// Until the gateway streams from its slot (at most 20 s).
pub async fn wait_streaming(g: &Gateway) {
    for _ in 0..400 {
        if g.running.state.realtime.status() == rowgate::realtime::Status::Live {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("realtime never started streaming: {:?}", g.running.state.realtime.status());
}

/// An access token for `user` (role authenticated), valid for `secs`.
pub fn user_token(user: &str, secs: u64) -> String {
    token(json!({"role": "authenticated", "sub": user, "exp": now() + secs}))
}

pub fn anon_key() -> String {
    token(json!({"role": "anon", "exp": now() + 3600}))
}

/// Drops the gateway's slot (a test's database keeps none behind).
pub async fn drop_slot(g: &Gateway) {
    let slot = g.running.state.realtime.slot();
    let admin = g.db.admin().await;
    for _ in 0..50 {
        let r = admin
            .query("select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = $1 and not active", &[&slot])
            .await;
        let gone = admin
            .query("select 1 from pg_replication_slots where slot_name = $1", &[&slot])
            .await
            .map(|r| r.is_empty());
        if r.is_ok() && gone.unwrap_or(false) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

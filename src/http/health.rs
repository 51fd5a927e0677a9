//! `/health` on the admin listener: a JSON report for operators and monitors — the database
//! (reachable, round-trip latency, migration version), the schema cache (loaded, age, size), the
//! pool, the maintenance job's interval, and realtime's change capture (state, slot, lag). 200 when the instance can serve (as `/ready`), 503 otherwise. The Caddyfile exposes
//! only its status publicly, through `/ready`.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::db::pool::Lease;
use crate::db::wire::Step;
use crate::state::AppState;

/// The report and whether the instance is ready.
pub async fn report(state: &AppState) -> (bool, Value) {
    let database = database(state).await;
    let reachable = database["reachable"] == json!(true);
    let cache = state.schema.load();
    let loaded = cache.is_some();
    let ready = reachable && loaded;
    let pool = state.pool.status();
    let body = json!({
        "status": if ready { "ok" } else { "unavailable" },
        "version": env!("CARGO_PKG_VERSION"),
        "database": database,
        "schema_cache": {
            "loaded": loaded,
            "age_seconds": state.metrics.schema_age().map(|a| (a.as_secs_f64() * 10.0).round() / 10.0),
            "relations": cache.as_ref().map(|c| c.relation_count()),
        },
        "pool": {"max": pool.max_size, "open": pool.size, "idle": pool.available, "waiting": pool.waiting},
        "maintenance": {"interval_seconds": state.config.maintenance_interval.map(|d| d.as_secs())},
        "realtime": realtime_slot_lag(state),
    });
    (ready, body)
}

/// A pooled connection's round trip, and the newest applied migration (`internal.migration_version()`,
/// NULL on a database without the reference schema); 2 s at most.
async fn database(state: &AppState) -> Value {
    let started = Instant::now();
    let check = async {
        let mut conn = Lease::get(&state.pool).await.map_err(|e| e.to_string())?;
        let none: &[String] = &[];
        let replies = conn.pipeline(&[Step::new("select internal.migration_version()", none)]).await;
        let replies = replies.map_err(|e| e.to_string())?;
        // Another schema than the reference one has no such function: the database still answered.
        let version = match replies.error {
            None => replies.rows.first().and_then(|r| r.first()).and_then(|row| row.int(0).ok().flatten()),
            Some(_) => None,
        };
        Ok::<_, String>(version)
    };
    match tokio::time::timeout(Duration::from_secs(2), check).await {
        Ok(Ok(version)) => json!({
            "reachable": true,
            "latency_ms": (started.elapsed().as_secs_f64() * 1e5).round() / 100.0,
            "migration_version": version,
        }),
        Ok(Err(e)) => json!({"reachable": false, "error": e}),
        Err(_) => json!({"reachable": false, "error": "no answer within 2 s"}),
    }
}

/// Realtime's change capture: its state, its slot and the slot's lag in bytes (sampled every
/// 5 s by the capture; `null` until measured), the open connections and channels.
fn realtime_slot_lag(state: &AppState) -> Value {
    use crate::realtime::Status;
    let hub = &state.realtime;
    let (status, reason) = match hub.status() {
        Status::Starting => ("starting", None),
        Status::Live => ("live", None),
        Status::Reconnecting(why) => ("reconnecting", Some(why)),
        Status::Off(why) => ("off", Some(why)),
    };
    let lag = state.metrics.realtime.slot_lag();
    let (channels, subscriptions) = hub.counts();
    json!({
        "status": status,
        "reason": reason,
        // Off: no slot is used, whatever name it would have.
        "slot": Some(hub.slot()).filter(|s| !s.is_empty() && status != "off"),
        "slot_lag_bytes": (lag >= 0).then_some(lag),
        "connections": hub.connection_count(),
        "channels": channels,
        "subscriptions": subscriptions,
    })
}

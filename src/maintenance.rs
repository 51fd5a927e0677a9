//! Background jobs on the database, on timers, each on a connection of its own (as the schema
//! loader's): the maintenance run (`internal.run_maintenance`: purging orgs past their deletion
//! grace period, pruning expired auth rows) every `ROWGATE_MAINTENANCE_INTERVAL`, and the tenant
//! gauge (`internal.tenant_gauges`) every 30 s for `/metrics`. Which instance runs maintenance is
//! decided in SQL: an advisory lock lets one run at a time, and a run is skipped when any
//! instance ran one less than an interval ago, so N instances run it once per interval.

use std::sync::Arc;
use std::time::Duration;

use crate::observe::TenantCount;
use crate::state::AppState;

/// How often the tenant gauge is read.
pub const GAUGE_INTERVAL: Duration = Duration::from_secs(30);

/// This process, as `internal.maintenance_runs.instance` records it.
pub fn instance_name(state: &AppState) -> String {
    let host = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_string()).unwrap_or_default();
    format!("{host} pid {} admin {}", std::process::id(), state.config.admin_listen)
}

/// Runs maintenance every `every` for as long as rowgate runs (the first attempt after a short
/// spread, so instances started together do not all ask at once).
pub async fn run_every(state: Arc<AppState>, every: Duration) {
    let instance = instance_name(&state);
    let spread = Duration::from_millis(u64::from(std::process::id() % 1000));
    tokio::time::sleep(spread.min(every / 2)).await;
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match run_once(&state, &instance, every).await {
            Ok(Some(report)) if report.get("ran").and_then(serde_json::Value::as_bool) == Some(true) => {
                tracing::info!(%report, "maintenance ran");
            }
            Ok(Some(report)) => tracing::debug!(%report, "maintenance skipped"),
            Ok(None) => {
                tracing::info!(
                    "no internal.run_maintenance() in the database (not the reference schema): no maintenance"
                );
                return;
            }
            Err(e) => tracing::warn!("maintenance failed: {e}"),
        }
    }
}

/// One maintenance attempt: what `internal.run_maintenance` answered (`{"ran": false, …}` when
/// another instance holds the job or ran it within `every`); `None` when the database has no
/// such function (a schema other than the reference schema).
pub async fn run_once(state: &AppState, instance: &str, every: Duration) -> Result<Option<serde_json::Value>, String> {
    let client = state.pg_target.connect().await.map_err(|e| crate::db::error::with_causes(&e))?;
    let row = match client
        .query_one(
            "select internal.run_maintenance($1, $2::float8 * interval '1 second')::text",
            &[&instance, &every.as_secs_f64()],
        )
        .await
    {
        Ok(row) => row,
        Err(e) if missing(&e) => return Ok(None),
        Err(e) => return Err(crate::db::error::with_causes(&e)),
    };
    serde_json::from_str(row.get::<_, &str>(0)).map(Some).map_err(|e| e.to_string())
}

/// The function (or its schema) does not exist: not the reference schema.
fn missing(e: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::SqlState;
    matches!(e.code(), Some(c) if *c == SqlState::UNDEFINED_FUNCTION || *c == SqlState::INVALID_SCHEMA_NAME)
}

/// Reads the tenant gauge every [`GAUGE_INTERVAL`] for as long as rowgate runs.
pub async fn refresh_gauges(state: Arc<AppState>) {
    let mut tick = tokio::time::interval(GAUGE_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match refresh_gauges_once(&state).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => tracing::debug!("tenant gauge not refreshed: {e}"),
        }
    }
}

/// Orgs by status and plan, from the database into the metrics; `false` when the database has
/// no `internal.tenant_gauges()` (not the reference schema).
pub async fn refresh_gauges_once(state: &AppState) -> Result<bool, String> {
    let client = state.pg_target.connect().await.map_err(|e| crate::db::error::with_causes(&e))?;
    let row = match client.query_one("select internal.tenant_gauges()::text", &[]).await {
        Ok(row) => row,
        Err(e) if missing(&e) => return Ok(false),
        Err(e) => return Err(crate::db::error::with_causes(&e)),
    };
    let counts: Vec<TenantCount> = serde_json::from_str(row.get::<_, &str>(0)).map_err(|e| e.to_string())?;
    state.metrics.set_tenants(counts);
    Ok(true)
}

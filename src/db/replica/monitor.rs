//! Samples positions for the routing rule: the primary's current WAL position, then each
//! replica's replayed position, every [`SAMPLE_EVERY`], over connections of their own. A
//! replica that does not answer as a standby is marked down (reads go to the primary) and
//! logged once; it is used again as soon as it answers.

use std::sync::Arc;
use std::time::Instant;

use super::{parse_lsn, Replicas, SAMPLE_EVERY};
use crate::tls::PgTarget;

/// Runs for as long as rowgate does.
pub async fn monitor(primary: PgTarget, replicas: Arc<Replicas>) {
    let mut primary_conn = None;
    let mut replica_conns: Vec<Option<tokio_postgres::Client>> = replicas.replicas.iter().map(|_| None).collect();
    let mut tick = tokio::time::interval(SAMPLE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let taken = Instant::now();
        if let Some(lsn) = query_lsn(&primary, &mut primary_conn, "select pg_current_wal_lsn()::text").await {
            replicas.record_sample(taken, lsn);
        }
        for (r, conn) in replicas.replicas.iter().zip(replica_conns.iter_mut()) {
            let replayed = query_lsn(&r.target, conn, "select pg_last_wal_replay_lsn()::text").await;
            let now = Instant::now();
            match replayed {
                Some(lsn) => {
                    r.replayed.store(lsn, std::sync::atomic::Ordering::Relaxed);
                    let lag = replicas.lag_of(lsn, now);
                    r.lag_ms.store(lag.as_millis() as u64, std::sync::atomic::Ordering::Relaxed);
                    if !r.up.swap(true, std::sync::atomic::Ordering::Relaxed) {
                        tracing::info!(replica = %r.name, lag_ms = lag.as_millis() as u64, "read replica answers; reads may go to it");
                    }
                }
                None => {
                    if r.up.swap(false, std::sync::atomic::Ordering::Relaxed) {
                        tracing::warn!(replica = %r.name, "read replica does not answer as a standby; reads go to the primary");
                    }
                }
            }
        }
    }
}

/// One position, reconnecting when needed; `None` on any failure (or NULL: not a standby).
async fn query_lsn(target: &PgTarget, conn: &mut Option<tokio_postgres::Client>, sql: &str) -> Option<u64> {
    if conn.as_ref().is_none_or(|c| c.is_closed()) {
        *conn = tokio::time::timeout(SAMPLE_EVERY * 10, target.connect()).await.ok()?.ok();
    }
    let client = conn.as_ref()?;
    let row = match tokio::time::timeout(SAMPLE_EVERY * 10, client.query_one(sql, &[])).await {
        Ok(Ok(row)) => row,
        _ => {
            *conn = None;
            return None;
        }
    };
    parse_lsn(row.try_get::<_, Option<&str>>(0).ok()??)
}

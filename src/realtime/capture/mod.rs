//! Change capture: one replication connection (`db::wire::replication`) streams the publication
//! `rowgate_realtime` through this instance's own logical slot with pgoutput; [`run`] decodes it
//! (`pgoutput.rs`), hands committed transactions to the delivery, and confirms the slot up to
//! what was delivered. The slot is permanent, so a broken connection or a PostgreSQL restart
//! resumes where the last confirmation left it (transactions already delivered by this process
//! are skipped by the delivery); a slot that is missing or lost is recreated and every channel is
//! told to rejoin. Without what logical decoding needs (wal_level, the role, the publication),
//! realtime turns off with one log line and the rest of rowgate carries on.

pub mod pgoutput;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{BufMut, BytesMut};
use tokio::sync::mpsc;

use super::error::CaptureError;
use super::Status;
use crate::db::wire::replication::ReplicationConn;
use crate::db::DbError;
use crate::state::AppState;
use crate::tls::PgTarget;
use pgoutput::{parse_lsn, Assembler, Stream, Transaction, PG_EPOCH_US};

/// How often the slot is told what was delivered.
const STATUS_INTERVAL: Duration = Duration::from_secs(1);

/// Runs capture until rowgate stops or realtime turns off.
pub async fn run(state: Arc<AppState>, tx: mpsc::Sender<Transaction>) {
    let hub = &state.realtime;
    let target = match hub.settings.db_url.as_deref().map(PgTarget::from_url) {
        None => {
            return off(&state, "ROWGATE_REALTIME_DB_URL is not set (a role with REPLICATION; see docs/realtime.md)")
        }
        Some(Err(e)) => return off(&state, &format!("ROWGATE_REALTIME_DB_URL: {}", e.problem)),
        Some(Ok(t)) => t,
    };
    let mut stop = hub.stopping();
    let mut delay = Duration::from_millis(500);
    let mut first = true;
    loop {
        // The session watches `stop` itself, so that it confirms what was delivered before it goes.
        match session(&state, &target, &tx, first).await {
            Err(CaptureError::Off(why)) => return off(&state, &why),
            Err(CaptureError::Stopped) | Ok(()) => return,
            Err(e) => {
                tracing::warn!(error = %e, retry_ms = delay.as_millis() as u64, "realtime: replication connection lost; reconnecting");
                hub.set_status(Status::Reconnecting(e.to_string()));
                state.metrics.realtime.set_live(false);
            }
        }
        first = false;
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stop.changed() => return,
        }
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}

fn off(state: &AppState, why: &str) {
    tracing::warn!("realtime is off: {why}; everything else works");
    state.realtime.set_status(Status::Off(why.to_string()));
    state.metrics.realtime.set_live(false);
}

fn db(e: DbError) -> CaptureError {
    CaptureError::Db(e.to_string())
}

/// Whether a failure to connect or to start means realtime cannot work here at all.
fn fatal(e: &DbError) -> Option<String> {
    let text = e.to_string();
    match e {
        DbError::Server(s) if s.code == "42501" => {
            Some(format!("the replication role may not replicate ({})", s.message))
        }
        DbError::Unavailable(m) if m.contains("42501") || m.contains("28000") || m.contains("28P01") => {
            Some(format!("cannot open a replication connection: {m}"))
        }
        DbError::Server(s) if s.code == "55000" || s.message.contains("wal_level") => {
            Some(format!("logical decoding is unavailable: {}", s.message))
        }
        _ if text.contains("must be superuser or replication role") => Some(text),
        _ => None,
    }
}

fn quoted(slot: &str) -> String {
    // valid_slot() allows [a-z0-9_] only: nothing to escape.
    format!("\"{slot}\"")
}

/// One replication connection, from connect to the first error.
async fn session(
    state: &AppState,
    target: &PgTarget,
    tx: &mpsc::Sender<Transaction>,
    first: bool,
) -> Result<(), CaptureError> {
    let hub = &state.realtime;
    let slot = hub.slot();
    if !super::valid_slot(&slot) {
        return Err(CaptureError::Off(format!("ROWGATE_REALTIME_SLOT {slot:?}: use [a-z0-9_], at most 63 characters")));
    }
    if *hub.stopping().borrow() {
        return Err(CaptureError::Stopped);
    }
    let mut conn = match ReplicationConn::open(target).await {
        Ok(c) => c,
        Err(e) => return Err(fatal(&e).map_or_else(|| db(e), CaptureError::Off)),
    };
    let one = |rows: Vec<Vec<Option<String>>>| rows.into_iter().next().and_then(|r| r.into_iter().next()).flatten();
    let wal_level = one(conn.query("SHOW wal_level").await.map_err(db)?).unwrap_or_default();
    if wal_level != "logical" {
        return Err(CaptureError::Off(format!(
            "wal_level is {wal_level:?}; realtime needs wal_level = logical (postgresql.conf, then restart PostgreSQL)"
        )));
    }
    let published =
        conn.query("select 1 from pg_catalog.pg_publication where pubname = 'rowgate_realtime'").await.map_err(db)?;
    if published.is_empty() {
        return Err(CaptureError::Off(
            "the publication rowgate_realtime does not exist (run `rowgate migrate`)".into(),
        ));
    }
    let existing = conn
        .query(&format!(
            "select confirmed_flush_lsn::text, coalesce(wal_status, ''), pg_catalog.pg_current_wal_insert_lsn()::text \
               from pg_catalog.pg_replication_slots where slot_name = '{slot}' and database = pg_catalog.current_database()"
        ))
        .await
        .map_err(db)?;
    let existing = existing.into_iter().next();
    let lost = existing.as_ref().is_some_and(|r| r.get(1).cloned().flatten().as_deref() == Some("lost"));
    if lost {
        conn.query(&format!("select pg_catalog.pg_drop_replication_slot('{slot}')")).await.map_err(db)?;
    }
    if existing.is_none() || lost {
        let created =
            conn.query(&format!("CREATE_REPLICATION_SLOT {} LOGICAL pgoutput NOEXPORT_SNAPSHOT", quoted(&slot))).await;
        if let Err(e) = created {
            return Err(fatal(&e).map_or_else(|| db(e), CaptureError::Off));
        }
        tracing::info!(slot, "realtime: replication slot created");
        // Changes between the old slot's end and the new one's start are gone: channels rejoin.
        if !first || lost {
            tracing::warn!(slot, "realtime: the replication slot was lost; channels are told to rejoin");
            hub.rejoin_all();
        }
    } else if let Some(row) = existing.filter(|_| first && !hub.settings.resume_grace.is_zero()) {
        let confirmed = row.first().cloned().flatten().and_then(|l| parse_lsn(&l));
        let current = row.get(2).cloned().flatten().and_then(|l| parse_lsn(&l));
        if let (Some(confirmed), Some(current)) = (confirmed, current) {
            if confirmed < current {
                // Clients of the previous run rejoin within a few seconds (realtime-js retries after
                // 1, 2, 5 s): subscribe them from where the slot stands, so they get what they missed.
                hub.set_floor(Some(confirmed));
                tracing::info!(
                    slot,
                    grace_ms = hub.settings.resume_grace.as_millis() as u64,
                    "realtime: resuming after a restart"
                );
                let mut stop = hub.stopping();
                tokio::select! {
                    _ = tokio::time::sleep(hub.settings.resume_grace) => {}
                    _ = stop.changed() => return Err(CaptureError::Stopped),
                }
            }
        }
    }
    conn.start(&format!(
        "START_REPLICATION SLOT {} LOGICAL 0/0 (proto_version '1', publication_names '\"rowgate_realtime\"')",
        quoted(&slot)
    ))
    .await
    .map_err(|e| fatal(&e).map_or_else(|| db(e), CaptureError::Off))?;
    hub.set_floor(None);
    hub.set_status(Status::Live);
    state.metrics.realtime.set_live(true);
    tracing::info!(slot, "realtime: streaming changes");
    stream(state, &mut conn, tx).await
}

/// Reads the stream, sends transactions on, confirms what was delivered.
async fn stream(
    state: &AppState,
    conn: &mut ReplicationConn,
    tx: &mpsc::Sender<Transaction>,
) -> Result<(), CaptureError> {
    let hub = &state.realtime;
    let mut assembler = Assembler::default();
    let mut received = 0u64;
    let mut handed_over = 0u64;
    let mut idle_end = 0u64;
    let mut tick = tokio::time::interval(STATUS_INTERVAL);
    let mut stop = hub.stopping();
    loop {
        let data = tokio::select! {
            d = conn.recv() => d.map_err(db)?,
            _ = tick.tick() => {
                status_update(conn, hub.delivered(), handed_over, idle_end, received, false).await?;
                continue;
            }
            _ = stop.changed() => {
                // What was delivered is confirmed before the connection goes.
                status_update(conn, hub.delivered(), handed_over, idle_end, received, false).await?;
                return Err(CaptureError::Stopped);
            }
        };
        match pgoutput::stream(data)? {
            Stream::Keepalive { wal_end, reply } => {
                idle_end = wal_end;
                received = received.max(wal_end);
                if reply {
                    status_update(conn, hub.delivered(), handed_over, idle_end, received, false).await?;
                }
            }
            Stream::XLogData { wal_end, data } => {
                received = received.max(wal_end);
                if let Some(t) = assembler.feed(pgoutput::message(data)?)? {
                    handed_over = t.end_lsn;
                    state.metrics.realtime.changes_decoded(t.changes.len() as u64);
                    if tx.send(t).await.is_err() {
                        return Err(CaptureError::Stopped);
                    }
                }
            }
        }
    }
}

/// Standby status update: written = what arrived; flushed and applied = what was delivered, or
/// the idle stream position when everything handed over has been delivered.
async fn status_update(
    conn: &mut ReplicationConn,
    delivered: u64,
    handed_over: u64,
    idle_end: u64,
    received: u64,
    reply: bool,
) -> Result<(), CaptureError> {
    let confirmed = if delivered >= handed_over { delivered.max(idle_end) } else { delivered };
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64) - PG_EPOCH_US;
    let mut b = BytesMut::with_capacity(34);
    b.put_u8(b'r');
    b.put_u64(received.max(confirmed));
    b.put_u64(confirmed);
    b.put_u64(confirmed);
    b.put_i64(now);
    b.put_u8(u8::from(reply));
    conn.send(&b).await.map_err(db)
}

/// Every 5 s: how far the slot is behind the WAL (`rowgate_realtime_slot_lag_bytes`).
pub async fn monitor(state: Arc<AppState>) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tick.tick().await;
        if matches!(state.realtime.status(), Status::Off(_)) {
            return;
        }
        let slot = state.realtime.slot();
        let lag = async {
            let mut conn = crate::db::pool::Lease::get(&state.pool).await.ok()?;
            let params = [slot];
            let steps = [crate::db::wire::Step::new(
                "select pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), confirmed_flush_lsn)::bigint \
                   from pg_catalog.pg_replication_slots where slot_name = $1",
                &params,
            )];
            let replies = conn.pipeline(&steps).await.ok()?;
            replies.rows.first()?.first()?.int(0).ok()?
        };
        if let Ok(Some(lag)) = tokio::time::timeout(Duration::from_secs(2), lag).await {
            state.metrics.realtime.set_slot_lag(lag);
        }
    }
}

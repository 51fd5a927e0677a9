//! Realtime's settings (`ROWGATE_REALTIME*`), validated here; `realtime::Hub` reads them.

use std::time::Duration;

use super::parse::{boolean, database_url, duration, err, positive};
use super::{ConfigError, ServeArgs};

#[derive(Debug, Clone)]
pub struct RealtimeSettings {
    /// `ROWGATE_REALTIME`: off refuses `/realtime/v1` and decodes nothing.
    pub enabled: bool,
    /// `ROWGATE_REALTIME_DB_URL`: the replication connection (a role with REPLICATION).
    pub db_url: Option<String>,
    /// `ROWGATE_REALTIME_SLOT`: this instance's replication slot (default derived from the host
    /// name and the API address, so each instance has its own and keeps it across restarts).
    pub slot: Option<String>,
    /// `ROWGATE_REALTIME_QUEUE`: frames one connection may have waiting; a client that lets more
    /// pile up is disconnected.
    pub queue: usize,
    /// `ROWGATE_REALTIME_RECHECK`: how often the channels' tokens are re-checked in SQL (revoked
    /// sessions and API tokens close their channels).
    pub recheck: Duration,
    /// `ROWGATE_REALTIME_RESUME_GRACE`: after a start with changes waiting in the slot, how long
    /// joins are subscribed from the slot's position (clients rejoining after a restart receive
    /// what they missed) before streaming starts.
    pub resume_grace: Duration,
    /// Largest client message (bytes); larger ones close the connection with 1009.
    pub max_message_bytes: usize,
    /// Channels one connection may join.
    pub max_channels: usize,
}

impl Default for RealtimeSettings {
    fn default() -> Self {
        RealtimeSettings {
            enabled: true,
            db_url: None,
            slot: None,
            queue: 1024,
            recheck: Duration::from_secs(10),
            resume_grace: Duration::from_secs(5),
            max_message_bytes: 1024 * 1024,
            max_channels: 100,
        }
    }
}

pub(super) fn resolve(a: &ServeArgs) -> Result<RealtimeSettings, ConfigError> {
    let d = RealtimeSettings::default();
    let slot = a.realtime_slot.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    if let Some(s) = &slot {
        if s.len() > 63 || !s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            return Err(err(
                "ROWGATE_REALTIME_SLOT",
                format!("use lowercase letters, digits and _ (at most 63), got {s:?}"),
            ));
        }
    }
    let recheck = match &a.realtime_recheck {
        Some(v) => duration("ROWGATE_REALTIME_RECHECK", v)?,
        None => d.recheck,
    };
    if recheck.is_zero() {
        return Err(err("ROWGATE_REALTIME_RECHECK", "must be more than 0"));
    }
    Ok(RealtimeSettings {
        enabled: a.realtime.is_none() || boolean("ROWGATE_REALTIME", a.realtime.clone())?,
        db_url: database_url(a.realtime_db_url.clone()).map_err(|e| err("ROWGATE_REALTIME_DB_URL", e.problem))?,
        slot,
        queue: match &a.realtime_queue {
            Some(v) => positive("ROWGATE_REALTIME_QUEUE", v)? as usize,
            None => d.queue,
        },
        recheck,
        resume_grace: match &a.realtime_resume_grace {
            Some(v) => duration("ROWGATE_REALTIME_RESUME_GRACE", v)?,
            None => d.resume_grace,
        },
        ..d
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_refusals() {
        let r = resolve(&ServeArgs::default()).unwrap();
        assert!(r.enabled && r.db_url.is_none() && r.queue == 1024);
        let a = ServeArgs {
            realtime: Some("off".into()),
            realtime_slot: Some("rt_a1".into()),
            realtime_recheck: Some("2s".into()),
            ..Default::default()
        };
        let r = resolve(&a).unwrap();
        assert!(!r.enabled);
        assert_eq!((r.slot.as_deref(), r.recheck), (Some("rt_a1"), Duration::from_secs(2)));
        for bad in [
            ServeArgs { realtime_slot: Some("Bad-Slot".into()), ..Default::default() },
            ServeArgs { realtime_queue: Some("0".into()), ..Default::default() },
            ServeArgs { realtime_recheck: Some("0s".into()), ..Default::default() },
            ServeArgs { realtime: Some("maybe".into()), ..Default::default() },
        ] {
            assert!(resolve(&bad).is_err());
        }
    }
}

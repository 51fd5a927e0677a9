//! Read replicas (`ROWGATE_DB_READ_URL`): a pool per replica, and the rule that decides whether
//! a read may go to one. A replica serves a read when it answers, is within
//! `ROWGATE_DB_READ_MAX_LAG` of the primary, and — read-your-writes — has replayed past the
//! primary's WAL position of a moment after the reading subject's last write. Otherwise the
//! read goes to the primary. The positions come from `monitor.rs`, which samples the primary's
//! `pg_current_wal_lsn()` and each replica's `pg_last_wal_replay_lsn()` a few times a second, so
//! no request pays for them. The rule knows nothing of tenants: a subject is the token's `sub`.

mod monitor;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub use monitor::monitor;

use super::pool::{build_pool, Pool};
use crate::config::ReplicaSettings;
use crate::tls::PgTarget;

/// How often positions are sampled.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(50);

/// One replica: its pool and what the monitor last saw of it.
pub struct Replica {
    /// `host:port (database d, user u)`, for logs and metric labels.
    pub name: String,
    pub pool: Pool,
    target: PgTarget,
    /// It answered the monitor's last query as a standby.
    up: AtomicBool,
    /// Its `pg_last_wal_replay_lsn()`.
    replayed: AtomicU64,
    /// How long ago the primary was first past what it has replayed (0: caught up), in ms.
    lag_ms: AtomicU64,
}

impl Replica {
    pub fn up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    pub fn lag(&self) -> Duration {
        Duration::from_millis(self.lag_ms.load(Ordering::Relaxed))
    }
}

/// Why a read that could have gone to a replica went to the primary after all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// No replica is up and within the lag limit.
    NoneUsable,
    /// The subject wrote recently and no replica has replayed it yet.
    ReadYourWrites,
    /// The replica failed the request (connection lost or refused): retried on the primary.
    ReplicaFailed,
    /// The replica's pre-request check refused the token (a session or API token it has not
    /// replayed yet): retried on the primary, which decides.
    Unauthenticated,
}

impl Fallback {
    pub const ALL: [Fallback; 4] =
        [Fallback::NoneUsable, Fallback::ReadYourWrites, Fallback::ReplicaFailed, Fallback::Unauthenticated];

    pub fn as_str(self) -> &'static str {
        match self {
            Fallback::NoneUsable => "none_usable",
            Fallback::ReadYourWrites => "read_your_writes",
            Fallback::ReplicaFailed => "replica_failed",
            Fallback::Unauthenticated => "unauthenticated",
        }
    }
}

pub struct Replicas {
    pub replicas: Vec<Replica>,
    max_lag: Duration,
    window: Duration,
    next: AtomicUsize,
    /// `(taken just before asking, primary LSN)`, oldest first, for `window` + `max_lag`.
    samples: Mutex<VecDeque<(Instant, u64)>>,
    /// Each subject's last write (its completion), for `window`.
    writes: Mutex<HashMap<String, Instant>>,
    /// Reads served by `[primary, replica]`.
    pub reads: [AtomicU64; 2],
    pub fallbacks: [AtomicU64; Fallback::ALL.len()],
}

impl Replicas {
    /// One pool per URL (connections open lazily); `None` without replicas.
    pub fn new(settings: &ReplicaSettings, pool_size: usize, timeout: Duration) -> Result<Option<Replicas>, String> {
        if settings.urls.is_empty() {
            return Ok(None);
        }
        let mut replicas = Vec::with_capacity(settings.urls.len());
        for url in &settings.urls {
            let target = PgTarget::from_url(url).map_err(|e| e.problem)?;
            replicas.push(Replica {
                name: target.describe(),
                pool: build_pool(url, pool_size, timeout)?,
                target,
                up: AtomicBool::new(false),
                replayed: AtomicU64::new(0),
                lag_ms: AtomicU64::new(u64::MAX),
            });
        }
        Ok(Some(Replicas {
            replicas,
            max_lag: settings.max_lag,
            window: settings.read_your_writes,
            next: AtomicUsize::new(0),
            samples: Mutex::new(VecDeque::new()),
            writes: Mutex::new(HashMap::new()),
            reads: [AtomicU64::new(0), AtomicU64::new(0)],
            fallbacks: std::array::from_fn(|_| AtomicU64::new(0)),
        }))
    }

    /// The replica a read by `subject` may go to, or why it goes to the primary.
    pub fn choose(&self, subject: &str) -> Result<&Replica, Fallback> {
        let needed = self.needed_lsn(subject).map_err(|()| Fallback::ReadYourWrites)?;
        let n = self.replicas.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let mut behind = false;
        for i in 0..n {
            let r = &self.replicas[(start + i) % n];
            if !r.up() || r.lag() > self.max_lag {
                continue;
            }
            if r.replayed.load(Ordering::Relaxed) >= needed {
                return Ok(r);
            }
            behind = true;
        }
        Err(if behind { Fallback::ReadYourWrites } else { Fallback::NoneUsable })
    }

    /// The position a replica must have replayed for `subject`: 0 without a recent write; the
    /// first primary sample taken after the write; `Err` while there is none yet.
    fn needed_lsn(&self, subject: &str) -> Result<u64, ()> {
        let wrote = {
            let writes = self.writes.lock().unwrap_or_else(|e| e.into_inner());
            match writes.get(subject) {
                Some(t) if t.elapsed() < self.window => *t,
                _ => return Ok(0),
            }
        };
        let samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        samples.iter().find(|(taken, _)| *taken > wrote).map(|(_, lsn)| *lsn).ok_or(())
    }

    /// `subject`'s write has committed on the primary.
    pub fn wrote(&self, subject: &str) {
        let now = Instant::now();
        let mut writes = self.writes.lock().unwrap_or_else(|e| e.into_inner());
        // Bounded by the subjects that wrote within the window.
        if writes.len() >= 4096 && writes.len().is_power_of_two() {
            writes.retain(|_, t| now.duration_since(*t) < self.window);
        }
        writes.insert(subject.to_string(), now);
    }

    pub fn count_read(&self, on_replica: bool) {
        self.reads[usize::from(on_replica)].fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_fallback(&self, why: Fallback) {
        self.fallbacks[why as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// The replica failed a request: no more reads until the monitor sees it answer again.
    pub fn failed(&self, replica: &Replica, error: &str) {
        if replica.up.swap(false, Ordering::Relaxed) {
            tracing::warn!(replica = %replica.name, %error, "read replica failed a request; reads go to the primary until it answers again");
        }
    }

    /// Forgets prepared statements on every replica (the schema changed).
    pub fn forget_prepared_statements(&self) {
        for r in &self.replicas {
            r.pool.manager().forget_prepared_statements();
        }
    }

    fn record_sample(&self, taken: Instant, lsn: u64) {
        let mut samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        samples.push_back((taken, lsn));
        let keep = self.window + self.max_lag + Duration::from_secs(1);
        while samples.front().is_some_and(|(t, _)| taken.duration_since(*t) > keep) {
            samples.pop_front();
        }
    }

    /// How long ago the primary was first past `replayed` (zero when it never was, in the
    /// samples kept).
    fn lag_of(&self, replayed: u64, now: Instant) -> Duration {
        let samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        samples.iter().find(|(_, lsn)| *lsn > replayed).map_or(Duration::ZERO, |(t, _)| now.duration_since(*t))
    }
}

/// `0/16B3748` → its 64-bit position.
pub fn parse_lsn(text: &str) -> Option<u64> {
    let (hi, lo) = text.split_once('/')?;
    Some((u64::from_str_radix(hi, 16).ok()? << 32) | u64::from_str_radix(lo, 16).ok()?)
}

#[cfg(test)]
mod tests;

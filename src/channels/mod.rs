//! What realtime's connections, capture and delivery share, without I/O: the Phoenix-channel
//! frames (`protocol/`), the subscriptions (`registry.rs`), the errors a client sees
//! (`error.rs`), and the [`Hub`] holding them (in `AppState`). The tasks that move changes and
//! frames are in the `realtime` module.

pub mod error;
pub mod protocol;
pub mod registry;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::watch;

use registry::{Out, Outbox, Registry};

pub use crate::config::RealtimeSettings as Settings;

/// Whether changes flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Starting,
    /// Streaming from the slot.
    Live,
    /// The replication connection broke; retrying (subscriptions stay, nothing is lost while the
    /// slot lives).
    Reconnecting(String),
    /// Off for good, with the reason logged once.
    Off(String),
}

/// What the connections, the capture and the delivery share.
pub struct Hub {
    pub settings: Settings,
    slot: Mutex<String>,
    status: Mutex<Status>,
    pub(crate) registry: RwLock<Registry>,
    /// Set during the resume grace: joins start from the slot's confirmed position.
    floor: Mutex<Option<u64>>,
    /// End LSN of the last transaction delivered (what the slot may be confirmed up to).
    delivered: AtomicU64,
    next_id: AtomicU64,
    conns: Mutex<HashMap<u64, Arc<Outbox>>>,
    stop: watch::Sender<bool>,
}

impl Hub {
    pub fn new(settings: Settings) -> Hub {
        let status = if settings.enabled { Status::Starting } else { Status::Off("ROWGATE_REALTIME=off".into()) };
        Hub {
            settings,
            slot: Mutex::new(String::new()),
            status: Mutex::new(status),
            registry: RwLock::new(Registry::default()),
            floor: Mutex::new(None),
            delivered: AtomicU64::new(0),
            next_id: AtomicU64::new(1),
            conns: Mutex::new(HashMap::new()),
            stop: watch::channel(false).0,
        }
    }

    pub fn status(&self) -> Status {
        self.status.lock().map(|s| s.clone()).unwrap_or(Status::Off("poisoned".into()))
    }

    pub(crate) fn set_status(&self, s: Status) {
        if let Ok(mut g) = self.status.lock() {
            *g = s;
        }
    }

    pub(crate) fn set_slot(&self, name: String) {
        if let Ok(mut s) = self.slot.lock() {
            *s = name;
        }
    }

    pub fn slot(&self) -> String {
        self.slot.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// A fresh id for connections, channels and binding ids (never 0: realtime-js ignores falsy ids).
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// The LSN a join starts from during the resume grace, if it is on.
    pub fn floor(&self) -> Option<u64> {
        self.floor.lock().ok().and_then(|f| *f)
    }

    pub(crate) fn set_floor(&self, lsn: Option<u64>) {
        if let Ok(mut f) = self.floor.lock() {
            *f = lsn;
        }
    }

    pub(crate) fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::SeqCst)
    }

    pub(crate) fn set_delivered(&self, lsn: u64) {
        self.delivered.fetch_max(lsn, Ordering::SeqCst);
    }

    pub(crate) fn add_conn(&self, id: u64, outbox: Arc<Outbox>) {
        if let Ok(mut c) = self.conns.lock() {
            c.insert(id, outbox);
        }
    }

    pub(crate) fn remove_conn(&self, id: u64) {
        if let Ok(mut c) = self.conns.lock() {
            c.remove(&id);
        }
    }

    pub fn connection_count(&self) -> usize {
        self.conns.lock().map(|c| c.len()).unwrap_or(0)
    }

    /// `(channels, subscriptions)`.
    pub fn counts(&self) -> (usize, usize) {
        self.registry.read().map(|r| (r.channel_count(), r.subscription_count())).unwrap_or((0, 0))
    }

    /// Every channel is told `phx_error` and forgotten: changes may have been lost (the slot was
    /// recreated), so the clients rejoin and get a fresh SUBSCRIBED.
    pub(crate) fn rejoin_all(&self) {
        let channels = match self.registry.write() {
            Ok(mut r) => {
                let all = r.channels();
                for s in &all {
                    r.remove_channel(s.channel);
                }
                all
            }
            Err(_) => return,
        };
        for s in channels {
            s.outbox.push(Out::Error { channel: s.channel });
        }
    }

    /// Stops streaming (the slot is confirmed up to what was delivered) and closes every
    /// WebSocket with 1012, so clients reconnect to another instance or to this one restarted.
    pub fn shutdown(&self) {
        let _ = self.stop.send(true);
        let conns: Vec<Arc<Outbox>> = self.conns.lock().map(|c| c.values().cloned().collect()).unwrap_or_default();
        for c in conns {
            c.push(Out::Shutdown);
        }
    }

    pub(crate) fn stopping(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }
}

/// The default slot name: `rowgate_rt_` and a hash of the host name and the API address.
pub fn default_slot(api_addr: std::net::SocketAddr) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let key = format!("{}|{api_addr}", host.trim());
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    format!("rowgate_rt_{hash:016x}")
}

/// A slot name PostgreSQL accepts and rowgate can quote without escaping: `[a-z0-9_]{1,63}`.
pub fn valid_slot(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_names() {
        let a = default_slot("127.0.0.1:3000".parse().unwrap());
        let b = default_slot("127.0.0.1:3001".parse().unwrap());
        assert_ne!(a, b);
        assert_eq!(a, default_slot("127.0.0.1:3000".parse().unwrap()), "stable across restarts");
        assert!(valid_slot(&a));
        assert!(!valid_slot("Bad-Name") && !valid_slot("") && !valid_slot(&"a".repeat(64)));
    }
}

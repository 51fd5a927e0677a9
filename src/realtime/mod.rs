//! Realtime: Supabase-Realtime-compatible `postgres_changes` at `/realtime/v1/websocket`
//! (docs/realtime.md). The parts, in the order a change travels:
//!
//! ```text
//! PostgreSQL ─ pgoutput over a replication slot ─▶ capture/ (decode, one task)
//!   ─ committed transactions ─▶ delivery/ (batch; per table one statement for the row images and
//!     filters; per subscriber identity one transaction that runs the table's SELECT policies over
//!     the images as that role with those claims — the rule is PostgreSQL's, functions/realtime.sql)
//!   ─ frames ─▶ each connection's bounded queue ─▶ socket.rs (one task per WebSocket)
//! ```
//!
//! `upgrade.rs` turns `GET /realtime/v1/websocket` into a connection, `socket.rs` runs it,
//! `channel.rs` handles joins, leaves and token changes. What they share without I/O lives one
//! level down, in `crate::channels` (so `AppState` can hold it): the Phoenix frames
//! (`channels/protocol/`), the subscriptions (`channels/registry.rs`) and the [`Hub`].
//! [`spawn`] starts the background tasks.

pub mod capture;
mod channel;
pub mod delivery;
mod socket;
pub mod upgrade;

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::state::AppState;

pub use crate::channels::{default_slot, error, protocol, registry, valid_slot, Hub, Settings, Status};

/// Starts capture, delivery and the token re-check; none when realtime is off.
pub fn spawn(state: Arc<AppState>, api_addr: std::net::SocketAddr) -> Vec<JoinHandle<()>> {
    let hub = &state.realtime;
    if !hub.settings.enabled {
        return Vec::new();
    }
    hub.set_slot(hub.settings.slot.clone().unwrap_or_else(|| default_slot(api_addr)));
    let (tx, rx) = mpsc::channel(1024);
    vec![
        tokio::spawn(capture::run(state.clone(), tx)),
        tokio::spawn(delivery::run(state.clone(), rx)),
        tokio::spawn(delivery::recheck::run(state.clone())),
        tokio::spawn(capture::monitor(state)),
    ]
}

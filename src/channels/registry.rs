//! Who is subscribed to what: every live `postgres_changes` subscription (one per binding and
//! published table it names), indexed by table for the delivery of a batch and by channel for
//! joins, leaves and token changes. A table's list is copied on write, so a batch takes it with
//! one `Arc` clone and never holds the lock while it talks to PostgreSQL.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, Notify};

use super::protocol::filter::Filter;
use super::protocol::join::Events;
use super::protocol::Vsn;

pub type ChannelId = u64;

/// What a connection's task is handed: frames to write, or a decision about one of its channels.
#[derive(Debug)]
pub enum Out {
    Text(String),
    /// The channel ends: an optional `system` error message, then `phx_close` (token expired or
    /// revoked). realtime-js drops the channel and reports CLOSED.
    Close {
        channel: ChannelId,
        message: Option<String>,
    },
    /// The channel crashed from the client's point of view (`phx_error`): realtime-js rejoins.
    /// Sent when changes may have been lost (the replication slot was lost).
    Error {
        channel: ChannelId,
    },
    /// A `postgres_changes` system error that leaves the channel open.
    ChangesError {
        channel: ChannelId,
        message: String,
    },
    /// Close the WebSocket (server shutting down: 1012, clients reconnect).
    Shutdown,
}

/// The sending half of one connection's bounded queue.
pub struct Outbox {
    tx: mpsc::Sender<Out>,
    /// Woken when the queue is full: the connection is cut (a client that stops reading never
    /// makes the gateway buffer without bound).
    pub(crate) kill: Notify,
    killed: AtomicBool,
    pub vsn: Vsn,
}

impl Outbox {
    pub fn new(capacity: usize, vsn: Vsn) -> (Arc<Outbox>, mpsc::Receiver<Out>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        (Arc::new(Outbox { tx, kill: Notify::new(), killed: AtomicBool::new(false), vsn }), rx)
    }

    /// Queues `out` without waiting; `false` if the connection is gone or was cut for being slow.
    pub fn push(&self, out: Out) -> bool {
        match self.tx.try_send(out) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                if !self.killed.swap(true, Ordering::SeqCst) {
                    self.kill.notify_one();
                }
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// Queues a frame for a subscriber: when the queue is full, waits up to `grace` for room (a
    /// batch larger than the queue reaches a client that reads), then cuts the connection.
    pub async fn push_within(&self, out: Out, grace: std::time::Duration) -> bool {
        if self.was_killed() {
            return false;
        }
        match self.tx.try_send(out) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Closed(_)) => false,
            Err(mpsc::error::TrySendError::Full(out)) => match tokio::time::timeout(grace, self.tx.send(out)).await {
                Ok(Ok(())) => true,
                Ok(Err(_)) => false,
                Err(_) => {
                    if !self.killed.swap(true, Ordering::SeqCst) {
                        self.kill.notify_one();
                    }
                    false
                }
            },
        }
    }

    pub fn was_killed(&self) -> bool {
        self.killed.load(Ordering::SeqCst)
    }
}

/// The role and claims a subscriber is checked with: one REST request's identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    pub role: Arc<str>,
    pub claims: Arc<str>,
}

/// One binding on one published table.
#[derive(Debug)]
pub struct Subscription {
    pub table: u32,
    pub channel: ChannelId,
    /// The `id` the join reply gave this binding.
    pub binding_id: u32,
    pub events: Events,
    pub filter: Option<Filter>,
    pub identity: Arc<Identity>,
    /// Changes whose commit record is at or after this LSN are delivered (read at join time).
    pub start_lsn: u64,
    /// `"realtime:<name>"` as a JSON string.
    pub topic_json: Arc<str>,
    pub outbox: Arc<Outbox>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox").field("vsn", &self.vsn).finish_non_exhaustive()
    }
}

pub type TableSubs = Arc<Vec<Arc<Subscription>>>;

#[derive(Default)]
pub struct Registry {
    by_table: HashMap<u32, TableSubs>,
    by_channel: HashMap<ChannelId, Vec<Arc<Subscription>>>,
}

impl Registry {
    /// Replaces the channel's subscriptions (a join, or a new token on a joined channel).
    pub fn set_channel(&mut self, channel: ChannelId, subs: Vec<Arc<Subscription>>) {
        self.remove_channel(channel);
        let mut tables: Vec<u32> = subs.iter().map(|s| s.table).collect();
        tables.sort_unstable();
        tables.dedup();
        for t in tables {
            let mut list: Vec<Arc<Subscription>> =
                self.by_table.get(&t).map(|l| l.as_ref().clone()).unwrap_or_default();
            list.extend(subs.iter().filter(|s| s.table == t).cloned());
            self.by_table.insert(t, Arc::new(list));
        }
        if !subs.is_empty() {
            self.by_channel.insert(channel, subs);
        }
    }

    pub fn remove_channel(&mut self, channel: ChannelId) -> Vec<Arc<Subscription>> {
        let Some(old) = self.by_channel.remove(&channel) else { return Vec::new() };
        let mut tables: Vec<u32> = old.iter().map(|s| s.table).collect();
        tables.sort_unstable();
        tables.dedup();
        for t in tables {
            if let Some(list) = self.by_table.get(&t) {
                let kept: Vec<Arc<Subscription>> = list.iter().filter(|s| s.channel != channel).cloned().collect();
                if kept.is_empty() {
                    self.by_table.remove(&t);
                } else {
                    self.by_table.insert(t, Arc::new(kept));
                }
            }
        }
        old
    }

    pub fn table(&self, table: u32) -> Option<TableSubs> {
        self.by_table.get(&table).cloned()
    }

    pub fn channel(&self, channel: ChannelId) -> Option<&Vec<Arc<Subscription>>> {
        self.by_channel.get(&channel)
    }

    /// Every channel with its identity and outbox (one subscription stands for its channel).
    pub fn channels(&self) -> Vec<Arc<Subscription>> {
        self.by_channel.values().filter_map(|subs| subs.first().cloned()).collect()
    }

    pub fn subscription_count(&self) -> usize {
        self.by_channel.values().map(Vec::len).sum()
    }

    pub fn channel_count(&self) -> usize {
        self.by_channel.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(table: u32, channel: ChannelId, outbox: &Arc<Outbox>) -> Arc<Subscription> {
        Arc::new(Subscription {
            table,
            channel,
            binding_id: 1,
            events: Events::ALL,
            filter: None,
            identity: Arc::new(Identity { role: "anon".into(), claims: "{}".into() }),
            start_lsn: 0,
            topic_json: "\"realtime:x\"".into(),
            outbox: outbox.clone(),
        })
    }

    #[test]
    fn channels_come_and_go() {
        let (outbox, _rx) = Outbox::new(4, Vsn::V2);
        let mut r = Registry::default();
        r.set_channel(1, vec![sub(10, 1, &outbox), sub(11, 1, &outbox)]);
        r.set_channel(2, vec![sub(10, 2, &outbox)]);
        assert_eq!(r.table(10).map(|l| l.len()), Some(2));
        let before = r.table(10).expect("subscribed");
        r.set_channel(1, vec![sub(11, 1, &outbox)]);
        assert_eq!(r.table(10).map(|l| l.len()), Some(1), "the channel's old subscriptions are replaced");
        assert_eq!(before.len(), 2, "a batch's copy is unaffected");
        assert_eq!(r.remove_channel(1).len(), 1);
        assert!(r.table(11).is_none());
        assert_eq!((r.channel_count(), r.subscription_count()), (1, 1));
    }

    #[test]
    fn a_full_queue_cuts_the_connection() {
        let (outbox, mut rx) = Outbox::new(2, Vsn::V1);
        assert!(outbox.push(Out::Text("a".into())));
        assert!(outbox.push(Out::Text("b".into())));
        assert!(!outbox.push(Out::Text("c".into())), "the queue is bounded");
        assert!(outbox.was_killed());
        assert!(matches!(rx.try_recv(), Ok(Out::Text(t)) if t == "a"));
        drop(rx);
        assert!(!outbox.push(Out::Text("d".into())));
    }
}

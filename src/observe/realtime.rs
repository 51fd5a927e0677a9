//! Realtime's metrics: counters and gauges the capture, delivery and connections update with one
//! atomic each, encoded by `scrape.rs`.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;

use super::histogram::{self, Histogram};

#[derive(Debug)]
pub struct RealtimeMetrics {
    connections: AtomicI64,
    live: AtomicBool,
    /// Bytes of WAL the slot keeps (-1 until measured).
    slot_lag: AtomicI64,
    changes: AtomicU64,
    deliveries: AtomicU64,
    slow_clients: AtomicU64,
    check_failures: AtomicU64,
    latency: Histogram<14>,
}

impl Default for RealtimeMetrics {
    fn default() -> Self {
        RealtimeMetrics {
            connections: AtomicI64::new(0),
            live: AtomicBool::new(false),
            slot_lag: AtomicI64::new(-1),
            changes: AtomicU64::new(0),
            deliveries: AtomicU64::new(0),
            slow_clients: AtomicU64::new(0),
            check_failures: AtomicU64::new(0),
            latency: Histogram::new(&histogram::LATENCY),
        }
    }
}

impl RealtimeMetrics {
    pub fn connection(&self, delta: i64) {
        self.connections.fetch_add(delta, Ordering::Relaxed);
    }
    pub fn set_live(&self, live: bool) {
        self.live.store(live, Ordering::Relaxed);
    }
    pub fn set_slot_lag(&self, bytes: i64) {
        self.slot_lag.store(bytes, Ordering::Relaxed);
    }
    pub fn slot_lag(&self) -> i64 {
        self.slot_lag.load(Ordering::Relaxed)
    }
    pub fn changes_decoded(&self, n: u64) {
        self.changes.fetch_add(n, Ordering::Relaxed);
    }
    /// One frame queued for a subscriber, `micros` after its commit.
    pub fn delivered(&self, micros: u64) {
        self.deliveries.fetch_add(1, Ordering::Relaxed);
        self.latency.observe(micros);
    }
    pub fn deliveries(&self) -> u64 {
        self.deliveries.load(Ordering::Relaxed)
    }
    pub fn slow_client(&self) {
        self.slow_clients.fetch_add(1, Ordering::Relaxed);
    }
    pub fn check_failed(&self) {
        self.check_failures.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn encode(&self, enc: &mut DescriptorEncoder, channels: u64) -> Result<(), std::fmt::Error> {
        let gauge = |enc: &mut DescriptorEncoder, name: &str, help: &str, v: i64| {
            enc.encode_descriptor(name, help, None, MetricType::Gauge)?.encode_gauge(&v)
        };
        let counter = |enc: &mut DescriptorEncoder, name: &str, help: &str, v: &AtomicU64| {
            let v = v.load(Ordering::Relaxed);
            enc.encode_descriptor(name, help, None, MetricType::Counter)?.encode_counter::<NoLabelSet, _, u64>(&v, None)
        };
        gauge(
            enc,
            "rowgate_realtime_connections",
            "Open realtime WebSocket connections",
            self.connections.load(Ordering::Relaxed),
        )?;
        gauge(
            enc,
            "rowgate_realtime_channels",
            "Joined channels with postgres_changes subscriptions",
            channels as i64,
        )?;
        gauge(
            enc,
            "rowgate_realtime_streaming",
            "1 while changes stream from the replication slot",
            i64::from(self.live.load(Ordering::Relaxed)),
        )?;
        gauge(
            enc,
            "rowgate_realtime_slot_lag_bytes",
            "WAL the replication slot retains beyond what was delivered (-1 until measured)",
            self.slot_lag(),
        )?;
        counter(enc, "rowgate_realtime_changes", "Row changes decoded from published tables", &self.changes)?;
        counter(
            enc,
            "rowgate_realtime_deliveries",
            "postgres_changes frames queued for subscribers",
            &self.deliveries,
        )?;
        counter(
            enc,
            "rowgate_realtime_slow_clients",
            "Connections cut because their queue was full",
            &self.slow_clients,
        )?;
        counter(
            enc,
            "rowgate_realtime_check_failures",
            "Subscriber checks that failed (a policy raised); that subscriber missed the batch",
            &self.check_failures,
        )?;
        let s = self.latency.snapshot();
        enc.encode_descriptor(
            "rowgate_realtime_delivery_seconds",
            "Time from a change's commit to its frame being queued for a subscriber",
            None,
            MetricType::Histogram,
        )?
        .encode_histogram::<NoLabelSet>(s.sum_seconds, s.count, &s.buckets, None)
    }
}

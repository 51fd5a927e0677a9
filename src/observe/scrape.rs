//! `/metrics`: encodes [`Metrics`] plus the gauges sampled at scrape time (pool, JWT cache) in
//! the OpenMetrics text format through prometheus-client's `Collector`, which Prometheus scrapes
//! natively. Counter names get `_total` from the encoder.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use super::histogram::Snapshot;
use super::metrics::{AuthEvent, MailOutcome, Metrics, PoolGauges};
use super::{Kind, ObserveError};

/// The `Content-Type` of [`encode`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The read replicas at scrape time.
#[derive(Debug, Clone, Default)]
pub struct ReplicaGauges {
    /// `(name, up, lag in seconds)` per replica.
    pub replicas: Vec<(String, bool, f64)>,
    /// Reads served by `[primary, replica]`.
    pub reads: [u64; 2],
    /// Reads sent to the primary after all, by reason.
    pub fallbacks: Vec<(&'static str, u64)>,
}

impl From<&crate::db::replica::Replicas> for ReplicaGauges {
    fn from(r: &crate::db::replica::Replicas) -> Self {
        use crate::db::replica::Fallback;
        ReplicaGauges {
            replicas: r.replicas.iter().map(|x| (x.name.clone(), x.up(), x.lag().as_secs_f64())).collect(),
            reads: [r.reads[0].load(Ordering::Relaxed), r.reads[1].load(Ordering::Relaxed)],
            fallbacks: Fallback::ALL
                .iter()
                .map(|f| (f.as_str(), r.fallbacks[*f as usize].load(Ordering::Relaxed)))
                .collect(),
        }
    }
}

/// Everything `/metrics` shows, as text.
pub fn encode(
    metrics: &Arc<Metrics>,
    pool: PoolGauges,
    jwt_cache: (u64, u64),
    replicas: Option<ReplicaGauges>,
    realtime_channels: u64,
) -> Result<String, ObserveError> {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Scrape {
        metrics: metrics.clone(),
        pool,
        jwt_cache,
        replicas,
        realtime_channels,
    }));
    let mut out = String::with_capacity(16 * 1024);
    prometheus_client::encoding::text::encode(&mut out, &registry)?;
    Ok(out)
}

#[derive(Debug)]
struct Scrape {
    metrics: Arc<Metrics>,
    pool: PoolGauges,
    /// `(hits, misses)`.
    jwt_cache: (u64, u64),
    replicas: Option<ReplicaGauges>,
    realtime_channels: u64,
}

type Res = Result<(), std::fmt::Error>;

fn counter(enc: &mut DescriptorEncoder, name: &str, help: &str, v: u64) -> Res {
    enc.encode_descriptor(name, help, None, MetricType::Counter)?.encode_counter::<NoLabelSet, _, u64>(&v, None)
}

fn gauge<V: prometheus_client::encoding::EncodeGaugeValue>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    v: V,
) -> Res {
    enc.encode_descriptor(name, help, None, MetricType::Gauge)?.encode_gauge(&v)
}

fn histogram(m: &mut MetricEncoder, s: &Snapshot) -> Res {
    m.encode_histogram::<NoLabelSet>(s.sum_seconds, s.count, &s.buckets, None)
}

impl Collector for Scrape {
    fn encode(&self, mut enc: DescriptorEncoder) -> Res {
        let m = &*self.metrics;
        enc.encode_descriptor("rowgate_build", "rowgate's version", None, MetricType::Info)?
            .encode_info(&[("version", env!("CARGO_PKG_VERSION"))])?;

        let mut requests = enc.encode_descriptor(
            "rowgate_http_requests",
            "Answered API requests by kind (read, write, rpc, auth, openapi, other) and status code",
            None,
            MetricType::Counter,
        )?;
        for kind in Kind::ALL {
            for (slot, n) in m.requests[kind.index()].iter().enumerate() {
                let n = n.load(Ordering::Relaxed);
                if n > 0 {
                    let status = Metrics::status_of_slot(slot).to_string();
                    let labels = [("kind", kind.as_str()), ("status", status.as_str())];
                    requests.encode_family(&labels)?.encode_counter::<NoLabelSet, _, u64>(&n, None)?;
                }
            }
        }

        let mut latency = enc.encode_descriptor(
            "rowgate_http_request_duration_seconds",
            "Time from reading the request to the response being ready, by kind",
            None,
            MetricType::Histogram,
        )?;
        for kind in Kind::ALL {
            let labels = [("kind", kind.as_str())];
            histogram(&mut latency.encode_family(&labels)?, &m.latency[kind.index()].snapshot())?;
        }

        let mut denials = enc.encode_descriptor(
            "rowgate_db_privilege_denials",
            "Requests refused with SQLSTATE 42501 (missing grant or row-level-security violation), by kind",
            None,
            MetricType::Counter,
        )?;
        for kind in Kind::ALL {
            let n = m.denials[kind.index()].load(Ordering::Relaxed);
            denials.encode_family(&[("kind", kind.as_str())])?.encode_counter::<NoLabelSet, _, u64>(&n, None)?;
        }

        let p = self.pool;
        gauge(&mut enc, "rowgate_db_pool_max_connections", "Configured pool size (ROWGATE_DB_POOL)", p.max_size)?;
        gauge(&mut enc, "rowgate_db_pool_connections", "Connections currently open in the pool", p.size)?;
        gauge(&mut enc, "rowgate_db_pool_idle_connections", "Open connections not in use", p.available)?;
        gauge(&mut enc, "rowgate_db_pool_waiting_requests", "Requests waiting for a connection", p.waiting)?;
        counter(
            &mut enc,
            "rowgate_db_pool_acquisition_timeouts",
            "Requests answered 504 PGRST003: no connection within the acquisition timeout",
            m.pool_timeouts.load(Ordering::Relaxed),
        )?;

        let mut loads = enc.encode_descriptor(
            "rowgate_schema_cache_loads",
            "Schema cache loads by outcome (ok, error)",
            None,
            MetricType::Counter,
        )?;
        for (outcome, n) in ["ok", "error"].iter().zip(&m.schema_loads) {
            let n = n.load(Ordering::Relaxed);
            loads.encode_family(&[("outcome", *outcome)])?.encode_counter::<NoLabelSet, _, u64>(&n, None)?;
        }
        let mut load = enc.encode_descriptor(
            "rowgate_schema_cache_load_duration_seconds",
            "Duration of successful schema cache loads",
            None,
            MetricType::Histogram,
        )?;
        histogram(&mut load, &m.schema_load.snapshot())?;
        let last = m.schema_last_load_micros.load(Ordering::Relaxed) as f64 / 1e6;
        gauge(
            &mut enc,
            "rowgate_schema_cache_last_load_duration_seconds",
            "Duration of the last successful load",
            last,
        )?;

        counter(&mut enc, "rowgate_jwt_cache_hits", "Tokens found in the verified-token cache", self.jwt_cache.0)?;
        counter(&mut enc, "rowgate_jwt_cache_misses", "Tokens verified by signature (not cached)", self.jwt_cache.1)?;

        let mut quota = enc.encode_descriptor(
            "rowgate_quota_rejections",
            "Requests refused by an organization's plan (code quota_exceeded), by kind",
            None,
            MetricType::Counter,
        )?;
        for kind in Kind::ALL {
            let n = m.quota_rejections[kind.index()].load(Ordering::Relaxed);
            quota.encode_family(&[("kind", kind.as_str())])?.encode_counter::<NoLabelSet, _, u64>(&n, None)?;
        }
        if let Some(tenants) = m.tenants() {
            let mut gauge = enc.encode_descriptor(
                "rowgate_tenants",
                "Organizations by status and plan (read from the database every 30 s, not per scrape)",
                None,
                MetricType::Gauge,
            )?;
            for t in tenants.iter() {
                let labels = [("status", t.status.as_str()), ("plan", t.plan.as_str())];
                gauge.encode_family(&labels)?.encode_gauge(&(t.orgs as i64))?;
            }
        }

        let mut auth = enc.encode_descriptor(
            "rowgate_auth_events",
            "Auth events: login, login_failure, token_refresh, refresh_reuse, rate_limited",
            None,
            MetricType::Counter,
        )?;
        for event in AuthEvent::ALL {
            let n = m.auth_events[event as usize].load(Ordering::Relaxed);
            auth.encode_family(&[("event", event.as_str())])?.encode_counter::<NoLabelSet, _, u64>(&n, None)?;
        }
        let mut mails = enc.encode_descriptor(
            "rowgate_auth_emails",
            "Emails of /auth/v1: sent, failed (after retries), dropped (queue full)",
            None,
            MetricType::Counter,
        )?;
        for outcome in MailOutcome::ALL {
            let n = m.mails[outcome as usize].load(Ordering::Relaxed);
            mails.encode_family(&[("outcome", outcome.as_str())])?.encode_counter::<NoLabelSet, _, u64>(&n, None)?;
        }
        if let Some(r) = &self.replicas {
            encode_replicas(&mut enc, r)?;
        }
        m.realtime.encode(&mut enc, self.realtime_channels)
    }
}

fn encode_replicas(enc: &mut DescriptorEncoder, r: &ReplicaGauges) -> Res {
    let mut up = enc.encode_descriptor(
        "rowgate_replica_up",
        "1 while a read replica answers as a standby (ROWGATE_DB_READ_URL)",
        None,
        MetricType::Gauge,
    )?;
    for (name, is_up, _) in &r.replicas {
        up.encode_family(&[("replica", name.as_str())])?.encode_gauge(&i64::from(*is_up))?;
    }
    let mut lag = enc.encode_descriptor(
        "rowgate_replica_lag_seconds",
        "How long ago the primary was first past what the replica has replayed",
        None,
        MetricType::Gauge,
    )?;
    for (name, _, seconds) in &r.replicas {
        lag.encode_family(&[("replica", name.as_str())])?.encode_gauge(seconds)?;
    }
    let mut reads =
        enc.encode_descriptor("rowgate_db_reads", "Read transactions by where they ran", None, MetricType::Counter)?;
    for (target, n) in ["primary", "replica"].iter().zip(r.reads) {
        reads.encode_family(&[("target", *target)])?.encode_counter::<NoLabelSet, _, u64>(&n, None)?;
    }
    let mut fallbacks = enc.encode_descriptor(
        "rowgate_replica_fallbacks",
        "Reads that went to the primary instead of a replica, by reason",
        None,
        MetricType::Counter,
    )?;
    for (reason, n) in &r.fallbacks {
        fallbacks.encode_family(&[("reason", *reason)])?.encode_counter::<NoLabelSet, _, u64>(n, None)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn encodes_every_family() {
        let m = Arc::new(Metrics::new());
        m.request(Kind::Read, 200, Duration::from_micros(700));
        m.request(Kind::Write, 403, Duration::from_millis(3));
        m.denial(Kind::Write);
        m.schema_loaded(Duration::from_millis(12));
        m.auth_event(AuthEvent::RateLimited);
        m.quota_rejection(Kind::Write);
        m.set_tenants(vec![super::super::TenantCount { status: "active".into(), plan: "standard".into(), orgs: 9000 }]);
        let pool = PoolGauges { max_size: 10, size: 2, available: 1, waiting: 0 };
        let replicas = ReplicaGauges {
            replicas: vec![("r1:5432 (database app, user authenticator)".into(), true, 0.25)],
            reads: [3, 7],
            fallbacks: vec![("replica_failed", 1)],
        };
        let text = encode(&m, pool, (5, 2), Some(replicas), 0).unwrap();
        for line in [
            "rowgate_http_requests_total{kind=\"read\",status=\"200\"} 1",
            "rowgate_http_requests_total{kind=\"write\",status=\"403\"} 1",
            "rowgate_http_request_duration_seconds_bucket{le=\"0.001\",kind=\"read\"} 1",
            "rowgate_http_request_duration_seconds_count{kind=\"write\"} 1",
            "rowgate_db_privilege_denials_total{kind=\"write\"} 1",
            "rowgate_db_pool_max_connections 10",
            "rowgate_db_pool_connections 2",
            "rowgate_db_pool_idle_connections 1",
            "rowgate_db_pool_waiting_requests 0",
            "rowgate_db_pool_acquisition_timeouts_total 0",
            "rowgate_schema_cache_loads_total{outcome=\"ok\"} 1",
            "rowgate_schema_cache_loads_total{outcome=\"error\"} 0",
            "rowgate_schema_cache_load_duration_seconds_count 1",
            "rowgate_schema_cache_last_load_duration_seconds 0.012",
            "rowgate_jwt_cache_hits_total 5",
            "rowgate_jwt_cache_misses_total 2",
            "rowgate_auth_events_total{event=\"rate_limited\"} 1",
            "rowgate_auth_events_total{event=\"login\"} 0",
            "rowgate_replica_up{replica=\"r1:5432 (database app, user authenticator)\"} 1",
            "rowgate_replica_lag_seconds{replica=\"r1:5432 (database app, user authenticator)\"} 0.25",
            "rowgate_db_reads_total{target=\"replica\"} 7",
            "rowgate_replica_fallbacks_total{reason=\"replica_failed\"} 1",
            "rowgate_quota_rejections_total{kind=\"write\"} 1",
            "rowgate_quota_rejections_total{kind=\"rpc\"} 0",
            "rowgate_tenants{status=\"active\",plan=\"standard\"} 9000",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
        assert!(text.ends_with("# EOF\n"));
        // Only statuses that occurred get a series.
        assert!(!text.contains("status=\"500\""));
    }
}

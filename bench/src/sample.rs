//! One measured run: a load generator against one system for a fixed time, with the CPU each
//! party spent (gateway, PostgreSQL, load generator) and the gateway's peak RSS.

use anyhow::Result;
use serde::Serialize;

use crate::measure;
use crate::scenarios::Scenario;
use crate::systems::System;

#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    pub system: &'static str,
    pub scenario: &'static str,
    pub connections: usize,
    pub round: usize,
    pub requests: u64,
    pub seconds: f64,
    pub rps: f64,
    pub p50_us: u64,
    pub p99_us: u64,
    /// Responses with another status than the scenario's, socket errors, failed transactions.
    pub errors: u64,
    pub gateway_cpu_s: f64,
    pub postgres_cpu_s: f64,
    pub loadgen_cpu_s: f64,
    pub peak_rss_kib: Option<u64>,
    /// rowgate's JWT cache over the run: (hits, misses).
    pub jwt_cache: Option<(u64, u64)>,
    /// wrk's 99.9th percentile and maximum.
    pub p999_us: Option<u64>,
    pub max_us: Option<u64>,
    /// rowgate's own histogram (handler start to response): the bucket bound holding its p99,
    /// and the share of requests done within 10 ms.
    pub server_p99_le_ms: Option<f64>,
    pub server_within_10ms: Option<f64>,
}

impl Sample {
    /// CPU microseconds per request of each party.
    pub fn cpu_us_per_request(&self) -> (f64, f64, f64) {
        let per = |s: f64| if self.requests == 0 { 0.0 } else { s * 1e6 / self.requests as f64 };
        (per(self.gateway_cpu_s), per(self.postgres_cpu_s), per(self.loadgen_cpu_s))
    }
}

/// What the load generator reports.
pub struct Load {
    pub requests: u64,
    pub seconds: f64,
    pub rps: f64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub errors: u64,
}

/// Readings taken before a run, to subtract after it.
pub struct Meter {
    gateway: Option<u32>,
    postmaster: u32,
    gateway_cpu: f64,
    postgres_cpu: f64,
    children_cpu: f64,
}

impl Meter {
    pub fn start(gateway: Option<u32>, postmaster: u32) -> Result<Meter> {
        if let Some(pid) = gateway {
            measure::reset_peak_rss(pid)?;
        }
        Ok(Meter {
            gateway,
            postmaster,
            gateway_cpu: gateway.map(measure::process_cpu).transpose()?.unwrap_or(0.0),
            postgres_cpu: measure::cluster_cpu(postmaster)?,
            children_cpu: measure::children_cpu(),
        })
    }

    pub fn finish(
        self,
        system: System,
        scenario: Scenario,
        connections: usize,
        round: usize,
        load: Load,
        jwt_cache: Option<(u64, u64)>,
    ) -> Result<Sample> {
        let gateway_cpu = self.gateway.map(measure::process_cpu).transpose()?.unwrap_or(0.0) - self.gateway_cpu;
        Ok(Sample {
            system: system.name(),
            scenario: scenario.name(),
            connections,
            round,
            requests: load.requests,
            seconds: load.seconds,
            rps: load.rps,
            p50_us: load.p50_us,
            p99_us: load.p99_us,
            errors: load.errors,
            gateway_cpu_s: gateway_cpu,
            postgres_cpu_s: measure::cluster_cpu(self.postmaster)? - self.postgres_cpu,
            loadgen_cpu_s: measure::children_cpu() - self.children_cpu,
            peak_rss_kib: self.gateway.map(measure::peak_rss_kib).transpose()?,
            jwt_cache,
            p999_us: None,
            max_us: None,
            server_p99_le_ms: None,
            server_within_10ms: None,
        })
    }
}

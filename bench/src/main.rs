//! rowgate-bench: measures rowgate against the database's own floor (pgbench replaying the SQL
//! rowgate sends, pipelined the same way) and a peer (postrust-server), in one run, alternating
//! the systems so that machine drift hits all of them. `bench/run` is the one command; see
//! bench/README.md for what each number means.

mod capture;
mod citus;
mod database;
mod harness;
mod measure;
mod pgbench;
mod profile;
mod report;
mod sample;
mod scale;
mod scenarios;
mod systems;
mod tenancy;
mod tokens;
mod wrk;

use std::path::PathBuf;

use anyhow::Result;
use clap::Parser;

#[derive(Parser, Debug, Clone)]
#[command(about = "rowgate's benchmark: the pgbench floor on the same SQL, and a peer, in one run")]
pub struct Args {
    /// Seconds of every measured run.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Seconds of the warm-up run of each system before a scenario's measured runs.
    #[arg(long, default_value_t = 3)]
    pub warmup: u64,
    /// How often each (scenario, connections) cell is measured, alternating the systems.
    #[arg(long, default_value_t = 2)]
    pub rounds: usize,
    /// wrk connection counts.
    #[arg(long, value_delimiter = ',', default_values_t = [16, 64, 256])]
    pub connections: Vec<usize>,
    /// Scenarios to run (default: all): single, page, embed, count, post, patch, rpc, refresh.
    #[arg(long, value_delimiter = ',')]
    pub scenarios: Vec<String>,
    /// Database connections of each gateway's pool, and pgbench's client count. 8 on the 2-core
    /// machine the results come from: four per core, the upper end of docs/performance.md's
    /// advice; 16 made every system slower (more backends competing for two cores).
    #[arg(long, default_value_t = 8)]
    pub pool: usize,
    /// Where the benchmark's PostgreSQL cluster, scripts and logs live.
    #[arg(long, default_value_os_t = database::default_dir())]
    pub dir: PathBuf,
    /// The rowgate binary under test.
    #[arg(long, default_value = "target/profiling/rowgate")]
    pub rowgate: PathBuf,
    /// The postrust binary (the peer); without it the peer columns stay empty.
    #[arg(long)]
    pub postrust: Option<PathBuf>,
    /// The report to write (a results.json lands beside it).
    #[arg(long, default_value = "bench/RESULTS.md")]
    pub out: PathBuf,
    /// A small data set and short runs, to try the harness (not for RESULTS.md).
    #[arg(long)]
    pub quick: bool,
    /// Keep the data set of an earlier run when its size matches (runs add and change rows).
    #[arg(long)]
    pub reuse_data: bool,
    /// Skip the scale curves (connections, schema size, idle clients).
    #[arg(long)]
    pub skip_scale: bool,
    /// Skip the CPU profile of the read path.
    #[arg(long)]
    pub skip_profile: bool,
    /// Captured requests per scenario that pgbench replays (each its own script; at most 128),
    /// one per org: the gateways' loads touch the same orgs (all their acting members).
    #[arg(long, default_value_t = 128)]
    pub variants: usize,
    /// Record pg_stat_statements around every measured run (into the work directory's pgss/):
    /// where PostgreSQL's time goes, per statement, planning included. Costs a little throughput.
    #[arg(long)]
    pub pg_stat_statements: bool,
    /// A second rowgate to alternate with the first in every cell, for A/B work: its binary
    /// (default: the same) and `KEY=VALUE` settings (`--variant-env TOKIO_WORKER_THREADS=1`).
    #[arg(long)]
    pub variant: Option<PathBuf>,
    #[arg(long, value_parser = parse_key_value)]
    pub variant_env: Vec<(String, String)>,
    /// First of the local ports used (PostgreSQL, then the gateways); below the ephemeral range.
    #[arg(long, default_value_t = 25_400)]
    pub port_base: u16,
    /// Organizations in the data set (10 members, 100 projects and 1,000 tasks each); its
    /// database is bench_<orgs>, so data sets of two sizes live side by side.
    #[arg(long, default_value_t = 1000)]
    pub orgs: u64,
    /// Also register this many orgs × 10 members through the API (a database of their own) and
    /// report how fast; 0 skips it.
    #[arg(long, default_value_t = 0)]
    pub register: u64,
    /// The results (the .json beside a report) of another run, usually at another --orgs, to
    /// set this run's REST figures beside.
    #[arg(long)]
    pub compare_with: Option<PathBuf>,
    /// Instead of the main run: the REST scenarios on Citus (coordinator + 2 workers) beside
    /// single-node PostgreSQL and a write-heavy scenario over --orgs orgs, into CITUS.md beside
    /// --out. The value: the root scripts/install-citus unpacked PostgreSQL with Citus into.
    #[arg(long)]
    pub citus: Option<PathBuf>,
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    s.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())).ok_or_else(|| format!("expected KEY=VALUE, got {s}"))
}

#[tokio::main]
async fn main() -> Result<()> {
    let mut args = Args::parse();
    if args.quick {
        args.duration = args.duration.min(3);
        args.warmup = 1;
        args.rounds = 1;
        args.connections = vec![16];
        args.variants = args.variants.min(8);
    }
    if let Some(root) = args.citus.clone() {
        return citus::run(args, root).await;
    }
    harness::run(args).await
}

//! `bench/run --citus ROOT`: the REST scenarios on Citus (a coordinator and two workers, all on
//! this machine) beside single-node PostgreSQL, the cost of the Citus mode (`ROWGATE_DB_CITUS`)
//! on single-node, and a write-heavy scenario spread over every org; writes bench/CITUS.md
//! (issue 19, docs/scaling.md). ROOT holds the PostgreSQL with Citus of scripts/install-citus.
//!
//! Every system gets the same data set (bench/sql/data.sql at a small per-org size, so that
//! 10,000 orgs load in minutes), the same gateway settings and the same wrk load, alternating.
//! The Citus database is loaded as a single-node one and then distributed by `rowgate migrate`
//! once the extension is there, the way an existing deployment moves.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use rowgate::cluster::{self, Cluster, PgBinaries};

use crate::database::{data_sql, migrate};
use crate::harness::send;
use crate::scenarios::{uid, DataSize, Scenario};
use crate::systems::{self, Common, Running};
use crate::{wrk, Args};

const SECRET: &str = "rowgate-bench-citus-secret-of-32-bytes-or-more";
/// (Not `embed`: its `assignee:memberships(…)` needs the key tasks → memberships, which Citus
/// refuses; docs/scaling.md.)
const SCENARIOS: [Scenario; 5] = [Scenario::Single, Scenario::Page, Scenario::Count, Scenario::Post, Scenario::Patch];
/// Also run with `org_id=eq.<org>` added: on Citus a statement that names the distribution
/// column goes to one shard (router), one that does not goes to all of them.
const ROUTED: [Scenario; 3] = [Scenario::Single, Scenario::Page, Scenario::Patch];

/// `r` with the org's filter added to its path.
fn routed(mut r: crate::scenarios::HttpRequest, org: u64) -> crate::scenarios::HttpRequest {
    r.path = format!("{}&org_id=eq.{}", r.path, uid(1, org));
    r
}

struct Gateway {
    name: &'static str,
    running: Running,
}

fn conf(citus: bool) -> Vec<(String, String)> {
    let mut v = vec![
        ("shared_buffers", "256MB"),
        ("max_connections", "300"),
        ("synchronous_commit", "off"),
        ("checkpoint_timeout", "30min"),
        ("max_wal_size", "4GB"),
    ];
    if citus {
        v.push(("shared_preload_libraries", "citus"));
        v.push(("citus.allow_modifications_from_workers_to_replicated_tables", "off"));
        // A multi-shard statement of a short request over the one cached connection per worker,
        // not up to 16 new ones (each a fork on the worker) per statement.
        v.push(("citus.max_adaptive_executor_pool_size", "1"));
    }
    v.into_iter().map(|(k, val)| (k.to_string(), val.to_string())).collect()
}

async fn connect(c: &Cluster, db: &str) -> Result<tokio_postgres::Client> {
    let (client, conn) = tokio_postgres::connect(&c.conn_string("postgres", db), tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    Ok(client)
}

/// `rowgate migrate` and the data set in database `app`.
async fn load(c: &Cluster, rowgate: &Path, size: DataSize) -> Result<()> {
    connect(c, "postgres").await?.batch_execute("create database app").await?;
    migrate(rowgate, &c.conn_string("postgres", "app")).await?;
    connect(c, "app").await?.batch_execute(&data_sql(size)).await.context("load bench/sql/data.sql")?;
    Ok(())
}

/// Access tokens of one member (the third user) of every org, from the gateway's own sign-in.
async fn sign_in(base_url: &str, size: DataSize) -> Result<Vec<String>> {
    let http = reqwest::Client::new();
    let url = format!("{base_url}/auth/v1/token?grant_type=password");
    stream::iter(1..=size.orgs)
        .map(|org| {
            let (http, url) = (http.clone(), url.clone());
            async move {
                let email = format!("user{}@bench.test", (org - 1) * size.members + 3);
                let body = serde_json::json!({"email": email, "password": "bench-password"});
                let r = http.post(&url).json(&body).send().await?;
                let status = r.status();
                let v: serde_json::Value = r.json().await?;
                if !status.is_success() {
                    bail!("sign-in of {email}: {status} {v}");
                }
                Ok(v["access_token"].as_str().context("no access_token")?.to_string())
            }
        })
        .buffered(16)
        .try_collect()
        .await
}

pub async fn run(args: Args, root: PathBuf) -> Result<()> {
    let size = DataSize { orgs: args.orgs, members: 10, projects: 2, tasks: 20 };
    let began = Instant::now();
    println!("citus: single-node PostgreSQL and Citus (coordinator + 2 workers), {} orgs", size.orgs);
    let single = cluster::start_throwaway_on(PgBinaries::find()?, conf(false), true).await?;
    load(&single, &args.rowgate, size).await?;
    let citus_bin = PgBinaries { dir: root.join("usr/lib/postgresql/15/bin") };
    let mut nodes = Vec::new();
    for _ in 0..3 {
        nodes.push(cluster::start_throwaway_on(citus_bin.clone(), conf(true), true).await?);
    }
    for w in &nodes[1..] {
        connect(w, "postgres").await?.batch_execute("create database app").await?;
        connect(w, "app").await?.batch_execute("create extension citus").await?;
    }
    let coordinator = &nodes[0];
    load(coordinator, &args.rowgate, size).await?;
    let c = connect(coordinator, "app").await?;
    c.batch_execute("create extension citus").await?;
    c.query("select citus_set_coordinator_host('127.0.0.1', $1)", &[&i32::from(coordinator.port())]).await?;
    for w in &nodes[1..] {
        c.query("select citus_add_node('127.0.0.1', $1)", &[&i32::from(w.port())]).await?;
    }
    let t = Instant::now();
    migrate(&args.rowgate, &coordinator.conn_string("postgres", "app")).await.context("distribute")?;
    let distribute_s = t.elapsed().as_secs_f64();
    println!("  loaded in {:.0} s (distribution {distribute_s:.1} s)", began.elapsed().as_secs_f64());

    let log_dir = args.dir.join("citus-logs");
    std::fs::create_dir_all(&log_dir)?;
    let common = |db: &Cluster| Common {
        database_url: db.conn_string("authenticator", "app"),
        jwt_secret: SECRET.into(),
        pool: args.pool,
        log_dir: log_dir.clone(),
    };
    let citus_env = [("ROWGATE_DB_CITUS".to_string(), "true".to_string())];
    let port = args.port_base + 40;
    let gateways = vec![
        Gateway {
            name: "single-node",
            running: systems::start_rowgate(&args.rowgate, &common(&single), port, "single", None, &[]).await?,
        },
        Gateway {
            name: "single-node, Citus mode",
            running: systems::start_rowgate(
                &args.rowgate,
                &common(&single),
                port + 2,
                "single-citus",
                None,
                &citus_env,
            )
            .await?,
        },
        Gateway {
            name: "Citus (1+2 nodes)",
            running: systems::start_rowgate(&args.rowgate, &common(coordinator), port + 4, "citus", None, &citus_env)
                .await?,
        },
    ];
    let single_tokens = sign_in(&gateways[0].running.base_url, size).await?;
    let citus_tokens = sign_in(&gateways[2].running.base_url, size).await?;

    let duration = Duration::from_secs(args.duration);
    let mut rows: Vec<(String, usize, &'static str, f64, f64, f64, u64)> = Vec::new();
    let work = args.dir.join("citus-lua");
    std::fs::create_dir_all(&work)?;
    // The REST scenarios over the first 1,000 orgs; the write-heavy one (POST) over all of them.
    let mut cells: Vec<(String, Scenario, bool, u64, usize)> = SCENARIOS
        .iter()
        .flat_map(|s| args.connections.iter().map(move |&c| (s.name().to_string(), *s, false, size.orgs.min(1000), c)))
        .collect();
    for s in ROUTED {
        for &c in &args.connections {
            cells.push((format!("{} + org_id=eq.", s.name()), s, true, size.orgs.min(1000), c));
        }
    }
    cells.push((format!("write-heavy: POST over {} orgs", size.orgs), Scenario::Post, false, size.orgs, 64));
    for (label, scenario, route, orgs, connections) in cells {
        let mut scripts = Vec::new();
        for (i, g) in gateways.iter().enumerate() {
            let tokens = if i == 2 { &citus_tokens } else { &single_tokens };
            let request = |o: u64| {
                let r = scenario.request(size, o, &tokens[o as usize - 1]);
                if route {
                    routed(r, o)
                } else {
                    r
                }
            };
            let requests: Vec<_> = (1..=orgs).map(request).collect();
            let (status, body) = send(&reqwest::Client::new(), &g.running.base_url, &requests[0]).await?;
            if !scenario.expected_status().contains(&status) {
                bail!("{label} on {}: {status} {body}", g.name);
            }
            let path = work.join(format!("{}-{route}-{i}.lua", scenario.name()));
            std::fs::write(&path, wrk::script(&requests))?;
            wrk::run(&path, &g.running.base_url, 16, 2, Duration::from_secs(args.warmup)).await?;
            scripts.push(path);
        }
        for _round in 0..args.rounds {
            for (g, script) in gateways.iter().zip(&scripts) {
                let r = wrk::run(script, &g.running.base_url, connections, 2, duration).await?;
                let rps = r.requests as f64 / (r.duration_us as f64 / 1e6);
                let errors = r.status_errors + r.socket_errors;
                println!(
                    "  {label:<34} c={connections:<3} {:<24} {rps:>8.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  errors {errors}",
                    g.name,
                    r.p50_us as f64 / 1000.0,
                    r.p99_us as f64 / 1000.0
                );
                rows.push((
                    label.clone(),
                    connections,
                    g.name,
                    rps,
                    r.p50_us as f64 / 1000.0,
                    r.p99_us as f64 / 1000.0,
                    errors,
                ));
            }
        }
    }
    for g in gateways {
        g.running.stop().await;
    }
    let out = args.out.with_file_name("CITUS.md");
    std::fs::write(&out, report(&args, size, distribute_s, &rows))?;
    println!("wrote {}", out.display());
    drop(nodes);
    drop(single);
    Ok(())
}

/// The median of each (scenario, connections, system) over the rounds.
fn report(
    args: &Args,
    size: DataSize,
    distribute_s: f64,
    rows: &[(String, usize, &str, f64, f64, f64, u64)],
) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# rowgate on Citus beside single-node PostgreSQL\n");
    let _ = writeln!(
        md,
        "`bench/run --citus /opt/rowgate-citus --orgs {} --duration {} --rounds {} --connections {}` \
         ({} orgs × {} members, {} projects and {} tasks each; org {} is `{}`). Distribution of the loaded \
         data set by `rowgate migrate`: {distribute_s:.1} s.\n",
        size.orgs,
        args.duration,
        args.rounds,
        args.connections.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(","),
        size.orgs,
        size.members,
        size.projects,
        size.tasks,
        1,
        uid(1, 1)
    );
    let _ = writeln!(
        md,
        "**Read this with the machine in mind**: the three Citus nodes, the single-node server, the \
         gateways and wrk all share the same {} cores, so Citus cannot show what it is for (more \
         machines); what it does show is the per-request price of the distributed plan (the \
         coordinator plans, then talks to a worker over a connection) and that isolation holds under \
         load. The single-node rows in Citus mode are the cost of `ROWGATE_DB_CITUS` itself on plain \
         PostgreSQL (the claims set again by SET LOCAL, the read CTE materialized).\n",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    );
    let _ = writeln!(md, "| scenario | c | system | req/s | p50 ms | p99 ms | errors |");
    let _ = writeln!(md, "|---|---:|---|---:|---:|---:|---:|");
    let mut keys: Vec<(String, usize, String)> = Vec::new();
    for (l, c, s, ..) in rows {
        let k = (l.clone(), *c, s.to_string());
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    for (l, c, s) in keys {
        let mut of: Vec<&(String, usize, &str, f64, f64, f64, u64)> =
            rows.iter().filter(|r| r.0 == l && r.1 == c && r.2 == s).collect();
        of.sort_by(|a, b| a.3.total_cmp(&b.3));
        let m = of[of.len() / 2];
        let errors: u64 = of.iter().map(|r| r.6).sum();
        let _ = writeln!(md, "| {l} | {c} | {s} | {:.0} | {:.2} | {:.2} | {errors} |", m.3, m.4, m.5);
    }
    md
}

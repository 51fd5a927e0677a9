//! rowgate-realtime-bench: the realtime benchmark on one machine. A private PostgreSQL
//! with logical decoding (1,000 orgs × 10 members), the release rowgate as its own process, then:
//!
//! 1. REST alone: `GET /tasks?id=eq.<task>` by the orgs' members from N concurrent loops;
//! 2. 10,000 WebSocket subscribers (each member of each org, `org_id=eq.<org>` filter, or none
//!    with `--unfiltered`), then `--rate` task changes per second (60 % INSERT, 30 % UPDATE,
//!    10 % DELETE, random orgs) for `--duration` s: commit → delivery latency at the subscriber,
//!    deliveries/s, rowgate's and PostgreSQL's CPU per delivered event, rowgate's RSS;
//! 3. the same REST load again while the changes keep flowing.
//!
//! The subscribers, the writer and the REST load run in this process, on the same two cores as
//! rowgate and PostgreSQL: what they cost is taken from both. `bench/README.md` has the command.

mod clients;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use rowgate::cluster::{Cluster, ClusterOptions};

#[derive(Parser, Debug, Clone)]
#[command(about = "rowgate's realtime benchmark: WebSocket subscribers under RLS, changes, REST beside")]
pub struct Args {
    #[arg(long, default_value_t = 10_000)]
    pub subscribers: usize,
    #[arg(long, default_value_t = 1_000)]
    pub orgs: usize,
    /// Task changes committed per second.
    #[arg(long, default_value_t = 500)]
    pub rate: usize,
    /// Seconds of the measured realtime run.
    #[arg(long, default_value_t = 30)]
    pub duration: u64,
    /// Subscribe without the `org_id=eq.` filter (RLS alone decides; every change is a candidate for every subscriber).
    #[arg(long)]
    pub unfiltered: bool,
    /// Concurrent REST loops and seconds per REST run.
    #[arg(long, default_value_t = 32)]
    pub rest_connections: usize,
    #[arg(long, default_value_t = 10)]
    pub rest_duration: u64,
    #[arg(long, default_value = "target/release/rowgate")]
    pub rowgate: PathBuf,
    #[arg(long, default_value = "/var/tmp/rowgate-rtbench")]
    pub dir: PathBuf,
    #[arg(long, default_value_t = 25420)]
    pub port: u16,
}

const SECRET: &str = "realtime-bench-secret-realtime-bench-secret";

pub fn org(i: usize) -> String {
    format!("0f000000-0000-0000-0000-{i:012}")
}
pub fn member(o: usize, m: usize) -> String {
    format!("f{m:07x}-0000-0000-0000-{o:012}")
}
/// A member's token (one expiry for the whole run, so a member's token is always the same text
/// and rowgate's JWT cache sees one token per member, as with real sessions).
pub fn token(user: &str) -> String {
    static EXP: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let exp = *EXP.get_or_init(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()) + 86_400
    });
    rowgate::auth::mint_hs256(SECRET, &serde_json::json!({"role": "authenticated", "sub": user, "exp": exp}))
}

fn data_sql(orgs: usize) -> String {
    format!(
        "insert into auth.users (id, email) select ('f' || lpad(to_hex(m), 7, '0') || '-0000-0000-0000-' || lpad(o::text, 12, '0'))::uuid,
                'm' || m || '@o' || o || '.bench' from generate_series(0, {n}) o, generate_series(0, 9) m;
         insert into api.organizations (id, name, status) select ('0f000000-0000-0000-0000-' || lpad(o::text, 12, '0'))::uuid, 'org ' || o, 'active'
           from generate_series(0, {n}) o;
         insert into api.memberships (org_id, user_id, role)
           select ('0f000000-0000-0000-0000-' || lpad(o::text, 12, '0'))::uuid,
                  ('f' || lpad(to_hex(m), 7, '0') || '-0000-0000-0000-' || lpad(o::text, 12, '0'))::uuid,
                  case when m = 0 then 'owner' else 'member' end
             from generate_series(0, {n}) o, generate_series(0, 9) m;
         insert into api.projects (org_id, id, name) select ('0f000000-0000-0000-0000-' || lpad(o::text, 12, '0'))::uuid,
                ('1f000000-0000-0000-0000-' || lpad(o::text, 12, '0'))::uuid, 'p' || o from generate_series(0, {n}) o;
         insert into api.tasks (org_id, id, project_id, title)
           select ('0f000000-0000-0000-0000-' || lpad(o::text, 12, '0'))::uuid,
                  ('2f' || lpad(to_hex(k), 6, '0') || '-0000-0000-0000-' || lpad(o::text, 12, '0'))::uuid,
                  ('1f000000-0000-0000-0000-' || lpad(o::text, 12, '0'))::uuid, 'seed' from generate_series(0, {n}) o, generate_series(0, 9) k;
         analyze;",
        n = orgs - 1
    )
}

pub fn seed_task(o: usize, k: usize) -> String {
    format!("2f{k:06x}-0000-0000-0000-{o:012}")
}

async fn psql(url: &str) -> Result<tokio_postgres::Client> {
    let (c, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.context("connect")?;
    tokio::spawn(conn);
    Ok(c)
}

/// utime + stime of a process, seconds.
pub fn cpu_of(pid: u32) -> f64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let f: Vec<&str> = s.rsplit_once(')').map(|x| x.1).unwrap_or("").split_whitespace().collect();
    if f.len() < 13 {
        return 0.0;
    }
    (f[11].parse::<f64>().unwrap_or(0.0) + f[12].parse::<f64>().unwrap_or(0.0)) / 100.0
}

/// CPU of the whole cluster, seconds: the postmaster with its reaped children (cutime, cstime)
/// and every live child (backends, the walsender, background workers), as the main bench counts.
pub fn postgres_cpu(data_dir: &std::path::Path) -> f64 {
    let Some(pm) = std::fs::read_to_string(data_dir.join("postmaster.pid"))
        .ok()
        .and_then(|s| s.lines().next().and_then(|l| l.trim().parse::<u32>().ok()))
    else {
        return 0.0;
    };
    let stat = |pid: u32| -> Vec<String> {
        let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        s.rsplit_once(')').map(|x| x.1).unwrap_or("").split_whitespace().map(str::to_string).collect()
    };
    let secs = |f: &[String], i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) / 100.0;
    let f = stat(pm);
    let mut total = secs(&f, 11) + secs(&f, 12) + secs(&f, 13) + secs(&f, 14);
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
        let f = stat(pid);
        if f.get(1).and_then(|p| p.parse::<u32>().ok()) == Some(pm) {
            total += secs(&f, 11) + secs(&f, 12);
        }
    }
    total
}

fn rss_mb(pid: u32) -> (f64, f64) {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb = |k: &str| {
        s.lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (kb("VmRSS:") / 1024.0, kb("VmHWM:") / 1024.0)
}

pub fn percentile(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)] as f64 / 1000.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args = Args::parse();
    let _ = nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE, 65_536, 65_536);
    let _ = std::fs::remove_dir_all(&args.dir);
    std::fs::create_dir_all(&args.dir)?;
    let mut conf = rowgate::cluster::logical_decoding();
    conf.extend(
        // synchronous_commit stays on (PostgreSQL's default): with it off, the walsender only sees
        // a commit once the WAL writer flushes it (wal_writer_delay, 200 ms), which is then the latency.
        [("shared_buffers", "512MB"), ("max_connections", "200"), ("log_min_messages", "warning")]
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let opts = ClusterOptions {
        data_dir: args.dir.join("data"),
        socket_dir: args.dir.join("run"),
        tcp_port: Some(args.port),
        fast: false,
        extra_conf: conf,
        socket_port: None,
        log_file: Some(args.dir.join("postgres.log")),
    };
    let cluster = Cluster::start(opts).await.context("start PostgreSQL")?;
    let url = |user: &str| format!("postgres://{user}@127.0.0.1:{}/app", args.port);
    psql(&format!("postgres://postgres@127.0.0.1:{}/postgres", args.port))
        .await?
        .batch_execute("create database app")
        .await?;
    let migrated =
        std::process::Command::new(&args.rowgate).arg("migrate").env("DATABASE_URL", url("postgres")).output()?;
    if !migrated.status.success() {
        bail!("rowgate migrate: {}", String::from_utf8_lossy(&migrated.stderr));
    }
    let admin = psql(&url("postgres")).await?;
    admin.batch_execute(&data_sql(args.orgs)).await.context("data")?;
    eprintln!("data: {} orgs × 10 members, 10 tasks each", args.orgs);

    let api = format!("127.0.0.1:{}", args.port + 1);
    let mut child = tokio::process::Command::new(&args.rowgate)
        .arg("serve")
        .env("DATABASE_URL", url("authenticator"))
        .env("ROWGATE_REALTIME_DB_URL", url("rowgate_replication"))
        .env("ROWGATE_REALTIME_SLOT", "rtbench")
        .env("ROWGATE_JWT_SECRET", SECRET)
        .env("ROWGATE_AUTH_ENABLED", "false")
        .env("ROWGATE_DB_PRE_REQUEST", "internal.check_request")
        .env("ROWGATE_DB_POOL", "8")
        .env("ROWGATE_LISTEN", &api)
        .env("ROWGATE_ADMIN_LISTEN", format!("127.0.0.1:{}", args.port + 2))
        .env("ROWGATE_LOG", std::env::var("RTBENCH_LOG").unwrap_or_else(|_| "warn".into()))
        .env("ROWGATE_LOG_FORMAT", "text")
        .stderr(std::fs::File::create(args.dir.join("rowgate.log"))?)
        .kill_on_drop(true)
        .spawn()
        .context("start rowgate")?;
    let pid = child.id().context("rowgate pid")?;
    let http = reqwest::Client::builder().pool_max_idle_per_host(256).build()?;
    let metrics_url = format!("http://127.0.0.1:{}/metrics", args.port + 2);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = http.get(&metrics_url).send().await.ok().map(|r| r.text());
        let streaming = match text {
            Some(t) => t.await.unwrap_or_default().contains("rowgate_realtime_streaming 1"),
            None => false,
        };
        if streaming {
            break;
        }
        if Instant::now() > deadline {
            bail!("rowgate never streamed changes");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let rest_alone = clients::rest(&http, &api, &args).await;
    eprintln!("REST alone: {rest_alone}");

    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::new(Mutex::new(HashMap::new()));
    let started = Instant::now();
    let subs = clients::subscribe_all(&api, &args, sent.clone()).await?;
    eprintln!(
        "{} subscribers joined in {:.1} s (RSS {:.0} MB)",
        args.subscribers,
        started.elapsed().as_secs_f64(),
        rss_mb(pid).0
    );

    // The measured realtime run.
    let writer = clients::writer(url("postgres"), args.clone(), sent.clone());
    let (cpu0, pg0, recv0) = (cpu_of(pid), postgres_cpu(&args.dir.join("data")), subs.received());
    subs.reset_latencies();
    let t0 = Instant::now();
    let run = tokio::spawn(writer.clone().run(Duration::from_secs(args.duration)));
    let changes = run.await??;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let elapsed = t0.elapsed().as_secs_f64();
    let (cpu1, pg1, recv1) = (cpu_of(pid), postgres_cpu(&args.dir.join("data")), subs.received());
    let latencies = subs.latencies();
    let delivered = recv1 - recv0;
    let (rss, hwm) = rss_mb(pid);
    // Each change is visible to its org's members, filter or not (RLS decides without one).
    let expected = changes * (args.subscribers / args.orgs).max(1) as u64;

    // REST with realtime beside it.
    let more = tokio::spawn(writer.run(Duration::from_secs(args.rest_duration + 2)));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rest_beside = clients::rest(&http, &api, &args).await;
    let _ = more.await;

    let mode = if args.unfiltered { "no filter (RLS alone)" } else { "`org_id=eq.` filter" };
    println!(
        "## Realtime ({} subscribers, {} orgs, {mode}, {} changes/s for {} s)\n",
        args.subscribers, args.orgs, args.rate, args.duration
    );
    println!("| figure | value |\n|---|---|");
    println!("| changes committed | {changes} ({:.0}/s) |", changes as f64 / args.duration as f64);
    println!("| deliveries received | {delivered} of {expected} expected ({:.0}/s) |", delivered as f64 / elapsed);
    println!(
        "| commit → delivery p50 / p99 / max | {:.1} / {:.1} / {:.1} ms |",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0)
    );
    println!(
        "| rowgate CPU | {:.2} s ({:.0} % of a core), {:.1} µs per delivered event |",
        cpu1 - cpu0,
        (cpu1 - cpu0) / elapsed * 100.0,
        (cpu1 - cpu0) * 1e6 / delivered.max(1) as f64
    );
    println!(
        "| PostgreSQL CPU | {:.2} s ({:.0} % of a core), {:.1} µs per delivered event |",
        pg1 - pg0,
        (pg1 - pg0) / elapsed * 100.0,
        (pg1 - pg0) * 1e6 / delivered.max(1) as f64
    );
    println!("| rowgate RSS now / peak | {rss:.0} / {hwm:.0} MB |");
    println!("| REST alone | {rest_alone} |");
    println!("| REST with realtime beside | {rest_beside} |");
    drop(subs);
    let _ = child.kill().await;
    let _ = cluster.stop().await;
    Ok(())
}

//! bench/RESULTS.md (and results.json beside it): what was measured, on what, and how it compares
//! with the targets of SPEC §9. Written by the run; never edited by hand.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use serde::Serialize;

use crate::profile::Profile;
use crate::sample::Sample;
use crate::scale::{IdleRss, SchemaLoad};
use crate::scenarios::{DataSize, Scenario};
use crate::systems::System;
use crate::Args;

#[derive(Debug, Clone, Serialize)]
pub struct FloorSql {
    pub scenario: &'static str,
    /// The statements of the first captured transaction, as rowgate sent them.
    pub statements: Vec<String>,
    /// Whether every captured request of the scenario had the same SQL text (only values differ).
    pub stable: bool,
    /// How many captured requests pgbench replays (one script each).
    pub variants: usize,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Results {
    pub date: String,
    pub commit: String,
    pub machine: Vec<(String, String)>,
    pub versions: Vec<(String, String)>,
    pub settings: Vec<(String, String)>,
    pub samples: Vec<Sample>,
    pub curve: Vec<Sample>,
    pub idle: Vec<IdleRss>,
    pub schema: Vec<SchemaLoad>,
    pub floor_sql: Vec<FloorSql>,
    pub profile: Option<Profile>,
    pub profile_error: Option<String>,
    pub peer_failures: BTreeMap<String, String>,
    /// Phases that stopped early, with why.
    pub errors: Vec<String>,
    /// Tenants at scale (bench/src/tenancy.rs).
    pub tenancy: Option<crate::tenancy::Tenancy>,
    /// Another run's results (`--compare-with`), for the REST figures side by side.
    pub compared: Option<serde_json::Value>,
}

async fn first_line(cmd: &Path, args: &[&str]) -> String {
    match tokio::process::Command::new(cmd).args(args).output().await {
        Ok(o) => {
            let text = if o.stdout.is_empty() { o.stderr } else { o.stdout };
            String::from_utf8_lossy(&text).lines().next().unwrap_or("").trim().to_string()
        }
        Err(e) => format!("unavailable ({e})"),
    }
}

impl Results {
    pub async fn new(args: &Args, size: DataSize, pg_bin: &Path, postrust: Option<&Path>) -> Results {
        let git = |a: &'static [&'static str]| async move { first_line(Path::new("git"), a).await };
        let dirty = !git(&["status", "--porcelain", "--untracked-files=no"]).await.is_empty();
        let commit = format!(
            "{}{}",
            git(&["rev-parse", "--short=12", "HEAD"]).await,
            if dirty { " (with uncommitted changes)" } else { "" }
        );
        let mut versions = vec![
            ("rowgate".to_string(), first_line(&args.rowgate, &["--version"]).await),
            ("PostgreSQL".to_string(), first_line(&pg_bin.join("postgres"), &["--version"]).await),
            ("pgbench".to_string(), first_line(&pg_bin.join("pgbench"), &["--version"]).await),
            ("wrk".to_string(), first_line(Path::new("wrk"), &["-v"]).await),
        ];
        if let Some(p) = postrust {
            versions.push(("postrust-server".to_string(), first_line(p, &["--version"]).await));
        }
        let settings = vec![
            ("data".to_string(), format!(
                "{} orgs × {} members, {} projects and {} tasks per org ({} tasks)",
                size.orgs, size.members, size.projects, size.tasks, size.orgs * size.tasks
            )),
            ("gateway pool / pgbench clients".to_string(), args.pool.to_string()),
            ("run".to_string(), format!("{} s measured after a {} s warm-up per scenario and system; {} round(s), systems alternating in every cell", args.duration, args.warmup, args.rounds)),
            ("load".to_string(), format!("wrk -t2 at {:?} connections; pgbench -M prepared -j2, one pipeline per transaction", args.connections)),
            ("orgs in play".to_string(), format!(
                "the first {} orgs: pgbench replays one captured request per org, wrk rotates over all their acting members' requests (the same rows, different tokens)",
                (args.variants as u64).min(size.orgs)
            )),
            ("scheduler".to_string(), format!("kernel.sched_autogroup_enabled = {} (bench/run turns it off as root: every PostgreSQL backend calls setsid(), so with autogroups each backend is scheduled as its own group and the gateways' requests stalled 0.2–1 s)", autogroup())),
            ("PostgreSQL".to_string(), "shared_buffers 1GB, synchronous_commit off (fsync on), over TCP on 127.0.0.1".to_string()),
            ("gateways".to_string(), "pre-request internal.check_request, HS256 tokens from /auth/v1, rowgate's default log level (one JSON access line per request)".to_string()),
        ];
        Results {
            date: first_line(Path::new("date"), &["-u", "+%Y-%m-%d %H:%M UTC"]).await,
            commit,
            machine: crate::measure::machine_facts(),
            versions,
            settings,
            ..Default::default()
        }
    }
}

fn autogroup() -> String {
    std::fs::read_to_string("/proc/sys/kernel/sched_autogroup_enabled")
        .map_or("unknown".into(), |s| s.trim().to_string())
}

/// Mean over rounds of one (system, scenario, connections) cell.
#[derive(Debug, Clone, Copy, Default)]
struct Cell {
    rps: f64,
    p50_us: f64,
    p99_us: f64,
    errors: u64,
    cpu: (f64, f64, f64),
    peak_rss_kib: u64,
    jwt: (u64, u64),
    n: usize,
}

fn cells(samples: &[Sample]) -> BTreeMap<(&'static str, usize, &'static str), Cell> {
    let mut out: BTreeMap<_, Cell> = BTreeMap::new();
    for s in samples.iter().filter(|s| s.round > 0) {
        let c = out.entry((s.scenario, s.connections, s.system)).or_default();
        let (g, p, l) = s.cpu_us_per_request();
        c.rps += s.rps;
        c.p50_us += s.p50_us as f64;
        c.p99_us += s.p99_us as f64;
        c.errors += s.errors;
        c.cpu = (c.cpu.0 + g, c.cpu.1 + p, c.cpu.2 + l);
        c.peak_rss_kib = c.peak_rss_kib.max(s.peak_rss_kib.unwrap_or(0));
        if let Some((h, m)) = s.jwt_cache {
            c.jwt = (c.jwt.0 + h, c.jwt.1 + m);
        }
        c.n += 1;
    }
    for c in out.values_mut() {
        let n = c.n as f64;
        c.rps /= n;
        c.p50_us /= n;
        c.p99_us /= n;
        c.cpu = (c.cpu.0 / n, c.cpu.1 / n, c.cpu.2 / n);
    }
    out
}

fn ms(us: f64) -> String {
    format!("{:.2}", us / 1000.0)
}

fn ratio(a: Option<&Cell>, b: Option<&Cell>) -> Option<f64> {
    Some(a?.rps / b.filter(|b| b.rps > 0.0)?.rps)
}

fn fmt_ratio(r: Option<f64>) -> String {
    r.map_or_else(|| "—".into(), |r| format!("{r:.2}×"))
}

pub fn markdown(r: &Results) -> String {
    let mut md = String::new();
    let cells = cells(&r.samples);
    let scenarios: Vec<&'static str> =
        Scenario::ALL.iter().map(|s| s.name()).filter(|n| cells.keys().any(|k| k.0 == *n)).collect();
    let connections: Vec<usize> = {
        let mut v: Vec<usize> = cells.keys().map(|k| k.1).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let (rg, fl, pr) = (System::Rowgate.name(), System::Floor.name(), System::Postrust.name());

    let _ = writeln!(md, "# rowgate benchmark results\n");
    let _ = writeln!(
        md,
        "Written by `bench/run` on {} at commit `{}`; rerun it rather than editing this file. \
         What each number means, and how the floor and the peer are run: [README.md](README.md).\n",
        r.date, r.commit
    );
    for e in &r.errors {
        let _ = writeln!(md, "**Incomplete run:** {e}\n");
    }
    let _ = writeln!(md, "## Machine, versions, settings\n\n| | |\n|---|---|");
    for (k, v) in r.machine.iter().chain(&r.versions).chain(&r.settings) {
        let _ = writeln!(md, "| {k} | {v} |");
    }

    let _ = writeln!(md, "\n## Throughput and latency\n");
    let _ = writeln!(
        md,
        "Means over the rounds. *× floor*: rowgate's requests/s over pgbench's transactions/s on the \
         same SQL; *× peer*: over postrust-server's requests/s. Latencies in ms.\n"
    );
    let _ = writeln!(md, "| scenario | conns | rowgate req/s | p50 | p99 | floor tx/s | floor p99 | × floor | postrust req/s | postrust p99 | × peer | errors |");
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for s in &scenarios {
        for &c in &connections {
            let (a, f, p) = (cells.get(&(s, c, rg)), cells.get(&(s, c, fl)), cells.get(&(s, c, pr)));
            let Some(a) = a else { continue };
            let errors = a.errors + f.map_or(0, |f| f.errors) + p.map_or(0, |p| p.errors);
            let peer_na = || if r.peer_failures.contains_key(*s) { "fails".to_string() } else { "—".to_string() };
            let _ = writeln!(
                md,
                "| {s} | {c} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} | {errors} |",
                a.rps,
                ms(a.p50_us),
                ms(a.p99_us),
                f.map_or("—".into(), |f| format!("{:.0}", f.rps)),
                f.map_or("—".into(), |f| ms(f.p99_us)),
                fmt_ratio(ratio(Some(a), f)),
                p.map_or_else(peer_na, |p| format!("{:.0}", p.rps)),
                p.map_or("—".into(), |p| ms(p.p99_us)),
                fmt_ratio(ratio(Some(a), p)),
            );
        }
    }
    if !r.peer_failures.is_empty() {
        let _ = writeln!(md, "\nScenarios postrust-server does not serve (its answer to the first request):\n");
        for (s, why) in &r.peer_failures {
            let _ = writeln!(md, "- {s}: `{}`", why.replace('`', "'").replace('\n', " "));
        }
    }

    variant_section(&mut md, &cells, &scenarios, &connections);
    targets(&mut md, r, &cells, &scenarios);

    let _ = writeln!(md, "\n## CPU per request and memory\n");
    let _ = writeln!(
        md,
        "CPU microseconds per request (or pgbench transaction) of each party, from /proc and getrusage \
         over the measured runs; the machine's two cores are shared by all three. Peak RSS of the \
         gateway during the runs. JWT cache: rowgate's hits / (hits + misses).\n"
    );
    let _ = writeln!(
        md,
        "| scenario | conns | system | gateway µs | PostgreSQL µs | load generator µs | peak RSS MB | JWT cache hits |"
    );
    let _ = writeln!(md, "|---|---:|---|---:|---:|---:|---:|---:|");
    for s in &scenarios {
        for &c in &connections {
            for sys in [rg, System::Variant.name(), fl, pr] {
                let Some(x) = cells.get(&(s, c, sys)) else { continue };
                let jwt = if x.jwt.0 + x.jwt.1 > 0 {
                    format!("{:.1}%", 100.0 * x.jwt.0 as f64 / (x.jwt.0 + x.jwt.1) as f64)
                } else {
                    "—".into()
                };
                let rss =
                    if x.peak_rss_kib > 0 { format!("{:.1}", x.peak_rss_kib as f64 / 1024.0) } else { "—".into() };
                let _ = writeln!(
                    md,
                    "| {s} | {c} | {sys} | {:.1} | {:.1} | {:.1} | {rss} | {jwt} |",
                    x.cpu.0, x.cpu.1, x.cpu.2
                );
            }
        }
    }

    profile_section(&mut md, r);
    scale_section(&mut md, r);
    crate::tenancy::report::section(&mut md, r, &cells_summary(&r.samples));

    let _ = writeln!(md, "\n## The SQL the floor replays\n");
    let _ = writeln!(
        md,
        "Captured on the wire between a rowgate instance and PostgreSQL (`bench/src/capture.rs`), for \
         one request per org of the first orgs; pgbench sends each transaction's statements, with their \
         parameters as bind parameters of the same text, in one pipeline. The first capture of each:\n"
    );
    for f in &r.floor_sql {
        let _ = writeln!(
            md,
            "**{}** — {} variant(s); SQL text the same for every request: {}\n\n```sql",
            f.scenario,
            f.variants,
            if f.stable { "yes" } else { "**no**" }
        );
        for st in &f.statements {
            let _ = writeln!(md, "{};", st.trim_end_matches(';'));
        }
        let _ = writeln!(md, "```\n");
    }

    let _ = writeln!(md, "## Every run\n\n| scenario | conns | round | system | requests | req/s | p50 ms | p99 ms | errors | gateway CPU s | PostgreSQL CPU s | load CPU s |");
    let _ = writeln!(md, "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for s in r.samples.iter().filter(|s| s.round > 0).chain(&r.curve) {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {:.0} | {} | {} | {} | {:.2} | {:.2} | {:.2} |",
            s.scenario,
            s.connections,
            if s.round == 0 { "curve".to_string() } else { s.round.to_string() },
            s.system,
            s.requests,
            s.rps,
            ms(s.p50_us as f64),
            ms(s.p99_us as f64),
            s.errors,
            s.gateway_cpu_s,
            s.postgres_cpu_s,
            s.loadgen_cpu_s
        );
    }
    md
}

type Cells = BTreeMap<(&'static str, usize, &'static str), Cell>;

/// rowgate against its variant (`--variant`), when one ran.
fn variant_section(md: &mut String, cells: &Cells, scenarios: &[&'static str], connections: &[usize]) {
    let (rg, va) = (System::Rowgate.name(), System::Variant.name());
    if !cells.keys().any(|k| k.2 == va) {
        return;
    }
    let _ = writeln!(md, "\n### rowgate and its variant\n");
    let _ = writeln!(
        md,
        "| scenario | conns | rowgate req/s | variant req/s | variant ÷ rowgate | rowgate µs CPU | variant µs CPU |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|");
    for s in scenarios {
        for &c in connections {
            let (Some(a), Some(v)) = (cells.get(&(s, c, rg)), cells.get(&(s, c, va))) else { continue };
            let _ = writeln!(
                md,
                "| {s} | {c} | {:.0} | {:.0} | {} | {:.1} | {:.1} |",
                a.rps,
                v.rps,
                fmt_ratio(ratio(Some(v), Some(a))),
                a.cpu.0,
                v.cpu.0
            );
        }
    }
}

fn targets(md: &mut String, r: &Results, cells: &Cells, scenarios: &[&'static str]) {
    let (rg, fl, pr) = (System::Rowgate.name(), System::Floor.name(), System::Postrust.name());
    let _ = writeln!(md, "\n## Targets (SPEC §9)\n\n| target | measured | met |\n|---|---|---|");
    let mark = |ok: bool| if ok { "yes" } else { "**no**" };
    // The best connection count of each scenario is what the floor comparison is about; the worst
    // is listed too.
    for (what, other, goal) in [("≥ 0.85× the pgbench floor", fl, 0.85), ("≥ 2.5× postrust-server", pr, 2.5)] {
        let mut parts = Vec::new();
        let mut all = true;
        let mut any = false;
        for s in scenarios {
            let rs: Vec<f64> = cells
                .iter()
                .filter(|(k, _)| k.0 == *s && k.2 == rg)
                .filter_map(|(k, a)| ratio(Some(a), cells.get(&(s, k.1, other))))
                .collect();
            if rs.is_empty() {
                continue;
            }
            any = true;
            let best = rs.iter().cloned().fold(f64::MIN, f64::max);
            let worst = rs.iter().cloned().fold(f64::MAX, f64::min);
            all &= best >= goal;
            parts.push(format!("{s} {best:.2}× (worst {worst:.2}×)"));
        }
        if any {
            let _ = writeln!(
                md,
                "| every scenario {what} (best connection count) | {} | {} |",
                parts.join("; "),
                mark(all)
            );
        }
    }
    if let Some(s) = r.curve.iter().find(|s| s.system == rg && s.connections == 32 && s.scenario == "single") {
        let inside = match (s.server_p99_le_ms, s.server_within_10ms) {
            (Some(b), Some(w)) => {
                format!("; inside rowgate (its own histogram) p99 ≤ {b} ms, {:.2}% within 10 ms", w * 100.0)
            }
            _ => String::new(),
        };
        let _ = writeln!(
            md,
            "| single-row p99 < 10 ms at 32 connections | {} ms seen by wrk (p99.9 {} ms){inside} | {} |",
            ms(s.p99_us as f64),
            s.p999_us.map_or("—".into(), |v| ms(v as f64)),
            mark(s.p99_us < 10_000)
        );
    }
    if let Some(i) = r.idle.iter().find(|i| i.system == rg && i.clients == 100) {
        let mb = i.rss_with_clients_kib as f64 / 1024.0;
        let _ = writeln!(
            md,
            "| RSS < 30 MB with 100 connections | {mb:.1} MB (100 keep-alive clients) | {} |",
            mark(mb < 30.0)
        );
    }
    if let Some(l) = r.schema.iter().find(|l| l.tables == 5000) {
        let _ = writeln!(
            md,
            "| 5,000-table schema cache in < 2 s | {:.3} s | {} |",
            l.load_seconds,
            mark(l.load_seconds < 2.0)
        );
    }
}

fn profile_section(md: &mut String, r: &Results) {
    let _ = writeln!(md, "\n## Where rowgate's CPU goes\n");
    match (&r.profile, &r.profile_error) {
        (Some(p), _) => {
            let _ = writeln!(
                md,
                "`perf record -e cpu-clock` on the gateway during a {}-connection single-row run ({:.0} req/s, {} samples), \
                 flat profile by symbol, grouped by the rules in `bench/src/profile.rs`:\n",
                p.connections, p.rps, p.samples
            );
            let _ = writeln!(md, "| group | share of rowgate's CPU |\n|---|---:|");
            for (g, pct) in &p.groups {
                let _ = writeln!(md, "| {g} | {pct:.1}% |");
            }
            let _ = writeln!(md, "\nThe hottest symbols:\n\n| % | object | symbol |\n|---:|---|---|");
            for (pct, dso, sym) in p.top.iter().take(25) {
                let mut sym = sym.replace('|', "\\|");
                if sym.len() > 110 {
                    sym.truncate(110);
                    sym.push('…');
                }
                let _ = writeln!(md, "| {pct:.2} | {dso} | `{sym}` |");
            }
        }
        (None, Some(e)) => {
            let _ = writeln!(md, "No profile this run: {e}");
        }
        _ => {
            let _ = writeln!(md, "Not profiled this run.");
        }
    }
}

fn scale_section(md: &mut String, r: &Results) {
    if r.curve.is_empty() && r.idle.is_empty() && r.schema.is_empty() {
        return;
    }
    let _ = writeln!(md, "\n## Scale\n");
    if !r.curve.is_empty() {
        let _ = writeln!(md, "### Single-row reads by connections (one run each)\n");
        let _ = writeln!(
            md,
            "| conns | rowgate req/s | rowgate p99 ms | postrust req/s | postrust p99 ms |\n|---:|---:|---:|---:|---:|"
        );
        let mut conns: Vec<usize> = r.curve.iter().map(|s| s.connections).collect();
        conns.dedup();
        for c in conns {
            let find = |sys: &str| r.curve.iter().find(|s| s.connections == c && s.system == sys);
            let (a, p) = (find(System::Rowgate.name()), find(System::Postrust.name()));
            let _ = writeln!(
                md,
                "| {c} | {} | {} | {} | {} |",
                a.map_or("—".into(), |s| format!("{:.0}", s.rps)),
                a.map_or("—".into(), |s| ms(s.p99_us as f64)),
                p.map_or("—".into(), |s| format!("{:.0}", s.rps)),
                p.map_or("—".into(), |s| ms(s.p99_us as f64)),
            );
        }
    }
    if !r.idle.is_empty() {
        let _ = writeln!(md, "\n### Memory with idle keep-alive clients\n\nEach client sent one authenticated single-row read and stays connected.\n");
        let _ = writeln!(md, "| system | clients | RSS before MB | RSS with the clients MB |\n|---|---:|---:|---:|");
        for i in &r.idle {
            let _ = writeln!(
                md,
                "| {} | {} | {:.1} | {:.1} |",
                i.system,
                i.clients,
                i.rss_before_kib as f64 / 1024.0,
                i.rss_with_clients_kib as f64 / 1024.0
            );
        }
    }
    if !r.schema.is_empty() {
        let _ = writeln!(
            md,
            "\n### Schema cache by schema size\n\nGenerated tables (7 columns, a primary key, a foreign key to the previous one) \
             beside the reference schema; load time from `rowgate_schema_cache_last_load_duration_seconds`, RSS once ready.\n"
        );
        let _ = writeln!(md, "| generated tables | load s | start to ready s | RSS MB |\n|---:|---:|---:|---:|");
        for l in &r.schema {
            let _ = writeln!(
                md,
                "| {} | {:.3} | {:.2} | {:.1} |",
                l.tables,
                l.load_seconds,
                l.ready_seconds,
                l.rss_kib as f64 / 1024.0
            );
        }
    }
}

/// `(scenario, connections) → (rowgate p99 µs, × floor)` of `samples`, means over the rounds.
pub fn cells_summary(samples: &[Sample]) -> BTreeMap<(String, usize), (f64, Option<f64>)> {
    let cells = cells(samples);
    let (rg, fl) = (System::Rowgate.name(), System::Floor.name());
    cells
        .iter()
        .filter(|((_, _, sys), _)| *sys == rg)
        .map(|((s, c, _), a)| ((s.to_string(), *c), (a.p99_us, ratio(Some(a), cells.get(&(s, *c, fl))))))
        .collect()
}

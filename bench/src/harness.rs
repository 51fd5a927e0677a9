//! The run, start to end: the database and its data, the gateways, tokens, the capture of
//! rowgate's SQL for the pgbench floor, the measured runs (systems alternating within every
//! cell), the profile, the scale curves, and the report.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use tokio_postgres::Client;

use crate::capture::{self, Capture, Executed};
use crate::database::{self, Database};
use crate::pgbench;
use crate::profile;
use crate::report::{self, FloorSql, Results};
use crate::sample::{Load, Meter, Sample};
use crate::scale;
use crate::scenarios::{Acting, DataSize, HttpRequest, Scenario, REFRESH_PATH};
use crate::systems::{self, Common, Running, System};
use crate::tokens;
use crate::wrk;
use crate::Args;

/// wrk and pgbench threads: one per core of the machines we measure on.
pub const LOAD_THREADS: usize = 2;

/// The pgbench replay of one scenario.
pub struct Floor {
    scripts: Vec<PathBuf>,
    variables: Vec<(String, String)>,
}

pub struct Bench {
    pub args: Args,
    pub size: DataSize,
    pub db: Database,
    /// The data set's database: bench_<orgs>.
    pub db_name: String,
    pub admin: Client,
    pub postmaster: u32,
    pub pgbench: PathBuf,
    pub common: Common,
    pub rowgate: Running,
    pub postrust: Option<Running>,
    pub variant: Option<Running>,
    /// Access tokens of the acting users, by org (orgs 1 to `orgs_in_play`).
    pub members: Vec<Vec<String>>,
    pub owners: Vec<Vec<String>>,
    /// The orgs every load touches: as many as the floor replays (`--variants`), so that the
    /// gateways and pgbench read the same rows and neither gets the warmer caches.
    pub orgs_in_play: u64,
    pub work: PathBuf,
    floors: BTreeMap<&'static str, Floor>,
    lua: BTreeMap<&'static str, PathBuf>,
    /// Scenarios the peer does not serve correctly, with what it answered.
    pub peer_failures: BTreeMap<&'static str, String>,
    pub results: Results,
    runs: usize,
    /// Makes this invocation's refresh-token names unique (the data set may be reused).
    run_prefix: String,
}

pub async fn run(args: Args) -> Result<()> {
    let scenarios: Vec<Scenario> = if args.scenarios.is_empty() {
        Scenario::ALL.to_vec()
    } else {
        args.scenarios
            .iter()
            .map(|s| Scenario::from_name(s).with_context(|| format!("unknown scenario {s}")))
            .collect::<Result<_>>()?
    };
    ensure!(args.variants >= 1 && args.variants <= 128, "--variants must be 1..=128 (pgbench takes 128 scripts)");
    let mut bench = Bench::set_up(args).await?;
    // Whatever happens, what was measured is reported.
    let measured = bench.measure_all(&scenarios).await;
    if let Err(e) = &measured {
        bench.results.errors.push(format!("the measured runs stopped: {e:#}"));
    }
    let reported = bench.finish(measured.is_ok()).await;
    bench.tear_down().await;
    measured.and(reported)
}

impl Bench {
    async fn set_up(args: Args) -> Result<Bench> {
        let size = DataSize { orgs: if args.quick { 100 } else { args.orgs }, ..DataSize::FULL };
        let db_name = format!("bench_{}", size.orgs);
        raise_open_files_limit();
        ensure!(
            args.rowgate.exists(),
            "{} not found (bench/run builds it: cargo build --profile profiling)",
            args.rowgate.display()
        );
        let pgbench = rowgate::cluster::PgBinaries::find()?.dir.join("pgbench");
        ensure!(pgbench.exists(), "{} not found", pgbench.display());
        which("wrk")?;
        let work = args.dir.join("work");
        let _ = std::fs::remove_dir_all(&work);
        std::fs::create_dir_all(&work)?;

        let db = Database::start(&args.dir.join("pg"), args.port_base, args.pg_stat_statements).await?;
        if args.reuse_data && db.has_data(&db_name, size).await? {
            println!("reusing the data set in {} ({db_name})", args.dir.display());
            database::migrate(&args.rowgate, &db.url("postgres", &db_name)).await?;
        } else {
            println!("generating the data set ({} orgs × {} tasks) in {db_name}…", size.orgs, size.tasks);
            let started = std::time::Instant::now();
            db.create(&db_name, &args.rowgate, size).await?;
            println!("  done in {:.0} s", started.elapsed().as_secs_f64());
        }
        let admin = db.connect("postgres", &db_name).await?;
        if args.pg_stat_statements {
            admin.batch_execute("create extension if not exists pg_stat_statements").await?;
        }
        let postmaster = db.postmaster_pid()?;
        let common = Common {
            database_url: db.url("authenticator", &db_name),
            jwt_secret: random_secret(),
            pool: args.pool,
            log_dir: work.clone(),
        };
        let rowgate = systems::start_rowgate(&args.rowgate, &common, args.port_base + 10, "rowgate", None, &[]).await?;
        let variant = match (&args.variant, args.variant_env.is_empty()) {
            (None, true) => None,
            (bin, _) => {
                let bin = bin.as_ref().unwrap_or(&args.rowgate);
                let port = args.port_base + 50;
                Some(systems::start_rowgate(bin, &common, port, "rowgate-variant", None, &args.variant_env).await?)
            }
        };
        let orgs_in_play = (args.variants as u64).min(size.orgs);
        let members = tokens::sign_in(&rowgate.base_url, size, orgs_in_play, Acting::Member).await?;
        let owners = tokens::sign_in(&rowgate.base_url, size, orgs_in_play, Acting::Owner).await?;
        println!(
            "signed in {} members and {} owners of {orgs_in_play} orgs",
            members.iter().map(Vec::len).sum::<usize>(),
            owners.len()
        );
        let postrust_bin = args.postrust.clone().or_else(|| {
            let default = PathBuf::from("bench/.tools/bin/postrust");
            default.exists().then_some(default)
        });
        let postrust = match &postrust_bin {
            Some(bin) => Some(systems::start_postrust(bin, &common, args.port_base + 30).await?),
            None => {
                println!("no postrust binary: the peer columns stay empty (bench/run installs it)");
                None
            }
        };
        let results =
            Results::new(&args, size, &rowgate::cluster::PgBinaries::find()?.dir, postrust_bin.as_deref()).await;
        Ok(Bench {
            args,
            size,
            db,
            db_name,
            admin,
            postmaster,
            pgbench,
            common,
            rowgate,
            postrust,
            variant,
            members,
            owners,
            orgs_in_play,
            work,
            floors: BTreeMap::new(),
            lua: BTreeMap::new(),
            peer_failures: BTreeMap::new(),
            results,
            runs: 0,
            run_prefix: format!(
                "{:x}",
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
            ),
        })
    }

    async fn tear_down(self) {
        self.rowgate.stop().await;
        for r in [self.postrust, self.variant].into_iter().flatten() {
            r.stop().await;
        }
        let _ = self.db.cluster.stop().await;
    }

    fn tokens(&self, acting: Acting) -> &[Vec<String>] {
        match acting {
            Acting::Member => &self.members,
            Acting::Owner => &self.owners,
        }
    }

    /// The requests wrk rotates over (not Refresh): every acting user of the orgs in play, in
    /// rounds over the orgs, so the first `orgs_in_play` are one per org (the ones the floor
    /// replays) and the JWT cache sees every user's token.
    pub fn requests(&self, scenario: Scenario) -> Vec<HttpRequest> {
        let tokens = self.tokens(scenario.acting());
        let per_org = tokens.iter().map(Vec::len).max().unwrap_or(0);
        (0..per_org)
            .flat_map(|k| {
                tokens.iter().enumerate().filter_map(move |(i, org_tokens)| {
                    org_tokens.get(k).map(|t| scenario.request(self.size, i as u64 + 1, t))
                })
            })
            .collect()
    }

    fn next_run(&mut self) -> String {
        self.runs += 1;
        format!("{}r{}", self.run_prefix, self.runs)
    }

    async fn measure_all(&mut self, scenarios: &[Scenario]) -> Result<()> {
        self.capture_floors(scenarios).await?;
        self.check_peer(scenarios).await?;
        for &scenario in scenarios {
            if scenario != Scenario::Refresh {
                let path = self.work.join(format!("{scenario}.lua"));
                std::fs::write(&path, wrk::script(&self.requests(scenario)))?;
                self.lua.insert(scenario.name(), path);
            }
            println!("\n{scenario}: {}", scenario.title());
            for system in self.systems(scenario) {
                self.sample(system, scenario, 16, 0, Duration::from_secs(self.args.warmup)).await?;
            }
            for &connections in &self.args.connections.clone() {
                for round in 1..=self.args.rounds {
                    for system in self.systems(scenario) {
                        let s = self.sample(system, scenario, connections, round, self.duration()).await?;
                        println!(
                            "  {:<16} c={:<4} round {round}: {:>8.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  errors {}",
                            system.name(),
                            connections,
                            s.rps,
                            s.p50_us as f64 / 1000.0,
                            s.p99_us as f64 / 1000.0,
                            s.errors
                        );
                        self.results.samples.push(s);
                    }
                }
            }
            self.save()?;
        }
        Ok(())
    }

    fn duration(&self) -> Duration {
        Duration::from_secs(self.args.duration)
    }

    /// The systems of a scenario, in the order they alternate.
    fn systems(&self, scenario: Scenario) -> Vec<System> {
        let mut v = vec![System::Rowgate, System::Floor];
        if self.variant.is_some() {
            v.push(System::Variant);
        }
        if self.postrust.is_some() && scenario.peer_serves() && !self.peer_failures.contains_key(scenario.name()) {
            v.push(System::Postrust);
        }
        v
    }

    /// One measured run of `system`, with PostgreSQL's statement statistics when asked for.
    pub async fn sample(
        &mut self,
        system: System,
        scenario: Scenario,
        connections: usize,
        round: usize,
        duration: Duration,
    ) -> Result<Sample> {
        if self.args.pg_stat_statements {
            self.admin.batch_execute("select pg_stat_statements_reset()").await?;
        }
        let sample = self.sample_once(system, scenario, connections, round, duration).await?;
        if self.args.pg_stat_statements {
            let rows = self
                .admin
                .query(
                    "select calls, plans, round(total_plan_time::numeric, 1)::text, round(total_exec_time::numeric, 1)::text, \
                            round((total_exec_time / greatest(calls, 1) * 1000)::numeric, 1)::text, left(query, 160) \
                       from pg_stat_statements order by total_plan_time + total_exec_time desc limit 12",
                    &[],
                )
                .await?;
            let mut text = format!("{} {scenario} c={connections} round {round}: {:.0} req/s\ncalls plans plan_ms exec_ms exec_us/call query\n", system.name(), sample.rps);
            for r in rows {
                let (calls, plans): (i64, i64) = (r.get(0), r.get(1));
                let (p, e, per, q): (String, String, String, String) = (r.get(2), r.get(3), r.get(4), r.get(5));
                text.push_str(&format!("{calls} {plans} {p} {e} {per} {}\n", q.replace('\n', " ")));
            }
            let dir = self.work.join("pgss");
            std::fs::create_dir_all(&dir)?;
            let name = format!("{scenario}-{}-c{connections}-r{round}.txt", system.name().replace(' ', "-"));
            std::fs::write(dir.join(name), text)?;
        }
        Ok(sample)
    }

    async fn sample_once(
        &mut self,
        system: System,
        scenario: Scenario,
        connections: usize,
        round: usize,
        duration: Duration,
    ) -> Result<Sample> {
        match system {
            System::Rowgate | System::Postrust | System::Variant => {
                let script = if scenario == Scenario::Refresh {
                    let run = self.next_run();
                    let chains = connections + 2 * LOAD_THREADS;
                    let tokens = tokens::refresh_tokens(&self.admin, &run, chains, 1).await?;
                    let path = self.work.join(format!("refresh-{run}.lua"));
                    std::fs::write(&path, wrk::refresh_script(REFRESH_PATH, &tokens, LOAD_THREADS.min(connections)))?;
                    path
                } else {
                    self.lua[scenario.name()].clone()
                };
                let (pid, base_url, admin_url) = {
                    let g = match system {
                        System::Rowgate => &self.rowgate,
                        System::Variant => self.variant.as_ref().context("no variant")?,
                        _ => self.postrust.as_ref().context("no peer")?,
                    };
                    (g.pid, g.base_url.clone(), g.admin_url.clone())
                };
                let before = match &admin_url {
                    Some(url) => Some(GatewayStats::read(url).await?),
                    None => None,
                };
                let meter = Meter::start(Some(pid), self.postmaster)?;
                let w = wrk::run(&script, &base_url, connections, LOAD_THREADS, duration).await?;
                if std::env::var_os("ROWGATE_BENCH_TAIL").is_some() {
                    println!(
                        "    tail of {}: p90 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
                        system.name(),
                        w.p90_us as f64 / 1000.0,
                        w.p99_us as f64 / 1000.0,
                        w.p999_us as f64 / 1000.0,
                        w.max_us as f64 / 1000.0
                    );
                }
                let stats = match (&admin_url, before) {
                    (Some(url), Some(before)) => Some(GatewayStats::read(url).await?.since(&before)),
                    _ => None,
                };
                let seconds = w.duration_us as f64 / 1e6;
                let load = Load {
                    requests: w.requests,
                    seconds,
                    rps: w.requests as f64 / seconds.max(1e-9),
                    p50_us: w.p50_us,
                    p99_us: w.p99_us,
                    errors: w.status_errors + w.socket_errors,
                };
                let mut sample =
                    meter.finish(system, scenario, connections, round, load, stats.as_ref().map(|s| s.jwt))?;
                sample.p999_us = Some(w.p999_us);
                sample.max_us = Some(w.max_us);
                if let Some(s) = stats {
                    sample.server_p99_le_ms = s.percentile_bound_ms(99.0);
                    sample.server_within_10ms = s.share_within(0.010);
                }
                Ok(sample)
            }
            System::Floor => {
                let floor = self.floors.get(scenario.name()).context("no captured SQL")?;
                let (scripts, mut variables) = (floor.scripts.clone(), floor.variables.clone());
                let mut refresh = None;
                if scenario == Scenario::Refresh {
                    let run = self.next_run();
                    // Room for 20,000 refreshes a second over the whole run, warm-up included.
                    let seconds = (duration + Duration::from_secs(self.args.warmup)).as_secs() as usize;
                    let per_chain = 20_000 * seconds / self.args.pool.max(1) + 500;
                    tokens::refresh_tokens(&self.admin, &run, self.args.pool, per_chain).await?;
                    variables.push(("run".into(), run.clone()));
                    variables.push(("seq".into(), "0".into()));
                    refresh = Some((run, per_chain));
                }
                let log_dir = self.work.join("pgbench-log");
                let warmup = Duration::from_secs(self.args.warmup);
                let run = pgbench::run(pgbench::Run {
                    pgbench: &self.pgbench,
                    conninfo: &self.common.database_url,
                    scripts: &scripts,
                    variables: &variables,
                    clients: self.args.pool,
                    threads: LOAD_THREADS,
                    warmup,
                    duration,
                    log_dir: &log_dir,
                });
                // CPU is metered from the end of pgbench's warm-up, like its transactions.
                let postmaster = self.postmaster;
                let metered = async {
                    tokio::time::sleep(warmup).await;
                    Meter::start(None, postmaster)
                };
                let (p, meter) = tokio::join!(run, metered);
                let (p, meter) = (p?, meter?);
                let mut errors = p.failed;
                if let Some((run, per_chain)) = refresh {
                    let (used, most) = tokens::refresh_tokens_used(&self.admin, &run, self.args.pool).await?;
                    ensure!((most as usize) < per_chain, "a pgbench client ran out of refresh tokens");
                    errors += (p.all_transactions as i64 - used).max(0) as u64;
                }
                let load = Load {
                    requests: p.transactions,
                    seconds: p.transactions as f64 / p.tps.max(1e-9),
                    rps: p.tps,
                    p50_us: p.p50_us,
                    p99_us: p.p99_us,
                    errors,
                };
                meter.finish(system, scenario, connections, round, load, None)
            }
        }
    }

    /// Runs `variants` requests of every scenario through a second rowgate instance whose
    /// database connection passes through the capture proxy, and turns what it sent into
    /// pgbench scripts.
    async fn capture_floors(&mut self, scenarios: &[Scenario]) -> Result<()> {
        println!("capturing the SQL rowgate sends…");
        let cap = Capture::start(([127, 0, 0, 1], self.args.port_base).into()).await?;
        let url = format!("postgres://authenticator@{}/{}", cap.addr, self.db_name);
        let capturer = systems::start_rowgate(
            &self.args.rowgate,
            &self.common,
            self.args.port_base + 20,
            "rowgate-capture",
            Some(&url),
            &[],
        )
        .await?;
        let http = reqwest::Client::new();
        let outcome = async {
            let k = self.orgs_in_play as usize;
            for &scenario in scenarios {
                cap.take();
                let requests: Vec<HttpRequest> = if scenario == Scenario::Refresh {
                    let tokens = tokens::refresh_tokens(&self.admin, &format!("{}cap", self.run_prefix), k, 1).await?;
                    tokens.iter().map(|t| scenario.request(self.size, 1, t)).collect()
                } else {
                    self.requests(scenario).into_iter().take(k).collect()
                };
                for r in &requests {
                    let (status, body) = send(&http, &capturer.base_url, r).await?;
                    ensure!(scenario.expected_status().contains(&status), "{scenario} during capture: {status} {body}");
                }
                let txs = capture::transactions(&cap.take());
                ensure!(
                    txs.len() == requests.len(),
                    "{scenario}: captured {} transactions for {} requests",
                    txs.len(),
                    requests.len()
                );
                let shapes: HashSet<Vec<&str>> = txs.iter().map(|tx| tx.iter().map(Executed::sql).collect()).collect();
                let floor = self.write_floor(scenario, &txs)?;
                self.results.floor_sql.push(FloorSql {
                    scenario: scenario.name(),
                    statements: txs[0].iter().map(|e| e.sql().to_string()).collect(),
                    stable: shapes.len() == 1,
                    variants: if scenario == Scenario::Refresh { 1 } else { txs.len() },
                });
                self.floors.insert(scenario.name(), floor);
            }
            Ok::<(), anyhow::Error>(())
        }
        .await;
        capturer.stop().await;
        outcome
    }

    fn write_floor(&self, scenario: Scenario, txs: &[Vec<Executed>]) -> Result<Floor> {
        let dir = self.work.join("pgbench").join(scenario.name());
        std::fs::create_dir_all(&dir)?;
        let mut floor = Floor { scripts: Vec::new(), variables: Vec::new() };
        if scenario == Scenario::Refresh {
            // The refresh token is single-use: the script names one of bench.refresh_tokens' tokens
            // per transaction (chain = pgbench client, n = its sequence) instead of replaying one.
            let at = txs[0].iter().position(|e| e.sql().contains("auth.refresh(")).context("no auth.refresh call")?;
            let expr = "'bench-rt-' || :run::text || '-' || :client_id::text || '-' || :seq::text";
            let s = pgbench::script(&txs[0], "v0", &[(at, 1, expr)])?;
            let path = dir.join("v0.sql");
            std::fs::write(&path, &s.text)?;
            floor.scripts.push(path);
            floor.variables = s.variables;
            return Ok(floor);
        }
        for (i, tx) in txs.iter().enumerate() {
            let s = pgbench::script(tx, &format!("v{i}"), &[])?;
            let path = dir.join(format!("v{i}.sql"));
            std::fs::write(&path, &s.text)?;
            floor.scripts.push(path);
            floor.variables.extend(s.variables);
        }
        Ok(floor)
    }

    /// Sends every scenario's first request to the peer; a scenario it answers wrongly is
    /// reported, not measured.
    async fn check_peer(&mut self, scenarios: &[Scenario]) -> Result<()> {
        let Some(peer) = &self.postrust else { return Ok(()) };
        let http = reqwest::Client::new();
        for &scenario in scenarios.iter().filter(|s| s.peer_serves()) {
            let r = &self.requests(scenario)[0];
            let (status, body) = send(&http, &peer.base_url, r).await?;
            if !scenario.expected_status().contains(&status) {
                let mut body = body;
                body.truncate(300);
                println!("postrust-server does not serve {scenario}: {status} {body}");
                self.peer_failures.insert(scenario.name(), format!("{status} {body}"));
            }
        }
        Ok(())
    }

    async fn finish(&mut self, measured: bool) -> Result<()> {
        let has_single = measured && self.lua.contains_key(Scenario::Single.name());
        if has_single && !self.args.skip_profile {
            match profile::read_path(self).await {
                Ok(p) => self.results.profile = Some(p),
                Err(e) => {
                    println!("no profile: {e:#}");
                    self.results.profile_error = Some(format!("{e:#}"));
                }
            }
        }
        if has_single && !self.args.skip_scale {
            if let Err(e) = scale::curves(self).await {
                println!("scale curves stopped: {e:#}");
                self.results.errors.push(format!("the scale curves stopped: {e:#}"));
            }
        }
        crate::tenancy::run(self).await;
        self.save()
    }

    /// Writes RESULTS.md and results.json with what has been measured so far.
    fn save(&self) -> Result<()> {
        let markdown = report::markdown(&self.results);
        std::fs::write(&self.args.out, markdown).with_context(|| format!("write {}", self.args.out.display()))?;
        // RESULTS.md's is results.json (as always); another report's, <its name>.json.
        let json = match self.args.out.file_name().and_then(|n| n.to_str()) {
            Some("RESULTS.md") => self.args.out.with_file_name("results.json"),
            _ => self.args.out.with_extension("json"),
        };
        std::fs::write(&json, serde_json::to_string_pretty(&self.results)?)?;
        println!("\nwrote {} and {}", self.args.out.display(), json.display());
        Ok(())
    }
}

/// Sends one request; its status and body.
pub async fn send(http: &reqwest::Client, base_url: &str, r: &HttpRequest) -> Result<(u16, String)> {
    let mut req = http.request(r.method.parse()?, format!("{base_url}{}", r.path));
    for (k, v) in &r.headers {
        req = req.header(k, v);
    }
    if let Some(b) = &r.body {
        req = req.body(b.clone());
    }
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    Ok((status, resp.text().await?))
}

/// What rowgate's /metrics says: its JWT cache counters and its own request-latency histogram
/// (handler start to response, every kind summed), to tell the gateway's latency from the
/// machine's queueing around it.
struct GatewayStats {
    jwt: (u64, u64),
    /// `(le seconds, cumulative count)`.
    buckets: Vec<(f64, f64)>,
}

impl GatewayStats {
    async fn read(admin_url: &str) -> Result<GatewayStats> {
        let text = reqwest::get(format!("{admin_url}/metrics")).await?.text().await?;
        Ok(GatewayStats::parse(&text))
    }

    fn parse(text: &str) -> GatewayStats {
        let mut buckets: BTreeMap<u64, f64> = BTreeMap::new();
        for line in text.lines().filter(|l| l.starts_with("rowgate_http_request_duration_seconds_bucket{")) {
            let le = line.split("le=\"").nth(1).and_then(|r| r.split('"').next()).unwrap_or("");
            let le = if le == "+Inf" { f64::INFINITY } else { le.parse().unwrap_or(f64::NAN) };
            let count: f64 = line.rsplit(' ').next().and_then(|c| c.parse().ok()).unwrap_or(0.0);
            if !le.is_nan() {
                *buckets.entry(le.to_bits()).or_default() += count;
            }
        }
        let mut buckets: Vec<(f64, f64)> = buckets.into_iter().map(|(b, c)| (f64::from_bits(b), c)).collect();
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        GatewayStats {
            jwt: (metric(text, "rowgate_jwt_cache_hits") as u64, metric(text, "rowgate_jwt_cache_misses") as u64),
            buckets,
        }
    }

    fn since(&self, before: &GatewayStats) -> GatewayStats {
        let old = |le: f64| before.buckets.iter().find(|b| b.0 == le).map_or(0.0, |b| b.1);
        GatewayStats {
            jwt: (self.jwt.0.saturating_sub(before.jwt.0), self.jwt.1.saturating_sub(before.jwt.1)),
            buckets: self.buckets.iter().map(|&(le, c)| (le, c - old(le))).collect(),
        }
    }

    fn total(&self) -> f64 {
        self.buckets.last().map_or(0.0, |b| b.1)
    }

    /// The upper bound (ms) of the bucket holding the `p`th percentile.
    fn percentile_bound_ms(&self, p: f64) -> Option<f64> {
        let want = self.total() * p / 100.0;
        self.buckets.iter().find(|b| b.1 >= want && self.total() > 0.0).map(|b| b.0 * 1000.0)
    }

    /// The share of requests that took at most `le` seconds (a bucket bound).
    fn share_within(&self, le: f64) -> Option<f64> {
        let t = self.total();
        self.buckets.iter().find(|b| (b.0 - le).abs() < 1e-9).filter(|_| t > 0.0).map(|b| b.1 / t)
    }
}

/// The sum of a metric's samples in Prometheus text (counters carry a `_total` suffix).
pub fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            let rest = l.strip_prefix(name).unwrap_or("x");
            let rest = rest.strip_prefix("_total").unwrap_or(rest);
            rest.starts_with([' ', '{'])
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn which(tool: &str) -> Result<PathBuf> {
    std::env::var_os("PATH")
        .and_then(|p| std::env::split_paths(&p).map(|d| d.join(tool)).find(|p| p.exists()))
        .with_context(|| format!("{tool} is not installed (bench/run installs it)"))
}

/// A fresh HS256 secret (40 hex characters from the kernel's random source).
fn random_secret() -> String {
    use std::io::Read;
    let mut bytes = [0u8; 20];
    let _ = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// 1,000 idle clients need more than the usual 1,024 descriptors (children inherit the limit).
fn raise_open_files_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard.min(65_536), hard);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_are_summed_over_their_labels() {
        let text = "# HELP rowgate_jwt_cache_hits x\nrowgate_jwt_cache_hits_total 12\n\
                    rowgate_jwt_cache_misses_total 3\nrowgate_jwt_cache_hits_other 100\n\
                    rowgate_schema_cache_loads_total{outcome=\"ok\"} 2\nrowgate_schema_cache_loads_total{outcome=\"x\"} 1\n";
        assert_eq!(metric(text, "rowgate_jwt_cache_hits"), 12.0);
        assert_eq!(metric(text, "rowgate_schema_cache_loads"), 3.0);
    }

    #[test]
    fn gateway_latency_from_the_histogram() {
        let text = |n: [u64; 4]| {
            format!(
                "rowgate_http_request_duration_seconds_bucket{{le=\"0.005\",kind=\"read\"}} {}\n\
                 rowgate_http_request_duration_seconds_bucket{{le=\"0.01\",kind=\"read\"}} {}\n\
                 rowgate_http_request_duration_seconds_bucket{{le=\"0.05\",kind=\"read\"}} {}\n\
                 rowgate_http_request_duration_seconds_bucket{{le=\"+Inf\",kind=\"read\"}} {}\n",
                n[0], n[1], n[2], n[3]
            )
        };
        let before = GatewayStats::parse(&text([10, 10, 10, 10]));
        let after = GatewayStats::parse(&text([910, 1000, 1009, 1010])).since(&before);
        assert_eq!(after.total(), 1000.0);
        assert_eq!(after.share_within(0.010), Some(0.99));
        assert_eq!(after.percentile_bound_ms(99.0), Some(10.0));
        assert_eq!(after.percentile_bound_ms(99.95), Some(f64::INFINITY));
    }

    #[test]
    fn secrets_are_long_enough_for_hs256_and_differ() {
        let (a, b) = (random_secret(), random_secret());
        assert_eq!(a.len(), 40);
        assert_ne!(a, b);
    }
}

//! Faults and limits: PostgreSQL stopped under load and restarted, pool exhaustion (and its
//! metric), header and body limits, bodies sent too slowly, statement timeouts, SIGTERM draining,
//! idle and slow clients. Timing bounds are generous (a loaded two-core machine must pass); waits
//! poll with deadlines.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use rowgate::config::{Config, ServeArgs};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::*;
use crate::private_cluster::PrivateCluster;

const FIXTURE: &str = include_str!("../../fixtures/resilience.sql");

/// A gateway on a fresh database that also has the resilience fixture.
async fn gateway(tweak: impl FnOnce(&mut ServeArgs)) -> Gateway {
    let db = TestDb::new().await;
    db.admin().await.batch_execute(FIXTURE).await.expect("load the resilience fixture");
    let config = config(&db, tweak);
    Gateway::start_on(db, config).await
}

/// Polls `check` until it holds or `within` passes.
async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

async fn status_of(http: &reqwest::Client, url: &str) -> u16 {
    match tokio::time::timeout(Duration::from_secs(10), http.get(url).send()).await {
        Ok(Ok(r)) => r.status().as_u16(),
        _ => 0,
    }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL stopped under load

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Up,
    Stopping,
    Down,
    Restarting,
    Recovered,
}

const PHASES: [Phase; 5] = [Phase::Up, Phase::Stopping, Phase::Down, Phase::Restarting, Phase::Recovered];

#[derive(Debug)]
struct Sample {
    /// The phase when the request was sent.
    phase: Phase,
    /// 0: no answer within 15 s (a hang); 1: the connection failed.
    status: u16,
    code: String,
    retry_after: Option<String>,
    body: String,
}

#[tokio::test]
async fn postgres_stopped_under_load_is_503_then_recovers_by_itself_listener_included() {
    let mut pg = PrivateCluster::start().await;
    let args = ServeArgs {
        database_url: Some(pg.url()),
        listen: Some("127.0.0.1:0".into()),
        admin_listen: Some("127.0.0.1:0".into()),
        jwt_secret: Some(SECRET.into()),
        db_pool: Some("4".into()),
        db_pool_acquisition_timeout: Some("3".into()),
        log: Some("error".into()),
        ..Default::default()
    };
    let running = rowgate::app::start(Config::from_args(&args, &|_| None).unwrap()).await.unwrap();
    assert!(running.wait_ready(Duration::from_secs(30)).await, "schema cache never loaded");
    let api = format!("http://{}/items?select=id&id=eq.1", running.api_addr);
    let ready = format!("http://{}/ready", running.admin_addr);
    let http = reqwest::Client::new();

    // Four clients keep sending for the whole test.
    let phase = Arc::new(AtomicU8::new(Phase::Up as u8));
    let done = Arc::new(AtomicBool::new(false));
    let samples = Arc::new(Mutex::new(Vec::<Sample>::new()));
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (phase, done, samples, http, api) =
            (phase.clone(), done.clone(), samples.clone(), http.clone(), api.clone());
        workers.push(tokio::spawn(async move {
            while !done.load(Ordering::SeqCst) {
                let sent_in = PHASES[phase.load(Ordering::SeqCst) as usize];
                let sample = match tokio::time::timeout(Duration::from_secs(15), http.get(&api).send()).await {
                    Err(_) => Sample {
                        phase: sent_in,
                        status: 0,
                        code: String::new(),
                        retry_after: None,
                        body: "hang".into(),
                    },
                    Ok(Err(e)) => Sample {
                        phase: sent_in,
                        status: 1,
                        code: String::new(),
                        retry_after: None,
                        body: e.to_string(),
                    },
                    Ok(Ok(resp)) => {
                        let r = Reply::read(resp).await;
                        let code = if r.status == 200 { String::new() } else { r.code() };
                        let retry_after = r.header("retry-after").map(str::to_string);
                        Sample { phase: sent_in, status: r.status, code, retry_after, body: r.body }
                    }
                };
                samples.lock().unwrap().push(sample);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }
    let count = |p: Phase| samples.lock().unwrap().iter().filter(|s| s.phase == p).count();
    let set = |p: Phase| phase.store(p as u8, Ordering::SeqCst);

    assert!(
        eventually(Duration::from_secs(30), || async { count(Phase::Up) >= 20 }).await,
        "no load before the outage"
    );
    set(Phase::Stopping);
    pg.stop().await;
    set(Phase::Down);
    assert!(
        eventually(Duration::from_secs(60), || async { count(Phase::Down) >= 40 }).await,
        "no answers during the outage"
    );
    assert!(
        eventually(Duration::from_secs(10), || async { status_of(&http, &ready).await == 503 }).await,
        "/ready stayed 200"
    );

    set(Phase::Restarting);
    pg.restart().await;
    let back = || samples.lock().unwrap().iter().any(|s| s.phase == Phase::Restarting && s.status == 200);
    assert!(eventually(Duration::from_secs(60), || async { back() }).await, "requests never succeeded again");
    set(Phase::Recovered);
    assert!(eventually(Duration::from_secs(30), || async { count(Phase::Recovered) >= 40 }).await);
    done.store(true, Ordering::SeqCst);
    for w in workers {
        w.await.unwrap();
    }
    assert!(
        eventually(Duration::from_secs(10), || async { status_of(&http, &ready).await == 200 }).await,
        "/ready stayed 503"
    );

    let samples = std::mem::take(&mut *samples.lock().unwrap());
    for s in &samples {
        let outage_answer = s.status == 503
            && ["PGRST000", "PGRST001"].contains(&s.code.as_str())
            && s.retry_after.as_deref().is_some_and(|v| v.parse::<u64>().is_ok());
        assert!(s.status == 200 || outage_answer, "neither 200 nor a clean 503: {s:?}");
        match s.phase {
            Phase::Down => assert_eq!(s.status, 503, "{s:?}"),
            Phase::Recovered => assert_eq!(s.status, 200, "{s:?}"),
            _ => {}
        }
        if s.status == 503 {
            let body: serde_json::Value = serde_json::from_str(&s.body).unwrap();
            let keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(keys, ["code", "details", "hint", "message"], "PostgREST error shape: {s:?}");
        }
    }

    // The LISTEN connection came back too: wait for it, let the reload its reconnect triggers
    // settle, then only a NOTIFY can make a new column known.
    let admin = pg.admin().await;
    let listening = || async {
        let n: i64 = admin
            .query_one("select count(*) from pg_stat_activity where query = 'LISTEN pgrst'", &[])
            .await
            .unwrap()
            .get(0);
        n == 1
    };
    assert!(eventually(Duration::from_secs(30), listening).await, "the schema listener never reconnected");
    let cache = || running.state.schema.load_full().map(|c| Arc::as_ptr(&c) as usize);
    let settled = eventually(Duration::from_secs(30), || async {
        let before = cache();
        tokio::time::sleep(Duration::from_secs(1)).await;
        cache() == before
    });
    assert!(settled.await, "schema cache kept reloading");
    admin
        .batch_execute(
            "alter table api.items add column after_outage text default 'back'; notify pgrst, 'reload schema'",
        )
        .await
        .unwrap();
    let column = format!("http://{}/items?select=after_outage&id=eq.1", running.api_addr);
    let visible = eventually(Duration::from_secs(20), || async {
        let r = Reply::read(http.get(&column).send().await.unwrap()).await;
        r.status == 200 && r.json() == json!([{"after_outage": "back"}])
    });
    assert!(visible.await, "NOTIFY after the outage did not reload the schema cache");
    running.shutdown().await;
}

/// The value of an unlabelled sample on the gateway's `/metrics`.
async fn metric(g: &Gateway, name: &str) -> f64 {
    let text = g.http.get(g.admin_url("/metrics")).send().await.expect("scrape").text().await.expect("metrics");
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{name} is not on /metrics:\n{text}"))
}

// ---------------------------------------------------------------------------------------------
// Pool exhaustion (the single-request case is in context.rs)

#[tokio::test]
async fn a_crowd_waiting_for_a_busy_pool_gets_504_not_a_hang() {
    let g = Arc::new(
        gateway(|a| {
            a.db_pool = Some("1".into());
            a.db_pool_acquisition_timeout = Some("1".into());
            a.statement_timeout = Some("30s".into());
        })
        .await,
    );
    let slow = {
        let g = g.clone();
        tokio::spawn(async move { g.get("/rpc/nap?seconds=4").await })
    };
    let admin = g.db.admin().await;
    let sleeping = || async {
        let n: i64 = admin
            .query_one("select count(*) from pg_stat_activity where query like '%pg_sleep%' and state = 'active'", &[])
            .await
            .unwrap()
            .get(0);
        n > 0
    };
    assert!(eventually(Duration::from_secs(10), sleeping).await, "the slow request never started");
    let timeouts_before = metric(&g, "rowgate_db_pool_acquisition_timeouts_total").await;
    let started = Instant::now();
    let crowd: Vec<_> = (0..12)
        .map(|_| {
            let g = g.clone();
            tokio::spawn(async move { tokio::time::timeout(Duration::from_secs(10), g.get("/items?id=eq.1")).await })
        })
        .collect();
    for c in crowd {
        let r = c.await.unwrap().expect("a request waited for the pool for more than 10 s");
        assert_eq!((r.status, r.code()), (504, "PGRST003".to_string()), "{}", r.body);
    }
    assert!(started.elapsed() < Duration::from_secs(8), "504s took {:?}", started.elapsed());
    // Each 504 is counted on /metrics.
    let timeouts_after = metric(&g, "rowgate_db_pool_acquisition_timeouts_total").await;
    assert_eq!(timeouts_after - timeouts_before, 12.0, "acquisition timeouts counted");
    let slow = slow.await.unwrap();
    assert_eq!(slow.status, 200, "{}", slow.body);
    assert_eq!(g.get("/items?id=eq.1").await.status, 200, "the pool recovers");
}

// ---------------------------------------------------------------------------------------------
// Header and body limits

#[tokio::test]
async fn statement_timeout_is_a_clean_error_and_the_connection_is_reused_clean() {
    let g = gateway(|a| {
        a.db_pool = Some("1".into());
        a.statement_timeout = Some("300ms".into());
    })
    .await;
    let before = g.get("/rpc/backend").await.json();
    let pid = before["pid"].as_i64().unwrap();
    assert_eq!(before["statement_timeout"], "300ms");

    let alice = bearer(json!({"role": "authenticated", "sub": "alice"}));
    let started = Instant::now();
    let r = g.get_with("/rpc/nap?seconds=5", &[("authorization", &alice)]).await;
    assert!(started.elapsed() < Duration::from_secs(4), "the timeout did not stop the statement");
    assert_eq!(r.status, 500, "{}", r.body);
    assert_eq!(
        r.json(),
        json!({"code": "57014", "message": "canceling statement due to statement timeout", "details": null, "hint": null})
    );

    // The one connection is idle (not in an aborted transaction) and serves the next request
    // with nothing of the timed-out one left on it.
    let admin = g.db.admin().await;
    // (Polled: the schema reload that follows the listener's first connect may be using it.)
    let idle = eventually(Duration::from_secs(10), || async {
        let row = admin.query_one("select state from pg_stat_activity where pid = $1", &[&(pid as i32)]).await.unwrap();
        row.get::<_, Option<String>>(0).as_deref() == Some("idle")
    });
    assert!(idle.await, "the connection did not return to idle");
    let after = g.get("/rpc/backend").await;
    assert_eq!(after.status, 200, "{}", after.body);
    let after = after.json();
    assert_eq!(after["pid"].as_i64(), Some(pid), "the pool of 1 used another connection");
    assert_eq!(after["role"], "anon");
    assert_eq!(after["claims"], "{\"role\":\"anon\"}");
    assert_eq!(g.get("/rpc/nap?seconds=0").await.json(), json!("rested"));
}

// ---------------------------------------------------------------------------------------------
// SIGTERM

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test]
async fn sigterm_drains_in_flight_requests_refuses_new_ones_and_exits_zero() {
    let db = TestDb::new().await;
    db.admin().await.batch_execute(FIXTURE).await.unwrap();
    let (api, admin_port) = (free_port(), free_port());
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_rowgate"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", db.url())
        .env("ROWGATE_JWT_SECRET", SECRET)
        .env("ROWGATE_LISTEN", format!("127.0.0.1:{api}"))
        .env("ROWGATE_ADMIN_LISTEN", format!("127.0.0.1:{admin_port}"))
        .env("ROWGATE_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(log.reopen().unwrap())
        .spawn()
        .unwrap();
    let stderr = || std::fs::read_to_string(log.path()).unwrap_or_default();
    let http = reqwest::Client::new();
    let ready_url = format!("http://127.0.0.1:{admin_port}/ready");
    if !eventually(Duration::from_secs(60), || async { status_of(&http, &ready_url).await == 200 }).await {
        let _ = child.kill();
        panic!("rowgate never became ready: {}", stderr());
    }

    let slow = {
        let url = format!("http://127.0.0.1:{api}/rpc/nap?seconds=1.5");
        tokio::spawn(async move { Reply::read(reqwest::get(url).await.expect("the in-flight request failed")).await })
    };
    let admin = db.admin().await;
    let sleeping = || async {
        let n: i64 = admin
            .query_one("select count(*) from pg_stat_activity where query like '%pg_sleep%' and state = 'active'", &[])
            .await
            .unwrap()
            .get(0);
        n > 0
    };
    assert!(eventually(Duration::from_secs(10), sleeping).await, "the slow request never reached PostgreSQL");

    let signalled = Instant::now();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM).unwrap();
    let refused = eventually(Duration::from_secs(10), || async {
        matches!(TcpStream::connect(("127.0.0.1", api)).await, Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused)
    });
    assert!(refused.await, "new connections still accepted after SIGTERM");

    let r = slow.await.unwrap();
    assert_eq!((r.status, r.json()), (200, json!("rested")), "the in-flight request was not drained");
    let exited = eventually(Duration::from_secs(20), || {
        let status = child.try_wait().unwrap();
        async move { status.is_some() }
    });
    if !exited.await {
        let _ = child.kill();
        panic!("rowgate still running 20 s after SIGTERM: {}", stderr());
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status {status}: {}", stderr());
    assert!(signalled.elapsed() < Duration::from_secs(25));
}

// ---------------------------------------------------------------------------------------------
// Idle and slow clients

/// How long until the server closes `s` (reads EOF or a reset), up to `within`.
async fn closed_after(s: &mut TcpStream, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(within.saturating_sub(started.elapsed()), s.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test]
async fn silent_idle_and_dripping_clients_are_disconnected_without_holding_the_pool() {
    // Short idle timeout, long head timeout: only idleness can close these.
    let idle = gateway(|a| {
        a.db_pool = Some("1".into());
        a.idle_timeout = Some("1s".into());
        a.header_read_timeout = Some("60s".into());
    })
    .await;
    let silent = {
        let mut s = TcpStream::connect(idle.running.api_addr).await.unwrap();
        tokio::spawn(async move { closed_after(&mut s, Duration::from_secs(15)).await })
    };
    let mut kept_alive = TcpStream::connect(idle.running.api_addr).await.unwrap();
    kept_alive.write_all(b"GET /items?id=eq.1 HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut head = [0u8; 12];
    kept_alive.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    // The one pooled connection is free for others meanwhile.
    assert_eq!(idle.get("/items?id=eq.1").await.status, 200);
    // A request running longer than the idle timeout is not cut.
    assert_eq!(idle.get("/rpc/nap?seconds=1.5").await.status, 200);
    let t = silent.await.unwrap().expect("a silent client was never disconnected");
    assert!(t >= Duration::from_millis(900), "closed before the idle timeout: {t:?}");
    closed_after(&mut kept_alive, Duration::from_secs(15)).await.expect("an idle keep-alive connection stayed open");

    // Long idle timeout, short head timeout: a client dripping a byte every 200 ms is cut.
    let slow = gateway(|a| {
        a.db_pool = Some("1".into());
        a.idle_timeout = Some("60s".into());
        a.header_read_timeout = Some("1s".into());
    })
    .await;
    let addr = slow.running.api_addr;
    let drip = tokio::spawn(async move {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let started = Instant::now();
        for b in b"GET /items HTTP/1.1\r\nHost: x\r\nX-Slow: ".iter().chain(&[b'a'; 200]) {
            if s.write_all(&[*b]).await.is_err() {
                return Some(started.elapsed());
            }
            let mut probe = [0u8; 64];
            if let Ok(r) = tokio::time::timeout(Duration::from_millis(200), s.read(&mut probe)).await {
                // EOF or reset: the server gave up on us.
                if matches!(r, Ok(0) | Err(_)) {
                    return Some(started.elapsed());
                }
            }
        }
        None
    });
    assert_eq!(slow.get("/items?id=eq.1").await.status, 200, "the dripping client holds no pool connection");
    let t = drip.await.unwrap().expect("a client dripping its headers was never disconnected");
    assert!(t >= Duration::from_millis(500) && t < Duration::from_secs(30), "cut after {t:?}");
}

mod http_limits;

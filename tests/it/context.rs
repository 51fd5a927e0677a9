//! Transaction context, round trips, schema reloads and pooled-connection hygiene.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UnixStream};
use tokio::sync::Mutex;

use crate::harness::*;

/// A TCP → Postgres unix-socket proxy that counts round trips: a round trip starts whenever the
/// client sends while every earlier Sync/Query has been answered (ReadyForQuery), i.e. the client
/// had to wait for the server before it could go on.
/// Per connection: round trips and ReadyForQuery messages.
type ConnCounters = Arc<std::sync::Mutex<Vec<(Arc<AtomicU64>, Arc<AtomicU64>)>>>;

struct RoundTripProxy {
    port: u16,
    /// Per connection, in accept order: round trips, and ReadyForQuery messages from the server
    /// (one per Sync or simple query the client sent). Counted per connection so that the
    /// gateway's background connections (tenant gauge, maintenance) do not blur the pool's.
    conns: ConnCounters,
}

#[derive(Default)]
struct Pending {
    outstanding: u64,
}

impl RoundTripProxy {
    async fn start(socket_path: std::path::PathBuf) -> RoundTripProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let conns: ConnCounters = Arc::default();
        let all = conns.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (counter, ready_counter) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
                all.lock().unwrap().push((counter.clone(), ready_counter.clone()));
                let server = UnixStream::connect(&socket_path).await.unwrap();
                let pending = Arc::new(Mutex::new(Pending::default()));
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let (p1, c1) = (pending.clone(), counter.clone());
                tokio::spawn(async move {
                    let mut frames = Frames::new(true);
                    let mut buf = vec![0u8; 65536];
                    while let Ok(n) = cr.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        let syncs = frames.feed(&buf[..n], |t| t == b'S' || t == b'Q');
                        {
                            let mut p = p1.lock().await;
                            if p.outstanding == 0 {
                                c1.fetch_add(1, Ordering::SeqCst);
                            }
                            p.outstanding += syncs;
                        }
                        if sw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
                tokio::spawn(async move {
                    let mut frames = Frames::new(false);
                    let mut buf = vec![0u8; 65536];
                    while let Ok(n) = sr.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        let ready = frames.feed(&buf[..n], |t| t == b'Z');
                        ready_counter.fetch_add(ready, Ordering::SeqCst);
                        if cw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                        let mut p = pending.lock().await;
                        p.outstanding = p.outstanding.saturating_sub(ready);
                    }
                });
            }
        });
        RoundTripProxy { port, conns }
    }

    /// Every connection's (round trips, ReadyForQuery) so far.
    fn counts(&self) -> Vec<(u64, u64)> {
        let conns = self.conns.lock().unwrap();
        conns.iter().map(|(r, z)| (r.load(Ordering::SeqCst), z.load(Ordering::SeqCst))).collect()
    }

    /// Since `before`: the (round trips, ReadyForQuery) of the busiest connection — the pool's
    /// one connection, which carries every request.
    fn busiest_since(&self, before: &[(u64, u64)]) -> (u64, u64) {
        let now = self.counts();
        let delta = |i: usize, (r, z): (u64, u64)| {
            let (r0, z0) = before.get(i).copied().unwrap_or_default();
            (r - r0, z - z0)
        };
        now.into_iter().enumerate().map(|(i, c)| delta(i, c)).max().unwrap_or_default()
    }
}

/// Splits a protocol byte stream into messages (type byte + length), across reads.
struct Frames {
    buf: Vec<u8>,
    /// The client's first message (startup) has no type byte.
    startup: bool,
}

impl Frames {
    fn new(client: bool) -> Frames {
        Frames { buf: Vec::new(), startup: client }
    }

    fn feed(&mut self, data: &[u8], matches: impl Fn(u8) -> bool) -> u64 {
        self.buf.extend_from_slice(data);
        let mut hits = 0;
        loop {
            if self.startup {
                if self.buf.len() < 4 {
                    return hits;
                }
                let len = u32::from_be_bytes(self.buf[0..4].try_into().unwrap()) as usize;
                if self.buf.len() < len {
                    return hits;
                }
                self.buf.drain(..len);
                self.startup = false;
                continue;
            }
            if self.buf.len() < 5 {
                return hits;
            }
            let len = u32::from_be_bytes(self.buf[1..5].try_into().unwrap()) as usize;
            if self.buf.len() < 1 + len {
                return hits;
            }
            if matches(self.buf[0]) {
                hits += 1;
            }
            self.buf.drain(..1 + len);
        }
    }
}

#[tokio::test]
async fn a_read_costs_one_round_trip() {
    let db = TestDb::new().await;
    let socket = cluster().socket_dir().join(format!(".s.PGSQL.{}", cluster().port()));
    let proxy = RoundTripProxy::start(socket).await;
    let url = format!("host=127.0.0.1 port={} user=authenticator dbname={} sslmode=disable", proxy.port, db.name);
    let config = config(&db, |a| {
        a.database_url = Some(url);
        a.db_pool = Some("1".into());
        a.db_pre_request = Some("api.pre_request".into());
    });
    let g = Gateway::start_on(db, config).await;

    // First requests prepare statements on the connection; measure afterwards.
    let auth = bearer(json!({"role": "authenticated", "tenant": "a"}));
    for _ in 0..3 {
        assert_eq!(g.get("/items?id=eq.1").await.status, 200);
        assert_eq!(g.get_with("/notes?select=id&order=id", &[("authorization", &auth)]).await.status, 200);
        let r = g.get("/directors?select=last_name,films(title,actors(name))&id=eq.1").await;
        assert_eq!(r.status, 200);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = proxy.counts();
    let n = 40;
    for i in 0..n {
        let r = g.get(&format!("/items?id=eq.{}", i % 5 + 1)).await;
        assert_eq!(r.status, 200);
        let r = g.get_with("/notes?select=id&order=id", &[("authorization", &auth)]).await;
        assert_eq!(r.ids(), vec![1, 2]);
        // Nested embeds are lateral subqueries of the same statement, not extra queries.
        let r = g.get("/directors?select=last_name,films(title,actors(name))&id=eq.1").await;
        assert_eq!(r.json()[0]["films"].as_array().map(Vec::len), Some(2));
    }
    let (round_trips, ready) = proxy.busiest_since(&before);
    let per_request = round_trips as f64 / (3 * n) as f64;
    // BEGIN, set_config, pre-request, main statement and COMMIT travel together.
    assert!(per_request <= 1.05, "round trips per read: {per_request}");
    assert!(per_request >= 0.95, "proxy saw too few round trips: {per_request}");
    // …with a single Sync: the server flushes its answers once, and the gateway reads once.
    let syncs = ready as f64 / (3 * n) as f64;
    assert!((0.95..=1.05).contains(&syncs), "ReadyForQuery per read: {syncs}");
}

/// A role's own settings (issue 15) ride in the context statement's parameters, and computed
/// fields and relationships are part of the main statement: still one round trip, one Sync.
#[tokio::test]
async fn role_settings_and_computed_embeds_keep_one_round_trip() {
    let db = TestDb::new().await;
    let settings = format!(
        "alter role authenticated in database {0} set statement_timeout = '4321ms';
         alter role authenticated in database {0} set default_transaction_isolation = 'serializable'",
        db.name
    );
    db.admin().await.batch_execute(&settings).await.unwrap();
    let socket = cluster().socket_dir().join(format!(".s.PGSQL.{}", cluster().port()));
    let proxy = RoundTripProxy::start(socket).await;
    let url = format!("host=127.0.0.1 port={} user=authenticator dbname={} sslmode=disable", proxy.port, db.name);
    let config = config(&db, |a| {
        a.database_url = Some(url);
        a.db_pool = Some("1".into());
    });
    let g = Gateway::start_on(db, config).await;
    let auth = bearer(json!({"role": "authenticated"}));
    let path = "/employees?select=name,manager(display_name),reports(count)&id=eq.2";
    for _ in 0..3 {
        assert_eq!(g.get_with(path, &[("authorization", &auth)]).await.status, 200);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = proxy.counts();
    let n = 20;
    for _ in 0..n {
        let r = g.get_with("/my_settings", &[("authorization", &auth)]).await;
        assert_eq!(r.json()[0]["statement_timeout"], "4321ms");
        assert_eq!(r.json()[0]["isolation"], "serializable");
        let r = g.get_with(path, &[("authorization", &auth)]).await;
        assert_eq!(
            r.json(),
            json!([{"name": "Mid", "manager": {"display_name": "E1:Boss"}, "reports": [{"count": 1}]}])
        );
    }
    let (round_trips, ready) = proxy.busiest_since(&before);
    let per_request = round_trips as f64 / (2 * n) as f64;
    assert!((0.95..=1.05).contains(&per_request), "round trips per read: {per_request}");
    let syncs = ready as f64 / (2 * n) as f64;
    assert!((0.95..=1.05).contains(&syncs), "ReadyForQuery per read: {syncs}");
}

#[tokio::test]
async fn schema_reload_after_alter_table_and_notify() {
    let g = Gateway::start().await;
    let r = g.get("/items?select=id,extra&id=eq.1").await;
    assert_eq!((r.status, r.code()), (400, "42703".to_string()));

    let admin = g.db.admin().await;
    admin
        .batch_execute("alter table api.items add column extra text default 'x'; notify pgrst, 'reload schema'")
        .await
        .unwrap();
    let mut last = None;
    for _ in 0..100 {
        let r = g.get("/items?select=id,extra&id=eq.1").await;
        if r.status == 200 {
            assert_eq!(r.json(), json!([{"id": 1, "extra": "x"}]));
            last = None;
            break;
        }
        last = Some(r);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(last.is_none(), "reload never happened: {last:?}");

    // A new table appears the same way, and a bare NOTIFY also reloads.
    admin
        .batch_execute("create table api.fresh (id int); grant select on api.fresh to anon; notify pgrst")
        .await
        .unwrap();
    let mut ok = false;
    for _ in 0..100 {
        if g.get("/fresh").await.status == 200 {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ok, "new table never became visible");
}

#[tokio::test]
async fn in_flight_requests_survive_a_reload() {
    let g = Arc::new(Gateway::start().await);
    let admin = g.db.admin().await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let g = g.clone();
        tasks.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            for _ in 0..25 {
                statuses.push(g.get("/items?select=id&order=id").await.status);
            }
            statuses
        }));
    }
    for _ in 0..10 {
        admin.batch_execute("notify pgrst, 'reload schema'").await.unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for t in tasks {
        assert!(t.await.unwrap().iter().all(|s| *s == 200));
    }
}

#[tokio::test]
async fn no_role_or_claim_survives_on_a_pooled_connection() {
    let g = Gateway::start_with(|a| a.db_pool = Some("1".into())).await;
    let a = bearer(json!({"role": "authenticated", "tenant": "a", "sub": "alice"}));
    let b = bearer(json!({"role": "authenticated", "tenant": "b", "sub": "bob"}));
    for _ in 0..10 {
        let r = g.get_with("/whoami", &[("authorization", &a), ("x-who", "alice")]).await;
        let w = &r.json()[0];
        assert_eq!(w["role"], "authenticated");
        assert_eq!(serde_json::from_str::<serde_json::Value>(w["claims"].as_str().unwrap()).unwrap()["sub"], "alice");
        assert_eq!(w["headers"]["x-who"], "alice");

        let r = g.get("/whoami").await;
        let w = &r.json()[0];
        assert_eq!(w["role"], "anon", "anonymous request ran as {}", w["role"]);
        assert_eq!(w["claims"], "{\"role\":\"anon\"}");
        assert!(w["headers"].get("x-who").is_none(), "a previous request's header leaked");

        let r = g.get_with("/notes?select=id&order=id", &[("authorization", &b)]).await;
        assert_eq!(r.ids(), vec![3]);
        let r = g.get_with("/notes?select=id&order=id", &[("authorization", &a)]).await;
        assert_eq!(r.ids(), vec![1, 2]);
        assert_eq!(g.get("/notes").await.status, 401);
    }
    // And nothing is left at session level on that one connection.
    let r = g.get("/whoami").await;
    assert_eq!(r.json()[0]["role"], "anon");
}

#[tokio::test]
async fn admin_live_and_ready() {
    let g = Gateway::start().await;
    let live = g.http.get(g.admin_url("/live")).send().await.unwrap();
    assert_eq!(live.status(), 200);
    let ready = g.http.get(g.admin_url("/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let health = g.http.get(g.admin_url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn ready_is_503_without_a_database() {
    let db = TestDb::new().await;
    // Nothing listens on this socket directory: the pool cannot connect, no schema loads.
    let config = config(&db, |a| a.database_url = Some("host=/nonexistent-rowgate port=1 user=authenticator".into()));
    let running = rowgate::app::start(config).await.unwrap();
    let http = reqwest::Client::new();
    let ready = http.get(format!("http://{}/ready", running.admin_addr)).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let live = http.get(format!("http://{}/live", running.admin_addr)).send().await.unwrap();
    assert_eq!(live.status(), 200);
    // API requests get a clear 503 instead of hanging.
    let r = Reply::read(http.get(format!("http://{}/items", running.api_addr)).send().await.unwrap()).await;
    assert_eq!(r.status, 503);
    assert_eq!(r.code(), "PGRST002");
    assert!(r.header("retry-after").is_some());
    running.shutdown().await;
}

#[tokio::test]
async fn reads_run_read_only_in_one_transaction() {
    let g = Gateway::start().await;
    let w = &g.get("/whoami").await.json()[0];
    assert_eq!(w["read_only"], "on");
    assert_eq!(w["isolation"], "read committed");
    assert_eq!(w["method"], "GET");
    assert_eq!(w["path"], "/whoami");
    assert_eq!(w["search_path"], "\"api\", \"public\"");
}

/// A TCP proxy to the cluster's socket that can be cut, to play a database outage.
struct CuttableProxy {
    port: u16,
    cut: tokio::sync::watch::Sender<bool>,
}

impl CuttableProxy {
    async fn start() -> CuttableProxy {
        let socket = cluster().socket_dir().join(format!(".s.PGSQL.{}", cluster().port()));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (cut, rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            loop {
                let mut rx_accept = rx.clone();
                let (client, _) = tokio::select! {
                    a = listener.accept() => a.unwrap(),
                    _ = rx_accept.wait_for(|c| *c) => return,
                };
                let server = UnixStream::connect(&socket).await.unwrap();
                let mut rx = rx.clone();
                tokio::spawn(async move {
                    let (mut c, mut s) = (client, server);
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut c, &mut s) => {}
                        _ = rx.wait_for(|c| *c) => {}
                    }
                });
            }
        });
        CuttableProxy { port, cut }
    }
}

#[tokio::test]
async fn database_outage_is_503_with_retry_after_not_a_hang() {
    let db = TestDb::new().await;
    let proxy = CuttableProxy::start().await;
    let url = format!("host=127.0.0.1 port={} user=authenticator dbname={} sslmode=disable", proxy.port, db.name);
    let config = config(&db, |a| {
        a.database_url = Some(url);
        a.db_pool = Some("2".into());
        a.db_pool_acquisition_timeout = Some("2".into());
    });
    let g = Gateway::start_on(db, config).await;
    assert_eq!(g.get("/items?id=eq.1").await.status, 200);

    proxy.cut.send(true).unwrap();
    for _ in 0..3 {
        let r = tokio::time::timeout(Duration::from_secs(10), g.get("/items?id=eq.1")).await.expect("no hang");
        assert_eq!(r.status, 503, "{}", r.body);
        assert!(["PGRST000", "PGRST001"].contains(&r.code().as_str()), "{}", r.body);
        assert_eq!(r.header("retry-after"), Some("1"));
    }
}

#[tokio::test]
async fn pool_exhaustion_is_504_pgrst003_after_the_acquisition_timeout() {
    let g = Arc::new(
        Gateway::start_with(|a| {
            a.db_pool = Some("1".into());
            a.db_pool_acquisition_timeout = Some("1".into());
        })
        .await,
    );
    // Hold the only connection with a 3 s read.
    let slow = {
        let g = g.clone();
        tokio::spawn(async move { g.get("/sleepy").await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    let r = g.get("/items?id=eq.1").await;
    assert_eq!((r.status, r.code()), (504, "PGRST003".to_string()), "{}", r.body);
    assert!(started.elapsed() < Duration::from_millis(2500), "waited {:?}", started.elapsed());
    assert_eq!(slow.await.unwrap().status, 200);
    // The pool recovers.
    assert_eq!(g.get("/items?id=eq.1").await.status, 200);
}

#[tokio::test]
async fn sigusr1_reloads_the_schema_cache() {
    let g = Gateway::start().await;
    let admin = g.db.admin().await;
    admin.batch_execute("alter table api.items add column by_signal int default 7").await.unwrap();
    // No NOTIFY: only the signal can make the new column known.
    nix::sys::signal::kill(nix::unistd::Pid::this(), nix::sys::signal::Signal::SIGUSR1).unwrap();
    let mut ok = false;
    for _ in 0..100 {
        let r = g.get("/items?select=by_signal&id=eq.1").await;
        if r.status == 200 {
            assert_eq!(r.json(), json!([{"by_signal": 7}]));
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ok, "SIGUSR1 did not reload the schema cache");
}

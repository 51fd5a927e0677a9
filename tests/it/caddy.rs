//! The committed `Caddyfile`, run by real Caddy (Debian package `caddy`, installed by .ci/run and
//! scripts/test), in front of two rowgate instances on one database, configured only through the
//! environment placeholders the Caddyfile reads. Checks: HTTPS with Caddy's internal CA (the
//! client trusts nothing but the root in Caddy's data dir), /rest/v1 (prefix stripped) and
//! /auth/v1 routing with supabase-js using the site origin, /realtime/v1 routed to rowgate,
//! /config.json from SPA_ANON_KEY, security headers on API and static responses, the
//! single-page-app fallback, the admin listener's paths unreachable whatever the spelling (but
//! for the public /health: status only), active health checks of /ready on the admin port (an
//! impostor instance whose /ready fails never gets a request), load spread over both instances,
//! X-Forwarded-For set by Caddy, and no failed request while one instance is stopped under load.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::harness::*;

/// The instances: one loopback address each, so that they share the API and admin ports, as
/// replicas do (Caddy's `health_port` is one port for all upstreams).
const GATEWAY_A: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
const GATEWAY_B: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);
/// Answers every API request 200 but its /ready 503: the health checks must keep it out.
const IMPOSTOR: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 4);

/// Which instance answered: each gateway connects with its own `application_name`.
const INSTANCE_FN: &str = "
create function api.instance() returns json language sql stable as $$
  select json_build_object(
    'instance', current_setting('application_name'),
    'x-forwarded-for', current_setting('request.headers', true)::json ->> 'x-forwarded-for',
    'x-forwarded-proto', current_setting('request.headers', true)::json ->> 'x-forwarded-proto')
$$;
grant execute on function api.instance() to anon, authenticated;
";

const INDEX_HTML: &str = "<!doctype html><title>rowgate app</title><div id=app></div>";
const APP_JS: &str = "document.getElementById('app').textContent = 'hello';\n";

/// Two ports free on every address in `ips`.
fn shared_ports(ips: &[Ipv4Addr]) -> (u16, u16) {
    let free_everywhere = |port: u16| ips.iter().all(|ip| TcpListener::bind((*ip, port)).is_ok());
    let pick = || loop {
        let port = TcpListener::bind((ips[0], 0)).expect("bind").local_addr().expect("addr").port();
        if free_everywhere(port) {
            return port;
        }
    };
    let api = pick();
    loop {
        let admin = pick();
        if admin != api {
            return (api, admin);
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0)).expect("bind").local_addr().expect("addr").port()
}

/// A stand-in instance that is up but never ready; counts what reaches it.
#[derive(Default)]
struct Impostor {
    api_requests: AtomicUsize,
    ready_checks: AtomicUsize,
}

impl Impostor {
    async fn start(api: u16, admin: u16) -> Arc<Impostor> {
        let me = Arc::new(Impostor::default());
        for (port, is_admin) in [(api, false), (admin, true)] {
            let listener = tokio::net::TcpListener::bind((IMPOSTOR, port)).await.expect("bind impostor");
            let me = me.clone();
            tokio::spawn(async move {
                while let Ok((mut conn, _)) = listener.accept().await {
                    let me = me.clone();
                    tokio::spawn(async move {
                        let mut head = Vec::new();
                        let mut buf = [0u8; 1024];
                        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                            match conn.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => head.extend_from_slice(&buf[..n]),
                            }
                        }
                        let text = String::from_utf8_lossy(&head);
                        let path = text.split_whitespace().nth(1).unwrap_or_default().to_string();
                        let (status, body) = if is_admin {
                            if path.starts_with("/ready") {
                                me.ready_checks.fetch_add(1, Ordering::SeqCst);
                            }
                            ("503 Service Unavailable", String::new())
                        } else {
                            me.api_requests.fetch_add(1, Ordering::SeqCst);
                            ("200 OK", json!({"instance": "impostor"}).to_string())
                        };
                        let reply = format!(
                            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = conn.write_all(reply.as_bytes()).await;
                    });
                }
            });
        }
        me
    }
}

/// `caddy run` with the committed Caddyfile; killed when dropped (and, should this test process
/// die, by the kernel: parent-death signal). (Also used by tests/it/web_console.rs, which serves
/// the built console by passing its own `SITE_ROOT`.)
pub(crate) struct Caddy {
    child: Child,
    dir: tempfile::TempDir,
    pub(crate) origin: String,
    http_port: u16,
}

impl Caddy {
    /// `env` comes last, so it may replace the defaults set here (e.g. `SITE_ROOT`).
    pub(crate) fn start(env: &[(&str, String)]) -> Caddy {
        let dir = tempfile::Builder::new().prefix("rowgate-caddy-").tempdir().expect("temp dir");
        let site = dir.path().join("site");
        std::fs::create_dir_all(site.join("assets")).expect("site dir");
        std::fs::write(site.join("index.html"), INDEX_HTML).expect("index.html");
        std::fs::write(site.join("assets/app.js"), APP_JS).expect("app.js");
        let https_port = free_port();
        let http_port = free_port();
        let log = std::fs::File::create(dir.path().join("caddy.log")).expect("log file");
        let caddyfile = Path::new(env!("CARGO_MANIFEST_DIR")).join("Caddyfile");
        let mut cmd = Command::new("caddy");
        cmd.arg("run")
            .arg("--config")
            .arg(&caddyfile)
            .arg("--adapter")
            .arg("caddyfile")
            // Caddy's storage (its internal CA included) and config autosave stay in the temp dir.
            .env("HOME", dir.path())
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .env("SITE_ADDRESS", format!("localhost:{https_port}"))
            .env("CADDY_TLS", "internal")
            .env("CADDY_HTTPS_PORT", https_port.to_string())
            .env("CADDY_HTTP_PORT", http_port.to_string())
            .env("CADDY_ADMIN", "off")
            .env("SITE_ROOT", &site)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log);
        for (k, v) in env {
            cmd.env(k, v);
        }
        // SAFETY: set_pdeathsig is async-signal-safe (a single prctl call).
        unsafe {
            cmd.pre_exec(|| {
                nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL).map_err(std::io::Error::from)
            });
        }
        let child = cmd.spawn().unwrap_or_else(|e| {
            panic!("cannot run caddy ({e}): install it with `apt-get install caddy` (scripts/test does)")
        });
        Caddy { child, dir, origin: format!("https://localhost:{https_port}"), http_port }
    }

    pub(crate) fn root_cert(&self) -> PathBuf {
        self.dir.path().join("data/caddy/pki/authorities/local/root.crt")
    }

    /// Caddy's intermediate CA, which signs the site's certificate.
    pub(crate) fn intermediate_cert(&self) -> PathBuf {
        self.dir.path().join("data/caddy/pki/authorities/local/intermediate.crt")
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("caddy.log")).unwrap_or_default()
    }

    /// A client that trusts Caddy's root certificate and nothing else.
    pub(crate) async fn client(&self) -> reqwest::Client {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.root_cert().exists() {
            assert!(Instant::now() < deadline, "Caddy made no root certificate; its log:\n{}", self.log());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await; // written whole
        let pem = std::fs::read(self.root_cert()).expect("read root.crt");
        reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("root.crt is PEM"))
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client")
    }

    async fn get(&self, http: &reqwest::Client, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut req = http.get(format!("{}{path}", self.origin));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        match req.send().await {
            Ok(resp) => Reply::read(resp).await,
            Err(e) => panic!("GET {path} through Caddy failed: {e:?}\nCaddy's log:\n{}", self.log()),
        }
    }

    /// The path exactly as given (no `..` resolution, no normalisation), over HTTPS, by curl.
    fn raw_get(&self, path: &str) -> (u16, String) {
        let out = Command::new("curl")
            .args(["-s", "--path-as-is", "--max-time", "20", "-w", "\n%{http_code}", "--cacert"])
            .arg(self.root_cert())
            .arg(format!("{}{path}", self.origin))
            .output()
            .expect("run curl (Debian package curl)");
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let (body, status) = text.rsplit_once('\n').unwrap_or(("", &text));
        (status.trim().parse().unwrap_or_else(|_| panic!("curl {path}: {text} {:?}", out.stderr)), body.to_string())
    }
}

impl Drop for Caddy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn assert_security_headers(r: &Reply, what: &str) {
    let expect = [
        ("strict-transport-security", "max-age=31536000; includeSubDomains"),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "strict-origin-when-cross-origin"),
    ];
    for (name, value) in expect {
        assert_eq!(r.header(name), Some(value), "{what}: {name} in {:?}", r.headers);
    }
    let csp = r.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: CSP {csp:?}");
    assert!(r.header("server").is_none(), "{what}: Server header {:?}", r.header("server"));
}

async fn start_gateway(db: &TestDb, ip: Ipv4Addr, ports: (u16, u16), name: &str, key: &str) -> Gateway {
    let url = format!("{} application_name={name}", db.url());
    let cfg = config(db, |a| {
        a.database_url = Some(url);
        a.listen = Some(SocketAddr::from((ip, ports.0)).to_string());
        a.admin_listen = Some(SocketAddr::from((ip, ports.1)).to_string());
        a.jwt_signing_key = Some(key.to_string());
        a.db_pre_request = Some("internal.check_request".into());
    });
    Gateway::start_on(TestDb { name: db.name.clone() }, cfg).await
}

fn instance_of(r: &Reply) -> String {
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["instance"].as_str().expect("instance").to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn caddy_in_front_of_two_instances() {
    let began = Instant::now();
    let modules = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/node_modules/@supabase/supabase-js");
    assert!(modules.is_dir(), "{} is missing: run `scripts/test` (npm ci in tests/clients)", modules.display());

    let db = TestDb::new().await;
    db.admin().await.batch_execute(crate::supabase_js::SETUP).await.expect("users and notes");
    db.admin().await.batch_execute(INSTANCE_FN).await.expect("api.instance()");
    let key = rowgate::auth::signing::SigningKey::generate_jwk().expect("key");
    let ports = shared_ports(&[GATEWAY_A, GATEWAY_B, IMPOSTOR]);
    let gw_a = start_gateway(&db, GATEWAY_A, ports, "gw_a", &key).await;
    let gw_b = start_gateway(&db, GATEWAY_B, ports, "gw_b", &key).await;
    let impostor = Impostor::start(ports.0, ports.1).await;

    let upstreams = [GATEWAY_A, GATEWAY_B, IMPOSTOR].map(|ip| format!("{ip}:{}", ports.0)).join(" ");
    let caddy = Caddy::start(&[
        ("ROWGATE_DISCOVERY", "static".into()),
        ("ROWGATE_UPSTREAMS", upstreams),
        ("ROWGATE_ADMIN_PORT", ports.1.to_string()),
        ("SPA_ANON_KEY", "anon-key-for-the-console".into()),
        ("ROWGATE_ADMIN_UPSTREAMS", [GATEWAY_A, GATEWAY_B, IMPOSTOR].map(|ip| format!("{ip}:{}", ports.1)).join(" ")),
    ]);
    let http = caddy.client().await;

    // Ready: both gateways answer through Caddy and the impostor has been health checked.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ok = match http.get(format!("{}/rest/v1/rpc/instance", caddy.origin)).send().await {
            Ok(r) => r.status() == 200,
            Err(_) => false,
        };
        if ok && impostor.ready_checks.load(Ordering::SeqCst) >= 2 {
            break;
        }
        assert!(Instant::now() < deadline, "Caddy never proxied to rowgate; its log:\n{}", caddy.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("caddy ready after {:?}", began.elapsed());
    // From here on (the impostor has been health checked) it must get nothing.
    let impostor_before = impostor.api_requests.load(Ordering::SeqCst);

    // HTTPS with the internal CA: the client trusts only root.crt, so the handshake succeeding
    // proves the chain. Plain HTTP redirects to HTTPS.
    let plain = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let r = plain.get(format!("http://localhost:{}/somewhere", caddy.http_port)).send().await.expect("http");
    assert_eq!(r.status().as_u16(), 308);
    let location = r.headers()["location"].to_str().expect("location").to_string();
    assert!(location.starts_with("https://localhost"), "{location}");

    // /rest/v1/* reaches rowgate with the prefix stripped; the security headers are on it.
    let anon = token(json!({"role": "anon"}));
    let r = caddy.get(&http, "/rest/v1/private_notes", &[("apikey", &anon)]).await;
    assert_eq!((r.status, r.body.as_str()), (200, "[]"), "{r:?}");
    assert_security_headers(&r, "API response");
    let r = caddy.get(&http, "/rest/v1/", &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.json()["paths"]["/private_notes"].is_object(), "the OpenAPI document: {}", r.body);
    // /auth/v1/* is passed on as it is.
    let r = caddy.get(&http, "/auth/v1/.well-known/jwks.json", &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let kid = serde_json::from_str::<Value>(&key).expect("jwk")["kid"].clone();
    assert_eq!(r.json()["keys"][0]["kid"], kid);
    assert_security_headers(&r, "auth response");
    // Caddy sets X-Forwarded-For itself: a client cannot forge it (the sign-in limits key on it).
    let r = caddy.get(&http, "/rest/v1/rpc/instance", &[("x-forwarded-for", "203.0.113.9")]).await;
    let v = r.json();
    let xff = v["x-forwarded-for"].as_str().unwrap_or_default();
    assert!(xff == "127.0.0.1" || xff == "::1", "X-Forwarded-For {xff:?}");
    assert_eq!(v["x-forwarded-proto"], "https");

    // The single-page app: files as they are, every other path is index.html.
    for path in ["/", "/projects/42/settings", "/login"] {
        let r = caddy.get(&http, path, &[]).await;
        assert_eq!((r.status, r.body.as_str()), (200, INDEX_HTML), "{path}");
        assert_security_headers(&r, path);
    }
    // /config.json: the web console's runtime configuration, from SPA_ANON_KEY.
    let r = caddy.get(&http, "/config.json", &[]).await;
    assert_eq!((r.status, r.json()), (200, json!({"anonKey": "anon-key-for-the-console"})), "{r:?}");
    assert_eq!(r.header("cache-control"), Some("no-store"));
    // /realtime/v1/* goes to rowgate (whatever it answers there), never to the app's index.html.
    let r = caddy.get(&http, "/realtime/v1/websocket", &[]).await;
    assert!(r.body != INDEX_HTML && !r.header("content-type").unwrap_or_default().contains("html"), "{r:?}");
    let r = caddy.get(&http, "/assets/app.js", &[]).await;
    assert_eq!((r.status, r.body.as_str()), (200, APP_JS));
    assert!(r.header("content-type").unwrap_or_default().contains("javascript"), "{:?}", r.headers);
    assert_security_headers(&r, "asset");

    // The admin listener is never reachable: not its paths, nor tricks that might lead there.
    for path in [
        "/metrics",
        "//metrics",
        "/metrics/",
        "/METRICS",
        "/./metrics",
        "/rest/v1/../metrics",
        "/rest/v1/../../metrics",
        "/rest/v1/%2e%2e/metrics",
        "/rest/v1/..%2fmetrics",
        "/auth/v1/../../metrics",
        "/rest/v1/metrics",
        "/rest/v1//metrics",
        "/ready",
        "/live",
        "/health/",
        "/health/../metrics",
        "/rest/v1/ready",
        "/rest/v1/live",
        "/auth/v1/../ready",
    ] {
        let (status, body) = caddy.raw_get(path);
        assert_eq!(status, 404, "{path}: {body}");
        assert!(!body.contains("# TYPE") && !body.contains(INDEX_HTML), "{path}: {body}");
    }

    // The public /health: the status of the instances' /ready, nothing of the admin report (the
    // impostor's /ready fails: health checks keep it out of this one too).
    for _ in 0..5 {
        let (status, body) = caddy.raw_get("/health");
        assert_eq!((status, body.as_str()), (200, ""), "/health");
    }

    // supabase-js with the site origin as its URL: sign-in, reads under RLS, refresh, sign-out.
    let origin = caddy.origin.clone();
    let root = caddy.root_cert();
    let anon_key = anon.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("tests/clients/supabase_auth.mjs")
            .arg(&origin)
            .arg(&anon_key)
            .env("NODE_EXTRA_CA_CERTS", &root)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap_or_else(|e| panic!("could not run node: {e}"))
    })
    .await
    .expect("node thread");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "supabase-js through Caddy failed:\n{stdout}\n{}\nCaddy's log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        caddy.log()
    );
    eprintln!("supabase-js through Caddy:\n{stdout}");

    // Load spread: round robin over the two ready instances, never the impostor.
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for _ in 0..40 {
        let r = caddy.get(&http, "/rest/v1/rpc/instance", &[]).await;
        *seen.entry(instance_of(&r)).or_default() += 1;
    }
    eprintln!("40 requests: {seen:?}");
    assert_eq!(seen.keys().cloned().collect::<Vec<_>>(), ["gw_a", "gw_b"], "{seen:?}");
    assert!(seen.values().all(|&n| n >= 10), "uneven spread {seen:?}");
    assert_eq!(
        impostor.api_requests.load(Ordering::SeqCst),
        impostor_before,
        "the impostor (not ready) got API traffic"
    );
    assert!(impostor.ready_checks.load(Ordering::SeqCst) >= 2, "Caddy never checked /ready on the admin port");

    // One instance stops while four clients keep reading: not one request fails.
    let stop_at = Duration::from_millis(1500);
    let run_for = Duration::from_secs(6);
    let t0 = Instant::now();
    let mut clients = Vec::new();
    for _ in 0..4 {
        let http = http.clone();
        let url = format!("{}/rest/v1/rpc/instance", caddy.origin);
        clients.push(tokio::spawn(async move {
            let mut log = Vec::new();
            while t0.elapsed() < run_for {
                let sent = t0.elapsed();
                let outcome = match http.get(&url).send().await {
                    Ok(resp) => {
                        let status = resp.status().as_u16();
                        let body = resp.text().await.unwrap_or_default();
                        let who = serde_json::from_str::<Value>(&body)
                            .ok()
                            .and_then(|v| v["instance"].as_str().map(str::to_string))
                            .unwrap_or(body);
                        (status, who)
                    }
                    Err(e) => (0, format!("{e:?}")),
                };
                log.push((sent, outcome));
            }
            log
        }));
    }
    tokio::time::sleep(stop_at).await;
    let Gateway { running, .. } = gw_b;
    running.shutdown().await;
    eprintln!("gw_b stopped at {:?}", t0.elapsed());
    let mut results = Vec::new();
    for c in clients {
        results.extend(c.await.expect("client task"));
    }
    let failed: Vec<_> = results.iter().filter(|(_, (status, _))| *status != 200).collect();
    let before: Vec<&str> = results.iter().filter(|(t, _)| *t < stop_at).map(|(_, (_, who))| who.as_str()).collect();
    let after: Vec<&str> = results
        .iter()
        .filter(|(t, _)| *t > stop_at + Duration::from_secs(2))
        .map(|(_, (_, who))| who.as_str())
        .collect();
    eprintln!(
        "{} requests while gw_b stopped: {} before (gw_b {}), {} late ones",
        results.len(),
        before.len(),
        before.iter().filter(|w| **w == "gw_b").count(),
        after.len()
    );
    assert!(failed.is_empty(), "{} failed requests: {:?}\nCaddy's log:\n{}", failed.len(), failed, caddy.log());
    assert!(before.contains(&"gw_b") && before.contains(&"gw_a"), "both served before the stop: {before:?}");
    assert!(!after.is_empty() && after.iter().all(|w| *w == "gw_a"), "only gw_a after the stop: {after:?}");
    assert_eq!(caddy.raw_get("/health").0, 200, "one instance left, still ready");
    assert_eq!(impostor.api_requests.load(Ordering::SeqCst), impostor_before, "the impostor got API traffic");
    drop(gw_a);
    eprintln!("caddy test took {:?}", began.elapsed());
}

/// The Caddyfile is formatted as `caddy fmt` wants it and adapts in both discovery modes.
#[test]
fn the_caddyfile_adapts_in_both_modes() {
    let caddyfile = Path::new(env!("CARGO_MANIFEST_DIR")).join("Caddyfile");
    for mode in ["static", "dns"] {
        let out = Command::new("caddy")
            .args(["adapt", "--adapter", "caddyfile", "--config"])
            .arg(&caddyfile)
            .env("ROWGATE_DISCOVERY", mode)
            .output()
            .expect("run caddy (apt-get install caddy)");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{mode}: {stderr}");
        assert!(!stderr.contains("not formatted"), "run `caddy fmt --overwrite Caddyfile`: {stderr}");
        let config: Value = serde_json::from_slice(&out.stdout).expect("JSON config");
        let text = config.to_string();
        match mode {
            "static" => {
                assert!(text.contains(r#""uri":"/ready""#) && text.contains(r#""port":3001"#), "{text}");
                assert!(!text.contains("dynamic_upstreams"), "{text}");
            }
            _ => {
                assert!(text.contains(r#""dynamic_upstreams":{"name":"rowgate","port":"3000""#), "{text}");
            }
        }
        assert!(text.contains(r#""try_duration":5000000000"#), "{text}");
    }
}

/// Through Caddy, `wss://<site>/realtime/v1/websocket` reaches rowgate's realtime endpoint (the
/// WebSocket upgrade passes `reverse_proxy`): a client in node (the `ws` package supabase-js uses
/// on Node 20), trusting only Caddy's root, joins a channel, receives a change and its heartbeat
/// is answered.
#[tokio::test]
async fn caddy_passes_realtime_websockets() {
    use crate::tenants::{MEMBER_A, ORG_A, PROJ_A};
    let db = crate::realtime::world(&[]).await;
    let g = crate::realtime::gateway(db, |_| {}).await;
    let caddy = Caddy::start(&[
        ("ROWGATE_DISCOVERY", "static".into()),
        ("ROWGATE_UPSTREAMS", g.running.api_addr.to_string()),
        ("ROWGATE_ADMIN_PORT", g.running.admin_addr.port().to_string()),
    ]);
    let http = caddy.client().await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !http.get(format!("{}/rest/v1/", caddy.origin)).send().await.is_ok_and(|r| r.status() == 200) {
        assert!(Instant::now() < deadline, "Caddy never proxied to rowgate; its log:\n{}", caddy.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let script = r#"
import WebSocket from 'ws';
import fs from 'node:fs';
const [url, ca, token] = process.argv.slice(2);
const ws = new WebSocket(url, { ca: fs.readFileSync(ca) });
const seen = [];
const done = (code) => { console.log(JSON.stringify(seen)); process.exit(code); };
setTimeout(() => done(1), 15000);
ws.on('open', () => {
  ws.send(JSON.stringify([null, '1', 'phoenix', 'heartbeat', {}]));
  ws.send(JSON.stringify(['2', '2', 'realtime:c', 'phx_join', { config: { postgres_changes: [{ event: '*', schema: 'api', table: 'tasks' }] }, access_token: token }]));
});
ws.on('message', (m) => {
  const f = JSON.parse(m.toString());
  seen.push([f[3], f[4].status ?? f[4].message ?? f[4].data?.type]);
  if (f[3] === 'system') console.log('SUBSCRIBED');
  if (f[3] === 'postgres_changes') done(0);
});
ws.on('error', (e) => { console.log(String(e)); done(1); });
"#;
    // In tests/clients, where node finds the `ws` package.
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/clients/.caddy_ws_{}.mjs", std::process::id()));
    std::fs::write(&path, script).expect("script");
    let url = format!(
        "wss://{}/realtime/v1/websocket?apikey={}&vsn=2.0.0",
        caddy.origin.trim_start_matches("https://"),
        crate::realtime::anon_key()
    );
    let mut child = tokio::process::Command::new("node")
        .arg(&path)
        .arg(url)
        .arg(caddy.root_cert())
        .arg(crate::realtime::user_token(MEMBER_A, 3600))
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    tokio::io::AsyncBufReadExt::read_line(&mut lines, &mut first).await.expect("read");
    assert_eq!(first.trim(), "SUBSCRIBED", "{first}\n{}", caddy.log());
    g.db.admin()
        .await
        .execute(
            "insert into api.tasks (org_id, project_id, title) values ($1::text::uuid, $2::text::uuid, 'via caddy')",
            &[&ORG_A, &PROJ_A],
        )
        .await
        .expect("insert");
    let out = child.wait_with_output().await.expect("node exits");
    let _ = std::fs::remove_file(&path);
    let mut rest = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut lines, &mut rest).await.ok();
    let all = format!("{rest}{}", String::from_utf8_lossy(&out.stdout));
    assert!(out.status.success(), "{all}\n{}", caddy.log());
    assert!(all.contains(r#"["phx_reply","ok"]"#) && all.contains(r#"["postgres_changes","INSERT"]"#), "{all}");
    crate::realtime::drop_slot(&g).await;
}

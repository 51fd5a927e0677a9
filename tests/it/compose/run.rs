//! The compose file's commands run as compose runs them: postgres, migrate, rowgate and their
//! healthchecks against a throwaway cluster, Caddy adapted, validated and run.

use super::*;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn run_ok(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{what} failed ({}): {text}", out.status);
    text
}

/// The rowgate healthcheck of docker-compose.yml, aimed at `admin_port`: did it pass?
fn healthcheck(test: &[String], admin_port: u16) -> bool {
    assert_eq!(test[..3], ["CMD", "bash", "-c"]);
    let script = test[3].replace("/dev/tcp/127.0.0.1/3001", &format!("/dev/tcp/127.0.0.1/{admin_port}"));
    Command::new("bash").arg("-c").arg(script).stderr(Stdio::null()).status().expect("bash").success()
}

/// What `docker compose up` runs, in order, without Docker: against a fresh cluster, with a .env
/// made from .env.example and the keys its instructions generate.
#[tokio::test(flavor = "multi_thread")]
async fn the_compose_commands_run_as_compose_runs_them() {
    // Its clusters are its own, not the harness's: reqwest's provider is set here.
    crate::harness::install_crypto_provider();
    let c = compose();
    let svc = |name: &str| c["services"][name].clone();
    let db = cluster::start_throwaway().await.expect("cluster");
    connect(&db.conn_string("postgres", "postgres")).await.batch_execute("create database app").await.expect("db");
    let pg_env = [
        ("PGHOST", db.socket_dir().to_string_lossy().to_string()),
        ("PGPORT", db.port().to_string()),
        ("PGUSER", "postgres".to_string()),
    ];

    // .env as an operator makes it from .env.example.
    let (mut dotenv, _) = env_example();
    dotenv.insert("POSTGRES_PASSWORD".into(), "0123456789abcdef0123456789abcdef".into());
    dotenv.insert("AUTHENTICATOR_PASSWORD".into(), "fedcba9876543210fedcba9876543210".into());
    dotenv.insert("REALTIME_REPLICATION_PASSWORD".into(), "00112233445566778899aabbccddeeff".into());
    let generate = |args: &[&str]| run_ok(Command::new(BIN).arg("keys").arg("generate").args(args), "keys generate");
    dotenv.insert("ROWGATE_JWT_SECRET".into(), generate(&["--secret"]).trim().to_string());
    dotenv.insert("ROWGATE_JWT_SIGNING_KEY".into(), generate(&[]).trim().to_string());
    let interp = |v: &Value| interpolate(v.as_str().expect("string"), &dotenv).expect("interpolates");

    // postgres' healthcheck.
    let check: Vec<String> =
        strings(&svc("postgres")["healthcheck"]["test"]).iter().map(|s| interp(&s.clone().into())).collect();
    assert_eq!(check[0], "CMD");
    run_ok(Command::new(&check[1]).args(&check[2..]).envs(pg_env.clone()), "postgres healthcheck");

    // migrate, as the superuser (the URL's host is the compose service; here the socket).
    let migrate_url = interp(&svc("migrate")["environment"]["DATABASE_URL"]);
    assert_eq!(migrate_url, "postgres://postgres:0123456789abcdef0123456789abcdef@postgres:5432/app");
    let out = run_ok(
        Command::new(BIN)
            .args(strings(&svc("migrate")["command"]))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", db.conn_string("postgres", "app")),
        "rowgate migrate",
    );
    assert!(out.contains("migration(s) applied"), "{out}");

    // authenticator-password: its bash -c command with the service's environment.
    let ap = svc("authenticator-password");
    assert_eq!(strings(&ap["entrypoint"]), ["bash", "-c"]);
    let script = interp(&ap["command"][0]);
    let mut env: BTreeMap<String, String> =
        env_map(&ap["environment"]).iter().map(|(k, v)| (k.clone(), interp(v))).collect();
    env.extend(pg_env.iter().map(|(k, v)| (k.to_string(), v.clone())));
    env.insert("PGDATABASE".into(), "app".into());
    env.remove("PGPASSWORD"); // the throwaway cluster trusts local connections
    run_ok(Command::new("bash").arg("-c").arg(&script).envs(&env), "authenticator-password");
    let admin = connect(&db.conn_string("postgres", "app")).await;
    let hash: String = admin
        .query_one("select rolpassword from pg_authid where rolname = 'authenticator'", &[])
        .await
        .expect("authenticator")
        .get(0);
    assert!(hash.starts_with("SCRAM-SHA-256$"), "{hash}");
    let hash: String = admin
        .query_one("select rolpassword from pg_authid where rolname = 'rowgate_replication' and rolreplication", &[])
        .await
        .expect("rowgate_replication, with REPLICATION")
        .get(0);
    assert!(hash.starts_with("SCRAM-SHA-256$"), "{hash}");

    // rowgate serve with the service's environment (only the addresses changed: the database
    // is the socket, the listeners loopback ports).
    let rowgate = svc("rowgate");
    let mut env = BTreeMap::new();
    for (k, v) in env_map(&rowgate["environment"]) {
        match v {
            Value::Null => {
                if let Some(val) = dotenv.get(&k) {
                    env.insert(k, val.clone());
                }
            }
            v => {
                env.insert(k, interp(&v));
            }
        }
    }
    assert_eq!(env["DATABASE_URL"], "postgres://authenticator:fedcba9876543210fedcba9876543210@postgres:5432/app");
    assert_eq!(env["ROWGATE_DB_PRE_REQUEST"], "internal.check_request");
    let (api, admin_port) = (free_port(), free_port());
    env.insert("DATABASE_URL".into(), db.conn_string("authenticator", "app"));
    env.insert("ROWGATE_LISTEN".into(), format!("127.0.0.1:{api}"));
    env.insert("ROWGATE_ADMIN_LISTEN".into(), format!("127.0.0.1:{admin_port}"));
    let test = strings(&rowgate["healthcheck"]["test"]);
    assert!(!healthcheck(&test, admin_port), "healthy before it started");
    let mut child = Command::new(BIN)
        .args(strings(&rowgate["command"]))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(&env)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rowgate serve");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !healthcheck(&test, admin_port) {
        if Instant::now() > deadline || child.try_wait().expect("wait").is_some() {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!("rowgate never became healthy: {}", String::from_utf8_lossy(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let jwks: Value = reqwest::get(format!("http://127.0.0.1:{api}/auth/v1/.well-known/jwks.json"))
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    let key: Value = serde_json::from_str(&dotenv["ROWGATE_JWT_SIGNING_KEY"]).expect("jwk");
    assert_eq!(jwks["keys"][0]["kid"], key["kid"], "the signing key from .env is in use");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM)
        .expect("SIGTERM");
    let status = child.wait().expect("exit");
    assert!(status.success(), "rowgate exits cleanly on SIGTERM (docker compose stop): {status}");
    assert!(!healthcheck(&test, admin_port), "healthy after it stopped");

    // caddy: the Caddyfile with the service's environment adapts to one upstream per replica.
    let caddy_env: BTreeMap<String, String> =
        env_map(&svc("caddy")["environment"]).iter().map(|(k, v)| (k.clone(), interp(v))).collect();
    let out = Command::new("caddy")
        .args(["adapt", "--adapter", "caddyfile", "--config"])
        .arg(root().join("Caddyfile"))
        .envs(&caddy_env)
        .output()
        .expect("caddy adapt (apt-get install caddy)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let config = String::from_utf8_lossy(&out.stdout);
    assert!(config.contains(r#""dynamic_upstreams":{"name":"rowgate","port":"3000""#), "{config}");
    assert!(config.contains(r#""subjects":["localhost"]"#) && config.contains(r#""module":"internal""#), "{config}");
    // No active health checks run on DNS-discovered upstreams, so what protects requests is all
    // in the passive settings: retry elsewhere when an instance cannot be reached, avoid it for
    // a while, and never reuse an idle connection that rowgate may be closing.
    let config: Value = serde_json::from_str(&config).expect("JSON config");
    let (health, proxies): (Vec<&Value>, Vec<&Value>) =
        reverse_proxies(&config).into_iter().partition(|p| p.to_string().contains(r#""port":"3001""#));
    assert_eq!(health.len(), 1, "the public /health asks the admin port: {health:?}");
    assert_eq!(proxies.len(), 3, "/rest/v1, /auth/v1 and /realtime/v1");
    for p in proxies {
        assert!(p["health_checks"].get("active").is_none(), "ignored on dynamic upstreams: {p}");
        assert!(p["health_checks"]["passive"]["fail_duration"].as_u64().unwrap_or(0) > 0, "{p}");
        assert!(p["load_balancing"]["try_duration"].as_u64().unwrap_or(0) > 0, "{p}");
        let keep = &p["transport"]["keep_alive"];
        let idle = Duration::from_nanos(keep["idle_timeout"].as_u64().expect("keepalive set"));
        assert!(idle < rowgate::config::Limits::default().idle_timeout, "Caddy keeps idle connections {idle:?}");
        assert!(keep["max_idle_conns_per_host"].as_u64().unwrap_or(0) >= 32, "{p}");
    }
    // And real Caddy accepts the whole configuration (modules provisioned, not only parsed).
    let scratch = tempfile::tempdir().expect("temp dir");
    let out = Command::new("caddy")
        .args(["validate", "--adapter", "caddyfile", "--config"])
        .arg(root().join("Caddyfile"))
        .envs(&caddy_env)
        .env("HOME", scratch.path())
        .env("XDG_DATA_HOME", scratch.path().join("data"))
        .env("XDG_CONFIG_HOME", scratch.path().join("config"))
        .output()
        .expect("caddy validate");
    assert!(out.status.success(), "caddy validate: {}", String::from_utf8_lossy(&out.stderr));
    db.stop().await.expect("stop cluster");
}

/// Every `reverse_proxy` handler of an adapted Caddy configuration.
fn reverse_proxies(config: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    let mut stack = vec![config];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(m) if m.get("handler").and_then(Value::as_str) == Some("reverse_proxy") => out.push(v),
            Value::Object(m) => stack.extend(m.values()),
            Value::Array(a) => stack.extend(a),
            _ => {}
        }
    }
    out
}

/// Kills the process when dropped, also when the test panics.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The caddy service's healthcheck, run as compose runs it against real Caddy started with the
/// service's environment (only the ports moved off 80/443/2019; GNU wget here, busybox wget in
/// the image, same flags): unhealthy before Caddy runs, healthy while it runs, unhealthy after.
#[test]
fn the_caddy_healthcheck_runs_against_real_caddy() {
    let c = compose();
    let caddy = &c["services"]["caddy"];
    let (dotenv, _) = env_example();
    let mut env: BTreeMap<String, String> = env_map(&caddy["environment"])
        .iter()
        .map(|(k, v)| (k.clone(), interpolate(v.as_str().expect("string"), &dotenv).expect("interpolates")))
        .collect();
    let (http, https, admin) = (free_port(), free_port(), free_port());
    let dir = tempfile::tempdir().expect("temp dir");
    env.insert("SITE_ADDRESS".into(), format!("{}:{https}", env["SITE_ADDRESS"]));
    env.insert("CADDY_HTTP_PORT".into(), http.to_string());
    env.insert("CADDY_HTTPS_PORT".into(), https.to_string());
    // The Caddyfile's default admin host (localhost), on a free port.
    env.insert("CADDY_ADMIN".into(), format!("localhost:{admin}"));
    env.insert("SITE_ROOT".into(), dir.path().to_string_lossy().into());
    let test: Vec<String> = strings(&caddy["healthcheck"]["test"])
        .iter()
        .map(|s| s.replace("127.0.0.1:2019", &format!("127.0.0.1:{admin}")))
        .collect();
    assert_eq!(test[0], "CMD");
    let healthy = || {
        Command::new(&test[1])
            .args(&test[2..])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("wget (Debian package wget)")
            .success()
    };
    assert!(!healthy(), "healthy before Caddy started");
    let mut caddy = KillOnDrop(
        Command::new("caddy")
            .args(["run", "--adapter", "caddyfile", "--config"])
            .arg(root().join("Caddyfile"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", dir.path())
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .envs(&env)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("caddy.log")).expect("log file"))
            .spawn()
            .expect("caddy run (apt-get install caddy)"),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !healthy() {
        if Instant::now() > deadline || caddy.0.try_wait().expect("wait").is_some() {
            let log = std::fs::read_to_string(dir.path().join("caddy.log")).unwrap_or_default();
            panic!("Caddy never became healthy: {log}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(caddy);
    assert!(!healthy(), "healthy after Caddy stopped");
}

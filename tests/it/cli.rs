//! The `rowgate` binary as a user runs it.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_rowgate");

fn run_with_env(vars: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(BIN);
    cmd.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.output().expect("run rowgate")
}

#[test]
fn invalid_settings_stop_startup_with_one_line_naming_the_variable() {
    let cases = [
        ("ROWGATE_DB_POOL", "lots", "ROWGATE_DB_POOL"),
        ("ROWGATE_LISTEN", "nowhere", "ROWGATE_LISTEN"),
        ("ROWGATE_STATEMENT_TIMEOUT", "soon", "ROWGATE_STATEMENT_TIMEOUT"),
        ("ROWGATE_JWT_SECRET", "short", "ROWGATE_JWT_SECRET"),
        ("PGRST_DB_POOL", "-3", "ROWGATE_DB_POOL"),
    ];
    for (var, value, named) in cases {
        let out = run_with_env(&[("DATABASE_URL", "host=/nonexistent user=authenticator"), (var, value)]);
        assert!(!out.status.success(), "{var}={value} started");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{var}: expected one line, got {stderr}");
        assert!(lines[0].contains(named), "{var}: {stderr}");
    }
}

#[test]
fn help_is_available_for_every_command() {
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["token", "--help"],
        vec!["keys", "generate", "--help"],
    ] {
        let out = Command::new(BIN).args(&args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("Usage"), "{args:?}");
    }
    let out = Command::new(BIN).arg("serve").arg("--help").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("ROWGATE_DB_SCHEMAS"));
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_ready(admin: u16, deadline: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < deadline {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", admin)) {
            use std::io::{Read, Write};
            let _ = s.write_all(b"GET /ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            let mut out = String::new();
            let _ = s.read_to_string(&mut out);
            if out.starts_with("HTTP/1.1 200") {
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

fn http_get(port: u16, path: &str, auth: Option<&str>) -> (u16, String) {
    http(port, "GET", path, auth, "")
}

fn http(port: u16, method: &str, path: &str, auth: Option<&str>, body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let auth = auth.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let len = body.len();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n{body}"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out[9..12].parse().unwrap();
    let body = out.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}

/// The value after `label` on the banner line that has it.
fn banner_value<'a>(stderr: &'a str, label: &str) -> Option<&'a str> {
    stderr.lines().find_map(|l| l.split_once(label)).map(|(_, v)| v.trim())
}

/// The README's first commands: `rowgate` with no DATABASE_URL, then curl with a minted token;
/// realtime is live there too.
/// The banner prints the API URL, an anon and a service_role key (the same on every start) that
/// work under /rest/v1 too, a token command that works from a cargo build, and the bootstrap hint
/// only while there are no users; re-run migrations' NOTICEs stay out of the log. The anon key is
/// also written to .rowgate/anon_key for the web console's dev server, and the banner says how to
/// start that dev server when run from a checkout (a web/package.json; round 1).
#[test]
fn embedded_default_serves_the_demo_and_reuses_its_cluster() {
    let mut keys_seen: Option<(String, String)> = None;
    // Under /tmp so the postgres OS user can reach it when we run as root.
    let dir = tempfile::Builder::new().prefix("rowgate-embedded-").tempdir_in("/tmp").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();

    for round in 0..2 {
        if round == 1 {
            std::fs::create_dir_all(dir.path().join("web")).unwrap();
            std::fs::write(dir.path().join("web/package.json"), "{}").unwrap();
        }
        let (api, admin) = (free_port(), free_port());
        let mut child = Command::new(BIN)
            .current_dir(dir.path())
            .env_remove("DATABASE_URL")
            .env_remove("ROWGATE_JWT_SECRET")
            .env("ROWGATE_LISTEN", format!("127.0.0.1:{api}"))
            .env("ROWGATE_ADMIN_LISTEN", format!("127.0.0.1:{admin}"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let ready = wait_ready(admin, Duration::from_secs(60));
        if !ready {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("round {round}: never ready: {}", String::from_utf8_lossy(&out.stderr));
        }
        let (status, body) = http_get(api, "/todos?select=task&order=id", None);
        assert_eq!(status, 200, "{body}");
        let anon: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(anon.as_array().unwrap().len(), 2, "{body}");

        let token = Command::new(BIN)
            .current_dir(dir.path())
            .env_remove("ROWGATE_JWT_SECRET")
            .args(["token", "--sub", "alice"])
            .output()
            .unwrap();
        assert!(token.status.success(), "{}", String::from_utf8_lossy(&token.stderr));
        let token = String::from_utf8(token.stdout).unwrap();
        let (status, body) = http_get(api, "/todos?select=owner&order=id", Some(token.trim()));
        assert_eq!(status, 200, "{body}");
        let owners: Vec<String> = serde_json::from_str::<serde_json::Value>(&body)
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["owner"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(owners, vec!["nobody", "nobody", "alice"], "alice sees the public todos and hers, never bob's");
        if round == 0 {
            // The keys the banner prints (read back from its log after this round) are checked
            // here through the prefix supabase-js uses; the first user silences the hint.
            let (status, body) = http(
                api,
                "POST",
                "/auth/v1/bootstrap",
                None,
                r#"{"email":"admin@example.com","password":"a-long-passphrase"}"#,
            );
            assert_eq!(status, 200, "{body}");
        }
        // Round 1 uses the anon key round 0 printed (the same key, as asserted below).
        let anon_key = keys_seen.as_ref().map(|(anon, _)| anon.as_str());
        let (status, body) = http_get(api, "/rest/v1/todos?select=task&order=id", anon_key);
        assert_eq!(status, 200, "the REST API under /rest/v1: {body}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&body).unwrap(), anon);
        let (status, _) = http_get(api, "/rest/v1/todos", Some("not-a-key"));
        assert_eq!(status, 401, "the key is checked under /rest/v1 too");
        // Realtime runs in the embedded default (logical decoding, the replication login, a slot).
        let mut realtime = serde_json::Value::Null;
        for _ in 0..200 {
            let (_, body) = http_get(admin, "/health", None);
            realtime =
                serde_json::from_str::<serde_json::Value>(&body).map(|h| h["realtime"].clone()).unwrap_or_default();
            if realtime["status"] == "live" {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        assert_eq!(realtime["status"], "live", "round {round}: realtime in the embedded default: {realtime}");

        nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM)
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(out.status.success(), "round {round}: {stderr}");
        let anon = banner_value(&stderr, "anon key:").expect("an anon key").to_string();
        let service = banner_value(&stderr, "service_role key:").expect("a service_role key").to_string();
        assert!(stderr.contains(&format!("API URL:          http://127.0.0.1:{api}")), "{stderr}");
        assert!(stderr.contains("cargo run -q -- token --sub alice"), "a command that works: {stderr}");
        assert!(!stderr.contains("$(rowgate token"), "{stderr}");
        assert!(!stderr.contains("skipping"), "NOTICEs of re-run migrations are not logged: {stderr}");
        let anon_file = std::fs::read_to_string(dir.path().join(".rowgate/anon_key")).expect(".rowgate/anon_key");
        assert_eq!(anon_file.trim(), anon, "the dev server's anon key is the printed one");
        let console = banner_value(&stderr, "web console:");
        if round == 0 {
            assert_eq!(console, None, "no web/ here: no console hint: {stderr}");
        } else {
            let line = console.expect("the console hint from a checkout");
            assert!(
                line.contains(&format!("ROWGATE_URL=http://127.0.0.1:{api} npm run dev"))
                    && line.contains("http://127.0.0.1:5173"),
                "{line}"
            );
        }
        match &keys_seen {
            None => {
                assert!(stderr.contains("/auth/v1/bootstrap"), "no users yet: the bootstrap hint: {stderr}");
                keys_seen = Some((anon, service));
            }
            Some(first) => {
                assert!(!stderr.contains("/auth/v1/bootstrap"), "a user exists: no bootstrap hint: {stderr}");
                assert_eq!(first, &(anon, service), "the keys are the same on every start");
            }
        }
        // The cluster was stopped on shutdown.
        assert!(!dir.path().join(".rowgate/pgdata/postmaster.pid").exists(), "PostgreSQL left running");
        assert!(dir.path().join(".rowgate/pgdata/PG_VERSION").exists());
    }
}

/// Reads `child`'s standard error (or, under `script`, its standard output) until a line
/// contains `needle` or `within` passes; the child is killed either way.
fn first_line_with(
    mut child: std::process::Child,
    from_stdout: bool,
    needle: &str,
    within: Duration,
) -> Option<String> {
    use std::io::BufRead;
    let stream: Box<dyn std::io::Read + Send> =
        if from_stdout { Box::new(child.stdout.take().unwrap()) } else { Box::new(child.stderr.take().unwrap()) };
    let (tx, rx) = std::sync::mpsc::channel();
    let needle = needle.to_string();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stream).lines().map_while(Result::ok) {
            if line.contains(&needle) {
                let _ = tx.send(line);
                return;
            }
        }
    });
    let found = rx.recv_timeout(within).ok();
    let _ = child.kill();
    let _ = child.wait();
    found
}

/// An unreachable database is named in the log: host, port, database, user, the OS error, and
/// that it will retry. Piped, the log is JSON; on a terminal it is text.
#[test]
fn an_unreachable_database_is_named_in_the_log_line() {
    let dead = free_port();
    let env = |cmd: &mut Command| {
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", format!("postgres://authenticator@127.0.0.1:{dead}/appdb"))
            .env("ROWGATE_JWT_SECRET", "reallyreallyreallyreallyverysafe-rowgate")
            .env("ROWGATE_LISTEN", format!("127.0.0.1:{}", free_port()))
            .env("ROWGATE_ADMIN_LISTEN", format!("127.0.0.1:{}", free_port()));
    };
    let mut piped = Command::new(BIN);
    env(&mut piped);
    let child = piped.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let line = first_line_with(child, false, "schema cache load failed", Duration::from_secs(20)).expect("a log line");
    assert!(line.starts_with('{'), "JSON when piped: {line}");
    for part in [format!("127.0.0.1:{dead}"), "database appdb".into(), "user authenticator".into()] {
        assert!(line.contains(&part), "{part} missing: {line}");
    }
    assert!(line.contains("Connection refused (os error 111)"), "the OS error: {line}");
    assert!(line.contains("retrying in"), "{line}");

    // Under a pseudo-terminal (`script`), the same line in the human-readable format.
    let mut tty = Command::new("script");
    env(&mut tty);
    let child = tty
        .args(["-qfec", BIN, "/dev/null"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let line = first_line_with(child, true, "schema cache load failed", Duration::from_secs(20)).expect("a log line");
    assert!(!line.trim_start().starts_with('{') && line.contains("WARN"), "text on a terminal: {line}");
    assert!(line.contains(&format!("127.0.0.1:{dead}")), "{line}");
}

/// With DATABASE_URL and no key that can sign (no ROWGATE_JWT_SIGNING_KEY, and no plain
/// ROWGATE_JWT_SECRET), rowgate refuses to start with one line naming what to set, unless
/// /auth/v1 is turned off.
#[test]
fn no_signing_key_stops_startup_unless_auth_is_off() {
    let jwks = r#"{"keys":[{"kty":"EC","crv":"P-256","x":"WKn-ZIGevcwGIyyrzFoZNBdaq9_TsqzGl96oc0CWuis","y":"y77t-RvAHRKTsSGdIYUfweuOvwrvDD-Q3Hv5J0fSKbE"}]}"#;
    for extra in [vec![], vec![("ROWGATE_JWT_SECRET", jwks)]] {
        let mut vars = vec![("DATABASE_URL", "host=/nonexistent user=authenticator")];
        vars.extend(extra.iter().copied());
        let out = run_with_env(&vars);
        assert!(!out.status.success(), "started without a signing key: {vars:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "one line: {stderr}");
        assert!(
            lines[0].contains("ROWGATE_JWT_SIGNING_KEY") && lines[0].contains("ROWGATE_AUTH_ENABLED=false"),
            "{stderr}"
        );
    }
    // Turned off, it starts (and waits for the database).
    let (api, admin) = (free_port(), free_port());
    let child = Command::new(BIN)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", format!("postgres://authenticator@127.0.0.1:{}/x", free_port()))
        .env("ROWGATE_AUTH_ENABLED", "false")
        .env("ROWGATE_LISTEN", format!("127.0.0.1:{api}"))
        .env("ROWGATE_ADMIN_LISTEN", format!("127.0.0.1:{admin}"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(first_line_with(child, false, "rowgate listening", Duration::from_secs(20)).is_some());
}

#[test]
fn token_accepts_a_negative_lifetime() {
    let out = Command::new(BIN)
        .env("ROWGATE_JWT_SECRET", "reallyreallyreallyreallyverysafe-rowgate")
        .args(["token", "--expires-in", "-10"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap();
    let payload = token.trim().split('.').nth(1).unwrap();
    use base64::Engine;
    let claims: serde_json::Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    let (iat, exp) = (claims["iat"].as_i64().unwrap(), claims["exp"].as_i64().unwrap());
    assert_eq!(exp - iat, -10, "{claims}");
}

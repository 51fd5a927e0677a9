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
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let auth = auth.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out[9..12].parse().unwrap();
    let body = out.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}

/// The README's first commands: `rowgate` with no DATABASE_URL, then curl with a minted token.
#[test]
fn embedded_default_serves_the_demo_and_reuses_its_cluster() {
    // Under /tmp so the postgres OS user can reach it when we run as root.
    let dir = tempfile::Builder::new().prefix("rowgate-embedded-").tempdir_in("/tmp").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();

    for round in 0..2 {
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

        nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM)
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "round {round}: {}", String::from_utf8_lossy(&out.stderr));
        // The cluster was stopped on shutdown.
        assert!(!dir.path().join(".rowgate/pgdata/postmaster.pid").exists(), "PostgreSQL left running");
        assert!(dir.path().join(".rowgate/pgdata/PG_VERSION").exists());
    }
}

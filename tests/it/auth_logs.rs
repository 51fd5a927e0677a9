//! The `rowgate` binary at its most verbose (ROWGATE_LOG=debug, JSON lines) through a whole
//! auth flow: nothing secret may reach its output — not the password, not an access or refresh
//! token, not a bcrypt hash.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::*;

const BIN: &str = env!("CARGO_BIN_EXE_rowgate");
const PASSWORD: &str = "log-canary correct horse 7f3a";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Reads a pipe to its end on a thread of its own (debug logging fills a pipe buffer quickly).
fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

struct Output {
    child: Child,
    stdout: std::thread::JoinHandle<String>,
    stderr: std::thread::JoinHandle<String>,
}

impl Output {
    /// SIGTERM, then everything the process wrote.
    fn stop(self) -> (std::process::ExitStatus, String) {
        let mut child = self.child;
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM)
            .unwrap();
        let status = child.wait().unwrap();
        let text = format!("{}{}", self.stdout.join().unwrap(), self.stderr.join().unwrap());
        (status, text)
    }
}

#[tokio::test]
async fn secrets_never_reach_the_logs() {
    let db = TestDb::new().await;
    let admin = db.admin().await;
    admin
        .execute(
            "insert into auth.users (email, encrypted_password) values ('logs@example.com', crypt($1, gen_salt('bf', 10)))",
            &[&PASSWORD],
        )
        .await
        .unwrap();
    let hash: String = admin
        .query_one("select encrypted_password from auth.users where email = 'logs@example.com'", &[])
        .await
        .unwrap()
        .get(0);

    let (api, admin_port) = (free_port(), free_port());
    let key = rowgate::auth::signing::SigningKey::generate_jwk().unwrap();
    let mut child = Command::new(BIN)
        .env("DATABASE_URL", db.url())
        .env("ROWGATE_LOG", "debug")
        .env("ROWGATE_LOG_FORMAT", "json")
        .env("ROWGATE_JWT_SIGNING_KEY", &key)
        .env("ROWGATE_JWT_SECRET", SECRET)
        .env("ROWGATE_DB_PRE_REQUEST", "internal.check_request")
        .env("ROWGATE_LISTEN", format!("127.0.0.1:{api}"))
        .env("ROWGATE_ADMIN_LISTEN", format!("127.0.0.1:{admin_port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run rowgate");
    let out =
        Output { stdout: drain(child.stdout.take().unwrap()), stderr: drain(child.stderr.take().unwrap()), child };

    let http = reqwest::Client::new();
    let start = Instant::now();
    let ready = loop {
        let r = http.get(format!("http://127.0.0.1:{admin_port}/ready")).send().await;
        if matches!(&r, Ok(r) if r.status() == 200) {
            break true;
        }
        if start.elapsed() > Duration::from_secs(30) {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    if !ready {
        let (status, text) = out.stop();
        panic!("rowgate never became ready ({status}):\n{text}");
    }

    let base = format!("http://127.0.0.1:{api}");
    let post = |path: &str, body: Value, bearer: Option<&str>| {
        let mut req = http.post(format!("{base}{path}")).json(&body);
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    // Sign in (a wrong password first, so the failure path logs too), refresh, read, log out.
    let r = post("/auth/v1/token?grant_type=password", json!({"email": "logs@example.com", "password": "nope"}), None)
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r =
        post("/auth/v1/token?grant_type=password", json!({"email": "logs@example.com", "password": PASSWORD}), None)
            .await
            .unwrap();
    assert_eq!(r.status(), 200);
    let s1: Value = r.json().await.unwrap();
    let r = post("/auth/v1/token?grant_type=refresh_token", json!({"refresh_token": s1["refresh_token"]}), None)
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let s2: Value = r.json().await.unwrap();
    let access = s2["access_token"].as_str().unwrap().to_string();
    let r = http.get(format!("{base}/whoami")).bearer_auth(&access).send().await.unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let r = http.get(format!("{base}/auth/v1/user")).bearer_auth(&access).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = post("/auth/v1/logout?scope=global", json!({}), Some(&access)).await.unwrap();
    assert_eq!(r.status(), 204);
    // The revoked token and the spent refresh token, once more each, for the rejection paths.
    let r = http.get(format!("{base}/whoami")).bearer_auth(&access).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = post("/auth/v1/token?grant_type=refresh_token", json!({"refresh_token": s1["refresh_token"]}), None)
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    let (status, logs) = out.stop();
    assert!(status.success(), "rowgate did not stop cleanly on SIGTERM ({status}):\n{logs}");
    assert!(logs.lines().count() > 3, "debug logging produced almost nothing; is ROWGATE_LOG honoured?\n{logs}");
    let secrets = [
        ("the password", PASSWORD.to_string()),
        ("the first access token", s1["access_token"].as_str().unwrap().to_string()),
        ("the refreshed access token", access.clone()),
        ("the first refresh token", s1["refresh_token"].as_str().unwrap().to_string()),
        ("the rotated refresh token", s2["refresh_token"].as_str().unwrap().to_string()),
        ("the user's bcrypt hash", hash),
        ("a bcrypt hash ($2a$)", "$2a$".to_string()),
        ("a bcrypt hash ($2b$)", "$2b$".to_string()),
    ];
    for (what, secret) in secrets {
        assert!(!logs.contains(&secret), "{what} appears in the logs:\n{logs}");
    }
    // A token's signature alone is as good as a leak of the token.
    let signature = access.rsplit('.').next().unwrap();
    assert!(!logs.contains(signature), "an access token's signature appears in the logs:\n{logs}");
}

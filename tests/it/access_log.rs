//! The real `rowgate` binary with `ROWGATE_LOG_FORMAT=json`: one parseable access line per
//! request with the documented fields, request ids honoured or generated and echoed, the same id
//! in the audit log row of a write, and no token, password, cookie or query value anywhere.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::*;

const BIN: &str = env!("CARGO_BIN_EXE_rowgate");
const PASSWORD: &str = "access-canary horse 91c2";
const QUERY_SECRET: &str = "querycanary7d1e";
const COOKIE_SECRET: &str = "cookiecanary5b0a";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

#[tokio::test]
async fn access_lines_are_json_carry_the_request_id_and_no_secret() {
    let db = TestDb::new().await;
    let (api, admin_port) = (free_port(), free_port());
    let mut child = Command::new(BIN)
        .env("DATABASE_URL", db.url())
        .env("ROWGATE_LOG", "info")
        .env("ROWGATE_LOG_FORMAT", "json")
        .env("ROWGATE_JWT_SECRET", SECRET)
        .env("ROWGATE_LISTEN", format!("127.0.0.1:{api}"))
        .env("ROWGATE_ADMIN_LISTEN", format!("127.0.0.1:{admin_port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run rowgate");
    let stdout = drain(child.stdout.take().unwrap());
    let stderr = drain(child.stderr.take().unwrap());
    let stop = move |mut child: std::process::Child| {
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        child.wait().unwrap();
        format!("{}{}", stdout.join().unwrap(), stderr.join().unwrap())
    };

    let http = reqwest::Client::new();
    let started = Instant::now();
    while !matches!(http.get(format!("http://127.0.0.1:{admin_port}/ready")).send().await, Ok(r) if r.status() == 200) {
        if started.elapsed() > Duration::from_secs(30) {
            panic!("rowgate never became ready:\n{}", stop(child));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let url = |path: &str| format!("http://127.0.0.1:{api}{path}");
    let token = token(json!({"role": "authenticated", "sub": "log-user", "exp": now() + 600}));

    // How long each request took as the client saw it: the logged latency can be no longer.
    let mut took_ms: Vec<(&str, f64)> = Vec::new();
    let timer = Instant::now();
    // A read with a bearer token, a cookie, a secret filter value and the client's request id.
    let r = http
        .get(url(&format!("/items?select=id&name=eq.{QUERY_SECRET}")))
        .bearer_auth(&token)
        .header("cookie", format!("session={COOKIE_SECRET}"))
        .header("x-request-id", "client-read.1")
        .send()
        .await
        .unwrap();
    took_ms.push(("/items", timer.elapsed().as_secs_f64() * 1000.0));
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-request-id"], "client-read.1");
    // A write (an anonymous RPC that registers an org: the audit trigger records the id) with a
    // password in its body and no request id of its own.
    let body = json!({"email": "audited@example.com", "password": PASSWORD, "org_name": "Audited"});
    let timer = Instant::now();
    let r = http.post(url("/rpc/register_organization")).json(&body).send().await.unwrap();
    took_ms.push(("/rpc/register_organization", timer.elapsed().as_secs_f64() * 1000.0));
    assert_eq!(r.status(), 200);
    let generated = r.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(generated.len(), 36, "a generated UUID: {generated}");
    // A failed sign-in (password in the body, `apikey` in the query), and an error with an
    // insane request id.
    let login = json!({"email": "audited@example.com", "password": format!("{PASSWORD}-wrong")});
    let path = format!("/auth/v1/token?grant_type=password&apikey={QUERY_SECRET}");
    let timer = Instant::now();
    let r = http.post(url(&path)).json(&login).send().await.unwrap();
    took_ms.push(("/auth/v1/token", timer.elapsed().as_secs_f64() * 1000.0));
    assert_eq!(r.status(), 400);
    let timer = Instant::now();
    let r = http.post(url("/private_things")).header("x-request-id", "not sane!").json(&json!({"id": 1})).send().await;
    took_ms.push(("/private_things", timer.elapsed().as_secs_f64() * 1000.0));
    let r = r.unwrap();
    assert_eq!(r.status(), 401);
    let replaced = r.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_ne!(replaced, "not sane!");

    let audit_id: Option<String> = db
        .admin()
        .await
        .query_one("select request_id from api.audit_log where table_name = 'organizations'", &[])
        .await
        .unwrap()
        .get(0);
    let output = stop(child);

    for secret in [token.as_str(), PASSWORD, QUERY_SECRET, COOKIE_SECRET, SECRET] {
        assert!(!output.contains(secret), "{secret:?} leaked into the output:\n{output}");
    }
    let lines: Vec<Value> = output
        .lines()
        .filter(|l| l.contains("rowgate::access"))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let access: Vec<&Value> = lines.iter().filter(|l| l["target"] == "rowgate::access").map(|l| &l["fields"]).collect();
    assert_eq!(access.len(), 4, "one line per request:\n{output}");
    for f in &access {
        for field in ["request_id", "method", "path", "status", "latency_ms", "kind"] {
            assert!(!f[field].is_null(), "{field} missing in {f}");
        }
        assert!(!f["path"].as_str().unwrap().contains('?'), "no query string: {f}");
        // From the request's arrival to its response: within what the client waited.
        let latency = f["latency_ms"].as_f64().unwrap();
        let (_, client) = took_ms.iter().find(|(p, _)| f["path"] == *p).unwrap_or_else(|| panic!("unexpected {f}"));
        assert!(latency > 0.0 && latency <= *client, "{latency} ms logged, the client waited {client} ms: {f}");
    }
    let line = |path: &str| *access.iter().find(|f| f["path"] == path).unwrap_or_else(|| panic!("no line for {path}"));

    let read = line("/items");
    assert_eq!(
        (&read["request_id"], &read["method"], &read["status"], &read["kind"], &read["role"]),
        (&json!("client-read.1"), &json!("GET"), &json!(200), &json!("read"), &json!("authenticated"))
    );
    assert!(read.get("code").is_none(), "no error code on success: {read}");

    let write = line("/rpc/register_organization");
    assert_eq!(
        (&write["request_id"], &write["kind"], &write["role"]),
        (&json!(generated), &json!("rpc"), &json!("anon"))
    );
    assert_eq!(audit_id.as_deref(), Some(generated.as_str()), "the audit row carries the logged id");

    let auth = line("/auth/v1/token");
    assert_eq!((&auth["status"], &auth["kind"], &auth["method"]), (&json!(400), &json!("auth"), &json!("POST")));

    let denied = line("/private_things");
    assert_eq!(
        (&denied["request_id"], &denied["status"], &denied["code"], &denied["kind"], &denied["role"]),
        (&json!(replaced), &json!(401), &json!("42501"), &json!("write"), &json!("anon"))
    );
}

//! `DATABASE_URL` with `sslmode` against a throwaway cluster with `ssl=on` whose pg_hba accepts
//! TCP only as `hostssl`; its certificate is for `localhost`, signed by a test CA.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use rowgate::app;
use rowgate::cluster::{self, Cluster};
use rowgate::config::{Config, ServeArgs};
use rowgate::tls::PgTarget;

use super::pki::{self, Ca};
use crate::harness::{connect, SECRET};

const DB: &str = "tlsdb";

struct SslCluster {
    cluster: Cluster,
    /// The CA that signed the server's certificate.
    ca: PathBuf,
    /// A CA that signed nothing here.
    other_ca: PathBuf,
    _dir: tempfile::TempDir,
}

impl SslCluster {
    fn url(&self, host: &str, params: &str) -> String {
        format!("postgres://authenticator@{host}:{}/{DB}?{params}", self.cluster.port())
    }
}

/// One cluster for these tests, started on its own runtime (it outlives every test's).
fn ssl_cluster() -> &'static SslCluster {
    static CLUSTER: OnceLock<SslCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        std::thread::spawn(|| tokio::runtime::Runtime::new().unwrap().block_on(start_ssl_cluster()))
            .join()
            .expect("ssl cluster set-up")
    })
}

async fn start_ssl_cluster() -> SslCluster {
    let dir = pki::dir();
    let ca = Ca::new("rowgate test CA");
    let leaf = ca.leaf(&["localhost"], 1);
    let write = |name: &str, text: &str| pki::write_for_postgres(&dir.path().join(name), text);
    let (cert, key) = (write("server.crt", &leaf.cert_pem), write("server.key", &leaf.key_pem));
    let hba = write(
        "pg_hba.conf",
        "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostssl all all ::1/128 trust\n",
    );
    let ca_path = write("ca.pem", &ca.pem());
    let other_ca = write("other-ca.pem", &Ca::new("someone else's CA").pem());
    let path = |p: &PathBuf| p.to_string_lossy().into_owned();
    let conf = [
        // After the throwaway default (no TCP) in the same file, so this one wins.
        ("listen_addresses", "127.0.0.1".to_string()),
        ("ssl", "on".to_string()),
        ("ssl_cert_file", path(&cert)),
        ("ssl_key_file", path(&key)),
        ("hba_file", path(&hba)),
    ];
    let cluster = cluster::start_throwaway_with(conf.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
        .await
        .expect("start a cluster with ssl=on");
    connect(&cluster.conn_string("postgres", "postgres"))
        .await
        .batch_execute(&format!("create database {DB}"))
        .await
        .unwrap();
    rowgate::cluster::embedded::prepare_database(&cluster, DB).await.expect("migrate and load the demo");
    SslCluster { cluster, ca: ca_path, other_ca, _dir: dir }
}

fn config(url: String) -> Config {
    let args = ServeArgs {
        database_url: Some(url),
        listen: Some("127.0.0.1:0".into()),
        admin_listen: Some("127.0.0.1:0".into()),
        jwt_secret: Some(SECRET.into()),
        log: Some("warn".into()),
        ..Default::default()
    };
    Config::from_args(&args, &|_| None).expect("valid config")
}

/// Starts rowgate on `url` and reads the demo's todos over HTTP.
async fn serves(url: String) {
    let running = app::start(config(url.clone())).await.unwrap_or_else(|e| panic!("{url}: {e}"));
    assert!(running.wait_ready(Duration::from_secs(20)).await, "{url}: schema cache never loaded");
    let resp = reqwest::get(format!("http://{}/todos", running.api_addr)).await.unwrap();
    assert_eq!(resp.status(), 200, "{url}");
    running.shutdown().await;
}

/// Starts rowgate on `url` and returns its start-up error.
async fn refused(url: String) -> String {
    match app::start(config(url.clone())).await {
        Ok(running) => {
            running.shutdown().await;
            panic!("{url}: started");
        }
        Err(e) => {
            let e = e.to_string();
            assert!(e.starts_with("DATABASE_URL: ") && !e.contains('\n'), "{url}: {e}");
            e
        }
    }
}

#[tokio::test]
async fn verify_full_serves_and_every_connection_is_encrypted() {
    let c = ssl_cluster();
    let url = c.url("localhost", &format!("sslmode=verify-full&sslrootcert={}", c.ca.display()));
    let running = app::start(config(url)).await.expect("start");
    assert!(running.wait_ready(Duration::from_secs(20)).await);
    for _ in 0..3 {
        let resp = reqwest::get(format!("http://{}/todos", running.api_addr)).await.unwrap();
        assert_eq!(resp.status(), 200);
    }
    let admin = connect(&c.cluster.conn_string("postgres", DB)).await;
    let row = admin
        .query_one(
            "select count(*), coalesce(bool_and(s.ssl), false) from pg_stat_activity a join pg_stat_ssl s using (pid)
             where a.usename = 'authenticator' and a.datname = $1",
            &[&DB],
        )
        .await
        .unwrap();
    let (connections, all_ssl): (i64, bool) = (row.get(0), row.get(1));
    // The pool's connections and the schema listener's.
    assert!(connections >= 2, "{connections} connections");
    assert!(all_ssl, "a connection without TLS");
    running.shutdown().await;
}

#[tokio::test]
async fn verify_full_refuses_a_certificate_for_another_host_and_verify_ca_accepts_it() {
    let c = ssl_cluster();
    // Same server (hostaddr), but the name checked is not the certificate's.
    let params = |mode: &str| format!("hostaddr=127.0.0.1&sslmode={mode}&sslrootcert={}", c.ca.display());
    let e = refused(c.url("db.wrong.example", &params("verify-full"))).await;
    assert!(
        e.contains("sslmode=verify-full: the server's certificate is for localhost, not \"db.wrong.example\""),
        "{e}"
    );
    serves(c.url("db.wrong.example", &params("verify-ca"))).await;
}

#[tokio::test]
async fn verify_full_refuses_an_unknown_ca_and_require_does_not_check() {
    let c = ssl_cluster();
    let e = refused(c.url("localhost", &format!("sslmode=verify-full&sslrootcert={}", c.other_ca.display()))).await;
    assert!(e.contains("not signed by a CA in sslrootcert="), "{e}");
    // The system store does not know the test CA either (or the machine has no store at all).
    let e = refused(c.url("localhost", "sslmode=verify-ca")).await;
    assert!(e.contains("not signed by a CA in the system's") || e.contains("no system root certificates"), "{e}");
    // As libpq: require encrypts without checking; with an sslrootcert it checks the chain.
    serves(c.url("127.0.0.1", "sslmode=require")).await;
    let e = refused(c.url("localhost", &format!("sslmode=require&sslrootcert={}", c.other_ca.display()))).await;
    assert!(e.contains("not signed by a CA"), "{e}");
}

#[tokio::test]
async fn a_hostssl_only_server_refuses_plain_connections() {
    let c = ssl_cluster();
    // prefer does not try TLS on loopback (documented), so it is refused too.
    for mode in ["disable", "prefer"] {
        let target = PgTarget::from_url(&c.url("127.0.0.1", &format!("sslmode={mode}"))).unwrap();
        let e = target.connect().await.err().unwrap_or_else(|| panic!("sslmode={mode} connected"));
        let e = e.as_db_error().map(|d| d.message().to_string()).unwrap_or_else(|| e.to_string());
        assert!(e.contains("no pg_hba.conf entry") && e.contains("no encryption"), "{mode}: {e}");
    }
    let target =
        PgTarget::from_url(&c.url("localhost", &format!("sslmode=verify-full&sslrootcert={}", c.ca.display())));
    let client = target.unwrap().connect().await.expect("verify-full connects");
    let ssl: bool =
        client.query_one("select ssl from pg_stat_ssl where pid = pg_backend_pid()", &[]).await.unwrap().get(0);
    assert!(ssl);
}

#[test]
fn migrate_with_verify_full_and_its_one_line_refusal() {
    let c = ssl_cluster();
    let run = |url: String| {
        std::process::Command::new(env!("CARGO_BIN_EXE_rowgate"))
            .arg("migrate")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", url)
            .output()
            .unwrap()
    };
    // A superuser over TLS: migrations already applied, policies re-applied.
    let ok = run(c
        .url("localhost", &format!("sslmode=verify-full&sslrootcert={}", c.ca.display()))
        .replace("authenticator@", "postgres@"));
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let bad = run(c.url("localhost", &format!("sslmode=verify-full&sslrootcert={}", c.other_ca.display())));
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].starts_with("rowgate: DATABASE_URL: sslmode=verify-full"), "{stderr}");
}

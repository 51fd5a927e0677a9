//! Test harness: one throwaway PostgreSQL cluster per test process (stopped and removed by a
//! reaper when the process exits, even after a panic), a template database migrated and loaded
//! with fixtures, a fresh database per test, and rowgate started in-process on free ports.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use rowgate::app::{self, Running};
use rowgate::cluster::{self, Cluster};
use rowgate::config::{Config, ServeArgs};

pub const SECRET: &str = "reallyreallyreallyreallyverysafe-rowgate";
const TEMPLATE: &str = "rowgate_template";

static CLUSTER: OnceLock<Cluster> = OnceLock::new();
static NEXT_DB: AtomicUsize = AtomicUsize::new(0);

/// The process-wide cluster with the template database ready.
pub fn cluster() -> &'static Cluster {
    install_crypto_provider();
    CLUSTER.get_or_init(|| {
        // Own runtime: tests each run on their own, and this must outlive all of them.
        std::thread::spawn(|| {
            let rt = tokio::runtime::Runtime::new().expect("runtime");
            rt.block_on(async {
                // Logical decoding for the realtime tests (one slot per gateway they start).
                let mut conf = cluster::logical_decoding();
                conf.retain(|(k, _)| k == "wal_level");
                conf.extend([("max_replication_slots".into(), "100".into()), ("max_wal_senders".into(), "100".into())]);
                let cluster = cluster::start_throwaway_with(conf).await.expect("start throwaway PostgreSQL");
                let admin = connect(&cluster.conn_string("postgres", "postgres")).await;
                admin.batch_execute(&format!("create database {TEMPLATE}")).await.expect("create template");
                drop(admin);
                rowgate::cluster::embedded::prepare_database(&cluster, TEMPLATE).await.expect("migrate template");
                let t = connect(&cluster.conn_string("postgres", TEMPLATE)).await;
                t.batch_execute(include_str!("../fixtures/reads.sql")).await.expect("load read fixtures");
                t.batch_execute(include_str!("../fixtures/writes.sql")).await.expect("load write fixtures");
                t.batch_execute(include_str!("../fixtures/rpc.sql")).await.expect("load rpc fixtures");
                t.batch_execute(include_str!("../fixtures/parity.sql")).await.expect("load parity fixtures");
                cluster
            })
        })
        .join()
        .expect("cluster setup thread")
    })
}

/// reqwest's rustls runs on the process-wide provider: aws-lc-rs, as in the gateway (every test
/// reaches the cluster or a gateway before it builds a client).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

pub async fn connect(conn: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(conn, tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(connection);
    client
}

/// A database of its own, cloned from the template.
pub struct TestDb {
    pub name: String,
}

impl TestDb {
    pub async fn new() -> TestDb {
        let cluster = cluster();
        let name = format!("t{}_{}", std::process::id(), NEXT_DB.fetch_add(1, Ordering::SeqCst));
        let admin = connect(&cluster.conn_string("postgres", "postgres")).await;
        admin
            .batch_execute(&format!("create database {name} template {TEMPLATE}"))
            .await
            .expect("create test database");
        TestDb { name }
    }

    /// A superuser connection to this database, for setup and for checking effects.
    pub async fn admin(&self) -> tokio_postgres::Client {
        connect(&cluster().conn_string("postgres", &self.name)).await
    }

    /// The gateway's connection string (authenticator over the unix socket).
    pub fn url(&self) -> String {
        cluster().conn_string("authenticator", &self.name)
    }

    /// Realtime's replication connection (sql/V30's rowgate_replication over the unix socket).
    pub fn replication_url(&self) -> String {
        cluster().conn_string("rowgate_replication", &self.name)
    }
}

/// Settings as a user would give them, plus the test database.
pub fn config(db: &TestDb, tweak: impl FnOnce(&mut ServeArgs)) -> Config {
    let mut args = ServeArgs {
        database_url: Some(db.url()),
        listen: Some("127.0.0.1:0".into()),
        admin_listen: Some("127.0.0.1:0".into()),
        jwt_secret: Some(SECRET.into()),
        db_schemas: Some("api,v2".into()),
        log: Some("warn".into()),
        // Off unless a test turns it on (tests/it/realtime/): a gateway per test, a slot per gateway.
        realtime: Some("off".into()),
        ..Default::default()
    };
    tweak(&mut args);
    Config::from_args(&args, &|_| None).expect("valid test config")
}

pub struct Gateway {
    pub running: Running,
    pub http: reqwest::Client,
    pub db: TestDb,
}

impl Gateway {
    /// A fresh database and a gateway on it with default settings.
    pub async fn start() -> Gateway {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut ServeArgs)) -> Gateway {
        let db = TestDb::new().await;
        let config = config(&db, tweak);
        Self::start_on(db, config).await
    }

    pub async fn start_on(db: TestDb, config: Config) -> Gateway {
        let running = app::start(config).await.expect("start rowgate");
        assert!(running.wait_ready(Duration::from_secs(10)).await, "schema cache never loaded");
        Gateway { running, http: reqwest::Client::new(), db }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.running.api_addr, path)
    }

    pub fn admin_url(&self, path: &str) -> String {
        format!("http://{}{}", self.running.admin_addr, path)
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.request(reqwest::Method::GET, path, &[]).await
    }

    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        self.request(reqwest::Method::GET, path, headers).await
    }

    /// A request with a body (JSON unless a content-type header says otherwise).
    pub async fn send(&self, method: reqwest::Method, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
        let mut req = self.http.request(method, self.url(path)).body(body.to_string());
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
            req = req.header("content-type", "application/json");
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Reply::read(req.send().await.expect("request sent")).await
    }

    pub async fn request(&self, method: reqwest::Method, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut req = self.http.request(method, self.url(path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.expect("request sent");
        Reply::read(resp).await
    }
}

/// A response read whole, with helpers for assertions.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Reply {
    pub async fn read(resp: reqwest::Response) -> Reply {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.text().await.expect("body");
        Reply { status, headers, body }
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The PostgREST error code of an error body.
    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_string()
    }

    /// `id` values of a JSON array body.
    pub fn ids(&self) -> Vec<i64> {
        self.json().as_array().expect("array body").iter().map(|r| r["id"].as_i64().expect("id")).collect()
    }
}

/// An HS256 token for the test secret.
pub fn token(claims: serde_json::Value) -> String {
    rowgate::auth::mint_hs256(SECRET, &claims)
}

pub fn bearer(claims: serde_json::Value) -> String {
    format!("Bearer {}", token(claims))
}

pub fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

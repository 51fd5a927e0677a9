//! Read replicas (`ROWGATE_DB_READ_URL`) against a real streaming replica started by the test
//! (`pg_basebackup -R` from a throwaway primary): reads go to the replica and writes and
//! volatile calls to the primary; a subject reads its own writes even from a delayed replica;
//! a stopped replica costs no failed request; and pooled reads through the replica never
//! cross orgs.

use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};
use reqwest::Method;
use rowgate::app::{self, Running};
use rowgate::cluster::{self, Cluster};
use rowgate::config::{Config, ServeArgs};
use serde_json::{json, Value};

use crate::harness::{connect, install_crypto_provider, Reply, SECRET};
use crate::tenants::*;

const PASSWORD: &str = "password";

/// Where a statement ran, as PostgreSQL sees it; a stable and a volatile function saying the same.
const PROBES: &str = r#"
create view api.served_by with (security_invoker = true) as
  select case when pg_is_in_recovery() then 'replica' else 'primary' end as server;
grant select on api.served_by to anon, authenticated;
create function api.served_by_stable() returns text language sql stable
  as $$ select case when pg_is_in_recovery() then 'replica' else 'primary' end $$;
create function api.served_by_volatile() returns text language sql volatile
  as $$ select case when pg_is_in_recovery() then 'replica' else 'primary' end $$;
grant execute on function api.served_by_stable(), api.served_by_volatile() to anon, authenticated;
"#;

struct Setup {
    primary: Cluster,
    replica: Cluster,
    running: Running,
    http: reqwest::Client,
}

impl Setup {
    /// A primary with the reference schema and the tenant world, a streaming replica of it
    /// (with `replica_conf`), and a gateway reading from the replica.
    async fn start(replica_conf: &[(&str, &str)], tweak: impl FnOnce(&mut ServeArgs)) -> Setup {
        install_crypto_provider();
        let primary = cluster::start_throwaway().await.expect("a primary");
        connect(&primary.conn_string("postgres", "postgres")).await.batch_execute("create database app").await.unwrap();
        rowgate::cluster::embedded::prepare_database(&primary, "app").await.expect("migrate");
        let app = connect(&primary.conn_string("postgres", "app")).await;
        seed_with(&app, &[&passwords(PASSWORD), PROBES]).await;
        let conf = replica_conf.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let replica = cluster::start_replica_of(&primary, conf).await.expect("a replica");
        let key = rowgate::auth::signing::SigningKey::generate_jwk().unwrap();
        let mut args = ServeArgs {
            database_url: Some(primary.conn_string("authenticator", "app")),
            db_read_url: Some(replica.conn_string("authenticator", "app")),
            listen: Some("127.0.0.1:0".into()),
            admin_listen: Some("127.0.0.1:0".into()),
            jwt_secret: Some(SECRET.into()),
            jwt_signing_key: Some(key),
            db_pre_request: Some("internal.check_request".into()),
            log: Some("warn".into()),
            ..Default::default()
        };
        tweak(&mut args);
        let config = Config::from_args(&args, &|_| None).expect("valid settings");
        let running = app::start(config).await.expect("start rowgate");
        assert!(running.wait_ready(Duration::from_secs(10)).await, "schema cache never loaded");
        let setup = Setup { primary, replica, running, http: reqwest::Client::new() };
        // The monitor sees the replica within a few samples.
        setup.eventually("reads reach the replica", || async { setup.served_by(None).await == "replica" }).await;
        setup
    }

    async fn call(&self, method: Method, path: &str, auth: Option<&str>, body: Option<Value>) -> Reply {
        let mut req = self.http.request(method, format!("http://{}{path}", self.running.api_addr));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b.to_string());
        }
        Reply::read(req.send().await.expect("request sent")).await
    }

    async fn sign_in(&self, email: &str) -> String {
        let body = json!({"email": email, "password": PASSWORD});
        let r = self.call(Method::POST, "/auth/v1/token?grant_type=password", None, Some(body)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        format!("Bearer {}", r.json()["access_token"].as_str().unwrap())
    }

    /// Signs in and waits until the replica has the new session (until then the replica's
    /// check refuses the token and the primary serves its reads).
    async fn sign_in_replicated(&self, email: &str) -> String {
        let auth = self.sign_in(email).await;
        self.eventually("the session reaches the replica", || async { self.served_by(Some(&auth)).await == "replica" })
            .await;
        auth
    }

    async fn served_by(&self, auth: Option<&str>) -> String {
        let r = self.call(Method::GET, "/served_by", auth, None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()[0]["server"].as_str().unwrap_or_default().to_string()
    }

    async fn metric(&self, line_start: &str) -> f64 {
        let text = self.http.get(format!("http://{}/metrics", self.running.admin_addr)).send().await.unwrap();
        let text = text.text().await.unwrap();
        text.lines()
            .find(|l| l.starts_with(line_start))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {line_start} in /metrics:\n{text}"))
    }

    async fn eventually<F, Fut>(&self, what: &str, check: F)
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if check().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("never: {what}");
    }
}

#[tokio::test]
async fn reads_go_to_the_replica_and_writes_and_volatile_calls_to_the_primary() {
    let s = Setup::start(&[], |_| {}).await;
    let member = s.sign_in_replicated("member@a.test").await;
    let rpc = |m: Method, f: &'static str| {
        let (s, member) = (&s, member.clone());
        async move { s.call(m, &format!("/rpc/{f}"), Some(&member), Some(json!({}))).await.json() }
    };
    assert_eq!(rpc(Method::GET, "served_by_stable").await, "replica", "GET: read-only");
    assert_eq!(rpc(Method::POST, "served_by_stable").await, "replica", "POST of a STABLE function");
    assert_eq!(rpc(Method::POST, "served_by_volatile").await, "primary", "POST of a VOLATILE function");
    // A write goes to the primary (a replica would refuse it: 25006).
    let r = s.call(Method::POST, "/projects", Some(&member), Some(json!({"org_id": ORG_A, "name": "written"}))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(s.metric("rowgate_db_reads_total{target=\"replica\"}").await >= 4.0);
    assert_eq!(s.metric("rowgate_replica_up{").await, 1.0);
    // After its write, the writer's reads go to the primary until a position sampled after the
    // write has been replayed: about one sampling period.
    let mut waits = Vec::new();
    for i in 0..10 {
        let body = json!({"org_id": ORG_A, "name": format!("w{i}")});
        assert_eq!(s.call(Method::POST, "/projects", Some(&member), Some(body)).await.status, 201);
        let wrote = Instant::now();
        assert_eq!(s.served_by(Some(&member)).await, "primary", "right after its write");
        s.eventually("back on the replica", || async { s.served_by(Some(&member)).await == "replica" }).await;
        waits.push(wrote.elapsed());
    }
    waits.sort();
    eprintln!("read-your-writes wait: median {:?}, max {:?}", waits[5], waits[9]);
    assert!(waits[5] < Duration::from_secs(1), "{waits:?}");
}

/// With a replica that applies WAL two seconds late: the writer reads its write at once (from
/// the primary), another member of the same org does not yet (the replica), then does; a fresh
/// sign-in is not refused by a replica that has not replayed its session.
#[tokio::test]
async fn a_subject_reads_its_own_writes_from_a_delayed_replica() {
    let s = Setup::start(&[("recovery_min_apply_delay", "2s")], |a| {
        a.db_read_max_lag = Some("10s".into());
        a.db_read_your_writes = Some("20s".into());
    })
    .await;
    let member = s.sign_in("member@a.test").await;
    // Until the replica has replayed a new session, its check refuses the token: the primary
    // decides, and the read succeeds.
    let r = s.call(Method::GET, "/projects?select=name&order=name", Some(&member), None).await;
    assert_eq!((r.status, r.json()), (200, json!([{"name": "alpha"}])));
    assert!(s.metric("rowgate_replica_fallbacks_total{reason=\"unauthenticated\"}").await >= 1.0);
    let owner = s.sign_in_replicated("owner@a.test").await;

    let r = s.call(Method::POST, "/projects", Some(&member), Some(json!({"org_id": ORG_A, "name": "fresh"}))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let names = |r: Reply| r.json().as_array().unwrap().iter().map(|p| p["name"].clone()).collect::<Vec<_>>();
    let mine = s.call(Method::GET, "/projects?select=name&name=eq.fresh", Some(&member), None).await;
    assert_eq!(names(mine), vec![json!("fresh")], "the writer reads its write");
    let theirs = s.call(Method::GET, "/projects?select=name&name=eq.fresh", Some(&owner), None).await;
    assert_eq!(names(theirs), Vec::<Value>::new(), "another subject reads the delayed replica");
    assert!(s.metric("rowgate_replica_fallbacks_total{reason=\"read_your_writes\"}").await >= 1.0);
    s.eventually("the replica applies the write", || async {
        let r = s.call(Method::GET, "/projects?select=name&name=eq.fresh", Some(&owner), None).await;
        r.json().as_array().is_some_and(|a| a.len() == 1)
    })
    .await;
}

/// A replica that stops costs no failed request: reads go to the primary, counted, and return
/// to the replica when it is back.
#[tokio::test]
async fn a_stopped_replica_fails_no_request() {
    let s = Setup::start(&[], |_| {}).await;
    let member = s.sign_in_replicated("member@a.test").await;
    s.replica.force_stop().await.expect("stop the replica");
    for i in 0..40 {
        let r = s.call(Method::GET, "/tasks?select=id", Some(&member), None).await;
        assert_eq!(r.status, 200, "request {i} after the replica stopped: {}", r.body);
        assert_eq!(r.json(), json!([{"id": TASK_A}]));
    }
    assert_eq!(s.served_by(Some(&member)).await, "primary");
    let failed = s.metric("rowgate_replica_fallbacks_total{reason=\"replica_failed\"}").await;
    let unusable = s.metric("rowgate_replica_fallbacks_total{reason=\"none_usable\"}").await;
    assert!(failed + unusable >= 40.0, "failed {failed}, unusable {unusable}");
    s.eventually("the monitor marks the replica down", || async { s.metric("rowgate_replica_up{").await == 0.0 }).await;
    let _ = &s.primary;
}

/// The pooled-connection leak test through the replica: members of two orgs and anonymous
/// callers read (and now and then write, which moves their next reads to the primary) through
/// pools of two; every answer is exactly the caller's.
#[tokio::test]
async fn pooled_reads_through_a_replica_never_cross_orgs() {
    let s = Setup::start(&[], |a| a.db_pool = Some("2".into())).await;
    let a = s.sign_in_replicated("member@a.test").await;
    let b = s.sign_in_replicated("owner@b.test").await;
    let s = &s;
    let failures: Vec<String> = stream::iter(0..1200usize)
        .map(|i| {
            let (a, b) = (a.clone(), b.clone());
            async move {
                let (who, auth, task) = match i % 3 {
                    0 => ("A", Some(a), TASK_A),
                    1 => ("B", Some(b), TASK_B),
                    _ => ("anon", None, ""),
                };
                let _ = task;
                let r = if i % 10 == 9 && auth.is_some() {
                    let patch = json!({"done": false});
                    let path = format!("/tasks?id=in.({TASK_A},{TASK_B})");
                    s.call(Method::PATCH, &path, auth.as_deref(), Some(patch)).await
                } else {
                    s.call(Method::GET, "/tasks?select=id,project:projects(org_id)", auth.as_deref(), None).await
                };
                let body: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
                let ok = match (who, i % 10 == 9) {
                    ("anon", _) => r.status == 401 && body["code"] == "42501",
                    (_, true) => r.status == 204,
                    _ => {
                        let org = if who == "A" { ORG_A } else { ORG_B };
                        r.status == 200 && body == json!([{"id": task, "project": {"org_id": org}}])
                    }
                };
                (!ok).then(|| format!("{who} #{i}: {} {}", r.status, r.body))
            }
        })
        .buffer_unordered(16)
        .filter_map(|f| async move { f })
        .collect()
        .await;
    assert!(failures.is_empty(), "{} answers were not the caller's:\n{}", failures.len(), failures.join("\n"));
    let on_replica = s.metric("rowgate_db_reads_total{target=\"replica\"}").await;
    let on_primary = s.metric("rowgate_db_reads_total{target=\"primary\"}").await;
    let waited = s.metric("rowgate_replica_fallbacks_total{reason=\"read_your_writes\"}").await;
    eprintln!(
        "reads: {on_replica} on the replica, {on_primary} on the primary ({waited} waiting for a write to replay)"
    );
    assert!(on_replica > 300.0);
}

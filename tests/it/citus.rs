//! The reference schema on Citus (issue 19 B, docs/scaling.md): a coordinator and two workers on
//! loopback, started by the test from the PostgreSQL + Citus that `scripts/install-citus` puts
//! beside the system's (`/opt/rowgate-citus`, or `ROWGATE_CITUS_ROOT`); skipped, saying so, where
//! it is not installed. `rowgate migrate` distributes the schema (twice: idempotent), rowgate runs
//! against the coordinator in Citus mode, and the orgs stay apart: reads, writes of viewers and
//! across orgs, the audit entry written once under the table's name, and the table matrix of
//! tests/sql run cell by cell, one transaction each.

use std::path::PathBuf;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::Method;
use rowgate::cluster::{self, Cluster, PgBinaries};
use rowgate::config::{Config, ServeArgs};
use serde_json::{json, Value};

use crate::harness::{connect, install_crypto_provider, token, Reply, SECRET};
use crate::tenants::*;

struct Citus {
    coordinator: Cluster,
    workers: Vec<Cluster>,
}

/// The PostgreSQL with Citus of scripts/install-citus, if installed.
fn citus_binaries() -> Option<PgBinaries> {
    let root = PathBuf::from(std::env::var("ROWGATE_CITUS_ROOT").unwrap_or_else(|_| "/opt/rowgate-citus".into()));
    let lib = root.join("usr/lib/postgresql/15/lib/citus.so");
    let dir = root.join("usr/lib/postgresql/15/bin");
    (lib.exists() && dir.join("postgres").exists()).then_some(PgBinaries { dir })
}

/// A coordinator and two workers with database `app` and the citus extension, or None (skipped).
async fn start_citus() -> Option<Citus> {
    install_crypto_provider();
    let Some(binaries) = citus_binaries() else {
        eprintln!(
            "SKIPPED: Citus is not installed (scripts/install-citus installs it from ../shared/citus into \
             /opt/rowgate-citus; or set ROWGATE_CITUS_ROOT)"
        );
        return None;
    };
    let conf: Vec<(String, String)> = [
        ("shared_preload_libraries", "citus"),
        // Reference tables are written through the coordinator only (no lock round trip to a worker).
        ("citus.allow_modifications_from_workers_to_replicated_tables", "off"),
        ("max_connections", "200"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let mut nodes = Vec::new();
    for _ in 0..3 {
        let node = cluster::start_throwaway_on(binaries.clone(), conf.clone(), true).await.expect("a Citus node");
        connect(&node.conn_string("postgres", "postgres")).await.batch_execute("create database app").await.unwrap();
        connect(&node.conn_string("postgres", "app")).await.batch_execute("create extension citus").await.unwrap();
        nodes.push(node);
    }
    let coordinator = nodes.remove(0);
    let c = connect(&coordinator.conn_string("postgres", "app")).await;
    c.query("select citus_set_coordinator_host('127.0.0.1', $1)", &[&i32::from(coordinator.port())]).await.unwrap();
    for w in &nodes {
        c.query("select citus_add_node('127.0.0.1', $1)", &[&i32::from(w.port())]).await.expect("add worker");
    }
    Some(Citus { coordinator, workers: nodes })
}

impl Citus {
    async fn app(&self) -> tokio_postgres::Client {
        connect(&self.coordinator.conn_string("postgres", "app")).await
    }

    async fn migrate(&self) {
        let (mut client, conn) =
            tokio_postgres::connect(&self.coordinator.conn_string("postgres", "app"), tokio_postgres::NoTls)
                .await
                .unwrap();
        tokio::spawn(conn);
        rowgate::db::migrate::migrate(&mut client).await.expect("rowgate migrate on Citus");
    }

    async fn gateway(&self) -> rowgate::app::Running {
        let args = ServeArgs {
            database_url: Some(self.coordinator.conn_string("authenticator", "app")),
            listen: Some("127.0.0.1:0".into()),
            admin_listen: Some("127.0.0.1:0".into()),
            jwt_secret: Some(SECRET.into()),
            db_citus: Some("true".into()),
            // Two connections: requests of different orgs take turns on the same ones (and on
            // the shard connections Citus keeps per role).
            db_pool: Some("2".into()),
            log: Some("warn".into()),
            ..Default::default()
        };
        let running = rowgate::app::start(Config::from_args(&args, &|_| None).unwrap()).await.expect("rowgate");
        assert!(running.wait_ready(Duration::from_secs(20)).await, "schema cache never loaded");
        running
    }
}

async fn call(running: &rowgate::app::Running, method: Method, path: &str, sub: &str, body: Option<Value>) -> Reply {
    let auth = format!("Bearer {}", token(json!({"role": "authenticated", "sub": sub, "exp": 4_000_000_000u64})));
    let mut req = reqwest::Client::new()
        .request(method, format!("http://{}{path}", running.api_addr))
        .header("authorization", auth)
        .header("prefer", "return=representation");
    if let Some(b) = body {
        req = req.header("content-type", "application/json").body(b.to_string());
    }
    Reply::read(req.send().await.expect("request sent")).await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reference_schema_on_citus_keeps_orgs_apart() {
    let Some(citus) = start_citus().await else { return };
    citus.migrate().await;
    citus.migrate().await; // idempotent on a distributed schema
    let app = citus.app().await;
    let layout: Vec<(String, String)> = app
        .query("select logicalrelid::regclass::text, partmethod::text from pg_dist_partition order by 1", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    for (t, kind) in [("api.tasks", "h"), ("api.projects", "h"), ("api.audit_log", "h"), ("api.memberships", "n")] {
        assert!(layout.contains(&(t.to_string(), kind.to_string())), "{t} not {kind}: {layout:?}");
    }
    // No restrictive policy anywhere: not on the coordinator, not on a worker's shards.
    for node in std::iter::once(&citus.coordinator).chain(&citus.workers) {
        let c = connect(&node.conn_string("postgres", "app")).await;
        let n: i64 = c.query_one("select count(*) from pg_policy where not polpermissive", &[]).await.unwrap().get(0);
        assert_eq!(n, 0, "restrictive policies on node {}", node.port());
    }
    seed_with(&app, &[STATUS_ORGS]).await;
    let gw = citus.gateway().await;

    // Reads: every row a member sees is their org's (multi-shard reads keep the column names).
    for (sub, org) in [(MEMBER_A, ORG_A), (VIEWER_A, ORG_A), (OWNER_B, ORG_B)] {
        for table in ["projects", "tasks", "memberships", "invitations", "org_models", "usage_counters"] {
            let r = call(&gw, Method::GET, &format!("/{table}?select=org_id"), sub, None).await;
            assert_eq!(r.status, 200, "{table}: {}", r.body);
            let rows = r.json();
            assert!(rows.as_array().unwrap().iter().all(|row| row["org_id"] == org), "{sub} reads {table}: {rows}");
        }
        let r = call(&gw, Method::GET, "/tasks?select=id,title,org_id", sub, None).await;
        let rows = r.json();
        assert_eq!(rows.as_array().map(Vec::len), Some(1), "{sub}: {rows}");
        assert!(rows[0]["title"].is_string() && rows[0]["org_id"] == org, "column names kept: {rows}");
    }
    // Pooled connections carry nobody's claims into the next request: 1,200 requests of members
    // of A and B (and anonymous ones), 24 in flight through the 2 connections.
    let probes = futures_util::stream::iter(0..1200usize)
        .map(|i| {
            let gw = &gw;
            async move {
                let (sub, org) = [(MEMBER_A, ORG_A), (OWNER_B, ORG_B), ("", "")][i % 3];
                let table = ["tasks", "projects", "memberships", "invitations"][i / 3 % 4];
                let r = if sub.is_empty() {
                    let url = format!("http://{}/{table}?select=org_id", gw.api_addr);
                    Reply::read(reqwest::get(url).await.expect("sent")).await
                } else {
                    call(gw, Method::GET, &format!("/{table}?select=org_id"), sub, None).await
                };
                let rows: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
                let empty = rows.as_array().is_some_and(|a| a.is_empty());
                let ok = if sub.is_empty() {
                    // Anonymous: refused, or nothing.
                    [401, 403].contains(&r.status) || (r.status == 200 && empty)
                } else {
                    r.status == 200
                        && rows.as_array().is_some_and(|a| a.iter().all(|row| row["org_id"] == org))
                        && (!empty || table == "invitations")
                };
                (!ok).then(|| format!("{sub:?} {table}: {} {}", r.status, r.body))
            }
        })
        .buffer_unordered(24)
        .filter_map(|x| async move { x })
        .collect::<Vec<_>>()
        .await;
    assert!(
        probes.is_empty(),
        "{} of 1200 answers crossed orgs or failed: {:?}",
        probes.len(),
        &probes[..3.min(probes.len())]
    );

    let task = |org: &str, project: &str| json!({"org_id": org, "project_id": project, "title": "citus"});

    // A viewer cannot write in their own org (the restrictive-policy hole of a naive distribution).
    let r = call(&gw, Method::POST, "/tasks", VIEWER_A, Some(task(ORG_A, PROJ_A))).await;
    assert_eq!((r.status, r.code()), (403, "42501".to_string()), "{}", r.body);
    let r = call(&gw, Method::PATCH, &format!("/tasks?id=eq.{TASK_A}"), VIEWER_A, Some(json!({"title": "v"}))).await;
    assert_eq!((r.status, r.body.as_str()), (200, "[]"));
    let r = call(&gw, Method::DELETE, &format!("/projects?id=eq.{PROJ_A}"), VIEWER_A, None).await;
    assert_eq!((r.status, r.body.as_str()), (200, "[]"));
    // Nobody writes into another org.
    let r = call(&gw, Method::POST, "/tasks", MEMBER_A, Some(task(ORG_B, PROJ_B))).await;
    assert_eq!((r.status, r.code()), (403, "42501".to_string()), "{}", r.body);
    let r = call(&gw, Method::PATCH, &format!("/tasks?id=eq.{TASK_B}"), MEMBER_A, Some(json!({"title": "x"}))).await;
    assert_eq!((r.status, r.body.as_str()), (200, "[]"));
    let r = call(&gw, Method::DELETE, &format!("/tasks?id=eq.{TASK_B}"), OWNER_A, None).await;
    assert_eq!((r.status, r.body.as_str()), (200, "[]"));

    // A member writes in their org: the audit entry once, under the table's name, with the actor;
    // the counter once.
    let before: i64 = app
        .query_one("select used from api.usage_counters where org_id = $1::text::uuid and counter = 'tasks'", &[&ORG_A])
        .await
        .map(|r| r.get(0))
        .unwrap_or(0);
    let r = call(&gw, Method::POST, "/tasks?select=id", MEMBER_A, Some(task(ORG_A, PROJ_A))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.json()[0]["id"].as_str().unwrap().to_string();
    let audit: Vec<(String, String)> = app
        .query(
            "select table_name, actor_user_id::text from api.audit_log where row_key ->> 'id' = $1 and action = 'INSERT'",
            &[&id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(audit, vec![("tasks".to_string(), MEMBER_A.to_string())]);
    let after: i64 = app
        .query_one("select used from api.usage_counters where org_id = $1::text::uuid and counter = 'tasks'", &[&ORG_A])
        .await
        .unwrap()
        .get(0);
    assert_eq!(after, before + 1, "the tasks counter counts once");
    // A write over every shard (no org_id filter) answers with the columns named too.
    let r =
        call(&gw, Method::PATCH, "/tasks?title=eq.citus&select=id,title", MEMBER_A, Some(json!({"title": "c2"}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json(), json!([{"id": id, "title": "c2"}]));
    gw.shutdown().await;

    // `rowgate audit`: nothing to say about the Citus form; a restrictive policy on a distributed
    // table is an error (it is permissive on the shards).
    let options = rowgate::audit::AuditOptions {
        schemas: vec!["api".into()],
        request_roles: Some(vec!["anon".into(), "authenticated".into(), "service_role".into()]),
    };
    let mut admin = citus.app().await;
    let citus_findings = |f: Vec<rowgate::audit::Finding>| {
        f.into_iter().filter(|f| f.rule == "citus_restrictive_policy").map(|f| f.object).collect::<Vec<_>>()
    };
    let found = citus_findings(rowgate::audit::lint(&mut admin, &options).await.expect("audit"));
    assert!(found.is_empty(), "{found:?}");
    admin
        .batch_execute(
            "create policy fence on api.tasks as restrictive for all to authenticated using (org_id is not null)",
        )
        .await
        .unwrap();
    let found = citus_findings(rowgate::audit::lint(&mut admin, &options).await.expect("audit"));
    assert_eq!(found, vec!["policy fence on api.tasks".to_string()]);
}

/// What one statement did as one actor: allowed (rows seen or affected), denied (none, or a
/// refusal: 42501, a PT4xx of the schema, a quota's PGRST 4xx, a view PostgreSQL cannot update),
/// or anything else (a failure of the test).
async fn attempt(client: &mut tokio_postgres::Client, claims: &str, role: &str, stmt: &str) -> String {
    let tx = client.transaction().await.expect("begin");
    // As the gateway does in Citus mode: the claims by SET LOCAL, propagated; the role by set_config.
    let set: String = tx
        .query_one("select format('set local \"request.jwt.claims\" = %L', $1::text)", &[&claims])
        .await
        .unwrap()
        .get(0);
    tx.batch_execute(&format!("set local citus.propagate_set_commands = 'local'; {set}")).await.unwrap();
    tx.execute("select set_config('role', $1, true)", &[&role]).await.unwrap();
    let select = stmt.trim_start().to_lowercase().starts_with("select");
    let outcome = if select {
        tx.query_one(stmt, &[]).await.map(|r| r.get::<_, i64>(0) as u64)
    } else {
        tx.execute(stmt, &[]).await
    };
    let verdict = match outcome {
        Ok(0) => "denied".to_string(),
        Ok(_) => "allowed".to_string(),
        Err(e) => match e.as_db_error() {
            Some(db) => {
                let code = db.code().code();
                let view = code == "55000" && db.message().starts_with("cannot ");
                let quota = code == "PGRST" && db.detail().is_some_and(|d| d.contains("\"status\":4"));
                if code == "42501" || code.starts_with("PT4") || view || quota {
                    "denied".to_string()
                } else {
                    format!("error {code}: {}", db.message())
                }
            }
            None => format!("error: {e}"),
        },
    };
    let _ = tx.rollback().await;
    verdict
}

/// The table matrix of tests/sql/10_tables.sql (its fixture and expected cells, tests/sql/lib/)
/// on Citus. Not under pg_prove: the suite runs every actor in one transaction, and Citus refuses
/// a transaction whose placements were written by one role and are read by another ("modified in
/// this transaction by a different user"); here the fixture is committed first and each cell runs
/// in a transaction of its own, the shape of a gateway request.
#[tokio::test(flavor = "multi_thread")]
async fn the_table_matrix_holds_on_citus() {
    let Some(citus) = start_citus().await else { return };
    citus.migrate().await;
    let mut app = citus.app().await;
    app.batch_execute(include_str!("../sql/lib/fixture.sql")).await.expect("the suite's fixture");
    app.batch_execute(include_str!("../sql/lib/table_matrix.sql")).await.expect("the matrix");
    let actors: Vec<(i32, String, String, String)> = app
        .query("select ord, name, db_role, claims::text from isolation_test.actors where ord < 100 order by ord", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    let lines: Vec<(String, String, String)> = app
        .query(
            "select m.tbl || ' ' || m.cmd, isolation_test.statement(m.tbl, m.cmd), m.cells
               from isolation_test.matrix m order by m.line",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert!(lines.len() >= 70, "only {} matrix lines", lines.len());
    let (mut cells, mut wrong) = (0, Vec::new());
    for (what, stmt, expected) in &lines {
        let expected: Vec<&str> = expected.split_whitespace().collect();
        assert_eq!(expected.len(), actors.len(), "{what}: one cell per actor");
        for (ord, name, role, claims) in &actors {
            for x in ["a", "b"] {
                let got = attempt(&mut app, claims, role, &stmt.replace("{x}", x)).await;
                let cell = expected[*ord as usize - 1];
                let want = if cell.contains(&x.to_uppercase()) { "allowed" } else { "denied" };
                cells += 1;
                if got != want {
                    wrong.push(format!("{what} by {name} on org {}: {got}, expected {want}", x.to_uppercase()));
                }
            }
        }
    }
    eprintln!("table matrix on Citus: {cells} cells, {} wrong", wrong.len());
    assert!(cells >= 1800, "only {cells} cells");
    assert!(wrong.is_empty(), "the table matrix on Citus:\n{}", wrong.join("\n"));

    // The same attempt sees a hole when there is one: a permissive policy letting every
    // authenticated user insert tasks (created on the coordinator, propagated to the shards).
    let (_, _, role, claims) = actors.iter().find(|a| a.1 == "viewer_a").expect("viewer_a");
    let insert = &lines.iter().find(|l| l.0 == "tasks insert").expect("tasks insert").1;
    assert_eq!(attempt(&mut app, claims, role, &insert.replace("{x}", "a")).await, "denied");
    app.batch_execute("create policy hole on api.tasks for insert to authenticated with check (true)").await.unwrap();
    assert_eq!(attempt(&mut app, claims, role, &insert.replace("{x}", "a")).await, "allowed");
}

/// Rows of `org` in each tenant table (read through the coordinator, from the shards).
async fn org_rows(app: &tokio_postgres::Client, org: &str) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in ["api.tasks", "api.projects", "api.memberships", "api.org_models", "api.org_entitlements"] {
        let q = format!("select count(*) from {table} where org_id = $1::text::uuid");
        counts.push(app.query_one(&q, &[&org]).await.unwrap().get(0));
    }
    counts
}

/// The audit entries that do not mention `user` (nor are a redaction), as one text.
async fn others_audit(app: &tokio_postgres::Client, user: &str) -> String {
    app.query_one(
        "select coalesce(string_agg(to_jsonb(a)::text, E'\\n' order by a.id), '') from api.audit_log a
          where a.action <> 'REDACT' and a.actor_user_id is distinct from $1::text::uuid
            and strpos(a.row_key::text || coalesce(a.diff::text, ''), $1) = 0",
        &[&user],
    )
    .await
    .unwrap()
    .get(0)
}

/// Purging an org and erasing a user on Citus (internal.set_local carries their settings to the
/// shard connections): the purge removes the org's rows on the shards with one PURGE entry and no
/// entry per row; the erasure removes the memberships and pseudonymises the person's audit
/// entries once (one REDACT entry, one pseudonym), leaving everyone else's as they were.
#[tokio::test(flavor = "multi_thread")]
async fn purge_and_erasure_reach_the_shards() {
    let Some(citus) = start_citus().await else { return };
    citus.migrate().await;
    let mut app = citus.app().await;
    seed_with(&app, &[]).await;
    // MEMBER_A acts (as through the gateway: claims by SET LOCAL, propagated), so the audit log
    // names them as actor too.
    let claims = json!({"role": "authenticated", "sub": MEMBER_A}).to_string();
    let tx = app.transaction().await.unwrap();
    let set: String = tx
        .query_one("select format('set local \"request.jwt.claims\" = %L', $1::text)", &[&claims])
        .await
        .unwrap()
        .get(0);
    tx.batch_execute(&format!("set local citus.propagate_set_commands = 'local'; {set}")).await.unwrap();
    tx.execute("select set_config('role', 'authenticated', true)", &[]).await.unwrap();
    let n =
        tx.execute("update api.tasks set title = 'by member' where org_id = $1::text::uuid", &[&ORG_A]).await.unwrap();
    assert_eq!(n, 1);
    tx.commit().await.unwrap();

    // internal.set_local reaches the shard connections already open and takes its reset there
    // too; it sets nothing but rowgate's own settings, and only for its callers.
    let tx = app.transaction().await.unwrap();
    let on_shards =
        "select string_agg(distinct coalesce(current_setting('rowgate.purging_org', true), '-'), ',') from api.tasks";
    let first: String = tx.query_one(on_shards, &[]).await.unwrap().get(0);
    tx.execute("select internal.set_local('rowgate.purging_org', 'o''x')", &[]).await.unwrap();
    let set: String = tx.query_one(on_shards, &[]).await.unwrap().get(0);
    tx.execute("select internal.set_local('rowgate.purging_org', '')", &[]).await.unwrap();
    let reset: String = tx.query_one(on_shards, &[]).await.unwrap().get(0);
    assert_eq!((first.as_str(), set.as_str(), reset.as_str()), ("-", "o'x", ""));
    let refused = tx.execute("select internal.set_local('role', 'postgres')", &[]).await.unwrap_err();
    assert_eq!(refused.code().map(|c| c.code()), Some("22023"), "{refused}");
    tx.rollback().await.unwrap();
    let tx = app.transaction().await.unwrap();
    tx.batch_execute("set local role authenticated").await.unwrap();
    let refused = tx.execute("select internal.set_local('rowgate.erasing_user', 'x')", &[]).await.unwrap_err();
    assert_eq!(refused.code().map(|c| c.code()), Some("42501"), "{refused}");
    tx.rollback().await.unwrap();

    // Purge org B.
    let a_before = org_rows(&app, ORG_A).await;
    let b_before = org_rows(&app, ORG_B).await;
    assert!(b_before.iter().all(|n| *n > 0), "org B seeded: {b_before:?}");
    let audit_b: i64 = app
        .query_one("select count(*) from api.audit_log where org_id = $1::text::uuid", &[&ORG_B])
        .await
        .unwrap()
        .get(0);
    app.execute(
        "update api.organizations set status = 'pending_deletion', restore_status = status, purge_after = now() - interval '1 day'
          where id = $1::text::uuid",
        &[&ORG_B],
    )
    .await
    .unwrap();
    let purged: bool = app.query_one("select internal.purge_org($1::text::uuid)", &[&ORG_B]).await.unwrap().get(0);
    assert!(purged);
    assert_eq!(org_rows(&app, ORG_B).await, vec![0; 5], "org B's rows left on the shards");
    assert_eq!(org_rows(&app, ORG_A).await, a_before, "org A changed");
    let entries: Vec<(String, i64)> = app
        .query(
            "select action, count(*) from api.audit_log where org_id = $1::text::uuid and action in ('PURGE', 'DELETE')
              group by 1 order by 1",
            &[&ORG_B],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(entries, vec![("PURGE".to_string(), 1)], "one PURGE entry, no DELETE per row");
    let audit_b_after: i64 = app
        .query_one("select count(*) from api.audit_log where org_id = $1::text::uuid", &[&ORG_B])
        .await
        .unwrap()
        .get(0);
    assert_eq!(audit_b_after, audit_b + 1 + 1, "B's history kept, plus its status change and the PURGE");

    // Erase MEMBER_A.
    let mentions = "select count(*) from api.audit_log a where a.actor_user_id = $1::text::uuid
                     or strpos(a.row_key::text || coalesce(a.diff::text, ''), $1) > 0
                     or strpos(lower(a.row_key::text || coalesce(a.diff::text, '')), 'member@a.test') > 0";
    let mentioned: i64 = app.query_one(mentions, &[&MEMBER_A]).await.unwrap().get(0);
    let acted: i64 = app
        .query_one("select count(*) from api.audit_log where actor_user_id = $1::text::uuid", &[&MEMBER_A])
        .await
        .unwrap()
        .get(0);
    assert!(mentioned >= 2 && acted >= 1, "{mentioned} entries name the member, {acted} as actor");
    let others = others_audit(&app, MEMBER_A).await;
    let done: Value =
        app.query_one("select internal.erase_user($1::text::uuid, 'test erasure')", &[&MEMBER_A]).await.unwrap().get(0);
    assert_eq!(done["user_id"], MEMBER_A, "{done}");
    assert_eq!(app.query_one(mentions, &[&MEMBER_A]).await.unwrap().get::<_, i64>(0), 0, "the member is still named");
    let memberships: i64 = app
        .query_one("select count(*) from api.memberships where user_id = $1::text::uuid", &[&MEMBER_A])
        .await
        .unwrap()
        .get(0);
    assert_eq!(memberships, 0);
    let redactions: Vec<(String, Value)> = app
        .query("select row_key ->> 'pseudonym', diff from api.audit_log where action = 'REDACT'", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(redactions.len(), 1, "redacted once: {redactions:?}");
    let (pseudonym, diff) = &redactions[0];
    // (the erasure's own entries too: the memberships' and the user's DELETE)
    let redacted = diff["entries"].as_i64().unwrap_or(-1);
    assert!(redacted > mentioned, "{diff}, {mentioned} before");
    assert_eq!(done["redacted_entries"], json!(redacted), "{done}");
    let with_pseudonym: i64 = app.query_one(mentions, &[pseudonym]).await.unwrap().get(0);
    assert_eq!(with_pseudonym, redacted + 1, "the redacted entries and the REDACT entry name the one pseudonym");
    assert_eq!(diff["reason"], "test erasure");
    let as_pseudonym: i64 = app
        .query_one("select count(*) from api.audit_log where actor_user_id = $1::text::uuid", &[pseudonym])
        .await
        .unwrap()
        .get(0);
    assert_eq!(as_pseudonym, acted, "the member's own entries carry the one pseudonym");
    assert_eq!(others_audit(&app, pseudonym).await, others, "other users' entries changed");
    // (The audit log stays append-only outside a redaction.)
    let refused = app.execute("update api.audit_log set action = 'X' where action = 'PURGE'", &[]).await;
    assert!(refused.is_err(), "the audit log took an update");
}

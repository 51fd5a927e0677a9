//! Realtime beyond the happy path: two instances on one database (each subscriber gets each
//! event exactly once), one subscriber's policy error losing nothing for the others, column
//! grants, commit order, a change committed right after SUBSCRIBED, a lost slot telling clients
//! to rejoin, and a database without logical decoding (realtime off, REST unaffected).

use std::time::Duration;

use serde_json::{json, Value};

use super::*;
use crate::tenants::{MEMBER_A, ORG_A, PROJ_A, VIEWER_A};

const WAIT: Duration = Duration::from_secs(5);

async fn subscribe(addr: std::net::SocketAddr, token: &str, bindings: Value) -> Client {
    let mut c = Client::connect(addr, &anon_key(), true).await;
    let (_, reply) = c.join("realtime:r", bindings, Some(token)).await;
    assert_eq!(reply.payload["status"], "ok", "{reply:?}");
    let sys = c.until(WAIT, |f| f.event == "system").await;
    assert_eq!(sys.payload["status"], "ok", "{sys:?}");
    c
}

fn tasks() -> Value {
    json!([{"event": "*", "schema": "api", "table": "tasks"}])
}

fn titles(frames: &[crate::realtime::client::Frame]) -> Vec<String> {
    frames.iter().map(|f| f.payload["data"]["record"]["title"].as_str().unwrap_or("").to_string()).collect()
}

#[tokio::test]
async fn two_instances_deliver_each_event_exactly_once_and_in_commit_order() {
    let g1 = gateway(world(&[]).await, |_| {}).await;
    // A second instance on the same database, with a slot of its own.
    let mut cfg = config(&g1.db, |a| {
        a.realtime = Some("on".into());
        a.realtime_db_url = Some(g1.db.replication_url());
        a.realtime_slot = Some(format!("rt_{}_b", g1.db.name));
        a.db_pre_request = Some("internal.check_request".into());
    });
    cfg.realtime.resume_grace = Duration::ZERO;
    let r2 = rowgate::app::start(cfg).await.expect("second instance");
    for _ in 0..200 {
        if r2.state.realtime.status() == rowgate::realtime::Status::Live {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut on1 = subscribe(g1.running.api_addr, &user_token(MEMBER_A, 3600), tasks()).await;
    let mut on2 = subscribe(r2.api_addr, &user_token(VIEWER_A, 3600), tasks()).await;
    let mut both1 = subscribe(g1.running.api_addr, &user_token(MEMBER_A, 3600), tasks()).await;
    let admin = g1.db.admin().await;
    let mut sql = String::new();
    for i in 0..40 {
        sql += &format!("insert into api.tasks (org_id, project_id, title) values ('{ORG_A}', '{PROJ_A}', 't{i:02}');");
    }
    // Updates of one row, within one transaction and across several.
    sql += &format!(
        "begin; insert into api.tasks (org_id, id, project_id, title) values ('{ORG_A}', '2a000000-0000-0000-0000-0000000000f1', '{PROJ_A}', 'u0');
         update api.tasks set title = 'u1' where id = '2a000000-0000-0000-0000-0000000000f1';
         update api.tasks set title = 'u2' where id = '2a000000-0000-0000-0000-0000000000f1'; commit;
         update api.tasks set title = 'u3' where id = '2a000000-0000-0000-0000-0000000000f1';
         update api.tasks set title = 'u4' where id = '2a000000-0000-0000-0000-0000000000f1';"
    );
    admin.batch_execute(&sql).await.unwrap();
    let mut want: Vec<String> = (0..40).map(|i| format!("t{i:02}")).collect();
    want.extend(["u0", "u1", "u2", "u3", "u4"].map(String::from));
    for c in [&mut on1, &mut on2, &mut both1] {
        let got = c.changes(Duration::from_secs(4)).await;
        assert_eq!(titles(&got), want, "each event once, in commit order");
    }
    r2.shutdown().await;
    super::drop_slot(&g1).await;
}

#[tokio::test]
async fn one_subscribers_policy_error_loses_nothing_for_the_others() {
    // A published table whose policy raises for claims with a non-numeric `level`.
    let setup = "create table api.notices (id bigserial primary key, body text not null, secret text);
        alter table api.notices replica identity full;
        alter table api.notices enable row level security;
        create policy notices_level on api.notices for select to authenticated
          using ((current_setting('request.jwt.claims', true)::jsonb ->> 'level')::int >= 0);
        revoke all on api.notices from authenticated;
        grant select (id, body) on api.notices to authenticated;
        alter publication rowgate_realtime add table api.notices;";
    let g = gateway(world(&[setup]).await, |_| {}).await;
    let bindings = json!([{"event": "*", "schema": "api", "table": "notices"}]);
    let good = token(json!({"role": "authenticated", "sub": MEMBER_A, "level": 1, "exp": now() + 3600}));
    let bad = token(json!({"role": "authenticated", "sub": MEMBER_A, "level": "x", "exp": now() + 3600}));
    let mut ok1 = subscribe(g.running.api_addr, &good, bindings.clone()).await;
    let mut failing = subscribe(g.running.api_addr, &bad, bindings.clone()).await;
    let admin = g.db.admin().await;
    admin.batch_execute("insert into api.notices (body, secret) values ('hello', 'hidden')").await.unwrap();
    let got = ok1.changes(Duration::from_secs(3)).await;
    assert_eq!(got.len(), 1, "the batch reached the subscriber whose policy works: {got:?}");
    let data = &got[0].payload["data"];
    assert_eq!(data["record"], json!({"id": 1, "body": "hello"}), "the column without a grant stays out");
    assert_eq!(data["columns"], json!([{"name": "id", "type": "int8"}, {"name": "body", "type": "text"}]));
    assert!(failing.changes(Duration::from_millis(500)).await.is_empty());
    // Still connected and served.
    let r = failing.send(None, "phoenix", "heartbeat", json!({})).await;
    assert_eq!(failing.until(WAIT, |f| f.reference == json!(r)).await.payload["status"], "ok");
    assert!(g.running.state.metrics.realtime.deliveries() >= 1);
    super::drop_slot(&g).await;
}

#[tokio::test]
async fn a_change_committed_right_after_subscribed_is_delivered() {
    let g = gateway(world(&[]).await, |_| {}).await;
    let admin = g.db.admin().await;
    for i in 0..10 {
        let mut c = subscribe(g.running.api_addr, &user_token(MEMBER_A, 3600), tasks()).await;
        let title = format!("right-after-{i}");
        admin
            .execute(
                "insert into api.tasks (org_id, project_id, title) values ($1::text::uuid, $2::text::uuid, $3)",
                &[&ORG_A, &PROJ_A, &title],
            )
            .await
            .unwrap();
        let got = c.changes(Duration::from_millis(1500)).await;
        assert_eq!(titles(&got), [title]);
    }
    // /health reports the capture: live, on this instance's slot, the lag once sampled.
    let c = subscribe(g.running.api_addr, &user_token(MEMBER_A, 3600), tasks()).await;
    let health: Value = reqwest::get(g.admin_url("/health")).await.unwrap().json().await.unwrap();
    let rt = &health["realtime"];
    assert_eq!(rt["status"], "live", "{health}");
    assert_eq!(rt["slot"], json!(g.running.state.realtime.slot()), "{health}");
    assert!(rt["connections"].as_u64().is_some_and(|n| n >= 1), "{health}");
    assert!(rt["subscriptions"].as_u64().is_some_and(|n| n >= 1), "{health}");
    assert!(rt["slot_lag_bytes"].is_null() || rt["slot_lag_bytes"].as_i64().is_some_and(|b| b >= 0), "{health}");
    drop(c);
    super::drop_slot(&g).await;
}

#[tokio::test]
async fn a_lost_slot_tells_clients_to_rejoin() {
    let g = gateway(world(&[]).await, |_| {}).await;
    let mut c = subscribe(g.running.api_addr, &user_token(MEMBER_A, 3600), tasks()).await;
    let slot = g.running.state.realtime.slot();
    let admin = g.db.admin().await;
    let mut dropped = false;
    for _ in 0..100 {
        let _ = admin
            .execute(
                "select pg_terminate_backend(active_pid) from pg_replication_slots where slot_name = $1 and active",
                &[&slot],
            )
            .await;
        if admin.execute("select pg_drop_replication_slot($1)", &[&slot]).await.is_ok() {
            dropped = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(dropped, "could not drop the slot");
    let e = c.until(Duration::from_secs(20), |f| f.event == "phx_error").await;
    assert_eq!(e.topic, "realtime:r");
    super::wait_streaming(&g).await;
    // Rejoined, changes flow again.
    let (_, reply) = c.join("realtime:r", tasks(), Some(&user_token(MEMBER_A, 3600))).await;
    assert_eq!(reply.payload["status"], "ok");
    c.until(WAIT, |f| f.event == "system").await;
    admin
        .execute(
            "insert into api.tasks (org_id, project_id, title) values ($1::text::uuid, $2::text::uuid, 'after')",
            &[&ORG_A, &PROJ_A],
        )
        .await
        .unwrap();
    assert_eq!(titles(&c.changes(Duration::from_secs(3)).await), ["after"]);
    super::drop_slot(&g).await;
}

#[tokio::test]
async fn without_logical_decoding_realtime_is_off_and_rest_works() {
    let cluster = rowgate::cluster::start_throwaway().await.expect("a cluster with wal_level replica");
    let admin = connect(&cluster.conn_string("postgres", "postgres")).await;
    admin.batch_execute("create database app").await.unwrap();
    rowgate::cluster::embedded::prepare_database(&cluster, "app").await.expect("migrate");
    let args = rowgate::config::ServeArgs {
        database_url: Some(cluster.conn_string("authenticator", "app")),
        listen: Some("127.0.0.1:0".into()),
        admin_listen: Some("127.0.0.1:0".into()),
        jwt_secret: Some(SECRET.into()),
        log: Some("warn".into()),
        realtime_db_url: Some(cluster.conn_string("rowgate_replication", "app")),
        ..Default::default()
    };
    let running = rowgate::app::start(rowgate::config::Config::from_args(&args, &|_| None).unwrap()).await.unwrap();
    assert!(running.wait_ready(Duration::from_secs(10)).await);
    let mut status = running.state.realtime.status();
    for _ in 0..100 {
        if matches!(status, rowgate::realtime::Status::Off(_)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        status = running.state.realtime.status();
    }
    match &status {
        rowgate::realtime::Status::Off(why) => assert!(why.contains("wal_level"), "{why}"),
        other => panic!("realtime should be off: {other:?}"),
    }
    let http = reqwest::Client::new();
    let r = http.get(format!("http://{}/", running.api_addr)).send().await.unwrap();
    assert_eq!(r.status(), 200, "REST works");
    let r = http
        .get(format!("http://{}/realtime/v1/websocket?apikey={}", running.api_addr, anon_key()))
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    // /health says why, and the instance is still ready for REST.
    let health: Value =
        http.get(format!("http://{}/health", running.admin_addr)).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["realtime"]["status"], "off", "{health}");
    assert!(health["realtime"]["reason"].as_str().is_some_and(|r| r.contains("wal_level")), "{health}");
    assert_eq!(health["realtime"]["slot"], Value::Null, "{health}");
    running.shutdown().await;
}

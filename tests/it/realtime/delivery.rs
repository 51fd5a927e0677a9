//! Who receives what: INSERT, UPDATE and DELETE under the table's policies (DELETE included:
//! org B never learns that org A deleted a row), filters, column grants, a policy that raises
//! for one subscriber, commit order, and SUBSCRIBED only once live.

use std::time::Duration;

use serde_json::{json, Value};

use super::*;
use crate::tenants::{MEMBER_A, ORG_A, ORG_B, OWNER_B, PROJ_A, PROJ_B, VIEWER_A};

const WAIT: Duration = Duration::from_secs(5);
const QUIET: Duration = Duration::from_millis(1500);

fn tasks(filter: Option<&str>) -> Value {
    let mut b = json!({"event": "*", "schema": "api", "table": "tasks"});
    if let Some(f) = filter {
        b["filter"] = f.into();
    }
    json!([b])
}

async fn subscriber(g: &Gateway, user: &str, bindings: Value, v2: bool) -> Client {
    let mut c = Client::connect(g.running.api_addr, &anon_key(), v2).await;
    let (_, reply) = c.join("realtime:feed", bindings, Some(&user_token(user, 3600))).await;
    assert_eq!(reply.payload["status"], "ok", "{reply:?}");
    let sys = c.until(WAIT, |f| f.event == "system").await;
    assert_eq!(sys.payload["message"], "Subscribed to PostgreSQL", "{sys:?}");
    c
}

#[tokio::test]
async fn changes_reach_their_org_only_delete_included() {
    let g = gateway(world(&[]).await, |_| {}).await;
    let mut a1 = subscriber(&g, MEMBER_A, tasks(None), true).await;
    let mut a2 = subscriber(&g, VIEWER_A, tasks(None), false).await;
    let mut b = subscriber(&g, OWNER_B, tasks(None), true).await;
    let admin = g.db.admin().await;
    let id_a = "2a000000-0000-0000-0000-0000000000a1";
    let id_b = "2b000000-0000-0000-0000-0000000000b1";
    admin
        .batch_execute(&format!(
            "insert into api.tasks (org_id, id, project_id, title) values ('{ORG_A}', '{id_a}', '{PROJ_A}', 'a new');
             insert into api.tasks (org_id, id, project_id, title) values ('{ORG_B}', '{id_b}', '{PROJ_B}', 'b new');
             update api.tasks set title = 'a renamed', done = true where id = '{id_a}';
             delete from api.tasks where id = '{id_a}';
             delete from api.tasks where id = '{id_b}';"
        ))
        .await
        .expect("writes");
    for c in [&mut a1, &mut a2] {
        let got = c.changes(QUIET + WAIT).await;
        let kinds: Vec<&str> = got.iter().map(|f| f.payload["data"]["type"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["INSERT", "UPDATE", "DELETE"], "{got:#?}");
        let ins = &got[0].payload["data"];
        assert_eq!(ins["schema"], "api");
        assert_eq!(ins["table"], "tasks");
        assert_eq!(ins["record"]["title"], "a new");
        assert_eq!(ins["record"]["done"], false, "typed values (to_jsonb)");
        assert_eq!(ins["record"]["org_id"], ORG_A);
        assert!(ins["commit_timestamp"].as_str().unwrap().ends_with('Z'));
        assert!(ins["columns"].as_array().unwrap().iter().any(|c| c == &json!({"name": "done", "type": "bool"})));
        assert_eq!(got[1].payload["data"]["record"]["title"], "a renamed");
        assert_eq!(got[1].payload["data"]["old_record"]["title"], "a new");
        assert_eq!(got[2].payload["data"]["old_record"]["id"], id_a);
        assert!(got[2].payload["data"].get("record").is_none());
        let ids = got[0].payload["ids"].as_array().unwrap();
        assert_eq!(ids.len(), 1);
        for f in &got {
            assert!(!f.payload.to_string().contains(ORG_B), "org B's data reached org A: {f:?}");
        }
    }
    let got = b.changes(QUIET).await;
    let kinds: Vec<(&str, &str)> = got
        .iter()
        .map(|f| {
            (
                f.payload["data"]["type"].as_str().unwrap(),
                f.payload["data"]["old_record"]["id"].as_str().or(f.payload["data"]["record"]["id"].as_str()).unwrap(),
            )
        })
        .collect();
    assert_eq!(kinds, [("INSERT", id_b), ("DELETE", id_b)], "B sees its own changes only, and not A's DELETE");
    drop_slot_after(g).await;
}

async fn drop_slot_after(g: Gateway) {
    let db = g.db;
    let slot = g.running.state.realtime.slot();
    g.running.shutdown().await;
    let admin = db.admin().await;
    for _ in 0..50 {
        if admin
            .execute("select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = $1 and not active", &[&slot])
            .await
            .is_ok_and(|n| n == 1)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn filters_pass_only_matching_rows() {
    let g = gateway(world(&[]).await, |_| {}).await;
    let mut eq = subscriber(&g, MEMBER_A, tasks(Some("title=eq.wanted")), true).await;
    let mut r#in = subscriber(&g, MEMBER_A, tasks(Some("title=in.(x,\"y, z\")")), true).await;
    let mut gt = subscriber(&g, MEMBER_A, tasks(Some("title=gt.m")), false).await;
    let admin = g.db.admin().await;
    for title in ["wanted", "other", "x", "y, z", "a"] {
        admin
            .execute(
                "insert into api.tasks (org_id, project_id, title) values ($1::text::uuid, $2::text::uuid, $3)",
                &[&ORG_A, &PROJ_A, &title],
            )
            .await
            .expect("insert");
    }
    let titles = |fs: Vec<crate::realtime::client::Frame>| -> Vec<String> {
        fs.iter().map(|f| f.payload["data"]["record"]["title"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(titles(eq.changes(QUIET + WAIT).await), ["wanted"]);
    assert_eq!(titles(r#in.changes(QUIET).await), ["x", "y, z"]);
    assert_eq!(titles(gt.changes(QUIET).await), ["wanted", "other", "x", "y, z"], "text order (collation C)");
    drop_slot_after(g).await;
}

/// An API token of org A: it sees A's rows until it is revoked, then its channel closes.
#[tokio::test]
async fn an_api_token_sees_its_org_until_revoked() {
    let token = "rg_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let setup = format!(
        "insert into auth.api_tokens (id, org_id, created_by, name, role, token_hash) values
           ('7a000000-0000-0000-0000-000000000001', '{ORG_A}', 'a0000000-0000-0000-0000-000000000001', 'rt', 'member', auth.hash_token('{token}'))"
    );
    let g = gateway(world(&[&setup]).await, |_| {}).await;
    let mut c = Client::connect(g.running.api_addr, &anon_key(), true).await;
    let (_, reply) = c.join("realtime:tok", tasks(None), Some(token)).await;
    assert_eq!(reply.payload["status"], "ok", "{reply:?}");
    c.until(WAIT, |f| f.event == "system").await;
    let admin = g.db.admin().await;
    let insert = |title: &'static str| {
        format!("insert into api.tasks (org_id, project_id, title) values ('{ORG_A}', '{PROJ_A}', '{title}'), ('{ORG_B}', '{PROJ_B}', '{title}')")
    };
    admin.batch_execute(&insert("seen")).await.unwrap();
    let got = c.changes(QUIET + WAIT).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].payload["data"]["record"]["org_id"], ORG_A);
    admin.batch_execute("update auth.api_tokens set revoked_at = now()").await.unwrap();
    let closed = c.until(WAIT, |f| f.event == "phx_close").await;
    assert_eq!(closed.topic, "realtime:tok");
    admin.batch_execute(&insert("unseen")).await.unwrap();
    assert!(c.changes(QUIET).await.is_empty());
    drop_slot_after(g).await;
}

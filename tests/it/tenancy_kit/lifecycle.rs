//! Point 3, org lifecycle: an owner (or the super admin) deletes an org — pending deletion,
//! read-only, restorable within the grace period — and the maintenance job, run by the gateways
//! on a timer, purges it afterwards: exactly one instance per interval however many run it, none
//! while another holds the job. Suspension and reactivation carry who, when and why.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use super::*;
use crate::harness::{config, TestDb};

#[tokio::test]
async fn an_owner_deletes_and_restores_an_org() {
    let k = Kit::new().await;
    let owner = k.sign_in("owner@a.test").await;
    let member = k.sign_in("member@a.test").await;
    let admin = k.sign_in("admin@a.test").await;
    let r = k.rpc(Some(&admin), "delete_organization", json!({"org": ORG_A})).await;
    assert_eq!((r.status, r.code()), (403, "PT403".to_string()), "an admin may not: {}", r.body);
    let r = k.rpc(Some(&owner), "delete_organization", json!({"org": ORG_B})).await;
    assert_eq!((r.status, r.code()), (403, "PT403".to_string()), "nor another org's owner: {}", r.body);

    let r = k.rpc(Some(&owner), "delete_organization", json!({"org": ORG_A})).await;
    assert_eq!((r.status, r.json()["status"].clone()), (200, json!("pending_deletion")), "{}", r.body);
    let r =
        k.g.get_with(
            &format!("/organizations?id=eq.{ORG_A}&select=status,purge_after,status_reason"),
            &[("authorization", &member)],
        )
        .await;
    assert_eq!(r.json()[0]["status"], json!("pending_deletion"), "its members see it is going: {}", r.body);
    let r = k
        .call(Some(&member), Method::POST, "/tasks", Some(json!({"org_id": ORG_A, "project_id": PROJ_A, "title": "x"})))
        .await;
    assert_eq!((r.status, r.code()), (403, "PT403".to_string()), "read-only: {}", r.body);
    assert!(r.body.contains("pending deletion"), "{}", r.body);
    let r = k.g.get_with("/tasks?select=id", &[("authorization", &member)]).await;
    assert_eq!((r.status, r.json()), (200, json!([{"id": TASK_A}])), "still readable");
    let r = k.rpc(Some(&owner), "restore_organization", json!({"org": ORG_A})).await;
    assert_eq!((r.status, r.json()["status"].clone()), (200, json!("active")), "{}", r.body);
    let r = k
        .call(Some(&member), Method::POST, "/tasks", Some(json!({"org_id": ORG_A, "project_id": PROJ_A, "title": "x"})))
        .await;
    assert_eq!(r.status, 201, "writable again: {}", r.body);
}

#[tokio::test]
async fn a_suspension_carries_who_when_and_why_for_the_owners() {
    let k = Kit::new().await;
    let root = k.sign_in("root@platform.test").await;
    let owner = k.sign_in("owner@a.test").await;
    let r = k.rpc(Some(&owner), "set_org_status", json!({"org": ORG_A, "status": "suspended", "reason": "mine"})).await;
    assert_eq!((r.status, r.code()), (403, "PT403".to_string()), "{}", r.body);
    let r = k
        .rpc(Some(&root), "set_org_status", json!({"org": ORG_A, "status": "suspended", "reason": "Billing issue"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r =
        k.g.get_with(
            &format!("/organizations?id=eq.{ORG_A}&select=status,status_reason,status_changed_by,status_changed_at"),
            &[("authorization", &owner)],
        )
        .await;
    let row = &r.json()[0];
    assert_eq!(
        (row["status"].clone(), row["status_reason"].clone(), row["status_changed_by"].clone()),
        (json!("suspended"), json!("Billing issue"), json!(SUPER)),
        "{}",
        r.body
    );
    assert!(row["status_changed_at"].is_string());
    let r =
        k.g.get_with(
            "/audit_log?table_name=eq.organizations&action=eq.UPDATE&select=actor_user_id,diff",
            &[("authorization", &owner)],
        )
        .await;
    assert_eq!(
        r.json()[0]["diff"]["status_reason"]["new"],
        json!("Billing issue"),
        "in the log its owners read: {}",
        r.body
    );
    assert_eq!(r.json()[0]["actor_user_id"], json!(SUPER));
    let r = k.rpc(Some(&root), "set_org_status", json!({"org": ORG_A, "status": "active", "reason": "Paid"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = k
        .g
        .get_with(&format!("/organizations?id=eq.{ORG_A}&select=status,status_reason"), &[("authorization", &owner)])
        .await;
    assert_eq!(r.json(), json!([{"status": "active", "status_reason": "Paid"}]));
}

/// A second gateway on `k`'s database with the maintenance job every `every`.
async fn instance(k: &Kit, every: &str) -> Gateway {
    let db = TestDb { name: k.g.db.name.clone() };
    let cfg = config(&db, |a| a.maintenance_interval = Some(every.into()));
    Gateway::start_on(db, cfg).await
}

#[tokio::test]
async fn two_instances_purge_a_deleted_org_exactly_once_per_interval() {
    let k = Kit::new().await;
    let root = k.sign_in("root@platform.test").await;
    let r = k.rpc(Some(&root), "delete_organization", json!({"org": ORG_B})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    k.exec(&format!("update api.organizations set purge_after = now() - interval '1 second' where id = '{ORG_B}'"))
        .await;
    let a_before = k.rows(&format!("select * from api.tasks where org_id = '{ORG_A}' order by id")).await;

    // Hold the job as another instance would: nobody runs it meanwhile.
    let holder = k.g.db.admin().await;
    holder.batch_execute("select pg_advisory_lock(hashtext('rowgate.maintenance'))").await.expect("hold the job");
    let (one, two) = (instance(&k, "1s").await, instance(&k, "1s").await);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(k.scalar("select count(*) from internal.maintenance_runs").await, json!(0), "no run while it is held");
    assert_eq!(k.scalar(&format!("select count(*) from api.organizations where id = '{ORG_B}'")).await, json!(1));
    holder.batch_execute("select pg_advisory_unlock(hashtext('rowgate.maintenance'))").await.expect("release");

    tokio::time::sleep(Duration::from_millis(4500)).await;
    one.running.shutdown().await;
    two.running.shutdown().await;
    let runs = k.rows("select instance, extract(epoch from started_at)::float8 as at, report from internal.maintenance_runs order by started_at").await;
    let runs = runs.as_array().expect("runs").clone();
    assert!((2..=5).contains(&runs.len()), "at most one run a second for ~4.5 s, not one per instance: {runs:?}");
    for pair in runs.windows(2) {
        let gap = pair[1]["at"].as_f64().unwrap() - pair[0]["at"].as_f64().unwrap();
        assert!(gap >= 0.99, "two runs {gap:.3} s apart: {runs:?}");
    }
    let purges: i64 = runs.iter().map(|r| r["report"]["purged_orgs"].as_i64().unwrap_or(0)).sum();
    assert_eq!(purges, 1, "org B purged once: {runs:?}");
    assert_eq!(runs[0]["report"]["purged_orgs"], json!(1), "by the first run");
    assert_eq!(k.scalar(&format!("select count(*) from api.organizations where id = '{ORG_B}'")).await, json!(0));
    assert_eq!(
        k.scalar(&format!("select count(*) from api.tasks where org_id = '{ORG_B}'")).await,
        json!(0),
        "its rows went too"
    );
    assert_eq!(
        k.rows(&format!("select * from api.tasks where org_id = '{ORG_A}' order by id")).await,
        a_before,
        "org A unchanged"
    );
    let purge = k
        .rows(&format!("select actor_user_id, diff from api.audit_log where org_id = '{ORG_B}' and action = 'PURGE'"))
        .await;
    assert_eq!(purge[0]["diff"]["removed"]["tasks"], json!(1), "one PURGE entry: {purge}");
}

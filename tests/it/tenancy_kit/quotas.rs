//! Point 4, plans and quotas: the super admin defines plans and moves orgs between them; a write
//! beyond a limit is refused with 403 `quota_exceeded` and a hint naming the limit, counted in
//! `/metrics`; `GET /org_usage` shows usage against the limits; other orgs are untouched.

use reqwest::Method;
use serde_json::{json, Value};

use super::*;

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1.0)
}

#[tokio::test]
async fn limits_hold_at_write_time_with_one_error_and_are_counted() {
    let k = Kit::new().await;
    let root = k.sign_in("root@platform.test").await;
    let owner = k.sign_in("owner@a.test").await;
    let member = k.sign_in("member@a.test").await;

    // Plans: everyone signed in reads them, only the super admin writes them.
    let plan =
        json!({"id": "starter", "name": "Starter", "max_projects": 2, "max_members": 10, "limits": {"executions": 5}});
    let r = k.call(Some(&owner), Method::POST, "/plans", Some(plan.clone())).await;
    assert_eq!((r.status, r.code()), (403, "42501".to_string()), "{}", r.body);
    let r = k.call(Some(&root), Method::POST, "/plans", Some(plan)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = k
        .call(Some(&root), Method::POST, "/plans", Some(json!({"id": "bad", "name": "Bad", "limits": {"x": -1}})))
        .await;
    assert_eq!((r.status, r.code()), (400, "23514".to_string()), "a negative limit: {}", r.body);
    let r = k.g.get_with("/plans?select=id&order=id", &[("authorization", &member)]).await;
    assert_eq!(r.json(), json!([{"id": "pending"}, {"id": "standard"}, {"id": "starter"}]));
    let r = k.call(Some(&owner), Method::PATCH, "/plans?id=eq.starter", Some(json!({"max_projects": 100}))).await;
    assert_eq!((r.status, r.json()), (200, json!([])), "an owner changes no plan: {}", r.body);

    // Only the super admin moves an org to a plan.
    let r = k.rpc(Some(&owner), "set_org_plan", json!({"org": ORG_A, "plan": "starter"})).await;
    assert_eq!((r.status, r.code()), (403, "PT403".to_string()), "{}", r.body);
    let r = k.rpc(Some(&root), "set_org_plan", json!({"org": ORG_A, "plan": "starter"})).await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Org A has one project of two: one more fits, the next is refused.
    let project = |n: &str| json!({"org_id": ORG_A, "name": n});
    let r = k.call(Some(&member), Method::POST, "/projects", Some(project("second"))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = k.call(Some(&member), Method::POST, "/projects", Some(project("third"))).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let (code, hint) = code_hint(&r);
    assert_eq!(code, "quota_exceeded", "{}", r.body);
    assert!(hint.contains("max_projects") && hint.contains("starter"), "the hint names the limit: {}", r.body);
    assert_eq!(r.json()["message"], json!("quota exceeded: projects"));
    assert_eq!(k.scalar(&format!("select count(*) from api.projects where org_id = '{ORG_A}'")).await, json!(2));
    // A bulk insert that would cross the limit is refused whole; so is an upsert adding a row.
    let r = k.call(Some(&owner), Method::DELETE, &format!("/projects?org_id=eq.{ORG_A}&name=eq.second"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = k.call(Some(&member), Method::POST, "/projects", Some(json!([project("x"), project("y")]))).await;
    assert_eq!((r.status, code_hint(&r).0), (403, "quota_exceeded".to_string()), "{}", r.body);

    // The counter counts: usage against the limits.
    let r =
        k.g.get_with(
            &format!(
                "/org_usage?org_id=eq.{ORG_A}&select=plan_id,projects,max_projects,members,max_members,counters,limits"
            ),
            &[("authorization", &member)],
        )
        .await;
    assert_eq!(
        r.json(),
        json!([{"plan_id": "starter", "projects": 1, "max_projects": 2, "members": 4, "max_members": 10,
                "counters": {}, "limits": {"executions": 5}}]),
        "{}",
        r.body
    );
    let r =
        k.g.get_with(&format!("/org_usage?org_id=eq.{ORG_A}"), &[("authorization", &k.sign_in("owner@b.test").await)])
            .await;
    assert_eq!(r.json(), json!([]), "another org's usage is hidden");

    // Org B (standard plan) is not limited by any of it.
    let owner_b = k.sign_in("owner@b.test").await;
    let many: Vec<Value> = (0..20).map(|i| json!({"org_id": ORG_B, "name": format!("b{i}")})).collect();
    let r = k.call(Some(&owner_b), Method::POST, "/projects", Some(Value::Array(many))).await;
    assert_eq!(r.status, 201, "{}", r.body);

    // Each refusal is counted in /metrics.
    let text = reqwest::get(k.g.admin_url("/metrics")).await.unwrap().text().await.unwrap();
    assert_eq!(metric(&text, "rowgate_quota_rejections_total{kind=\"write\"}"), 2.0, "{text}");
}

#[tokio::test]
async fn a_pending_org_is_held_to_the_pending_plan() {
    let k = Kit::new().await;
    let root = k.sign_in("root@platform.test").await;
    let owner_p = k.sign_in("owner@p.test").await;
    let r = k.call(Some(&owner_p), Method::POST, "/projects", Some(json!({"org_id": ORG_P, "name": "first"}))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = k.call(Some(&owner_p), Method::POST, "/projects", Some(json!({"org_id": ORG_P, "name": "second"}))).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let (code, hint) = code_hint(&r);
    assert_eq!(code, "quota_exceeded");
    assert!(hint.contains("plan pending") && hint.contains("approve"), "{}", r.body);
    assert_eq!(r.json()["details"], json!("organization pending approval: at most 1 projects"));
    // The pending limits are the `pending` plan's: the super admin changes them there.
    let r = k.call(Some(&root), Method::PATCH, "/plans?id=eq.pending", Some(json!({"max_projects": 2}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = k.call(Some(&owner_p), Method::POST, "/projects", Some(json!({"org_id": ORG_P, "name": "second"}))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = k.call(Some(&root), Method::DELETE, "/plans?id=eq.pending", None).await;
    assert_eq!((r.status, r.json()), (200, json!([])), "the pending plan cannot be deleted");
}

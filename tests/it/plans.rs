//! `Accept: application/vnd.pgrst.plan` behind ROWGATE_DB_PLAN_ENABLED.

use reqwest::Method;
use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn plans_are_unavailable_unless_enabled() {
    let g = Gateway::start().await;
    let r = g.get_with("/items", &[("accept", "application/vnd.pgrst.plan+json")]).await;
    assert_eq!((r.status, r.code()), (406, "PGRST107".to_string()), "{}", r.body);
}

#[tokio::test]
async fn json_and_text_plans_of_reads() {
    let g = Gateway::start_with(|a| a.db_plan_enabled = Some("true".into())).await;
    let r = g.get_with("/items?id=eq.1", &[("accept", "application/vnd.pgrst.plan+json")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.header("content-type"),
        Some("application/vnd.pgrst.plan+json; for=\"application/json\"; charset=utf-8")
    );
    let plan = r.json();
    // An aggregate (the body) over the primary-key lookup.
    let top = &plan[0]["Plan"];
    assert_eq!(top["Node Type"], "Aggregate", "{plan}");
    let scan = &top["Plans"][0];
    assert_eq!((&scan["Node Type"], &scan["Index Name"]), (&json!("Index Scan"), &json!("items_pkey")), "{plan}");
    assert!(plan[0]["Plan"].get("Actual Rows").is_none(), "no ANALYZE unless asked");
    let r =
        g.get_with("/items?id=eq.1", &[("accept", "application/vnd.pgrst.plan+json; options=analyze|buffers")]).await;
    assert!(r.json()[0]["Plan"].get("Actual Rows").is_some(), "{}", r.body);
    let r = g.get_with("/items", &[("accept", "application/vnd.pgrst.plan")]).await;
    // The plan's nodes, without their cost estimates.
    let nodes: Vec<&str> = r.body.lines().map(|l| l.split("  (cost=").next().unwrap()).collect();
    assert_eq!(nodes, ["Aggregate", "  ->  Seq Scan on items"], "{}", r.body);
    assert_eq!(
        r.header("content-type"),
        Some("application/vnd.pgrst.plan+text; for=\"application/json\"; charset=utf-8")
    );
}

#[tokio::test]
async fn analyzed_writes_are_rolled_back() {
    let g = Gateway::start_with(|a| a.db_plan_enabled = Some("true".into())).await;
    let r = g
        .send(
            Method::POST,
            "/goods",
            &[("accept", "application/vnd.pgrst.plan+json; options=analyze")],
            r#"{"name":"planned","price":1}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let admin = g.db.admin().await;
    let n: i64 = admin.query_one("select count(*) from api.goods where name = 'planned'", &[]).await.unwrap().get(0);
    assert_eq!(n, 0);
}

//! Point 9, the operations surface: `/health` on the admin listener (JSON: the database and its
//! latency, the migration version, the schema cache's age, the pool, the maintenance interval,
//! realtime's capture state and slot lag) beside `/live` and `/ready`; the tenant gauge by status and
//! plan in `/metrics`, read from the database on a timer rather than per scrape.

use serde_json::{json, Value};

use super::*;

#[tokio::test]
async fn health_reports_the_database_the_schema_cache_and_the_pool() {
    let k = Kit::with(|a| a.maintenance_interval = Some("15min".into())).await;
    let resp = reqwest::get(k.g.admin_url("/health")).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let h: Value = resp.json().await.unwrap();
    assert_eq!(h["status"], json!("ok"), "{h}");
    assert_eq!(h["database"]["reachable"], json!(true), "{h}");
    assert!(h["database"]["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{h}");
    let newest = k.scalar("select max(version) from refinery_schema_history").await;
    assert_eq!(h["database"]["migration_version"], newest, "{h}");
    assert_eq!(h["schema_cache"]["loaded"], json!(true));
    assert!(h["schema_cache"]["age_seconds"].as_f64().is_some_and(|s| (0.0..600.0).contains(&s)), "{h}");
    assert!(h["schema_cache"]["relations"].as_u64().is_some_and(|n| n >= 14), "{h}");
    assert!(h["pool"]["max"].as_u64().is_some_and(|n| n >= 1), "{h}");
    assert_eq!(h["maintenance"]["interval_seconds"], json!(900));
    // This gateway has no replication login: realtime is off, and says why.
    assert_eq!(h["realtime"]["status"], json!("off"), "{h}");
    assert!(h["realtime"]["reason"].is_string(), "{h}");
    for path in ["/live", "/ready"] {
        assert_eq!(reqwest::get(k.g.admin_url(path)).await.unwrap().status(), 200, "{path}");
    }
    // Not on the API listener.
    assert_eq!(k.g.get("/health").await.status, 404);
}

#[tokio::test]
async fn the_tenant_gauge_counts_orgs_by_status_and_plan() {
    let k = Kit::new().await;
    let state = k.g.running.state.clone();
    rowgate::maintenance::refresh_gauges_once(&state).await.expect("refresh");
    let text = reqwest::get(k.g.admin_url("/metrics")).await.unwrap().text().await.unwrap();
    for line in [
        "rowgate_tenants{status=\"active\",plan=\"standard\"} 2",
        "rowgate_tenants{status=\"suspended\",plan=\"standard\"} 1",
        "rowgate_tenants{status=\"pending_approval\",plan=\"standard\"} 1",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line} in\n{text}");
    }
    // A scrape does not read the database: the gauge moves only when refreshed.
    k.exec(&format!("update api.organizations set status = 'suspended' where id = '{ORG_A}'")).await;
    let text = reqwest::get(k.g.admin_url("/metrics")).await.unwrap().text().await.unwrap();
    assert!(text.contains("rowgate_tenants{status=\"active\",plan=\"standard\"} 2"), "{text}");
    rowgate::maintenance::refresh_gauges_once(&state).await.expect("refresh");
    let text = reqwest::get(k.g.admin_url("/metrics")).await.unwrap().text().await.unwrap();
    assert!(text.contains("rowgate_tenants{status=\"suspended\",plan=\"standard\"} 2"), "{text}");
    assert!(text.contains("rowgate_tenants{status=\"active\",plan=\"standard\"} 1"), "{text}");
}

#[tokio::test]
async fn one_maintenance_run_reports_what_it_did() {
    let k = Kit::new().await;
    let state = k.g.running.state.clone();
    let every = std::time::Duration::from_secs(3600);
    let report =
        rowgate::maintenance::run_once(&state, "test", every).await.expect("run").expect("the reference schema");
    assert_eq!(report["ran"], json!(true), "{report}");
    assert_eq!(report["purged_orgs"], json!(0));
    let again = rowgate::maintenance::run_once(&state, "test", every).await.expect("run").expect("schema");
    assert_eq!(again["ran"], json!(false), "within the interval: {again}");
}

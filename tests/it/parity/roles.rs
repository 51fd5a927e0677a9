//! Point 10: settings attached to the request role (`alter role … in database … set`, here on
//! `authenticated` in the test's own database) apply in
//! its transactions — statement_timeout, placeholders such as `plan_filter.…`, and the isolation
//! level — read into the schema cache (the round trip is counted in `tests/it/context.rs`).

use serde_json::json;

use super::*;

/// A gateway whose database gives role `authenticated` settings (before the schema cache loads).
pub async fn tuned_gateway(settings: &str) -> Gateway {
    let db = TestDb::new().await;
    let sql = settings.replace("{db}", &db.name);
    db.admin().await.batch_execute(&sql).await.expect("role settings");
    let cfg = config(&db, |_| {});
    Gateway::start_on(db, cfg).await
}

pub const TUNED: &str = "alter role authenticated in database {db} set statement_timeout = '1234ms';
alter role authenticated in database {db} set plan_filter.statement_cost_limit = '1e6';
alter role authenticated in database {db} set default_transaction_isolation = 'repeatable read';
alter role authenticated in database {db} set log_min_duration_statement = 10;";

#[tokio::test]
async fn a_roles_settings_apply_to_its_transactions_only() {
    let g = tuned_gateway(TUNED).await;
    let auth = format!("Bearer {}", token(json!({"role": "authenticated"})));
    let r = g.get_with("/my_settings", &[("authorization", &auth)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // A setting the gateway's role may not set (log_min_duration_statement) is left out.
    assert_eq!(
        r.json(),
        json!([{"role": "authenticated", "statement_timeout": "1234ms", "cost_limit": "1e6", "isolation": "repeatable read"}])
    );
    // Other roles keep the defaults.
    let v = ok(&g, "/my_settings").await;
    assert_eq!(v[0]["role"], "anon");
    // (Once a connection has seen the placeholder, PostgreSQL reports it empty, not unset.)
    assert!(matches!(v[0]["cost_limit"].as_str(), None | Some("")), "{v}");
    assert_eq!(v[0]["isolation"], "read committed");
    assert_ne!(v[0]["statement_timeout"], "1234ms");
}

#[tokio::test]
async fn a_roles_statement_timeout_cancels_its_statements() {
    let g = tuned_gateway("alter role authenticated in database {db} set statement_timeout = '300ms';").await;
    let auth = format!("Bearer {}", token(json!({"role": "authenticated"})));
    let started = std::time::Instant::now();
    let r = g.get_with("/sleepy", &[("authorization", &auth)]).await;
    assert_eq!(status_code(&r), (500, "57014".into()), "{}", r.body);
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "{:?}", started.elapsed());
}

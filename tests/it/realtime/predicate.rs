//! The rebuilt SELECT predicate (`realtime.visibility_sql`) against PostgreSQL's own row-level
//! security, for every table of the reference schema (every policy shape in policies/: restrictive
//! org fences, `(select helper())` wrappers, the super-admin clause, role-ranked helpers, API-token
//! claims, `using (true)`) and every kind of actor: the rows a real `SELECT` returns as the actor
//! must be exactly the images the visibility statement accepts as that actor.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::*;
use crate::tenants::{ADMIN_A, LONER, MEMBER_A, ORG_A, OWNER_A, OWNER_B, STATUS_ORGS, SUPER, VIEWER_A};

const TABLES: [&str; 12] = [
    "organizations",
    "memberships",
    "projects",
    "tasks",
    "invitations",
    "audit_log",
    "models",
    "org_models",
    "platform_settings",
    "plans",
    "usage_counters",
    "org_entitlements",
];

#[tokio::test]
async fn the_rebuilt_predicate_equals_row_level_security() {
    let api_token = "rg_fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
    let token_sql = format!(
        "insert into auth.api_tokens (org_id, created_by, name, role, token_hash)
         values ('{ORG_A}', '{OWNER_A}', 'p', 'viewer', auth.hash_token('{api_token}'))"
    );
    let audit = format!("insert into api.audit_log (org_id, action, table_name, row_key) values ('{ORG_A}', 'INSERT', 'projects', '{{}}')");
    let invitation = format!(
        "insert into api.invitations (org_id, email, role, token_hash) values ('{ORG_A}', 'eve@else.test', 'member', 'h1')"
    );
    let db = world(&[STATUS_ORGS, &token_sql, &audit, &invitation]).await;
    let mut admin = db.admin().await;
    let user = |sub: &str| ("authenticated", json!({"role": "authenticated", "sub": sub}));
    let actors: Vec<(&str, Value)> = vec![
        ("anon", json!({"role": "anon"})),
        user(OWNER_A),
        user(ADMIN_A),
        user(MEMBER_A),
        user(VIEWER_A),
        user(OWNER_B),
        user(LONER),
        user(SUPER),
        ("service_role", json!({"role": "service_role"})),
        ("authenticated", json!({"role": "authenticated", "api_token": api_token})),
    ];
    let mut compared = 0;
    let mut visible_somewhere = 0;
    for table in TABLES {
        let all: Vec<Value> = admin
            .query(&format!("select to_jsonb(t) from api.{table} t"), &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<_, Value>(0))
            .collect();
        assert!(!all.is_empty(), "{table} has rows to compare");
        let images = Value::Array(all.clone());
        for (role, claims) in &actors {
            // The gateway builds the predicate (it alone may call visibility_sql) and runs it as
            // the subscriber's role.
            let sql: String = admin
                .query_one(&format!("select realtime.visibility_sql('api.{table}'::regclass, '{role}'::regrole)"), &[])
                .await
                .unwrap()
                .get(0);
            let tx = admin.transaction().await.unwrap();
            tx.batch_execute(&format!("set local role {role}")).await.unwrap();
            tx.execute("select set_config('request.jwt.claims', $1, true)", &[&claims.to_string()]).await.unwrap();
            tx.batch_execute("select internal.check_request()").await.unwrap();
            let real = tx.query(&format!("select to_jsonb(t) from api.{table} t"), &[]).await;
            let Ok(real) = real else {
                // No SELECT grant on the table for this role: nothing to compare (the delivery
                // sends no column the role cannot read).
                tx.rollback().await.unwrap();
                continue;
            };
            let real: BTreeSet<String> = real.iter().map(|r| r.get::<_, Value>(0).to_string()).collect();
            let positions: String =
                tx.query_one(&sql, &[&images]).await.unwrap_or_else(|e| panic!("{table}: {e}\n{sql}")).get(0);
            let accepted: BTreeSet<String> = positions
                .trim_matches(|c| c == '{' || c == '}')
                .split(',')
                .filter_map(|n| n.parse::<usize>().ok())
                .map(|n| all[n - 1].to_string())
                .collect();
            assert_eq!(accepted, real, "{table} as {role} {claims}: the predicate and RLS disagree\n{sql}");
            compared += 1;
            visible_somewhere += usize::from(!real.is_empty() && real.len() < all.len());
            tx.rollback().await.unwrap();
        }
    }
    assert!(compared >= 70, "only {compared} table × actor pairs compared");
    assert!(visible_somewhere >= 20, "too few partial views: {visible_somewhere}");
}

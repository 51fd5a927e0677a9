//! Point 5, entitlements controlled by the platform: only the super admin or `service_role`
//! grants a catalog item to an org; its owners and admins enable among what it is entitled to;
//! `GET /rpc/has_model_access?model_id=…` answers `true`/`false` for the caller; `GET
//! /access_report` lists who can use which item (an org's admins: their org; the super admin: all).

use reqwest::Method;
use serde_json::json;

use super::*;

const MODEL_NEW: &str = "30000000-0000-0000-0000-000000000009";

async fn access(k: &Kit, authorization: &str, model: &str) -> serde_json::Value {
    let r = k.g.get_with(&format!("/rpc/has_model_access?model_id={model}"), &[("authorization", authorization)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

#[tokio::test]
async fn the_platform_grants_and_org_admins_enable() {
    let k = Kit::new().await;
    k.exec(&format!("insert into api.models (id, name) values ('{MODEL_NEW}', 'model-new')")).await;
    let root = k.sign_in("root@platform.test").await;
    let admin = k.sign_in("admin@a.test").await;
    let member = k.sign_in("member@a.test").await;
    let owner_b = k.sign_in("owner@b.test").await;
    let enable = json!({"org_id": ORG_A, "model_id": MODEL_NEW});

    // An org admin cannot enable what the org is not entitled to (the bug this closes), nor
    // entitle the org.
    let r = k.call(Some(&admin), Method::POST, "/org_models", Some(enable.clone())).await;
    assert_eq!((r.status, r.code()), (409, "23503".to_string()), "{}", r.body);
    let r = k.call(Some(&admin), Method::POST, "/org_entitlements", Some(enable.clone())).await;
    assert_eq!((r.status, r.code()), (403, "42501".to_string()), "{}", r.body);
    for who in [&admin, &k.sign_in("owner@a.test").await, &owner_b] {
        let r = k.rpc(Some(who), "grant_entitlement", json!({"org": ORG_A, "model_id": MODEL_NEW})).await;
        assert_eq!((r.status, r.code()), (403, "PT403".to_string()), "{}", r.body);
    }
    assert_eq!(access(&k, &member, MODEL_NEW).await, json!(false));

    // service_role (billing automation) grants it; the admin enables it; members may use it.
    let r = k.rpc(Some(&service()), "grant_entitlement", json!({"org": ORG_A, "model_id": MODEL_NEW})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(access(&k, &member, MODEL_NEW).await, json!(false), "entitled, not enabled yet");
    let r = k.call(Some(&admin), Method::POST, "/org_models", Some(enable.clone())).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(access(&k, &member, MODEL_NEW).await, json!(true));
    assert_eq!(access(&k, &k.sign_in("viewer@a.test").await, MODEL_NEW).await, json!(true), "any role");
    assert_eq!(access(&k, &owner_b, MODEL_NEW).await, json!(false), "not another org's member");
    assert_eq!(access(&k, &root, MODEL_NEW).await, json!(false), "the super admin has no access of their own");
    assert_eq!(access(&k, &owner_b, MODEL_B).await, json!(true));
    assert_eq!(access(&k, &member, MODEL_B).await, json!(false));
    let r = k.g.get(&format!("/rpc/has_model_access?model_id={MODEL_A}")).await;
    assert_eq!(r.status, 401, "anonymous: {}", r.body);
    let r = k.g.get_with("/rpc/has_model_access?model_id=nope", &[("authorization", &member)]).await;
    assert_eq!(r.status, 400, "{}", r.body);

    // The grant is in org A's audit log, for its admins.
    let path =
        format!("/audit_log?table_name=eq.org_entitlements&row_key->>model_id=eq.{MODEL_NEW}&select=action,org_id");
    let r = k.g.get_with(&path, &[("authorization", &admin)]).await;
    assert_eq!(r.json(), json!([{"action": "INSERT", "org_id": ORG_A}]), "{}", r.body);

    // Paid until yesterday: no access; revoked: disabled with it.
    let r = k
        .rpc(
            Some(&root),
            "grant_entitlement",
            json!({"org": ORG_A, "model_id": MODEL_NEW, "expires_at": "2001-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "PT400".to_string()), "{}", r.body);
    k.exec(&format!(
        "update api.org_entitlements set expires_at = now() - interval '1 day' where model_id = '{MODEL_NEW}'"
    ))
    .await;
    assert_eq!(access(&k, &member, MODEL_NEW).await, json!(false), "expired");
    let r = k.rpc(Some(&root), "revoke_entitlement", json!({"org": ORG_A, "model_id": MODEL_NEW})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        k.scalar(&format!("select count(*) from api.org_models where model_id = '{MODEL_NEW}'")).await,
        json!(0)
    );
    let r = k.rpc(Some(&service()), "revoke_entitlement", json!({"org": ORG_A, "model_id": MODEL_NEW})).await;
    assert_eq!((r.status, r.code()), (404, "PT404".to_string()), "{}", r.body);
}

#[tokio::test]
async fn the_access_report_shows_each_admin_their_org_and_the_super_admin_all() {
    let k = Kit::new().await;
    let path = "/access_report?select=org_id,email,role,model_name&order=org_id,email";
    let r = k.g.get_with(path, &[("authorization", &k.sign_in("admin@a.test").await)]).await;
    assert_eq!(
        r.json(),
        json!([
            {"org_id": ORG_A, "email": "admin@a.test", "role": "admin", "model_name": "model-a"},
            {"org_id": ORG_A, "email": "member@a.test", "role": "member", "model_name": "model-a"},
            {"org_id": ORG_A, "email": "owner@a.test", "role": "owner", "model_name": "model-a"},
            {"org_id": ORG_A, "email": "viewer@a.test", "role": "viewer", "model_name": "model-a"}
        ]),
        "{}",
        r.body
    );
    let r = k.g.get_with(path, &[("authorization", &k.sign_in("member@a.test").await)]).await;
    assert_eq!(r.json(), json!([]), "members see no report");
    let r = k.g.get_with(path, &[("authorization", &k.sign_in("root@platform.test").await)]).await;
    let rows = r.json();
    let orgs: std::collections::BTreeSet<&str> =
        rows.as_array().expect("rows").iter().filter_map(|row| row["org_id"].as_str()).collect();
    let orgs: Vec<&str> = orgs.into_iter().collect();
    assert_eq!(orgs, vec![ORG_A, ORG_B], "the super admin sees every org's (the suspended one's none): {}", r.body);
    let r = k
        .call(
            Some(&k.sign_in("root@platform.test").await),
            Method::POST,
            "/access_report",
            Some(json!({"org_id": ORG_A})),
        )
        .await;
    assert_eq!((r.status, r.code()), (405, "55000".to_string()), "a view nobody writes: {}", r.body);
}

//! The seeds' smoke test: register an organization, sign in, read the organization.

use reqwest::Method;
use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn register_then_sign_in_then_read_the_org() {
    let key = rowgate::auth::signing::SigningKey::generate_jwk().unwrap();
    let g = Gateway::start_with(|a| {
        a.jwt_signing_key = Some(key);
        a.db_pre_request = Some("internal.check_request".into());
    })
    .await;
    let body = json!({"email": "founder@acme.test", "password": "a long passphrase", "org_name": "Acme"}).to_string();
    let r = g.send(Method::POST, "/rpc/register_organization", &[], &body).await;
    assert_eq!(r.status, 200, "anonymous registration: {}", r.body);
    let org_id = r.json()["org_id"].as_str().unwrap().to_string();

    let login = json!({"email": "founder@acme.test", "password": "a long passphrase"}).to_string();
    let r = g.send(Method::POST, "/auth/v1/token?grant_type=password", &[], &login).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let bearer = format!("Bearer {}", r.json()["access_token"].as_str().unwrap());

    let r = g.get_with("/organizations?select=id,name", &[("authorization", &bearer)]).await;
    assert_eq!(r.json(), json!([{"id": org_id, "name": "Acme"}]), "{}", r.body);
    let r = g.get_with("/memberships?select=role", &[("authorization", &bearer)]).await;
    assert_eq!(r.json(), json!([{"role": "owner"}]));
    // Anonymous callers have no grant on organizations at all: 42501, answered 401.
    let r = g.get("/organizations").await;
    assert_eq!((r.status, r.code()), (401, "42501".to_string()), "{}", r.body);
    // The same email cannot register twice.
    let r = g.send(Method::POST, "/rpc/register_organization", &[], &body).await;
    assert!(r.status >= 400 && r.status < 500, "{}", r.body);
}

async fn register_and_sign_in(g: &Gateway, email: &str, org: &str) -> (String, String) {
    let body = json!({"email": email, "password": "a long passphrase", "org_name": org}).to_string();
    let r = g.send(Method::POST, "/rpc/register_organization", &[], &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let org_id = r.json()["org_id"].as_str().unwrap().to_string();
    let login = json!({"email": email, "password": "a long passphrase"}).to_string();
    let r = g.send(Method::POST, "/auth/v1/token?grant_type=password", &[], &login).await;
    (org_id, format!("Bearer {}", r.json()["access_token"].as_str().unwrap()))
}

/// Org B's memberships, invitations, API tokens and status, as text.
async fn snapshot(g: &Gateway, org_b: &str) -> Vec<Option<String>> {
    let admin = g.db.admin().await;
    let q = "select (select json_agg(m order by user_id) from api.memberships m where org_id = $1::text::uuid)::text, \
             (select json_agg(i order by id) from api.invitations i where org_id = $1::text::uuid)::text, \
             (select json_agg(t order by id) from auth.api_tokens t where org_id = $1::text::uuid)::text, \
             (select status from api.organizations where id = $1::text::uuid)";
    let row = admin.query_one(q, &[&org_b]).await.unwrap();
    (0..4).map(|i| row.get::<_, Option<String>>(i)).collect()
}

/// Every RPC that takes an organization refuses another organization's id, and changes nothing.
#[tokio::test]
async fn no_rpc_reaches_into_another_organization() {
    let key = rowgate::auth::signing::SigningKey::generate_jwk().unwrap();
    let g = Gateway::start_with(|a| {
        a.jwt_signing_key = Some(key);
        a.db_pre_request = Some("internal.check_request".into());
    })
    .await;
    let (_org_a, alice) = register_and_sign_in(&g, "alice@a.test", "A").await;
    let (org_b, bob) = register_and_sign_in(&g, "bob@b.test", "B").await;
    // Bob's own token and invitation exist, to be attacked.
    let r = g
        .send(
            Method::POST,
            "/rpc/create_api_token",
            &[("authorization", &bob)],
            &json!({"org": org_b, "name": "ci", "role": "member"}).to_string(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let bobs_token = r.json()["id"].as_str().unwrap().to_string();
    let before = snapshot(&g, &org_b).await;
    let attacks = [
        ("create_invitation", json!({"org": org_b, "email": "mallory@x.test", "role": "owner"})),
        ("create_invitation", json!({"org": org_b, "email": "mallory@x.test", "role": "viewer"})),
        ("set_org_status", json!({"org": org_b, "status": "suspended"})),
        ("create_api_token", json!({"org": org_b, "name": "steal", "role": "viewer"})),
        ("list_api_tokens", json!({"org": org_b})),
        ("revoke_api_token", json!({"org": org_b, "id": bobs_token})),
    ];
    for (rpc, args) in attacks {
        let r = g.send(Method::POST, &format!("/rpc/{rpc}"), &[("authorization", &alice)], &args.to_string()).await;
        assert!((400..500).contains(&r.status), "{rpc} {args}: {} {}", r.status, r.body);
        assert!(!r.body.contains("ci"), "{rpc} leaked org B's data: {}", r.body);
    }
    assert_eq!(snapshot(&g, &org_b).await, before, "org B changed");
}

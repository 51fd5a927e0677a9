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

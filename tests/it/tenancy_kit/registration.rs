//! Point 8, registration abuse: `/rpc/register_organization` (and every function declared
//! `rowgate.rate_limit = 'auth'`) is limited per client IP by default like `/auth/v1/signup`, and
//! orgs created pending approval are capped per client IP and per email domain per day in SQL
//! (the client IP is the one the gateway resolved behind its trusted proxies).

use reqwest::Method;
use serde_json::json;

use super::*;

async fn register(k: &Kit, path: &str, forwarded_for: Option<&str>, email: &str) -> Reply {
    let body = json!({"email": email, "password": "correct horse", "org_name": format!("Org of {email}")}).to_string();
    let mut headers = vec![];
    if let Some(ip) = forwarded_for {
        headers.push(("x-forwarded-for", ip));
    }
    k.g.send(Method::POST, path, &headers, &body).await
}

#[tokio::test]
async fn registration_is_rate_limited_by_default_like_signup() {
    let k = Kit::new().await;
    // Signed in first: sign-in is on the same limiter, from the same address.
    let owner = k.sign_in("owner@a.test").await;
    // Invalid bodies (no password hash to compute): the limiter counts requests, not outcomes.
    let mut statuses = vec![];
    for i in 0..40 {
        let path = if i % 2 == 0 { "/rpc/register_organization" } else { "/rest/v1/rpc/register_organization" };
        statuses.push(register(&k, path, None, "not an email").await.status);
    }
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert!(
        statuses[..29].iter().all(|s| *s == 400),
        "the default burst (30, the sign-in one of them) passes: {statuses:?}"
    );
    assert!(limited >= 5, "then the default auth limit (60/min, burst 30) refuses: {statuses:?}");
    let r = register(&k, "/rpc/register_organization", None, "x@y.test").await;
    assert_eq!((r.status, r.code()), (429, "PGRST429".to_string()), "{}", r.body);
    assert!(r.header("retry-after").is_some());
    // Other RPCs are not limited by it.
    let r = k.rpc(Some(&owner), "list_api_tokens", json!({"org": ORG_A})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let text = reqwest::get(k.g.admin_url("/metrics")).await.unwrap().text().await.unwrap();
    assert!(
        text.lines().any(|l| l.starts_with("rowgate_auth_events_total{event=\"rate_limited\"}") && !l.ends_with(" 0")),
        "{text}"
    );
}

#[tokio::test]
async fn pending_orgs_are_capped_per_client_ip_and_email_domain() {
    let k = Kit::with(|a| {
        a.trusted_proxies = Some("127.0.0.1/32".into());
        a.rate_limit_auth = Some("off".into());
    })
    .await;
    k.exec(
        "update api.platform_settings set auto_activate_new_orgs = false, pending_orgs_per_ip_per_day = 2, \
         pending_orgs_per_email_domain_per_day = 3",
    )
    .await;
    let path = "/rpc/register_organization";
    for email in ["a1@one.test", "a2@two.test"] {
        let r = register(&k, path, Some("203.0.113.9"), email).await;
        assert_eq!((r.status, r.json()["status"].clone()), (200, json!("pending_approval")), "{}", r.body);
    }
    let r = register(&k, path, Some("203.0.113.9"), "a3@three.test").await;
    assert_eq!((r.status, r.code()), (429, "PT429".to_string()), "{}", r.body);
    assert_eq!(r.json()["message"], json!("too many organizations pending approval from this address today"));
    assert_eq!(
        k.scalar("select count(*) from auth.users where email = 'a3@three.test'").await,
        json!(0),
        "nothing created"
    );
    // The address is the one behind the trusted proxy: another client is not affected.
    let r = register(&k, path, Some("198.51.100.1, 203.0.113.10"), "b1@one.test").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = register(&k, path, Some("203.0.113.11"), "b2@one.test").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = register(&k, path, Some("203.0.113.12"), "b3@ONE.test").await;
    assert_eq!((r.status, r.code()), (429, "PT429".to_string()), "the domain's fourth today: {}", r.body);
    assert_eq!(r.json()["message"], json!("too many organizations pending approval for this email domain today"));
    // A signed-in user's new org from a capped address counts the same.
    let loner = k.sign_in("loner@x.test").await;
    let r =
        k.g.send(
            Method::POST,
            "/rpc/create_organization",
            &[("authorization", &loner), ("x-forwarded-for", "203.0.113.9")],
            &json!({"name": "L"}).to_string(),
        )
        .await;
    assert_eq!((r.status, r.code()), (429, "PT429".to_string()), "{}", r.body);
    // Orgs active at once are not capped.
    k.exec("update api.platform_settings set auto_activate_new_orgs = true").await;
    let r = register(&k, path, Some("203.0.113.9"), "c1@one.test").await;
    assert_eq!((r.status, r.json()["status"].clone()), (200, json!("active")), "{}", r.body);
}

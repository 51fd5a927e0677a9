//! Rate limits: per client IP, per subject, the default limit on `/auth/v1` credential
//! endpoints, and `X-Forwarded-For` believed only from trusted proxies (also by the SQL sign-in
//! limiter).

use reqwest::Method;
use serde_json::json;

use crate::harness::*;

fn assert_limited(r: &Reply) {
    assert_eq!(r.status, 429, "{}", r.body);
    let retry: u64 = r.header("retry-after").expect("Retry-After").parse().expect("Retry-After in seconds");
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    let body = r.json();
    assert_eq!(body["code"], "PGRST429", "{}", r.body);
    assert_eq!(body["message"], "Too many requests");
    assert!(body["details"].as_str().is_some() && body["hint"].is_null(), "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/json; charset=utf-8"));
}

#[tokio::test]
async fn per_ip_limit_is_429_with_retry_after_in_the_postgrest_shape() {
    let g = Gateway::start_with(|a| a.rate_limit_ip = Some("1/min,burst=3".into())).await;
    for _ in 0..3 {
        assert_eq!(g.get("/items?id=eq.1").await.status, 200);
    }
    let r = g.get("/items?id=eq.1").await;
    assert_limited(&r);
    assert!(r.json()["details"].as_str().unwrap().contains("client IP"), "{}", r.body);
    // Every path of the API counts, /auth/v1 included, and a forged X-Forwarded-For does not help.
    let r = g.get_with("/items", &[("x-forwarded-for", "198.51.100.1")]).await;
    assert_limited(&r);
    let r = g.request(Method::GET, "/auth/v1/user", &[]).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.json()["error_code"], "over_request_rate_limit");
}

#[tokio::test]
async fn forwarded_for_counts_only_from_trusted_proxies_rightmost_untrusted_hop() {
    let g = Gateway::start_with(|a| {
        a.rate_limit_ip = Some("1/min,burst=2".into());
        a.trusted_proxies = Some("127.0.0.0/8, 10.0.0.0/8".into());
    })
    .await;
    let g = &g;
    let from = |xff: &'static str| async move { g.get_with("/items?id=eq.1", &[("x-forwarded-for", xff)]).await };
    assert_eq!(from("198.51.100.1").await.status, 200);
    assert_eq!(from("198.51.100.1, 10.0.0.7").await.status, 200, "a trusted hop is skipped");
    // The client forged a left-most hop; the proxy appended the address it really came from.
    assert_limited(&from("203.0.113.5, 198.51.100.1").await);
    assert_eq!(from("198.51.100.2").await.status, 200, "another client has its own budget");
    // Without the header, the proxy itself is the client.
    assert_eq!(g.get("/items?id=eq.1").await.status, 200);
}

#[tokio::test]
async fn per_subject_limit_by_sub_or_role() {
    let g = Gateway::start_with(|a| a.rate_limit_subject = Some("1/min,burst=2".into())).await;
    let alice = bearer(json!({"role": "authenticated", "sub": "alice"}));
    let bob = bearer(json!({"role": "authenticated", "sub": "bob"}));
    for _ in 0..2 {
        assert_eq!(g.get_with("/items", &[("authorization", &alice)]).await.status, 200);
    }
    let r = g.get_with("/items", &[("authorization", &alice)]).await;
    assert_limited(&r);
    assert!(r.json()["details"].as_str().unwrap().contains("subject"));
    assert_eq!(g.get_with("/items", &[("authorization", &bob)]).await.status, 200);
    // Anonymous requests share the anonymous role's budget.
    for _ in 0..2 {
        assert_eq!(g.get("/items").await.status, 200);
    }
    assert_limited(&g.get("/items").await);
}

#[tokio::test]
async fn credential_endpoints_are_limited_by_default_and_the_api_is_not() {
    let g = Gateway::start_with(|a| a.auth_signup_enabled = Some("false".into())).await;
    let signup = || g.send(Method::POST, "/auth/v1/signup", &[], r#"{"email":"a@example.com","password":"x"}"#);
    let started = std::time::Instant::now();
    let mut refused = 0;
    let mut limited = None;
    for _ in 0..45 {
        let r = signup().await;
        match r.status {
            422 => refused += 1,
            429 => {
                limited = Some(r);
                break;
            }
            other => panic!("unexpected {other}: {}", r.body),
        }
    }
    let r = limited.expect("sign-ups were never rate limited");
    // Burst 30, then one per second.
    assert!(refused >= 30 && refused <= 31 + started.elapsed().as_secs(), "{refused} got through");
    assert_eq!(r.json()["error_code"], "over_request_rate_limit", "GoTrue's shape on /auth/v1: {}", r.body);
    assert!(r.header("retry-after").is_some_and(|v| v.parse::<u64>().is_ok_and(|s| (1..=2).contains(&s))));
    // Counted as an auth event on /metrics.
    let metrics = g.http.get(g.admin_url("/metrics")).send().await.expect("scrape").text().await.expect("body");
    assert!(metrics.contains("rowgate_auth_events_total{event=\"rate_limited\"} 1\n"), "{metrics}");
    // Neither other auth endpoints nor the API share that budget.
    assert_eq!(g.request(Method::GET, "/auth/v1/user", &[]).await.status, 401);
    for _ in 0..40 {
        assert_eq!(g.get("/items?id=eq.1").await.status, 200);
    }

    let off = Gateway::start_with(|a| {
        a.auth_signup_enabled = Some("false".into());
        a.rate_limit_auth = Some("off".into());
    })
    .await;
    for _ in 0..40 {
        let r = off.send(Method::POST, "/auth/v1/signup", &[], r#"{"email":"a@example.com","password":"x"}"#).await;
        assert_eq!(r.status, 422, "{}", r.body);
    }
}

/// The sign-in limiter in SQL (`auth.login`'s per-IP count) gets the same client address.
#[tokio::test]
async fn sign_in_limiter_keys_on_the_resolved_client_ip() {
    async fn failure_keys(g: &Gateway) -> Vec<String> {
        let rows =
            g.db.admin()
                .await
                .query("select distinct key from auth.login_failures where key like 'ip:%' order by 1", &[])
                .await
                .unwrap();
        rows.iter().map(|r| r.get(0)).collect()
    }
    async fn login(g: &Gateway, i: usize, xff: &str) -> Reply {
        let body = json!({"email": format!("nobody{i}@example.com"), "password": "wrong"}).to_string();
        g.send(Method::POST, "/auth/v1/token?grant_type=password", &[("x-forwarded-for", xff)], &body).await
    }

    // No trusted proxy: a spoofed header changes nothing, every failure counts for the peer.
    let g = Gateway::start_with(|a| a.rate_limit_auth = Some("off".into())).await;
    for i in 0..30 {
        assert_eq!(login(&g, i, ["10.1.1.1", "10.2.2.2", "10.3.3.3"][i % 3]).await.status, 400);
    }
    assert_eq!(failure_keys(&g).await, vec!["ip:127.0.0.1"]);
    let r = login(&g, 99, "10.9.9.9").await;
    assert_eq!(r.status, 429, "rotating X-Forwarded-For escaped the per-IP sign-in limit: {}", r.body);

    // Behind a trusted proxy: the right-most untrusted hop.
    let g = Gateway::start_with(|a| {
        a.rate_limit_auth = Some("off".into());
        a.trusted_proxies = Some("127.0.0.1".into());
    })
    .await;
    assert_eq!(login(&g, 1, "6.6.6.6, 198.51.100.4").await.status, 400);
    assert_eq!(failure_keys(&g).await, vec!["ip:198.51.100.4"]);
}

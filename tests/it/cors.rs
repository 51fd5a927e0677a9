//! CORS and OPTIONS.

use reqwest::Method;

use crate::harness::*;

#[tokio::test]
async fn preflight_echoes_the_origin_and_requested_headers() {
    let g = Gateway::start().await;
    let r = g
        .request(
            Method::OPTIONS,
            "/items",
            &[
                ("origin", "https://app.example"),
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", "content-type, prefer"),
            ],
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), Some("https://app.example"));
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    assert_eq!(r.header("access-control-allow-headers"), Some("Authorization, content-type, prefer"));
    assert!(r.header("access-control-allow-methods").unwrap().contains("PATCH"));
    assert_eq!(r.header("access-control-max-age"), Some("86400"));
}

#[tokio::test]
async fn actual_requests_expose_the_postgrest_headers() {
    let g = Gateway::start().await;
    let r = g.get_with("/items?limit=1", &[("origin", "https://app.example")]).await;
    assert_eq!(r.header("access-control-allow-origin"), Some("https://app.example"));
    let expose = r.header("access-control-expose-headers").unwrap();
    for h in ["Content-Range", "Content-Location", "Location", "Preference-Applied"] {
        assert!(expose.contains(h), "{h} not exposed: {expose}");
    }
    // Errors carry them too, so the browser can read the error body.
    let r = g.get_with("/nope", &[("origin", "https://app.example")]).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.header("access-control-allow-origin"), Some("https://app.example"));
    // No Origin, no CORS headers.
    assert!(g.get("/items?limit=1").await.header("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn configured_origins_restrict_cors() {
    let g = Gateway::start_with(|a| a.cors_origins = Some("https://good.example".into())).await;
    let good = g.get_with("/items?limit=1", &[("origin", "https://good.example")]).await;
    assert_eq!(good.header("access-control-allow-origin"), Some("https://good.example"));
    let bad = g.get_with("/items?limit=1", &[("origin", "https://evil.example")]).await;
    assert!(bad.header("access-control-allow-origin").is_none());
    let pre = g
        .request(
            Method::OPTIONS,
            "/items",
            &[("origin", "https://evil.example"), ("access-control-request-method", "GET")],
        )
        .await;
    assert!(pre.header("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn options_allow_depends_on_the_object() {
    let g = Gateway::start().await;
    let allow = |r: Reply| r.header("allow").map(str::to_string);
    assert_eq!(
        allow(g.request(Method::OPTIONS, "/items", &[]).await).as_deref(),
        Some("OPTIONS,GET,HEAD,POST,PUT,PATCH,DELETE")
    );
    // A simple view is auto-updatable but has no primary key: no PUT.
    assert_eq!(
        allow(g.request(Method::OPTIONS, "/film_list", &[]).await).as_deref(),
        Some("OPTIONS,GET,HEAD,POST,PATCH,DELETE")
    );
    // An aggregate view is read-only.
    let admin = g.db.admin().await;
    admin
        .batch_execute("create view api.film_count as select count(*) as n from api.films; notify pgrst")
        .await
        .unwrap();
    let mut got = None;
    for _ in 0..100 {
        let r = g.request(Method::OPTIONS, "/film_count", &[]).await;
        if r.status == 200 {
            got = allow(r);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(got.as_deref(), Some("OPTIONS,GET,HEAD"));
    let r = g.request(Method::OPTIONS, "/nope", &[]).await;
    assert_eq!(r.status, 404);
}

//! The read API end to end.

use crate::harness::*;

#[tokio::test]
async fn reads_a_table() {
    let g = Gateway::start().await;
    let r = g.get("/items?select=id,name&order=id").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.ids(), vec![1, 2, 3, 4, 5]);
    assert_eq!(r.header("content-range"), Some("0-4/*"));
    assert_eq!(r.header("content-type"), Some("application/json; charset=utf-8"));
}

/// Supabase's prefix: `/rest/v1/…` is the same API (supabase-js needs no proxy and no fetch
/// rewriting); `request.path` and `Location` do not carry the prefix.
#[tokio::test]
async fn the_rest_api_answers_under_rest_v1_too() {
    let g = Gateway::start().await;
    let r = g.get("/rest/v1/items?select=id,name&order=id").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.ids(), vec![1, 2, 3, 4, 5]);
    assert_eq!(r.body, g.get("/items?select=id,name&order=id").await.body);
    let root = g.get("/rest/v1/").await;
    assert_eq!(root.status, 200, "{}", root.body);
    assert!(root.json()["paths"].get("/items").is_some(), "the OpenAPI document");
    assert_eq!(g.get("/rest/v1").await.status, 200);
    // The prefix must be whole: `/rest/v1x` is not it, and /rest/v1 never reaches /auth/v1.
    assert_eq!(g.get("/rest/v1x/items").await.status, 404);
    assert_eq!(g.get("/rest/v1/auth/v1/.well-known/jwks.json").await.status, 404);
    let options = g.request(reqwest::Method::OPTIONS, "/rest/v1/items", &[]).await;
    assert_eq!(options.status, 200, "{}", options.body);
}

#[tokio::test]
async fn writes_and_rpc_answer_under_rest_v1_with_unprefixed_locations() {
    let g = Gateway::start().await;
    let r = g
        .send(
            reqwest::Method::POST,
            "/rest/v1/goods",
            &[("prefer", "return=headers-only")],
            r#"{"name":"fig","price":1}"#,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let location = r.header("location").expect("a Location").to_string();
    assert!(location.starts_with("/goods?"), "{location}");
    assert_eq!(g.get(&format!("/rest/v1{location}&select=name")).await.body, r#"[{"name":"fig"}]"#);
    let r = g.get("/rest/v1/rpc/add?a=1&b=2").await;
    assert_eq!((r.status, r.body.as_str()), (200, "3"));
}

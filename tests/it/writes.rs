//! The write API: POST, PATCH, PUT, DELETE.

use reqwest::Method;
use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn smoke_insert_update_delete() {
    let g = Gateway::start().await;
    let r = g
        .send(
            Method::POST,
            "/goods?select=id,name",
            &[("prefer", "return=representation")],
            r#"{"name":"kiwi","price":4}"#,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json(), json!([{"id": 4, "name": "kiwi"}]));
    let r = g.send(Method::PATCH, "/goods?name=eq.kiwi", &[], r#"{"price":5}"#).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(r.header("content-range"), Some("0-0/*"));
    let r = g.request(Method::DELETE, "/goods?name=eq.kiwi", &[("prefer", "return=representation")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()[0]["price"], json!(5));
    let r = g.send(Method::POST, "/inbox", &[], r#"{"msg":"hello"}"#).await;
    assert_eq!(r.status, 201, "insert-only table with return=minimal: {}", r.body);
}

//! PUT: insert or replace the one row the primary-key filters name; PGRST105, PGRST114, PGRST115.

use reqwest::Method;
use serde_json::json;

use super::*;

const FULL_ROW_1: &str = r#"{"id":1,"name":"crab apple","price":3,"stock":4,"tz":"UTC"}"#;

#[tokio::test]
async fn put_existing_row_replaces_it() {
    let g = Gateway::start().await;
    Case {
        method: Method::PUT,
        path: "/goods?id=eq.1",
        body: Some(FULL_ROW_1),
        status: 204,
        reply_headers: vec![("content-type", None)],
        answer: Answer::Empty,
        after: vec![
            (GOODS, goods_with(|g| g[0] = json!({"id": 1, "name": "crab apple", "price": 3, "stock": 4}))),
            ("select tz from api.goods where id = 1", json!([{"tz": "UTC"}])),
        ],
        ..Case::default()
    }
    .run(&g)
    .await;
}

#[tokio::test]
async fn put_existing_row_with_representation_is_200() {
    let g = Gateway::start().await;
    Case {
        method: Method::PUT,
        path: "/goods?id=eq.1",
        headers: &[("prefer", "return=representation")],
        body: Some(FULL_ROW_1),
        status: 200,
        reply_headers: vec![("content-type", Some(JSON_UTF8))],
        applied: Some(&["return=representation"]),
        answer: Answer::Json(json!([{"id": 1, "name": "crab apple", "price": 3, "stock": 4, "tz": "UTC"}])),
        after: vec![(GOODS, goods_with(|g| g[0] = json!({"id": 1, "name": "crab apple", "price": 3, "stock": 4})))],
    }
    .run(&g)
    .await;
}

#[tokio::test]
async fn put_new_row_is_201() {
    let g = Gateway::start().await;
    Case {
        method: Method::PUT,
        path: "/goods?id=eq.42&select=id,name",
        headers: &[("prefer", "return=representation")],
        body: Some(r#"{"id":42,"name":"kiwi","price":4,"stock":1,"tz":"UTC"}"#),
        status: 201,
        reply_headers: vec![("content-type", Some(JSON_UTF8))],
        answer: Answer::Json(json!([{"id": 42, "name": "kiwi"}])),
        after: vec![(GOODS, goods_with(|g| g.push(json!({"id": 42, "name": "kiwi", "price": 4, "stock": 1}))))],
        ..Case::default()
    }
    .run(&g)
    .await;
}

#[tokio::test]
async fn put_without_the_key_filter_is_pgrst105() {
    let g = Gateway::start().await;
    let pgrst105 = error_body("PGRST105", "Filters must include all and only primary key columns with 'eq' operators");
    for path in ["/goods?name=eq.apple", "/goods"] {
        Case { method: Method::PUT, path, body: Some(FULL_ROW_1), ..Case::error(405, pgrst105.clone()) }.run(&g).await;
    }
}

#[tokio::test]
async fn put_with_limit_is_pgrst114() {
    let g = Gateway::start().await;
    Case {
        method: Method::PUT,
        path: "/goods?id=eq.1&limit=1",
        body: Some(FULL_ROW_1),
        ..Case::error(400, error_body("PGRST114", "limit/offset querystring parameters are not allowed for PUT"))
    }
    .run(&g)
    .await;
}

#[tokio::test]
async fn put_with_body_key_different_from_url_is_pgrst115() {
    let g = Gateway::start().await;
    Case {
        method: Method::PUT,
        path: "/goods?id=eq.2",
        body: Some(FULL_ROW_1),
        ..Case::error(400, error_body("PGRST115", "Payload values do not match URL in primary key column(s)"))
    }
    .run(&g)
    .await;
}

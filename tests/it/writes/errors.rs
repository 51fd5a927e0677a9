//! Writes that fail: unknown columns, bodies that cannot be read, constraint violations, request
//! limits and media types. Nothing is ever written.

use reqwest::Method;
use serde_json::json;

use super::*;

#[tokio::test]
async fn unknown_columns_are_pgrst204() {
    let g = Gateway::start().await;
    // Named by columns=, or by a key of the body.
    for (path, body, column) in [
        ("/goods?columns=name,nope", r#"{"name":"kiwi","nope":1}"#, "nope"),
        ("/goods", r#"{"name":"kiwi","x":1}"#, "x"),
    ] {
        let message = format!("Could not find the '{column}' column of 'goods' in the schema cache");
        Case { path, body: Some(body), ..Case::error(400, error_body("PGRST204", &message)) }.run(&g).await;
    }
}

#[tokio::test]
async fn bulk_objects_with_different_keys_are_pgrst102() {
    let g = Gateway::start().await;
    // PostgREST: {"code":"PGRST102","details":null,"hint":null,"message":"All object keys must match"}
    Case {
        body: Some(r#"[{"name":"kiwi","price":4},{"name":"fig"}]"#),
        ..Case::error(400, error_body("PGRST102", "All object keys must match"))
    }
    .run(&g)
    .await;
}

/// A body that is no JSON at all: the parser's message goes to `details`, which is not checked.
#[tokio::test]
async fn invalid_or_empty_json_is_pgrst102() {
    let g = Gateway::start().await;
    for body in [r#"{"name":"kiwi","#, ""] {
        let r = Case {
            body: Some(body),
            status: 400,
            reply_headers: vec![("content-type", Some(JSON_UTF8))],
            after: vec![(GOODS, initial_goods())],
            ..Case::default()
        }
        .run(&g)
        .await;
        let body = r.json();
        assert_eq!(body["code"], json!("PGRST102"));
        assert_eq!(body["message"], json!("Empty or invalid json"));
        assert_eq!(body["hint"], json!(null));
    }
}

#[tokio::test]
async fn patch_with_an_array_body_is_pgrst102() {
    let g = Gateway::start().await;
    let r = Case {
        method: Method::PATCH,
        path: "/goods?id=eq.1",
        body: Some(r#"[{"stock":1}]"#),
        status: 400,
        reply_headers: vec![("content-type", Some(JSON_UTF8))],
        after: vec![(GOODS, initial_goods())],
        ..Case::default()
    }
    .run(&g)
    .await;
    assert_eq!(r.code(), "PGRST102", "{}", r.body);
    assert_eq!(r.json()["hint"], json!(null));
}

#[tokio::test]
async fn bulk_insert_with_a_duplicate_inserts_nothing() {
    let g = Gateway::start().await;
    let all = "select * from api.goods order by id";
    let before = rows(&g, all).await;
    Case {
        body: Some(
            r#"[{"name":"a1","price":1},{"name":"a2","price":1},{"name":"apple","price":1},
                {"name":"a4","price":1},{"name":"a5","price":1}]"#,
        ),
        status: 409,
        answer: Answer::Error(json!({
            "code": "23505",
            "message": "duplicate key value violates unique constraint \"goods_name_key\"",
            "details": "Key (name)=(apple) already exists.",
            "hint": null
        })),
        after: vec![(all, before)],
        ..Case::default()
    }
    .run(&g)
    .await;
}

#[tokio::test]
async fn wrong_type_is_22p02() {
    let g = Gateway::start().await;
    Case {
        body: Some(r#"{"name":"x","price":"abc"}"#),
        ..Case::error(400, error_body("22P02", "invalid input syntax for type numeric: \"abc\""))
    }
    .run(&g)
    .await;
}

#[tokio::test]
async fn check_violation_is_23514() {
    let g = Gateway::start().await;
    Case {
        path: "/goods?columns=name,price,tz",
        body: Some(r#"{"name":"neg","price":-1,"tz":"X"}"#),
        ..Case::error(
            400,
            json!({
                "code": "23514",
                "message": "new row for relation \"goods\" violates check constraint \"goods_price_check\"",
                "details": "Failing row contains (4, neg, -1, 0, X).",
                "hint": null
            }),
        )
    }
    .run(&g)
    .await;
    let r = Case {
        method: Method::PATCH,
        path: "/goods?id=eq.1",
        body: Some(r#"{"price":-5}"#),
        status: 400,
        after: vec![(GOODS, initial_goods())],
        ..Case::default()
    }
    .run(&g)
    .await;
    assert_eq!(r.code(), "23514", "{}", r.body);
}

#[tokio::test]
async fn oversized_body_is_413() {
    let g = Gateway::start_with(|a| a.max_body_bytes = Some("100".into())).await;
    let body = json!({"name": "x".repeat(1024), "price": 1}).to_string();
    Case {
        body: Some(&body),
        ..Case::error(413, error_body("PGRST413", "Request body larger than 100 bytes (ROWGATE_MAX_BODY_BYTES)"))
    }
    .run(&g)
    .await;

    // A body under the limit still goes through.
    Case {
        body: Some(r#"{"name":"kiwi","price":4}"#),
        after: vec![("select name from api.goods where id > 3", json!([{"name": "kiwi"}]))],
        ..Case::minimal(201, "*/*")
    }
    .run(&g)
    .await;
}

#[tokio::test]
async fn unsupported_content_type_is_415() {
    let g = Gateway::start().await;
    let r = Case {
        headers: &[("content-type", "image/png")],
        body: Some("\u{89}PNG"),
        status: 415,
        reply_headers: vec![("content-type", Some(JSON_UTF8))],
        after: vec![(GOODS, initial_goods())],
        ..Case::default()
    }
    .run(&g)
    .await;
    let body = r.json();
    assert_eq!(body["code"], json!("PGRST107"), "{}", r.body);
    assert!(body["message"].as_str().unwrap_or_default().contains("image/png"), "{}", r.body);
    assert_eq!(body["hint"], json!(null));
}

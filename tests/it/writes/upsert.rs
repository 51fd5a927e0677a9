//! Upserts: `Prefer: resolution=merge-duplicates|ignore-duplicates`, `on_conflict=`, and the
//! status that tells inserted from updated rows.

use serde_json::json;

use super::*;

#[tokio::test]
async fn upsert_merge_on_existing_key_is_200_and_updates() {
    let g = Gateway::start().await;
    Case {
        headers: &[("prefer", "resolution=merge-duplicates")],
        body: Some(r#"{"id":1,"name":"green apple","price":9,"stock":1}"#),
        applied: Some(&["resolution=merge-duplicates"]),
        after: vec![(GOODS, goods_with(|g| g[0] = json!({"id": 1, "name": "green apple", "price": 9, "stock": 1})))],
        ..Case::minimal(200, "*/*")
    }
    .run(&g)
    .await;
}

#[tokio::test]
async fn upsert_merge_with_new_key_is_201_and_inserts() {
    let g = Gateway::start().await;
    Case {
        path: "/goods?select=id,name",
        headers: &[("prefer", "resolution=merge-duplicates, return=representation")],
        body: Some(r#"{"id":10,"name":"kiwi","price":4,"stock":2}"#),
        status: 201,
        answer: Answer::Json(json!([{"id": 10, "name": "kiwi"}])),
        after: vec![(GOODS, goods_with(|g| g.push(json!({"id": 10, "name": "kiwi", "price": 4, "stock": 2}))))],
        ..Case::default()
    }
    .run(&g)
    .await;
}

#[tokio::test]
async fn upsert_merge_mixed_new_and_existing_is_201() {
    let g = Gateway::start().await;
    Case {
        headers: &[("prefer", "resolution=merge-duplicates")],
        body: Some(r#"[{"id":2,"name":"pear","price":8,"stock":8},{"id":10,"name":"kiwi","price":4,"stock":2}]"#),
        after: vec![(
            GOODS,
            goods_with(|g| {
                g[1] = json!({"id": 2, "name": "pear", "price": 8, "stock": 8});
                g.push(json!({"id": 10, "name": "kiwi", "price": 4, "stock": 2}));
            }),
        )],
        ..Case::minimal(201, "*/*")
    }
    .run(&g)
    .await;
}

#[tokio::test]
async fn upsert_ignore_duplicates_leaves_existing_row() {
    let g = Gateway::start().await;
    Case {
        headers: &[("prefer", "resolution=ignore-duplicates, return=representation")],
        body: Some(r#"{"id":1,"name":"APPLE","price":100,"stock":0}"#),
        status: 201,
        reply_headers: vec![("content-type", Some(JSON_UTF8))],
        applied: Some(&["resolution=ignore-duplicates", "return=representation"]),
        answer: Answer::Json(json!([])),
        after: vec![(GOODS, initial_goods())],
        ..Case::default()
    }
    .run(&g)
    .await;
}

#[tokio::test]
async fn upsert_on_conflict_unique_column_merges_by_name() {
    let g = Gateway::start().await;
    Case {
        path: "/goods?on_conflict=name&select=id,name,price,stock",
        headers: &[("prefer", "resolution=merge-duplicates, return=representation")],
        body: Some(r#"{"name":"pear","price":7}"#),
        status: 200,
        answer: Answer::Json(json!([{"id": 2, "name": "pear", "price": 7, "stock": 5}])),
        after: vec![(GOODS, goods_with(|g| g[1] = json!({"id": 2, "name": "pear", "price": 7, "stock": 5})))],
        ..Case::default()
    }
    .run(&g)
    .await;
}

#[tokio::test]
async fn preference_applied_echoes_write_preferences() {
    let g = Gateway::start().await;
    Case {
        path: "/goods?columns=id,name,price,stock&select=id,stock",
        headers: &[("prefer", "return=representation, resolution=merge-duplicates, missing=default")],
        body: Some(r#"[{"id":3,"name":"plum","price":3.5},{"id":20,"name":"kiwi","price":4}]"#),
        status: 201,
        applied: Some(&["missing=default", "resolution=merge-duplicates", "return=representation"]),
        answer: Answer::Json(json!([{"id": 3, "stock": 0}, {"id": 20, "stock": 0}])),
        after: vec![(
            GOODS,
            goods_with(|g| {
                g[2]["price"] = json!(3.5);
                g.push(json!({"id": 20, "name": "kiwi", "price": 4, "stock": 0}));
            }),
        )],
        ..Case::default()
    }
    .run(&g)
    .await;
}

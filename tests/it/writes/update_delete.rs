//! PATCH and DELETE: the filtered rows, representations, singular writes and `max-affected`.

use reqwest::Method;
use serde_json::json;

use super::*;

#[tokio::test]
async fn patch_updates_the_filtered_rows() {
    let g = Gateway::start().await;
    Case {
        method: Method::PATCH,
        path: "/goods?id=in.(1,2)",
        body: Some(r#"{"stock":42}"#),
        after: vec![(
            GOODS,
            goods_with(|g| {
                g[0]["stock"] = json!(42);
                g[1]["stock"] = json!(42);
            }),
        )],
        ..Case::minimal(204, "0-1/*")
    }
    .run(&g)
    .await;
}

#[tokio::test]
async fn patch_with_representation_returns_the_updated_rows() {
    let g = Gateway::start().await;
    Case {
        method: Method::PATCH,
        path: "/goods?price=gte.2&select=id,name,stock",
        headers: &[("prefer", "return=representation")],
        body: Some(r#"{"stock":1}"#),
        status: 200,
        reply_headers: vec![("content-type", Some(JSON_UTF8)), ("content-range", Some("0-1/*"))],
        applied: Some(&["return=representation"]),
        answer: Answer::JsonById(json!([{"id": 2, "name": "pear", "stock": 1}, {"id": 3, "name": "plum", "stock": 1}])),
        after: vec![(
            GOODS,
            goods_with(|g| {
                g[1]["stock"] = json!(1);
                g[2]["stock"] = json!(1);
            }),
        )],
    }
    .run(&g)
    .await;
}

#[tokio::test]
async fn patch_with_empty_object_changes_nothing() {
    let g = Gateway::start().await;
    Case {
        method: Method::PATCH,
        path: "/goods?id=eq.1",
        body: Some("{}"),
        after: vec![(GOODS, initial_goods())],
        ..Case::minimal(204, "*/*")
    }
    .run(&g)
    .await;
}

#[tokio::test]
async fn patch_matching_nothing_is_204_with_star_range() {
    let g = Gateway::start().await;
    Case {
        method: Method::PATCH,
        path: "/goods?name=eq.durian",
        body: Some(r#"{"stock":1}"#),
        after: vec![(GOODS, initial_goods())],
        ..Case::minimal(204, "*/*")
    }
    .run(&g)
    .await;
}

#[tokio::test]
async fn delete_removes_the_filtered_rows() {
    let g = Gateway::start().await;
    Case {
        method: Method::DELETE,
        path: "/goods?id=in.(1,3)",
        after: vec![(GOODS, json!([{"id": 2, "name": "pear", "price": 2, "stock": 5}]))],
        ..Case::minimal(204, "*/*")
    }
    .run(&g)
    .await;
}

#[tokio::test]
async fn delete_with_representation_returns_the_deleted_rows() {
    let g = Gateway::start().await;
    Case {
        method: Method::DELETE,
        path: "/goods?stock=gt.0&select=id,name",
        headers: &[("prefer", "return=representation")],
        status: 200,
        reply_headers: vec![("content-type", Some(JSON_UTF8)), ("content-range", Some("*/*"))],
        applied: Some(&["return=representation"]),
        answer: Answer::JsonById(json!([{"id": 1, "name": "apple"}, {"id": 2, "name": "pear"}])),
        after: vec![(GOODS, json!([{"id": 3, "name": "plum", "price": 3, "stock": 0}]))],
        ..Case::default()
    }
    .run(&g)
    .await;
}

#[tokio::test]
async fn singular_patch_of_two_rows_is_406_and_rolled_back() {
    let g = Gateway::start().await;
    Case {
        method: Method::PATCH,
        path: "/goods?id=in.(1,2)",
        headers: &[("accept", "application/vnd.pgrst.object+json"), ("prefer", "return=representation")],
        body: Some(r#"{"stock":99}"#),
        ..Case::error(
            406,
            json!({
                "code": "PGRST116",
                "message": "Cannot coerce the result to a single JSON object",
                "details": "The result contains 2 rows",
                "hint": null
            }),
        )
    }
    .run(&g)
    .await;
}

#[tokio::test]
async fn singular_patch_of_one_row_returns_an_object() {
    let g = Gateway::start().await;
    Case {
        method: Method::PATCH,
        path: "/goods?id=eq.2&select=id,name,stock",
        headers: &[("accept", "application/vnd.pgrst.object+json"), ("prefer", "return=representation")],
        body: Some(r#"{"stock":99}"#),
        after: vec![(GOODS, goods_with(|g| g[1]["stock"] = json!(99)))],
        ..Case::json(200, OBJECT_UTF8, "0-0/*", json!({"id": 2, "name": "pear", "stock": 99}))
    }
    .run(&g)
    .await;
}

#[tokio::test]
async fn max_affected_strict_rejects_and_rolls_back() {
    let g = Gateway::start().await;
    let strict: &[(&str, &str)] = &[("prefer", "max-affected=1, handling=strict")];
    Case {
        method: Method::DELETE,
        path: "/goods?id=in.(1,2)",
        headers: strict,
        ..Case::error(
            400,
            json!({
                "code": "PGRST124",
                "message": "Query result exceeds max-affected preference constraint",
                "details": "The query affects 2 rows",
                "hint": null
            }),
        )
    }
    .run(&g)
    .await;

    // Within the limit it commits.
    Case {
        method: Method::DELETE,
        path: "/goods?id=eq.1",
        headers: strict,
        after: vec![("select id from api.goods order by id", json!([{"id": 2}, {"id": 3}]))],
        ..Case::minimal(204, "*/*")
    }
    .run(&g)
    .await;
}

#[tokio::test]
async fn max_affected_without_strict_is_ignored() {
    let g = Gateway::start().await;
    Case {
        method: Method::DELETE,
        path: "/goods?id=in.(1,2)",
        headers: &[("prefer", "max-affected=1")],
        after: vec![(GOODS, json!([{"id": 3, "name": "plum", "price": 3, "stock": 0}]))],
        ..Case::minimal(204, "*/*")
    }
    .run(&g)
    .await;
}

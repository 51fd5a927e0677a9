//! POST: one object, arrays, CSV and form bodies, `columns=`, `missing=default`, and what each
//! returning mode answers.

use reqwest::Method;
use serde_json::json;

use super::*;

#[tokio::test]
async fn smoke_insert_update_delete() {
    let g = Gateway::start().await;
    Case {
        path: "/goods?select=id,name",
        headers: &[("prefer", "return=representation")],
        body: Some(r#"{"name":"kiwi","price":4}"#),
        status: 201,
        answer: Answer::Json(json!([{"id": 4, "name": "kiwi"}])),
        ..Case::default()
    }
    .run(&g)
    .await;
    Case {
        method: Method::PATCH,
        path: "/goods?name=eq.kiwi",
        body: Some(r#"{"price":5}"#),
        status: 204,
        reply_headers: vec![("content-range", Some("0-0/*"))],
        ..Case::default()
    }
    .run(&g)
    .await;
    let r = Case {
        method: Method::DELETE,
        path: "/goods?name=eq.kiwi",
        headers: &[("prefer", "return=representation")],
        status: 200,
        ..Case::default()
    }
    .run(&g)
    .await;
    assert_eq!(r.json()[0]["price"], json!(5));
    // An insert-only table with return=minimal.
    Case { path: "/inbox", body: Some(r#"{"msg":"hello"}"#), status: 201, ..Case::default() }.run(&g).await;
}

#[tokio::test]
async fn post_one_object_is_201_with_empty_body() {
    let g = Gateway::start().await;
    let mut case = Case {
        body: Some(r#"{"name":"kiwi","price":4,"stock":7}"#),
        after: vec![(GOODS, goods_with(|g| g.push(json!({"id": 4, "name": "kiwi", "price": 4, "stock": 7}))))],
        ..Case::minimal(201, "*/*")
    };
    case.reply_headers.push(("preference-applied", None));
    case.run(&g).await;
}

#[tokio::test]
async fn post_array_inserts_every_row_and_shapes_the_representation() {
    let g = Gateway::start().await;
    Case {
        path: "/goods?select=id,name",
        headers: &[("prefer", "return=representation")],
        body: Some(r#"[{"name":"kiwi","price":4},{"name":"fig","price":5},{"name":"lime","price":0.5}]"#),
        applied: Some(&["return=representation"]),
        after: vec![(
            "select id, name, price, stock from api.goods where id > 3 order by id",
            json!([
                {"id": 4, "name": "kiwi", "price": 4, "stock": 0},
                {"id": 5, "name": "fig", "price": 5, "stock": 0},
                {"id": 6, "name": "lime", "price": 0.5, "stock": 0}
            ]),
        )],
        ..Case::json(
            201,
            JSON_UTF8,
            "*/*",
            json!([{"id": 4, "name": "kiwi"}, {"id": 5, "name": "fig"}, {"id": 6, "name": "lime"}]),
        )
    }
    .run(&g)
    .await;
}

#[tokio::test]
async fn post_representation_embeds_the_parent() {
    let g = Gateway::start().await;
    Case {
        path: "/films?select=title,directors(last_name)",
        headers: &[("prefer", "return=representation")],
        body: Some(r#"{"id":5,"title":"Marie Antoinette","year":2006,"director_id":1}"#),
        after: vec![(
            "select id, title, year, director_id from api.films where id = 5",
            json!([{"id": 5, "title": "Marie Antoinette", "year": 2006, "director_id": 1}]),
        )],
        ..Case::json(
            201,
            JSON_UTF8,
            "*/*",
            json!([{"title": "Marie Antoinette", "directors": {"last_name": "Coppola"}}]),
        )
    }
    .run(&g)
    .await;
}

#[tokio::test]
async fn post_headers_only_sets_location() {
    let g = Gateway::start().await;
    Case {
        headers: &[("prefer", "return=headers-only")],
        body: Some(r#"{"name":"kiwi","price":4}"#),
        status: 201,
        reply_headers: vec![("location", Some("/goods?id=eq.4")), ("content-range", Some("*/*"))],
        applied: Some(&["return=headers-only"]),
        answer: Answer::Empty,
        after: vec![("select id, name from api.goods where id = 4", json!([{"id": 4, "name": "kiwi"}]))],
        ..Case::default()
    }
    .run(&g)
    .await;
    // A two-column key: both in `Location`, in key order.
    Case {
        path: "/org_items",
        headers: &[("prefer", "return=headers-only")],
        body: Some(r#"{"org_id":1,"id":2,"label":"x"}"#),
        status: 201,
        reply_headers: vec![("location", Some("/org_items?org_id=eq.1&id=eq.2"))],
        answer: Answer::Empty,
        after: vec![("select org_id, id, label from api.org_items", json!([{"org_id": 1, "id": 2, "label": "x"}]))],
        ..Case::default()
    }
    .run(&g)
    .await;
}

#[tokio::test]
async fn post_csv_body_inserts_rows_with_nulls() {
    let g = Gateway::start().await;
    Case {
        path: "/goods?select=name,price,stock",
        headers: &[("content-type", "text/csv"), ("prefer", "return=representation")],
        body: Some("name,price,stock\nkiwi,4,7\nlime,NULL,1\n"),
        status: 201,
        reply_headers: vec![("content-type", Some(JSON_UTF8))],
        answer: Answer::Json(json!([
            {"name": "kiwi", "price": 4, "stock": 7},
            {"name": "lime", "price": null, "stock": 1}
        ])),
        after: vec![(
            "select id, name, price, stock from api.goods where id > 3 order by id",
            json!([
                {"id": 4, "name": "kiwi", "price": 4, "stock": 7},
                {"id": 5, "name": "lime", "price": null, "stock": 1}
            ]),
        )],
        ..Case::default()
    }
    .run(&g)
    .await;
}

#[tokio::test]
async fn post_form_body_inserts_a_row() {
    let g = Gateway::start().await;
    Case {
        headers: &[("content-type", "application/x-www-form-urlencoded")],
        body: Some("name=wild+fig&price=2.5"),
        after: vec![(
            "select id, name, price, stock from api.goods where id > 3",
            json!([{"id": 4, "name": "wild fig", "price": 2.5, "stock": 0}]),
        )],
        ..Case::minimal(201, "*/*")
    }
    .run(&g)
    .await;
}

#[tokio::test]
async fn columns_param_inserts_only_those_keys() {
    let g = Gateway::start().await;
    Case {
        path: "/goods?columns=name,price",
        body: Some(r#"[{"name":"kiwi","price":4,"stock":99,"bogus":1},{"name":"fig","price":5,"id":77}]"#),
        after: vec![(
            "select id, name, price, stock from api.goods where id > 3 order by id",
            json!([{"id": 4, "name": "kiwi", "price": 4, "stock": 0}, {"id": 5, "name": "fig", "price": 5, "stock": 0}]),
        )],
        ..Case::minimal(201, "*/*")
    }
    .run(&g)
    .await;
}

#[tokio::test]
async fn missing_default_fills_absent_keys_with_the_column_default() {
    let g = Gateway::start().await;
    let body = r#"[{"name":"kiwi","price":4,"stock":3},{"name":"fig","price":2}]"#;

    // Without missing=default the absent key is NULL, and stock is NOT NULL.
    let r = Case {
        path: "/goods?columns=name,price,stock",
        body: Some(body),
        status: 400,
        after: vec![(GOODS, initial_goods())],
        ..Case::default()
    }
    .run(&g)
    .await;
    assert_eq!(r.code(), "23502", "{}", r.body);
    assert_eq!(
        r.json()["message"],
        json!("null value in column \"stock\" of relation \"goods\" violates not-null constraint")
    );

    let rows_after = json!([{"name": "kiwi", "price": 4, "stock": 3}, {"name": "fig", "price": 2, "stock": 0}]);
    Case {
        path: "/goods?columns=name,price,stock&select=name,price,stock",
        headers: &[("prefer", "missing=default, return=representation")],
        body: Some(body),
        status: 201,
        reply_headers: vec![("content-type", Some(JSON_UTF8))],
        applied: Some(&["missing=default", "return=representation"]),
        answer: Answer::Json(rows_after.clone()),
        after: vec![("select name, price, stock from api.goods where id > 3 order by id", rows_after)],
        ..Case::default()
    }
    .run(&g)
    .await;
}

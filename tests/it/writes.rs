//! The write API: POST, PATCH, PUT, DELETE.

use reqwest::Method;
use serde_json::{json, Value};

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

// ---------------------------------------------------------------------------------------------
// Helpers

const JSON_UTF8: &str = "application/json; charset=utf-8";
const OBJECT_UTF8: &str = "application/vnd.pgrst.object+json; charset=utf-8";

/// The rows of `sql`, read as the superuser, as one JSON array (in the query's order).
async fn rows(g: &Gateway, sql: &str) -> Value {
    let db = g.db.admin().await;
    let q = format!("select coalesce(json_agg(t), '[]')::text from ({sql}) t");
    let row = db.query_one(q.as_str(), &[]).await.unwrap_or_else(|e| panic!("{q}: {e}"));
    serde_json::from_str(row.get::<_, &str>(0)).expect("json_agg")
}

/// api.goods without its `tz` column, by id.
async fn goods(g: &Gateway) -> Value {
    rows(g, "select id, name, price, stock from api.goods order by id").await
}

/// api.goods as loaded by the fixture.
fn initial_goods() -> Value {
    json!([
        {"id": 1, "name": "apple", "price": 1.5, "stock": 10},
        {"id": 2, "name": "pear", "price": 2, "stock": 5},
        {"id": 3, "name": "plum", "price": 3, "stock": 0}
    ])
}

/// The server's default TimeZone (no `Prefer: timezone`), from a fresh superuser session.
async fn default_timezone(g: &Gateway) -> String {
    let db = g.db.admin().await;
    db.query_one("select current_setting('TimeZone')", &[]).await.unwrap().get(0)
}

/// `Preference-Applied` as a sorted list (its order carries no meaning).
fn applied(r: &Reply) -> Vec<String> {
    let mut v: Vec<String> = r
        .header("preference-applied")
        .map(|h| h.split(',').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn sorted(prefs: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = prefs.iter().map(|p| p.to_string()).collect();
    v.sort();
    v
}

/// An error reply: status, JSON content type, and the whole PostgREST body.
fn assert_error(r: &Reply, status: u16, body: Value) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.header("content-type"), Some(JSON_UTF8), "{}", r.body);
    assert_eq!(r.json(), body);
}

/// A successful write with `return=minimal`: no body, no content type.
fn assert_minimal(r: &Reply, status: u16, range: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.body, "");
    assert_eq!(r.header("content-range"), Some(range));
    assert_eq!(r.header("content-type"), None);
    assert_eq!(r.header("location"), None);
}

// ---------------------------------------------------------------------------------------------
// POST

#[tokio::test]
async fn post_one_object_is_201_with_empty_body() {
    let g = Gateway::start().await;
    let r = g.send(Method::POST, "/goods", &[], r#"{"name":"kiwi","price":4,"stock":7}"#).await;
    assert_minimal(&r, 201, "*/*");
    assert_eq!(r.header("preference-applied"), None);
    let mut expected = initial_goods();
    expected.as_array_mut().unwrap().push(json!({"id": 4, "name": "kiwi", "price": 4, "stock": 7}));
    assert_eq!(goods(&g).await, expected);
}

#[tokio::test]
async fn post_array_inserts_every_row_and_shapes_the_representation() {
    let g = Gateway::start().await;
    let r = g
        .send(
            Method::POST,
            "/goods?select=id,name",
            &[("prefer", "return=representation")],
            r#"[{"name":"kiwi","price":4},{"name":"fig","price":5},{"name":"lime","price":0.5}]"#,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.header("content-type"), Some(JSON_UTF8));
    assert_eq!(r.header("content-range"), Some("*/*"));
    assert_eq!(applied(&r), sorted(&["return=representation"]));
    assert_eq!(r.json(), json!([{"id": 4, "name": "kiwi"}, {"id": 5, "name": "fig"}, {"id": 6, "name": "lime"}]));
    assert_eq!(
        rows(&g, "select id, name, price, stock from api.goods where id > 3 order by id").await,
        json!([
            {"id": 4, "name": "kiwi", "price": 4, "stock": 0},
            {"id": 5, "name": "fig", "price": 5, "stock": 0},
            {"id": 6, "name": "lime", "price": 0.5, "stock": 0}
        ])
    );
}

#[tokio::test]
async fn post_representation_embeds_the_parent() {
    let g = Gateway::start().await;
    let r = g
        .send(
            Method::POST,
            "/films?select=title,directors(last_name)",
            &[("prefer", "return=representation")],
            r#"{"id":5,"title":"Marie Antoinette","year":2006,"director_id":1}"#,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.header("content-type"), Some(JSON_UTF8));
    assert_eq!(r.header("content-range"), Some("*/*"));
    assert_eq!(r.json(), json!([{"title": "Marie Antoinette", "directors": {"last_name": "Coppola"}}]));
    assert_eq!(
        rows(&g, "select id, title, year, director_id from api.films where id = 5").await,
        json!([{"id": 5, "title": "Marie Antoinette", "year": 2006, "director_id": 1}])
    );
}

#[tokio::test]
async fn post_headers_only_sets_location() {
    let g = Gateway::start().await;
    let r = g.send(Method::POST, "/goods", &[("prefer", "return=headers-only")], r#"{"name":"kiwi","price":4}"#).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body, "");
    assert_eq!(r.header("location"), Some("/goods?id=eq.4"));
    assert_eq!(r.header("content-range"), Some("*/*"));
    assert_eq!(applied(&r), sorted(&["return=headers-only"]));
    assert_eq!(rows(&g, "select id, name from api.goods where id = 4").await, json!([{"id": 4, "name": "kiwi"}]));

    let r = g
        .send(Method::POST, "/org_items", &[("prefer", "return=headers-only")], r#"{"org_id":1,"id":2,"label":"x"}"#)
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body, "");
    assert_eq!(r.header("location"), Some("/org_items?org_id=eq.1&id=eq.2"));
    assert_eq!(
        rows(&g, "select org_id, id, label from api.org_items").await,
        json!([{"org_id": 1, "id": 2, "label": "x"}])
    );
}

#[tokio::test]
async fn post_csv_body_inserts_rows_with_nulls() {
    let g = Gateway::start().await;
    let r = g
        .send(
            Method::POST,
            "/goods?select=name,price,stock",
            &[("content-type", "text/csv"), ("prefer", "return=representation")],
            "name,price,stock\nkiwi,4,7\nlime,NULL,1\n",
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.header("content-type"), Some(JSON_UTF8));
    assert_eq!(
        r.json(),
        json!([{"name": "kiwi", "price": 4, "stock": 7}, {"name": "lime", "price": null, "stock": 1}])
    );
    assert_eq!(
        rows(&g, "select id, name, price, stock from api.goods where id > 3 order by id").await,
        json!([{"id": 4, "name": "kiwi", "price": 4, "stock": 7}, {"id": 5, "name": "lime", "price": null, "stock": 1}])
    );
}

#[tokio::test]
async fn post_form_body_inserts_a_row() {
    let g = Gateway::start().await;
    let r = g
        .send(
            Method::POST,
            "/goods",
            &[("content-type", "application/x-www-form-urlencoded")],
            "name=wild+fig&price=2.5",
        )
        .await;
    assert_minimal(&r, 201, "*/*");
    assert_eq!(
        rows(&g, "select id, name, price, stock from api.goods where id > 3").await,
        json!([{"id": 4, "name": "wild fig", "price": 2.5, "stock": 0}])
    );
}

#[tokio::test]
async fn columns_param_inserts_only_those_keys() {
    let g = Gateway::start().await;
    let r = g
        .send(
            Method::POST,
            "/goods?columns=name,price",
            &[],
            r#"[{"name":"kiwi","price":4,"stock":99,"bogus":1},{"name":"fig","price":5,"id":77}]"#,
        )
        .await;
    assert_minimal(&r, 201, "*/*");
    assert_eq!(
        rows(&g, "select id, name, price, stock from api.goods where id > 3 order by id").await,
        json!([{"id": 4, "name": "kiwi", "price": 4, "stock": 0}, {"id": 5, "name": "fig", "price": 5, "stock": 0}])
    );
}

#[tokio::test]
async fn columns_param_with_unknown_column_is_pgrst204() {
    let g = Gateway::start().await;
    let r = g.send(Method::POST, "/goods?columns=name,nope", &[], r#"{"name":"kiwi","nope":1}"#).await;
    assert_error(
        &r,
        400,
        json!({
            "code": "PGRST204",
            "message": "Could not find the 'nope' column of 'goods' in the schema cache",
            "details": null,
            "hint": null
        }),
    );
    assert_eq!(goods(&g).await, initial_goods());
}

#[tokio::test]
async fn unknown_body_key_is_pgrst204() {
    let g = Gateway::start().await;
    let r = g.send(Method::POST, "/goods", &[], r#"{"name":"kiwi","x":1}"#).await;
    assert_error(
        &r,
        400,
        json!({
            "code": "PGRST204",
            "message": "Could not find the 'x' column of 'goods' in the schema cache",
            "details": null,
            "hint": null
        }),
    );
    assert_eq!(goods(&g).await, initial_goods());
}

#[tokio::test]
async fn bulk_objects_with_different_keys_are_pgrst102() {
    let g = Gateway::start().await;
    let r = g.send(Method::POST, "/goods", &[], r#"[{"name":"kiwi","price":4},{"name":"fig"}]"#).await;
    // PostgREST: {"code":"PGRST102","details":null,"hint":null,"message":"All object keys must match"}
    assert_error(
        &r,
        400,
        json!({"code": "PGRST102", "message": "All object keys must match", "details": null, "hint": null}),
    );
    assert_eq!(goods(&g).await, initial_goods());
}

#[tokio::test]
async fn missing_default_fills_absent_keys_with_the_column_default() {
    let g = Gateway::start().await;
    let body = r#"[{"name":"kiwi","price":4,"stock":3},{"name":"fig","price":2}]"#;

    // Without missing=default the absent key is NULL, and stock is NOT NULL.
    let r = g.send(Method::POST, "/goods?columns=name,price,stock", &[], body).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.code(), "23502", "{}", r.body);
    assert_eq!(
        r.json()["message"],
        json!("null value in column \"stock\" of relation \"goods\" violates not-null constraint")
    );
    assert_eq!(goods(&g).await, initial_goods());

    let r = g
        .send(
            Method::POST,
            "/goods?columns=name,price,stock&select=name,price,stock",
            &[("prefer", "missing=default, return=representation")],
            body,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.header("content-type"), Some(JSON_UTF8));
    assert_eq!(applied(&r), sorted(&["missing=default", "return=representation"]));
    assert_eq!(r.json(), json!([{"name": "kiwi", "price": 4, "stock": 3}, {"name": "fig", "price": 2, "stock": 0}]));
    assert_eq!(
        rows(&g, "select name, price, stock from api.goods where id > 3 order by id").await,
        json!([{"name": "kiwi", "price": 4, "stock": 3}, {"name": "fig", "price": 2, "stock": 0}])
    );
}

// ---------------------------------------------------------------------------------------------
// Upsert

#[tokio::test]
async fn upsert_merge_on_existing_key_is_200_and_updates() {
    let g = Gateway::start().await;
    let r = g
        .send(
            Method::POST,
            "/goods",
            &[("prefer", "resolution=merge-duplicates")],
            r#"{"id":1,"name":"green apple","price":9,"stock":1}"#,
        )
        .await;
    assert_minimal(&r, 200, "*/*");
    assert_eq!(applied(&r), sorted(&["resolution=merge-duplicates"]));
    let mut expected = initial_goods();
    expected[0] = json!({"id": 1, "name": "green apple", "price": 9, "stock": 1});
    assert_eq!(goods(&g).await, expected);
}

#[tokio::test]
async fn upsert_merge_with_new_key_is_201_and_inserts() {
    let g = Gateway::start().await;
    let r = g
        .send(
            Method::POST,
            "/goods?select=id,name",
            &[("prefer", "resolution=merge-duplicates, return=representation")],
            r#"{"id":10,"name":"kiwi","price":4,"stock":2}"#,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json(), json!([{"id": 10, "name": "kiwi"}]));
    let mut expected = initial_goods();
    expected.as_array_mut().unwrap().push(json!({"id": 10, "name": "kiwi", "price": 4, "stock": 2}));
    assert_eq!(goods(&g).await, expected);
}

#[tokio::test]
async fn upsert_merge_mixed_new_and_existing_is_201() {
    let g = Gateway::start().await;
    let r = g
        .send(
            Method::POST,
            "/goods",
            &[("prefer", "resolution=merge-duplicates")],
            r#"[{"id":2,"name":"pear","price":8,"stock":8},{"id":10,"name":"kiwi","price":4,"stock":2}]"#,
        )
        .await;
    assert_minimal(&r, 201, "*/*");
    let mut expected = initial_goods();
    expected[1] = json!({"id": 2, "name": "pear", "price": 8, "stock": 8});
    expected.as_array_mut().unwrap().push(json!({"id": 10, "name": "kiwi", "price": 4, "stock": 2}));
    assert_eq!(goods(&g).await, expected);
}

#[tokio::test]
async fn upsert_ignore_duplicates_leaves_existing_row() {
    let g = Gateway::start().await;
    let r = g
        .send(
            Method::POST,
            "/goods",
            &[("prefer", "resolution=ignore-duplicates, return=representation")],
            r#"{"id":1,"name":"APPLE","price":100,"stock":0}"#,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.header("content-type"), Some(JSON_UTF8));
    assert_eq!(applied(&r), sorted(&["resolution=ignore-duplicates", "return=representation"]));
    assert_eq!(r.json(), json!([]));
    assert_eq!(goods(&g).await, initial_goods());
}

#[tokio::test]
async fn upsert_on_conflict_unique_column_merges_by_name() {
    let g = Gateway::start().await;
    let r = g
        .send(
            Method::POST,
            "/goods?on_conflict=name&select=id,name,price,stock",
            &[("prefer", "resolution=merge-duplicates, return=representation")],
            r#"{"name":"pear","price":7}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json(), json!([{"id": 2, "name": "pear", "price": 7, "stock": 5}]));
    let mut expected = initial_goods();
    expected[1] = json!({"id": 2, "name": "pear", "price": 7, "stock": 5});
    assert_eq!(goods(&g).await, expected);
}

// ---------------------------------------------------------------------------------------------
// PUT

const FULL_ROW_1: &str = r#"{"id":1,"name":"crab apple","price":3,"stock":4,"tz":"UTC"}"#;

#[tokio::test]
async fn put_existing_row_replaces_it() {
    let g = Gateway::start().await;
    let r = g.send(Method::PUT, "/goods?id=eq.1", &[], FULL_ROW_1).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(r.body, "");
    assert_eq!(r.header("content-type"), None);
    let mut expected = initial_goods();
    expected[0] = json!({"id": 1, "name": "crab apple", "price": 3, "stock": 4});
    assert_eq!(goods(&g).await, expected);
    assert_eq!(rows(&g, "select tz from api.goods where id = 1").await, json!([{"tz": "UTC"}]));
}

#[tokio::test]
async fn put_existing_row_with_representation_is_200() {
    let g = Gateway::start().await;
    let r = g.send(Method::PUT, "/goods?id=eq.1", &[("prefer", "return=representation")], FULL_ROW_1).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some(JSON_UTF8));
    assert_eq!(applied(&r), sorted(&["return=representation"]));
    assert_eq!(r.json(), json!([{"id": 1, "name": "crab apple", "price": 3, "stock": 4, "tz": "UTC"}]));
    let mut expected = initial_goods();
    expected[0] = json!({"id": 1, "name": "crab apple", "price": 3, "stock": 4});
    assert_eq!(goods(&g).await, expected);
}

#[tokio::test]
async fn put_new_row_is_201() {
    let g = Gateway::start().await;
    let r = g
        .send(
            Method::PUT,
            "/goods?id=eq.42&select=id,name",
            &[("prefer", "return=representation")],
            r#"{"id":42,"name":"kiwi","price":4,"stock":1,"tz":"UTC"}"#,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.header("content-type"), Some(JSON_UTF8));
    assert_eq!(r.json(), json!([{"id": 42, "name": "kiwi"}]));
    let mut expected = initial_goods();
    expected.as_array_mut().unwrap().push(json!({"id": 42, "name": "kiwi", "price": 4, "stock": 1}));
    assert_eq!(goods(&g).await, expected);
}

#[tokio::test]
async fn put_without_the_key_filter_is_pgrst105() {
    let g = Gateway::start().await;
    let r = g.send(Method::PUT, "/goods?name=eq.apple", &[], FULL_ROW_1).await;
    assert_error(
        &r,
        405,
        json!({
            "code": "PGRST105",
            "message": "Filters must include all and only primary key columns with 'eq' operators",
            "details": null,
            "hint": null
        }),
    );
    let r = g.send(Method::PUT, "/goods", &[], FULL_ROW_1).await;
    assert_eq!(r.status, 405, "{}", r.body);
    assert_eq!(r.code(), "PGRST105");
    assert_eq!(goods(&g).await, initial_goods());
}

#[tokio::test]
async fn put_with_limit_is_pgrst114() {
    let g = Gateway::start().await;
    let r = g.send(Method::PUT, "/goods?id=eq.1&limit=1", &[], FULL_ROW_1).await;
    assert_error(
        &r,
        400,
        json!({
            "code": "PGRST114",
            "message": "limit/offset querystring parameters are not allowed for PUT",
            "details": null,
            "hint": null
        }),
    );
    assert_eq!(goods(&g).await, initial_goods());
}

#[tokio::test]
async fn put_with_body_key_different_from_url_is_pgrst115() {
    let g = Gateway::start().await;
    let r = g.send(Method::PUT, "/goods?id=eq.2", &[], FULL_ROW_1).await;
    assert_error(
        &r,
        400,
        json!({
            "code": "PGRST115",
            "message": "Payload values do not match URL in primary key column(s)",
            "details": null,
            "hint": null
        }),
    );
    assert_eq!(goods(&g).await, initial_goods());
}

// ---------------------------------------------------------------------------------------------
// PATCH

#[tokio::test]
async fn patch_updates_the_filtered_rows() {
    let g = Gateway::start().await;
    let r = g.send(Method::PATCH, "/goods?id=in.(1,2)", &[], r#"{"stock":42}"#).await;
    assert_minimal(&r, 204, "0-1/*");
    let mut expected = initial_goods();
    expected[0]["stock"] = json!(42);
    expected[1]["stock"] = json!(42);
    assert_eq!(goods(&g).await, expected);
}

#[tokio::test]
async fn patch_with_representation_returns_the_updated_rows() {
    let g = Gateway::start().await;
    let r = g
        .send(
            Method::PATCH,
            "/goods?price=gte.2&select=id,name,stock",
            &[("prefer", "return=representation")],
            r#"{"stock":1}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some(JSON_UTF8));
    assert_eq!(r.header("content-range"), Some("0-1/*"));
    assert_eq!(applied(&r), sorted(&["return=representation"]));
    let mut body = r.json();
    body.as_array_mut().unwrap().sort_by_key(|v| v["id"].as_i64());
    assert_eq!(body, json!([{"id": 2, "name": "pear", "stock": 1}, {"id": 3, "name": "plum", "stock": 1}]));
    let mut expected = initial_goods();
    expected[1]["stock"] = json!(1);
    expected[2]["stock"] = json!(1);
    assert_eq!(goods(&g).await, expected);
}

#[tokio::test]
async fn patch_with_empty_object_changes_nothing() {
    let g = Gateway::start().await;
    let r = g.send(Method::PATCH, "/goods?id=eq.1", &[], "{}").await;
    assert_minimal(&r, 204, "*/*");
    assert_eq!(goods(&g).await, initial_goods());
}

#[tokio::test]
async fn patch_matching_nothing_is_204_with_star_range() {
    let g = Gateway::start().await;
    let r = g.send(Method::PATCH, "/goods?name=eq.durian", &[], r#"{"stock":1}"#).await;
    assert_minimal(&r, 204, "*/*");
    assert_eq!(goods(&g).await, initial_goods());
}

// ---------------------------------------------------------------------------------------------
// DELETE

#[tokio::test]
async fn delete_removes_the_filtered_rows() {
    let g = Gateway::start().await;
    let r = g.request(Method::DELETE, "/goods?id=in.(1,3)", &[]).await;
    assert_minimal(&r, 204, "0-1/*");
    assert_eq!(goods(&g).await, json!([{"id": 2, "name": "pear", "price": 2, "stock": 5}]));
}

#[tokio::test]
async fn delete_with_representation_returns_the_deleted_rows() {
    let g = Gateway::start().await;
    let r = g.request(Method::DELETE, "/goods?stock=gt.0&select=id,name", &[("prefer", "return=representation")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some(JSON_UTF8));
    assert_eq!(r.header("content-range"), Some("0-1/*"));
    assert_eq!(applied(&r), sorted(&["return=representation"]));
    let mut body = r.json();
    body.as_array_mut().unwrap().sort_by_key(|v| v["id"].as_i64());
    assert_eq!(body, json!([{"id": 1, "name": "apple"}, {"id": 2, "name": "pear"}]));
    assert_eq!(goods(&g).await, json!([{"id": 3, "name": "plum", "price": 3, "stock": 0}]));
}

// ---------------------------------------------------------------------------------------------
// Singular writes and max-affected

#[tokio::test]
async fn singular_patch_of_two_rows_is_406_and_rolled_back() {
    let g = Gateway::start().await;
    let r = g
        .send(
            Method::PATCH,
            "/goods?id=in.(1,2)",
            &[("accept", "application/vnd.pgrst.object+json"), ("prefer", "return=representation")],
            r#"{"stock":99}"#,
        )
        .await;
    assert_error(
        &r,
        406,
        json!({
            "code": "PGRST116",
            "message": "Cannot coerce the result to a single JSON object",
            "details": "The result contains 2 rows",
            "hint": null
        }),
    );
    assert_eq!(goods(&g).await, initial_goods());
}

#[tokio::test]
async fn singular_patch_of_one_row_returns_an_object() {
    let g = Gateway::start().await;
    let r = g
        .send(
            Method::PATCH,
            "/goods?id=eq.2&select=id,name,stock",
            &[("accept", "application/vnd.pgrst.object+json"), ("prefer", "return=representation")],
            r#"{"stock":99}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some(OBJECT_UTF8));
    assert_eq!(r.header("content-range"), Some("0-0/*"));
    assert_eq!(r.json(), json!({"id": 2, "name": "pear", "stock": 99}));
    let mut expected = initial_goods();
    expected[1]["stock"] = json!(99);
    assert_eq!(goods(&g).await, expected);
}

#[tokio::test]
async fn max_affected_strict_rejects_and_rolls_back() {
    let g = Gateway::start().await;
    let r = g.request(Method::DELETE, "/goods?id=in.(1,2)", &[("prefer", "max-affected=1, handling=strict")]).await;
    assert_error(
        &r,
        400,
        json!({
            "code": "PGRST124",
            "message": "Query result exceeds max-affected preference constraint",
            "details": "The query affects 2 rows",
            "hint": null
        }),
    );
    assert_eq!(goods(&g).await, initial_goods());

    // Within the limit it commits.
    let r = g.request(Method::DELETE, "/goods?id=eq.1", &[("prefer", "max-affected=1, handling=strict")]).await;
    assert_minimal(&r, 204, "0-0/*");
    assert_eq!(rows(&g, "select id from api.goods order by id").await, json!([{"id": 2}, {"id": 3}]));
}

#[tokio::test]
async fn max_affected_without_strict_is_ignored() {
    let g = Gateway::start().await;
    let r = g.request(Method::DELETE, "/goods?id=in.(1,2)", &[("prefer", "max-affected=1")]).await;
    assert_minimal(&r, 204, "0-1/*");
    assert_eq!(goods(&g).await, json!([{"id": 3, "name": "plum", "price": 3, "stock": 0}]));
}

// ---------------------------------------------------------------------------------------------
// Transaction end

#[tokio::test]
async fn tx_rollback_is_honoured_with_allow_override() {
    let g = Gateway::start_with(|a| a.db_tx_end = Some("commit-allow-override".into())).await;
    let r = g
        .send(
            Method::POST,
            "/goods?select=id,name",
            &[("prefer", "tx=rollback, return=representation")],
            r#"{"name":"kiwi","price":4}"#,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json(), json!([{"id": 4, "name": "kiwi"}]));
    assert_eq!(applied(&r), sorted(&["return=representation", "tx=rollback"]));
    assert_eq!(goods(&g).await, initial_goods());

    // Without the preference the same gateway commits.
    let r = g.send(Method::POST, "/goods", &[], r#"{"name":"fig","price":4}"#).await;
    assert_minimal(&r, 201, "*/*");
    assert_eq!(r.header("preference-applied"), None);
    assert_eq!(rows(&g, "select name from api.goods where id > 3").await, json!([{"name": "fig"}]));
}

#[tokio::test]
async fn tx_rollback_is_ignored_by_default() {
    let g = Gateway::start().await;
    let r = g.send(Method::POST, "/goods", &[("prefer", "tx=rollback")], r#"{"name":"kiwi","price":4}"#).await;
    assert_minimal(&r, 201, "*/*");
    assert_eq!(r.header("preference-applied"), None);
    assert_eq!(rows(&g, "select id, name from api.goods where id > 3").await, json!([{"id": 4, "name": "kiwi"}]));
}

#[tokio::test]
async fn tx_end_rollback_rolls_back_every_write() {
    let g = Gateway::start_with(|a| a.db_tx_end = Some("rollback".into())).await;
    let r = g
        .send(
            Method::POST,
            "/goods?select=name",
            &[("prefer", "return=representation")],
            r#"{"name":"kiwi","price":4}"#,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json(), json!([{"name": "kiwi"}]));
    let r = g.send(Method::PATCH, "/goods?id=eq.1", &[], r#"{"stock":0}"#).await;
    assert_minimal(&r, 204, "0-0/*");
    let r = g.request(Method::DELETE, "/goods?id=eq.2", &[("prefer", "tx=commit")]).await;
    assert_minimal(&r, 204, "0-0/*");
    assert_eq!(r.header("preference-applied"), None);
    assert_eq!(goods(&g).await, initial_goods());
}

// ---------------------------------------------------------------------------------------------
// Timezone and Preference-Applied

#[tokio::test]
async fn timezone_preference_applies_to_defaults() {
    let g = Gateway::start().await;
    let r = g
        .send(
            Method::POST,
            "/goods?select=name,tz",
            &[("prefer", "return=representation, timezone=America/Lima")],
            r#"{"name":"kiwi","price":4}"#,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json(), json!([{"name": "kiwi", "tz": "America/Lima"}]));
    assert_eq!(applied(&r), sorted(&["return=representation", "timezone=America/Lima"]));
    assert_eq!(rows(&g, "select tz from api.goods where name = 'kiwi'").await, json!([{"tz": "America/Lima"}]));
}

/// PostgREST ignores a timezone not in pg_timezone_names: the default zone, no Preference-Applied.
#[tokio::test]
async fn invalid_timezone_is_ignored_when_lenient() {
    let g = Gateway::start().await;
    let default_tz = default_timezone(&g).await;
    let r = g
        .send(
            Method::POST,
            "/goods?select=name,tz",
            &[("prefer", "return=representation, timezone=Mars/Olympus")],
            r#"{"name":"kiwi","price":4}"#,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.header("content-type"), Some(JSON_UTF8));
    assert_eq!(r.json(), json!([{"name": "kiwi", "tz": default_tz}]));
    assert_eq!(applied(&r), sorted(&["return=representation"]));
    assert_eq!(
        rows(&g, "select name, tz from api.goods where id > 3").await,
        json!([{"name": "kiwi", "tz": default_tz}])
    );
}

/// With `handling=strict` an invalid timezone is PGRST122 and nothing is written.
#[tokio::test]
async fn invalid_timezone_with_strict_handling_is_400() {
    let g = Gateway::start().await;
    let r = g
        .send(
            Method::POST,
            "/goods",
            &[("prefer", "handling=strict, timezone=Mars/Olympus")],
            r#"{"name":"fig","price":4}"#,
        )
        .await;
    assert_error(
        &r,
        400,
        json!({
            "code": "PGRST122",
            "message": "Invalid preferences given with handling=strict",
            "details": "Invalid preferences: timezone=Mars/Olympus",
            "hint": null
        }),
    );
    assert_eq!(goods(&g).await, initial_goods());
}

#[tokio::test]
async fn preference_applied_echoes_write_preferences() {
    let g = Gateway::start().await;
    let r = g
        .send(
            Method::POST,
            "/goods?columns=id,name,price,stock&select=id,stock",
            &[("prefer", "return=representation, resolution=merge-duplicates, missing=default")],
            r#"[{"id":3,"name":"plum","price":3.5},{"id":20,"name":"kiwi","price":4}]"#,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(applied(&r), sorted(&["missing=default", "resolution=merge-duplicates", "return=representation"]));
    assert_eq!(r.json(), json!([{"id": 3, "stock": 0}, {"id": 20, "stock": 0}]));
    let mut expected = initial_goods();
    expected[2]["price"] = json!(3.5);
    expected.as_array_mut().unwrap().push(json!({"id": 20, "name": "kiwi", "price": 4, "stock": 0}));
    assert_eq!(goods(&g).await, expected);
}

// ---------------------------------------------------------------------------------------------
// Data safety

#[tokio::test]
async fn bulk_insert_with_a_duplicate_inserts_nothing() {
    let g = Gateway::start().await;
    let before = rows(&g, "select * from api.goods order by id").await;
    let r = g
        .send(
            Method::POST,
            "/goods",
            &[],
            r#"[{"name":"a1","price":1},{"name":"a2","price":1},{"name":"apple","price":1},
                {"name":"a4","price":1},{"name":"a5","price":1}]"#,
        )
        .await;
    assert_error(
        &r,
        409,
        json!({
            "code": "23505",
            "message": "duplicate key value violates unique constraint \"goods_name_key\"",
            "details": "Key (name)=(apple) already exists.",
            "hint": null
        }),
    );
    assert_eq!(rows(&g, "select * from api.goods order by id").await, before);
}

#[tokio::test]
async fn invalid_json_is_pgrst102() {
    let g = Gateway::start().await;
    let r = g.send(Method::POST, "/goods", &[], r#"{"name":"kiwi","#).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.header("content-type"), Some(JSON_UTF8));
    let body = r.json();
    assert_eq!(body["code"], json!("PGRST102"));
    assert_eq!(body["message"], json!("Empty or invalid json"));
    assert_eq!(body["hint"], json!(null));
    assert_eq!(goods(&g).await, initial_goods());
}

#[tokio::test]
async fn empty_post_body_is_pgrst102() {
    let g = Gateway::start().await;
    let r = g.send(Method::POST, "/goods", &[], "").await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.header("content-type"), Some(JSON_UTF8));
    let body = r.json();
    assert_eq!(body["code"], json!("PGRST102"));
    assert_eq!(body["message"], json!("Empty or invalid json"));
    assert_eq!(body["hint"], json!(null));
    assert_eq!(goods(&g).await, initial_goods());
}

#[tokio::test]
async fn wrong_type_is_22p02() {
    let g = Gateway::start().await;
    let r = g.send(Method::POST, "/goods", &[], r#"{"name":"x","price":"abc"}"#).await;
    assert_error(
        &r,
        400,
        json!({
            "code": "22P02",
            "message": "invalid input syntax for type numeric: \"abc\"",
            "details": null,
            "hint": null
        }),
    );
    assert_eq!(goods(&g).await, initial_goods());
}

#[tokio::test]
async fn check_violation_is_23514() {
    let g = Gateway::start().await;
    let r = g.send(Method::POST, "/goods?columns=name,price,tz", &[], r#"{"name":"neg","price":-1,"tz":"X"}"#).await;
    assert_error(
        &r,
        400,
        json!({
            "code": "23514",
            "message": "new row for relation \"goods\" violates check constraint \"goods_price_check\"",
            "details": "Failing row contains (4, neg, -1, 0, X).",
            "hint": null
        }),
    );
    let r = g.send(Method::PATCH, "/goods?id=eq.1", &[], r#"{"price":-5}"#).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.code(), "23514", "{}", r.body);
    assert_eq!(goods(&g).await, initial_goods());
}

#[tokio::test]
async fn patch_with_an_array_body_is_pgrst102() {
    let g = Gateway::start().await;
    let r = g.send(Method::PATCH, "/goods?id=eq.1", &[], r#"[{"stock":1}]"#).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.header("content-type"), Some(JSON_UTF8));
    assert_eq!(r.code(), "PGRST102", "{}", r.body);
    assert_eq!(r.json()["hint"], json!(null));
    assert_eq!(goods(&g).await, initial_goods());
}

// ---------------------------------------------------------------------------------------------
// Privileges and row-level security

#[tokio::test]
async fn rls_with_check_rejects_other_tenants_rows() {
    let g = Gateway::start().await;
    let auth = bearer(json!({"role": "authenticated", "tenant": "a"}));
    let h = [("authorization", auth.as_str())];
    let before = rows(&g, "select id, tenant, title from api.tenant_docs order by id").await;
    assert_eq!(before, json!([{"id": 1, "tenant": "a", "title": "a doc"}, {"id": 2, "tenant": "b", "title": "b doc"}]));

    let r = g.send(Method::POST, "/tenant_docs", &h, r#"{"tenant":"b","title":"sneaky"}"#).await;
    assert_error(
        &r,
        403,
        json!({
            "code": "42501",
            "message": "new row violates row-level security policy for table \"tenant_docs\"",
            "details": null,
            "hint": null
        }),
    );
    assert_eq!(rows(&g, "select id, tenant, title from api.tenant_docs order by id").await, before);

    let r = g.send(Method::POST, "/tenant_docs", &h, r#"{"tenant":"a","title":"mine"}"#).await;
    assert_minimal(&r, 201, "*/*");
    assert_eq!(
        rows(&g, "select tenant, title from api.tenant_docs where title = 'mine'").await,
        json!([{"tenant": "a", "title": "mine"}])
    );
}

#[tokio::test]
async fn rls_hides_other_tenants_rows_from_patch_and_delete() {
    let g = Gateway::start().await;
    let auth = bearer(json!({"role": "authenticated", "tenant": "a"}));
    let h = [("authorization", auth.as_str())];

    let r = g.send(Method::PATCH, "/tenant_docs?tenant=eq.b", &h, r#"{"title":"hacked"}"#).await;
    assert_minimal(&r, 204, "*/*");
    let r = g.request(Method::DELETE, "/tenant_docs?id=eq.2", &h).await;
    assert_minimal(&r, 204, "*/*");
    assert_eq!(
        rows(&g, "select id, tenant, title from api.tenant_docs where tenant = 'b'").await,
        json!([{"id": 2, "tenant": "b", "title": "b doc"}])
    );

    // Its own rows it can change.
    let r = g.send(Method::PATCH, "/tenant_docs", &h, r#"{"title":"edited"}"#).await;
    assert_minimal(&r, 204, "0-0/*");
    assert_eq!(
        rows(&g, "select id, tenant, title from api.tenant_docs order by id").await,
        json!([{"id": 1, "tenant": "a", "title": "edited"}, {"id": 2, "tenant": "b", "title": "b doc"}])
    );
}

#[tokio::test]
async fn insert_only_role_needs_select_for_representation() {
    let g = Gateway::start().await;
    let r = g.send(Method::POST, "/inbox", &[], r#"{"msg":"hello"}"#).await;
    assert_minimal(&r, 201, "*/*");
    assert_eq!(rows(&g, "select id, msg from api.inbox").await, json!([{"id": 1, "msg": "hello"}]));

    let r = g.send(Method::POST, "/inbox", &[("prefer", "return=representation")], r#"{"msg":"peek"}"#).await;
    assert_error(
        &r,
        401,
        json!({"code": "42501", "message": "permission denied for table inbox", "details": null, "hint": null}),
    );
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    assert_eq!(rows(&g, "select id, msg from api.inbox").await, json!([{"id": 1, "msg": "hello"}]));
}

// ---------------------------------------------------------------------------------------------
// Request limits and media types

#[tokio::test]
async fn oversized_body_is_413() {
    let g = Gateway::start_with(|a| a.max_body_bytes = Some("100".into())).await;
    let body = json!({"name": "x".repeat(1024), "price": 1}).to_string();
    let r = g.send(Method::POST, "/goods", &[], &body).await;
    assert_error(
        &r,
        413,
        json!({
            "code": "PGRST413",
            "message": "Request body larger than 100 bytes (ROWGATE_MAX_BODY_BYTES)",
            "details": null,
            "hint": null
        }),
    );
    assert_eq!(goods(&g).await, initial_goods());

    // A body under the limit still goes through.
    let r = g.send(Method::POST, "/goods", &[], r#"{"name":"kiwi","price":4}"#).await;
    assert_minimal(&r, 201, "*/*");
    assert_eq!(rows(&g, "select name from api.goods where id > 3").await, json!([{"name": "kiwi"}]));
}

#[tokio::test]
async fn unsupported_content_type_is_415() {
    let g = Gateway::start().await;
    let r = g.send(Method::POST, "/goods", &[("content-type", "image/png")], "\u{89}PNG").await;
    assert_eq!(r.status, 415, "{}", r.body);
    assert_eq!(r.header("content-type"), Some(JSON_UTF8));
    let body = r.json();
    assert_eq!(body["code"], json!("PGRST107"), "{}", r.body);
    assert!(body["message"].as_str().unwrap_or_default().contains("image/png"), "{}", r.body);
    assert_eq!(body["hint"], json!(null));
    assert_eq!(goods(&g).await, initial_goods());
}

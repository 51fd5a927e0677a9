//! Error responses: SQL errors raised through the pre-request hook, statement timeouts,
//! response GUCs, request-stage errors. The body is always `{code, message, details, hint}`.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::*;

const JSON_UTF8: &str = "application/json; charset=utf-8";

/// Checks the error body shape (exactly the four keys) and content type; returns the body.
fn error_body(r: &Reply, status: u16, code: &str) -> Value {
    assert_eq!(r.status, status, "{}", r.body);
    let body = r.json();
    let obj = body.as_object().unwrap_or_else(|| panic!("error body is not an object: {}", r.body));
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["code", "details", "hint", "message"], "{}", r.body);
    assert_eq!(body["code"], code, "{}", r.body);
    assert!(body["message"].is_string(), "{}", r.body);
    assert_eq!(r.header("content-type"), Some(JSON_UTF8), "{:?}", r.headers);
    body
}

async fn hook_gateway() -> Gateway {
    Gateway::start_with(|a| a.db_pre_request = Some("api.pre_request".into())).await
}

async fn raise(g: &Gateway, what: &str) -> Reply {
    g.get_with("/items?select=id", &[("x-raise", what)]).await
}

// ---------------------------------------------------------------- pre-request hook

#[tokio::test]
async fn pre_request_without_raise_passes() {
    let g = hook_gateway().await;
    let r = g.get("/items?select=id&order=id").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.ids(), vec![1, 2, 3, 4, 5]);
}

#[tokio::test]
async fn pre_request_pt_sqlstate_sets_status() {
    let g = hook_gateway().await;
    let r = raise(&g, "pt402").await;
    let body = error_body(&r, 402, "PT402");
    assert_eq!(body["message"], "Payment Required");
}

#[tokio::test]
async fn pre_request_p0001_is_400_with_detail_and_hint() {
    let g = hook_gateway().await;
    let r = raise(&g, "p0001").await;
    let body = error_body(&r, 400, "P0001");
    assert_eq!(
        body,
        json!({"code": "P0001", "message": "custom failure", "details": "some detail", "hint": "some hint"})
    );
}

#[tokio::test]
async fn pre_request_pgrst_custom_error() {
    let g = hook_gateway().await;
    let r = raise(&g, "pgrst").await;
    let body = error_body(&r, 409, "123");
    assert_eq!(body, json!({"code": "123", "message": "Custom", "details": "d", "hint": "h"}));
    assert_eq!(r.header("x-why"), Some("because"));
}

#[tokio::test]
async fn pre_request_pgrst_unparseable_is_pgrst121() {
    let g = hook_gateway().await;
    let r = raise(&g, "pgrst-bad").await;
    let body = error_body(&r, 500, "PGRST121");
    assert_eq!(body["message"], "Could not parse JSON in the \"RAISE SQLSTATE 'PGRST'\" error");
}

#[tokio::test]
async fn pre_request_unique_violation_is_409() {
    let g = hook_gateway().await;
    let r = raise(&g, "unique").await;
    let body = error_body(&r, 409, "23505");
    assert_eq!(body["message"], "duplicate key");
}

#[tokio::test]
async fn read_only_transaction_is_enforced() {
    let g = hook_gateway().await;
    let r = raise(&g, "readonly").await;
    let body = error_body(&r, 405, "25006");
    assert_eq!(body["message"], "cannot execute CREATE TABLE in a read-only transaction");
}

#[tokio::test]
async fn errors_do_not_poison_the_connection() {
    // Pool of one: every request reuses the connection whose transaction just failed.
    let g = Gateway::start_with(|a| {
        a.db_pre_request = Some("api.pre_request".into());
        a.db_pool = Some("1".into());
    })
    .await;
    for what in ["pt402", "p0001", "pgrst", "pgrst-bad", "unique", "readonly"] {
        let r = raise(&g, what).await;
        assert!(r.status >= 400, "{what}: {}", r.body);
        let ok = g.get("/items?select=id&id=eq.2").await;
        assert_eq!(ok.status, 200, "after {what}: {}", ok.body);
        assert_eq!(ok.ids(), vec![2], "after {what}");
    }
    // No temp table survived the failed read-only transaction.
    let admin = g.db.admin().await;
    let n: i64 =
        admin.query_one("select count(*) from pg_class where relname = 'should_fail'", &[]).await.unwrap().get(0);
    assert_eq!(n, 0);
}

// ---------------------------------------------------------------- statement timeout

#[tokio::test]
async fn statement_timeout_cancels_and_connection_is_reused() {
    let g = Gateway::start_with(|a| {
        a.statement_timeout = Some("300ms".into());
        a.db_pool = Some("1".into());
    })
    .await;
    let started = Instant::now();
    let r = g.get("/sleepy").await;
    let took = started.elapsed();
    let body = error_body(&r, 500, "57014");
    assert_eq!(body["message"], "canceling statement due to statement timeout");
    assert!(took < Duration::from_secs(2), "took {took:?}");

    // The same (only) connection serves the next request, with the timeout still in force.
    let r = g.get("/whoami?select=role,statement_timeout").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json(), json!([{"role": "anon", "statement_timeout": "300ms"}]));
    let r = g.get("/items?select=id&order=id").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.ids(), vec![1, 2, 3, 4, 5]);

    // And again: the timeout is reliable, not a one-off.
    let started = Instant::now();
    let r = g.get("/sleepy").await;
    error_body(&r, 500, "57014");
    assert!(started.elapsed() < Duration::from_secs(2));
}

// ---------------------------------------------------------------- response GUCs

#[tokio::test]
async fn response_headers_guc() {
    let g = Gateway::start().await;
    let r = g.get("/with_headers").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("x-custom"), Some("yes"));
    let cookies: Vec<&str> = r.headers.get_all("set-cookie").iter().map(|v| v.to_str().unwrap()).collect();
    assert_eq!(cookies, ["a=1", "b=2"]);
    assert_eq!(r.json(), json!([{"id": 1, "ok": true}]));
}

#[tokio::test]
async fn response_status_guc() {
    let g = Gateway::start().await;
    let r = g.get("/with_status").await;
    assert_eq!(r.status, 418, "{}", r.body);
    assert_eq!(r.json(), json!([{"id": 1, "ok": true}]));
}

#[tokio::test]
async fn invalid_response_headers_guc_is_pgrst111() {
    let g = Gateway::start().await;
    let r = g.get("/with_bad_headers").await;
    let body = error_body(&r, 500, "PGRST111");
    assert_eq!(
        body["message"],
        "response.headers guc must be a JSON array composed of objects with a single key and a string value"
    );
}

// ---------------------------------------------------------------- request errors

#[tokio::test]
async fn unsupported_method_is_pgrst117() {
    let g = Gateway::start().await;
    let method = reqwest::Method::from_bytes(b"TRACE").unwrap();
    let r = g.request(method, "/items", &[]).await;
    let body = error_body(&r, 405, "PGRST117");
    assert_eq!(body["message"], "Unsupported HTTP method: TRACE");
    let method = reqwest::Method::from_bytes(b"FROB").unwrap();
    let r = g.request(method, "/items", &[]).await;
    error_body(&r, 405, "PGRST117");
}

#[tokio::test]
async fn strict_preferences_reject_unknown() {
    let g = Gateway::start().await;
    let r = g.get_with("/items?select=id", &[("Prefer", "handling=strict, foo=bar")]).await;
    let body = error_body(&r, 400, "PGRST122");
    assert_eq!(body["message"], "Invalid preferences given with handling=strict");
    assert!(body["details"].as_str().unwrap_or_default().contains("foo=bar"), "{}", r.body);
}

#[tokio::test]
async fn lenient_preferences_ignore_unknown() {
    let g = Gateway::start().await;
    let r = g.get_with("/items?select=id&order=id", &[("Prefer", "handling=lenient, foo=bar, count=exact")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.ids(), vec![1, 2, 3, 4, 5]);
    assert_eq!(r.header("content-range"), Some("0-4/5"));
    let applied = r.header("preference-applied").unwrap_or_default();
    assert!(!applied.contains("foo"), "{applied}");
    // Unknown preferences without any handling are ignored too.
    let r = g.get_with("/items?select=id", &[("Prefer", "foo=bar")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn unknown_column_is_42703() {
    let g = Gateway::start().await;
    let r = g.get("/items?select=id,nope").await;
    let body = error_body(&r, 400, "42703");
    assert!(body["message"].as_str().unwrap().contains("nope"), "{}", r.body);
    let r = g.get("/items?nope=eq.1").await;
    error_body(&r, 400, "42703");
    let r = g.get("/items?order=nope").await;
    error_body(&r, 400, "42703");
}

#[tokio::test]
async fn filter_on_unselected_embed_is_pgrst108() {
    let g = Gateway::start().await;
    let r = g.get("/items?select=id&actors.name=eq.x").await;
    let body = error_body(&r, 400, "PGRST108");
    assert_eq!(body["hint"], "Verify that the resource is included in the 'select' query parameter.");
}

#[tokio::test]
async fn unknown_relation_is_pgrst205() {
    let g = Gateway::start().await;
    let r = g.get("/no_such_table").await;
    let body = error_body(&r, 404, "PGRST205");
    assert_eq!(body["message"], "Could not find the table 'api.no_such_table' in the schema cache");
}

#[tokio::test]
async fn malformed_query_is_pgrst100() {
    let g = Gateway::start().await;
    let r = g.get("/items?select=id,(").await;
    error_body(&r, 400, "PGRST100");
    let r = g.get("/items?limit=abc").await;
    error_body(&r, 400, "PGRST100");
    let r = g.get("/items?id=zz.1").await;
    error_body(&r, 400, "PGRST100");
}

#[tokio::test]
async fn unacceptable_media_and_schema() {
    let g = Gateway::start().await;
    let r = g.get_with("/items", &[("Accept", "text/html")]).await;
    error_body(&r, 406, "PGRST107");
    let r = g.get_with("/items", &[("Accept-Profile", "nope")]).await;
    let body = error_body(&r, 406, "PGRST106");
    assert_eq!(body["message"], "The schema must be one of the following: api, v2");
}

#[tokio::test]
async fn sql_data_error_is_400_with_sqlstate() {
    let g = Gateway::start().await;
    // Not an integer: the database rejects the literal.
    let r = g.get("/items?id=eq.notanumber").await;
    let body = error_body(&r, 400, "22P02");
    assert!(body["message"].as_str().unwrap().contains("notanumber"), "{}", r.body);
}

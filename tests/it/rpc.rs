//! `/rpc/fn`: arguments, overloads, result shapes, volatility.

use reqwest::Method;
use serde_json::json;

use crate::harness::*;

async fn post(g: &Gateway, path: &str, body: &str) -> Reply {
    g.send(Method::POST, path, &[], body).await
}

#[tokio::test]
async fn scalar_results_are_bare_json_values() {
    let g = Gateway::start().await;
    let r = post(&g, "/rpc/add", r#"{"a":1,"b":2}"#).await;
    assert_eq!((r.status, r.body.as_str()), (200, "3"), "{}", r.body);
    assert_eq!(post(&g, "/rpc/add", r#"{"a":1,"b":2,"c":10}"#).await.body, "13");
    assert_eq!(g.get("/rpc/add?a=4&b=5").await.body, "9");
    assert_eq!(g.get("/rpc/hello?name=ann").await.json(), json!("hello ann"));
    let r = post(&g, "/rpc/add", r#"{"a":null,"b":2}"#).await;
    assert_eq!(r.body, "null");
}

#[tokio::test]
async fn set_returning_functions() {
    let g = Gateway::start().await;
    assert_eq!(g.get("/rpc/numbers?n=3").await.json(), json!([1, 2, 3]));
    assert_eq!(g.get("/rpc/numbers?n=5&limit=2&offset=1").await.json(), json!([2, 3]));
    let r = g.get("/rpc/pairs?n=3&k=gt.1&select=v&order=k.desc").await;
    assert_eq!(r.json(), json!([{"v": "3"}, {"v": "2"}]), "{}", r.body);
}

#[tokio::test]
async fn table_valued_functions_take_select_filters_order_embedding_and_count() {
    let g = Gateway::start().await;
    let r = g
        .get_with(
            "/rpc/films_since?y=1990&select=title,directors(last_name)&title=like.*Lost*&order=year",
            &[("prefer", "count=exact")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json(), json!([{"title": "Lost in Translation", "directors": {"last_name": "Coppola"}}]));
    assert_eq!(r.header("content-range"), Some("0-0/1"));
    let r = post(&g, "/rpc/films_since?select=id&order=id&limit=2", r#"{"y":1950}"#).await;
    assert_eq!(r.ids(), vec![1, 2]);
}

#[tokio::test]
async fn a_single_composite_is_an_object() {
    let g = Gateway::start().await;
    let r = g.get("/rpc/get_film?fid=3&select=title").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json(), json!({"title": "Seven Samurai"}));
    assert_eq!(r.header("content-type"), Some("application/json; charset=utf-8"));
}

#[tokio::test]
async fn unnamed_parameters_take_the_whole_body() {
    let g = Gateway::start().await;
    let r = post(&g, "/rpc/echo_json", r#"{"any":["shape",1]}"#).await;
    assert_eq!(r.json(), json!({"any": ["shape", 1]}));
    let r = g.send(Method::POST, "/rpc/echo_text", &[("content-type", "text/plain")], "plain words").await;
    assert_eq!(r.json(), json!("plain words"), "{}", r.body);
    let r = g.send(Method::POST, "/rpc/bytes_len", &[("content-type", "application/octet-stream")], "\\\u{1}abc").await;
    assert_eq!(r.body, "5", "{}", r.body);
}

#[tokio::test]
async fn variadic_and_array_arguments() {
    let g = Gateway::start().await;
    assert_eq!(post(&g, "/rpc/total", r#"{"nums":[1,2,3.5]}"#).await.body, "6.5");
    assert_eq!(g.get("/rpc/total?nums=1&nums=2").await.body, "3");
    assert_eq!(g.get("/rpc/sum_arr?arr=%7B1,2,3%7D").await.body, "6");
    assert_eq!(post(&g, "/rpc/sum_arr", r#"{"arr":[4,5]}"#).await.body, "9");
}

#[tokio::test]
async fn form_bodies_are_named_arguments() {
    let g = Gateway::start().await;
    let r = g.send(Method::POST, "/rpc/add", &[("content-type", "application/x-www-form-urlencoded")], "a=2&b=3").await;
    assert_eq!(r.body, "5", "{}", r.body);
}

#[tokio::test]
async fn overloads_resolve_by_argument_names() {
    let g = Gateway::start().await;
    assert_eq!(g.get("/rpc/over?a=1").await.json(), json!("one"));
    assert_eq!(g.get("/rpc/over?a=1&b=2").await.json(), json!("two"));
    let r = g.get("/rpc/amb?x=1").await;
    assert_eq!((r.status, r.code()), (300, "PGRST203".to_string()), "{}", r.body);
    let r = g.get("/rpc/nope").await;
    assert_eq!((r.status, r.code()), (404, "PGRST202".to_string()));
    let r = g.get("/rpc/adds?a=1&b=2").await;
    assert_eq!(r.json()["hint"], "Perhaps you meant to call the function api.add");
    let r = post(&g, "/rpc/add", r#"{"a":1,"zzz":2}"#).await;
    assert_eq!((r.status, r.code()), (404, "PGRST202".to_string()));
    let r = post(&g, "/rpc/add", r#"{"a":1}"#).await;
    assert_eq!(r.code(), "PGRST202", "a required argument is missing");
}

#[tokio::test]
async fn volatility_decides_read_only() {
    let g = Gateway::start().await;
    let r = g.get("/rpc/bump").await;
    assert_eq!((r.status, r.code()), (405, "25006".to_string()), "GET is always read-only: {}", r.body);
    let r = post(&g, "/rpc/bump", "").await;
    assert_eq!((r.status, r.body.as_str()), (200, "1"), "{}", r.body);
    // POST runs READ ONLY for STABLE/IMMUTABLE functions, READ WRITE for VOLATILE ones.
    assert_eq!(post(&g, "/rpc/tx_mode_stable", "").await.json(), json!("on"));
    assert_eq!(post(&g, "/rpc/tx_mode_volatile", "").await.json(), json!("off"));
    assert_eq!(g.get("/rpc/tx_mode_volatile").await.json(), json!("on"));
    let admin = g.db.admin().await;
    let n: i32 = admin.query_one("select n from api.counter", &[]).await.unwrap().get(0);
    assert_eq!(n, 1);
}

#[tokio::test]
async fn void_is_204_and_other_verbs_are_405() {
    let g = Gateway::start().await;
    let r = post(&g, "/rpc/noop", "{}").await;
    assert_eq!((r.status, r.body.as_str()), (204, ""));
    for m in [Method::DELETE, Method::PATCH, Method::PUT] {
        let r = g.send(m.clone(), "/rpc/add", &[], "{}").await;
        assert_eq!((r.status, r.code()), (405, "PGRST101".to_string()), "{m}");
        assert_eq!(r.json()["message"], format!("Cannot use the {m} method on RPC"));
    }
    let r = g.request(Method::OPTIONS, "/rpc/bump", &[]).await;
    assert_eq!(r.header("allow"), Some("OPTIONS,POST"));
    let r = g.request(Method::OPTIONS, "/rpc/add", &[]).await;
    assert_eq!(r.header("allow"), Some("OPTIONS,GET,HEAD,POST"));
}

#[tokio::test]
async fn functions_control_status_and_headers() {
    let g = Gateway::start().await;
    let r = post(&g, "/rpc/pay", "{}").await;
    assert_eq!((r.status, r.code()), (402, "PT402".to_string()));
    let r = g.get("/rpc/with_cookie").await;
    assert_eq!(r.status, 202);
    assert_eq!(r.header("set-cookie"), Some("session=abc"));
}

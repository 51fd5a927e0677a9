//! Points 6 and 9 (RPC): `Prefer: handling=strict, max-affected=N` fails a call that returns more
//! rows than N with 400 PGRST124 and rolls it back (PGRST128 for a function that returns no set);
//! an argument the function does not have is 404 PGRST202; `count=exact` on a set-returning call
//! honours `limit`/`Range` with 206.

use reqwest::Method;
use serde_json::json;

use super::*;
use crate::writes::rows;

const STRICT_2: (&str, &str) = ("prefer", "handling=strict, max-affected=2");

#[tokio::test]
async fn max_affected_on_rpc_rolls_back_what_exceeds_it() {
    let g = Gateway::start().await;
    let r = g.send(Method::POST, "/rpc/drop_goods_cheaper_than", &[STRICT_2], r#"{"p":10}"#).await;
    assert_eq!(
        (r.status, r.json()),
        (
            400,
            json!({"code": "PGRST124", "details": "The query affects 3 rows", "hint": null,
                   "message": "Query result exceeds max-affected preference constraint"})
        )
    );
    assert_eq!(rows(&g, "select count(*) from api.goods").await, json!([{"count": 3}]), "rolled back");
    // Within the limit: committed, and the preference is applied.
    let r =
        g.send(Method::POST, "/rpc/drop_goods_cheaper_than?select=name&order=id", &[STRICT_2], r#"{"p":2.5}"#).await;
    assert_eq!((r.status, r.json()), (200, json!([{"name": "apple"}, {"name": "pear"}])), "{}", r.body);
    assert_eq!(crate::writes::applied(&r), vec!["handling=strict", "max-affected=2"]);
    assert_eq!(rows(&g, "select name from api.goods").await, json!([{"name": "plum"}]));
    // Lenient: not enforced.
    let r = g.send(Method::POST, "/rpc/drop_goods_cheaper_than", &[("prefer", "max-affected=0")], r#"{"p":10}"#).await;
    assert_eq!(r.status, 200);
    assert_eq!(rows(&g, "select count(*) from api.goods").await, json!([{"count": 0}]));
}

#[tokio::test]
async fn max_affected_on_a_single_result_is_pgrst128() {
    let g = Gateway::start().await;
    for (path, body) in [("/rpc/bump", ""), ("/rpc/noop", ""), ("/rpc/get_film", r#"{"fid":1}"#)] {
        let r = g.send(Method::POST, path, &[STRICT_2], body).await;
        assert_eq!(
            (r.status, r.json()),
            (
                400,
                json!({"code": "PGRST128", "details": null, "hint": null,
                       "message": "Function must return SETOF or TABLE when max-affected preference is used with handling=strict"})
            ),
            "{path}"
        );
    }
    assert_eq!(rows(&g, "select n from api.counter").await, json!([{"n": 0}]), "nothing ran");
}

#[tokio::test]
async fn a_singular_answer_of_a_writing_call_is_rolled_back_when_not_one_row() {
    let g = Gateway::start().await;
    let single = ("accept", "application/vnd.pgrst.object+json");
    let r = g.send(Method::POST, "/rpc/drop_goods_cheaper_than", &[single], r#"{"p":10}"#).await;
    assert_eq!(status_code(&r), (406, "PGRST116".into()));
    assert_eq!(rows(&g, "select count(*) from api.goods").await, json!([{"count": 3}]));
    let r = g.send(Method::POST, "/rpc/drop_goods_cheaper_than?select=name", &[single], r#"{"p":2}"#).await;
    assert_eq!((r.status, r.json()), (200, json!({"name": "apple"})));
}

#[tokio::test]
async fn an_unknown_get_argument_is_404_pgrst202() {
    let g = Gateway::start().await;
    let r = g.get("/rpc/add?a=1&b=2&bogus=3").await;
    assert_eq!(status_code(&r), (404, "PGRST202".into()), "{}", r.body);
    assert_eq!(r.json()["message"], "Could not find the function api.add(a, b, bogus) in the schema cache");
    let r = g.get("/rpc/hello?name=x&extra=1").await;
    assert_eq!(status_code(&r), (404, "PGRST202".into()));
    // A filter (an operator value) on a column of the result is still a filter.
    let r = g.get("/rpc/films_since?y=1990&id=eq.1").await;
    assert_eq!(r.ids(), vec![1]);
    // And a bad operator on a table result is still a filter's error once it parses as one.
    let r = g.get("/rpc/films_since?y=1990&id=eq.x").await;
    assert_eq!(status_code(&r), (400, "22P02".into()));
}

#[tokio::test]
async fn counted_calls_honour_limit_and_range() {
    let g = Gateway::start().await;
    let count = ("prefer", "count=exact");
    let r = g.get_with("/rpc/films_since?y=1900&limit=2&order=id", &[count]).await;
    assert_eq!((r.status, r.header("content-range")), (206, Some("0-1/4")), "{}", r.body);
    assert_eq!(r.ids(), vec![1, 2]);
    let r = g.get_with("/rpc/films_since?y=1900&order=id", &[count, ("range", "1-2")]).await;
    assert_eq!((r.status, r.header("content-range")), (206, Some("1-2/4")));
    assert_eq!(r.ids(), vec![2, 3]);
    let r = g.get_with("/rpc/films_since?y=1900&offset=9", &[count]).await;
    assert_eq!((r.status, r.header("content-range")), (416, Some("*/4")));
    let r = g.send(Method::POST, "/rpc/films_since?limit=1&order=id", &[count], r#"{"y":2000}"#).await;
    assert_eq!((r.status, r.header("content-range")), (206, Some("0-0/2")));
    // A set of scalars.
    let r = g.get_with("/rpc/numbers?n=5&limit=2", &[count]).await;
    assert_eq!((r.status, r.header("content-range"), r.json()), (206, Some("0-1/5"), json!([1, 2])));
    let r = g.get_with("/rpc/numbers?n=2", &[count]).await;
    assert_eq!((r.status, r.header("content-range")), (200, Some("0-1/2")));
}

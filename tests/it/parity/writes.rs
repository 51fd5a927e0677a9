//! Points 5 and 7: `Prefer: count=exact` on writes puts the affected count in `Content-Range` as
//! PostgREST does (`*/N` for POST and DELETE, `0-(N-1)/N` for PATCH, none for PUT); `POST []` is
//! 201 with nothing inserted; `missing=default` covers identity and serial columns absent from
//! some objects of a bulk insert or upsert.

use reqwest::Method;
use serde_json::json;

use super::*;
use crate::writes::rows;

const COUNT: (&str, &str) = ("prefer", "count=exact");

async fn write(g: &Gateway, method: Method, path: &str, prefer: &str, body: &str) -> Reply {
    g.send(method, path, &[("prefer", prefer)], body).await
}

#[tokio::test]
async fn counts_on_inserts_and_upserts() {
    let g = Gateway::start().await;
    let r = g.send(Method::POST, "/goods", &[COUNT], r#"{"name":"kiwi","price":4}"#).await;
    assert_eq!((r.status, r.header("content-range")), (201, Some("*/1")), "{}", r.body);
    let r = g.send(Method::POST, "/goods", &[COUNT], r#"[{"name":"fig"},{"name":"lime"}]"#).await;
    assert_eq!((r.status, r.header("content-range")), (201, Some("*/2")));
    // Without the preference: unknown.
    let r = g.send(Method::POST, "/goods", &[], r#"{"name":"date"}"#).await;
    assert_eq!((r.status, r.header("content-range")), (201, Some("*/*")));
    // An upsert counts the rows it inserted or updated; ignored duplicates are not affected.
    let r = write(
        &g,
        Method::POST,
        "/goods?on_conflict=name",
        "count=exact, resolution=merge-duplicates",
        r#"[{"name":"kiwi","price":5},{"name":"yuzu","price":6}]"#,
    )
    .await;
    assert_eq!((r.status, r.header("content-range")), (201, Some("*/2")));
    let r = write(
        &g,
        Method::POST,
        "/goods?on_conflict=name",
        "count=exact, resolution=ignore-duplicates",
        r#"[{"name":"kiwi"},{"name":"pear"}]"#,
    )
    .await;
    assert_eq!((r.status, r.header("content-range")), (201, Some("*/0")));
    assert_eq!(crate::writes::applied(&r), vec!["count=exact", "resolution=ignore-duplicates"]);
}

#[tokio::test]
async fn counts_on_updates_deletes_and_none_on_put() {
    let g = Gateway::start().await;
    let r = g.send(Method::PATCH, "/goods?id=in.(1,2,3)", &[COUNT], r#"{"stock":1}"#).await;
    assert_eq!((r.status, r.header("content-range")), (204, Some("0-2/3")));
    let r =
        write(&g, Method::PATCH, "/goods?id=eq.1&select=id", "count=exact, return=representation", r#"{"stock":2}"#)
            .await;
    assert_eq!((r.status, r.header("content-range"), r.json()), (200, Some("0-0/1"), json!([{"id": 1}])));
    let r = g.send(Method::PATCH, "/goods?id=eq.99", &[COUNT], r#"{"stock":1}"#).await;
    assert_eq!((r.status, r.header("content-range")), (204, Some("*/0")));
    let r = g.send(Method::DELETE, "/goods?id=in.(2,3)", &[COUNT], "").await;
    assert_eq!((r.status, r.header("content-range")), (204, Some("*/2")));
    let r = g.send(Method::DELETE, "/goods?id=eq.1", &[], "").await;
    assert_eq!((r.status, r.header("content-range")), (204, Some("*/*")));
    let r = g.send(Method::DELETE, "/goods?id=eq.1", &[COUNT], "").await;
    assert_eq!((r.status, r.header("content-range")), (204, Some("*/0")));
    let r =
        g.send(Method::PUT, "/goods?id=eq.7", &[COUNT], r#"{"id":7,"name":"nut","price":1,"stock":1,"tz":null}"#).await;
    assert_eq!((r.status, r.header("content-range")), (204, None), "{}", r.body);
}

#[tokio::test]
async fn posting_an_empty_array_inserts_nothing() {
    let g = Gateway::start().await;
    let r = g.send(Method::POST, "/goods", &[COUNT], "[]").await;
    assert_eq!((r.status, r.header("content-range"), r.body.as_str()), (201, Some("*/0"), ""), "{}", r.body);
    let r = write(&g, Method::POST, "/goods?select=id,name", "return=representation", "[]").await;
    assert_eq!((r.status, r.json()), (201, json!([])));
    let r = write(&g, Method::POST, "/goods", "return=headers-only", "[]").await;
    assert_eq!((r.status, r.header("location")), (201, None));
    let r = write(&g, Method::POST, "/goods?on_conflict=name", "resolution=merge-duplicates", "[]").await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(rows(&g, "select count(*) from api.goods").await, json!([{"count": 3}]));
    // Objects without keys insert one row of defaults each.
    let r = g.send(Method::POST, "/inbox", &[COUNT], "[{},{}]").await;
    assert_eq!((r.status, r.header("content-range")), (201, Some("*/2")), "{}", r.body);
    assert_eq!(
        rows(&g, "select id, msg from api.inbox order by id").await,
        json!([{"id": 1, "msg": null}, {"id": 2, "msg": null}])
    );
}

#[tokio::test]
async fn missing_default_covers_identity_and_serial_columns() {
    let g = Gateway::start().await;
    let r = write(
        &g,
        Method::POST,
        "/tickets?columns=id,code,label,status&select=id,code,label,status",
        "missing=default, return=representation",
        r#"[{"id":100,"label":"a"},{"label":"b","code":50,"status":"closed"}]"#,
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        r.json(),
        json!([
            {"id": 100, "code": 1, "label": "a", "status": "open"},
            {"id": 1, "code": 50, "label": "b", "status": "closed"}
        ])
    );
    // An upsert: the key given merges, the key missing takes the identity's next value.
    let r = write(
        &g,
        Method::POST,
        "/tickets?columns=id,label&on_conflict=id&select=id,code,label",
        "missing=default, resolution=merge-duplicates, return=representation",
        r#"[{"id":100,"label":"a2"},{"label":"c"}]"#,
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    // (The conflicting row drew a code too: sequences are not transactional.)
    assert_eq!(r.json(), json!([{"id": 100, "code": 1, "label": "a2"}, {"id": 2, "code": 3, "label": "c"}]));
    assert_eq!(
        rows(&g, "select id, code, label, status from api.tickets order by id").await,
        json!([
            {"id": 1, "code": 50, "label": "b", "status": "closed"},
            {"id": 2, "code": 3, "label": "c", "status": "open"},
            {"id": 100, "code": 1, "label": "a2", "status": "open"}
        ])
    );
    // Without the preference a missing key is NULL, refused by the NOT NULL identity.
    let r = g.send(Method::POST, "/tickets?columns=id,label", &[], r#"[{"id":5,"label":"x"},{"label":"y"}]"#).await;
    assert_eq!(status_code(&r), (400, "23502".into()), "{}", r.body);
    // Generated-always columns are left to the database when not sent.
    let r =
        write(&g, Method::POST, "/events?select=name,slug", "return=representation", r#"{"name":"Gala","note":"n"}"#)
            .await;
    assert_eq!((r.status, r.json()), (201, json!([{"name": "Gala", "slug": "gala"}])));
}

#[tokio::test]
async fn preference_applied_names_only_what_the_request_kind_honours() {
    let g = Gateway::start().await;
    let all = "count=exact, return=minimal, missing=default, max-affected=5, resolution=merge-duplicates";
    let r = g.get_with("/goods?select=id", &[("prefer", all)]).await;
    assert_eq!(r.header("preference-applied"), Some("count=exact"));
    let r = write(&g, Method::POST, "/goods", all, r#"{"name":"kiwi"}"#).await;
    assert_eq!(
        crate::writes::applied(&r),
        vec!["count=exact", "missing=default", "resolution=merge-duplicates", "return=minimal"]
    );
    let r = write(&g, Method::DELETE, "/goods?id=eq.4", all, "").await;
    assert_eq!(crate::writes::applied(&r), vec!["count=exact", "max-affected=5", "return=minimal"]);
}

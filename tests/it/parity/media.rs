//! Point 8: media type handlers (a domain named after a media type and an aggregate or function
//! for it), `application/geo+json` through PostGIS, and 406 for an `Accept` nothing can serve.

use serde_json::json;

use super::*;

#[tokio::test]
async fn an_aggregate_handler_serves_a_tables_rows() {
    let g = Gateway::start().await;
    let accept = ("accept", "text/tab-separated-values");
    let r = g.get_with("/people?order=id", &[accept]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("text/tab-separated-values"));
    assert_eq!(r.body, "1\tBeckett\n2\tWoolf\n3\tDavis\n");
    // Filters and order apply to the rows it aggregates.
    let r = g.get_with("/people?job=eq.novelist&order=id.desc", &[accept]).await;
    assert_eq!(r.body, "2\tWoolf\n1\tBeckett\n");
    // It needs whole rows: another select has nothing to answer with.
    let r = g.get_with("/people?select=id", &[accept]).await;
    assert_eq!(status_code(&r), (406, "PGRST107".into()));
    assert_eq!(r.json()["message"], "None of these media types are available: text/tab-separated-values");
    // Among other ranges, the best one that something serves wins.
    let r = g
        .get_with("/people?select=id&id=eq.1", &[("accept", "text/tab-separated-values, application/json;q=0.5")])
        .await;
    assert_eq!((r.status, r.json()), (200, json!([{"id": 1}])));
    // HEAD: the type, no body.
    let r = g.request(reqwest::Method::HEAD, "/people", &[accept]).await;
    assert_eq!((r.status, r.header("content-type"), r.body.as_str()), (200, Some("text/tab-separated-values"), ""));
}

#[tokio::test]
async fn a_function_of_a_media_type_answers_its_bytes() {
    let g = Gateway::start().await;
    let resp = g
        .http
        .get(g.url("/rpc/person_bin?pid=1"))
        .header("accept", "application/vnd.rowgate.bin")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/vnd.rowgate.bin");
    let body = resp.bytes().await.unwrap();
    assert_eq!(&body[..], b"\x00\xffBeckett");
    // Asked as JSON, the value is JSON like any other.
    let r = g.get("/rpc/person_bin?pid=1").await;
    assert_eq!((r.status, r.json()), (200, json!("\\x00ff4265636b657474")));

    // The bytes do not depend on the database's `bytea_output`.
    let db = TestDb::new().await;
    db.admin().await.batch_execute(&format!("alter database {} set bytea_output = 'escape'", db.name)).await.unwrap();
    let cfg = config(&db, |_| {});
    let g = Gateway::start_on(db, cfg).await;
    let resp = g.http.get(g.url("/rpc/person_bin?pid=2")).header("accept", "application/vnd.rowgate.bin").send().await;
    assert_eq!(&resp.unwrap().bytes().await.unwrap()[..], b"\x00\xffWoolf");
}

#[tokio::test]
async fn the_any_handler_answers_every_media_type() {
    let g = Gateway::start().await;
    for accept in [None, Some("text/xml"), Some("*/*"), Some("application/json")] {
        let headers: Vec<(&str, &str)> = accept.map(|a| ("accept", a)).into_iter().collect();
        let r = g.get_with("/people_blob?order=id", &headers).await;
        assert_eq!(r.status, 200, "{accept:?}: {}", r.body);
        assert_eq!(r.header("content-type"), Some("application/octet-stream"), "{accept:?}");
        assert_eq!(r.body, "Beckett;Woolf;Davis;", "{accept:?}");
    }
}

#[tokio::test]
async fn an_accept_nothing_serves_is_406() {
    let g = Gateway::start().await;
    for (path, accept) in [
        ("/items", "application/openapi+json"),
        ("/items", "text/html"),
        ("/", "text/csv"),
        ("/", "application/geo+json"),
        ("/rpc/add?a=1&b=2", "image/png"),
        ("/items", "application/geo+json"),
    ] {
        let r = g.get_with(path, &[("accept", accept)]).await;
        assert_eq!(status_code(&r), (406, "PGRST107".into()), "{path} {accept}: {}", r.body);
        assert_eq!(r.json()["message"], format!("None of these media types are available: {accept}"));
    }
    let r = g.send(reqwest::Method::POST, "/goods", &[("accept", "text/html")], r#"{"name":"x"}"#).await;
    assert_eq!(status_code(&r), (406, "PGRST107".into()));
    // What each can serve still works.
    let r = g.get_with("/", &[("accept", "application/openapi+json")]).await;
    assert_eq!((r.status, r.header("content-type")), (200, Some("application/openapi+json; charset=utf-8")));
    let r = g.get_with("/items?id=eq.1&select=id", &[("accept", "text/csv")]).await;
    assert_eq!((r.status, r.body.as_str()), (200, "id\n1"));
}

/// A gateway on a database with PostGIS and a table of points (`tests/fixtures/postgis.sql`).
async fn postgis_gateway() -> Gateway {
    let db = TestDb::new().await;
    db.admin().await.batch_execute(include_str!("../../fixtures/postgis.sql")).await.unwrap_or_else(|e| {
        panic!("loading PostGIS failed ({e}): `scripts/test` installs postgresql-<version>-postgis-3")
    });
    let cfg = config(&db, |_| {});
    Gateway::start_on(db, cfg).await
}

#[tokio::test]
async fn geojson_is_a_feature_collection() {
    let g = postgis_gateway().await;
    let geo = ("accept", "application/geo+json");
    let r = g.get_with("/shops?order=id", &[geo]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/geo+json; charset=utf-8"));
    assert_eq!(
        r.json(),
        json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-71.10044, 42.373695]},
             "properties": {"id": 1, "address": "1369 Cambridge St"}},
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-71.10543, 42.366432]},
             "properties": {"id": 2, "address": "757 Massachusetts Ave"}}
        ]})
    );
    let r = g.get_with("/shops?select=id,geom&id=eq.2", &[geo]).await;
    assert_eq!(r.json()["features"][0]["properties"], json!({"id": 2}));
    let r = g.get_with("/shops?id=gt.5", &[geo]).await;
    assert_eq!(r.json(), json!({"type": "FeatureCollection", "features": []}));
    // A table without geometry, or a select without it: 406.
    for path in ["/items", "/shops?select=id,address"] {
        let r = g.get_with(path, &[geo]).await;
        assert_eq!(status_code(&r), (406, "PGRST107".into()), "{path}: {}", r.body);
    }
}

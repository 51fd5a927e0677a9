//! Exact SQL of computed fields (a function of the row), computed relationships (a lateral over
//! the function's rows), GeoJSON and media type handler bodies, counted sets of scalars.

use serde_json::json;

use crate::request;
use crate::schema::SchemaCache;

use super::{json_read, read_sql, render_on};

fn cache() -> SchemaCache {
    let col = |name: &str, ty: &str| json!({"name": name, "type": ty, "base_type": ty, "category": "N", "nullable": true, "default": null, "comment": null});
    let rel = |name: &str, cols: Vec<serde_json::Value>| json!({"schema": "api", "name": name, "kind": "r", "comment": null, "updatable_mask": 28, "columns": cols, "primary_key": ["id"], "unique": []});
    let computed = |name: &str, of: &str, returns: &str, set: bool, target: Option<&str>, single: bool| {
        json!({"schema": "api", "name": name, "rel_schema": "api", "rel_name": of, "type": returns, "base_type": returns,
               "category": "S", "returns_set": set, "target_schema": target.map(|_| "api"), "target_name": target,
               "single_row": single, "comment": null})
    };
    let handler = |media: &str, base: &str, name: &str, kind: &str, target: Option<&str>| {
        json!({"media_type": media, "base_type": base, "schema": "api", "name": name, "kind": kind,
               "target_schema": target.map(|_| "api"), "target_name": target})
    };
    let doc = json!({
        "relations": [
            rel("people", vec![col("id", "integer"), col("first", "text"), col("last", "text"), col("boss_id", "integer")]),
            rel("shops", vec![col("id", "integer"), col("geom", "geometry")]),
        ],
        "foreign_keys": [],
        "functions": [
            {"schema": "api", "name": "ids", "volatility": "s", "returns_set": true, "variadic": false,
             "return_type": "integer", "return_typtype": "b", "return_rel_schema": null, "return_rel_name": null,
             "nargs": 0, "nargdefaults": 0, "comment": null, "args": []},
            {"schema": "api", "name": "pic", "volatility": "s", "returns_set": false, "variadic": false,
             "return_type": "\"image/png\"", "return_typtype": "d", "return_rel_schema": null, "return_rel_name": null,
             "nargs": 0, "nargdefaults": 0, "comment": null, "args": []}
        ],
        "computed": [
            computed("full_name", "people", "text", false, None, true),
            computed("boss", "people", "api.people", true, Some("people"), true),
        ],
        "media_handlers": [
            handler("text/tab-separated-values", "text", "tsv_agg", "relation", Some("people")),
            handler("image/png", "bytea", "image/png", "function", Some("pic")),
        ],
        "postgis_schema": "extensions"
    });
    SchemaCache::from_json(&doc.to_string()).unwrap()
}

#[test]
fn computed_fields_are_calls_of_the_row() {
    let cache = cache();
    let (sql, params) =
        render_on(&cache, "people", "/people?select=id,name:full_name&full_name=ilike.*beck*&order=full_name.desc");
    let call = r#""api"."full_name"("api"."people".*::"api"."people")"#;
    assert_eq!(
        sql,
        json_read(&format!(
            r#"SELECT "api"."people"."id", {call} AS "name" FROM "api"."people" WHERE {call} ILIKE $1 ORDER BY {call} DESC"#
        ))
    );
    assert_eq!(params, vec!["%beck%"]);
    // Inside an embed, through the embed's alias.
    let (sql, _) = render_on(&cache, "people", "/people?select=id,boss(full_name)");
    assert!(sql.contains(r#""api"."full_name"("pgrst_1_t".*::"api"."people")"#), "{sql}");
}

#[test]
fn computed_relationships_are_laterals_over_the_function() {
    let cache = cache();
    let (sql, params) = render_on(&cache, "people", "/people?select=id,boss(id)&boss.id=gt.1");
    assert_eq!(
        sql,
        json_read(
            r#"SELECT "api"."people"."id", row_to_json("pgrst_1".*)::jsonb AS "boss" FROM "api"."people" LEFT JOIN LATERAL (SELECT "pgrst_1_t"."id" FROM "api"."boss"("api"."people".*::"api"."people") AS "pgrst_1_t" WHERE "pgrst_1_t"."id" > $1) AS "pgrst_1" ON TRUE"#
        )
    );
    assert_eq!(params, vec!["1"]);
}

#[test]
fn geojson_and_handler_bodies() {
    let cache = cache();
    let (sql, _) = render_accepting(&cache, "shops", "/shops", "application/geo+json");
    assert_eq!(
        sql,
        read_sql(
            r#"SELECT "api"."shops".* FROM "api"."shops""#,
            "null::bigint",
            r#"json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg("extensions"."st_asgeojson"(_postgrest_t)::json), '[]'))::text"#
        )
    );
    let (sql, _) = render_accepting(&cache, "people", "/people", "text/tab-separated-values");
    assert_eq!(
        sql,
        read_sql(
            r#"SELECT "api"."people".* FROM "api"."people""#,
            "null::bigint",
            r#""api"."tsv_agg"(_postgrest_t::"api"."people")"#
        )
    );
}

fn render_accepting(cache: &SchemaCache, table: &str, uri: &str, accept: &str) -> (String, Vec<String>) {
    let parts = hyper::Request::builder().uri(uri).header("accept", accept).body(()).unwrap().into_parts().0;
    let req = request::parse(&parts, &["api".to_string()]).unwrap();
    let plan = crate::plan::plan_read(&req, table, cache, None).unwrap();
    let st = crate::sql::render_read(&plan);
    (st.main.sql.into_owned(), st.main.params)
}

fn render_rpc(cache: &SchemaCache, name: &str, uri: &str, headers: &[(&str, &str)]) -> String {
    let mut b = hyper::Request::builder().uri(uri);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let parts = b.body(()).unwrap().into_parts().0;
    let req = request::parse(&parts, &["api".to_string()]).unwrap();
    let plan = crate::plan::rpc::plan_rpc(&req, cache, name, None).unwrap();
    crate::sql::rpc::render_rpc(&plan).main.sql.into_owned()
}

#[test]
fn a_counted_set_of_scalars_counts_the_whole_set() {
    let cache = cache();
    let sql = render_rpc(&cache, "ids", "/rpc/ids?limit=2", &[("prefer", "count=exact")]);
    assert_eq!(
        sql,
        read_sql(
            r#"SELECT "pgrst_call" AS pgrst_scalar FROM "api"."ids"() AS "pgrst_call" LIMIT $1"#,
            r#"(SELECT pg_catalog.count(*) FROM "api"."ids"() AS "pgrst_call")"#,
            "coalesce(json_agg(_postgrest_t.pgrst_scalar), '[]')::text"
        )
    );
}

#[test]
fn a_function_of_a_media_type_is_the_body() {
    let cache = cache();
    let sql = render_rpc(&cache, "pic", "/rpc/pic", &[("accept", "image/png")]);
    assert_eq!(
        sql,
        read_sql(
            r#"SELECT "api"."pic"() AS pgrst_scalar"#,
            "null::bigint",
            "encode((array_agg(_postgrest_t.pgrst_scalar))[1], 'hex')"
        )
    );
    // Without asking for it, the value is JSON as any other.
    let sql = render_rpc(&cache, "pic", "/rpc/pic", &[]);
    assert!(sql.contains("json_agg(_postgrest_t.pgrst_scalar)->0"), "{sql}");
}

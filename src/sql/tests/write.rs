//! Exact SQL of writes: `plan::plan_write` rendered by `sql::render_write`, for insert, bulk
//! insert, upserts, update, delete, PUT, `columns=`, `missing=default` and each returning mode.

use serde_json::json;

use crate::plan::plan_write;
use crate::request::{self, Action};
use crate::schema::SchemaCache;

use super::super::write::render_write;

/// `goods` (defaults on `id` and `stock`), `org_items` (a two-column key), `log` (no key), and
/// `films` → `directors` for a representation that embeds.
fn cache() -> SchemaCache {
    let col = |name: &str, ty: &str, default: Option<&str>| json!({"name": name, "type": ty, "base_type": ty, "category": "N", "nullable": true, "default": default, "comment": null});
    let rel = |name: &str, cols: Vec<serde_json::Value>, pk: &[&str]| json!({"schema": "api", "name": name, "kind": "r", "comment": null, "updatable_mask": 28, "columns": cols, "primary_key": pk, "unique": []});
    let doc = json!({
        "relations": [
            rel("goods", vec![col("id", "integer", Some("nextval('api.goods_id_seq'::regclass)")), col("name", "text", None), col("price", "numeric", None), col("stock", "integer", Some("0"))], &["id"]),
            rel("org_items", vec![col("org_id", "integer", None), col("id", "integer", None), col("label", "text", None)], &["org_id", "id"]),
            rel("log", vec![col("msg", "text", None), col("at", "timestamp with time zone", Some("now()"))], &[]),
            rel("directors", vec![col("id", "integer", None), col("name", "text", None)], &["id"]),
            rel("films", vec![col("id", "integer", None), col("title", "text", None), col("director_id", "integer", None)], &["id"]),
        ],
        "foreign_keys": [{"name": "films_director_fk", "schema": "api", "table": "films", "columns": ["director_id"], "ref_schema": "api", "ref_table": "directors", "ref_columns": ["id"]}],
        "keys": [{"schema": "api", "table": "films", "kind": "p", "columns": ["id"]}, {"schema": "api", "table": "directors", "kind": "p", "columns": ["id"]}],
        "functions": []
    });
    SchemaCache::from_json(&doc.to_string()).unwrap()
}

/// The statement and parameters of `method uri` with `headers` and `body`.
fn render(method: &str, uri: &str, headers: &[(&str, &str)], body: &str) -> (String, Vec<String>) {
    let mut b = hyper::Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let parts = b.body(()).unwrap().into_parts().0;
    let req = request::parse_with_body(&parts, &bytes::Bytes::from(body.to_string()), &["api".to_string()]).unwrap();
    let (Action::Write(m), request::Target::Relation(name)) = (req.action, &req.target) else { panic!("{uri}") };
    let cache = cache();
    let plan = plan_write(&req, m, name, &cache).unwrap();
    let st = render_write(&plan);
    (st.sql.into_owned(), st.params)
}

/// How a mutation reads its rows: a JSON array parameter, each element a record of the table.
fn rows_of(table: &str, param: usize) -> String {
    format!(
        r#"FROM jsonb_array_elements(${param}::jsonb) AS pgrst_elem(j), LATERAL jsonb_populate_record(null::"api"."{table}", pgrst_elem.j) AS pgrst_row"#
    )
}

/// Counts the rows an upsert updated rather than inserted.
const COUNT_UPDATED: &str = "WHERE set_config('rowgate.updated', (coalesce(nullif(current_setting('rowgate.updated', true), '')::bigint, 0) + 1)::text, true) IS NOT NULL";

/// The whole write statement: `mutation` is the `pgrst_mutation` query, `body` and `location` the
/// outer select's expressions, `rows` what `_postgrest_t` selects from the mutation.
fn write_sql(mutation: &str, body: &str, location: &str, rows: &str) -> String {
    format!(
        "WITH pgrst_mutation AS ({mutation}) SELECT null::bigint AS total_result_set, pg_catalog.count(_postgrest_t) AS page_total, \
         {body} AS body, nullif(current_setting('response.headers', true), '') AS response_headers, \
         nullif(current_setting('response.status', true), '') AS response_status, {location} AS location, \
         coalesce(nullif(current_setting('rowgate.updated', true), '')::bigint, 0) AS updated \
         FROM (SELECT {rows}) _postgrest_t"
    )
}

/// `return=minimal` (the default): no body, no location, the mutation returns `1` per row.
fn minimal(mutation: &str) -> String {
    write_sql(&format!("{mutation} RETURNING 1"), "''", "null::text", r#"1 FROM pgrst_mutation AS "pgrst_source""#)
}

/// `return=representation` with a JSON array body of `columns` (of `"pgrst_source"`).
fn representation(table: &str, mutation: &str, columns: &[&str]) -> String {
    let list: Vec<String> = columns.iter().map(|c| format!(r#""pgrst_source"."{c}""#)).collect();
    write_sql(
        &format!(r#"{mutation} RETURNING "api"."{table}".*"#),
        "coalesce(json_agg(_postgrest_t), '[]')::text",
        "null::text",
        &format!(r#"{} FROM pgrst_mutation AS "pgrst_source""#, list.join(", ")),
    )
}

#[test]
fn insert_one_object() {
    let (sql, params) = render("POST", "/goods", &[], r#"{"name":"kiwi","price":4}"#);
    assert_eq!(
        sql,
        minimal(&format!(
            r#"INSERT INTO "api"."goods"("name", "price") SELECT pgrst_row."name", pgrst_row."price" {}"#,
            rows_of("goods", 1)
        ))
    );
    assert_eq!(params, vec![r#"[{"name":"kiwi","price":4}]"#]);
}

#[test]
fn bulk_insert_is_the_same_statement_with_a_longer_array() {
    let (sql, params) = render("POST", "/goods", &[], r#"[{"name":"kiwi","price":4},{"name":"fig","price":5}]"#);
    assert_eq!(sql, render("POST", "/goods", &[], r#"{"name":"kiwi","price":4}"#).0);
    assert_eq!(
        sql,
        minimal(&format!(
            r#"INSERT INTO "api"."goods"("name", "price") SELECT pgrst_row."name", pgrst_row."price" {}"#,
            rows_of("goods", 1)
        ))
    );
    assert_eq!(params, vec![r#"[{"name":"kiwi","price":4},{"name":"fig","price":5}]"#]);
}

#[test]
fn csv_bodies_insert_like_json_arrays() {
    let (sql, params) = render("POST", "/goods", &[("content-type", "text/csv")], "name,price\nkiwi,4\nfig,NULL\n");
    assert_eq!(
        sql,
        minimal(&format!(
            r#"INSERT INTO "api"."goods"("name", "price") SELECT pgrst_row."name", pgrst_row."price" {}"#,
            rows_of("goods", 1)
        ))
    );
    assert_eq!(params, vec![r#"[{"name":"kiwi","price":"4"},{"name":"fig","price":null}]"#]);
}

#[test]
fn an_empty_object_inserts_the_defaults() {
    let (sql, params) = render("POST", "/goods", &[], "{}");
    assert_eq!(sql, minimal(r#"INSERT INTO "api"."goods" SELECT FROM jsonb_array_elements($1::jsonb)"#));
    assert_eq!(params, vec!["[{}]"]);
}

#[test]
fn an_empty_array_inserts_nothing_with_valid_sql() {
    // One default row per empty object, none for `[]`: the statement is the same.
    for (body, param) in [("[]", "[]"), ("[{},{}]", "[{},{}]")] {
        let (sql, params) = render("POST", "/goods", &[], body);
        assert_eq!(sql, minimal(r#"INSERT INTO "api"."goods" SELECT FROM jsonb_array_elements($1::jsonb)"#));
        assert_eq!(params, vec![param]);
    }
}

#[test]
fn upsert_merge_duplicates_updates_every_written_column() {
    let (sql, params) =
        render("POST", "/goods", &[("prefer", "resolution=merge-duplicates")], r#"{"id":1,"name":"kiwi"}"#);
    assert_eq!(
        sql,
        minimal(&format!(
            r#"INSERT INTO "api"."goods"("id", "name") SELECT pgrst_row."id", pgrst_row."name" {} ON CONFLICT ("id") DO UPDATE SET "id" = EXCLUDED."id", "name" = EXCLUDED."name" {COUNT_UPDATED}"#,
            rows_of("goods", 1)
        ))
    );
    assert_eq!(params, vec![r#"[{"id":1,"name":"kiwi"}]"#]);
}

#[test]
fn upsert_ignore_duplicates_does_nothing_on_conflict() {
    let (sql, params) =
        render("POST", "/goods", &[("prefer", "resolution=ignore-duplicates")], r#"{"id":1,"name":"kiwi"}"#);
    assert_eq!(
        sql,
        minimal(&format!(
            r#"INSERT INTO "api"."goods"("id", "name") SELECT pgrst_row."id", pgrst_row."name" {} ON CONFLICT ("id") DO NOTHING"#,
            rows_of("goods", 1)
        ))
    );
    assert_eq!(params, vec![r#"[{"id":1,"name":"kiwi"}]"#]);
}

#[test]
fn upsert_on_conflict_names_the_target() {
    let (sql, params) = render(
        "POST",
        "/goods?on_conflict=name",
        &[("prefer", "resolution=merge-duplicates")],
        r#"{"name":"kiwi","price":4}"#,
    );
    assert_eq!(
        sql,
        minimal(&format!(
            r#"INSERT INTO "api"."goods"("name", "price") SELECT pgrst_row."name", pgrst_row."price" {} ON CONFLICT ("name") DO UPDATE SET "name" = EXCLUDED."name", "price" = EXCLUDED."price" {COUNT_UPDATED}"#,
            rows_of("goods", 1)
        ))
    );
    assert_eq!(params, vec![r#"[{"name":"kiwi","price":4}]"#]);
    let (sql, _) = render(
        "POST",
        "/org_items?on_conflict=id,org_id",
        &[("prefer", "resolution=ignore-duplicates")],
        r#"{"org_id":1,"id":2}"#,
    );
    assert_eq!(
        sql,
        minimal(&format!(
            r#"INSERT INTO "api"."org_items"("id", "org_id") SELECT pgrst_row."id", pgrst_row."org_id" {} ON CONFLICT ("id", "org_id") DO NOTHING"#,
            rows_of("org_items", 1)
        ))
    );
}

#[test]
fn update_binds_the_object_then_the_filters() {
    let (sql, params) = render("PATCH", "/goods?id=eq.1", &[], r#"{"stock":3,"price":2}"#);
    assert_eq!(
        sql,
        minimal(
            r#"UPDATE "api"."goods" SET "price" = pgrst_row."price", "stock" = pgrst_row."stock" FROM jsonb_populate_record(null::"api"."goods", $1::jsonb) AS pgrst_row WHERE "api"."goods"."id" = $2"#
        )
    );
    assert_eq!(params, vec![r#"{"price":2,"stock":3}"#, "1"]);
}

#[test]
fn update_with_an_empty_object_touches_no_row() {
    let (sql, params) = render("PATCH", "/goods?id=eq.1", &[], "{}");
    assert_eq!(
        sql,
        write_sql(
            r#"SELECT * FROM "api"."goods" WHERE false"#,
            "''",
            "null::text",
            r#"1 FROM pgrst_mutation AS "pgrst_source""#
        )
    );
    assert!(params.is_empty());
}

#[test]
fn delete_binds_only_the_filters() {
    let (sql, params) = render("DELETE", "/goods?id=in.(1,3)", &[], "");
    assert_eq!(sql, minimal(r#"DELETE FROM "api"."goods" WHERE "api"."goods"."id" = ANY($1)"#));
    assert_eq!(params, vec![r#"{"1","3"}"#]);
}

#[test]
fn put_is_an_insert_merging_on_the_key() {
    let (sql, params) = render("PUT", "/goods?id=eq.1", &[], r#"{"id":1,"name":"kiwi","price":4,"stock":2}"#);
    assert_eq!(
        sql,
        minimal(&format!(
            r#"INSERT INTO "api"."goods"("id", "name", "price", "stock") SELECT pgrst_row."id", pgrst_row."name", pgrst_row."price", pgrst_row."stock" {} ON CONFLICT ("id") DO UPDATE SET "id" = EXCLUDED."id", "name" = EXCLUDED."name", "price" = EXCLUDED."price", "stock" = EXCLUDED."stock" {COUNT_UPDATED}"#,
            rows_of("goods", 1)
        ))
    );
    // The key filter is not bound: the payload carries it.
    assert_eq!(params, vec![r#"[{"id":1,"name":"kiwi","price":4,"stock":2}]"#]);
}

#[test]
fn columns_param_writes_only_those_columns() {
    let (sql, params) = render("POST", "/goods?columns=name,price", &[], r#"[{"name":"kiwi","price":4,"bogus":1}]"#);
    assert_eq!(
        sql,
        minimal(&format!(
            r#"INSERT INTO "api"."goods"("name", "price") SELECT pgrst_row."name", pgrst_row."price" {}"#,
            rows_of("goods", 1)
        ))
    );
    assert_eq!(params, vec![r#"[{"bogus":1,"name":"kiwi","price":4}]"#]);
}

#[test]
fn missing_default_takes_the_column_default_for_absent_keys() {
    let (sql, params) = render(
        "POST",
        "/goods?columns=name,stock",
        &[("prefer", "missing=default")],
        r#"[{"name":"kiwi","stock":4},{"name":"fig"}]"#,
    );
    // `name` has no default: NULL when absent, as without the preference.
    assert_eq!(
        sql,
        minimal(&format!(
            r#"INSERT INTO "api"."goods"("name", "stock") SELECT pgrst_row."name", CASE WHEN pgrst_elem.j ? $1 THEN pgrst_row."stock" ELSE 0 END {}"#,
            rows_of("goods", 2)
        ))
    );
    assert_eq!(params, vec!["stock", r#"[{"name":"kiwi","stock":4},{"name":"fig"}]"#]);
}

#[test]
fn headers_only_returns_the_key_for_location() {
    let (sql, params) = render("POST", "/goods", &[("prefer", "return=headers-only")], r#"{"name":"kiwi"}"#);
    assert_eq!(
        sql,
        write_sql(
            &format!(
                r#"INSERT INTO "api"."goods"("name") SELECT pgrst_row."name" {} RETURNING "api"."goods"."id""#,
                rows_of("goods", 1)
            ),
            "''",
            r#"(SELECT json_build_array("id")::text FROM pgrst_mutation LIMIT 1)"#,
            r#"1 FROM pgrst_mutation AS "pgrst_source""#
        )
    );
    assert_eq!(params, vec![r#"[{"name":"kiwi"}]"#]);
    // A two-column key, in key order.
    let (sql, _) = render("POST", "/org_items", &[("prefer", "return=headers-only")], r#"{"org_id":1,"id":2}"#);
    assert_eq!(
        sql,
        write_sql(
            &format!(
                r#"INSERT INTO "api"."org_items"("id", "org_id") SELECT pgrst_row."id", pgrst_row."org_id" {} RETURNING "api"."org_items"."org_id", "api"."org_items"."id""#,
                rows_of("org_items", 1)
            ),
            "''",
            r#"(SELECT json_build_array("org_id", "id")::text FROM pgrst_mutation LIMIT 1)"#,
            r#"1 FROM pgrst_mutation AS "pgrst_source""#
        )
    );
    // Without a key there is no location: as minimal.
    let (sql, _) = render("POST", "/log", &[("prefer", "return=headers-only")], r#"{"msg":"x"}"#);
    assert_eq!(
        sql,
        minimal(&format!(r#"INSERT INTO "api"."log"("msg") SELECT pgrst_row."msg" {}"#, rows_of("log", 1)))
    );
}

#[test]
fn representation_selects_from_the_returned_rows() {
    let insert = format!(r#"INSERT INTO "api"."goods"("name") SELECT pgrst_row."name" {}"#, rows_of("goods", 1));
    let (sql, params) =
        render("POST", "/goods?select=id,name", &[("prefer", "return=representation")], r#"{"name":"kiwi"}"#);
    assert_eq!(sql, representation("goods", &insert, &["id", "name"]));
    assert_eq!(params, vec![r#"[{"name":"kiwi"}]"#]);
    // Without select: every column, by name.
    let (sql, _) = render("POST", "/goods", &[("prefer", "return=representation")], r#"{"name":"kiwi"}"#);
    assert_eq!(sql, representation("goods", &insert, &["id", "name", "price", "stock"]));
    // An explicit minimal is the default.
    let (sql, _) = render("POST", "/goods", &[("prefer", "return=minimal")], r#"{"name":"kiwi"}"#);
    assert_eq!(sql, minimal(&insert));
}

#[test]
fn representation_embeds_through_laterals_on_the_returned_rows() {
    let (sql, params) = render(
        "POST",
        "/films?select=title,directors(name)",
        &[("prefer", "return=representation")],
        r#"{"id":5,"title":"x","director_id":1}"#,
    );
    assert_eq!(
        sql,
        write_sql(
            &format!(
                r#"INSERT INTO "api"."films"("director_id", "id", "title") SELECT pgrst_row."director_id", pgrst_row."id", pgrst_row."title" {} RETURNING "api"."films".*"#,
                rows_of("films", 1)
            ),
            "coalesce(json_agg(_postgrest_t), '[]')::text",
            "null::text",
            r#""pgrst_source"."title", row_to_json("pgrst_1".*)::jsonb AS "directors" FROM pgrst_mutation AS "pgrst_source" LEFT JOIN LATERAL (SELECT "pgrst_1_t"."name" FROM "api"."directors" AS "pgrst_1_t" WHERE "pgrst_1_t"."id" = "pgrst_source"."director_id") AS "pgrst_1" ON TRUE"#
        )
    );
    assert_eq!(params, vec![r#"[{"director_id":1,"id":5,"title":"x"}]"#]);
}

#[test]
fn singular_update_returns_one_object() {
    let (sql, params) = render(
        "PATCH",
        "/goods?stock=gt.0&select=id",
        &[("prefer", "return=representation"), ("accept", "application/vnd.pgrst.object+json")],
        r#"{"stock":0}"#,
    );
    assert_eq!(
        sql,
        write_sql(
            r#"UPDATE "api"."goods" SET "stock" = pgrst_row."stock" FROM jsonb_populate_record(null::"api"."goods", $1::jsonb) AS pgrst_row WHERE "api"."goods"."stock" > $2 RETURNING "api"."goods".*"#,
            "coalesce((json_agg(_postgrest_t)->0)::text, 'null')",
            "null::text",
            r#""pgrst_source"."id" FROM pgrst_mutation AS "pgrst_source""#
        )
    );
    assert_eq!(params, vec![r#"{"stock":0}"#, "0"]);
}

#[test]
fn delete_with_representation() {
    let (sql, params) =
        render("DELETE", "/goods?name=eq.kiwi&select=id,name", &[("prefer", "return=representation")], "");
    assert_eq!(
        sql,
        representation("goods", r#"DELETE FROM "api"."goods" WHERE "api"."goods"."name" = $1"#, &["id", "name"])
    );
    assert_eq!(params, vec!["kiwi"]);
}

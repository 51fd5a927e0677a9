//! Exact-SQL tests: request text in, statement text and parameters out. Reads and RPC here,
//! writes in `write.rs`.

mod parity;
mod write;

use crate::plan::plan_read;
use crate::request;
use crate::schema::SchemaCache;

use super::read::render_read;

fn cache() -> SchemaCache {
    let col = |name: &str, ty: &str| serde_json::json!({"name": name, "type": ty, "base_type": ty, "category": "S", "nullable": true, "default": null, "comment": null});
    let doc = serde_json::json!({
        "relations": [{
            "schema": "api", "name": "todos", "kind": "r", "comment": null, "updatable_mask": 28,
            "columns": [col("id", "integer"), col("title", "text"), col("data", "jsonb"), col("doc", "tsvector"), col("tags", "text[]")],
            "primary_key": ["id"], "unique": []
        }],
        "foreign_keys": [], "functions": []
    });
    SchemaCache::from_json(&doc.to_string()).unwrap()
}

fn render(uri: &str, headers: &[(&str, &str)]) -> (String, Vec<String>) {
    let mut b = hyper::Request::builder().uri(uri);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let parts = b.body(()).unwrap().into_parts().0;
    let req = request::parse(&parts, &["api".to_string()]).unwrap();
    let cache = cache();
    let plan = plan_read(&req, "todos", &cache, None).unwrap();
    let st = render_read(&plan);
    (st.main.sql.into_owned(), st.main.params)
}

/// JSON body of a read: an array of the rows.
const JSON_ARRAY: &str = "coalesce(json_agg(_postgrest_t), '[]')::text";

/// The whole read statement: `source` is the `pgrst_source` query, `total` the
/// `total_result_set` expression, `body` the body expression.
fn read_sql(source: &str, total: &str, body: &str) -> String {
    format!(
        "WITH pgrst_source AS ({source}) SELECT {total} AS total_result_set, pg_catalog.count(_postgrest_t) AS page_total, \
         {body} AS body, nullif(current_setting('response.headers', true), '') AS response_headers, \
         nullif(current_setting('response.status', true), '') AS response_status FROM (SELECT * FROM pgrst_source) _postgrest_t"
    )
}

/// A read without count whose body is a JSON array.
fn json_read(source: &str) -> String {
    read_sql(source, "null::bigint", JSON_ARRAY)
}

#[test]
fn plain_read() {
    let (sql, params) = render("/todos", &[]);
    assert_eq!(sql, json_read(r#"SELECT "api"."todos".* FROM "api"."todos""#));
    assert!(params.is_empty());
}

#[test]
fn filters_order_limit_are_parameters() {
    let (sql, params) =
        render("/todos?select=id,t:title&id=gt.5&title=like.*x*&order=id.desc.nullslast&limit=10&offset=20", &[]);
    assert_eq!(
        sql,
        json_read(
            r#"SELECT "api"."todos"."id", "api"."todos"."title" AS "t" FROM "api"."todos" WHERE "api"."todos"."id" > $1 AND "api"."todos"."title" LIKE $2 ORDER BY "api"."todos"."id" DESC NULLS LAST LIMIT $3 OFFSET $4"#
        )
    );
    assert_eq!(params, vec!["5", "%x%", "10", "20"]);
}

#[test]
fn in_list_is_one_array_parameter_whatever_its_length() {
    let (sql1, p1) = render("/todos?id=in.(1,2,3)", &[]);
    let (sql2, p2) = render("/todos?id=in.(4)", &[]);
    assert_eq!(sql1, sql2);
    assert_eq!(sql1, json_read(r#"SELECT "api"."todos".* FROM "api"."todos" WHERE "api"."todos"."id" = ANY($1)"#));
    assert_eq!(p1, vec!["{\"1\",\"2\",\"3\"}"]);
    assert_eq!(p2, vec!["{\"4\"}"]);
}

#[test]
fn stable_text_across_values() {
    assert_eq!(render("/todos?id=eq.1", &[]).0, render("/todos?id=eq.999", &[]).0);
}

#[test]
fn json_paths_bind_keys() {
    let (sql, params) = render("/todos?select=data-%3Ea-%3E0-%3E%3Eb&data-%3E%3Ek=eq.v", &[]);
    assert_eq!(
        sql,
        json_read(
            r#"SELECT "api"."todos"."data"->$3::text->$4::integer->>$5::text AS "b" FROM "api"."todos" WHERE "api"."todos"."data"->>$1::text = $2"#
        )
    );
    assert_eq!(params, vec!["k", "v", "a", "0", "b"]);
}

#[test]
fn non_json_columns_go_through_to_jsonb() {
    let (sql, params) = render("/todos?select=tags-%3E0", &[]);
    assert_eq!(sql, json_read(r#"SELECT to_jsonb("api"."todos"."tags")->$1::integer AS "0" FROM "api"."todos""#));
    assert_eq!(params, vec!["0"]);
}

#[test]
fn logic_trees_and_negation() {
    let (sql, params) = render("/todos?or=(id.lt.2,not.and(id.gte.5,title.is.null))&title=not.eq.a", &[]);
    assert_eq!(
        sql,
        json_read(
            r#"SELECT "api"."todos".* FROM "api"."todos" WHERE ("api"."todos"."id" < $1 OR NOT ("api"."todos"."id" >= $2 AND "api"."todos"."title" IS NULL)) AND NOT ("api"."todos"."title" = $3)"#
        )
    );
    assert_eq!(params, vec!["2", "5", "a"]);
}

#[test]
fn quantifiers_and_fts() {
    let (sql, params) = render("/todos?title=ilike(any).%7Ba*,b*%7D&doc=fts(english).cat&title=wfts.dog", &[]);
    assert_eq!(
        sql,
        json_read(
            r#"SELECT "api"."todos".* FROM "api"."todos" WHERE "api"."todos"."title" ILIKE ANY($1) AND "api"."todos"."doc" @@ to_tsquery($2::regconfig, $3) AND to_tsvector("api"."todos"."title") @@ websearch_to_tsquery($4)"#
        )
    );
    assert_eq!(params, vec!["{a%,b%}", "english", "cat", "dog"]);
}

#[test]
fn exact_count_reuses_where_parameters() {
    let (sql, params) = render("/todos?id=gt.1&limit=5", &[("prefer", "count=exact")]);
    assert_eq!(
        sql,
        read_sql(
            r#"SELECT "api"."todos".* FROM "api"."todos" WHERE "api"."todos"."id" > $1 LIMIT $2"#,
            r#"(SELECT pg_catalog.count(*) FROM (SELECT 1 FROM "api"."todos" WHERE "api"."todos"."id" > $1) pgrst_count)"#,
            JSON_ARRAY
        )
    );
    assert_eq!(params, vec!["1", "5"]);
}

#[test]
fn casts_and_csv_and_singular() {
    let (sql, params) = render("/todos?select=id::text", &[]);
    assert_eq!(sql, json_read(r#"SELECT ("api"."todos"."id")::text AS "id" FROM "api"."todos""#));
    assert!(params.is_empty());
    let (sql, params) = render("/todos?select=id,title", &[("accept", "text/csv")]);
    assert_eq!(
        sql,
        read_sql(
            r#"SELECT "api"."todos"."id", "api"."todos"."title" FROM "api"."todos""#,
            "null::bigint",
            "$1::text || coalesce(chr(10) || string_agg(substring(_postgrest_t::text, 2, length(_postgrest_t::text) - 2), chr(10)), '')"
        )
    );
    assert_eq!(params, vec!["id,title"]);
    let (sql, params) = render("/todos", &[("accept", "application/vnd.pgrst.object+json")]);
    assert_eq!(
        sql,
        read_sql(
            r#"SELECT "api"."todos".* FROM "api"."todos""#,
            "null::bigint",
            "coalesce((json_agg(_postgrest_t)->0)::text, 'null')"
        )
    );
    assert!(params.is_empty());
}

#[test]
fn hostile_identifiers_stay_quoted_or_rejected() {
    let cache = cache();
    let parts = hyper::Request::builder().uri("/todos?select=%22x%5C%22%3Bdrop%22:id").body(()).unwrap().into_parts().0;
    let req = request::parse(&parts, &["api".to_string()]).unwrap();
    let plan = plan_read(&req, "todos", &cache, None).unwrap();
    let st = render_read(&plan).main;
    assert_eq!(st.sql, json_read(r#"SELECT "api"."todos"."id" AS "x"";drop" FROM "api"."todos""#));
    assert!(st.params.is_empty());
    let parts = hyper::Request::builder().uri("/todos?select=id::text;drop").body(()).unwrap().into_parts().0;
    let req = request::parse(&parts, &["api".to_string()]).unwrap();
    assert_eq!(
        plan_read(&req, "todos", &cache, None).unwrap_err(),
        crate::plan::PlanError::UnsupportedCast("text;drop".into())
    );
}

fn film_cache() -> SchemaCache {
    let col = |name: &str, ty: &str| serde_json::json!({"name": name, "type": ty, "base_type": ty, "category": "N", "nullable": true, "default": null, "comment": null});
    let rel = |name: &str, cols: Vec<serde_json::Value>| serde_json::json!({"schema": "api", "name": name, "kind": "r", "comment": null, "updatable_mask": 28, "columns": cols, "primary_key": ["id"], "unique": []});
    let doc = serde_json::json!({
        "relations": [
            rel("directors", vec![col("id", "integer"), col("name", "text")]),
            rel("films", vec![col("id", "integer"), col("title", "text"), col("director_id", "integer")]),
        ],
        "foreign_keys": [{"name": "films_director_fk", "schema": "api", "table": "films", "columns": ["director_id"], "ref_schema": "api", "ref_table": "directors", "ref_columns": ["id"]}],
        "keys": [{"schema": "api", "table": "films", "kind": "p", "columns": ["id"]}, {"schema": "api", "table": "directors", "kind": "p", "columns": ["id"]}],
        "functions": []
    });
    SchemaCache::from_json(&doc.to_string()).unwrap()
}

fn render_on(cache: &SchemaCache, table: &str, uri: &str) -> (String, Vec<String>) {
    let parts = hyper::Request::builder().uri(uri).body(()).unwrap().into_parts().0;
    let req = request::parse(&parts, &["api".to_string()]).unwrap();
    let plan = plan_read(&req, table, cache, None).unwrap();
    let st = render_read(&plan);
    (st.main.sql.into_owned(), st.main.params)
}

#[test]
fn many_to_one_embed_is_a_lateral_row() {
    let cache = film_cache();
    let (sql, params) = render_on(&cache, "films", "/films?select=title,d:directors(name)&d.name=eq.x");
    assert_eq!(
        sql,
        json_read(
            r#"SELECT "api"."films"."title", row_to_json("pgrst_1".*)::jsonb AS "d" FROM "api"."films" LEFT JOIN LATERAL (SELECT "pgrst_1_t"."name" FROM "api"."directors" AS "pgrst_1_t" WHERE "pgrst_1_t"."id" = "api"."films"."director_id" AND "pgrst_1_t"."name" = $1) AS "pgrst_1" ON TRUE"#
        )
    );
    assert_eq!(params, vec!["x"]);
}

#[test]
fn one_to_many_embed_is_an_aggregated_lateral_and_inner_is_exists() {
    let cache = film_cache();
    let (sql, params) =
        render_on(&cache, "directors", "/directors?select=name,films!inner(title)&films.order=title&films.limit=2");
    assert_eq!(
        sql,
        json_read(
            r#"SELECT "api"."directors"."name", COALESCE("pgrst_1"."pgrst_1", '[]') AS "films" FROM "api"."directors" LEFT JOIN LATERAL (SELECT json_agg("pgrst_1")::jsonb AS "pgrst_1" FROM (SELECT "pgrst_1_t"."title" FROM "api"."films" AS "pgrst_1_t" WHERE "pgrst_1_t"."director_id" = "api"."directors"."id" ORDER BY "pgrst_1_t"."title" LIMIT $1) AS "pgrst_1") AS "pgrst_1" ON TRUE WHERE EXISTS (SELECT 1 FROM "api"."films" AS "pgrst_1_t" WHERE "pgrst_1_t"."director_id" = "api"."directors"."id")"#
        )
    );
    assert_eq!(params, vec!["2"]);
}

#[test]
fn rpc_calls_bind_arguments_cast_to_catalog_types() {
    let doc = serde_json::json!({
        "relations": [], "foreign_keys": [],
        "functions": [{
            "schema": "api", "name": "add", "volatility": "i", "returns_set": false, "variadic": false,
            "return_type": "integer", "return_typtype": "b", "return_rel_schema": null, "return_rel_name": null,
            "nargs": 2, "nargdefaults": 0, "comment": null,
            "args": [{"name": "a", "type": "integer", "mode": "i"}, {"name": "b", "type": "integer", "mode": "i"}]
        }]
    });
    let cache = SchemaCache::from_json(&doc.to_string()).unwrap();
    let parts = hyper::Request::builder().uri("/rpc/add?a=1&b=2").body(()).unwrap().into_parts().0;
    let req = request::parse(&parts, &["api".to_string()]).unwrap();
    let plan = crate::plan::rpc::plan_rpc(&req, &cache, "add", None).unwrap();
    let st = crate::sql::rpc::render_rpc(&plan).main;
    assert_eq!(
        st.sql,
        read_sql(
            r#"SELECT "api"."add"("a" := $1::integer, "b" := $2::integer) AS pgrst_scalar"#,
            "null::bigint",
            "coalesce((json_agg(_postgrest_t.pgrst_scalar)->0)::text, 'null')"
        )
    );
    assert_eq!(st.params, vec!["1", "2"]);
}

/// A function declared `rowgate.stream = 'json'`: one row per piece, no aggregate.
#[test]
fn streamed_rpc_calls_select_the_pieces_as_they_come() {
    let doc = serde_json::json!({
        "relations": [], "foreign_keys": [],
        "functions": [{
            "schema": "api", "name": "export_org", "volatility": "s", "returns_set": true, "variadic": false,
            "return_type": "text", "return_typtype": "b", "return_rel_schema": null, "return_rel_name": null,
            "nargs": 1, "nargdefaults": 0, "comment": null, "stream": "json", "rate_limit": null,
            "args": [{"name": "org_id", "type": "uuid", "mode": "i"}]
        }]
    });
    let cache = SchemaCache::from_json(&doc.to_string()).unwrap();
    let parts = hyper::Request::builder()
        .uri("/rpc/export_org?org_id=0a000000-0000-0000-0000-000000000000")
        .body(())
        .unwrap()
        .into_parts()
        .0;
    let req = request::parse(&parts, &["api".to_string()]).unwrap();
    let plan = crate::plan::rpc::plan_rpc(&req, &cache, "export_org", None).unwrap();
    let st = crate::sql::rpc::render_rpc(&plan);
    assert_eq!(
        st.main.sql,
        r#"SELECT "pgrst_call"::text FROM "api"."export_org"("org_id" := $1::uuid) AS "pgrst_call""#
    );
    assert_eq!(st.main.params, vec!["0a000000-0000-0000-0000-000000000000"]);
    assert!(st.explain.is_none());
}

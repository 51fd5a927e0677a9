//! Unit tests of the plan stage: requests parsed by `request::parse_with_body`, planned against a
//! schema cache built from JSON (the shape `schema/introspect.sql` returns), and the plans' fields
//! or errors compared exactly.

mod embed;
mod rpc;
mod select;
mod write;

use serde_json::{json, Value};

use crate::request::{self, ApiRequest, Target};
use crate::schema::{Column, Relation, SchemaCache};

use super::read::{plan_read, ReadPlan};
use super::{ColumnRef, OutputColumn, PlanError};

fn col(name: &str, ty: &str, default: Option<&str>) -> Value {
    json!({"name": name, "type": ty, "base_type": ty, "category": "N", "nullable": true,
           "default": default, "comment": null})
}

fn rel(name: &str, kind: &str, columns: Vec<Value>, primary_key: &[&str]) -> Value {
    json!({"schema": "api", "name": name, "kind": kind, "comment": null, "updatable_mask": 28,
           "columns": columns, "primary_key": primary_key, "unique": []})
}

fn fk(name: &str, table: &str, columns: &[&str], ref_table: &str, ref_columns: &[&str]) -> Value {
    json!({"name": name, "schema": "api", "table": table, "columns": columns,
           "ref_schema": "api", "ref_table": ref_table, "ref_columns": ref_columns})
}

fn key(table: &str, kind: &str, columns: &[&str]) -> Value {
    json!({"schema": "api", "table": table, "kind": kind, "columns": columns})
}

/// A function returning `return_type` (a base type unless `rows` names a relation of `api`).
fn func(name: &str, volatility: &str, args: Value, returns: &str, set: bool, nargdefaults: i32) -> Value {
    let rows = returns.strip_prefix("api.");
    let nargs = args.as_array().unwrap().len();
    json!({"schema": "api", "name": name, "volatility": volatility, "returns_set": set,
           "variadic": args.as_array().unwrap().iter().any(|a| a["mode"] == "v"),
           "return_type": returns, "return_typtype": if rows.is_some() { "c" } else { "b" },
           "return_rel_schema": rows.map(|_| "api"), "return_rel_name": rows,
           "nargs": nargs, "nargdefaults": nargdefaults, "comment": null, "args": args})
}

/// `api.name(api.of) returns [setof] returns`: a field unless a set, a relationship when it
/// returns rows of `target`.
fn computed(name: &str, of: &str, returns: &str, set: bool, target: Option<&str>, single: bool) -> Value {
    json!({"schema": "api", "name": name, "rel_schema": "api", "rel_name": of, "type": returns,
           "base_type": returns, "category": if target.is_some() { "C" } else { "S" }, "returns_set": set,
           "target_schema": target.map(|_| "api"), "target_name": target, "single_row": single, "comment": null})
}

fn arg(name: &str, ty: &str, mode: &str) -> Value {
    json!({"name": name, "type": ty, "mode": mode})
}

/// The world of these tests:
/// - `films` → `people` twice (director, writer: ambiguous), → `studios` once;
/// - `films` ↔ `actors` many-to-many through `roles` (whose key holds both foreign keys);
/// - `goods` with column defaults, `org_items` with a two-column key, `feed` (a view without one);
/// - functions: overloads chosen by argument names, ambiguous ones, table- and row-valued ones,
///   a scalar, a set of scalars, a void one, one taking the body, a variadic one, a streamed one;
/// - `totals`, a view PostgreSQL cannot write.
pub fn cache() -> SchemaCache {
    let int = |n: &str| col(n, "integer", None);
    let text = |n: &str| col(n, "text", None);
    // A view PostgreSQL cannot write (a join or an aggregate).
    let mut totals = rel("totals", "v", vec![int("id"), int("total")], &[]);
    totals["updatable_mask"] = json!(0);
    let mut export_all = func("export_all", "s", json!([arg("org", "integer", "i")]), "text", true, 0);
    export_all["stream"] = json!("json");
    // Declared, but not a `setof text`: not streamed.
    let mut not_a_stream = func("not_a_stream", "s", json!([]), "text", false, 0);
    not_a_stream["stream"] = json!("json");
    not_a_stream["rate_limit"] = json!("auth");
    let doc = json!({
        "relations": [
            rel("people", "r", vec![int("id"), text("name")], &["id"]),
            rel("studios", "r", vec![int("id"), text("name")], &["id"]),
            rel("films", "r", vec![int("id"), text("title"), int("year"), int("director_id"), int("writer_id"),
                                  int("studio_id"), col("data", "jsonb", None)], &["id"]),
            rel("actors", "r", vec![int("id"), text("name")], &["id"]),
            rel("roles", "r", vec![int("film_id"), int("actor_id"), text("character")], &["film_id", "actor_id"]),
            rel("goods", "r", vec![
                col("id", "integer", Some("nextval('api.goods_id_seq'::regclass)")),
                text("name"),
                col("price", "numeric", None),
                col("stock", "integer", Some("0")),
            ], &["id"]),
            rel("org_items", "r", vec![int("org_id"), int("id"), text("label")], &["org_id", "id"]),
            rel("feed", "v", vec![int("id"), text("body")], &[]),
            rel("employees", "r", vec![int("id"), text("name"), int("manager_id")], &["id"]),
            rel("awards", "r", vec![int("id"), int("film_id")], &["id"]),
            totals,
        ],
        // Computed fields and relationships (functions of one row).
        "computed": [
            computed("label", "films", "text", false, None, true),
            computed("boss", "employees", "api.employees", true, Some("employees"), true),
            computed("reports", "employees", "api.employees", true, Some("employees"), false),
            computed("films", "awards", "api.films", true, Some("films"), true),
        ],
        "foreign_keys": [
            fk("films_director_fk", "films", &["director_id"], "people", &["id"]),
            fk("films_writer_fk", "films", &["writer_id"], "people", &["id"]),
            fk("films_studio_fk", "films", &["studio_id"], "studios", &["id"]),
            fk("roles_film_fk", "roles", &["film_id"], "films", &["id"]),
            fk("roles_actor_fk", "roles", &["actor_id"], "actors", &["id"]),
            fk("employees_manager_fk", "employees", &["manager_id"], "employees", &["id"]),
            fk("awards_film_fk", "awards", &["film_id"], "films", &["id"]),
        ],
        "keys": [
            key("people", "p", &["id"]),
            key("studios", "p", &["id"]),
            key("films", "p", &["id"]),
            key("actors", "p", &["id"]),
            key("roles", "p", &["film_id", "actor_id"]),
            key("goods", "p", &["id"]),
            key("goods", "u", &["name"]),
            key("org_items", "p", &["org_id", "id"]),
            key("employees", "p", &["id"]),
            key("awards", "p", &["id"]),
        ],
        "functions": [
            func("add", "i", json!([arg("a", "integer", "i"), arg("b", "integer", "i")]), "integer", false, 0),
            func("greet", "s", json!([arg("name", "text", "i")]), "text", false, 0),
            func("greet", "s", json!([arg("first", "text", "i"), arg("last", "text", "i")]), "text", false, 0),
            func("pick", "s", json!([arg("x", "integer", "i")]), "integer", false, 0),
            func("pick", "s", json!([arg("x", "text", "i")]), "text", false, 0),
            func("search_films", "s", json!([arg("q", "text", "i")]), "api.films", true, 0),
            func("film_by_id", "s", json!([arg("fid", "integer", "i")]), "api.films", false, 0),
            func("numbers", "i", json!([arg("upto", "integer", "i")]), "integer", true, 0),
            func("touch", "v", json!([]), "void", false, 0),
            func("echo", "i", json!([arg("", "json", "i")]), "json", false, 0),
            func("sum_all", "i", json!([arg("xs", "integer[]", "v")]), "integer", false, 0),
            func("window", "s", json!([arg("lo", "integer", "i"), arg("hi", "integer", "i")]), "integer", false, 1),
            func("bump", "v", json!([arg("tags", "text[]", "i"), arg("meta", "jsonb", "i"), arg("n", "integer", "i")]),
                 "integer", false, 0),
            export_all,
            not_a_stream,
        ]
    });
    SchemaCache::from_json(&doc.to_string()).unwrap()
}

/// A request as the pipeline parses it: schemas `api` and `v2`, `api` the default. `>` and `"`
/// are percent-encoded here, so URIs read as a client writes them (`data->a`).
pub fn parse(method: &str, uri: &str, headers: &[(&str, &str)], body: &str) -> ApiRequest {
    let mut b = hyper::Request::builder().method(method).uri(uri.replace('>', "%3E").replace('"', "%22"));
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let parts = b.body(()).unwrap().into_parts().0;
    request::parse_with_body(&parts, &bytes::Bytes::from(body.to_string()), &["api".into(), "v2".into()])
        .unwrap_or_else(|e| panic!("{uri} does not parse: {e:?}"))
}

pub fn get(uri: &str) -> ApiRequest {
    parse("GET", uri, &[], "")
}

/// The name in the request's path: `/films` → `films`, `/rpc/add` → `add`.
pub fn target(req: &ApiRequest) -> &str {
    match &req.target {
        Target::Relation(n) | Target::Rpc(n) => n,
        Target::Root => panic!("no target"),
    }
}

pub fn read<'a>(req: &'a ApiRequest, cache: &'a SchemaCache) -> Result<ReadPlan<'a>, PlanError> {
    plan_read(req, target(req), cache, None)
}

/// The error of planning `GET uri` as a read.
pub fn read_error(uri: &str) -> PlanError {
    let cache = cache();
    let req = get(uri);
    read(&req, &cache).unwrap_err()
}

pub fn relation<'a>(cache: &'a SchemaCache, name: &str) -> &'a Relation {
    cache.relation("api", name).unwrap()
}

pub fn column<'a>(cache: &'a SchemaCache, relation_name: &str, name: &str) -> &'a Column {
    relation(cache, relation_name).column(name).unwrap()
}

/// `name` selected without alias, cast or JSON path.
pub fn plain<'a>(column: &'a Column) -> OutputColumn<'a> {
    OutputColumn::Column {
        target: ColumnRef { column, json_path: &[] },
        cast: None,
        name: &column.name,
        renamed: false,
    }
}

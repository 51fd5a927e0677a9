//! The document: paths per relation and function, components, security. The path items are
//! built in `paths.rs`, the component schemas in `schemas.rs`; this file assembles them with the
//! shared parameters, the root path and the error response.
//!
//! Deterministic: relations and functions are taken in name order (overloads by argument
//! count and types), and `serde_json::Map` keeps object keys sorted.

mod paths;
mod schemas;

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::schema::{Function, Relation};

use super::names::{self, component_key};
use super::{Commands, DocumentInput};
use schemas::{relation_schema, returned_relation};

/// Query words that are never column filters or RPC arguments.
const RESERVED: &[&str] = &["select", "order", "limit", "offset", "columns", "on_conflict", "and", "or"];

pub fn document(input: &DocumentInput) -> Value {
    let cache = input.cache;
    let mut relations: Vec<(&Relation, Commands)> =
        cache.relations_in(input.schema).filter_map(|r| input.visibility.relation(&r.name).map(|c| (r, c))).collect();
    relations.sort_by(|a, b| a.0.name.cmp(&b.0.name));

    let mut functions: BTreeMap<&str, Vec<&Function>> = BTreeMap::new();
    for f in cache.functions_in(input.schema) {
        if input.visibility.function(&f.name) {
            functions.entry(f.name.as_str()).or_default().push(f);
        }
    }
    for overloads in functions.values_mut() {
        overloads.sort_by_key(|f| (f.nargs, arg_types(f)));
    }

    let ctx = Context { input, profiles: input.schemas.len() > 1 };

    let mut paths = Map::new();
    paths.insert("/".into(), ctx.root_path());
    // Component schemas: every listed relation, and relations of this schema that a listed
    // function returns (the function exposes those columns anyway).
    let mut schemas = Map::new();
    for (rel, commands) in &relations {
        let item = ctx.relation_path(rel, *commands);
        if !item.is_empty() {
            paths.insert(names::path("/", &rel.name), Value::Object(item));
        }
        schemas.insert(component_key(&rel.name), relation_schema(input, rel));
    }
    for (name, overloads) in &functions {
        paths.insert(names::path("/rpc/", name), ctx.function_path(overloads));
        for f in overloads {
            if let Some(rel) = returned_relation(input, f) {
                schemas.entry(component_key(&rel.name)).or_insert_with(|| relation_schema(input, rel));
            }
        }
    }
    schemas.insert(
        names::ERROR.into(),
        json!({
            "type": "object",
            "description": "The error body of every failed request.",
            "properties": {
                "code": {"type": "string", "description": "A PostgREST (`PGRST…`) or SQLSTATE code."},
                "message": {"type": "string"},
                "details": {"type": ["string", "null"]},
                "hint": {"type": ["string", "null"]}
            },
            "required": ["code", "message", "details", "hint"]
        }),
    );

    let (title, description) = split_comment(input.title);
    let mut info = json!({
        "title": title.unwrap_or_else(|| "rowgate API".into()),
        "version": env!("CARGO_PKG_VERSION"),
    });
    info["description"] = json!(description.unwrap_or_else(|| format!(
        "PostgREST-compatible API of the `{}` schema, served by rowgate {}.",
        input.schema,
        env!("CARGO_PKG_VERSION")
    )));

    let mut doc = json!({
        "openapi": "3.1.0",
        "info": info,
        "paths": paths,
        "components": {
            "schemas": schemas,
            "parameters": ctx.shared_parameters(),
            "responses": {
                "Error": {
                    "description": "Error",
                    "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{}", names::ERROR)}}}
                }
            },
            "headers": {
                "ContentRange": {
                    "description": "The rows returned and the total when counted: `0-9/100`, `0-9/*`, `*/0`.",
                    "schema": {"type": "string"}
                }
            },
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            }
        },
        "security": [{}, {"bearerAuth": []}],
    });
    if let Some(url) = input.server_url {
        doc["servers"] = json!([{"url": url}]);
    }
    doc
}

struct Context<'a, 'b> {
    input: &'a DocumentInput<'b>,
    profiles: bool,
}

fn param_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/parameters/{name}")})
}

fn errors(responses: &mut Map<String, Value>) {
    let e = json!({"$ref": "#/components/responses/Error"});
    responses.insert("4XX".into(), e.clone());
    responses.insert("5XX".into(), e);
}

/// JSON arrays of rows, one row as an object, or CSV.
fn rows_content(row: &Value) -> Value {
    json!({
        "application/json": {"schema": {"type": "array", "items": row}},
        "application/vnd.pgrst.object+json": {"schema": row},
        "text/csv": {"schema": {"type": "string"}}
    })
}

fn rows_response(description: &str, row: &Value) -> Value {
    json!({
        "description": description,
        "headers": {"Content-Range": {"$ref": "#/components/headers/ContentRange"}},
        "content": rows_content(row)
    })
}

impl Context<'_, '_> {
    fn shared_parameters(&self) -> Value {
        let prefer = |what: &str, examples: &[&str]| {
            json!({
                "name": "Prefer", "in": "header", "required": false,
                "description": format!("Preferences, comma-separated: {what}"),
                "schema": {"type": "string", "examples": examples}
            })
        };
        let tx_handling = "`tx=commit|rollback`, `handling=lenient|strict`";
        let mut p = json!({
            "select": {
                "name": "select", "in": "query", "required": false,
                "description": "Columns to return, renamed (`alias:column`), cast (`column::text`), JSON paths (`data->a->>b`) or embedded: `select=id,name`.",
                "schema": {"type": "string"}
            },
            "order": {
                "name": "order", "in": "query", "required": false,
                "description": "Ordering: `order=column.asc|desc.nullsfirst|nullslast,…`.",
                "schema": {"type": "string"}
            },
            "limit": {
                "name": "limit", "in": "query", "required": false,
                "description": "At most this many rows.",
                "schema": {"type": "integer", "minimum": 0}
            },
            "offset": {
                "name": "offset", "in": "query", "required": false,
                "description": "Skip this many rows.",
                "schema": {"type": "integer", "minimum": 0}
            },
            "range": {
                "name": "Range", "in": "header", "required": false,
                "description": "Rows to return, zero-based and inclusive: `0-9`, `10-`.",
                "schema": {"type": "string"}
            },
            "rangeUnit": {
                "name": "Range-Unit", "in": "header", "required": false,
                "schema": {"type": "string", "default": "items"}
            },
            "columns": {
                "name": "columns", "in": "query", "required": false,
                "description": "The body keys to insert or update, comma-separated; others are ignored (and missing ones take their default with `missing=default`).",
                "schema": {"type": "string"}
            },
            "onConflict": {
                "name": "on_conflict", "in": "query", "required": false,
                "description": "The unique columns that identify a conflicting row for an upsert (`Prefer: resolution=…`).",
                "schema": {"type": "string"}
            },
            "preferGet": prefer(
                &format!("`count=exact|planned|estimated`, {tx_handling}"),
                &["count=exact", "count=planned", "count=estimated"]
            ),
            "preferPost": prefer(
                &format!("`return=minimal|headers-only|representation`, `resolution=merge-duplicates|ignore-duplicates`, `missing=default`, `count=exact|planned|estimated`, {tx_handling}"),
                &["return=representation", "return=minimal", "resolution=merge-duplicates", "resolution=ignore-duplicates, return=representation", "missing=default"]
            ),
            "preferPut": prefer(
                &format!("`return=minimal|representation`, {tx_handling}"),
                &["return=representation", "return=minimal"]
            ),
            "preferWrite": prefer(
                &format!("`return=minimal|representation`, `count=exact|planned|estimated`, `max-affected=n`, {tx_handling}"),
                &["return=representation", "return=minimal", "count=exact"]
            ),
            "preferRpc": prefer(
                &format!("`params=single-object`, `count=exact|planned|estimated`, {tx_handling}"),
                &["count=exact", "params=single-object"]
            ),
        });
        if self.profiles {
            let schemas = self.input.schemas;
            p["acceptProfile"] = json!({
                "name": "Accept-Profile", "in": "header", "required": false,
                "description": "The schema to read from; the first exposed schema when absent.",
                "schema": {"type": "string", "enum": schemas, "default": schemas[0]}
            });
            p["contentProfile"] = json!({
                "name": "Content-Profile", "in": "header", "required": false,
                "description": "The schema to write to (or call the function in); the first exposed schema when absent.",
                "schema": {"type": "string", "enum": schemas, "default": schemas[0]}
            });
        }
        p
    }

    fn read_profile(&self, params: &mut Vec<Value>) {
        if self.profiles {
            params.push(param_ref("acceptProfile"));
        }
    }

    fn write_profile(&self, params: &mut Vec<Value>) {
        if self.profiles {
            params.push(param_ref("contentProfile"));
        }
    }

    fn root_path(&self) -> Value {
        let mut params = Vec::new();
        self.read_profile(&mut params);
        let mut responses = Map::new();
        responses.insert(
            "200".into(),
            json!({
                "description": "This OpenAPI document.",
                "content": {
                    "application/openapi+json": {"schema": {"type": "object"}},
                    "application/json": {"schema": {"type": "object"}}
                }
            }),
        );
        errors(&mut responses);
        json!({"get": {
            "tags": ["Introspection"],
            "summary": "OpenAPI description (this document)",
            "parameters": params,
            "responses": responses
        }})
    }
}

fn arg_types(f: &Function) -> String {
    f.args.iter().map(|a| format!("{}:{}", a.mode, a.data_type)).collect::<Vec<_>>().join(",")
}

/// A comment's first line and the rest (PostgREST's summary/description split).
fn split_comment(comment: Option<&str>) -> (Option<String>, Option<String>) {
    let Some(c) = comment.map(str::trim).filter(|c| !c.is_empty()) else {
        return (None, None);
    };
    match c.split_once('\n') {
        Some((first, rest)) => {
            let rest = rest.trim();
            (Some(first.trim().to_string()), (!rest.is_empty()).then(|| rest.to_string()))
        }
        None => (Some(c.to_string()), None),
    }
}

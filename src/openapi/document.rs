//! The document: paths per relation and function, components, security.
//!
//! Deterministic: relations and functions are taken in name order (overloads by argument
//! count and types), and `serde_json::Map` keeps object keys sorted.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::schema::{Function, Relation, RelationKind};

use super::names::{self, component_key, schema_ref};
use super::types::{column_schema, describe, nullable, object, type_schema};
use super::{Commands, DocumentInput};

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

    fn relation_path(&self, rel: &Relation, commands: Commands) -> Map<String, Value> {
        let row = schema_ref(&rel.name);
        let (summary, description) = split_comment(rel.comment.as_deref());
        let table_like = matches!(rel.kind, RelationKind::Table | RelationKind::PartitionedTable);
        let insert = commands.insert && (table_like || rel.can_insert());
        let update = commands.update && (table_like || rel.can_update());
        let delete = commands.delete && (table_like || rel.can_delete());
        let put = insert && update && !rel.primary_key.is_empty();

        let filters: Vec<Value> = rel
            .columns
            .iter()
            .filter(|c| !RESERVED.contains(&c.name.as_str()))
            .map(|c| {
                json!({
                    "name": c.name, "in": "query", "required": false,
                    "description": format!(
                        "Filter on `{0}` ({1}): `operator.value`, e.g. `{0}=eq.x`, `{0}=in.(x,y)`, `{0}=is.null`, `{0}=not.eq.x`; \
                         operators: eq, neq, gt, gte, lt, lte, like, ilike, match, imatch, in, is, isdistinct, fts, plfts, phfts, wfts, cs, cd, ov, sl, sr, nxr, nxl, adj.",
                        c.name, c.data_type
                    ),
                    "schema": {"type": "string"}
                })
            })
            .collect();
        let op = |params: Vec<Value>, responses: Map<String, Value>| {
            let mut o = json!({"tags": [rel.name], "parameters": params, "responses": responses});
            if let Some(s) = &summary {
                o["summary"] = json!(s);
            }
            if let Some(d) = &description {
                o["description"] = json!(d);
            }
            o
        };
        let written = |status: &str, text: &str| {
            let mut r = Map::new();
            r.insert(status.into(), rows_response(&format!("{text} (`Prefer: return=representation`)"), &row));
            r
        };
        let no_content = |r: &mut Map<String, Value>| {
            r.insert("204".into(), json!({"description": "No Content"}));
        };

        let mut item = Map::new();
        if commands.select {
            let mut params = filters.clone();
            for p in ["select", "order", "range", "rangeUnit", "offset", "limit", "preferGet"] {
                params.push(param_ref(p));
            }
            self.read_profile(&mut params);
            let mut r = Map::new();
            r.insert("200".into(), rows_response("OK", &row));
            r.insert("206".into(), rows_response("Partial Content", &row));
            errors(&mut r);
            item.insert("get".into(), op(params, r));
        }
        if insert {
            let mut params =
                vec![param_ref("select"), param_ref("columns"), param_ref("onConflict"), param_ref("preferPost")];
            self.write_profile(&mut params);
            let mut r = written("201", "Created");
            errors(&mut r);
            let mut o = op(params, r);
            o["requestBody"] = json!({
                "required": true,
                "description": format!("One `{}` row or an array of rows.", rel.name),
                "content": {
                    "application/json": {"schema": {"oneOf": [row, {"type": "array", "items": row}]}},
                    "text/csv": {"schema": {"type": "string"}}
                }
            });
            item.insert("post".into(), o);
        }
        if put {
            let mut params = filters.clone();
            params.push(param_ref("select"));
            params.push(param_ref("preferPut"));
            self.write_profile(&mut params);
            let mut r = written("200", "OK");
            no_content(&mut r);
            errors(&mut r);
            let mut o = op(params, r);
            o["description"] = json!(format!(
                "Inserts or replaces the one row whose primary key ({}) the `eq` filters give.{}",
                rel.primary_key.join(", "),
                description.as_deref().map(|d| format!("\n\n{d}")).unwrap_or_default()
            ));
            o["requestBody"] = json!({
                "required": true,
                "content": {"application/json": {"schema": row}}
            });
            item.insert("put".into(), o);
        }
        if update {
            let mut params = filters.clone();
            for p in ["select", "order", "limit", "preferWrite"] {
                params.push(param_ref(p));
            }
            self.write_profile(&mut params);
            let mut r = written("200", "OK");
            no_content(&mut r);
            errors(&mut r);
            let mut o = op(params, r);
            o["requestBody"] = json!({
                "required": true,
                "description": "The columns to change.",
                "content": {"application/json": {"schema": patch_schema(rel)}}
            });
            item.insert("patch".into(), o);
        }
        if delete {
            let mut params = filters;
            for p in ["select", "order", "limit", "preferWrite"] {
                params.push(param_ref(p));
            }
            self.write_profile(&mut params);
            let mut r = written("200", "OK");
            no_content(&mut r);
            errors(&mut r);
            item.insert("delete".into(), op(params, r));
        }
        item
    }

    fn function_path(&self, overloads: &[&Function]) -> Value {
        let first = overloads[0];
        let (summary, description) = split_comment(first.comment.as_deref());
        let tag = format!("(rpc) {}", first.name);
        let result = one_of(overloads.iter().map(|f| self.result_schema(f)).collect());
        let set_of_rows = overloads.iter().all(|f| f.returns_set || returned_relation(self.input, f).is_some());
        let void = overloads.iter().all(|f| f.return_type == "void");
        let responses = |result: &Value| {
            let mut r = Map::new();
            if void {
                r.insert("204".into(), json!({"description": "No Content"}));
            } else if set_of_rows && result.get("type").and_then(Value::as_str) == Some("array") {
                let row = &result["items"];
                r.insert("200".into(), rows_response("OK", row));
                r.insert("206".into(), rows_response("Partial Content", row));
            } else {
                r.insert(
                    "200".into(),
                    json!({"description": "OK", "content": {"application/json": {"schema": result}}}),
                );
            }
            errors(&mut r);
            r
        };
        let shared = |params: &mut Vec<Value>| {
            if overloads.iter().any(|f| f.returns_set) {
                for p in ["select", "order", "range", "rangeUnit", "offset", "limit"] {
                    params.push(param_ref(p));
                }
            }
            params.push(param_ref("preferRpc"));
        };
        let op = |params: Vec<Value>| {
            let mut o = json!({"tags": [tag], "parameters": params, "responses": responses(&result)});
            if let Some(s) = &summary {
                o["summary"] = json!(s);
            }
            if let Some(d) = &description {
                o["description"] = json!(d);
            }
            o
        };

        let mut item = Map::new();
        let mut params = Vec::new();
        shared(&mut params);
        self.write_profile(&mut params);
        let mut post = op(params);
        let bodies: Vec<(Value, bool)> = overloads.iter().map(|f| body_schema(f)).collect();
        let required = bodies.iter().all(|(_, r)| *r);
        post["requestBody"] = json!({
            "required": required,
            "content": {"application/json": {"schema": one_of(bodies.into_iter().map(|(b, _)| b).collect())}}
        });
        item.insert("post".into(), post);

        // GET runs read-only: only for functions that cannot write.
        let readers: Vec<&Function> =
            overloads.iter().copied().filter(|f| f.volatility == "s" || f.volatility == "i").collect();
        if !readers.is_empty() {
            let mut params: Vec<Value> = Vec::new();
            let mut seen: Vec<&str> = Vec::new();
            for f in &readers {
                for (i, arg) in inputs(f).enumerate() {
                    if arg.name.is_empty() || RESERVED.contains(&arg.name.as_str()) || seen.contains(&arg.name.as_str())
                    {
                        continue;
                    }
                    seen.push(&arg.name);
                    let required = readers.len() == 1 && i < required_inputs(f);
                    let mut p = json!({
                        "name": arg.name, "in": "query", "required": required,
                        "schema": type_schema(&arg.data_type)
                    });
                    if arg.mode == "v" || arg.data_type.ends_with("[]") {
                        p["description"] = json!("Repeat the parameter for each element: `?a=1&a=2`.");
                        p["explode"] = json!(true);
                    }
                    params.push(p);
                }
            }
            shared(&mut params);
            self.read_profile(&mut params);
            item.insert("get".into(), op(params));
        }
        Value::Object(item)
    }

    /// What one function returns, as the JSON body shows it.
    fn result_schema(&self, f: &Function) -> Value {
        let one = if let Some(rel) = returned_relation(self.input, f) {
            schema_ref(&rel.name)
        } else if let Some(rel) = f
            .return_rel_schema
            .as_deref()
            .zip(f.return_rel_name.as_deref())
            .and_then(|(s, n)| self.input.cache.relation(s, n))
        {
            // A relation of another schema: inline.
            relation_schema(self.input, rel)
        } else if f.return_typtype == "c" {
            json!({"type": "object"})
        } else if f.return_type == "record" {
            let outs: Vec<_> = f.args.iter().filter(|a| matches!(a.mode.as_str(), "o" | "b" | "t")).collect();
            if outs.is_empty() {
                json!({})
            } else {
                let props = outs.iter().map(|a| (a.name.clone(), nullable(type_schema(&a.data_type)))).collect();
                object(props, Vec::new())
            }
        } else if f.return_type == "void" {
            json!({"type": "null"})
        } else {
            nullable(type_schema(&f.return_type))
        };
        if f.returns_set {
            json!({"type": "array", "items": one})
        } else {
            one
        }
    }
}

/// The input arguments (`i`, `b`, `v`) in declaration order.
fn inputs(f: &Function) -> impl Iterator<Item = &crate::schema::FunctionArg> {
    f.args.iter().filter(|a| matches!(a.mode.as_str(), "i" | "b" | "v"))
}

/// How many leading input arguments have no default (the last `nargdefaults` have one).
fn required_inputs(f: &Function) -> usize {
    inputs(f).count().saturating_sub(f.nargdefaults.max(0) as usize)
}

/// The JSON body of a call, and whether a body is required at all.
fn body_schema(f: &Function) -> (Value, bool) {
    let args: Vec<_> = inputs(f).collect();
    if let [only] = args.as_slice() {
        if only.name.is_empty() {
            // One unnamed argument takes the whole body.
            return (type_schema(&only.data_type), f.nargdefaults == 0);
        }
    }
    let required_count = required_inputs(f);
    let mut props = Map::new();
    let mut required = Vec::new();
    for (i, arg) in args.iter().enumerate() {
        if arg.name.is_empty() {
            continue;
        }
        let mut schema = type_schema(&arg.data_type);
        if arg.mode == "v" {
            schema = describe(schema, Some("Variadic: the array of the remaining arguments.".into()));
        }
        props.insert(arg.name.clone(), schema);
        if i < required_count {
            required.push(arg.name.clone());
        }
    }
    let any_required = !required.is_empty();
    let mut schema = object(props, required);
    if let Some(c) = &f.comment {
        schema = describe(schema, Some(c.clone()));
    }
    (schema, any_required)
}

fn one_of(mut schemas: Vec<Value>) -> Value {
    schemas.dedup();
    if schemas.len() == 1 {
        schemas.pop().unwrap_or_default()
    } else {
        json!({"oneOf": schemas})
    }
}

fn arg_types(f: &Function) -> String {
    f.args.iter().map(|a| format!("{}:{}", a.mode, a.data_type)).collect::<Vec<_>>().join(",")
}

/// The relation of the described schema whose rows `f` returns.
fn returned_relation<'a>(input: &DocumentInput<'a>, f: &Function) -> Option<&'a Relation> {
    let (schema, name) = (f.return_rel_schema.as_deref()?, f.return_rel_name.as_deref()?);
    (schema == input.schema).then(|| input.cache.relation(schema, name)).flatten()
}

/// The row schema: properties from columns, `required` = NOT NULL without default.
fn relation_schema(input: &DocumentInput, rel: &Relation) -> Value {
    let mut props = Map::new();
    let mut required = Vec::new();
    for c in &rel.columns {
        let mut notes: Vec<String> = c.comment.iter().cloned().collect();
        if rel.primary_key.contains(&c.name) {
            notes.push("Note:\nThis is a Primary Key.<pk/>".into());
        }
        for fk in input
            .cache
            .foreign_keys
            .iter()
            .filter(|fk| fk.schema == rel.schema && fk.table == rel.name && fk.columns.len() == 1)
        {
            if fk.columns[0] == c.name {
                notes.push(format!(
                    "Note:\nThis is a Foreign Key to `{0}.{1}`.<fk table='{0}' column='{1}'/>",
                    fk.ref_table, fk.ref_columns[0]
                ));
            }
        }
        let description = (!notes.is_empty()).then(|| notes.join("\n\n"));
        props.insert(c.name.clone(), describe(column_schema(c), description));
        if !c.nullable && c.default.is_none() {
            required.push(c.name.clone());
        }
    }
    describe(object(props, required), rel.comment.clone())
}

/// A PATCH body: the row's properties, none required.
fn patch_schema(rel: &Relation) -> Value {
    let props = rel.columns.iter().map(|c| (c.name.clone(), column_schema(c))).collect();
    object(props, Vec::new())
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

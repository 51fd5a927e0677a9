//! The path items: one per relation (GET, POST, PUT, PATCH, DELETE as its kind and the role's
//! commands allow) and one per function name (POST, and GET for functions that cannot write).

use serde_json::{json, Map, Value};

use crate::schema::{Function, Relation, RelationKind};

use super::schemas::{body_schema, one_of, patch_schema, returned_relation};
use super::{errors, param_ref, rows_response, split_comment, Context, RESERVED};
use crate::openapi::names::schema_ref;
use crate::openapi::types::type_schema;
use crate::openapi::Commands;

impl Context<'_, '_> {
    pub(super) fn relation_path(&self, rel: &Relation, commands: Commands) -> Map<String, Value> {
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

    pub(super) fn function_path(&self, overloads: &[&Function]) -> Value {
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
}

/// The input arguments (`i`, `b`, `v`) in declaration order.
pub(super) fn inputs(f: &Function) -> impl Iterator<Item = &crate::schema::FunctionArg> {
    f.args.iter().filter(|a| matches!(a.mode.as_str(), "i" | "b" | "v"))
}

/// How many leading input arguments have no default (the last `nargdefaults` have one).
pub(super) fn required_inputs(f: &Function) -> usize {
    inputs(f).count().saturating_sub(f.nargdefaults.max(0) as usize)
}

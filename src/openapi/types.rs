//! PostgreSQL types as JSON Schema (2020-12, the OpenAPI 3.1 dialect).
//!
//! `format` carries a standard format where one fits the value's JSON text exactly (`int32`,
//! `int64`, `float`, `double`, `uuid`, `date`, `date-time`); otherwise, as PostgREST does, the
//! PostgreSQL type name (formats are annotations in 3.1, so this only informs readers).

use serde_json::{json, Map, Value};

use crate::schema::Column;

/// The schema of a value of PostgreSQL type `pg_type` (as `format_type` spells it, with or
/// without modifiers; `[]` suffixes make arrays). Never nullable: see [`nullable`].
pub fn type_schema(pg_type: &str) -> Value {
    if let Some(element) = pg_type.strip_suffix("[]") {
        return json!({"type": "array", "items": type_schema(element)});
    }
    let (base, modifier) = split_modifier(pg_type);
    match base.as_str() {
        "smallint" | "integer" => json!({"type": "integer", "format": "int32"}),
        "bigint" => json!({"type": "integer", "format": "int64"}),
        "real" => json!({"type": "number", "format": "float"}),
        "double precision" => json!({"type": "number", "format": "double"}),
        "numeric" => json!({"type": "number", "format": "numeric"}),
        "boolean" => json!({"type": "boolean"}),
        "json" | "jsonb" => json!({}),
        "uuid" => json!({"type": "string", "format": "uuid"}),
        "date" => json!({"type": "string", "format": "date"}),
        // Only the zoned type prints an offset, as RFC 3339 `date-time` requires.
        "timestamp with time zone" => json!({"type": "string", "format": "date-time"}),
        "character varying" | "character" => {
            let mut s = json!({"type": "string", "format": base});
            if let Some(n) = modifier.and_then(|m| m.parse::<u64>().ok()) {
                s["maxLength"] = json!(n);
            }
            s
        }
        // Pseudo-types say nothing about the value.
        "record" | "anyelement" | "anyarray" | "anycompatible" | "anycompatiblearray" => json!({}),
        other => json!({"type": "string", "format": other}),
    }
}

/// The schema of a column: its type, `object` for composite columns, nullability, comment.
pub fn column_schema(column: &Column) -> Value {
    let schema = if column.category == "C" {
        json!({"type": "object"})
    } else if column.base_type.ends_with("[]") {
        type_schema(&column.base_type)
    } else {
        // `data_type` keeps modifiers (varchar length) when the column is not a domain.
        if split_modifier(&column.data_type).0 == column.base_type {
            type_schema(&column.data_type)
        } else {
            type_schema(&column.base_type)
        }
    };
    if column.nullable {
        nullable(schema)
    } else {
        schema
    }
}

/// Adds `null` to a schema's `type` (3.1 style: `type: [t, "null"]`). Schemas without a `type`
/// (any JSON) already admit null.
pub fn nullable(mut schema: Value) -> Value {
    if let Some(obj) = schema.as_object_mut() {
        if let Some(Value::String(t)) = obj.get("type").cloned() {
            obj.insert("type".into(), json!([t, "null"]));
        }
    }
    schema
}

/// Adds `description` when there is one.
pub fn describe(mut schema: Value, description: Option<String>) -> Value {
    if let (Some(d), Some(obj)) = (description, schema.as_object_mut()) {
        obj.insert("description".into(), Value::String(d));
    }
    schema
}

/// `character varying(20)` → (`character varying`, Some("20")); `timestamp(3) with time zone`
/// → (`timestamp with time zone`, Some("3")).
fn split_modifier(pg_type: &str) -> (String, Option<&str>) {
    match (pg_type.find('('), pg_type.find(')')) {
        (Some(open), Some(close)) if close > open => {
            (format!("{}{}", &pg_type[..open], &pg_type[close + 1..]), Some(&pg_type[open + 1..close]))
        }
        _ => (pg_type.to_string(), None),
    }
}

/// An object schema from named properties (kept in the given order) and required names.
pub fn object(properties: Map<String, Value>, required: Vec<String>) -> Value {
    let mut obj = json!({"type": "object", "properties": properties});
    if !required.is_empty() {
        obj["required"] = json!(required);
    }
    obj
}

//! The component schemas: a relation's rows, a PATCH body, a call's body, a function's result.

use serde_json::{json, Map, Value};

use crate::schema::{Function, Relation};

use super::paths::{inputs, required_inputs};
use super::Context;
use crate::openapi::names::schema_ref;
use crate::openapi::types::{column_schema, describe, nullable, object, type_schema};
use crate::openapi::DocumentInput;

impl Context<'_, '_> {
    /// What one function returns, as the JSON body shows it.
    pub(super) fn result_schema(&self, f: &Function) -> Value {
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

/// The JSON body of a call, and whether a body is required at all.
pub(super) fn body_schema(f: &Function) -> (Value, bool) {
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

pub(super) fn one_of(mut schemas: Vec<Value>) -> Value {
    schemas.dedup();
    if schemas.len() == 1 {
        schemas.pop().unwrap_or_default()
    } else {
        json!({"oneOf": schemas})
    }
}

/// The relation of the described schema whose rows `f` returns.
pub(super) fn returned_relation<'a>(input: &DocumentInput<'a>, f: &Function) -> Option<&'a Relation> {
    let (schema, name) = (f.return_rel_schema.as_deref()?, f.return_rel_name.as_deref()?);
    (schema == input.schema).then(|| input.cache.relation(schema, name)).flatten()
}

/// The row schema: properties from columns, `required` = NOT NULL without default.
pub(super) fn relation_schema(input: &DocumentInput, rel: &Relation) -> Value {
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
        // Identity and generated columns are filled by the database.
        if !c.nullable && c.default.is_none() && !c.is_generated() {
            required.push(c.name.clone());
        }
    }
    // Computed fields: selectable and filterable, never written.
    for c in &rel.computed {
        let mut schema = describe(column_schema(c), c.comment.clone());
        schema["readOnly"] = json!(true);
        props.insert(c.name.clone(), schema);
    }
    describe(object(props, required), rel.comment.clone())
}

/// A PATCH body: the row's properties, none required.
pub(super) fn patch_schema(rel: &Relation) -> Value {
    let props = rel.columns.iter().map(|c| (c.name.clone(), column_schema(c))).collect();
    object(props, Vec::new())
}

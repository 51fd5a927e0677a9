//! Plans POST (insert/upsert), PATCH, PUT and DELETE on a table or view.

use serde_json::Value;

use crate::request::ast::{Condition, Operation, Operator};
use crate::request::body::Payload;
use crate::request::preferences::{Resolution, ReturnPreference};
use crate::request::{ApiRequest, MediaType, WriteMethod};
use crate::schema::{Column, Relation, RelationKind, SchemaCache};

use super::error::PlanError;
use super::read::find_relation;
use super::select::{plan_tree, OutputColumn, SelectTree};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOp {
    Insert,
    Update,
    Delete,
}

#[derive(Debug)]
pub struct OnConflict<'a> {
    pub target: Vec<&'a str>,
    pub merge: bool,
}

/// Post-statement checks that decide between COMMIT and ROLLBACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// `vnd.pgrst.object+json`: exactly one row, else 406 and rollback.
    ExactlyOne,
    /// `max-affected=N` with `handling=strict`: at most N rows, else PGRST124 and rollback.
    AtMost(u64),
}

#[derive(Debug)]
pub struct WritePlan<'a> {
    pub op: WriteOp,
    pub method: WriteMethod,
    pub relation: &'a Relation,
    /// Columns written from the payload, in payload order.
    pub columns: Vec<&'a Column>,
    /// The payload as one JSON array (insert) or object (update), bound as one parameter.
    pub payload: String,
    pub on_conflict: Option<OnConflict<'a>>,
    pub missing_default: bool,
    pub returning: ReturnPreference,
    /// Select shape of the representation; its root conditions filter UPDATE/DELETE.
    pub tree: SelectTree<'a>,
    pub media: MediaType,
    pub key: Vec<&'a str>,
    pub checks: Vec<Check>,
}

/// A view PostgreSQL cannot write for this method (a join, an aggregate: not automatically
/// updatable) is refused here with 405, instead of PostgreSQL's 55000 answered as a 500.
fn check_writable(relation: &Relation, method: WriteMethod, upsert: bool) -> Result<(), PlanError> {
    if relation.kind != RelationKind::View {
        return Ok(());
    }
    let refused = match method {
        WriteMethod::Post if !relation.can_insert() => Some("insert into"),
        WriteMethod::Post if upsert && !relation.can_update() => Some("update"),
        WriteMethod::Put if !relation.can_insert() => Some("insert into"),
        WriteMethod::Put | WriteMethod::Patch if !relation.can_update() => Some("update"),
        WriteMethod::Delete if !relation.can_delete() => Some("delete from"),
        _ => None,
    };
    match refused {
        Some(verb) => Err(PlanError::ReadOnlyView { verb, view: relation.name.clone() }),
        None => Ok(()),
    }
}

pub fn plan_write<'a>(
    req: &'a ApiRequest,
    method: WriteMethod,
    name: &str,
    cache: &'a SchemaCache,
) -> Result<WritePlan<'a>, PlanError> {
    let relation = find_relation(cache, &req.schema, name)?;
    check_writable(relation, method, req.prefer.resolution.is_some())?;
    let mut tree = plan_tree(cache, relation, &req.query.select, &req.query)?;
    expand_star(&mut tree);
    let returning = req.prefer.return_.unwrap_or_default();
    let key: Vec<&str> = relation.primary_key.iter().map(String::as_str).collect();

    let (media, _) = super::media::negotiate(req, cache, super::media::Subject::Write)?;
    let mut checks = Vec::new();
    if let MediaType::SingleObject { .. } = media {
        checks.push(Check::ExactlyOne);
    }
    if let (Some(n), true) = (req.prefer.max_affected, req.prefer.strict) {
        if matches!(method, WriteMethod::Patch | WriteMethod::Delete) {
            checks.push(Check::AtMost(n));
        }
    }

    let (op, columns, payload, on_conflict) = match method {
        WriteMethod::Post => {
            tree.conditions.clear();
            let rows = payload_rows(req)?;
            let columns = payload_columns(relation, &rows, req.query.columns.as_deref())?;
            let on_conflict = match req.prefer.resolution {
                None => None,
                Some(r) => Some(OnConflict {
                    target: conflict_target(relation, req.query.on_conflict.as_deref())?,
                    merge: r == Resolution::MergeDuplicates,
                }),
            };
            (WriteOp::Insert, columns, Value::Array(rows).to_string(), on_conflict)
        }
        WriteMethod::Patch => {
            let obj = payload_object(req)?;
            let rows = vec![obj];
            let columns = payload_columns(relation, &rows, req.query.columns.as_deref())?;
            (WriteOp::Update, columns, rows[0].to_string(), None)
        }
        WriteMethod::Delete => (WriteOp::Delete, Vec::new(), String::new(), None),
        WriteMethod::Put => {
            if key.is_empty() || !filters_are_exactly_the_key(req, &key) {
                return Err(PlanError::InvalidPut);
            }
            if req.has_limit_or_offset {
                return Err(PlanError::PutWithLimit);
            }
            let obj = payload_object(req)?;
            check_put_key(req, &obj, &key)?;
            tree.conditions.clear();
            let rows = vec![obj];
            let columns = payload_columns(relation, &rows, None)?;
            let target = key.clone();
            (WriteOp::Insert, columns, Value::Array(rows).to_string(), Some(OnConflict { target, merge: true }))
        }
    };
    Ok(WritePlan {
        op,
        method,
        relation,
        columns,
        payload,
        on_conflict,
        missing_default: req.prefer.missing_default,
        returning,
        tree,
        media,
        key,
        checks,
    })
}

/// The representation of a write names its columns: the mutation's rows carry only them.
fn expand_star(tree: &mut SelectTree) {
    let relation = tree.relation;
    let mut items = Vec::with_capacity(tree.items.len());
    for item in tree.items.drain(..) {
        match item {
            OutputColumn::Star => items.extend(relation.columns.iter().map(|c| OutputColumn::Column {
                target: super::select::ColumnRef { column: c, json_path: &[] },
                cast: None,
                name: c.name.as_str(),
                renamed: false,
            })),
            other => items.push(other),
        }
    }
    tree.items = items;
}

fn json_payload(req: &ApiRequest) -> Result<&Value, PlanError> {
    match &req.payload {
        Some(Payload::Json(v)) => Ok(v),
        _ => Err(PlanError::InvalidBody("a JSON, CSV or form body is required".into())),
    }
}

/// POST: one object or an array of objects.
fn payload_rows(req: &ApiRequest) -> Result<Vec<Value>, PlanError> {
    match json_payload(req)? {
        Value::Object(_) => Ok(vec![json_payload(req)?.clone()]),
        Value::Array(items) if items.iter().all(Value::is_object) => Ok(items.clone()),
        _ => Err(PlanError::InvalidBody("expected a JSON object or an array of objects".into())),
    }
}

fn payload_object(req: &ApiRequest) -> Result<Value, PlanError> {
    match json_payload(req)? {
        v @ Value::Object(_) => Ok(v.clone()),
        _ => Err(PlanError::InvalidBody("expected a single JSON object".into())),
    }
}

/// `columns=` if given, else the keys of the objects, which must all have the same keys.
fn payload_columns<'a>(
    relation: &'a Relation,
    rows: &[Value],
    columns_param: Option<&[String]>,
) -> Result<Vec<&'a Column>, PlanError> {
    let names: Vec<String> = match columns_param {
        Some(cols) => cols.to_vec(),
        None => {
            let keys =
                |v: &Value| -> Vec<String> { v.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default() };
            let first = rows.first().map(keys).unwrap_or_default();
            let mut sorted_first = first.clone();
            sorted_first.sort();
            for row in rows.iter().skip(1) {
                let mut k = keys(row);
                k.sort();
                if k != sorted_first {
                    return Err(PlanError::InvalidBody("All object keys must match".into()));
                }
            }
            first
        }
    };
    names
        .iter()
        .map(|n| {
            relation
                .column(n)
                .ok_or_else(|| PlanError::UnknownPayloadColumn { relation: relation.name.clone(), column: n.clone() })
        })
        .collect()
}

fn conflict_target<'a>(relation: &'a Relation, on_conflict: Option<&[String]>) -> Result<Vec<&'a str>, PlanError> {
    match on_conflict {
        Some(cols) => cols
            .iter()
            .map(|c| {
                relation
                    .column(c)
                    .map(|col| col.name.as_str())
                    .ok_or_else(|| PlanError::ColumnNotFound { relation: relation.name.clone(), column: c.clone() })
            })
            .collect(),
        None => Ok(relation.primary_key.iter().map(String::as_str).collect()),
    }
}

/// PUT filters must be `pk=eq.value` for every key column and nothing else.
fn filters_are_exactly_the_key(req: &ApiRequest, key: &[&str]) -> bool {
    let mut seen = Vec::new();
    for (path, cond) in &req.query.conditions {
        let Condition::Filter(f) = cond else { return false };
        let is_eq = matches!(f.operation, Operation::Compare { op: Operator::Eq, quantifier: None, .. });
        if !path.is_empty()
            || f.negated
            || !is_eq
            || !f.field.json_path.is_empty()
            || !key.contains(&f.field.name.as_str())
        {
            return false;
        }
        seen.push(f.field.name.as_str());
    }
    seen.sort();
    seen.dedup();
    seen.len() == key.len()
}

fn check_put_key(req: &ApiRequest, obj: &Value, key: &[&str]) -> Result<(), PlanError> {
    for (_, cond) in &req.query.conditions {
        if let Condition::Filter(f) = cond {
            if let Operation::Compare { value, .. } = &f.operation {
                let body_value = match obj.get(&f.field.name) {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Null) | None => return Err(PlanError::PutKeyMismatch),
                    Some(other) => other.to_string(),
                };
                if key.contains(&f.field.name.as_str()) && &body_value != value {
                    return Err(PlanError::PutKeyMismatch);
                }
            }
        }
    }
    Ok(())
}

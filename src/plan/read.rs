//! Plans a read (GET/HEAD) of a table or view.

use crate::request::ast::{
    Condition, Field, JsonKey, JsonStep, LogicOp, Operation, OrderTerm, SelectItem,
};
use crate::request::{ApiRequest, CountPreference, MediaType, RowRange};
use crate::schema::{Column, Relation, SchemaCache};

use super::casts::cast_type;
use super::error::PlanError;

/// A column reference checked against the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnRef<'a> {
    pub column: &'a Column,
    pub json_path: &'a [JsonStep],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputColumn<'a> {
    /// Every column of the relation.
    Star,
    Column {
        target: ColumnRef<'a>,
        cast: Option<&'static str>,
        name: &'a str,
        renamed: bool,
    },
}

/// A filter tree whose every column was found in the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlannedCondition<'a> {
    Filter {
        target: ColumnRef<'a>,
        negated: bool,
        operation: &'a Operation,
    },
    Group {
        op: LogicOp,
        negated: bool,
        children: Vec<PlannedCondition<'a>>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedOrder<'a> {
    pub target: ColumnRef<'a>,
    pub term: &'a OrderTerm,
}

/// How to get the total for `Content-Range`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountPlan {
    None,
    Exact,
    /// EXPLAIN's row estimate.
    Planned,
    /// Exact up to `max_rows`, planned beyond.
    Estimated {
        max_rows: u64,
    },
}

#[derive(Debug)]
pub struct ReadPlan<'a> {
    pub relation: &'a Relation,
    pub select: Vec<OutputColumn<'a>>,
    /// ANDed root conditions, each already checked.
    pub conditions: Vec<PlannedCondition<'a>>,
    pub order: Vec<PlannedOrder<'a>>,
    pub range: RowRange,
    pub count: CountPlan,
    pub media: MediaType,
    pub headers_only: bool,
}

pub fn plan_read<'a>(
    req: &'a ApiRequest,
    name: &str,
    cache: &'a SchemaCache,
    max_rows: Option<u64>,
) -> Result<ReadPlan<'a>, PlanError> {
    let relation = find_relation(cache, &req.schema, name)?;

    let mut select = Vec::with_capacity(req.query.select.len());
    for item in &req.query.select {
        match item {
            SelectItem::Star => select.push(OutputColumn::Star),
            SelectItem::Column { field, alias, cast } => {
                let target = column_ref(relation, field)?;
                let cast = match cast {
                    Some(t) => {
                        Some(cast_type(t).ok_or_else(|| PlanError::UnsupportedCast(t.clone()))?)
                    }
                    None => None,
                };
                let name = alias.as_deref().unwrap_or_else(|| field.output_name());
                check_name(name)?;
                let renamed = alias.is_some() || !field.json_path.is_empty();
                select.push(OutputColumn::Column {
                    target,
                    cast,
                    name,
                    renamed,
                });
            }
            SelectItem::Embed(e) => {
                return Err(PlanError::RelationshipNotFound {
                    parent: relation.name.clone(),
                    child: e.name.clone(),
                })
            }
        }
    }

    let mut conditions = Vec::new();
    for (path, cond) in &req.query.conditions {
        if let Some(first) = path.first() {
            return Err(PlanError::NotEmbedded(first.clone()));
        }
        conditions.push(plan_condition(relation, cond)?);
    }

    let mut order = Vec::new();
    for (path, terms) in &req.query.order {
        if let Some(first) = path.first() {
            return Err(PlanError::NotEmbedded(first.clone()));
        }
        for term in terms {
            order.push(PlannedOrder {
                target: column_ref(relation, &term.field)?,
                term,
            });
        }
    }
    for (path, _) in req.query.limit.iter().chain(&req.query.offset) {
        if let Some(first) = path.first() {
            return Err(PlanError::NotEmbedded(first.clone()));
        }
    }

    let count = match req.prefer.count {
        None => CountPlan::None,
        Some(CountPreference::Exact) => CountPlan::Exact,
        Some(CountPreference::Planned) => CountPlan::Planned,
        Some(CountPreference::Estimated) => match max_rows {
            Some(max_rows) => CountPlan::Estimated { max_rows },
            None => CountPlan::Exact,
        },
    };

    Ok(ReadPlan {
        relation,
        select,
        conditions,
        order,
        range: req.range.capped(max_rows),
        count,
        media: req.media,
        headers_only: matches!(
            req.action,
            crate::request::Action::Read { headers_only: true }
        ),
    })
}

pub fn find_relation<'a>(
    cache: &'a SchemaCache,
    schema: &str,
    name: &str,
) -> Result<&'a Relation, PlanError> {
    cache
        .relation(schema, name)
        .ok_or_else(|| PlanError::RelationNotFound {
            schema: schema.to_string(),
            name: name.to_string(),
            hint: closest_relation(cache, schema, name),
        })
}

/// "Perhaps you meant the table 'api.todos'" for a near miss.
fn closest_relation(cache: &SchemaCache, schema: &str, name: &str) -> Option<String> {
    cache
        .relations_in(schema)
        .map(|r| (strsim::jaro_winkler(&r.name, name), r))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, r)| format!("Perhaps you meant the table '{}.{}'", r.schema, r.name))
}

fn column_ref<'a>(relation: &'a Relation, field: &'a Field) -> Result<ColumnRef<'a>, PlanError> {
    let column = relation
        .column(&field.name)
        .ok_or_else(|| PlanError::ColumnNotFound {
            relation: relation.name.clone(),
            column: field.name.clone(),
        })?;
    for step in &field.json_path {
        let (JsonStep::Arrow(k) | JsonStep::DoubleArrow(k)) = step;
        let (JsonKey::Key(s) | JsonKey::Index(s)) = k;
        check_name(s)?;
    }
    Ok(ColumnRef {
        column,
        json_path: &field.json_path,
    })
}

fn plan_condition<'a>(
    relation: &'a Relation,
    cond: &'a Condition,
) -> Result<PlannedCondition<'a>, PlanError> {
    Ok(match cond {
        Condition::Filter(f) => PlannedCondition::Filter {
            target: column_ref(relation, &f.field)?,
            negated: f.negated,
            operation: &f.operation,
        },
        Condition::Group {
            op,
            negated,
            children,
        } => PlannedCondition::Group {
            op: *op,
            negated: *negated,
            children: children
                .iter()
                .map(|c| plan_condition(relation, c))
                .collect::<Result<_, _>>()?,
        },
    })
}

/// Postgres protocol strings cannot carry NUL.
fn check_name(name: &str) -> Result<(), PlanError> {
    if name.contains('\0') {
        Err(PlanError::InvalidName)
    } else {
        Ok(())
    }
}

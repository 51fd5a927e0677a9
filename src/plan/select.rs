//! Plans a select tree: the root resource or an embedded child, each level with its output
//! items, embeds (lateral subqueries), conditions, order and range.

use std::collections::HashSet;

use crate::request::ast::{
    AggregateFn, Condition, EmbedPath, Field, IsValue, JsonKey, JsonStep, LogicOp, Operation, OrderTerm, QueryParams,
    SelectItem,
};
use crate::schema::{Column, Relation, Relationship, SchemaCache};

use super::casts::cast_type;
use super::embed::resolve;
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
    /// The output of `embeds[i]` (an object, array, or spread columns).
    Embed(usize),
    /// `sum(col)`, `count(*)`: the level is grouped by its other outputs.
    Aggregate {
        func: AggregateFn,
        target: Option<ColumnRef<'a>>,
        cast: Option<&'static str>,
        name: &'a str,
    },
}

/// A filter tree whose every column and embed was found.
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
    /// `rel=not.is.null` / `!inner` (exists) and `rel=is.null` (not exists) on `embeds[i]`.
    Exists {
        embed: usize,
        negated: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedOrder<'a> {
    pub target: ColumnRef<'a>,
    pub term: &'a OrderTerm,
    /// Ordering by a to-one embed's column: `embeds[i]`.
    pub embed: Option<usize>,
}

#[derive(Debug)]
pub struct EmbedPlan<'a> {
    /// Unique within the statement; names the SQL aliases.
    pub id: usize,
    pub rel: &'a Relationship,
    pub junction: Option<&'a Relation>,
    /// Output key (alias or relation name); also the prefix of its query parameters.
    pub name: &'a str,
    pub spread: bool,
    /// `rel()`: filters the parent but adds no key.
    pub empty: bool,
    pub child: SelectTree<'a>,
}

#[derive(Debug)]
pub struct SelectTree<'a> {
    pub relation: &'a Relation,
    pub items: Vec<OutputColumn<'a>>,
    pub embeds: Vec<EmbedPlan<'a>>,
    pub conditions: Vec<PlannedCondition<'a>>,
    pub order: Vec<PlannedOrder<'a>>,
    /// Only for embedded levels; the root's page comes from the request range.
    pub limit: Option<u64>,
    pub offset: u64,
}

impl<'a> SelectTree<'a> {
    /// Aggregates at this level group the rows by every other output.
    pub fn has_aggregates(&self) -> bool {
        self.items.iter().any(|i| matches!(i, OutputColumn::Aggregate { .. }))
    }

    /// Output names in order (Star expanded), for CSV headers and spreads.
    pub fn output_names(&self) -> Vec<&'a str> {
        let mut names = Vec::new();
        for item in &self.items {
            match item {
                OutputColumn::Star => names.extend(self.relation.columns.iter().map(|c| c.name.as_str())),
                OutputColumn::Column { name, .. } | OutputColumn::Aggregate { name, .. } => names.push(*name),
                OutputColumn::Embed(i) => {
                    let e = &self.embeds[*i];
                    if e.spread {
                        names.extend(e.child.output_names());
                    } else if !e.empty {
                        names.push(e.name);
                    }
                }
            }
        }
        names
    }
}

/// Plans a whole tree; parameters whose embed path names nothing selected are PGRST108.
pub fn plan_tree<'a>(
    cache: &'a SchemaCache,
    relation: &'a Relation,
    select: &'a [SelectItem],
    params: &'a QueryParams,
) -> Result<SelectTree<'a>, PlanError> {
    plan_tree_with(cache, relation, select, params, &[])
}

/// [`plan_tree`] with more root conditions (a `GET /rpc/fn`'s filters), after the others.
pub fn plan_tree_with<'a>(
    cache: &'a SchemaCache,
    relation: &'a Relation,
    select: &'a [SelectItem],
    params: &'a QueryParams,
    extra_root: &[&'a Condition],
) -> Result<SelectTree<'a>, PlanError> {
    let mut next_id = 0;
    let mut known_paths = HashSet::new();
    let mut path = Vec::new();
    let mut tree = plan_level(cache, relation, select, params, &mut path, &mut next_id, &mut known_paths)?;
    for cond in extra_root {
        let planned = plan_condition(&tree, cond)?;
        tree.conditions.push(planned);
    }
    let param_paths = params
        .conditions
        .iter()
        .map(|(p, _)| p)
        .chain(params.order.iter().map(|(p, _)| p))
        .chain(params.limit.iter().map(|(p, _)| p))
        .chain(params.offset.iter().map(|(p, _)| p));
    for p in param_paths {
        if !p.is_empty() && !known_paths.contains(p) {
            return Err(PlanError::NotEmbedded(p.join(".")));
        }
    }
    Ok(tree)
}

fn plan_level<'a>(
    cache: &'a SchemaCache,
    relation: &'a Relation,
    select: &'a [SelectItem],
    params: &'a QueryParams,
    path: &mut EmbedPath,
    next_id: &mut usize,
    known_paths: &mut HashSet<EmbedPath>,
) -> Result<SelectTree<'a>, PlanError> {
    let mut tree = SelectTree {
        relation,
        items: Vec::with_capacity(select.len()),
        embeds: Vec::new(),
        conditions: Vec::new(),
        order: Vec::new(),
        limit: None,
        offset: 0,
    };

    for item in select {
        match item {
            SelectItem::Star => tree.items.push(OutputColumn::Star),
            SelectItem::Column { field, alias, cast } if is_bare_count(relation, field) => {
                // `count` that is no column nor computed field: PostgreSQL reads `t.count` as
                // `count(t)`, so PostgREST answers the row count (`select=count`, `rel(count)`),
                // whatever ROWGATE_DB_AGGREGATES_ENABLED says.
                let cast = match cast {
                    Some(t) => Some(cast_type(t).ok_or_else(|| PlanError::UnsupportedCast(t.clone()))?),
                    None => None,
                };
                let name = alias.as_deref().unwrap_or("count");
                check_name(name)?;
                tree.items.push(OutputColumn::Aggregate { func: AggregateFn::Count, target: None, cast, name });
            }
            SelectItem::Column { field, alias, cast } => {
                let target = column_ref(relation, field)?;
                let cast = match cast {
                    Some(t) => Some(cast_type(t).ok_or_else(|| PlanError::UnsupportedCast(t.clone()))?),
                    None => None,
                };
                let name = alias.as_deref().unwrap_or_else(|| field.output_name());
                check_name(name)?;
                let renamed = alias.is_some() || !field.json_path.is_empty();
                tree.items.push(OutputColumn::Column { target, cast, name, renamed });
            }
            SelectItem::Embed(e) => {
                let resolved = resolve(cache, relation, &e.name, e.hint.as_deref())?;
                let name = e.alias.as_deref().unwrap_or(&e.name);
                check_name(name)?;
                *next_id += 1;
                let id = *next_id;
                path.push(name.to_string());
                known_paths.insert(path.clone());
                let child = plan_level(cache, resolved.target, &e.select, params, path, next_id, known_paths)?;
                path.pop();
                let index = tree.embeds.len();
                if e.join == Some(crate::request::ast::JoinType::Inner) {
                    tree.conditions.push(PlannedCondition::Exists { embed: index, negated: false });
                }
                if e.spread && !resolved.rel.cardinality.to_one() && child.embeds.iter().any(|c| !c.empty) {
                    return Err(PlanError::NotImplemented("embedding inside a to-many spread".into()));
                }
                tree.embeds.push(EmbedPlan {
                    id,
                    rel: resolved.rel,
                    junction: resolved.junction,
                    name,
                    spread: e.spread,
                    empty: e.select.is_empty(),
                    child,
                });
                tree.items.push(OutputColumn::Embed(index));
            }
            SelectItem::Aggregate { func, field, alias, cast } => {
                let target = match field {
                    Some(f) => Some(column_ref(relation, f)?),
                    None => None,
                };
                let cast = match cast {
                    Some(t) => Some(cast_type(t).ok_or_else(|| PlanError::UnsupportedCast(t.clone()))?),
                    None => None,
                };
                let name = alias.as_deref().unwrap_or(func.name());
                check_name(name)?;
                tree.items.push(OutputColumn::Aggregate { func: *func, target, cast, name });
            }
        }
    }

    for (p, cond) in &params.conditions {
        if p == path {
            let planned = plan_condition(&tree, cond)?;
            tree.conditions.push(planned);
        }
    }
    for (p, terms) in &params.order {
        if p == path {
            for term in terms {
                tree.order.push(plan_order(&tree, term)?);
            }
        }
    }
    if !path.is_empty() {
        tree.limit = params.limit.iter().rev().find(|(p, _)| p == path).map(|(_, n)| *n);
        tree.offset = params.offset.iter().rev().find(|(p, _)| p == path).map_or(0, |(_, n)| *n);
    }
    Ok(tree)
}

fn embed_index(tree: &SelectTree, name: &str) -> Option<usize> {
    tree.embeds.iter().position(|e| e.name == name)
}

fn plan_condition<'a>(tree: &SelectTree<'a>, cond: &'a Condition) -> Result<PlannedCondition<'a>, PlanError> {
    Ok(match cond {
        Condition::Filter(f) => {
            if let (Some(i), true) = (embed_index(tree, &f.field.name), f.field.json_path.is_empty()) {
                let negated = match (&f.operation, f.negated) {
                    (Operation::Is(IsValue::Null), n) => !n,
                    (Operation::Is(IsValue::NotNull), n) => n,
                    _ => return Err(PlanError::UnacceptableEmbedFilter(f.field.name.clone())),
                };
                return Ok(PlannedCondition::Exists { embed: i, negated });
            }
            PlannedCondition::Filter {
                target: column_ref(tree.relation, &f.field)?,
                negated: f.negated,
                operation: &f.operation,
            }
        }
        Condition::Group { op, negated, children } => PlannedCondition::Group {
            op: *op,
            negated: *negated,
            children: children.iter().map(|c| plan_condition(tree, c)).collect::<Result<_, _>>()?,
        },
    })
}

fn plan_order<'a>(tree: &SelectTree<'a>, term: &'a OrderTerm) -> Result<PlannedOrder<'a>, PlanError> {
    let Some(rel_name) = &term.relation else {
        return Ok(PlannedOrder { target: column_ref(tree.relation, &term.field)?, term, embed: None });
    };
    let i = embed_index(tree, rel_name).ok_or_else(|| PlanError::NotEmbedded(rel_name.clone()))?;
    let e = &tree.embeds[i];
    if !e.rel.cardinality.to_one() {
        return Err(PlanError::RelatedOrderNotToOne { origin: tree.relation.name.clone(), target: rel_name.clone() });
    }
    Ok(PlannedOrder { target: column_ref(e.child.relation, &term.field)?, term, embed: Some(i) })
}

/// `count` alone, where the relation has nothing of that name.
fn is_bare_count(relation: &Relation, field: &Field) -> bool {
    field.name == "count" && field.json_path.is_empty() && relation.field("count").is_none()
}

/// A column or computed field of `relation`, with its JSON path.
pub fn column_ref<'a>(relation: &'a Relation, field: &'a Field) -> Result<ColumnRef<'a>, PlanError> {
    let column = relation
        .field(&field.name)
        .ok_or_else(|| PlanError::ColumnNotFound { relation: relation.name.clone(), column: field.name.clone() })?;
    for step in &field.json_path {
        let (JsonStep::Arrow(k) | JsonStep::DoubleArrow(k)) = step;
        let (JsonKey::Key(s) | JsonKey::Index(s)) = k;
        check_name(s)?;
    }
    Ok(ColumnRef { column, json_path: &field.json_path })
}

/// Postgres protocol strings cannot carry NUL.
pub fn check_name(name: &str) -> Result<(), PlanError> {
    if name.contains('\0') {
        Err(PlanError::InvalidName)
    } else {
        Ok(())
    }
}

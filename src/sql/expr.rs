//! Column references, filter conditions and ORDER BY terms, relative to a qualifier (the
//! already-quoted name a level's columns are reached through).

use crate::plan::{ColumnRef, PlannedCondition, PlannedOrder, SelectTree};
use crate::request::ast::{
    Direction, FtsOperator, IsValue, JsonKey, JsonStep, LogicOp, Nulls, Operation, Operator, Quantifier,
};

use super::builder::SqlBuilder;
use super::shape::{embed_from_where, EmbedAliases, Parts};

/// `qual."col"` with its JSON path; non-JSON columns go through `to_jsonb` first. A computed
/// field is its function called with the row: `"s"."full_name"(qual.*::"s"."people")` (the cast
/// is a no-op for the relation itself and types a write's returned rows).
pub fn render_column(b: &mut SqlBuilder, qual: &str, target: &ColumnRef) {
    let json_wrap = !target.json_path.is_empty() && !target.column.is_json();
    if json_wrap {
        b.push("to_jsonb(");
    }
    match &target.column.computed {
        Some(f) => {
            b.qualified(&f.function_schema, &target.column.name).push("(");
            render_row(b, qual, &f.row_type);
            b.push(")");
        }
        None => {
            b.push(qual).push(".").ident(&target.column.name);
        }
    }
    if json_wrap {
        b.push(")");
    }
    for step in target.json_path {
        let (arrow, key) = match step {
            JsonStep::Arrow(k) => ("->", k),
            JsonStep::DoubleArrow(k) => ("->>", k),
        };
        b.push(arrow);
        match key {
            JsonKey::Key(k) => b.param(k.as_str()).push("::text"),
            JsonKey::Index(i) => b.param(i.as_str()).push("::integer"),
        };
    }
}

/// The whole row reached through `qual`, as the relation's row type: `qual.*::"s"."t"`.
pub fn render_row(b: &mut SqlBuilder, qual: &str, row_type: &(String, String)) {
    b.push(qual).push(".*::").qualified(&row_type.0, &row_type.1);
}

/// ` WHERE a AND b` (nothing when empty); `extra` is ANDed first (join conditions).
pub fn render_where(b: &mut SqlBuilder, qual: &str, tree: &SelectTree, extra: Option<&str>) {
    let mut first = true;
    if let Some(e) = extra {
        b.push(" WHERE ").push(e);
        first = false;
    }
    for cond in &tree.conditions {
        b.push(if first { " WHERE " } else { " AND " });
        first = false;
        render_condition(b, qual, tree, cond);
    }
}

pub fn render_condition(b: &mut SqlBuilder, qual: &str, tree: &SelectTree, cond: &PlannedCondition) {
    match cond {
        PlannedCondition::Filter { target, negated, operation } => {
            if *negated {
                b.push("NOT (");
            }
            render_operation(b, qual, target, operation);
            if *negated {
                b.push(")");
            }
        }
        PlannedCondition::Group { op, negated, children } => {
            if *negated {
                b.push("NOT ");
            }
            b.push("(");
            for (i, c) in children.iter().enumerate() {
                if i > 0 {
                    b.push(if *op == LogicOp::And { " AND " } else { " OR " });
                }
                render_condition(b, qual, tree, c);
            }
            b.push(")");
        }
        PlannedCondition::Exists { embed, negated } => {
            let e = &tree.embeds[*embed];
            let aliases = EmbedAliases::new(e.id);
            b.push(if *negated { "NOT EXISTS (SELECT 1" } else { "EXISTS (SELECT 1" });
            embed_from_where(b, qual, e, &aliases, Parts::Conditions);
            b.push(")");
        }
    }
}

fn operator_sql(op: Operator) -> &'static str {
    match op {
        Operator::Eq => "=",
        Operator::Neq => "<>",
        Operator::Gt => ">",
        Operator::Gte => ">=",
        Operator::Lt => "<",
        Operator::Lte => "<=",
        Operator::Like => "LIKE",
        Operator::Ilike => "ILIKE",
        Operator::Match => "~",
        Operator::Imatch => "~*",
        Operator::IsDistinct => "IS DISTINCT FROM",
        Operator::Cs => "@>",
        Operator::Cd => "<@",
        Operator::Ov => "&&",
        Operator::Sl => "<<",
        Operator::Sr => ">>",
        Operator::Nxr => "&<",
        Operator::Nxl => "&>",
        Operator::Adj => "-|-",
    }
}

fn render_operation(b: &mut SqlBuilder, qual: &str, target: &ColumnRef, operation: &Operation) {
    match operation {
        Operation::Compare { op, quantifier, value } => {
            render_column(b, qual, target);
            b.push(" ").push(operator_sql(*op)).push(" ");
            let value =
                if matches!(op, Operator::Like | Operator::Ilike) { value.replace('*', "%") } else { value.clone() };
            match quantifier {
                Some(q) => {
                    b.push(if *q == Quantifier::Any { "ANY(" } else { "ALL(" }).param(value).push(")");
                }
                None => {
                    b.param(value);
                }
            }
        }
        Operation::In(items) => {
            render_column(b, qual, target);
            b.push(" = ANY(").param(crate::plan::array_literal(items)).push(")");
        }
        Operation::Is(v) => {
            render_column(b, qual, target);
            b.push(match v {
                IsValue::Null => " IS NULL",
                IsValue::NotNull => " IS NOT NULL",
                IsValue::True => " IS TRUE",
                IsValue::False => " IS FALSE",
                IsValue::Unknown => " IS UNKNOWN",
            });
        }
        Operation::Fts { op, language, value } => {
            let lang_param = language.as_ref().map(|l| {
                b.params.push(l.clone());
                b.params.len()
            });
            if target.column.is_tsvector() && target.json_path.is_empty() {
                render_column(b, qual, target);
            } else {
                b.push("to_tsvector(");
                if let Some(n) = lang_param {
                    b.push(&format!("${n}::regconfig, "));
                }
                render_column(b, qual, target);
                b.push(")");
            }
            b.push(" @@ ").push(match op {
                FtsOperator::Fts => "to_tsquery(",
                FtsOperator::Plain => "plainto_tsquery(",
                FtsOperator::Phrase => "phraseto_tsquery(",
                FtsOperator::Websearch => "websearch_to_tsquery(",
            });
            if let Some(n) = lang_param {
                b.push(&format!("${n}::regconfig, "));
            }
            b.param(value.as_str()).push(")");
        }
    }
}

/// ` ORDER BY ...`; a to-one embed's column is read with a correlated subquery.
pub fn render_order(b: &mut SqlBuilder, qual: &str, tree: &SelectTree, order: &[PlannedOrder]) {
    for (i, o) in order.iter().enumerate() {
        b.push(if i == 0 { " ORDER BY " } else { ", " });
        match o.embed {
            Some(idx) => {
                let e = &tree.embeds[idx];
                let aliases = EmbedAliases::new(e.id);
                b.push("(SELECT ");
                render_column(b, &aliases.table, &o.target);
                embed_from_where(b, qual, e, &aliases, Parts::JoinOnly);
                b.push(")");
            }
            None => render_column(b, qual, &o.target),
        }
        match o.term.direction {
            Some(Direction::Asc) => b.push(" ASC"),
            Some(Direction::Desc) => b.push(" DESC"),
            None => b,
        };
        match o.term.nulls {
            Some(Nulls::First) => b.push(" NULLS FIRST"),
            Some(Nulls::Last) => b.push(" NULLS LAST"),
            None => b,
        };
    }
}

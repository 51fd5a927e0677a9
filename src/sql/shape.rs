//! The select list of a level and its embeds. Each embed is one lateral subquery aggregated
//! in Postgres (`row_to_json` for to-one, `json_agg` for to-many): never one query per row.

use crate::plan::{EmbedPlan, OutputColumn, SelectTree};
use crate::schema::Cardinality;

use super::builder::SqlBuilder;
use super::expr::{render_column, render_order, render_row, render_where};
use super::quote::quote_ident;

/// SQL aliases of one embed: the lateral (`pgrst_N`), the target (`pgrst_N_t`), the junction.
pub struct EmbedAliases {
    pub lateral: String,
    pub table: String,
    pub junction: String,
}

impl EmbedAliases {
    pub fn new(id: usize) -> Self {
        EmbedAliases {
            lateral: quote_ident(&format!("pgrst_{id}")),
            table: quote_ident(&format!("pgrst_{id}_t")),
            junction: quote_ident(&format!("pgrst_{id}_j")),
        }
    }
}

/// The select list of `tree`, its columns reached through `qual`.
pub fn render_select_list(b: &mut SqlBuilder, qual: &str, tree: &SelectTree) {
    let mut first = true;
    let mut sep = |b: &mut SqlBuilder| {
        if !first {
            b.push(", ");
        }
        first = false;
    };
    for item in &tree.items {
        match item {
            OutputColumn::Star => {
                sep(b);
                b.push(qual).push(".*");
            }
            OutputColumn::Column { target, cast, name, renamed } => {
                sep(b);
                if cast.is_some() {
                    b.push("(");
                }
                render_column(b, qual, target);
                if let Some(t) = cast {
                    b.push(")::").push(t);
                }
                if *renamed || cast.is_some() {
                    b.push(" AS ").ident(name);
                }
            }
            OutputColumn::Aggregate { func, target, cast, name } => {
                sep(b);
                if cast.is_some() {
                    b.push("(");
                }
                b.push(func.name()).push("(");
                match target {
                    Some(t) => render_column(b, qual, t),
                    None => {
                        b.push("*");
                    }
                }
                b.push(")");
                if let Some(t) = cast {
                    b.push(")::").push(t);
                }
                b.push(" AS ").ident(name);
            }
            OutputColumn::Embed(i) => {
                let e = &tree.embeds[*i];
                if e.empty {
                    continue;
                }
                let a = EmbedAliases::new(e.id);
                let to_one = e.rel.cardinality.to_one();
                if e.spread {
                    for name in e.child.output_names() {
                        sep(b);
                        if to_one {
                            b.push(&a.lateral).push(".").ident(name);
                        } else {
                            b.push("COALESCE(").push(&a.lateral).push(".").ident(name).push(", '[]')");
                        }
                        b.push(" AS ").ident(name);
                    }
                } else {
                    sep(b);
                    if to_one {
                        b.push("row_to_json(").push(&a.lateral).push(".*)::jsonb");
                    } else {
                        b.push("COALESCE(").push(&a.lateral).push(".").push(&a.lateral).push(", '[]')");
                    }
                    b.push(" AS ").ident(e.name);
                }
            }
        }
    }
    if first {
        // `select=` with nothing selectable still yields one (empty) object per row.
        b.push("NULL::record IS NULL AS \"pgrst_empty\"");
    }
}

/// ` GROUP BY <every non-aggregate output>` when the level has aggregates.
pub fn render_group_by(b: &mut SqlBuilder, qual: &str, tree: &SelectTree) {
    if !tree.has_aggregates() {
        return;
    }
    let mut first = true;
    let mut sep = |b: &mut SqlBuilder| {
        b.push(if first { " GROUP BY " } else { ", " });
        first = false;
    };
    for item in &tree.items {
        match item {
            OutputColumn::Star => {
                for c in &tree.relation.columns {
                    sep(b);
                    b.push(qual).push(".").ident(&c.name);
                }
            }
            OutputColumn::Column { target, .. } => {
                sep(b);
                render_column(b, qual, target);
            }
            OutputColumn::Embed(i) => {
                let e = &tree.embeds[*i];
                if e.empty {
                    continue;
                }
                let a = EmbedAliases::new(e.id);
                if e.spread {
                    for name in e.child.output_names() {
                        sep(b);
                        b.push(&a.lateral).push(".").ident(name);
                    }
                } else {
                    sep(b);
                    b.push(&a.lateral);
                    if !e.rel.cardinality.to_one() {
                        b.push(".").push(&a.lateral);
                    }
                }
            }
            OutputColumn::Aggregate { .. } => {}
        }
    }
}

/// ` LEFT JOIN LATERAL (...) AS "pgrst_N" ON TRUE` for every non-empty embed of `tree`.
pub fn render_laterals(b: &mut SqlBuilder, qual: &str, tree: &SelectTree) {
    for e in tree.embeds.iter().filter(|e| !e.empty) {
        let a = EmbedAliases::new(e.id);
        b.push(" LEFT JOIN LATERAL (");
        if e.rel.cardinality.to_one() {
            render_child_select(b, qual, e, &a);
        } else {
            b.push("SELECT ");
            if e.spread {
                for (i, name) in e.child.output_names().into_iter().enumerate() {
                    if i > 0 {
                        b.push(", ");
                    }
                    b.push("json_agg(").push(&a.lateral).push(".").ident(name).push(")::jsonb AS ").ident(name);
                }
            } else {
                b.push("json_agg(").push(&a.lateral).push(")::jsonb AS ").push(&a.lateral);
            }
            b.push(" FROM (");
            render_child_select(b, qual, e, &a);
            b.push(") AS ").push(&a.lateral);
        }
        b.push(") AS ").push(&a.lateral).push(" ON TRUE");
    }
}

/// `SELECT <child list> FROM target [laterals] [JOIN junction] WHERE join AND filters ORDER LIMIT`
fn render_child_select(b: &mut SqlBuilder, parent: &str, e: &EmbedPlan, a: &EmbedAliases) {
    b.push("SELECT ");
    render_select_list(b, &a.table, &e.child);
    embed_from_where(b, parent, e, a, Parts::All);
    render_group_by(b, &a.table, &e.child);
    render_order(b, &a.table, &e.child, &e.child.order);
    if let Some(limit) = e.child.limit {
        b.push(" LIMIT ").param(limit.to_string());
    }
    if e.child.offset > 0 {
        b.push(" OFFSET ").param(e.child.offset.to_string());
    }
}

/// What follows ` FROM target [JOIN junction]` besides the join to the parent.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Parts {
    /// Laterals and conditions: the embed's own subquery.
    All,
    /// Conditions only: EXISTS filters.
    Conditions,
    /// The join alone: related ordering reads one column of the related row.
    JoinOnly,
}

/// ` FROM target AS t [JOIN junction] WHERE <join to parent> [AND <child conditions>]`: shared by
/// laterals, EXISTS filters and related ordering.
pub fn embed_from_where(b: &mut SqlBuilder, parent: &str, e: &EmbedPlan, a: &EmbedAliases, parts: Parts) {
    let target = e.child.relation;
    if let Some(function) = &e.rel.function {
        // A computed relationship: the function of the parent row returns the rows.
        b.push(" FROM ").qualified(&function.0, &function.1).push("(");
        render_row(b, parent, &e.rel.source);
        b.push(") AS ").push(&a.table);
        match parts {
            Parts::All => {
                render_laterals(b, &a.table, &e.child);
                render_where(b, &a.table, &e.child, None);
            }
            Parts::Conditions => render_where(b, &a.table, &e.child, None),
            Parts::JoinOnly => {}
        }
        return;
    }
    b.push(" FROM ").qualified(&target.schema, &target.name).push(" AS ").push(&a.table);
    let mut join = String::new();
    match (&e.rel.junction, e.junction) {
        (Some(j), Some(jrel)) => {
            b.push(" JOIN ").qualified(&jrel.schema, &jrel.name).push(" AS ").push(&a.junction).push(" ON ");
            for (i, (tcol, jcol)) in j.target_columns.iter().enumerate() {
                if i > 0 {
                    b.push(" AND ");
                }
                b.push(&a.junction).push(".").ident(jcol).push(" = ").push(&a.table).push(".").ident(tcol);
            }
            for (i, (scol, jcol)) in j.source_columns.iter().enumerate() {
                if i > 0 {
                    join.push_str(" AND ");
                }
                join.push_str(&format!("{}.{} = {}.{}", a.junction, quote_ident(jcol), parent, quote_ident(scol)));
            }
        }
        _ => {
            for (i, (scol, tcol)) in e.rel.columns.iter().enumerate() {
                if i > 0 {
                    join.push_str(" AND ");
                }
                join.push_str(&format!("{}.{} = {}.{}", a.table, quote_ident(tcol), parent, quote_ident(scol)));
            }
        }
    }
    match parts {
        Parts::All => {
            render_laterals(b, &a.table, &e.child);
            render_where(b, &a.table, &e.child, Some(&join));
        }
        Parts::Conditions => render_where(b, &a.table, &e.child, Some(&join)),
        Parts::JoinOnly => {
            b.push(" WHERE ").push(&join);
        }
    }
    debug_assert!(e.rel.cardinality != Cardinality::ManyToMany || e.junction.is_some());
}

//! Renders a [`WritePlan`]: the mutation as a CTE, then one row with the affected count, the
//! representation built by Postgres, the response GUCs, the new key (for `Location`) and how
//! many rows an upsert updated rather than inserted.

use crate::plan::{WriteOp, WritePlan};
use crate::request::preferences::ReturnPreference;

use super::builder::{SqlBuilder, Statement};
use super::expr::render_where;
use super::quote::push_qualified;
use super::read::render_body;
use super::shape::{render_laterals, render_select_list};

/// Counts rows an upsert updated; `RETURNING` would need SELECT rights, a setting does not.
const UPDATED_GUC: &str = "rowgate.updated";

pub fn render_write(plan: &WritePlan) -> Statement {
    let rel = plan.relation;
    let mut table = String::new();
    push_qualified(&mut table, &rel.schema, &rel.name);
    let mut b = SqlBuilder::new();

    b.push("WITH pgrst_mutation AS (");
    match plan.op {
        WriteOp::Insert => render_insert(&mut b, plan, &table),
        WriteOp::Update if plan.columns.is_empty() => {
            // `{}` updates nothing; the representation is empty.
            b.push("SELECT * FROM ").push(&table).push(" WHERE false");
        }
        WriteOp::Update => {
            b.push("UPDATE ").push(&table).push(" SET ");
            for (i, c) in plan.columns.iter().enumerate() {
                if i > 0 {
                    b.push(", ");
                }
                b.ident(&c.name).push(" = pgrst_row.").ident(&c.name);
            }
            b.push(" FROM jsonb_populate_record(null::").push(&table).push(", ").param(plan.payload.clone());
            b.push("::jsonb) AS pgrst_row");
            render_where(&mut b, &table, &plan.tree, None);
        }
        WriteOp::Delete => {
            b.push("DELETE FROM ").push(&table);
            render_where(&mut b, &table, &plan.tree, None);
        }
    }
    if !(plan.op == WriteOp::Update && plan.columns.is_empty()) {
        render_returning(&mut b, plan, &table);
    }
    b.push(") SELECT null::bigint AS total_result_set, pg_catalog.count(_postgrest_t) AS page_total, ");
    let representation = plan.returning == ReturnPreference::Representation;
    render_body(&mut b, &plan.tree, plan.media, !representation, None);
    b.push(
        " AS body, nullif(current_setting('response.headers', true), '') AS response_headers, \
         nullif(current_setting('response.status', true), '') AS response_status, ",
    );
    if plan.returning == ReturnPreference::HeadersOnly && !plan.key.is_empty() {
        // Key values in key order, for `Location`.
        b.push("(SELECT json_build_array(");
        for (i, k) in plan.key.iter().enumerate() {
            if i > 0 {
                b.push(", ");
            }
            b.ident(k);
        }
        b.push(")::text FROM pgrst_mutation LIMIT 1)");
    } else {
        b.push("null::text");
    }
    b.push(" AS location, coalesce(nullif(current_setting('")
        .push(UPDATED_GUC)
        .push("', true), '')::bigint, 0) AS updated FROM (SELECT ");
    let source = "\"pgrst_source\"";
    if representation {
        render_select_list(&mut b, source, &plan.tree);
    } else {
        b.push("1");
    }
    b.push(" FROM pgrst_mutation AS ").push(source);
    if representation {
        render_laterals(&mut b, source, &plan.tree);
    }
    b.push(") _postgrest_t");
    b.finish()
}

fn render_insert(b: &mut SqlBuilder, plan: &WritePlan, table: &str) {
    if plan.columns.is_empty() {
        // `{}` and `[{}, …]`: a row of defaults per object; `[]`: no row (201, nothing inserted).
        b.push("INSERT INTO ").push(table).push(" SELECT FROM jsonb_array_elements(");
        b.param(plan.payload.clone()).push("::jsonb)");
        return;
    }
    b.push("INSERT INTO ").push(table).push("(");
    for (i, c) in plan.columns.iter().enumerate() {
        if i > 0 {
            b.push(", ");
        }
        b.ident(&c.name);
    }
    b.push(") SELECT ");
    for (i, c) in plan.columns.iter().enumerate() {
        if i > 0 {
            b.push(", ");
        }
        match (&c.default, plan.missing_default) {
            // A key missing from an object takes the column default, evaluated per row.
            (Some(default), true) => {
                b.push("CASE WHEN pgrst_elem.j ? ").param(c.name.as_str()).push(" THEN pgrst_row.").ident(&c.name);
                b.push(" ELSE ").push(default).push(" END");
            }
            _ => {
                b.push("pgrst_row.").ident(&c.name);
            }
        }
    }
    b.push(" FROM jsonb_array_elements(").param(plan.payload.clone()).push("::jsonb) AS pgrst_elem(j), ");
    b.push("LATERAL jsonb_populate_record(null::").push(table).push(", pgrst_elem.j) AS pgrst_row");
    if let Some(oc) = &plan.on_conflict {
        b.push(" ON CONFLICT (");
        for (i, t) in oc.target.iter().enumerate() {
            if i > 0 {
                b.push(", ");
            }
            b.ident(t);
        }
        if oc.merge {
            b.push(") DO UPDATE SET ");
            for (i, c) in plan.columns.iter().enumerate() {
                if i > 0 {
                    b.push(", ");
                }
                b.ident(&c.name).push(" = EXCLUDED.").ident(&c.name);
            }
            // Evaluated once per conflicting row: counts updates without reading the rows.
            b.push(" WHERE set_config('")
                .push(UPDATED_GUC)
                .push("', (coalesce(nullif(current_setting('")
                .push(UPDATED_GUC)
                .push("', true), '')::bigint, 0) + 1)::text, true) IS NOT NULL");
        } else {
            b.push(") DO NOTHING");
        }
    }
}

/// `RETURNING 1` needs no SELECT right (nor a SELECT policy); keys and rows do.
fn render_returning(b: &mut SqlBuilder, plan: &WritePlan, table: &str) {
    match plan.returning {
        ReturnPreference::Representation => {
            b.push(" RETURNING ").push(table).push(".*");
        }
        ReturnPreference::HeadersOnly if !plan.key.is_empty() => {
            b.push(" RETURNING ");
            for (i, k) in plan.key.iter().enumerate() {
                if i > 0 {
                    b.push(", ");
                }
                b.push(table).push(".").ident(k);
            }
        }
        _ => {
            b.push(" RETURNING 1");
        }
    }
}

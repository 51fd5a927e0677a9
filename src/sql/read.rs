//! Renders a [`ReadPlan`] as one statement whose single row carries the whole response:
//! total, page size, the body built by Postgres, and the response GUCs.

use crate::plan::{CountPlan, ReadPlan, SelectTree};
use crate::request::MediaType;

use super::builder::{SqlBuilder, Statement};
use super::expr::{render_order, render_where};
use super::shape::{render_laterals, render_select_list};

/// The main statement, and for planned/estimated counts an EXPLAIN sharing its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadStatements {
    pub main: Statement,
    pub explain: Option<Statement>,
}

pub fn render_read(plan: &ReadPlan) -> ReadStatements {
    let rel = plan.relation();
    let mut qual = String::new();
    super::quote::push_qualified(&mut qual, &rel.schema, &rel.name);

    // WHERE once; the count query and EXPLAIN reuse the same text and parameter numbers.
    let mut where_sql = SqlBuilder::new();
    render_where(&mut where_sql, &qual, &plan.tree, None);
    let where_text = where_sql.sql;
    let where_params = where_sql.params.len();
    let mut b = SqlBuilder { sql: String::with_capacity(512), params: where_sql.params };

    b.push("WITH pgrst_source AS (SELECT ");
    render_select_list(&mut b, &qual, &plan.tree);
    b.push(" FROM ").push(&qual);
    render_laterals(&mut b, &qual, &plan.tree);
    b.push(&where_text);
    render_order(&mut b, &qual, &plan.tree, &plan.tree.order);
    if let Some(limit) = plan.range.limit {
        b.push(" LIMIT ").param(limit.to_string());
    }
    if plan.range.offset > 0 {
        b.push(" OFFSET ").param(plan.range.offset.to_string());
    }
    b.push(") SELECT ");
    match plan.count {
        CountPlan::Exact => {
            b.push("(SELECT pg_catalog.count(*) FROM (SELECT 1 FROM ")
                .push(&qual)
                .push(&where_text)
                .push(") pgrst_count)");
        }
        CountPlan::Estimated { max_rows } => {
            b.push("(SELECT pg_catalog.count(*) FROM (SELECT 1 FROM ")
                .push(&qual)
                .push(&where_text)
                .push(" LIMIT ")
                .param((max_rows + 1).to_string())
                .push(") pgrst_count)");
        }
        CountPlan::None | CountPlan::Planned => {
            b.push("null::bigint");
        }
    }
    b.push(" AS total_result_set, pg_catalog.count(_postgrest_t) AS page_total, ");
    render_body(&mut b, &plan.tree, plan.media, plan.headers_only);
    b.push(
        " AS body, nullif(current_setting('response.headers', true), '') AS response_headers, \
         nullif(current_setting('response.status', true), '') AS response_status \
         FROM (SELECT * FROM pgrst_source) _postgrest_t",
    );

    let explain = matches!(plan.count, CountPlan::Planned | CountPlan::Estimated { .. }).then(|| {
        let mut e = SqlBuilder::new();
        e.push("EXPLAIN (FORMAT JSON) SELECT 1 FROM ").push(&qual).push(&where_text);
        e.params = b.params[..where_params].to_vec();
        e.finish()
    });
    ReadStatements { main: b.finish(), explain }
}

/// The body column over `_postgrest_t` rows, in the negotiated media type.
pub fn render_body(b: &mut SqlBuilder, tree: &SelectTree, media: MediaType, headers_only: bool) {
    if headers_only {
        b.push("''");
        return;
    }
    match media {
        MediaType::Json => b.push("coalesce(json_agg(_postgrest_t), '[]')::text"),
        MediaType::ArrayStripped => b.push("coalesce(json_strip_nulls(json_agg(_postgrest_t)), '[]')::text"),
        MediaType::SingleObject { strip_nulls: false } => b.push("coalesce((json_agg(_postgrest_t)->0)::text, 'null')"),
        MediaType::SingleObject { strip_nulls: true } => {
            b.push("coalesce(json_strip_nulls(json_agg(_postgrest_t)->0)::text, 'null')")
        }
        MediaType::Csv => b.param(csv_header(&tree.output_names())).push(
            "::text || coalesce(chr(10) || string_agg(substring(_postgrest_t::text, 2, length(_postgrest_t::text) - 2), chr(10)), '')",
        ),
    };
}

/// The CSV header row, from the planned output names (so an empty result still has one).
fn csv_header(names: &[&str]) -> String {
    names
        .iter()
        .map(
            |n| {
                if n.contains([',', '"', '\n', '\r']) {
                    format!("\"{}\"", n.replace('"', "\"\""))
                } else {
                    n.to_string()
                }
            },
        )
        .collect::<Vec<_>>()
        .join(",")
}

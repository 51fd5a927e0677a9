//! Renders a [`ReadPlan`] as one statement whose single row carries the whole response:
//! total, page size, the body built by Postgres, and the response GUCs.

use crate::plan::{CountPlan, Handler, ReadPlan, SelectTree};
use crate::request::MediaType;
use crate::schema::HandlerTarget;

use super::builder::{SqlBuilder, Statement};
use super::expr::{render_order, render_where};
use super::shape::{render_group_by, render_laterals, render_select_list};

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
    let source = RowSource { from: qual.clone(), qual, params: SqlBuilder::new() };
    render_rows(
        source,
        &Rows {
            tree: &plan.tree,
            range: plan.range,
            count: plan.count,
            media: plan.media,
            handler: plan.handler,
            headers_only: plan.headers_only,
        },
    )
}

/// Where rows come from: a FROM item (`"s"."t"` or a function call with its alias), the name
/// its columns are reached through, and the parameters the FROM item already bound.
pub struct RowSource {
    pub from: String,
    pub qual: String,
    pub params: SqlBuilder,
}

/// What to read from a source.
pub struct Rows<'p, 'a> {
    pub tree: &'p SelectTree<'a>,
    pub range: crate::request::RowRange,
    pub count: CountPlan,
    pub media: MediaType,
    pub handler: Option<Handler<'a>>,
    pub headers_only: bool,
}

/// The read statement over any row source (tables, views, table-valued functions).
pub fn render_rows(source: RowSource, rows: &Rows) -> ReadStatements {
    let RowSource { from, qual, params: mut where_sql } = source;
    // WHERE once; the count query and EXPLAIN reuse the same text and parameter numbers.
    let from_params = where_sql.sql.len();
    debug_assert_eq!(from_params, 0, "the source binds parameters, it writes no text");
    render_where(&mut where_sql, &qual, rows.tree, None);
    let where_text = where_sql.sql;
    let where_params = where_sql.params.len();
    let mut b = SqlBuilder { sql: String::with_capacity(512), params: where_sql.params };

    b.push("WITH pgrst_source AS (SELECT ");
    render_select_list(&mut b, &qual, rows.tree);
    b.push(" FROM ").push(&from);
    render_laterals(&mut b, &qual, rows.tree);
    b.push(&where_text);
    render_group_by(&mut b, &qual, rows.tree);
    render_order(&mut b, &qual, rows.tree, &rows.tree.order);
    if let Some(limit) = rows.range.limit {
        b.push(" LIMIT ").param(limit.to_string());
    }
    if rows.range.offset > 0 {
        b.push(" OFFSET ").param(rows.range.offset.to_string());
    }
    b.push(") SELECT ");
    match rows.count {
        CountPlan::Exact => {
            b.push("(SELECT pg_catalog.count(*) FROM (SELECT 1 FROM ")
                .push(&from)
                .push(&where_text)
                .push(") pgrst_count)");
        }
        CountPlan::Estimated { max_rows } => {
            b.push("(SELECT pg_catalog.count(*) FROM (SELECT 1 FROM ")
                .push(&from)
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
    render_body(&mut b, rows.tree, rows.media, rows.headers_only, rows.handler.as_ref());
    b.push(TAIL);

    let explain = matches!(rows.count, CountPlan::Planned | CountPlan::Estimated { .. }).then(|| {
        let mut e = SqlBuilder::new();
        e.push("EXPLAIN (FORMAT JSON) SELECT 1 FROM ").push(&from).push(&where_text);
        e.params = b.params[..where_params].to_vec();
        e.finish()
    });
    ReadStatements { main: b.finish(), explain }
}

/// The response GUCs and the final FROM, shared by every read-shaped statement.
pub const TAIL: &str = " AS body, nullif(current_setting('response.headers', true), '') AS response_headers, \
nullif(current_setting('response.status', true), '') AS response_status \
FROM (SELECT * FROM pgrst_source) _postgrest_t";

/// The body column over `_postgrest_t` rows, in the negotiated media type.
pub fn render_body(
    b: &mut SqlBuilder,
    tree: &SelectTree,
    media: MediaType,
    headers_only: bool,
    handler: Option<&Handler>,
) {
    if headers_only {
        b.push("''");
        return;
    }
    match handler {
        Some(Handler::Geo { postgis }) => {
            b.push("json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(")
                .qualified(postgis, "st_asgeojson")
                .push("(_postgrest_t)::json), '[]'))::text");
            return;
        }
        Some(Handler::Custom(h)) => {
            // An aggregate of the rows; a relation's own one takes them as its row type. Bytes
            // travel as hex whatever `bytea_output` says.
            if h.binary {
                b.push("encode(");
            }
            b.qualified(&h.function.0, &h.function.1).push("(_postgrest_t");
            if let HandlerTarget::Relation(schema, name) = &h.target {
                b.push("::").qualified(schema, name);
            }
            b.push(")");
            if h.binary {
                b.push(", 'hex')");
            }
            return;
        }
        None => {}
    }
    match media {
        MediaType::Json | MediaType::GeoJson => b.push("coalesce(json_agg(_postgrest_t), '[]')::text"),
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

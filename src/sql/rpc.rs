//! Renders an [`RpcPlan`]: the function call with named (or one positional) arguments, each a
//! parameter cast to the argument's type from the catalog; rows reuse the read statement.

use crate::plan::rpc::{RpcPlan, RpcResult};
use crate::plan::{CountPlan, Handler};

use super::builder::SqlBuilder;
use super::read::{render_rows, ReadStatements, RowSource, Rows, TAIL};

/// `"s"."fn"("a" := $1::integer, VARIADIC "v" := $2::numeric[])`
fn render_call(b: &mut SqlBuilder, plan: &RpcPlan) {
    let f = plan.function;
    b.qualified(&f.schema, &f.name).push("(");
    for (i, arg) in plan.args.iter().enumerate() {
        if i > 0 {
            b.push(", ");
        }
        if arg.variadic {
            b.push("VARIADIC ");
        }
        if !arg.name.is_empty() {
            b.ident(arg.name).push(" := ");
        }
        match &arg.value {
            Some(v) => b.param(v.as_str()),
            None => b.push("NULL"),
        };
        // The type text comes from the catalog (format_type), never from the request.
        b.push("::").push(arg.data_type);
    }
    b.push(")");
}

pub fn render_rpc(plan: &RpcPlan) -> ReadStatements {
    let mut call = SqlBuilder::new();
    render_call(&mut call, plan);
    let call_sql = std::mem::take(&mut call.sql);
    match &plan.result {
        RpcResult::Rows(tree) => {
            let qual = "\"pgrst_call\"".to_string();
            let source = RowSource { from: format!("{call_sql} AS {qual}"), qual, params: call };
            let rows = Rows {
                tree,
                range: plan.range,
                count: plan.count,
                media: plan.media,
                handler: plan.handler,
                headers_only: plan.headers_only,
            };
            render_rows(source, &rows)
        }
        RpcResult::Scalar { set } => {
            let mut b = call;
            if *set {
                b.push("WITH pgrst_source AS (SELECT \"pgrst_call\" AS pgrst_scalar FROM ")
                    .push(&call_sql)
                    .push(" AS \"pgrst_call\"");
                if let Some(limit) = plan.range.limit {
                    b.push(" LIMIT ").param(limit.to_string());
                }
                if plan.range.offset > 0 {
                    b.push(" OFFSET ").param(plan.range.offset.to_string());
                }
                b.push(")");
            } else {
                b.push("WITH pgrst_source AS (SELECT ").push(&call_sql).push(" AS pgrst_scalar)");
            }
            b.push(" SELECT ");
            match plan.count {
                // The set counted whole, for Content-Range and 206 (the page is `pgrst_source`).
                CountPlan::Exact | CountPlan::Estimated { .. } if *set => {
                    b.push("(SELECT pg_catalog.count(*) FROM ").push(&call_sql).push(" AS \"pgrst_call\")");
                }
                _ => {
                    b.push("null::bigint");
                }
            }
            b.push(" AS total_result_set, pg_catalog.count(_postgrest_t) AS page_total, ");
            if plan.headers_only {
                b.push("''");
            } else if let Some(Handler::Custom(h)) = plan.handler {
                // The function's value, of the media type, is the whole body (bytes as hex).
                if h.binary {
                    b.push("encode((array_agg(_postgrest_t.pgrst_scalar))[1], 'hex')");
                } else {
                    b.push("(array_agg(_postgrest_t.pgrst_scalar))[1]");
                }
            } else if *set {
                b.push("coalesce(json_agg(_postgrest_t.pgrst_scalar), '[]')::text");
            } else {
                b.push("coalesce((json_agg(_postgrest_t.pgrst_scalar)->0)::text, 'null')");
            }
            b.push(TAIL);
            ReadStatements { main: b.finish(), explain: None }
        }
        // One row per piece, sent on as it comes (no aggregate: nothing is built whole).
        RpcResult::Stream => {
            let mut b = call;
            b.push("SELECT \"pgrst_call\"::text FROM ").push(&call_sql).push(" AS \"pgrst_call\"");
            ReadStatements { main: b.finish(), explain: None }
        }
        RpcResult::Void => {
            let mut b = call;
            b.push("WITH pgrst_source AS (SELECT ").push(&call_sql).push(")");
            b.push(" SELECT null::bigint AS total_result_set, pg_catalog.count(_postgrest_t) AS page_total, ''");
            b.push(TAIL);
            ReadStatements { main: b.finish(), explain: None }
        }
    }
}

//! Renders a [`ReadPlan`] as one statement whose single row carries the whole response:
//! total, page size, the body built by Postgres, and the response GUCs.

use crate::plan::{ColumnRef, CountPlan, OutputColumn, PlannedCondition, ReadPlan};
use crate::request::ast::{
    Direction, FtsOperator, IsValue, JsonKey, JsonStep, LogicOp, Nulls, Operation, Operator,
    Quantifier,
};
use crate::request::MediaType;
use crate::schema::Relation;

use super::builder::{SqlBuilder, Statement};

/// The main statement, and for planned/estimated counts an EXPLAIN sharing its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadStatements {
    pub main: Statement,
    pub explain: Option<Statement>,
}

pub fn render_read(plan: &ReadPlan) -> ReadStatements {
    let rel = plan.relation;
    let mut b = SqlBuilder::new();

    // WHERE once; the count query reuses the same text and parameter numbers.
    let mut where_sql = SqlBuilder::new();
    render_where(&mut where_sql, rel, &plan.conditions);
    let where_text = where_sql.sql;
    let where_params = where_sql.params.len();
    b.params = where_sql.params;

    b.push("WITH pgrst_source AS (SELECT ");
    render_select_list(&mut b, rel, &plan.select);
    b.push(" FROM ")
        .qualified(&rel.schema, &rel.name)
        .push(&where_text);
    render_order(&mut b, rel, plan);
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
                .qualified(&rel.schema, &rel.name)
                .push(&where_text)
                .push(") pgrst_count)");
        }
        CountPlan::Estimated { max_rows } => {
            b.push("(SELECT pg_catalog.count(*) FROM (SELECT 1 FROM ")
                .qualified(&rel.schema, &rel.name)
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
    render_body(&mut b, plan);
    b.push(
        " AS body, nullif(current_setting('response.headers', true), '') AS response_headers, \
         nullif(current_setting('response.status', true), '') AS response_status \
         FROM (SELECT * FROM pgrst_source) _postgrest_t",
    );

    let explain =
        matches!(plan.count, CountPlan::Planned | CountPlan::Estimated { .. }).then(|| {
            let mut e = SqlBuilder::new();
            e.push("EXPLAIN (FORMAT JSON) SELECT 1 FROM ")
                .qualified(&rel.schema, &rel.name)
                .push(&where_text);
            // Only the WHERE parameters appear in the EXPLAIN text.
            e.params = b.params[..where_params].to_vec();
            e.finish()
        });
    ReadStatements {
        main: b.finish(),
        explain,
    }
}

fn render_body(b: &mut SqlBuilder, plan: &ReadPlan) {
    if plan.headers_only {
        b.push("''");
        return;
    }
    match plan.media {
        MediaType::Json => b.push("coalesce(json_agg(_postgrest_t), '[]')::text"),
        MediaType::ArrayStripped => b.push("coalesce(json_strip_nulls(json_agg(_postgrest_t)), '[]')::text"),
        MediaType::SingleObject { strip_nulls: false } => b.push("coalesce((json_agg(_postgrest_t)->0)::text, 'null')"),
        MediaType::SingleObject { strip_nulls: true } => {
            b.push("coalesce(json_strip_nulls(json_agg(_postgrest_t)->0)::text, 'null')")
        }
        MediaType::Csv => {
            b.param(csv_header(plan.relation, &plan.select))
                .push("::text || coalesce(chr(10) || string_agg(substring(_postgrest_t::text, 2, length(_postgrest_t::text) - 2), chr(10)), '')")
        }
    };
}

/// The CSV header row, from the planned output names (so an empty result still has one).
fn csv_header(rel: &Relation, select: &[OutputColumn]) -> String {
    let mut names: Vec<&str> = Vec::new();
    for item in select {
        match item {
            OutputColumn::Star => names.extend(rel.columns.iter().map(|c| c.name.as_str())),
            OutputColumn::Column { name, .. } => names.push(name),
        }
    }
    names
        .iter()
        .map(|n| {
            if n.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", n.replace('"', "\"\""))
            } else {
                n.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn render_select_list(b: &mut SqlBuilder, rel: &Relation, select: &[OutputColumn]) {
    for (i, item) in select.iter().enumerate() {
        if i > 0 {
            b.push(", ");
        }
        match item {
            OutputColumn::Star => {
                b.qualified(&rel.schema, &rel.name).push(".*");
            }
            OutputColumn::Column {
                target,
                cast,
                name,
                renamed,
            } => {
                if cast.is_some() {
                    b.push("(");
                }
                render_column(b, rel, target);
                if let Some(t) = cast {
                    b.push(")::").push(t);
                }
                if *renamed || cast.is_some() {
                    b.push(" AS ").ident(name);
                }
            }
        }
    }
}

/// `"s"."t"."col"` with its JSON path; non-JSON columns go through `to_jsonb` first.
fn render_column(b: &mut SqlBuilder, rel: &Relation, target: &ColumnRef) {
    let json_wrap = !target.json_path.is_empty() && !target.column.is_json();
    if json_wrap {
        b.push("to_jsonb(");
    }
    b.qualified(&rel.schema, &rel.name)
        .push(".")
        .ident(&target.column.name);
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
            JsonKey::Key(k) => {
                b.param(k.as_str()).push("::text");
            }
            JsonKey::Index(i) => {
                b.param(i.as_str()).push("::integer");
            }
        }
    }
}

fn render_where(b: &mut SqlBuilder, rel: &Relation, conditions: &[PlannedCondition]) {
    for (i, cond) in conditions.iter().enumerate() {
        b.push(if i == 0 { " WHERE " } else { " AND " });
        render_condition(b, rel, cond);
    }
}

fn render_condition(b: &mut SqlBuilder, rel: &Relation, cond: &PlannedCondition) {
    match cond {
        PlannedCondition::Filter {
            target,
            negated,
            operation,
        } => {
            if *negated {
                b.push("NOT (");
            }
            render_operation(b, rel, target, operation);
            if *negated {
                b.push(")");
            }
        }
        PlannedCondition::Group {
            op,
            negated,
            children,
        } => {
            if *negated {
                b.push("NOT ");
            }
            b.push("(");
            for (i, c) in children.iter().enumerate() {
                if i > 0 {
                    b.push(if *op == LogicOp::And { " AND " } else { " OR " });
                }
                render_condition(b, rel, c);
            }
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

fn render_operation(b: &mut SqlBuilder, rel: &Relation, target: &ColumnRef, operation: &Operation) {
    match operation {
        Operation::Compare {
            op,
            quantifier,
            value,
        } => {
            render_column(b, rel, target);
            b.push(" ").push(operator_sql(*op)).push(" ");
            let value = if matches!(op, Operator::Like | Operator::Ilike) {
                value.replace('*', "%")
            } else {
                value.clone()
            };
            match quantifier {
                Some(q) => {
                    b.push(if *q == Quantifier::Any {
                        "ANY("
                    } else {
                        "ALL("
                    })
                    .param(value)
                    .push(")");
                }
                None => {
                    b.param(value);
                }
            }
        }
        Operation::In(items) => {
            render_column(b, rel, target);
            b.push(" = ANY(").param(array_literal(items)).push(")");
        }
        Operation::Is(v) => {
            render_column(b, rel, target);
            b.push(match v {
                IsValue::Null => " IS NULL",
                IsValue::NotNull => " IS NOT NULL",
                IsValue::True => " IS TRUE",
                IsValue::False => " IS FALSE",
                IsValue::Unknown => " IS UNKNOWN",
            });
        }
        Operation::Fts {
            op,
            language,
            value,
        } => {
            let lang_param = language.as_ref().map(|l| {
                b.params.push(l.clone());
                b.params.len()
            });
            if target.column.is_tsvector() && target.json_path.is_empty() {
                render_column(b, rel, target);
            } else {
                b.push("to_tsvector(");
                if let Some(n) = lang_param {
                    b.push(&format!("${n}::regconfig, "));
                }
                render_column(b, rel, target);
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

fn render_order(b: &mut SqlBuilder, rel: &Relation, plan: &ReadPlan) {
    for (i, o) in plan.order.iter().enumerate() {
        b.push(if i == 0 { " ORDER BY " } else { ", " });
        render_column(b, rel, &o.target);
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

/// `{"a","b\"c"}`: a Postgres array literal; one parameter whatever the list length.
pub fn array_literal(items: &[String]) -> String {
    let mut s = String::from("{");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push('"');
        for c in item.chars() {
            if c == '"' || c == '\\' {
                s.push('\\');
            }
            s.push(c);
        }
        s.push('"');
    }
    s.push('}');
    s
}

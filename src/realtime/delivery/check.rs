//! The two round trips of a batch, both through `Conn::pipeline_groups` (every group its own
//! implicit transaction, so one failure stays in its group):
//!
//! 1. As the gateway's role, per table: `realtime.batch` (the row images as JSON of the table's
//!    types; per subscriber role the readable columns and the visibility statement built from the
//!    policies as they are now), and per filter column and operator `realtime.filter_matches`.
//! 2. Per subscriber identity, the REST transaction's shape: read-only, the context statement
//!    (role, claims), the pre-request check (revoked sessions and API tokens fail here), then per
//!    table the visibility statement over that identity's candidate images.
//!
//! Statement texts are fixed, or come from `realtime.visibility_sql` (stable for a table, role
//! and policy set, so each connection prepares them once); images, filter values and claims are
//! parameters.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::db::pool::Lease;
use crate::db::wire::{Replies, Step};
use crate::db::DbError;
use crate::realtime::registry::Identity;
use crate::sql::context;
use crate::state::AppState;

const BATCH_SQL: &str = "select realtime.batch($1::oid::regclass, $2::jsonb, $3::text[])::text";
const FILTER_SQL: &str =
    "select realtime.filter_matches($1::oid::regclass, $2, $3, $4::jsonb, $5::text[], $6::int[])::text";

/// Identities checked per round trip (bounds one pipeline's size).
const IDENTITIES_PER_PIPELINE: usize = 256;
/// Pipelines of one batch in flight at once, and the fewest identities worth a pipeline of their own.
const PARALLEL_PIPELINES: usize = 2;
const MIN_PER_PIPELINE: usize = 16;

/// A `text[]` literal.
pub fn text_array<S: AsRef<str>>(items: &[S]) -> String {
    let mut out = String::from("{");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        for c in item.as_ref().chars() {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
    }
    out.push('}');
    out
}

/// A JSON array of JSON texts.
pub fn json_array<S: AsRef<str>>(items: &[S]) -> String {
    let mut out = String::with_capacity(2 + items.iter().map(|i| i.as_ref().len() + 1).sum::<usize>());
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(item.as_ref());
    }
    out.push(']');
    out
}

/// The filters of one column and operator on one table: `vals[i]` stands for `ids[i]`.
#[derive(Debug, Default)]
pub struct FilterGroup {
    pub column: String,
    pub op: &'static str,
    pub vals: Vec<String>,
    pub ids: Vec<i32>,
}

/// Step 1's input for one table.
pub struct TableRequest {
    pub table: u32,
    /// Every image of the batch's changes to the table (new and old rows), as JSON.
    pub images: Vec<String>,
    /// The images the policies and filters are evaluated on (one per change), as positions in `images`.
    pub checked: Vec<usize>,
    pub roles: Vec<Arc<str>>,
    pub filters: Vec<FilterGroup>,
}

/// What a role may see of a table.
#[derive(Debug)]
pub struct RoleView {
    /// `[{name, type}]` as JSON text (the payload's `columns`).
    pub columns_json: String,
    pub names: Vec<String>,
    /// The visibility statement.
    pub sql: String,
}

/// Step 1's answer for one table.
#[derive(Debug, Default)]
pub struct TableView {
    /// `to_jsonb` of each image, in `images` order.
    pub rows: Vec<Map<String, Value>>,
    pub roles: HashMap<Arc<str>, RoleView>,
    /// `(position in checked, filter id)` pairs that matched.
    pub matches: Vec<(usize, i32)>,
    /// Filter groups that failed (a column whose type changed, …): their subscribers get nothing.
    pub failed_filters: Vec<(String, String)>,
}

fn shape(what: &str) -> DbError {
    DbError::Shape(format!("realtime: unexpected {what}"))
}

fn first_text(r: &Replies, step: usize) -> Result<String, DbError> {
    let row = r.rows.get(step).and_then(|rows| rows.first()).ok_or_else(|| shape("empty result"))?;
    Ok(row.required_text(0)?.to_string())
}

/// Step 1, for every table of the batch in one round trip.
pub async fn describe(state: &AppState, tables: &[TableRequest]) -> Result<Vec<Result<TableView, String>>, DbError> {
    let mut params: Vec<Vec<String>> = Vec::new();
    let mut shapes: Vec<(usize, Option<usize>)> = Vec::new(); // (table index, filter group)
    for (ti, t) in tables.iter().enumerate() {
        let roles: Vec<&str> = t.roles.iter().map(|r| r.as_ref()).collect();
        params.push(vec![t.table.to_string(), json_array(&t.images), text_array(&roles)]);
        shapes.push((ti, None));
        let checked: Vec<&str> = t.checked.iter().map(|&i| t.images[i].as_str()).collect();
        let checked_json = json_array(&checked);
        for (gi, g) in t.filters.iter().enumerate() {
            let ids: Vec<String> = g.ids.iter().map(i32::to_string).collect();
            params.push(vec![
                t.table.to_string(),
                g.column.clone(),
                g.op.to_string(),
                checked_json.clone(),
                text_array(&g.vals),
                format!("{{{}}}", ids.join(",")),
            ]);
            shapes.push((ti, Some(gi)));
        }
    }
    let groups: Vec<Vec<Step>> = params
        .iter()
        .zip(&shapes)
        .map(|(p, (_, g))| vec![Step::new(if g.is_some() { FILTER_SQL } else { BATCH_SQL }, p)])
        .collect();
    let mut conn = Lease::get(&state.pool).await?;
    let replies = conn.pipeline_groups(&groups).await?;
    let mut out: Vec<Result<TableView, String>> = tables.iter().map(|_| Ok(TableView::default())).collect();
    for (r, (ti, g)) in replies.iter().zip(&shapes) {
        let t = &tables[*ti];
        match (g, &r.error) {
            (None, Some(e)) => out[*ti] = Err(e.message.clone()),
            (None, None) => {
                let text = first_text(r, 0)?;
                if let Ok(view) = out[*ti].as_mut() {
                    parse_batch(&text, view)?;
                }
            }
            (Some(gi), Some(e)) => {
                if let Ok(view) = out[*ti].as_mut() {
                    view.failed_filters.push((t.filters[*gi].column.clone(), e.message.clone()));
                }
            }
            (Some(_), None) => {
                let pairs: Vec<(usize, i32)> =
                    serde_json::from_str(&first_text(r, 0)?).map_err(|_| shape("filter matches"))?;
                if let Ok(view) = out[*ti].as_mut() {
                    // Positions come 1-based from SQL.
                    view.matches.extend(pairs.into_iter().map(|(n, id)| (n.saturating_sub(1), id)));
                }
            }
        }
    }
    Ok(out)
}

fn parse_batch(text: &str, view: &mut TableView) -> Result<(), DbError> {
    #[derive(serde::Deserialize)]
    struct Batch {
        rows: Vec<Map<String, Value>>,
        roles: HashMap<String, RoleJson>,
    }
    #[derive(serde::Deserialize)]
    struct RoleJson {
        columns: Vec<Map<String, Value>>,
        sql: String,
    }
    let batch: Batch = serde_json::from_str(text).map_err(|_| shape("batch description"))?;
    view.rows = batch.rows;
    for (role, r) in batch.roles {
        let names =
            r.columns.iter().filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_string)).collect();
        let columns_json = Value::Array(r.columns.into_iter().map(Value::Object).collect()).to_string();
        view.roles.insert(role.into(), RoleView { columns_json, names, sql: r.sql });
    }
    Ok(())
}

/// One identity's candidates: per table, the visibility statement and the images (JSON).
#[derive(Clone)]
pub struct IdentityRequest<'a> {
    pub identity: Arc<Identity>,
    pub tables: Vec<(&'a str, Vec<&'a str>)>,
}

/// How one identity's check ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Per table (request order): the 0-based positions of the visible images.
    Visible(Vec<Vec<usize>>),
    /// The pre-request check refused the token (a revoked session or API token): the channels close.
    Revoked(String),
    /// Anything else (a policy raised for these claims): this identity misses the batch.
    Failed(String),
    /// A failure that says nothing about the identity (statement timeout under load, deadlock,
    /// serialization, resources, a lost connection): checked again before giving up.
    Transient(String),
}

/// How many times a transient failure is checked again, and the first pause (doubling).
const TRANSIENT_RETRIES: u32 = 3;
const TRANSIENT_PAUSE: std::time::Duration = std::time::Duration::from_millis(100);

/// SQLSTATE classes that do not depend on who asks: 40 (serialization, deadlock), 53
/// (insufficient resources), 08 (connection), 57014 (statement timeout), 55P03 (lock timeout).
fn transient(code: &str) -> bool {
    code.starts_with("40") || code.starts_with("53") || code.starts_with("08") || code == "57014" || code == "55P03"
}

/// Runs the request's transaction shape for the pre-request check alone (token re-check).
pub fn context_steps<'a>(state: &'a AppState, statement: &'a crate::sql::Statement) -> Vec<Step<'a>> {
    let none: &[String] = &[];
    let mut steps = vec![Step::new(&statement.sql, &statement.params)];
    if let Some(pre) = state.pre_request_sql.as_deref() {
        steps.push(Step::new(pre, none));
    }
    steps
}

/// The context statement of a realtime check (what a REST GET would set, read-only).
pub fn context_of(state: &AppState, identity: &Identity) -> crate::sql::Statement {
    let cache = state.schema.load_full();
    let role_settings =
        cache.as_deref().and_then(|c| c.role_settings(&identity.role)).map_or(&[][..], |s| s.settings.as_slice());
    context::read_only_context_statement(&context::RequestContext {
        schema: state.config.schemas.first().map_or("api", String::as_str),
        extra_search_path: &state.config.extra_search_path,
        role: &identity.role,
        claims: &identity.claims,
        method: "GET",
        path: "/realtime/v1/websocket",
        headers: "{}",
        cookies: "{}",
        statement_timeout_ms: state.config.statement_timeout.as_millis() as u64,
        timezone: "",
        client_ip: "",
        role_settings,
    })
}

/// A failed group: revoked (the pre-request check's PGRST301) or another failure.
pub fn verdict_of_error(e: &crate::db::ServerError) -> Verdict {
    if e.code == "PGRST" {
        let message = serde_json::from_str::<Value>(&e.message)
            .ok()
            .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_else(|| e.message.clone());
        return Verdict::Revoked(message);
    }
    let why = format!("{}: {}", e.code, e.message);
    if transient(&e.code) {
        return Verdict::Transient(why);
    }
    Verdict::Failed(why)
}

/// Step 2: every identity's transaction, in pipelines of at most [`IDENTITIES_PER_PIPELINE`],
/// up to [`PARALLEL_PIPELINES`] at once on their own connections (PostgreSQL then checks on
/// several cores).
pub async fn visible(state: &AppState, requests: &[IdentityRequest<'_>]) -> Result<Vec<Verdict>, DbError> {
    if requests.is_empty() {
        return Ok(Vec::new());
    }
    let lanes = PARALLEL_PIPELINES.min(requests.len().div_ceil(MIN_PER_PIPELINE)).max(1);
    let size = requests.len().div_ceil(lanes).min(IDENTITIES_PER_PIPELINE);
    let mut verdicts = Vec::with_capacity(requests.len());
    for wave in requests.chunks(size * lanes) {
        let runs = wave.chunks(size).map(|chunk| visible_chunk(state, chunk));
        for r in futures_util::future::join_all(runs).await {
            verdicts.extend(r?);
        }
    }
    // Transient failures are checked again (those identities only), so a busy database delays a
    // subscriber's changes instead of losing them; what still fails after that is Failed.
    let mut pause = TRANSIENT_PAUSE;
    for _ in 0..TRANSIENT_RETRIES {
        let again: Vec<usize> = (0..verdicts.len()).filter(|&i| matches!(verdicts[i], Verdict::Transient(_))).collect();
        if again.is_empty() {
            break;
        }
        tokio::time::sleep(pause).await;
        pause *= 2;
        let retry: Vec<IdentityRequest> = again.iter().map(|&i| requests[i].clone()).collect();
        for chunk_at in (0..retry.len()).step_by(size) {
            let chunk = &retry[chunk_at..(chunk_at + size).min(retry.len())];
            for (k, v) in visible_chunk(state, chunk).await?.into_iter().enumerate() {
                verdicts[again[chunk_at + k]] = v;
            }
        }
    }
    for v in &mut verdicts {
        if let Verdict::Transient(why) = v {
            *v = Verdict::Failed(std::mem::take(why));
        }
    }
    Ok(verdicts)
}

async fn visible_chunk(state: &AppState, chunk: &[IdentityRequest<'_>]) -> Result<Vec<Verdict>, DbError> {
    let mut verdicts = Vec::with_capacity(chunk.len());
    let contexts: Vec<crate::sql::Statement> = chunk.iter().map(|r| context_of(state, &r.identity)).collect();
    let params: Vec<Vec<[String; 1]>> =
        chunk.iter().map(|r| r.tables.iter().map(|(_, imgs)| [json_array(imgs)]).collect()).collect();
    let groups: Vec<Vec<Step>> = chunk
        .iter()
        .zip(&contexts)
        .zip(&params)
        .map(|((r, ctx), p)| {
            let mut steps = context_steps(state, ctx);
            steps.extend(r.tables.iter().zip(p).map(|((sql, _), p)| Step::new(sql, p)));
            steps
        })
        .collect();
    let mut conn = Lease::get(&state.pool).await?;
    let replies = conn.pipeline_groups(&groups).await?;
    for (r, (req, group)) in replies.iter().zip(chunk.iter().zip(&groups)) {
        if let Some(e) = &r.error {
            verdicts.push(verdict_of_error(e));
            continue;
        }
        let first = group.len() - req.tables.len();
        let mut per_table = Vec::with_capacity(req.tables.len());
        for i in 0..req.tables.len() {
            per_table.push(positions(&first_text(r, first + i)?));
        }
        verdicts.push(Verdict::Visible(per_table));
    }
    Ok(verdicts)
}

/// `{1,3}` (1-based) → `[0, 2]`.
fn positions(text: &str) -> Vec<usize> {
    text.trim_matches(|c| c == '{' || c == '}')
        .split(',')
        .filter_map(|n| n.trim().parse::<usize>().ok())
        .filter_map(|n| n.checked_sub(1))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals() {
        assert_eq!(text_array(&["a", "b\"c", "d\\e"]), r#"{"a","b\"c","d\\e"}"#);
        assert_eq!(text_array::<&str>(&[]), "{}");
        assert_eq!(json_array(&["{\"a\":1}", "{}"]), "[{\"a\":1},{}]");
        assert_eq!(positions("{1,3}"), vec![0, 2]);
        assert_eq!(positions("{}"), Vec::<usize>::new());
    }

    #[test]
    fn revoked_tokens_are_told_apart() {
        let revoked = crate::db::ServerError {
            code: "PGRST".into(),
            message: r#"{"code":"PGRST301","message":"JWT session revoked","details":null,"hint":null}"#.into(),
            ..Default::default()
        };
        assert_eq!(verdict_of_error(&revoked), Verdict::Revoked("JWT session revoked".into()));
        let raised =
            crate::db::ServerError { code: "22P02".into(), message: "invalid input".into(), ..Default::default() };
        assert!(matches!(verdict_of_error(&raised), Verdict::Failed(m) if m.contains("22P02")));
        for code in ["57014", "40001", "40P01", "53200", "08006", "55P03"] {
            let busy = crate::db::ServerError { code: code.into(), ..raised.clone() };
            assert!(matches!(verdict_of_error(&busy), Verdict::Transient(_)), "{code}");
        }
    }
}

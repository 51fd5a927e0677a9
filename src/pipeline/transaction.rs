//! The transaction every request runs in: `BEGIN [READ ONLY]`, the context statement (role,
//! claims, method, path, headers, cookies, timeout, time zone), the pre-request function, the
//! main statement and the end — one pipeline, one round trip (`db::execute`). `/auth/v1` runs
//! its functions through the same path.

use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::Response;

use super::{Call, PipelineError};
use crate::body::{full, Body};
use crate::config::TxEnd;
use crate::db::error::DbFailure;
use crate::db::execute::{self, Finish, Outcome, Transaction};
use crate::db::pool::Lease;
use crate::db::DbError;
use crate::error::Internal;
use crate::observe::{self, Phase};
use crate::request::media::PlanFormat;
use crate::request::preferences::TxPreference;
use crate::request::RequestError;
use crate::sql::{context, Statement};
use crate::state::AppState;

/// Who a transaction runs as and what it knows of its request.
pub struct TxContext<'a> {
    pub schema: &'a str,
    /// The role to switch to; `none` stays the gateway's own role (`/auth/v1`).
    pub role: &'a str,
    pub claims: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub headers: &'a str,
    pub cookies: &'a str,
    /// Empty keeps the session's.
    pub timezone: &'a str,
    /// Whether a token was sent (42501 is 403 with one, 401 without).
    pub has_token: bool,
    /// Whether `ROWGATE_DB_PRE_REQUEST` runs before the main statement.
    pub pre_request: bool,
    /// `request.client_ip` (empty when unknown).
    pub client_ip: &'a str,
}

/// Runs `main` in one transaction with the context of `ctx`.
pub async fn run_transaction(
    state: &AppState,
    ctx: &TxContext<'_>,
    read_only: bool,
    main: &Statement,
    explain: Option<&Statement>,
    finish: Finish<'_>,
) -> Result<Outcome, DbFailure> {
    let statement = context_of(state, ctx);
    let reported = |e: DbError| e.reported(ctx.has_token);
    let mut conn = observe::time_async(Phase::Transaction, Lease::get(&state.pool)).await.map_err(reported)?;
    let pre_request = if ctx.pre_request { state.pre_request_sql.as_deref() } else { None };
    let tx = Transaction { read_only, context: &statement, pre_request, main, explain, finish };
    observe::time_async(Phase::Transaction, execute::run(&mut conn, tx)).await.map_err(reported)
}

/// The context statement of a transaction for `ctx`.
pub(super) fn context_of(state: &AppState, ctx: &TxContext<'_>) -> Statement {
    context::context_statement(&context::RequestContext {
        schema: ctx.schema,
        extra_search_path: &state.config.extra_search_path,
        role: ctx.role,
        claims: ctx.claims,
        method: ctx.method,
        path: ctx.path,
        headers: ctx.headers,
        cookies: ctx.cookies,
        statement_timeout_ms: state.config.statement_timeout.as_millis() as u64,
        timezone: ctx.timezone,
        client_ip: ctx.client_ip,
    })
}

impl Call<'_> {
    /// Runs `main` for this request; under `Accept: application/vnd.pgrst.plan` its EXPLAIN
    /// instead (a write's then rolls back).
    pub(super) async fn run(
        &self,
        read_only: bool,
        main: &Statement,
        explain: Option<&Statement>,
        finish: Finish<'_>,
    ) -> Result<Outcome, PipelineError> {
        let api = self.api;
        let explained;
        let (main, finish) = match api.plan {
            None => (main, finish),
            Some(_) if !self.state.config.plan_enabled => {
                return Err(RequestError::UnacceptableMedia("application/vnd.pgrst.plan".into()).into())
            }
            Some(fmt) => {
                explained = Statement {
                    sql: format!("{}{}", fmt.explain_prefix(), main.sql).into(),
                    params: main.params.clone(),
                };
                (&explained, if read_only { Finish::Commit } else { Finish::Rollback })
            }
        };
        Ok(run_transaction(self.state, &self.tx_context(), read_only, main, explain, finish).await?)
    }

    /// The context of this request's transaction (see [`TxContext`]).
    pub(super) fn tx_context(&self) -> TxContext<'_> {
        let api = self.api;
        TxContext {
            schema: &api.schema,
            role: &self.identity.role,
            claims: &self.identity.claims,
            method: &api.method,
            path: &api.path,
            headers: &api.headers_json,
            cookies: &api.cookies_json,
            timezone: self.timezone.unwrap_or(""),
            has_token: self.identity.has_token,
            pre_request: true,
            client_ip: &self.client_ip,
        }
    }

    /// Whether the transaction rolls back, and whether a `Prefer: tx` was honoured.
    pub(super) fn tx_outcome(&self) -> (bool, bool) {
        match (self.state.config.tx_end, self.api.prefer.tx) {
            (TxEnd::Commit, _) => (false, false),
            (TxEnd::Rollback, _) => (true, false),
            (TxEnd::CommitAllowOverride, Some(TxPreference::Rollback)) => (true, true),
            (TxEnd::CommitAllowOverride, p) => (false, p.is_some()),
            (TxEnd::RollbackAllowOverride, Some(TxPreference::Commit)) => (false, true),
            (TxEnd::RollbackAllowOverride, p) => (true, p.is_some()),
        }
    }
}

/// The EXPLAIN output: one JSON document, or the text plan's lines.
pub(super) fn explained(fmt: PlanFormat, outcome: &Outcome) -> Result<Response<Body>, PipelineError> {
    let text = |row: &crate::db::wire::Row| -> Result<String, Internal> {
        row.required_text(0).map(str::to_string).map_err(|e| Internal(e.to_string()))
    };
    let body = if fmt.json {
        let v: serde_json::Value = serde_json::from_str(&text(&outcome.main)?).map_err(|e| Internal(e.to_string()))?;
        v.to_string()
    } else {
        let mut lines = Vec::with_capacity(1 + outcome.rest.len());
        for row in std::iter::once(&outcome.main).chain(&outcome.rest) {
            lines.push(text(row)?);
        }
        lines.join("\n")
    };
    let mut resp = Response::new(full(body));
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(fmt.content_type()));
    Ok(resp)
}

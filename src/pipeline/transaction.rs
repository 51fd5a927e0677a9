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
use crate::db::pool::{Lease, Pool};
use crate::db::replica::{Fallback, Replicas};
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
    /// The `set_config` context statement's values (`role_settings` is filled from the schema
    /// cache when the transaction runs, unless the caller gave its own: `/auth/v1` binds its rules').
    pub request: context::RequestContext<'a>,
    /// Whether a token was sent (42501 is 403 with one, 401 without).
    pub has_token: bool,
    /// Whether `ROWGATE_DB_PRE_REQUEST` runs before the main statement.
    pub pre_request: bool,
}

impl<'a> TxContext<'a> {
    /// The settings' part of the context: search path and statement timeout.
    pub fn settings(state: &'a AppState) -> (&'a [String], u64) {
        (&state.config.extra_search_path, state.config.statement_timeout.as_millis() as u64)
    }
}

/// Runs `main` in one transaction with the context of `ctx`, on the primary.
pub async fn run_transaction(
    state: &AppState,
    ctx: &TxContext<'_>,
    read_only: bool,
    main: &Statement,
    explain: Option<&Statement>,
    finish: Finish<'_>,
) -> Result<Outcome, DbFailure> {
    run_on(&state.pool, state, ctx, read_only, main, explain, finish).await
}

/// The context statement of a transaction for `ctx` (with the role's own settings from the
/// schema cache) and its `BEGIN` (the role's isolation level).
pub(super) fn context_of(state: &AppState, ctx: &TxContext<'_>, read_only: bool) -> (Statement, &'static str) {
    let cache = state.schema.load_full();
    let settings = cache.as_deref().and_then(|c| c.role_settings(ctx.request.role));
    let role_settings = match ctx.request.role_settings {
        [] => settings.map_or(&[][..], |s| s.settings.as_slice()),
        own => own,
    };
    let isolation = settings.map(|s| s.isolation).unwrap_or_default();
    let mut statement = context::context_statement(&context::RequestContext { role_settings, ..ctx.request });
    if state.config.citus {
        statement = context::citus_context(statement);
    }
    (statement, context::begin(isolation, read_only))
}

/// [`run_transaction`] on the database `pool` connects to.
async fn run_on(
    pool: &Pool,
    state: &AppState,
    ctx: &TxContext<'_>,
    read_only: bool,
    main: &Statement,
    explain: Option<&Statement>,
    finish: Finish<'_>,
) -> Result<Outcome, DbFailure> {
    let (statement, begin) = context_of(state, ctx, read_only);
    let materialized = if state.config.citus { context::citus_read(main) } else { None };
    let main = materialized.as_ref().unwrap_or(main);
    let reported = |e: DbError| e.reported(ctx.has_token);
    let mut conn = observe::time_async(Phase::Transaction, Lease::get(pool)).await.map_err(reported)?;
    let pre_request = if ctx.pre_request { state.pre_request_sql.as_deref() } else { None };
    let tx = Transaction { begin, context: &statement, pre_request, main, explain, finish };
    observe::time_async(Phase::Transaction, execute::run(&mut conn, tx)).await.map_err(reported)
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
        let ctx = self.tx_context();
        let Some(replicas) = &self.state.replicas else {
            return Ok(run_transaction(self.state, &ctx, read_only, main, explain, finish).await?);
        };
        let subject = self.identity.subject_key();
        if read_only {
            return Ok(self.read_on_replica(replicas, &subject, &ctx, main, explain, finish).await?);
        }
        let outcome = run_transaction(self.state, &ctx, read_only, main, explain, finish).await?;
        if outcome.committed {
            replicas.wrote(&subject);
        }
        Ok(outcome)
    }

    /// A read on a replica when the routing rule allows it, else (or when the replica fails it,
    /// or has not yet replayed the token's session) on the primary.
    async fn read_on_replica(
        &self,
        replicas: &Replicas,
        subject: &str,
        ctx: &TxContext<'_>,
        main: &Statement,
        explain: Option<&Statement>,
        finish: Finish<'_>,
    ) -> Result<Outcome, DbFailure> {
        match replicas.choose(subject) {
            Ok(replica) => match run_on(&replica.pool, self.state, ctx, true, main, explain, finish).await {
                Err(e) if e.is_outage() => {
                    replicas.failed(replica, &e.to_string());
                    replicas.count_fallback(Fallback::ReplicaFailed);
                }
                Err(e) if e.is_unauthenticated() => replicas.count_fallback(Fallback::Unauthenticated),
                answered => {
                    replicas.count_read(true);
                    return answered;
                }
            },
            Err(why) => replicas.count_fallback(why),
        }
        replicas.count_read(false);
        run_transaction(self.state, ctx, true, main, explain, finish).await
    }

    /// The context of this request's transaction (see [`TxContext`]).
    pub(super) fn tx_context(&self) -> TxContext<'_> {
        let api = self.api;
        let (extra_search_path, statement_timeout_ms) = TxContext::settings(self.state);
        TxContext {
            request: context::RequestContext {
                schema: &api.schema,
                extra_search_path,
                role: &self.identity.role,
                claims: &self.identity.claims,
                method: &api.method,
                path: &api.path,
                headers: &api.headers_json,
                cookies: &api.cookies_json,
                statement_timeout_ms,
                timezone: self.timezone.unwrap_or(""),
                client_ip: &self.client_ip,
                role_settings: &[],
            },
            has_token: self.identity.has_token,
            pre_request: true,
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

//! `/rpc/fn`: GET with query arguments (always read-only), POST with a body (read-only unless
//! the function is VOLATILE). The planner picks the overload and splits arguments from filters.

use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};

use super::transaction::explained;
use super::{Call, PipelineError};
use crate::body::{full, Body};
use crate::db::execute::Finish;
use crate::observe::{self, Phase};
use crate::plan::rpc::{plan_rpc, RpcResult};
use crate::{response, sql};

pub(super) async fn call(call: &Call<'_>, name: &str) -> Result<Response<Body>, PipelineError> {
    let cache = call.cache()?;
    let (plan, st) = observe::time(Phase::Plan, || {
        plan_rpc(call.api, &cache, name, call.state.config.max_rows).map(|plan| {
            let st = sql::rpc::render_rpc(&plan);
            (plan, st)
        })
    })?;
    // Functions that create accounts (or delete one with its password) are limited per client
    // IP like /auth/v1's credential paths; the function says so itself (`rowgate.rate_limit`).
    if plan.function.auth_rate_limited() {
        if let Some(ip) = call.client {
            call.state.rate_limits.check_auth(ip).inspect_err(|_| {
                call.state.metrics.auth_event(observe::AuthEvent::RateLimited);
            })?;
        }
    }
    if matches!(plan.result, RpcResult::Stream) && call.api.plan.is_none() {
        return super::stream::respond(call.state, &call.tx_context(), plan.read_only, st.main).await;
    }
    let (rollback, _) = call.tx_outcome();
    // A singular answer or `max-affected` that fails rolls a writing call back, so its end waits
    // for the row count; a read-only one has nothing to undo.
    let check = |row: &crate::db::wire::Row| {
        !rollback && response::write::checks_pass(&plan.checks, response::write::affected(row))
    };
    let finish = match (plan.read_only, rollback, plan.checks.is_empty()) {
        (true, _, _) => Finish::Commit,
        (false, true, _) => Finish::Rollback,
        (false, false, true) => Finish::Commit,
        (false, false, false) => Finish::Decide(&check),
    };
    let outcome = call.run(plan.read_only, &st.main, st.explain.as_ref(), finish).await?;
    if let Some(fmt) = call.api.plan {
        return explained(fmt, &outcome);
    }
    response::write::check_rows(&plan.checks, response::write::affected(&outcome.main))?;
    if matches!(plan.result, RpcResult::Void) {
        let mut resp = Response::new(full(""));
        *resp.status_mut() = StatusCode::NO_CONTENT;
        return Ok(resp);
    }
    let shape =
        response::read::ReadShape::new(plan.range, plan.count, plan.media, plan.headers_only, plan.handler.as_ref());
    let applied = call.applied(None);
    let mut resp =
        observe::time(Phase::Response, || response::read::read_response(call.api, &shape, &outcome, &applied))?;
    if plan.single_row && plan.handler.is_none() {
        // The object type was our choice, not the client's: answer as JSON.
        resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    }
    Ok(resp)
}

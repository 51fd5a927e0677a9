//! `POST`/`PATCH`/`PUT`/`DELETE /{table_or_view}`: one statement; a singular or `max-affected`
//! write decides COMMIT or ROLLBACK from its affected count.

use hyper::Response;

use super::transaction::explained;
use super::{Call, PipelineError};
use crate::body::Body;
use crate::db::execute::Finish;
use crate::observe::{self, Phase};
use crate::request::WriteMethod;
use crate::{plan, response, sql};

pub(super) async fn write(call: &Call<'_>, method: WriteMethod, name: &str) -> Result<Response<Body>, PipelineError> {
    let cache = call.cache()?;
    let (plan, statement) = observe::time(Phase::Plan, || {
        plan::plan_write(call.api, method, name, &cache).map(|plan| {
            let statement = sql::render_write(&plan);
            (plan, statement)
        })
    })?;
    let (rollback, tx_applied) = call.tx_outcome();
    let check = |row: &crate::db::wire::Row| {
        !rollback && response::write::checks_pass(&plan.checks, response::write::affected(row))
    };
    let finish = match (plan.checks.is_empty(), rollback) {
        (true, false) => Finish::Commit,
        (true, true) => Finish::Rollback,
        (false, _) => Finish::Decide(&check),
    };
    let outcome = call.run(false, &statement, None, finish).await?;
    if let Some(fmt) = call.api.plan {
        return explained(fmt, &outcome);
    }
    let applied = call.applied(Some(tx_applied));
    Ok(observe::time(Phase::Response, || response::write::write_response(call.api, &plan, &outcome, &applied))?)
}

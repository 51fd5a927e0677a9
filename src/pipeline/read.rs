//! `GET`/`HEAD /{table_or_view}`: one read-only statement, its body built by PostgreSQL.

use hyper::Response;

use super::transaction::explained;
use super::{Call, PipelineError};
use crate::body::Body;
use crate::db::execute::Finish;
use crate::observe::{self, Phase};
use crate::{plan, response, sql};

pub(super) async fn read(call: &Call<'_>, name: &str) -> Result<Response<Body>, PipelineError> {
    let cache = call.cache()?;
    let (plan, st) = observe::time(Phase::Plan, || {
        plan::plan_read(call.api, name, &cache, call.state.config.max_rows).map(|plan| {
            let st = sql::render_read(&plan);
            (plan, st)
        })
    })?;
    let outcome = call.run(true, &st.main, st.explain.as_ref(), Finish::Commit).await?;
    if let Some(fmt) = call.api.plan {
        return explained(fmt, &outcome);
    }
    let applied = call.applied(None);
    Ok(observe::time(Phase::Response, || response::read::read_response(call.api, &(&plan).into(), &outcome, &applied))?)
}

//! Drives one API request through the pipeline: parse → authenticate → plan → SQL → run → respond.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use hyper::body::Incoming;
use hyper::header::{HeaderValue, AUTHORIZATION};
use hyper::http::request::Parts;
use hyper::{Request, Response, StatusCode};

use super::{full, Body};
use crate::app::AppState;
use crate::auth::Identity;
use crate::db::execute::{self, Transaction};
use crate::plan::{self, PlanError};
use crate::request::{self, Action, ApiRequest, Target};
use crate::response::{self, from_db, ApiError};
use crate::sql::{self, context};

pub async fn handle(state: Arc<AppState>, req: Request<Incoming>) -> Response<Body> {
    let (parts, _body) = req.into_parts();
    match serve(&state, &parts).await {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    }
}

async fn serve(state: &AppState, parts: &Parts) -> Result<Response<Body>, ApiError> {
    let api = request::parse(parts, &state.config.schemas)?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let identity = state.auth.authenticate(
        parts.headers.get(AUTHORIZATION).map(HeaderValue::as_bytes),
        now,
    )?;

    match (&api.action, &api.target) {
        (Action::Read { .. }, Target::Relation(name)) => read(state, &api, &identity, name).await,
        (Action::Options, Target::Relation(_)) => Ok(options("OPTIONS,GET,HEAD")),
        (_, Target::Root) => {
            Err(PlanError::NotImplemented("the OpenAPI document is not served yet".into()).into())
        }
        (_, Target::Rpc(_)) => {
            Err(PlanError::NotImplemented("RPC is not supported yet".into()).into())
        }
        (_, Target::Relation(_)) => {
            Err(PlanError::NotImplemented("writes are not supported yet".into()).into())
        }
    }
}

async fn read(
    state: &AppState,
    api: &ApiRequest,
    identity: &Identity,
    name: &str,
) -> Result<Response<Body>, ApiError> {
    let cache = state.schema.load_full().ok_or_else(schema_unavailable)?;
    let plan = plan::plan_read(api, name, &cache, state.config.max_rows)?;
    let statements = sql::render_read(&plan);
    let ctx = context::context_statement(&context::RequestContext {
        schema: &api.schema,
        extra_search_path: &state.config.extra_search_path,
        role: &identity.role,
        claims: &identity.claims,
        method: &api.method,
        path: &api.path,
        headers: &api.headers_json,
        cookies: &api.cookies_json,
        statement_timeout_ms: state.config.statement_timeout.as_millis() as u64,
    });
    let db_err = |e| from_db(e, identity.has_token);
    let client = state.pool.get().await.map_err(|e| db_err(e.into()))?;
    let outcome = execute::run(
        &client,
        Transaction {
            read_only: true,
            context: &ctx,
            pre_request: state.pre_request_sql.as_deref(),
            main: &statements.main,
            explain: statements.explain.as_ref(),
        },
    )
    .await
    .map_err(db_err)?;
    response::read::read_response(api, &plan, &outcome)
}

fn schema_unavailable() -> ApiError {
    ApiError::new(
        503,
        "PGRST002",
        "Could not query the database for the schema cache. Retrying.",
    )
    .header(hyper::header::RETRY_AFTER, "1")
}

fn options(allow: &'static str) -> Response<Body> {
    let mut resp = Response::new(full(""));
    *resp.status_mut() = StatusCode::OK;
    resp.headers_mut()
        .insert(hyper::header::ALLOW, HeaderValue::from_static(allow));
    resp
}

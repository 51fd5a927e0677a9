//! The REST pipeline: one PostgREST request through its stages, in order — parse (`request`) →
//! authenticate (`auth`) → plan against the schema cache (`plan`) → SQL (`sql`) → one
//! transaction (`transaction.rs`, `db`) → respond (`response`). One file per kind of request:
//! `read.rs` (tables and views), `write.rs`, `rpc.rs`, `root.rs` (the OpenAPI document),
//! `options.rs`. `http/` hands over a whole request (head and body); nothing here reads a socket.

mod error;
mod options;
mod read;
mod root;
mod rpc;
mod stream;
mod transaction;
mod write;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hyper::header::{HeaderValue, AUTHORIZATION};
use hyper::http::request::Parts;
use hyper::Response;

pub use error::PipelineError;
pub use transaction::{run_transaction, TxContext};

use crate::auth::Identity;
use crate::body::Body;
use crate::observe::{self, Phase};
use crate::plan;
use crate::rate_limit::client_ip::ClientIp;
use crate::request::{self, Action, ApiRequest, RequestError, Target, WriteMethod};
use crate::schema::SchemaCache;
use crate::state::AppState;

/// One request on its way through the stages: what was parsed, who asks, and the settings.
struct Call<'a> {
    state: &'a AppState,
    api: &'a ApiRequest,
    identity: &'a Identity,
    /// `Prefer: timezone=`, applied by the context statement.
    timezone: Option<&'a str>,
    /// The client address the router resolved (`rate_limit::client_ip`), if any.
    client: Option<IpAddr>,
    /// The same as text for `request.client_ip` (empty when unknown).
    client_ip: String,
}

/// Serves a REST request (path, query string, headers and the whole body).
pub async fn serve(state: &AppState, parts: &Parts, body: &Bytes) -> Result<Response<Body>, PipelineError> {
    let api = observe::time(Phase::Parse, || request::parse_with_body(parts, body, &state.config.schemas))?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let authorization = parts.headers.get(AUTHORIZATION).map(HeaderValue::as_bytes);
    let identity = observe::time(Phase::Jwt, || state.auth.authenticate(authorization, now))?;
    observe::set_role(&identity.role);
    state.rate_limits.check_subject(&identity)?;
    plan::check_aggregates(&api.query.select, state.config.aggregates_enabled)?;
    // PostgreSQL itself validates the zone: an unknown one fails the transaction (400, 22023)
    // whatever `handling` says, as in PostgREST.
    let timezone = api.prefer.timezone.as_deref();
    let client = parts.extensions.get::<ClientIp>().map(|c| c.0);
    let client_ip = client.map(|ip| ip.to_string()).unwrap_or_default();
    let call = Call { state, api: &api, identity: &identity, timezone, client, client_ip };

    match (&api.action, &api.target) {
        (Action::Read { .. }, Target::Relation(name)) => read::read(&call, name).await,
        (Action::Write(method), Target::Relation(name)) => write::write(&call, *method, name).await,
        (Action::Options, Target::Relation(name)) => options::relation(&call, name),
        (Action::Read { headers_only }, Target::Root) => root::document(&call, *headers_only).await,
        (_, Target::Root) => Err(RequestError::UnsupportedMethod(api.method.clone()).into()),
        (Action::Read { .. } | Action::Write(WriteMethod::Post), Target::Rpc(name)) => rpc::call(&call, name).await,
        (Action::Options, Target::Rpc(name)) => options::rpc(&call, name),
        (_, Target::Rpc(_)) => Err(PipelineError::RpcMethod(api.method.clone())),
    }
}

/// The schema cache, or 503 until its first load.
fn schema_cache(state: &AppState) -> Result<Arc<SchemaCache>, PipelineError> {
    state.schema.load_full().ok_or(PipelineError::SchemaCacheNotReady)
}

impl Call<'_> {
    fn cache(&self) -> Result<Arc<SchemaCache>, PipelineError> {
        schema_cache(self.state)
    }

    /// `Preference-Applied`: the options the request gave and this answer honoured. `tx`:
    /// whether a `Prefer: tx=` was honoured (writes decide it; other requests echo it as given).
    /// As PostgREST: `return` only on writes, `resolution` only on POST, `missing` on POST and
    /// PATCH, `max-affected` on PATCH, DELETE and RPC.
    fn applied(&self, tx: Option<bool>) -> Vec<String> {
        let write = match (&self.api.action, &self.api.target) {
            (Action::Write(m), Target::Relation(_)) => Some(*m),
            _ => None,
        };
        let rpc = matches!(self.api.target, Target::Rpc(_));
        let honoured = |p: &&String| {
            let key = p.split('=').next().unwrap_or("");
            match key {
                "tx" => tx != Some(false),
                "return" => write.is_some(),
                "resolution" => write == Some(WriteMethod::Post),
                "missing" => matches!(write, Some(WriteMethod::Post | WriteMethod::Patch)),
                "max-affected" => rpc || matches!(write, Some(WriteMethod::Patch | WriteMethod::Delete)),
                _ => true,
            }
        };
        self.api.prefer.applied.iter().filter(honoured).cloned().collect()
    }
}

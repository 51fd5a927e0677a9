//! `OPTIONS`: the verbs a table, view or function takes, in `Allow`.

use hyper::header::{HeaderValue, ALLOW};
use hyper::Response;

use super::{Call, PipelineError};
use crate::body::{full, Body};
use crate::plan::{self, PlanError};

/// Tables take everything (PUT with a primary key); views what `pg_relation_is_updatable` says.
pub(super) fn relation(call: &Call<'_>, name: &str) -> Result<Response<Body>, PipelineError> {
    let cache = call.cache()?;
    let rel = plan::read::find_relation(&cache, &call.api.schema, name)?;
    let mut allow = String::from("OPTIONS,GET,HEAD");
    for (ok, verb) in [
        (rel.can_insert(), ",POST"),
        (rel.can_insert() && rel.can_update() && !rel.primary_key.is_empty(), ",PUT"),
        (rel.can_update(), ",PATCH"),
        (rel.can_delete(), ",DELETE"),
    ] {
        if ok {
            allow.push_str(verb);
        }
    }
    Ok(allowing(HeaderValue::from_str(&allow).ok()))
}

/// A VOLATILE function is POST only.
pub(super) fn rpc(call: &Call<'_>, name: &str) -> Result<Response<Body>, PipelineError> {
    let cache = call.cache()?;
    let overloads = cache.functions(&call.api.schema, name);
    if overloads.is_empty() {
        return Err(PlanError::FunctionNotFound {
            schema: call.api.schema.clone(),
            name: name.to_string(),
            args: String::new(),
            hint: None,
        }
        .into());
    }
    let volatile = overloads.iter().all(|f| f.is_volatile());
    Ok(allowing(Some(HeaderValue::from_static(if volatile { "OPTIONS,POST" } else { "OPTIONS,GET,HEAD,POST" }))))
}

fn allowing(allow: Option<HeaderValue>) -> Response<Body> {
    let mut resp = Response::new(full(""));
    if let Some(v) = allow {
        resp.headers_mut().insert(ALLOW, v);
    }
    resp
}

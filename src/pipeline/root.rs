//! `GET /`: the OpenAPI 3.1 document of the requested schema, limited to what the caller's role
//! may use unless `ROWGATE_OPENAPI_MODE=ignore-privileges`.

use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::Response;

use super::{Call, PipelineError};
use crate::body::{full, Body};
use crate::config::OpenApiMode;
use crate::db::execute::Finish;
use crate::error::Internal;
use crate::openapi;

pub(super) async fn document(call: &Call<'_>, headers_only: bool) -> Result<Response<Body>, PipelineError> {
    let state = call.state;
    // The document is OpenAPI JSON: nothing else is served here (CSV on `/` is 406).
    let servable = ["application/openapi+json", "application/json", "application/*", "*/*"];
    if !call.api.accept.ranges.iter().any(|r| servable.contains(&r.essence.as_str())) {
        return Err(call.api.accept.unacceptable().into());
    }
    let visibility = match state.config.openapi_mode {
        OpenApiMode::Disabled => return Err(PipelineError::OpenApiDisabled),
        OpenApiMode::IgnorePrivileges => openapi::Visibility::All,
        OpenApiMode::FollowPrivileges => {
            let statement = openapi::privileges_statement(&call.api.schema);
            let outcome = call.run(true, &statement, None, Finish::Commit).await?;
            let text: &str = outcome.main.required_text(0).map_err(|e| Internal(e.to_string()))?;
            openapi::visibility_from_json(text).map_err(|e| Internal(e.to_string()))?
        }
    };
    let cache = call.cache()?;
    let doc = openapi::document(&openapi::DocumentInput {
        cache: &cache,
        schema: &call.api.schema,
        schemas: &state.config.schemas,
        visibility: &visibility,
        server_url: None,
        title: cache.schema_comment(&call.api.schema),
    });
    let body = if headers_only { String::new() } else { doc.to_string() };
    let mut resp = Response::new(full(body));
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/openapi+json; charset=utf-8"));
    Ok(resp)
}

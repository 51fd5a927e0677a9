//! `/auth/v1`: the auth service's HTTP side. Its logic lives in SQL (schema `auth`); the gateway
//! only signs tokens. So far: the published signing keys.

use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::http::request::Parts;
use hyper::{Method, Response};

use super::{full, Body};
use crate::app::AppState;
use crate::response::ApiError;

pub fn handle(state: &AppState, parts: &Parts) -> Response<Body> {
    match (&parts.method, parts.uri.path()) {
        (&Method::GET | &Method::HEAD, "/auth/v1/.well-known/jwks.json") => {
            let jwks = match &state.signing {
                Some(k) => k.jwks(),
                None => serde_json::json!({ "keys": [] }),
            };
            let mut resp = Response::new(full(jwks.to_string()));
            resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
            resp.headers_mut().insert(hyper::header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=600"));
            resp
        }
        _ => ApiError::new(404, "PGRST125", "Invalid path specified in request URL").into_response(),
    }
}

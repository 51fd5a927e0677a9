//! CORS, as PostgREST does it: only for requests with `Origin`; the origin is echoed, or checked
//! against `ROWGATE_CORS_ORIGINS` when set; preflights are answered before auth or parsing.

use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Method, Response, StatusCode};

use crate::body::{full, Body};

const ALLOW_METHODS: &str = "GET, POST, PATCH, PUT, DELETE, OPTIONS, HEAD";
const EXPOSE_HEADERS: &str = "Content-Encoding, Content-Location, Content-Range, Content-Type, Date, Location, \
Server, Transfer-Encoding, Range-Unit, Preference-Applied, Content-Profile, Proxy-Status";

/// The allowed origin for this request, if CORS applies.
fn allowed_origin<'a>(parts: &'a Parts, allowed: Option<&[String]>) -> Option<&'a HeaderValue> {
    let origin = parts.headers.get(hyper::header::ORIGIN)?;
    match allowed {
        None => Some(origin),
        Some(list) => {
            let o = origin.to_str().ok()?;
            list.iter().any(|a| a == o || a == "*").then_some(origin)
        }
    }
}

/// `OPTIONS` with `Access-Control-Request-Method`: the preflight answer, or None if not one.
pub fn preflight(parts: &Parts, allowed: Option<&[String]>) -> Option<Response<Body>> {
    if parts.method != Method::OPTIONS || !parts.headers.contains_key(hyper::header::ACCESS_CONTROL_REQUEST_METHOD) {
        return None;
    }
    let mut resp = Response::new(full(""));
    *resp.status_mut() = StatusCode::OK;
    if let Some(origin) = allowed_origin(parts, allowed) {
        let h = resp.headers_mut();
        h.insert(hyper::header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        h.insert(hyper::header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
        h.insert(hyper::header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(ALLOW_METHODS));
        let requested = parts
            .headers
            .get(hyper::header::ACCESS_CONTROL_REQUEST_HEADERS)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.trim().is_empty());
        let allow_headers = match requested {
            Some(r) => format!("Authorization, {r}"),
            None => "Authorization".to_string(),
        };
        if let Ok(v) = HeaderValue::from_str(&allow_headers) {
            h.insert(hyper::header::ACCESS_CONTROL_ALLOW_HEADERS, v);
        }
        h.insert(hyper::header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400"));
    }
    Some(resp)
}

/// Adds the CORS headers of an actual (non-preflight) request.
pub fn decorate(parts: &Parts, allowed: Option<&[String]>, headers: &mut HeaderMap) {
    if let Some(origin) = allowed_origin(parts, allowed) {
        headers.insert(hyper::header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        headers.insert(hyper::header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
        headers
            .insert(HeaderName::from_static("access-control-expose-headers"), HeaderValue::from_static(EXPOSE_HEADERS));
        headers.append(hyper::header::VARY, HeaderValue::from_static("Origin"));
    }
}

//! Request stage: turns HTTP method, path, query string and headers into an [`ApiRequest`].
//! Pure: no I/O and no schema knowledge.

pub mod ast;
pub mod body;
mod cursor;
pub mod error;
mod field;
pub mod filter;
pub mod media;
pub mod order;
pub mod preferences;
pub mod query;
pub mod range;
pub mod select;

use hyper::http::request::Parts;
use hyper::Method;
use percent_encoding::percent_decode_str;

pub use ast::QueryParams;
pub use error::RequestError;
pub use media::MediaType;
pub use preferences::{CountPreference, Preferences};
pub use range::RowRange;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `/`: the OpenAPI document.
    Root,
    /// `/{table_or_view}`
    Relation(String),
    /// `/rpc/{function}`
    Rpc(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Read { headers_only: bool },
    Options,
    Write(WriteMethod),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMethod {
    Post,
    Patch,
    Put,
    Delete,
}

#[derive(Debug)]
pub struct ApiRequest {
    pub action: Action,
    pub target: Target,
    /// The schema the request addresses (from the profile headers, else the first exposed one).
    pub schema: String,
    /// Whether more than one schema is exposed (then `Content-Profile` is echoed).
    pub multi_schema: bool,
    pub query: QueryParams,
    pub range: RowRange,
    /// The Range header or `limit`/`offset` asked for a bounded page.
    pub range_requested: bool,
    /// The first builtin type `Accept` names (JSON when none does: the planner, which knows the
    /// media type handlers, decides from `accept` and answers 406 when nothing fits).
    pub media: MediaType,
    pub accept: media::Accept,
    /// `Accept: application/vnd.pgrst.plan...`: answer with the EXPLAIN of the statement.
    pub plan: Option<media::PlanFormat>,
    pub prefer: Preferences,
    pub method: String,
    pub path: String,
    /// `request.headers` GUC: a JSON object with lower-cased names.
    pub headers_json: String,
    /// `request.cookies` GUC: a JSON object.
    pub cookies_json: String,
    /// The decoded body of POST/PATCH/PUT (and RPC POST).
    pub payload: Option<body::Payload>,
    /// `limit`/`offset` were given in the query string (PUT refuses them).
    pub has_limit_or_offset: bool,
}

pub fn parse(parts: &Parts, schemas: &[String]) -> Result<ApiRequest, RequestError> {
    parse_with_body(parts, &bytes::Bytes::new(), schemas)
}

pub fn parse_with_body(parts: &Parts, raw_body: &bytes::Bytes, schemas: &[String]) -> Result<ApiRequest, RequestError> {
    let action = match parts.method {
        Method::GET => Action::Read { headers_only: false },
        Method::HEAD => Action::Read { headers_only: true },
        Method::OPTIONS => Action::Options,
        Method::POST => Action::Write(WriteMethod::Post),
        Method::PATCH => Action::Write(WriteMethod::Patch),
        Method::PUT => Action::Write(WriteMethod::Put),
        Method::DELETE => Action::Write(WriteMethod::Delete),
        ref other => return Err(RequestError::UnsupportedMethod(other.to_string())),
    };
    let target = parse_path(parts.uri.path())?;
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());

    let profile_header = if matches!(action, Action::Read { .. }) { "accept-profile" } else { "content-profile" };
    let schema = match header(profile_header) {
        Some(p) if schemas.iter().any(|s| s == p) => p.to_string(),
        Some(_) => return Err(RequestError::UnacceptableSchema { allowed: schemas.join(", ") }),
        None => schemas.first().cloned().unwrap_or_default(),
    };

    let pairs: Vec<(String, String)> = form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let defer = matches!(target, Target::Rpc(_)) && matches!(action, Action::Read { .. });
    let parsed = query::parse_query_with(&pairs, defer)?;
    let header_range = match header("range") {
        Some(r) if matches!(action, Action::Read { .. }) => range::parse_range_header(r)?,
        _ => RowRange::ALL,
    };
    let has_limit_or_offset = parsed.root_limit.is_some() || parsed.root_offset.is_some();
    let range_requested = header_range != RowRange::ALL || parsed.root_limit.is_some() || parsed.root_offset.is_some();
    let range = range::effective_range(header_range, parsed.root_limit, parsed.root_offset)?;
    let plan = media::negotiate_plan(header("accept"))?;
    let accept = match plan {
        Some(_) => media::parse_accept(None),
        None => media::parse_accept(header("accept")),
    };
    let media = match plan {
        Some((_, inner)) => inner,
        None => accept.builtin().unwrap_or(MediaType::Json),
    };
    let wants_body = matches!(action, Action::Write(WriteMethod::Post | WriteMethod::Patch | WriteMethod::Put));
    // A function without arguments may be POSTed with no body at all.
    let empty_rpc_post = matches!(target, Target::Rpc(_)) && raw_body.iter().all(u8::is_ascii_whitespace);
    let payload = match (wants_body, empty_rpc_post) {
        (true, true) => Some(body::Payload::Json(serde_json::Value::Object(Default::default()))),
        (true, false) => Some(body::decode(header("content-type"), raw_body)?),
        (false, _) => None,
    };
    let prefer = preferences::parse_prefer(parts.headers.get_all("prefer").iter().filter_map(|v| v.to_str().ok()))?;

    Ok(ApiRequest {
        action,
        target,
        schema,
        multi_schema: schemas.len() > 1,
        query: parsed.params,
        range,
        range_requested,
        media,
        accept,
        plan: plan.map(|(fmt, _)| fmt),
        prefer,
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        headers_json: headers_json(parts),
        cookies_json: cookies_json(header("cookie")),
        payload,
        has_limit_or_offset,
    })
}

fn parse_path(path: &str) -> Result<Target, RequestError> {
    let decode = |s: &str| -> Result<String, RequestError> {
        percent_decode_str(s).decode_utf8().map(|c| c.into_owned()).map_err(|_| RequestError::InvalidPath)
    };
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        [""] => Ok(Target::Root),
        ["rpc", name] if !name.is_empty() => Ok(Target::Rpc(decode(name)?)),
        [name] => Ok(Target::Relation(decode(name)?)),
        _ => Err(RequestError::InvalidPath),
    }
}

fn headers_json(parts: &Parts) -> String {
    let mut map = serde_json::Map::with_capacity(parts.headers.len());
    for (name, value) in &parts.headers {
        if let Ok(v) = value.to_str() {
            map.insert(name.as_str().to_string(), serde_json::Value::String(v.to_string()));
        }
    }
    serde_json::Value::Object(map).to_string()
}

fn cookies_json(cookie: Option<&str>) -> String {
    let mut map = serde_json::Map::new();
    for pair in cookie.unwrap_or("").split(';') {
        if let Some((k, v)) = pair.split_once('=') {
            map.insert(k.trim().to_string(), serde_json::Value::String(v.trim().to_string()));
        }
    }
    serde_json::Value::Object(map).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(method: &str, uri: &str, headers: &[(&str, &str)]) -> Parts {
        let mut b = hyper::Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    fn schemas() -> Vec<String> {
        vec!["api".into(), "v2".into()]
    }

    #[test]
    fn paths() {
        assert_eq!(parse_path("/").unwrap(), Target::Root);
        assert_eq!(parse_path("/Order%20Items").unwrap(), Target::Relation("Order Items".into()));
        assert_eq!(parse_path("/rpc/f").unwrap(), Target::Rpc("f".into()));
        assert_eq!(parse_path("/a/b"), Err(RequestError::InvalidPath));
    }

    #[test]
    fn profiles_select_the_schema() {
        let r = parse(&parts("GET", "/t", &[("accept-profile", "v2")]), &schemas()).unwrap();
        assert_eq!(r.schema, "v2");
        let e = parse(&parts("GET", "/t", &[("accept-profile", "nope")]), &schemas()).unwrap_err();
        assert_eq!(e, RequestError::UnacceptableSchema { allowed: "api, v2".into() });
        assert_eq!(parse(&parts("GET", "/t", &[]), &schemas()).unwrap().schema, "api");
    }

    #[test]
    fn headers_and_cookies_become_json() {
        let r = parse(&parts("GET", "/t?id=eq.1", &[("X-Thing", "a\"b"), ("cookie", "a=1; b=2")]), &schemas()).unwrap();
        let h: serde_json::Value = serde_json::from_str(&r.headers_json).unwrap();
        assert_eq!(h["x-thing"], "a\"b");
        let c: serde_json::Value = serde_json::from_str(&r.cookies_json).unwrap();
        assert_eq!(c["b"], "2");
    }

    #[test]
    fn plus_decodes_to_space_and_unknown_verbs_fail() {
        let r = parse(&parts("GET", "/t?name=eq.a+b", &[]), &schemas()).unwrap();
        let crate::request::ast::Condition::Filter(f) = &r.query.conditions[0].1 else { panic!() };
        assert!(matches!(&f.operation, crate::request::ast::Operation::Compare { value, .. } if value == "a b"));
        assert!(matches!(parse(&parts("TRACE", "/t", &[]), &schemas()), Err(RequestError::UnsupportedMethod(_))));
    }
}

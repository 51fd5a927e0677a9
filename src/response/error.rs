//! Every stage's error becomes an [`ApiError`] here, once: status, PostgREST body, headers.

use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue};
use hyper::StatusCode;
use serde_json::json;

use crate::auth::AuthError;
use crate::db::{DbError, ServerError};
use crate::plan::PlanError;
use crate::request::RequestError;

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
    /// A string for most errors; PGRST201 lists candidates as an array.
    pub details: Option<serde_json::Value>,
    pub hint: Option<String>,
    pub headers: Vec<(HeaderName, String)>,
}

impl ApiError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        ApiError { status, code: code.into(), message: message.into(), details: None, hint: None, headers: Vec::new() }
    }

    pub fn details(mut self, d: impl Into<String>) -> Self {
        self.details = Some(serde_json::Value::String(d.into()));
        self
    }

    pub fn hint(mut self, h: Option<String>) -> Self {
        self.hint = h;
        self
    }

    pub fn header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn body(&self) -> Bytes {
        Bytes::from(
            json!({"code": self.code, "message": self.message, "details": self.details, "hint": self.hint}).to_string(),
        )
    }

    pub fn into_response(self) -> hyper::Response<crate::http::Body> {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = hyper::Response::new(crate::http::full(self.body()));
        *resp.status_mut() = status;
        let h = resp.headers_mut();
        h.insert(hyper::header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
        if let Ok(v) = HeaderValue::from_str(&format!("rowgate; error={}", self.code)) {
            h.insert(HeaderName::from_static("proxy-status"), v);
        }
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                h.append(name, v);
            }
        }
        // For the metrics and the access log (observe::Observed::finish takes it out again).
        resp.extensions_mut().insert(crate::observe::ErrorCode(self.code));
        resp
    }
}

impl From<RequestError> for ApiError {
    fn from(e: RequestError) -> Self {
        let msg = e.to_string();
        match e {
            RequestError::Parse { details, .. } | RequestError::InvalidParam { details, .. } => {
                ApiError::new(400, "PGRST100", msg).details(details)
            }
            RequestError::UnacceptableSchema { .. } => ApiError::new(406, "PGRST106", msg),
            RequestError::UnacceptableMedia(_) => ApiError::new(406, "PGRST107", msg),
            RequestError::InvalidRange { details } => ApiError::new(416, "PGRST103", msg).details(details),
            RequestError::UnsupportedMethod(_) => ApiError::new(405, "PGRST117", msg),
            RequestError::InvalidPreferences { details } => ApiError::new(400, "PGRST122", msg).details(details),
            RequestError::InvalidPath => ApiError::new(404, "PGRST125", msg),
            RequestError::InvalidBody { details, .. } => ApiError::new(400, "PGRST102", msg).details(details),
            RequestError::UnsupportedContentType(_) => ApiError::new(415, "PGRST107", msg),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        let mut api = ApiError::new(e.status(), e.code(), e.message());
        if let Some(w) = e.www_authenticate() {
            api = api.header(hyper::header::WWW_AUTHENTICATE, w);
        }
        api
    }
}

impl From<PlanError> for ApiError {
    fn from(e: PlanError) -> Self {
        let msg = e.to_string();
        match e {
            PlanError::RelationNotFound { hint, .. } => ApiError::new(404, "PGRST205", msg).hint(hint),
            PlanError::ColumnNotFound { .. } => ApiError::new(400, "42703", msg),
            PlanError::RelationshipNotFound { ref parent, ref child, ref schema } => {
                let details = format!(
                    "Searched for a foreign key relationship between '{parent}' and '{child}' in the schema '{schema}', but no matches were found."
                );
                ApiError::new(400, "PGRST200", msg).details(details)
            }
            PlanError::AmbiguousRelationship { details, hint, .. } => {
                let mut e = ApiError::new(300, "PGRST201", msg).hint(Some(hint));
                e.details = Some(serde_json::Value::Array(details));
                e
            }
            PlanError::UnacceptableEmbedFilter(_) => ApiError::new(400, "PGRST120", msg)
                .details("Only is null or not is null filters are allowed on embedded resources"),
            PlanError::RelatedOrderNotToOne { ref origin, ref target } => {
                let details = format!("'{origin}' and '{target}' do not form a many-to-one or one-to-one relationship");
                ApiError::new(400, "PGRST118", msg).details(details)
            }
            PlanError::NotEmbedded(_) => ApiError::new(400, "PGRST108", msg)
                .hint(Some("Verify that the resource is included in the 'select' query parameter.".into())),
            PlanError::UnsupportedCast(_) | PlanError::InvalidName => ApiError::new(400, "PGRST100", msg),
            PlanError::NotImplemented(what) => ApiError::new(400, "PGRST127", msg).details(what),
            PlanError::InvalidPath => ApiError::new(404, "PGRST125", msg),
            PlanError::AggregatesDisabled => ApiError::new(400, "PGRST123", msg),
            PlanError::FunctionNotFound { hint, .. } => ApiError::new(404, "PGRST202", msg).hint(hint),
            PlanError::AmbiguousFunction(_) => ApiError::new(300, "PGRST203", msg)
                .hint(Some("Try renaming the parameters or the function itself in the database so function overloading can be resolved".into())),
            PlanError::FilterOnScalar(_) => ApiError::new(400, "PGRST100", msg),
            PlanError::InvalidBody(_) => ApiError::new(400, "PGRST102", msg),
            PlanError::UnknownPayloadColumn { .. } => ApiError::new(400, "PGRST204", msg),
            PlanError::InvalidPut => ApiError::new(405, "PGRST105", msg),
            PlanError::PutWithLimit => ApiError::new(400, "PGRST114", msg),
            PlanError::PutKeyMismatch => ApiError::new(400, "PGRST115", msg),
        }
    }
}

/// Maps a database-stage error; `has_token` decides 42501's 401 vs 403.
pub fn from_db(e: DbError, has_token: bool) -> ApiError {
    match e {
        DbError::PoolTimeout => ApiError::new(504, "PGRST003", e.to_string()),
        DbError::Unavailable(ref m) => ApiError::new(503, "PGRST000", "Could not connect with the database. Retrying.")
            .details(m.clone())
            .header(hyper::header::RETRY_AFTER, "1"),
        DbError::Shape(m) => ApiError::new(500, "PGRSTX00", "Internal database error").details(m),
        // No server error: the connection broke.
        DbError::Lost(m) => ApiError::new(503, "PGRST001", "Database client error. Retrying the connection.")
            .details(m)
            .header(hyper::header::RETRY_AFTER, "1"),
        DbError::Server(err) => from_server(&err, has_token),
    }
}

fn from_server(db: &ServerError, has_token: bool) -> ApiError {
    let code = db.code.as_str();
    if matches!(code, "57P01" | "57P02" | "57P03") {
        // The server is shutting down, crashed or still starting: the same outage as a dropped
        // connection, so the same answer (and the pool replaces the connection).
        return ApiError::new(503, "PGRST001", "Database client error. Retrying the connection.")
            .details(format!("{code}: {}", db.message))
            .header(hyper::header::RETRY_AFTER, "1");
    }
    if code == "PGRST" {
        return custom_pgrst(&db.message, db.detail.as_deref());
    }
    let mut e = ApiError::new(sqlstate_status(code, &db.message, has_token), code, db.message.clone());
    e.details = db.detail.clone().map(serde_json::Value::String);
    e.hint = db.hint.clone();
    if e.status == 401 {
        e = e.header(hyper::header::WWW_AUTHENTICATE, "Bearer");
    }
    if e.status == 503 {
        e = e.header(hyper::header::RETRY_AFTER, "1");
    }
    e
}

/// PostgREST's SQLSTATE → HTTP table, first match wins.
pub fn sqlstate_status(code: &str, message: &str, has_token: bool) -> u16 {
    let starts = |p: &str| code.starts_with(p);
    match code {
        "23503" | "23505" => 409,
        "25006" => 405,
        "21000" if message.ends_with("requires a WHERE clause") => 400,
        "21000" => 500,
        "22023" if message.starts_with("role ") && message.ends_with("does not exist") => 401,
        "53400" => 500,
        "57P01" => 503,
        "P0001" => 400,
        "42883" if message.starts_with("function xmlagg(") => 406,
        "42883" | "42P01" => 404,
        "42P17" => 500,
        "42501" => {
            if has_token {
                403
            } else {
                401
            }
        }
        _ if starts("08") => 503,
        _ if starts("09") => 500,
        _ if starts("0L") || starts("0P") => 403,
        _ if starts("25") => 500,
        _ if starts("28") => 403,
        _ if starts("2D") || starts("38") || starts("39") || starts("3B") || starts("40") => 500,
        _ if starts("53") => 503,
        _ if starts("54") || starts("55") || starts("57") || starts("58") => 500,
        _ if starts("F0") || starts("HV") || starts("P0") || starts("XX") => 500,
        _ if starts("PT") => code[2..].parse::<u16>().ok().filter(|s| (100..=599).contains(s)).unwrap_or(500),
        _ => 400,
    }
}

/// `RAISE sqlstate 'PGRST' USING message = '{json}', detail = '{"status":..,"headers":..}'`.
fn custom_pgrst(message: &str, detail: Option<&str>) -> ApiError {
    let body: Option<serde_json::Value> = serde_json::from_str(message).ok();
    let meta: Option<serde_json::Value> = detail.and_then(|d| serde_json::from_str(d).ok());
    let (Some(body), Some(meta)) = (body, meta) else {
        return ApiError::new(500, "PGRST121", "Could not parse JSON in the \"RAISE SQLSTATE 'PGRST'\" error")
            .details(format!("Invalid JSON value for MESSAGE: '{message}'"));
    };
    let text = |k: &str| body.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let status = meta.get("status").and_then(|s| s.as_u64()).and_then(|s| u16::try_from(s).ok()).unwrap_or(500);
    let mut e = ApiError::new(status, &text("code").unwrap_or_default(), text("message").unwrap_or_default());
    e.details = text("details").map(serde_json::Value::String);
    e.hint = text("hint");
    if let Some(headers) = meta.get("headers").and_then(|h| h.as_object()) {
        for (k, v) in headers {
            if let (Ok(name), Some(v)) = (HeaderName::from_bytes(k.as_bytes()), v.as_str()) {
                e.headers.push((name, v.to_string()));
            }
        }
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstate_table() {
        let cases = [
            ("23505", "", true, 409),
            ("23503", "", true, 409),
            ("25006", "", true, 405),
            ("42501", "", true, 403),
            ("42501", "", false, 401),
            ("P0001", "", true, 400),
            ("PT402", "", true, 402),
            ("PTabc", "", true, 500),
            ("57014", "canceling statement due to statement timeout", true, 500),
            ("57P01", "", true, 503),
            ("08006", "", true, 503),
            ("42P01", "", true, 404),
            ("42883", "", true, 404),
            ("42883", "function xmlagg(integer) does not exist", true, 406),
            ("22023", "role \"nobody\" does not exist", true, 401),
            ("22023", "invalid parameter", true, 400),
            ("21000", "UPDATE requires a WHERE clause", true, 400),
            ("21000", "more than one row returned by a subquery", true, 500),
            ("53400", "", true, 500),
            ("53300", "", true, 503),
            ("40001", "", true, 500),
            ("42P17", "", true, 500),
            ("28000", "", true, 403),
            ("XX000", "", true, 500),
            ("22P02", "", true, 400),
        ];
        for (code, msg, token, status) in cases {
            assert_eq!(sqlstate_status(code, msg, token), status, "{code} {msg}");
        }
    }

    #[test]
    fn custom_raise() {
        let e = custom_pgrst(
            r#"{"code":"123","message":"Payment Required","details":"Quota exceeded","hint":"Upgrade"}"#,
            Some(r#"{"status":402,"headers":{"X-Powered-By":"Nerd Rage"}}"#),
        );
        assert_eq!((e.status, e.code.as_str(), e.hint.as_deref()), (402, "123", Some("Upgrade")));
        assert_eq!(e.headers[0].1, "Nerd Rage");
        assert_eq!(custom_pgrst("not json", None).code, "PGRST121");
    }

    #[test]
    fn request_errors_map_to_pgrst_codes() {
        let e: ApiError = RequestError::UnacceptableMedia("text/html".into()).into();
        assert_eq!((e.status, e.code.as_str()), (406, "PGRST107"));
        let e: ApiError = PlanError::RelationNotFound { schema: "api".into(), name: "x".into(), hint: None }.into();
        assert_eq!((e.status, e.code.as_str()), (404, "PGRST205"));
        let body: serde_json::Value = serde_json::from_slice(&e.body()).unwrap();
        assert_eq!(body["message"], "Could not find the table 'api.x' in the schema cache");
        assert!(body["details"].is_null() && body["hint"].is_null());
    }
}

//! Errors of the database stage.

use std::borrow::Cow;

use hyper::header::{HeaderName, RETRY_AFTER, WWW_AUTHENTICATE};
use thiserror::Error;

use crate::error::{ClientError, Internal};

#[derive(Debug, Error)]
pub enum DbError {
    /// No connection within the acquisition timeout (PGRST003).
    #[error("Timed out acquiring connection from connection pool.")]
    PoolTimeout,
    /// Cannot reach the database (PGRST000).
    #[error("Database connection error: {0}")]
    Unavailable(String),
    /// The connection broke during the request (PGRST001).
    #[error("Database client error: {0}")]
    Lost(String),
    /// PostgreSQL answered the request's statements with an error.
    #[error("{}", .0.message)]
    Server(ServerError),
    /// The result did not have the expected shape.
    #[error("unexpected result from the database: {0}")]
    Shape(String),
}

/// An ErrorResponse: the fields PostgREST's error body carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerError {
    /// SQLSTATE (or a custom code such as `PGRST` / `PT404`).
    pub code: String,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
}

/// A database-stage error as the client sees it: the SQLSTATE → HTTP table, custom
/// `RAISE SQLSTATE 'PGRST'` errors, outages. Built once by [`DbError::reported`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbFailure {
    status: u16,
    code: String,
    message: String,
    details: Option<String>,
    hint: Option<String>,
    headers: Vec<(HeaderName, String)>,
}

impl std::fmt::Display for DbFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DbFailure {}

impl ClientError for DbFailure {
    fn status(&self) -> u16 {
        self.status
    }
    fn code(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.code)
    }
    fn details(&self) -> Option<serde_json::Value> {
        self.details.clone().map(Into::into)
    }
    fn hint(&self) -> Option<String> {
        self.hint.clone()
    }
    fn headers(&self) -> Vec<(HeaderName, String)> {
        self.headers.clone()
    }
}

impl DbFailure {
    /// The database could not be reached or the connection broke (a replica's failure is then
    /// retried on the primary).
    pub fn is_outage(&self) -> bool {
        matches!(self.code.as_str(), "PGRST000" | "PGRST001" | "PGRST003")
    }

    /// The pre-request check refused the token (PGRST301).
    pub fn is_unauthenticated(&self) -> bool {
        self.code == "PGRST301"
    }

    fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        DbFailure { status, code: code.into(), message: message.into(), details: None, hint: None, headers: Vec::new() }
    }

    fn details(mut self, d: impl Into<String>) -> Self {
        self.details = Some(d.into());
        self
    }

    fn header(mut self, name: HeaderName, value: &str) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// Outages are worth retrying: `Retry-After: 1`.
    fn retry(self) -> Self {
        self.header(RETRY_AFTER, "1")
    }
}

impl DbError {
    /// What the client is told; `has_token` decides 42501's 401 (no token) or 403.
    pub fn reported(self, has_token: bool) -> DbFailure {
        match self {
            DbError::PoolTimeout => DbFailure::new(504, "PGRST003", self.to_string()),
            DbError::Unavailable(m) => {
                DbFailure::new(503, "PGRST000", "Could not connect with the database. Retrying.").details(m).retry()
            }
            DbError::Shape(m) => {
                let internal = Internal(m);
                DbFailure::new(internal.status(), &internal.code(), internal.to_string()).details(internal.0)
            }
            // No server error: the connection broke.
            DbError::Lost(m) => {
                DbFailure::new(503, "PGRST001", "Database client error. Retrying the connection.").details(m).retry()
            }
            DbError::Server(err) => from_server(&err, has_token),
        }
    }
}

fn from_server(db: &ServerError, has_token: bool) -> DbFailure {
    let code = db.code.as_str();
    if matches!(code, "57P01" | "57P02" | "57P03") {
        // The server is shutting down, crashed or still starting: the same outage as a dropped
        // connection, so the same answer (and the pool replaces the connection).
        return DbFailure::new(503, "PGRST001", "Database client error. Retrying the connection.")
            .details(format!("{code}: {}", db.message))
            .retry();
    }
    if code == "PGRST" {
        return custom_pgrst(&db.message, db.detail.as_deref());
    }
    let mut e = DbFailure::new(sqlstate_status(code, &db.message, has_token), code, db.message.clone());
    e.details = db.detail.clone();
    e.hint = db.hint.clone();
    match e.status {
        401 => e.header(WWW_AUTHENTICATE, "Bearer"),
        503 => e.retry(),
        _ => e,
    }
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
fn custom_pgrst(message: &str, detail: Option<&str>) -> DbFailure {
    let body: Option<serde_json::Value> = serde_json::from_str(message).ok();
    let meta: Option<serde_json::Value> = detail.and_then(|d| serde_json::from_str(d).ok());
    let (Some(body), Some(meta)) = (body, meta) else {
        return DbFailure::new(500, "PGRST121", "Could not parse JSON in the \"RAISE SQLSTATE 'PGRST'\" error")
            .details(format!("Invalid JSON value for MESSAGE: '{message}'"));
    };
    let text = |k: &str| body.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let status = meta.get("status").and_then(|s| s.as_u64()).and_then(|s| u16::try_from(s).ok()).unwrap_or(500);
    let mut e = DbFailure::new(status, &text("code").unwrap_or_default(), text("message").unwrap_or_default());
    e.details = text("details");
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

impl From<deadpool::managed::PoolError<DbError>> for DbError {
    fn from(e: deadpool::managed::PoolError<DbError>) -> Self {
        use deadpool::managed::PoolError;
        match e {
            PoolError::Timeout(_) => DbError::PoolTimeout,
            PoolError::Backend(e) => e,
            other => DbError::Unavailable(other.to_string()),
        }
    }
}

/// An error and its causes on one line: tokio-postgres's "error connecting to server" hides
/// the OS error ("Connection refused (os error 111)") in its source.
pub fn with_causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
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
    fn insufficient_privilege_is_401_without_a_token_and_403_with_one() {
        let denied = || {
            DbError::Server(ServerError {
                code: "42501".into(),
                message: "permission denied".into(),
                ..Default::default()
            })
        };
        let anonymous = denied().reported(false);
        assert_eq!(anonymous.status, 401);
        assert_eq!(anonymous.headers, vec![(WWW_AUTHENTICATE, "Bearer".to_string())]);
        assert_eq!(denied().reported(true).status, 403);
        assert_eq!(DbError::PoolTimeout.reported(true).code, "PGRST003");
    }
}

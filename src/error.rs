//! How an error reaches the client. Every stage keeps its own `thiserror` enum and says, by
//! implementing [`ClientError`], what the client is told: status, code, a client-safe message,
//! details, hint, extra headers and the body's shape. [`ApiError`] is that answer, and
//! [`ApiError::into_response`] is the only code that writes an error body: PostgREST's
//! `{code, message, details, hint}`, or GoTrue's on `/auth/v1`.

use std::borrow::Cow;

use hyper::header::{HeaderName, HeaderValue};
use hyper::{Response, StatusCode};
use serde_json::{json, Value};

use crate::body::{full, Body};

/// The code (SQLSTATE, `PGRST…` or GoTrue's) of an error response, left in its extensions by
/// [`ApiError::into_response`] so metrics and the log need not parse the body.
#[derive(Debug, Clone)]
pub struct ErrorCode(pub String);

/// Which API's error body the client reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BodyShape {
    /// `{code, message, details, hint}`.
    #[default]
    PostgRest,
    /// `{code: status, error_code, msg}` plus the older `error`, `error_description`.
    GoTrue,
    /// `{"error": message}`: Supabase Realtime's refusal of a WebSocket upgrade.
    Realtime,
}

/// What a stage's error tells the client; the message defaults to the error's `Display`.
pub trait ClientError: std::fmt::Display {
    fn status(&self) -> u16;
    /// A PGRST code, a SQLSTATE, or GoTrue's error code.
    fn code(&self) -> Cow<'_, str>;
    fn message(&self) -> String {
        self.to_string()
    }
    fn details(&self) -> Option<Value> {
        None
    }
    fn hint(&self) -> Option<String> {
        None
    }
    fn headers(&self) -> Vec<(HeaderName, String)> {
        Vec::new()
    }
    fn shape(&self) -> BodyShape {
        BodyShape::PostgRest
    }
}

/// The answer to a failed request.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
    /// A string for most errors; PGRST201 lists candidates as an array.
    pub details: Option<Value>,
    pub hint: Option<String>,
    pub headers: Vec<(HeaderName, String)>,
    pub shape: BodyShape,
}

impl<E: ClientError> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError {
            status: e.status(),
            code: e.code().into_owned(),
            message: e.message(),
            details: e.details(),
            hint: e.hint(),
            headers: e.headers(),
            shape: e.shape(),
        }
    }
}

/// The one internal error: a fault of rowgate's own (a result of an unexpected shape, a token
/// that could not be signed), never the client's doing. 500 `PGRSTX00`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Internal error")]
pub struct Internal(pub String);

impl ClientError for Internal {
    fn status(&self) -> u16 {
        500
    }
    fn code(&self) -> Cow<'_, str> {
        "PGRSTX00".into()
    }
    fn details(&self) -> Option<Value> {
        Some(self.0.clone().into())
    }
}

impl ApiError {
    pub fn body(&self) -> Value {
        match self.shape {
            BodyShape::PostgRest => {
                json!({"code": self.code, "message": self.message, "details": self.details, "hint": self.hint})
            }
            BodyShape::GoTrue => json!({
                "code": self.status, "error_code": self.code, "msg": self.message,
                "error": self.code, "error_description": self.message,
            }),
            BodyShape::Realtime => json!({"error": self.message}),
        }
    }

    pub fn into_response(self) -> Response<Body> {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = Response::new(full(self.body().to_string()));
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
        resp.extensions_mut().insert(ErrorCode(self.code));
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("Too many")]
    struct Sample(BodyShape);

    impl ClientError for Sample {
        fn status(&self) -> u16 {
            429
        }
        fn code(&self) -> Cow<'_, str> {
            "X429".into()
        }
        fn hint(&self) -> Option<String> {
            Some("later".into())
        }
        fn headers(&self) -> Vec<(HeaderName, String)> {
            vec![(hyper::header::RETRY_AFTER, "7".into())]
        }
        fn shape(&self) -> BodyShape {
            self.0
        }
    }

    #[test]
    fn one_error_two_body_shapes() {
        let e = ApiError::from(Sample(BodyShape::PostgRest));
        assert_eq!(e.body(), json!({"code": "X429", "message": "Too many", "details": null, "hint": "later"}));
        let resp = e.into_response();
        assert_eq!(resp.status(), 429);
        assert_eq!(resp.headers()["retry-after"], "7");
        assert_eq!(resp.headers()["proxy-status"], "rowgate; error=X429");
        let e = ApiError::from(Sample(BodyShape::GoTrue));
        assert_eq!(
            e.body(),
            json!({"code": 429, "error_code": "X429", "msg": "Too many", "error": "X429", "error_description": "Too many"})
        );
        assert_eq!(ApiError::from(Sample(BodyShape::Realtime)).body(), json!({"error": "Too many"}));
    }
}

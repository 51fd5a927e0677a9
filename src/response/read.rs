//! Builds the HTTP response of a read from the single result row.

use crate::db::execute::Outcome;
use crate::db::wire::Row;
use crate::plan::{CountPlan, Handler, ReadPlan};
use crate::request::{ApiRequest, MediaType};
use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};

use super::error::ResponseError;
use crate::body::{full, Body};

/// The decoded result row.
struct ReadRow<'r> {
    total: Option<i64>,
    page_total: i64,
    /// Shares the result row's buffer: the body is never copied.
    body: Bytes,
    response_headers: Option<&'r str>,
    response_status: Option<&'r str>,
}

fn decode(row: &Row) -> Result<ReadRow<'_>, ResponseError> {
    Ok(ReadRow {
        total: row.int(0)?,
        page_total: row.required_int(1)?,
        body: row.bytes(2)?.unwrap_or_default(),
        response_headers: row.text(3)?,
        response_status: row.text(4)?,
    })
}

/// `Plan Rows` of the top node of `EXPLAIN (FORMAT JSON)`.
fn planned_rows(row: &Row) -> Option<i64> {
    let v: serde_json::Value = serde_json::from_str(row.text(0).ok()??).ok()?;
    v.get(0)?.get("Plan")?.get("Plan Rows")?.as_f64().map(|f| f as i64)
}

/// What a read-shaped response needs from its plan (tables, views and RPC alike).
pub struct ReadShape {
    pub range: crate::request::RowRange,
    pub count: CountPlan,
    pub media: MediaType,
    pub headers_only: bool,
    /// A media type handler's `Content-Type`, instead of the builtin type's.
    pub content_type: Option<String>,
    /// The body is a `bytea` value as hex (`encode(…, 'hex')`): send its bytes.
    pub binary: bool,
}

impl ReadShape {
    pub fn new(
        range: crate::request::RowRange,
        count: CountPlan,
        media: MediaType,
        headers_only: bool,
        handler: Option<&Handler>,
    ) -> Self {
        ReadShape {
            range,
            count,
            media,
            headers_only,
            content_type: handler.and_then(Handler::content_type),
            binary: handler.is_some_and(Handler::binary),
        }
    }
}

impl From<&ReadPlan<'_>> for ReadShape {
    fn from(p: &ReadPlan) -> Self {
        ReadShape::new(p.range, p.count, p.media, p.headers_only, p.handler.as_ref())
    }
}

/// `0a0b…` (`encode(bytes, 'hex')`) as the bytes it stands for.
fn hex_bytes(hex: &[u8]) -> Result<Bytes, ResponseError> {
    let bad = || ResponseError::Internal(crate::error::Internal("a binary body is not hex".into()));
    let digit = |c: u8| match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        _ => Err(bad()),
    };
    let mut out = Vec::with_capacity(hex.len() / 2);
    for pair in hex.chunks(2) {
        match pair {
            [h, l] => out.push(digit(*h)? << 4 | digit(*l)?),
            _ => return Err(bad()),
        }
    }
    Ok(Bytes::from(out))
}

/// `applied`: the `Prefer` options honoured, for `Preference-Applied`.
pub fn read_response(
    req: &ApiRequest,
    plan: &ReadShape,
    outcome: &Outcome,
    applied: &[String],
) -> Result<Response<Body>, ResponseError> {
    let row = decode(&outcome.main)?;
    let offset = plan.range.offset as i64;
    let total = match plan.count {
        CountPlan::None => None,
        // Without a page bound the page is the whole result.
        CountPlan::Exact if plan.range.limit.is_none() && offset == 0 => Some(row.page_total),
        CountPlan::Exact => row.total,
        CountPlan::Planned => outcome.explain.as_ref().and_then(planned_rows),
        CountPlan::Estimated { max_rows } => match row.total {
            Some(n) if n > max_rows as i64 => outcome.explain.as_ref().and_then(planned_rows).or(Some(n)),
            other => other,
        },
    };

    if let MediaType::SingleObject { .. } = plan.media {
        if row.page_total != 1 {
            return Err(ResponseError::NotSingular { rows: row.page_total });
        }
    }

    let mut status = match total {
        Some(t) if offset > t => {
            return Err(ResponseError::RangeNotSatisfiable { offset, total: t });
        }
        Some(t) if row.page_total < t => StatusCode::PARTIAL_CONTENT,
        _ => StatusCode::OK,
    };

    let content_range = {
        let total_text = total.map_or_else(|| "*".to_string(), |t| t.to_string());
        if row.page_total > 0 {
            format!("{}-{}/{}", offset, offset + row.page_total - 1, total_text)
        } else {
            format!("*/{total_text}")
        }
    };

    let body = match (plan.headers_only, plan.binary) {
        (true, _) => Bytes::new(),
        (false, true) if !row.body.is_empty() => hex_bytes(&row.body)?,
        (false, _) => row.body,
    };
    let mut resp = Response::new(full(body));
    let h = resp.headers_mut();
    match plan.content_type.as_deref().map(HeaderValue::from_str) {
        Some(Ok(v)) => h.insert(CONTENT_TYPE, v),
        _ => h.insert(CONTENT_TYPE, HeaderValue::from_static(plan.media.content_type())),
    };
    if let Ok(v) = HeaderValue::from_str(&content_range) {
        h.insert(hyper::header::CONTENT_RANGE, v);
    }
    profile_and_preferences(req, applied, h);
    apply_response_gucs(&mut resp, &mut status, row.response_headers, row.response_status)?;
    *resp.status_mut() = status;
    Ok(resp)
}

/// `Content-Profile` when several schemas are exposed, and `Preference-Applied`.
pub fn profile_and_preferences(req: &ApiRequest, applied: &[String], h: &mut hyper::HeaderMap) {
    if req.multi_schema {
        if let Ok(v) = HeaderValue::from_str(&req.schema) {
            h.insert(HeaderName::from_static("content-profile"), v);
        }
    }
    if !applied.is_empty() {
        if let Ok(v) = HeaderValue::from_str(&applied.join(", ")) {
            h.insert(HeaderName::from_static("preference-applied"), v);
        }
    }
}

/// `response.headers` (a JSON array of one-key objects) and `response.status` set by SQL.
pub fn apply_response_gucs(
    resp: &mut Response<Body>,
    status: &mut StatusCode,
    headers: Option<&str>,
    status_text: Option<&str>,
) -> Result<(), ResponseError> {
    if let Some(text) = headers {
        let bad = || ResponseError::InvalidResponseHeaders;
        let v: serde_json::Value = serde_json::from_str(text).map_err(|_| bad())?;
        // The first value of a name replaces ours (e.g. Content-Type); repeats accumulate (Set-Cookie).
        let mut seen: Vec<HeaderName> = Vec::new();
        for item in v.as_array().ok_or_else(bad)? {
            let obj = item.as_object().filter(|o| o.len() == 1).ok_or_else(bad)?;
            for (k, v) in obj {
                let name = HeaderName::from_bytes(k.as_bytes()).map_err(|_| bad())?;
                let value = HeaderValue::from_str(v.as_str().ok_or_else(bad)?).map_err(|_| bad())?;
                if !seen.contains(&name) {
                    resp.headers_mut().remove(&name);
                    seen.push(name.clone());
                }
                resp.headers_mut().append(name, value);
            }
        }
    }
    if let Some(text) = status_text {
        let code = text.trim().parse::<u16>().ok().and_then(|c| StatusCode::from_u16(c).ok());
        *status = code.ok_or(ResponseError::InvalidResponseStatus)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_bodies_become_their_bytes() {
        assert_eq!(&hex_bytes(b"00ff4a").unwrap()[..], b"\x00\xffJ");
        assert!(hex_bytes(b"0").is_err());
        assert!(hex_bytes(b"zz").is_err());
    }
}

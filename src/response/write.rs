//! Builds the HTTP response of a write from its result row.

use crate::db::execute::Outcome;
use crate::db::wire::Row;
use crate::plan::{Check, WriteOp, WritePlan};
use crate::request::preferences::ReturnPreference;
use crate::request::{ApiRequest, CountPreference, WriteMethod};
use bytes::Bytes;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};

use super::error::ResponseError;
use super::read::{apply_response_gucs, profile_and_preferences};
use crate::body::{full, Body};

/// Affected rows of a write's result row.
pub fn affected(row: &Row) -> i64 {
    row.int(1).ok().flatten().unwrap_or(0)
}

/// Whether the checks pass for `affected` rows (commit) or not (roll back).
pub fn checks_pass(checks: &[Check], affected: i64) -> bool {
    checks.iter().all(|c| match c {
        Check::ExactlyOne => affected == 1,
        Check::AtMost(n) => affected <= *n as i64,
    })
}

/// The error for the first check `count` rows fail (the transaction was rolled back).
pub fn check_rows(checks: &[Check], count: i64) -> Result<(), ResponseError> {
    for check in checks {
        match check {
            Check::ExactlyOne if count != 1 => return Err(ResponseError::NotSingular { rows: count }),
            Check::AtMost(n) if count > *n as i64 => return Err(ResponseError::MaxAffectedExceeded { rows: count }),
            _ => {}
        }
    }
    Ok(())
}

pub fn write_response(
    req: &ApiRequest,
    plan: &WritePlan,
    outcome: &Outcome,
    applied: &[String],
) -> Result<Response<Body>, ResponseError> {
    let row = &outcome.main;
    let count: i64 = row.required_int(1)?;
    check_rows(&plan.checks, count)?;
    let body = row.bytes(2)?.unwrap_or_default();
    let response_headers: Option<&str> = row.text(3)?;
    let response_status: Option<&str> = row.text(4)?;
    let location: Option<&str> = row.text(5)?;
    let updated: i64 = row.required_int(6)?;

    let representation = plan.returning == ReturnPreference::Representation;
    let mut status = match (plan.method, plan.op) {
        (WriteMethod::Put, _) if !representation => StatusCode::NO_CONTENT,
        (WriteMethod::Put, _) if updated > 0 => StatusCode::OK,
        (WriteMethod::Put, _) => StatusCode::CREATED,
        (_, WriteOp::Insert) => match &plan.on_conflict {
            Some(oc) if oc.merge && count > 0 && updated == count => StatusCode::OK,
            _ => StatusCode::CREATED,
        },
        (_, WriteOp::Update | WriteOp::Delete) if representation => StatusCode::OK,
        (_, WriteOp::Update | WriteOp::Delete) => StatusCode::NO_CONTENT,
    };

    let body = if representation { body } else { Bytes::new() };
    let mut resp = Response::new(full(body));
    let h = resp.headers_mut();
    if representation {
        h.insert(CONTENT_TYPE, HeaderValue::from_static(plan.media.content_type()));
    }
    if let Some(range) = content_range(plan, count, counted(req)) {
        if let Ok(v) = HeaderValue::from_str(&range) {
            h.insert(hyper::header::CONTENT_RANGE, v);
        }
    }
    if let Some(loc) = location.and_then(|l| location_header(&plan.relation.name, &plan.key, l)) {
        if let Ok(v) = HeaderValue::from_str(&loc) {
            h.insert(hyper::header::LOCATION, v);
        }
    }
    profile_and_preferences(req, applied, h);
    apply_response_gucs(&mut resp, &mut status, response_headers, response_status)?;
    *resp.status_mut() = status;
    Ok(resp)
}

/// `Prefer: count=exact|estimated`: the affected count goes into `Content-Range`.
fn counted(req: &ApiRequest) -> bool {
    matches!(req.prefer.count, Some(CountPreference::Exact | CountPreference::Estimated))
}

/// PostgREST's `Content-Range` of a write: `*/N` for POST and DELETE, `0-(N-1)/N` for PATCH
/// (`/*` without a count, `*/0` for none), nothing for PUT.
fn content_range(plan: &WritePlan, affected: i64, counted: bool) -> Option<String> {
    let total = if counted { affected.to_string() } else { "*".to_string() };
    Some(match (plan.method, plan.op) {
        (WriteMethod::Put, _) => return None,
        (_, WriteOp::Update) if affected > 0 => format!("0-{}/{total}", affected - 1),
        _ => format!("*/{total}"),
    })
}

/// `/table?k1=eq.v1&k2=eq.v2` from the key values (a JSON array in key order); NULL is `is.null`.
fn location_header(table: &str, key: &[&str], values_json: &str) -> Option<String> {
    let values: Vec<serde_json::Value> = serde_json::from_str(values_json).ok()?;
    const UNRESERVED: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
    let enc = |s: &str| percent_encoding::utf8_percent_encode(s, UNRESERVED).to_string();
    let params: Vec<String> = key
        .iter()
        .zip(&values)
        .map(|(k, v)| match v {
            serde_json::Value::Null => format!("{}=is.null", enc(k)),
            serde_json::Value::String(s) => format!("{}=eq.{}", enc(k), enc(s)),
            other => format!("{}=eq.{}", enc(k), enc(&other.to_string())),
        })
        .collect();
    Some(format!("/{}?{}", enc(table), params.join("&")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_of_composite_keys() {
        assert_eq!(
            location_header("t", &["org_id", "id"], r#"[1,"a b"]"#).as_deref(),
            Some("/t?org_id=eq.1&id=eq.a%20b")
        );
        assert_eq!(location_header("t", &["id"], "[null]").as_deref(), Some("/t?id=is.null"));
    }

    #[test]
    fn checks() {
        assert!(checks_pass(&[Check::ExactlyOne], 1));
        assert!(!checks_pass(&[Check::ExactlyOne], 2));
        assert!(checks_pass(&[Check::AtMost(2)], 2));
        assert!(!checks_pass(&[Check::AtMost(2)], 3));
    }
}

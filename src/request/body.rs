//! Request bodies: JSON, CSV and form payloads become one JSON value; raw bodies stay bytes.

use bytes::Bytes;
use serde_json::{Map, Value};

use super::error::RequestError;

#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// An object or an array of objects (CSV and form bodies are converted).
    Json(Value),
    /// `text/plain` / `application/octet-stream` / `text/xml` for single-parameter functions.
    Raw { content_type: String, bytes: Bytes },
}

pub fn decode(content_type: Option<&str>, body: &Bytes) -> Result<Payload, RequestError> {
    let essence = content_type
        .and_then(|c| c.split(';').next())
        .map(|c| c.trim().to_ascii_lowercase())
        .unwrap_or_else(|| "application/json".into());
    match essence.as_str() {
        "application/json" | "application/vnd.pgrst.object+json" | "application/vnd.pgrst.array+json" | "*/*" => {
            serde_json::from_slice(body).map(Payload::Json).map_err(|e| invalid_body(&e.to_string()))
        }
        "text/csv" => csv_to_json(body).map(Payload::Json),
        "application/x-www-form-urlencoded" => Ok(Payload::Json(Value::Object(
            form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), Value::String(v.into_owned()))).collect(),
        ))),
        "text/plain" | "application/octet-stream" | "text/xml" => {
            Ok(Payload::Raw { content_type: essence, bytes: body.clone() })
        }
        other => Err(RequestError::UnsupportedContentType(other.to_string())),
    }
}

pub fn invalid_body(details: &str) -> RequestError {
    RequestError::InvalidBody { message: "Empty or invalid json".into(), details: details.to_string() }
}

/// CSV with a header row: each record becomes an object; `NULL` is null, an empty field is "".
fn csv_to_json(body: &[u8]) -> Result<Value, RequestError> {
    let text = std::str::from_utf8(body).map_err(|_| csv_error("the body is not UTF-8"))?;
    let mut records = parse_csv(text)?;
    if records.is_empty() {
        return Err(csv_error("a header row is required"));
    }
    let header = records.remove(0);
    let mut rows = Vec::with_capacity(records.len());
    for (n, record) in records.into_iter().enumerate() {
        if record.len() != header.len() {
            return Err(csv_error(&format!(
                "row {} has {} fields, the header has {}",
                n + 1,
                record.len(),
                header.len()
            )));
        }
        let obj: Map<String, Value> = header
            .iter()
            .zip(record)
            .map(|(k, v)| (k.clone(), if v == "NULL" { Value::Null } else { Value::String(v) }))
            .collect();
        rows.push(Value::Object(obj));
    }
    Ok(Value::Array(rows))
}

fn csv_error(details: &str) -> RequestError {
    RequestError::InvalidBody { message: "Invalid CSV body".into(), details: details.to_string() }
}

/// RFC 4180: comma-separated, `"quoted"` fields with `""` escapes, CRLF or LF records.
fn parse_csv(text: &str) -> Result<Vec<Vec<String>>, RequestError> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut any = false;
    while let Some(c) = chars.next() {
        any = true;
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                c => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => quoted = true,
            ',' => record.push(std::mem::take(&mut field)),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
                any = false;
            }
            c => field.push(c),
        }
    }
    if quoted {
        return Err(csv_error("unterminated quoted field"));
    }
    if any {
        record.push(field);
        records.push(record);
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_bodies() {
        let p = decode(Some("application/json; charset=utf-8"), &Bytes::from_static(b"{\"a\":1}")).unwrap();
        assert_eq!(p, Payload::Json(serde_json::json!({"a": 1})));
        assert!(matches!(decode(None, &Bytes::from_static(b"")), Err(RequestError::InvalidBody { .. })));
        assert!(matches!(decode(None, &Bytes::from_static(b"{nope")), Err(RequestError::InvalidBody { .. })));
    }

    #[test]
    fn csv_bodies() {
        let p =
            decode(Some("text/csv"), &Bytes::from_static(b"id,name,note\r\n1,\"a, \"\"b\"\"\",NULL\n2,c,\n")).unwrap();
        assert_eq!(
            p,
            Payload::Json(serde_json::json!([
                {"id": "1", "name": "a, \"b\"", "note": null},
                {"id": "2", "name": "c", "note": ""}
            ]))
        );
        assert!(decode(Some("text/csv"), &Bytes::from_static(b"a,b\n1\n")).is_err());
        assert!(decode(Some("text/csv"), &Bytes::from_static(b"a\n\"open\n")).is_err());
    }

    #[test]
    fn form_and_raw_bodies() {
        let p = decode(Some("application/x-www-form-urlencoded"), &Bytes::from_static(b"a=1&b=x+y")).unwrap();
        assert_eq!(p, Payload::Json(serde_json::json!({"a": "1", "b": "x y"})));
        assert!(matches!(decode(Some("text/plain"), &Bytes::from_static(b"hi")).unwrap(), Payload::Raw { .. }));
        assert!(matches!(decode(Some("image/png"), &Bytes::new()), Err(RequestError::UnsupportedContentType(_))));
    }
}

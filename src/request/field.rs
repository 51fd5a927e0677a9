//! `name->key->>key` column references shared by select, order and filters.

use super::ast::{Field, JsonKey, JsonStep};
use super::cursor::{Cursor, MAX_JSON_PATH};
use super::error::RequestError;

pub fn parse_field(c: &mut Cursor) -> Result<Field, RequestError> {
    let name = c.name()?;
    let mut json_path = Vec::new();
    loop {
        let text = if c.eat("->>") {
            false
        } else if c.eat("->") {
            true
        } else {
            break;
        };
        if json_path.len() >= MAX_JSON_PATH {
            return Err(c.error(&format!("a JSON path of at most {MAX_JSON_PATH} steps")));
        }
        let key = json_key(c)?;
        json_path.push(if text { JsonStep::Arrow(key) } else { JsonStep::DoubleArrow(key) });
    }
    Ok(Field { name, json_path })
}

fn json_key(c: &mut Cursor) -> Result<JsonKey, RequestError> {
    let raw = c.name()?;
    let digits = raw.strip_prefix('-').unwrap_or(&raw);
    if !digits.is_empty() && digits.len() <= 9 && digits.bytes().all(|b| b.is_ascii_digit()) {
        Ok(JsonKey::Index(raw))
    } else {
        Ok(JsonKey::Key(raw))
    }
}

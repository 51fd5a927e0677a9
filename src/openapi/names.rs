//! Database names as OpenAPI path segments and component keys.

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};

/// Characters that cannot stand literally in a path template segment (`{}` would read as a
/// template variable, `/` as a separator).
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// `/Order Items` → `/Order%20Items`.
pub fn path(prefix: &str, name: &str) -> String {
    format!("{prefix}{}", utf8_percent_encode(name, SEGMENT))
}

/// The shared error body's component key; [`component_key`] never yields it for a relation.
pub const ERROR: &str = "Error";

/// A component key (`^[a-zA-Z0-9._-]+$`) for a relation name, one-to-one: letters, digits, `_`
/// and `-` stay, every other byte becomes `.HH` (so `.` never stands for itself), and a relation
/// named `Error` becomes `.45rror` to leave [`ERROR`] to the error body.
pub fn component_key(name: &str) -> String {
    let mut key = String::with_capacity(name.len());
    for (i, byte) in name.bytes().enumerate() {
        let reserved = name == ERROR && i == 0;
        if !reserved && (byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-') {
            key.push(byte as char);
        } else {
            key.push_str(&format!(".{byte:02X}"));
        }
    }
    if key.is_empty() {
        key.push_str(".00");
    }
    key
}

/// `#/components/schemas/<key>` (keys need no JSON-pointer escaping).
pub fn schema_ref(name: &str) -> serde_json::Value {
    serde_json::json!({"$ref": format!("#/components/schemas/{}", component_key(name))})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_valid_and_distinct() {
        assert_eq!(component_key("items"), "items");
        assert_eq!(component_key("Order Items"), "Order.20Items");
        assert_eq!(component_key("a.b"), "a.2Eb");
        assert_eq!(component_key("Error"), ".45rror");
        assert_eq!(component_key("été"), ".C3.A9t.C3.A9");
        assert_ne!(component_key("a b"), component_key("a_b"));
        assert_eq!(path("/", "Order Items"), "/Order%20Items");
        assert_eq!(path("/rpc/", "a{b}/c"), "/rpc/a%7Bb%7D%2Fc");
    }
}

//! Settings attached to the roles requests switch to (`alter role anon set statement_timeout =
//! '1s'`): read once per load, applied by the context statement of every transaction of that
//! role (as bind parameters: the statement text stays the same), and the role's
//! `default_transaction_isolation` chooses the `BEGIN`.

use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Isolation {
    #[default]
    ReadCommitted,
    RepeatableRead,
    Serializable,
}

impl Isolation {
    fn parse(s: &str) -> Isolation {
        match s.trim().to_ascii_lowercase().as_str() {
            "repeatable read" => Isolation::RepeatableRead,
            "serializable" => Isolation::Serializable,
            _ => Isolation::ReadCommitted,
        }
    }
}

/// A role's settings, ready to bind: two array literals of the same length.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RoleSettings {
    pub names: String,
    pub values: String,
    pub isolation: Isolation,
}

/// One row of the introspection's `role_settings` list.
#[derive(Debug, Clone, Deserialize)]
pub struct RoleRow {
    pub role: String,
    pub isolation: Option<String>,
    pub settings: Vec<(String, String)>,
}

impl RoleRow {
    pub fn settings(self) -> (String, RoleSettings) {
        let (names, values): (Vec<String>, Vec<String>) = self.settings.into_iter().unzip();
        let settings = RoleSettings {
            names: array_literal(&names),
            values: array_literal(&values),
            isolation: self.isolation.as_deref().map(Isolation::parse).unwrap_or_default(),
        };
        (self.role, settings)
    }
}

/// `{"a","b\"c"}`: one text[] parameter.
fn array_literal(items: &[String]) -> String {
    let quoted: Vec<String> =
        items.iter().map(|i| format!("\"{}\"", i.replace('\\', "\\\\").replace('"', "\\\""))).collect();
    format!("{{{}}}", quoted.join(","))
}

/// No settings: empty arrays.
pub const NO_SETTINGS: (&str, &str) = ("{}", "{}");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_array_literals() {
        let row = RoleRow {
            role: "anon".into(),
            isolation: Some("Serializable".into()),
            settings: vec![("statement_timeout".into(), "1s".into()), ("app.x".into(), "a\"b".into())],
        };
        let (role, s) = row.settings();
        assert_eq!(role, "anon");
        assert_eq!(s.names, r#"{"statement_timeout","app.x"}"#);
        assert_eq!(s.values, r#"{"1s","a\"b"}"#);
        assert_eq!(s.isolation, Isolation::Serializable);
    }
}

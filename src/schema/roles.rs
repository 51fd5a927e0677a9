//! Settings attached to the roles requests switch to (`alter role anon set statement_timeout =
//! '1s'`): read once per load, applied by the context statement of every transaction of that
//! role (names and values bound: one statement text per number of settings), and the role's
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

/// A role's settings, bound by the context statement (names and values), and its isolation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RoleSettings {
    pub settings: Vec<(String, String)>,
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
        let isolation = self.isolation.as_deref().map(Isolation::parse).unwrap_or_default();
        (self.role, RoleSettings { settings: self.settings, isolation })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_settings() {
        let row = RoleRow {
            role: "anon".into(),
            isolation: Some("Serializable".into()),
            settings: vec![("statement_timeout".into(), "1s".into()), ("app.x".into(), "a\"b".into())],
        };
        let (role, s) = row.settings();
        assert_eq!(role, "anon");
        assert_eq!(s.settings[1], ("app.x".to_string(), "a\"b".to_string()));
        assert_eq!(s.isolation, Isolation::Serializable);
        assert_eq!(Isolation::parse("read committed"), Isolation::ReadCommitted);
        assert_eq!(Isolation::parse("REPEATABLE READ"), Isolation::RepeatableRead);
    }
}

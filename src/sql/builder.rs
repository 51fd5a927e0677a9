//! Accumulates SQL text and its bind parameters; values only ever enter as `$n`.

use std::fmt::Write;

/// A statement ready to prepare and run: all parameters are sent in text format and typed by
/// Postgres from their context, as PostgREST does with `unknown`-typed parameters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Statement {
    /// Borrowed when the text is fixed (the context statement), so it is not copied per request.
    pub sql: std::borrow::Cow<'static, str>,
    pub params: Vec<String>,
}

#[derive(Debug, Default)]
pub struct SqlBuilder {
    pub sql: String,
    pub params: Vec<String>,
}

impl SqlBuilder {
    pub fn new() -> Self {
        SqlBuilder { sql: String::with_capacity(256), params: Vec::new() }
    }

    pub fn push(&mut self, s: &str) -> &mut Self {
        self.sql.push_str(s);
        self
    }

    /// Binds `value` and writes its placeholder.
    pub fn param(&mut self, value: impl Into<String>) -> &mut Self {
        self.params.push(value.into());
        let _ = write!(self.sql, "${}", self.params.len());
        self
    }

    pub fn ident(&mut self, name: &str) -> &mut Self {
        super::quote::push_ident(&mut self.sql, name);
        self
    }

    pub fn qualified(&mut self, schema: &str, name: &str) -> &mut Self {
        super::quote::push_qualified(&mut self.sql, schema, name);
        self
    }

    pub fn finish(self) -> Statement {
        Statement { sql: self.sql.into(), params: self.params }
    }
}

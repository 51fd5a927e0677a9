//! The per-transaction context statement: one `select set_config(...)` with fixed text.

use super::builder::Statement;
use super::quote::quote_ident;

/// Fixed SQL text, so every connection prepares it once. Order as PostgREST: search_path, role, claims, request.
pub const CONTEXT_SQL: &str = "select set_config('search_path', $1, true), set_config('role', $2, true), \
set_config('request.jwt.claims', $3, true), set_config('request.method', $4, true), \
set_config('request.path', $5, true), set_config('request.headers', $6, true), \
set_config('request.cookies', $7, true), set_config('statement_timeout', $8, true), \
set_config('timezone', coalesce(nullif($9, ''), current_setting('timezone')), true)";

/// The context of a realtime check: [`CONTEXT_SQL`] plus `transaction_read_only` (the check runs
/// in an implicit transaction, where `BEGIN READ ONLY` is not available), one statement.
pub const READ_ONLY_CONTEXT_SQL: &str = "select set_config('transaction_read_only', 'on', true), \
set_config('search_path', $1, true), set_config('role', $2, true), \
set_config('request.jwt.claims', $3, true), set_config('request.method', $4, true), \
set_config('request.path', $5, true), set_config('request.headers', $6, true), \
set_config('request.cookies', $7, true), set_config('statement_timeout', $8, true), \
set_config('timezone', coalesce(nullif($9, ''), current_setting('timezone')), true)";

pub struct RequestContext<'a> {
    pub schema: &'a str,
    pub extra_search_path: &'a [String],
    pub role: &'a str,
    pub claims: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub headers: &'a str,
    pub cookies: &'a str,
    pub statement_timeout_ms: u64,
    /// `Prefer: timezone=`; empty keeps the session's.
    pub timezone: &'a str,
}

pub fn context_statement(ctx: &RequestContext) -> Statement {
    let mut search_path = quote_ident(ctx.schema);
    for s in ctx.extra_search_path {
        search_path.push_str(", ");
        search_path.push_str(&quote_ident(s));
    }
    Statement {
        sql: CONTEXT_SQL.into(),
        params: vec![
            search_path,
            ctx.role.to_string(),
            ctx.claims.to_string(),
            ctx.method.to_string(),
            ctx.path.to_string(),
            ctx.headers.to_string(),
            ctx.cookies.to_string(),
            ctx.statement_timeout_ms.to_string(),
            ctx.timezone.to_string(),
        ],
    }
}

/// [`context_statement`] as [`READ_ONLY_CONTEXT_SQL`].
pub fn read_only_context_statement(ctx: &RequestContext) -> Statement {
    Statement { sql: READ_ONLY_CONTEXT_SQL.into(), ..context_statement(ctx) }
}

/// `select "schema"."fn"()` for `ROWGATE_DB_PRE_REQUEST` (validated at start-up).
pub fn pre_request_sql(schema: &str, function: &str) -> String {
    let mut sql = String::from("select ");
    super::quote::push_qualified(&mut sql, schema, function);
    sql.push_str("()");
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_binds_everything() {
        let extra = vec!["public".to_string()];
        let st = context_statement(&RequestContext {
            schema: "api",
            extra_search_path: &extra,
            role: "anon",
            claims: "{\"role\":\"anon\"}",
            method: "GET",
            path: "/t",
            headers: "{}",
            cookies: "{}",
            statement_timeout_ms: 8000,
            timezone: "",
        });
        assert_eq!(st.sql, CONTEXT_SQL);
        assert_eq!(st.params[0], "\"api\", \"public\"");
        assert_eq!(st.params[1], "anon");
        assert_eq!(st.params[7], "8000");
        assert_eq!(pre_request_sql("api", "check"), "select \"api\".\"check\"()");
    }
}

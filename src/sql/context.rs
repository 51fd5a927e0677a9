//! The per-transaction context statement: one `select set_config(...)`, its text fixed (one per
//! number of role settings), every value bound.

use super::builder::Statement;
use super::quote::quote_ident;
use crate::schema::Isolation;

/// `BEGIN`: one fixed text per isolation level (the role's `default_transaction_isolation`) and
/// access mode.
pub fn begin(isolation: Isolation, read_only: bool) -> &'static str {
    match (isolation, read_only) {
        (Isolation::ReadCommitted, true) => "BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY",
        (Isolation::ReadCommitted, false) => "BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE",
        (Isolation::RepeatableRead, true) => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        (Isolation::RepeatableRead, false) => "BEGIN ISOLATION LEVEL REPEATABLE READ READ WRITE",
        (Isolation::Serializable, true) => "BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY",
        (Isolation::Serializable, false) => "BEGIN ISOLATION LEVEL SERIALIZABLE READ WRITE",
    }
}

/// The statement's head and tail around the role's own settings; order as PostgREST:
/// search_path, the role's settings (after our statement_timeout, so a role's timeout wins),
/// role, claims, request; then rowgate's own `request.client_ip`.
const HEAD: &str = "select set_config('search_path', $1, true), set_config('statement_timeout', $8, true)";
const TAIL: &str = ", set_config('role', $2, true), set_config('request.jwt.claims', $3, true), \
set_config('request.method', $4, true), set_config('request.path', $5, true), \
set_config('request.headers', $6, true), set_config('request.cookies', $7, true), \
set_config('timezone', coalesce(nullif($9, ''), current_setting('timezone')), true), \
set_config('request.client_ip', $10, true)";

/// The text for a role without settings: fixed, so every connection prepares it once.
pub const CONTEXT_SQL: &str = "select set_config('search_path', $1, true), set_config('statement_timeout', $8, true), \
set_config('role', $2, true), set_config('request.jwt.claims', $3, true), \
set_config('request.method', $4, true), set_config('request.path', $5, true), \
set_config('request.headers', $6, true), set_config('request.cookies', $7, true), \
set_config('timezone', coalesce(nullif($9, ''), current_setting('timezone')), true), \
set_config('request.client_ip', $10, true)";

/// Texts for up to this many role settings are built once; more (rare) are built per request.
const PREBUILT: usize = 16;

/// The text for `n` role settings: `set_config($11, $12, true)` per setting, names and values
/// bound. One text per count, so a role's transactions reuse one prepared statement.
fn context_sql(n: usize) -> std::borrow::Cow<'static, str> {
    static TEXTS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let build = |n: usize| {
        let mut sql = String::from(HEAD);
        for i in 0..n {
            sql.push_str(&format!(", set_config(${}, ${}, true)", 11 + 2 * i, 12 + 2 * i));
        }
        sql.push_str(TAIL);
        sql
    };
    match n {
        0 => CONTEXT_SQL.into(),
        n if n <= PREBUILT => TEXTS.get_or_init(|| (0..=PREBUILT).map(build).collect())[n].as_str().into(),
        n => build(n).into(),
    }
}

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
    /// The client address the gateway resolved (behind `ROWGATE_TRUSTED_PROXIES`), for rules in
    /// SQL such as the registration caps; empty when unknown.
    pub client_ip: &'a str,
    /// The role's own settings (`alter role … set k = v`), names and values.
    pub role_settings: &'a [(String, String)],
}

pub fn context_statement(ctx: &RequestContext) -> Statement {
    let mut search_path = quote_ident(ctx.schema);
    for s in ctx.extra_search_path {
        search_path.push_str(", ");
        search_path.push_str(&quote_ident(s));
    }
    let mut params = Vec::with_capacity(10 + 2 * ctx.role_settings.len());
    params.extend([
        search_path,
        ctx.role.to_string(),
        ctx.claims.to_string(),
        ctx.method.to_string(),
        ctx.path.to_string(),
        ctx.headers.to_string(),
        ctx.cookies.to_string(),
        ctx.statement_timeout_ms.to_string(),
        ctx.timezone.to_string(),
        ctx.client_ip.to_string(),
    ]);
    for (name, value) in ctx.role_settings {
        params.push(name.clone());
        params.push(value.clone());
    }
    Statement { sql: context_sql(ctx.role_settings.len()), params }
}

/// The context of a realtime check: [`context_statement`] that also sets
/// `transaction_read_only` (the check runs in an implicit transaction, where `BEGIN READ ONLY`
/// is not available), one statement.
pub fn read_only_context_statement(ctx: &RequestContext) -> Statement {
    let statement = context_statement(ctx);
    let rest = statement.sql.strip_prefix("select ").unwrap_or(&statement.sql);
    let sql = format!("select set_config('transaction_read_only', 'on', true), {rest}");
    Statement { sql: sql.into(), params: statement.params }
}

/// Citus mode (`ROWGATE_DB_CITUS`): the same statement, then internal.citus_propagate_context()
/// (functions/citus.sql) re-issues the claims and headers as `SET LOCAL` with
/// `citus.propagate_set_commands = 'local'`, so that they reach the shard connections
/// (`set_config` never does). The role is not propagated: Citus connects to the shards as the
/// current role. Still one statement, one round trip.
pub fn citus_context(statement: Statement) -> Statement {
    const CALL: &str = ", internal.citus_propagate_context()";
    let sql = statement.sql.into_owned() + CALL;
    Statement { sql: sql.into(), params: statement.params }
}

/// Citus mode: the read statement's CTE materialized, so that a multi-shard plan keeps the
/// column names in `json_agg` (an inlined CTE over shards yields `f1, f2, …`). Other statements
/// are returned unchanged.
pub fn citus_read(statement: &Statement) -> Option<Statement> {
    const INLINE: &str = "WITH pgrst_source AS (";
    const MATERIALIZED: &str = "WITH pgrst_source AS MATERIALIZED (";
    let rest = statement.sql.strip_prefix(INLINE)?;
    Some(Statement { sql: format!("{MATERIALIZED}{rest}").into(), params: statement.params.clone() })
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

    fn ctx<'a>(settings: &'a [(String, String)]) -> RequestContext<'a> {
        RequestContext {
            schema: "api",
            extra_search_path: &[],
            role: "anon",
            claims: "{\"role\":\"anon\"}",
            method: "GET",
            path: "/t",
            headers: "{}",
            cookies: "{}",
            statement_timeout_ms: 8000,
            timezone: "",
            client_ip: "192.0.2.1",
            role_settings: settings,
        }
    }

    #[test]
    fn context_binds_everything() {
        let extra = vec!["public".to_string()];
        let st = context_statement(&RequestContext { extra_search_path: &extra, ..ctx(&[]) });
        assert_eq!(st.sql, CONTEXT_SQL);
        assert_eq!(st.params[0], "\"api\", \"public\"");
        assert_eq!(st.params[1], "anon");
        assert_eq!(st.params[7], "8000");
        assert_eq!(st.params[9], "192.0.2.1");
        assert_eq!(st.params.len(), 10);
        assert_eq!(pre_request_sql("api", "check"), "select \"api\".\"check\"()");
    }

    #[test]
    fn citus_mode_appends_the_propagation_and_materializes_reads() {
        let st = citus_context(context_statement(&ctx(&[])));
        assert_eq!(st.sql, format!("{CONTEXT_SQL}, internal.citus_propagate_context()"));
        assert_eq!(st.params.len(), 10, "the same values, still bound");
        let read = Statement { sql: "WITH pgrst_source AS (SELECT 1) SELECT 2".into(), params: vec!["x".into()] };
        let m = citus_read(&read).expect("a read statement");
        assert_eq!(m.sql, "WITH pgrst_source AS MATERIALIZED (SELECT 1) SELECT 2");
        assert_eq!(m.params, ["x"]);
        let write = Statement { sql: "WITH pgrst_mutation AS (INSERT …) SELECT 1".into(), params: vec![] };
        assert!(citus_read(&write).is_none(), "other statements stay as they are");
    }

    #[test]
    fn role_settings_are_bound_in_one_text_per_count() {
        let settings =
            vec![("statement_timeout".to_string(), "1s".to_string()), ("app.x".to_string(), "y".to_string())];
        let st = context_statement(&ctx(&settings));
        assert_eq!(
            st.sql,
            "select set_config('search_path', $1, true), set_config('statement_timeout', $8, true), \
             set_config($11, $12, true), set_config($13, $14, true), set_config('role', $2, true), \
             set_config('request.jwt.claims', $3, true), set_config('request.method', $4, true), \
             set_config('request.path', $5, true), set_config('request.headers', $6, true), \
             set_config('request.cookies', $7, true), \
             set_config('timezone', coalesce(nullif($9, ''), current_setting('timezone')), true), \
             set_config('request.client_ip', $10, true)"
        );
        assert_eq!(st.params[10..], ["statement_timeout", "1s", "app.x", "y"]);
        // The same count, the same (static) text; many settings still work.
        let other = vec![("a.b".to_string(), "1".to_string()), ("c.d".to_string(), "2".to_string())];
        assert!(matches!(context_statement(&ctx(&other)).sql, std::borrow::Cow::Borrowed(_)));
        let many: Vec<(String, String)> = (0..20).map(|i| (format!("x.k{i}"), i.to_string())).collect();
        let st = context_statement(&ctx(&many));
        assert!(st.sql.contains("set_config($49, $50, true), set_config('role'"), "{}", st.sql);
        assert_eq!(st.params.len(), 50);
    }

    #[test]
    fn the_read_only_context_adds_transaction_read_only_to_the_same_bindings() {
        let settings = vec![("app.x".to_string(), "y".to_string())];
        let st = read_only_context_statement(&ctx(&settings));
        assert_eq!(
            st.sql,
            "select set_config('transaction_read_only', 'on', true), set_config('search_path', $1, true), \
             set_config('statement_timeout', $8, true), set_config($11, $12, true), set_config('role', $2, true), \
             set_config('request.jwt.claims', $3, true), set_config('request.method', $4, true), \
             set_config('request.path', $5, true), set_config('request.headers', $6, true), \
             set_config('request.cookies', $7, true), \
             set_config('timezone', coalesce(nullif($9, ''), current_setting('timezone')), true), \
             set_config('request.client_ip', $10, true)"
        );
        assert_eq!(st.params, context_statement(&ctx(&settings)).params);
    }
}

//! The lint table: rule id, level, title and why it matters, each with its catalog query
//! (`lints/<rule>.sql`). Every query takes `$1::text[]` (exposed schemas) and `$2::text[]`
//! (request roles) and returns rows `(object text, message text, fix text)`.

use tokio_postgres::types::Type;
use tokio_postgres::Client;

use super::{db_message, AuditError, Finding, Level};

pub(super) struct Lint {
    pub rule: &'static str,
    pub level: Level,
    pub title: &'static str,
    pub why: &'static str,
    sql: &'static str,
}

macro_rules! lint {
    ($rule:literal, $level:ident, $title:literal, $why:literal) => {
        Lint {
            rule: $rule,
            level: Level::$level,
            title: $title,
            why: $why,
            sql: include_str!(concat!("lints/", $rule, ".sql")),
        }
    };
}

/// In report order: errors first.
pub(super) const LINTS: &[Lint] = &[
    lint!(
        "rls_disabled",
        Error,
        "Table without row-level security",
        "Without RLS every row is reachable by any role granted the table: the grant alone decides, across all tenants."
    ),
    lint!(
        "rls_not_forced",
        Error,
        "Row-level security not forced",
        "The table owner skips unforced policies, and so does everything running as the owner: views without \
         security_invoker and SECURITY DEFINER functions it owns."
    ),
    lint!(
        "missing_policy",
        Error,
        "Granted command without a policy",
        "A command granted with no policy for it is either dead (RLS denies every row) or about to be opened by a \
         careless policy; grants and policies must say the same thing."
    ),
    lint!(
        "citus_restrictive_policy",
        Error,
        "Restrictive policy on a Citus table",
        "Citus creates every shard's policies without AS RESTRICTIVE: a tenant fence written as a restrictive \
         policy becomes one more permissive policy on the shards, and a viewer (or another org) passes it."
    ),
    lint!(
        "request_role_owns_object",
        Error,
        "Request role owns an object",
        "An owner may alter or drop the object, rewrite its policies and grants, and skips unforced RLS: a request \
         must never run as the owner of what it reads."
    ),
    lint!(
        "request_role_bypasses_rls",
        Error,
        "Request role bypasses row-level security",
        "Superusers and BYPASSRLS roles ignore every policy: each request made as this role sees every tenant's rows."
    ),
    lint!(
        "definer_search_path",
        Error,
        "SECURITY DEFINER function without a pinned search_path",
        "The function resolves names through the caller's search_path: whoever can create an object earlier on that \
         path makes it run their code with the owner's rights."
    ),
    lint!(
        "definer_public_execute",
        Error,
        "SECURITY DEFINER function executable by PUBLIC",
        "PostgreSQL grants EXECUTE to PUBLIC by default, so every role, anonymous requests included, runs the \
         function with its owner's rights (typically past RLS)."
    ),
    lint!(
        "view_not_security_invoker",
        Error,
        "View without security_invoker",
        "A view normally reads its tables with the view owner's rights: the owner's RLS exemption replaces the \
         caller's policies, and one tenant reads another's rows through it."
    ),
    lint!(
        "dangerous_grant",
        Error,
        "TRUNCATE, REFERENCES or TRIGGER granted to a request role",
        "TRUNCATE ignores RLS and empties every tenant's rows; REFERENCES lets a foreign key probe other tenants' \
         keys; TRIGGER lets a role run its code on other tenants' writes."
    ),
    lint!(
        "write_policy_true",
        Error,
        "Write policy with USING (true) or WITH CHECK (true)",
        "Permissive policies are OR-ed: one that is always true lets its roles write (or move rows into) any \
         tenant, whatever the other policies say."
    ),
    lint!(
        "schema_create_privilege",
        Error,
        "Request role may create objects in an exposed schema",
        "Objects a request role creates are its own (no RLS forced on it, no review) and can shadow names that \
         functions resolve through the search_path."
    ),
    lint!(
        "policy_trusts_user_metadata",
        Error,
        "Policy decides on user_metadata",
        "user_metadata is written by the user it describes (sign-up data, profile updates): a policy trusting it \
         lets users grant themselves access."
    ),
    lint!(
        "policy_to_public",
        Warning,
        "Policy applies to PUBLIC",
        "PUBLIC is every role, anonymous requests included: a policy written for signed-in users then also opens \
         rows to anon as soon as anon gets a grant."
    ),
    lint!(
        "unwrapped_claim_helper",
        Warning,
        "Policy calls a claim helper per row",
        "A stable function called directly in a policy runs once per row; wrapped as (select f()) it is an \
         InitPlan, computed once per statement. Large tables get orders of magnitude slower."
    ),
    lint!(
        "tenant_table_without_org_index",
        Warning,
        "Tenant table without an index led by org_id",
        "Every policy filters on org_id: without an index whose first column is org_id, each request scans every \
         tenant's rows, and the table cannot be distributed by org."
    ),
    lint!(
        "materialized_view_exposed",
        Warning,
        "Materialized view selectable by a request role",
        "Materialized views cannot have row-level security: whoever may select one reads every tenant's rows in it."
    ),
    lint!(
        "foreign_table_exposed",
        Warning,
        "Foreign table usable by a request role",
        "Foreign tables cannot have row-level security: whoever may use one reaches every remote row."
    ),
];

/// The lint of a rule id (every `Finding::rule` comes from this table).
pub(super) fn find(rule: &str) -> Option<&'static Lint> {
    LINTS.iter().find(|l| l.rule == rule)
}

/// Runs every lint in one read-only transaction; findings in table order, then by object.
pub(super) async fn run(client: &mut Client, schemas: &[String], roles: &[String]) -> Result<Vec<Finding>, AuditError> {
    let tx = client.build_transaction().read_only(true).start().await?;
    // Deparsed policy expressions then name every function outside pg_catalog with its schema
    // (unwrapped_claim_helper relies on it); catalog names always resolve through pg_catalog.
    tx.batch_execute("set local search_path = ''").await?;
    let mut findings = Vec::new();
    for lint in LINTS {
        let failed = |e: tokio_postgres::Error| AuditError::Lint { rule: lint.rule, message: db_message(&e) };
        // Typed, so a query may leave either parameter unused.
        let statement = tx.prepare_typed(lint.sql, &[Type::TEXT_ARRAY, Type::TEXT_ARRAY]).await.map_err(failed)?;
        let rows = tx.query(&statement, &[&schemas, &roles]).await.map_err(failed)?;
        let mut found = Vec::with_capacity(rows.len());
        for row in rows {
            let text = |i: usize| row.try_get::<_, Option<String>>(i).map(Option::unwrap_or_default);
            found.push(Finding {
                level: lint.level,
                rule: lint.rule,
                object: text(0).map_err(failed)?,
                message: text(1).map_err(failed)?,
                why: lint.why,
                fix: text(2).map_err(failed)?,
            });
        }
        found.sort_by(|a, b| (&a.object, &a.message, &a.fix).cmp(&(&b.object, &b.message, &b.fix)));
        findings.extend(found);
    }
    tx.commit().await?;
    Ok(findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_unique_and_errors_come_first() {
        let mut ids: Vec<&str> = LINTS.iter().map(|l| l.rule).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), LINTS.len());
        assert!(LINTS.windows(2).all(|w| w[0].level <= w[1].level));
    }

    #[test]
    fn every_query_returns_object_message_fix() {
        for l in LINTS {
            assert!(
                l.sql.contains("as object") && l.sql.contains("as message") && l.sql.contains("as fix"),
                "{}",
                l.rule
            );
            assert!(l.sql.starts_with("-- "), "{}: a comment says what the query finds", l.rule);
        }
    }
}

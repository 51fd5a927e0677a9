//! The four checks of the probe, each run as the impersonated user inside a savepoint that is
//! rolled back right after it: read (rows of other orgs visible), update (aimed at another org's
//! rows: 0 rows or 42501), delete (unfiltered: no other org's row may go), insert (a copy of
//! another org's row: 42501, else the row passed WITH CHECK).

use tokio_postgres::error::SqlState;
use tokio_postgres::Transaction;

use super::{Check, Outcome, ProbeUser, Relation, ORG};
use crate::audit::{db_message, AuditError};
use crate::sql::quote::quote_ident;

/// The four checks of one relation as one user.
pub(super) async fn probe_relation(
    tx: &Transaction<'_>,
    r: &Relation,
    u: &ProbeUser,
    role: &str,
) -> Result<Vec<Check>, AuditError> {
    let own_total: i64 = r.rows.iter().filter(|(org, _)| u.orgs.contains(org)).map(|(_, n)| n).sum();
    let other_total: i64 = r.rows.iter().filter(|(org, _)| !u.orgs.contains(org)).map(|(_, n)| n).sum();
    // The other probe user's org when it has rows here, else the foreign org with the most rows.
    let target = if r.rows.get(&u.other_org).is_some_and(|n| *n > 0) {
        Some(u.other_org.clone())
    } else {
        r.rows
            .iter()
            .filter(|(org, n)| !u.orgs.contains(org) && **n > 0)
            .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
            .map(|(org, _)| org.clone())
    };
    let who = Impersonation::new(&u.user, role);
    let mut checks = vec![read(tx, r, u, &who, own_total, other_total).await?];
    let Some(target) = target else {
        for command in ["update", "delete", "insert"] {
            checks.push(skipped(command, "no row of another org to aim at"));
        }
        return Ok(checks);
    };
    checks.push(update(tx, r, &who, &target).await?);
    checks.push(delete(tx, r, u, &who, other_total, &target).await?);
    checks.push(insert(tx, r, &who, &target).await?);
    Ok(checks)
}

fn check(command: &'static str, outcome: Outcome, detail: impl Into<String>) -> Check {
    Check { command, outcome, detail: detail.into() }
}

fn skipped(command: &'static str, detail: impl Into<String>) -> Check {
    check(command, Outcome::Skipped, detail)
}

fn denied(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE)
}

async fn read(
    tx: &Transaction<'_>,
    r: &Relation,
    u: &ProbeUser,
    who: &Impersonation,
    own_total: i64,
    other_total: i64,
) -> Result<Check, AuditError> {
    let org = quote_ident(ORG);
    let sql = format!(
        "select count(*) filter (where {org} is not null and not ({org}::text = any ($1::text[]))), \
                count(*) filter (where {org}::text = any ($1::text[])) from {}",
        r.quoted
    );
    who.enter(tx).await?;
    let result = tx.query_one(sql.as_str(), &[&u.orgs]).await;
    leave(tx).await?;
    Ok(match result {
        Err(e) if denied(&e) => check("read", Outcome::Ok, "denied (42501)"),
        Err(e) => check("read", Outcome::Inconclusive, format!("error: {}", db_message(&e))),
        Ok(row) => {
            let (other, own): (i64, i64) = (row.get(0), row.get(1));
            if other > 0 {
                check("read", Outcome::Leak, format!("sees {other} of the {other_total} rows of other orgs"))
            } else if own == 0 {
                check(
                    "read",
                    Outcome::Inconclusive,
                    format!(
                        "sees no row of other orgs, but none of its own {own_total} either (proves little: a \
                         policy that hides everything passes too)"
                    ),
                )
            } else {
                check(
                    "read",
                    Outcome::Ok,
                    format!("0 of {other_total} other orgs' rows visible; {own} of {own_total} own"),
                )
            }
        }
    })
}

/// Outcome of an UPDATE or DELETE aimed at another org's rows.
fn aimed_outcome(command: &'static str, target: &str, result: Result<u64, tokio_postgres::Error>) -> Check {
    match result {
        Ok(0) => check(command, Outcome::Ok, format!("0 rows of org {target}")),
        Ok(n) => check(command, Outcome::Leak, format!("{command}d {n} row(s) of org {target}")),
        Err(e) if denied(&e) => check(command, Outcome::Ok, "denied (42501)"),
        // The row got past the USING clause; a trigger or constraint stopped it.
        Err(e) => {
            check(command, Outcome::Inconclusive, format!("reached org {target}'s rows, then: {}", db_message(&e)))
        }
    }
}

async fn update(tx: &Transaction<'_>, r: &Relation, who: &Impersonation, target: &str) -> Result<Check, AuditError> {
    if r.updatable & 4 == 0 {
        return Ok(skipped("update", "not updatable"));
    }
    // A column the role may update, other than org_id and the primary key when possible.
    let column: Option<String> =
        tx.query_opt(include_str!("update_column.sql"), &[&r.oid, &who.role]).await?.map(|row| row.get(0));
    let Some(column) = column else {
        return Ok(skipped("update", format!("no UPDATE privilege for {}", who.role)));
    };
    let c = quote_ident(&column);
    let sql = format!("update {} set {c} = {c} where {}::text = $1", r.quoted, quote_ident(ORG));
    who.enter(tx).await?;
    let result = tx.execute(sql.as_str(), &[&target]).await;
    leave(tx).await?;
    Ok(aimed_outcome("update", target, result))
}

/// An unfiltered DELETE: without a WHERE clause reading columns, PostgreSQL applies only the DELETE
/// policies (a filter would add the SELECT policies, behind which a weak DELETE policy could hide).
/// The other orgs' rows are counted again as the superuser before the savepoint is rolled back.
async fn delete(
    tx: &Transaction<'_>,
    r: &Relation,
    u: &ProbeUser,
    who: &Impersonation,
    other_total: i64,
    target: &str,
) -> Result<Check, AuditError> {
    if r.updatable & 16 == 0 {
        return Ok(skipped("delete", "not deletable"));
    }
    let granted: bool = tx
        .query_one("select pg_catalog.has_table_privilege($2::text, $1::oid, 'DELETE')", &[&r.oid, &who.role])
        .await?
        .get(0);
    if !granted {
        return Ok(skipped("delete", format!("no DELETE privilege for {}", who.role)));
    }
    let org = quote_ident(ORG);
    let others_left =
        format!("select count(*) from {} where {org} is not null and not ({org}::text = any ($1::text[]))", r.quoted);
    who.enter(tx).await?;
    let result = match tx.execute(format!("delete from {}", r.quoted).as_str(), &[]).await {
        Ok(_) => {
            tx.batch_execute("reset role").await?;
            let left: i64 = tx.query_one(others_left.as_str(), &[&u.orgs]).await?.get(0);
            Ok(other_total - left)
        }
        Err(e) => Err(e),
    };
    leave(tx).await?;
    Ok(match result {
        Ok(0) => {
            check("delete", Outcome::Ok, format!("an unfiltered DELETE removed 0 of {other_total} other orgs' rows"))
        }
        Ok(n) => check("delete", Outcome::Leak, format!("an unfiltered DELETE removed {n} row(s) of other orgs")),
        Err(e) if denied(&e) => check("delete", Outcome::Ok, "denied (42501)"),
        // A trigger refused to delete some own row (say, the last owner): aim at the target instead.
        Err(e) => {
            let stopped = db_message(&e);
            let sql = format!("delete from {} where {org}::text = $1", r.quoted);
            who.enter(tx).await?;
            let aimed = tx.execute(sql.as_str(), &[&target]).await;
            leave(tx).await?;
            let mut c = aimed_outcome("delete", target, aimed);
            c.detail = format!("{} (an unfiltered DELETE was stopped: {stopped})", c.detail);
            c
        }
    })
}

/// Copies one of the target org's rows (read as the superuser) and inserts it as the user.
/// PostgreSQL checks WITH CHECK before constraints and unique indexes, so 42501 means denied,
/// and success or a constraint error (23xxx) means the row passed the policy.
async fn insert(tx: &Transaction<'_>, r: &Relation, who: &Impersonation, target: &str) -> Result<Check, AuditError> {
    if r.updatable & 8 == 0 {
        return Ok(skipped("insert", "not insertable"));
    }
    let columns: Vec<String> = tx
        .query(include_str!("insert_columns.sql"), &[&r.oid, &who.role])
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    if columns.is_empty() {
        return Ok(skipped("insert", format!("no INSERT privilege for {}", who.role)));
    }
    if !columns.iter().any(|c| c == ORG) {
        return Ok(skipped("insert", format!("org_id is not insertable by {}", who.role)));
    }
    let template: Option<String> = tx
        .query_opt(
            format!(
                "select pg_catalog.row_to_json(t)::text from {} t where t.{}::text = $1 limit 1",
                r.quoted,
                quote_ident(ORG)
            )
            .as_str(),
            &[&target],
        )
        .await?
        .map(|row| row.get(0));
    let Some(template) = template else {
        return Ok(skipped("insert", format!("no row of org {target} to copy")));
    };
    let list = columns.iter().map(|c| quote_ident(c)).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "insert into {t} ({list}) select {list} from pg_catalog.json_populate_record(null::{t}, $1::text::json)",
        t = r.quoted
    );
    who.enter(tx).await?;
    let result = tx.execute(sql.as_str(), &[&template]).await;
    leave(tx).await?;
    Ok(match result {
        Ok(_) => check("insert", Outcome::Leak, format!("inserted a copy of a row of org {target}")),
        Err(e) if denied(&e) => check("insert", Outcome::Ok, "denied (42501)"),
        Err(e) if e.code().is_some_and(|c| c.code().starts_with("23")) => check(
            "insert",
            Outcome::Leak,
            format!("a row for org {target} passed the policy check, then hit a constraint: {}", db_message(&e)),
        ),
        Err(e) => check("insert", Outcome::Inconclusive, format!("error before the policy check? {}", db_message(&e))),
    })
}

/// A user as the gateway presents them: the role, and the claims both as JSON and as the legacy
/// per-claim settings.
struct Impersonation {
    role: String,
    sub: String,
    claims: String,
}

impl Impersonation {
    fn new(user: &str, role: &str) -> Self {
        let claims = serde_json::json!({"sub": user, "role": role}).to_string();
        Impersonation { role: role.to_string(), sub: user.to_string(), claims }
    }

    /// A savepoint, then the role and claims, local to it.
    async fn enter(&self, tx: &Transaction<'_>) -> Result<(), AuditError> {
        savepoint(tx).await?;
        tx.execute(
            "select pg_catalog.set_config('request.jwt.claims', $1, true), \
                    pg_catalog.set_config('request.jwt.claim.sub', $2, true), \
                    pg_catalog.set_config('request.jwt.claim.role', $3, true), \
                    pg_catalog.set_config('role', $3, true)",
            &[&self.claims, &self.sub, &self.role],
        )
        .await?;
        Ok(())
    }
}

pub(super) async fn savepoint(tx: &Transaction<'_>) -> Result<(), AuditError> {
    Ok(tx.batch_execute("savepoint rowgate_probe").await?)
}

/// Undoes everything since the savepoint: rows, role and claims.
pub(super) async fn leave(tx: &Transaction<'_>) -> Result<(), AuditError> {
    Ok(tx.batch_execute("rollback to savepoint rowgate_probe; release savepoint rowgate_probe").await?)
}

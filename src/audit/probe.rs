//! `rowgate audit --probe`: impersonates one member of each of two orgs found in the data and
//! tries to read, update, delete and insert the other org's rows in every exposed relation that
//! has an `org_id` column. Connect as a superuser (the role that runs `rowgate migrate`): the
//! probe counts every org's rows past RLS and switches to the probe role.
//!
//! Everything runs in ONE transaction that is always rolled back, and every check in a savepoint
//! rolled back right after it, so no row changes (a sequence consumed by a column default is the
//! one thing PostgreSQL never rolls back). Identifiers come from the catalog and are quoted by
//! `sql::quote`; values are bind parameters.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Transaction};

use super::{db_message, AuditError};
use crate::sql::quote::{push_qualified, quote_ident};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeOptions {
    /// The role requests of signed-in users run as.
    pub role: String,
    /// `(schema, table)` pairing `user_id` with `org_id`; `None`: found by its columns.
    pub membership_table: Option<(Option<String>, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Nothing of the other org was reached (0 rows, or 42501).
    Ok,
    /// A row of another org was read or written.
    Leak,
    /// The check proves nothing either way (nothing of its own visible, an unexpected error).
    Inconclusive,
    /// Not applicable: the role lacks the privilege, or there is no row to try.
    Skipped,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub command: &'static str,
    pub outcome: Outcome,
    pub detail: String,
}

/// The checks of one relation as one user.
#[derive(Debug, Clone, Serialize)]
pub struct TableProbe {
    pub table: String,
    pub user: String,
    pub checks: Vec<Check>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProbeUser {
    pub user: String,
    /// Every org the user is a member of.
    pub orgs: Vec<String>,
    /// The org whose rows the writes aim at (where the relation has some).
    pub other_org: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProbeReport {
    pub role: String,
    pub membership_table: String,
    pub users: Vec<ProbeUser>,
    pub tables: Vec<TableProbe>,
    /// Why nothing was probed (fewer than two orgs with members), when so.
    pub note: Option<String>,
}

impl ProbeReport {
    pub fn count(&self, outcome: Outcome) -> usize {
        self.tables.iter().flat_map(|t| &t.checks).filter(|c| c.outcome == outcome).count()
    }

    pub fn leaks(&self) -> usize {
        self.count(Outcome::Leak)
    }
}

/// Checks the connection may probe, then probes inside a transaction that is rolled back.
pub async fn probe(client: &mut Client, schemas: &[String], options: &ProbeOptions) -> Result<ProbeReport, AuditError> {
    let row = client
        .query_one(
            "select r.rolname::text, r.rolsuper, exists (select 1 from pg_catalog.pg_roles p where p.rolname = $1) \
               from pg_catalog.pg_roles r where r.rolname = current_user",
            &[&options.role],
        )
        .await?;
    let (me, superuser, role_exists): (String, bool, bool) = (row.get(0), row.get(1), row.get(2));
    if !superuser {
        return Err(AuditError::Usage(format!(
            "--probe: connect as a superuser (the role that runs rowgate migrate): the probe reads every org's rows \
             past row-level security and switches roles; {me} is not one"
        )));
    }
    if !role_exists {
        return Err(AuditError::Usage(format!("--probe-role: no role named {}", options.role)));
    }
    let tx = client.transaction().await?;
    let report = run(&tx, schemas, options).await;
    // Whatever happened above, nothing stays.
    tx.rollback().await?;
    report
}

/// A relation with an `org_id` column and its rows per org (read past RLS).
struct Relation {
    oid: u32,
    name: String,
    quoted: String,
    /// `pg_relation_is_updatable` bits: 4 UPDATE, 8 INSERT, 16 DELETE.
    updatable: i32,
    rows: BTreeMap<String, i64>,
    unreadable: Option<String>,
}

async fn run(tx: &Transaction<'_>, schemas: &[String], options: &ProbeOptions) -> Result<ProbeReport, AuditError> {
    let (membership_table, membership_quoted, has_role) = membership_table(tx, schemas, options).await?;
    let mut relations = relations(tx, schemas).await?;
    for r in &mut relations {
        count_rows(tx, r).await?;
    }
    let mut totals: BTreeMap<String, i64> = BTreeMap::new();
    for r in &relations {
        for (org, n) in &r.rows {
            *totals.entry(org.clone()).or_default() += n;
        }
    }
    let mut ranked: Vec<(String, i64)> = totals.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let ranked: Vec<String> = ranked.into_iter().take(MAX_ORGS).map(|(org, _)| org).collect();
    let memberships = memberships(tx, &membership_quoted, has_role, &ranked).await?;

    let mut report =
        ProbeReport { role: options.role.clone(), membership_table, users: Vec::new(), tables: Vec::new(), note: None };
    let Some(pair) = choose_pair(&ranked, &memberships) else {
        report.note = Some("fewer than two orgs with members in the data: nothing to compare".into());
        return Ok(report);
    };
    let user_orgs = orgs_by_user(&memberships);
    let users: Vec<ProbeUser> = [(&pair.0, &pair.1), (&pair.1, &pair.0)]
        .into_iter()
        .map(|(me, other)| ProbeUser {
            user: me.user.clone(),
            orgs: user_orgs.get(&me.user).map(|s| s.iter().cloned().collect()).unwrap_or_default(),
            other_org: other.org.clone(),
        })
        .collect();
    for r in &relations {
        for u in &users {
            let checks = match &r.unreadable {
                Some(e) => vec![Check {
                    command: "read",
                    outcome: Outcome::Inconclusive,
                    detail: format!("cannot read it even as the superuser: {e}"),
                }],
                None => probe_relation(tx, r, u, &options.role).await?,
            };
            report.tables.push(TableProbe { table: r.name.clone(), user: u.user.clone(), checks });
        }
    }
    report.users = users;
    Ok(report)
}

/// Orgs considered when pairing users: the ones with the most tenant rows.
const MAX_ORGS: usize = 50;
/// Members considered per org.
const MAX_CANDIDATES: usize = 5;

/// The named table, or the first table with `org_id` and `user_id` columns in the exposed schemas
/// or public (one named memberships first). Returns its name, quoted name and whether it has a
/// `role` column.
async fn membership_table(
    tx: &Transaction<'_>,
    schemas: &[String],
    options: &ProbeOptions,
) -> Result<(String, String, bool), AuditError> {
    let (schema, table) = match &options.membership_table {
        Some((s, t)) => (s.as_deref(), Some(t.as_str())),
        None => (None, None),
    };
    let row = tx
        .query_opt(
            "select n.nspname::text, c.relname::text, \
                    exists (select 1 from pg_catalog.pg_attribute a where a.attrelid = c.oid and a.attname = 'role' \
                             and a.attnum > 0 and not a.attisdropped) \
               from pg_catalog.pg_class c \
               join pg_catalog.pg_namespace n on n.oid = c.relnamespace \
              where c.relkind in ('r', 'p') \
                and case when $1::text is null then n.nspname = any ($3::text[]) or n.nspname = 'public' \
                         else n.nspname = $1::text end \
                and ($2::text is null or c.relname = $2::text) \
                and exists (select 1 from pg_catalog.pg_attribute a where a.attrelid = c.oid and a.attname = 'org_id' \
                             and a.attnum > 0 and not a.attisdropped) \
                and exists (select 1 from pg_catalog.pg_attribute a where a.attrelid = c.oid and a.attname = 'user_id' \
                             and a.attnum > 0 and not a.attisdropped) \
              order by c.relname = 'memberships' desc, n.nspname = any ($3::text[]) desc, n.nspname, c.relname \
              limit 1",
            &[&schema, &table, &schemas],
        )
        .await?;
    let Some(row) = row else {
        return Err(AuditError::Usage(match &options.membership_table {
            Some((s, t)) => format!(
                "--membership-table: no table {}{t} with org_id and user_id columns",
                s.as_ref().map(|s| format!("{s}.")).unwrap_or_default()
            ),
            None => "--probe: no membership table (a table of the exposed schemas or public with org_id and user_id \
                     columns); name it with --membership-table"
                .into(),
        }));
    };
    let (schema, table, has_role): (String, String, bool) = (row.get(0), row.get(1), row.get(2));
    let mut quoted = String::new();
    push_qualified(&mut quoted, &schema, &table);
    Ok((format!("{schema}.{table}"), quoted, has_role))
}

async fn relations(tx: &Transaction<'_>, schemas: &[String]) -> Result<Vec<Relation>, AuditError> {
    let rows = tx
        .query(
            "select c.oid, n.nspname::text, c.relname::text, pg_catalog.pg_relation_is_updatable(c.oid, true) \
               from pg_catalog.pg_class c \
               join pg_catalog.pg_namespace n on n.oid = c.relnamespace \
               join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attname = 'org_id' \
                                              and a.attnum > 0 and not a.attisdropped \
              where c.relkind in ('r', 'p', 'v', 'm', 'f') and n.nspname = any ($1::text[]) \
              order by n.nspname, c.relname",
            &[&schemas],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let (schema, name): (String, String) = (r.get(1), r.get(2));
            let mut quoted = String::new();
            push_qualified(&mut quoted, &schema, &name);
            Relation {
                oid: r.get(0),
                name: format!("{schema}.{name}"),
                quoted,
                updatable: r.get(3),
                rows: BTreeMap::new(),
                unreadable: None,
            }
        })
        .collect())
}

/// Rows per org, as the superuser; a relation that cannot be read (a broken view, a foreign
/// table without a server) is noted instead of stopping the probe.
async fn count_rows(tx: &Transaction<'_>, r: &mut Relation) -> Result<(), AuditError> {
    let sql = format!("select {org}::text, count(*) from {} where {org} is not null group by 1", r.quoted, org = ORG);
    savepoint(tx).await?;
    let result = tx.query(sql.as_str(), &[]).await;
    leave(tx).await?;
    match result {
        Ok(rows) => r.rows = rows.iter().map(|row| (row.get(0), row.get(1))).collect(),
        Err(e) => r.unreadable = Some(db_message(&e)),
    }
    Ok(())
}

const ORG: &str = "\"org_id\"";

/// `(org, user, role)` of every member of the ranked orgs, and all their other memberships.
async fn memberships(
    tx: &Transaction<'_>,
    table: &str,
    has_role: bool,
    orgs: &[String],
) -> Result<Vec<(String, String, Option<String>)>, AuditError> {
    let role = if has_role { "\"role\"::text" } else { "null::text" };
    let sql = format!(
        "select \"org_id\"::text, \"user_id\"::text, {role} from {table} \
          where \"org_id\" is not null \
            and \"user_id\" in (select \"user_id\" from {table} where \"org_id\"::text = any ($1::text[]))"
    );
    let rows = tx.query(sql.as_str(), &[&orgs]).await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
}

fn orgs_by_user(memberships: &[(String, String, Option<String>)]) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (org, user, _) in memberships {
        out.entry(user.clone()).or_default().insert(org.clone());
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Pick {
    user: String,
    org: String,
}

/// Two users of two different orgs, neither a member of the other's org: the orgs with the most
/// rows first, and in each the member most likely to be allowed to write (owner, admin), in the
/// fewest orgs.
fn choose_pair(ranked: &[String], memberships: &[(String, String, Option<String>)]) -> Option<(Pick, Pick)> {
    let user_orgs = orgs_by_user(memberships);
    let candidates = |org: &String| -> Vec<String> {
        let mut members: Vec<(u8, usize, &String)> = memberships
            .iter()
            .filter(|(o, _, _)| o == org)
            .map(|(_, user, role)| {
                let rank = match role.as_deref() {
                    Some("owner") => 0,
                    Some("admin") => 1,
                    _ => 2,
                };
                (rank, user_orgs.get(user).map_or(0, BTreeSet::len), user)
            })
            .collect();
        members.sort();
        members.dedup_by(|a, b| a.2 == b.2);
        members.into_iter().take(MAX_CANDIDATES).map(|(_, _, u)| u.clone()).collect()
    };
    let member = |user: &String, org: &String| user_orgs.get(user).is_some_and(|s| s.contains(org));
    for a in ranked {
        for ua in candidates(a) {
            for b in ranked.iter().filter(|b| *b != a && !member(&ua, b)) {
                if let Some(ub) = candidates(b).into_iter().find(|ub| *ub != ua && !member(ub, a)) {
                    return Some((Pick { user: ua, org: a.clone() }, Pick { user: ub, org: b.clone() }));
                }
            }
        }
    }
    None
}

/// The four checks of one relation as one user.
async fn probe_relation(
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
    checks.push(delete(tx, r, &who, &target).await?);
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
    let sql = format!(
        "select count(*) filter (where {ORG} is not null and not ({ORG}::text = any ($1::text[]))), \
                count(*) filter (where {ORG}::text = any ($1::text[])) from {}",
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
fn write_outcome(command: &'static str, target: &str, result: Result<u64, tokio_postgres::Error>) -> Check {
    let verb = if command == "update" { "updated" } else { "deleted" };
    match result {
        Ok(0) => check(command, Outcome::Ok, format!("0 rows of org {target}")),
        Ok(n) => check(command, Outcome::Leak, format!("{verb} {n} row(s) of org {target}")),
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
    let column: Option<String> = tx
        .query_opt(
            "select a.attname::text from pg_catalog.pg_attribute a \
              where a.attrelid = $1 and a.attnum > 0 and not a.attisdropped \
                and a.attgenerated = '' and a.attidentity <> 'a' \
                and pg_catalog.has_column_privilege($2::text, a.attrelid, a.attnum, 'UPDATE') \
              order by a.attname = 'org_id', \
                       a.attnum = any (coalesce((select i.indkey::int2[] from pg_catalog.pg_index i \
                                                  where i.indrelid = a.attrelid and i.indisprimary), '{}')), \
                       a.attnum \
              limit 1",
            &[&r.oid, &who.role],
        )
        .await?
        .map(|row| row.get(0));
    let Some(column) = column else {
        return Ok(skipped("update", format!("no UPDATE privilege for {}", who.role)));
    };
    let c = quote_ident(&column);
    let sql = format!("update {} set {c} = {c} where {ORG}::text = $1", r.quoted);
    who.enter(tx).await?;
    let result = tx.execute(sql.as_str(), &[&target]).await;
    leave(tx).await?;
    Ok(write_outcome("update", target, result))
}

async fn delete(tx: &Transaction<'_>, r: &Relation, who: &Impersonation, target: &str) -> Result<Check, AuditError> {
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
    let sql = format!("delete from {} where {ORG}::text = $1", r.quoted);
    who.enter(tx).await?;
    let result = tx.execute(sql.as_str(), &[&target]).await;
    leave(tx).await?;
    Ok(write_outcome("delete", target, result))
}

/// Copies one of the target org's rows (read as the superuser) and inserts it as the user.
/// PostgreSQL checks WITH CHECK before constraints and unique indexes, so 42501 means denied,
/// and success or a constraint error (23xxx) means the row passed the policy.
async fn insert(tx: &Transaction<'_>, r: &Relation, who: &Impersonation, target: &str) -> Result<Check, AuditError> {
    if r.updatable & 8 == 0 {
        return Ok(skipped("insert", "not insertable"));
    }
    let columns: Vec<String> = tx
        .query(
            "select a.attname::text from pg_catalog.pg_attribute a \
              where a.attrelid = $1 and a.attnum > 0 and not a.attisdropped \
                and a.attgenerated = '' and a.attidentity <> 'a' \
                and pg_catalog.has_column_privilege($2::text, a.attrelid, a.attnum, 'INSERT') \
              order by a.attnum",
            &[&r.oid, &who.role],
        )
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    if columns.is_empty() {
        return Ok(skipped("insert", format!("no INSERT privilege for {}", who.role)));
    }
    if !columns.iter().any(|c| c == "org_id") {
        return Ok(skipped("insert", format!("org_id is not insertable by {}", who.role)));
    }
    let template: Option<String> = tx
        .query_opt(
            format!("select pg_catalog.row_to_json(t)::text from {} t where {ORG}::text = $1 limit 1", r.quoted)
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

async fn savepoint(tx: &Transaction<'_>) -> Result<(), AuditError> {
    Ok(tx.batch_execute("savepoint rowgate_probe").await?)
}

/// Undoes everything since the savepoint: rows, role and claims.
async fn leave(tx: &Transaction<'_>) -> Result<(), AuditError> {
    Ok(tx.batch_execute("rollback to savepoint rowgate_probe; release savepoint rowgate_probe").await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(org: &str, user: &str, role: &str) -> (String, String, Option<String>) {
        (org.into(), user.into(), Some(role.into()))
    }

    #[test]
    fn pairs_owners_of_the_biggest_orgs() {
        let ms = vec![
            m("A", "viewer-a", "viewer"),
            m("A", "owner-a", "owner"),
            m("B", "owner-b", "owner"),
            m("C", "x", "owner"),
        ];
        let (a, b) = choose_pair(&["A".into(), "B".into(), "C".into()], &ms).unwrap();
        assert_eq!((a.user.as_str(), a.org.as_str()), ("owner-a", "A"));
        assert_eq!((b.user.as_str(), b.org.as_str()), ("owner-b", "B"));
    }

    #[test]
    fn never_pairs_members_of_each_others_org() {
        // owner-a is also in B, so B's side must be someone outside A, in an org owner-a is not in.
        let ms =
            vec![m("A", "owner-a", "owner"), m("B", "owner-a", "member"), m("B", "b", "owner"), m("C", "c", "member")];
        let (a, b) = choose_pair(&["A".into(), "B".into(), "C".into()], &ms).unwrap();
        assert_eq!(a.user, "owner-a");
        assert_eq!((b.user.as_str(), b.org.as_str()), ("c", "C"));
        assert!(choose_pair(&["A".into()], &ms[..1]).is_none());
        let shared = vec![m("A", "u", "owner"), m("B", "u", "owner")];
        assert!(choose_pair(&["A".into(), "B".into()], &shared).is_none());
    }
}

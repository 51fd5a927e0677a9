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
use tokio_postgres::{Client, Transaction};

mod checks;

use super::{db_message, AuditError};
use crate::sql::quote::{push_qualified, quote_ident};
use checks::{leave, probe_relation, savepoint};

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
    let row = tx.query_opt(include_str!("probe/membership_table.sql"), &[&schema, &table, &schemas]).await?;
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
    let rows = tx.query(include_str!("probe/relations.sql"), &[&schemas]).await?;
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
    let org = quote_ident(ORG);
    let sql = format!("select {org}::text, count(*) from {} where {org} is not null group by 1", r.quoted);
    savepoint(tx).await?;
    let result = tx.query(sql.as_str(), &[]).await;
    leave(tx).await?;
    match result {
        Ok(rows) => r.rows = rows.iter().map(|row| (row.get(0), row.get(1))).collect(),
        Err(e) => r.unreadable = Some(db_message(&e)),
    }
    Ok(())
}

/// The tenant column the probe looks for (and the membership table's, with `user_id`).
const ORG: &str = "org_id";

/// `(org, user, role)` of every member of the ranked orgs, and all their other memberships.
async fn memberships(
    tx: &Transaction<'_>,
    table: &str,
    has_role: bool,
    orgs: &[String],
) -> Result<Vec<(String, String, Option<String>)>, AuditError> {
    let (org, user) = (quote_ident(ORG), quote_ident("user_id"));
    let role = if has_role { format!("{}::text", quote_ident("role")) } else { "null::text".into() };
    let sql = format!(
        "select {org}::text, {user}::text, {role} from {table} \
          where {org} is not null and {user} in (select {user} from {table} where {org}::text = any ($1::text[]))"
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

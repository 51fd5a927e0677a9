//! `rowgate audit`: catalog lints over a live database (SPEC §6, plus the relevant lints of
//! Supabase's database linter) and, with `--probe`, an impersonation probe of tenant isolation.
//!
//! The rules live in SQL (`lints/<rule>.sql`, one catalog query each); this module resolves the
//! exposed schemas and request roles, runs the queries and hands the findings to `report`.

mod lints;
pub mod probe;
pub mod report;
pub mod settings;

use serde::Serialize;
use thiserror::Error;
use tokio_postgres::Client;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warning,
}

/// One rule broken by one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub level: Level,
    pub rule: &'static str,
    /// `schema.table`, `schema.function(args)`, `policy name on schema.table`, a schema or a role.
    pub object: String,
    pub message: String,
    /// Why the rule matters (the same for every finding of the rule).
    pub why: &'static str,
    /// SQL that repairs this object (placeholders in `<angle brackets>`).
    pub fix: String,
}

#[derive(Debug, Error)]
pub enum AuditError {
    /// An option the database contradicts (unknown schema or role, no membership table, ...).
    #[error("{0}")]
    Usage(String),
    #[error("lint {rule}: {message}")]
    Lint { rule: &'static str, message: String },
    #[error("database: {0}")]
    Database(String),
}

impl From<tokio_postgres::Error> for AuditError {
    fn from(e: tokio_postgres::Error) -> Self {
        AuditError::Database(db_message(&e))
    }
}

/// The server's message (and SQLSTATE) rather than the driver's "db error" wrapper.
pub(crate) fn db_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditOptions {
    /// The schemas the gateway exposes.
    pub schemas: Vec<String>,
    /// The roles requests run as; `None`: every role `authenticator` may switch to.
    pub request_roles: Option<Vec<String>>,
}

/// Everything one `rowgate audit` run found.
#[derive(Debug, Clone)]
pub struct Audit {
    pub schemas: Vec<String>,
    pub request_roles: Vec<String>,
    pub findings: Vec<Finding>,
    pub probe: Option<probe::ProbeReport>,
}

impl Audit {
    pub fn errors(&self) -> usize {
        self.findings.iter().filter(|f| f.level == Level::Error).count()
    }

    pub fn warnings(&self) -> usize {
        self.findings.iter().filter(|f| f.level == Level::Warning).count()
    }

    /// Exit status 1: an error-level finding or a probe leak (warnings never fail).
    pub fn failed(&self) -> bool {
        self.errors() > 0 || self.probe.as_ref().is_some_and(|p| p.leaks() > 0)
    }
}

/// Every rule: `(id, level, title)`, in report order.
pub fn rules() -> Vec<(&'static str, Level, &'static str)> {
    lints::LINTS.iter().map(|l| (l.rule, l.level, l.title)).collect()
}

/// The lints, then the probe when asked for.
pub async fn run(
    client: &mut Client,
    options: &AuditOptions,
    probe: Option<&probe::ProbeOptions>,
) -> Result<Audit, AuditError> {
    check_schemas(client, &options.schemas).await?;
    let request_roles = request_roles(client, options).await?;
    let findings = lints::run(client, &options.schemas, &request_roles).await?;
    let probe = match probe {
        Some(p) => Some(probe::probe(client, &options.schemas, p).await?),
        None => None,
    };
    Ok(Audit { schemas: options.schemas.clone(), request_roles, findings, probe })
}

/// The lints alone, in report order.
pub async fn lint(client: &mut Client, options: &AuditOptions) -> Result<Vec<Finding>, AuditError> {
    check_schemas(client, &options.schemas).await?;
    let roles = request_roles(client, options).await?;
    lints::run(client, &options.schemas, &roles).await
}

/// A misspelt schema would make every lint silently pass.
async fn check_schemas(client: &Client, schemas: &[String]) -> Result<(), AuditError> {
    let missing: Vec<String> = client
        .query(
            "select s from unnest($1::text[]) s where not exists (select 1 from pg_catalog.pg_namespace n where n.nspname = s)",
            &[&schemas],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    match missing.as_slice() {
        [] => Ok(()),
        _ => Err(AuditError::Usage(format!("ROWGATE_DB_SCHEMAS: no schema named {}", missing.join(", ")))),
    }
}

/// The given roles (which must exist), or the roles `authenticator` is a member of, directly or
/// through other roles: the ones the gateway may `set role` to.
pub async fn request_roles(client: &Client, options: &AuditOptions) -> Result<Vec<String>, AuditError> {
    if let Some(roles) = &options.request_roles {
        let missing: Vec<String> = client
            .query(
                "select r from unnest($1::text[]) r where not exists (select 1 from pg_catalog.pg_roles x where x.rolname = r)",
                &[roles],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        if !missing.is_empty() {
            return Err(AuditError::Usage(format!("--request-roles: no role named {}", missing.join(", "))));
        }
        return Ok(roles.clone());
    }
    let row = client.query_one(include_str!("request_roles.sql"), &[]).await?;
    let roles: Vec<String> = row.get(0);
    if roles.is_empty() {
        return Err(AuditError::Usage(
            "no request roles: the role authenticator does not exist or is a member of no role; \
             name them with --request-roles"
                .into(),
        ));
    }
    Ok(roles)
}

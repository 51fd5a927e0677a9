//! `rowgate migrate`: the refinery migrations embedded from `sql/` (tables, types, data: history,
//! applied once), then every `functions/*.sql` (the live definition of every function) and every
//! `policies/*.sql`, re-applied on each run, each file in its own transaction (so a failing file
//! changes nothing and names itself). Re-running applies no migration and recreates the same
//! functions and policies.
//!
//! On a database with the `citus` extension the policies take the Citus form and the reference
//! schema is distributed (sql/citus/, docs/scaling.md): in one transaction, every policy of a
//! Citus table is dropped everywhere, policies/ recreates the single-node form on the coordinator
//! only, and sql/citus/distribute.sql folds it into the Citus form (created on every shard) and
//! distributes what is not distributed yet. Re-running it changes nothing.

use thiserror::Error;

mod embedded {
    refinery::embed_migrations!("sql");
}

include!(concat!(env!("OUT_DIR"), "/reapplied.rs"));

#[derive(Debug, Error)]
pub enum MigrateError {
    #[error("migration failed: {0}")]
    Refinery(#[from] refinery::Error),
    #[error("{file}: {message}")]
    Sql { file: String, message: String },
}

impl MigrateError {
    fn sql(file: &str, e: tokio_postgres::Error) -> Self {
        let message = match e.as_db_error() {
            Some(db) => match db.detail() {
                Some(d) => format!("{} ({})", db.message(), d),
                None => db.message().to_string(),
            },
            None => e.to_string(),
        };
        MigrateError::Sql { file: file.to_string(), message }
    }
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub migrations_applied: usize,
    pub function_files: usize,
    pub policy_files: usize,
}

/// Pending migrations, then all function files, then all policy files.
pub async fn migrate(client: &mut tokio_postgres::Client) -> Result<Report, MigrateError> {
    let report = embedded::migrations::runner().run_async(client).await?;
    let function_files = apply_files(client, FUNCTION_FILES).await?;
    let policy_files = if is_citus(client).await? {
        apply_citus(client).await?;
        POLICY_FILES.len()
    } else {
        apply_files(client, POLICY_FILES).await?
    };
    Ok(Report { migrations_applied: report.applied_migrations().len(), function_files, policy_files })
}

/// Each file in one transaction; the first failure stops and rolls its file back.
pub async fn apply_files(client: &mut tokio_postgres::Client, files: &[(&str, &str)]) -> Result<usize, MigrateError> {
    for (file, sql) in files {
        let tx = client.transaction().await.map_err(|e| MigrateError::sql(file, e))?;
        tx.batch_execute(sql).await.map_err(|e| MigrateError::sql(file, e))?;
        tx.commit().await.map_err(|e| MigrateError::sql(file, e))?;
    }
    Ok(files.len())
}

/// The database has the citus extension (and so gets the Citus form of the schema).
pub async fn is_citus(client: &tokio_postgres::Client) -> Result<bool, MigrateError> {
    let row = client
        .query_one("select exists (select 1 from pg_catalog.pg_extension where extname = 'citus')", &[])
        .await
        .map_err(|e| MigrateError::sql("pg_extension", e))?;
    Ok(row.get(0))
}

const CITUS_BEFORE: (&str, &str) =
    ("sql/citus/policies_before.sql", include_str!("../../sql/citus/policies_before.sql"));
const CITUS_DISTRIBUTE: (&str, &str) = ("sql/citus/distribute.sql", include_str!("../../sql/citus/distribute.sql"));

/// policies/ in the Citus form and the distribution, all in one transaction.
async fn apply_citus(client: &mut tokio_postgres::Client) -> Result<(), MigrateError> {
    let tx = client.transaction().await.map_err(|e| MigrateError::sql(CITUS_BEFORE.0, e))?;
    let setup = "set local citus.multi_shard_modify_mode = 'sequential'";
    tx.batch_execute(setup).await.map_err(|e| MigrateError::sql(CITUS_BEFORE.0, e))?;
    tx.batch_execute(CITUS_BEFORE.1).await.map_err(|e| MigrateError::sql(CITUS_BEFORE.0, e))?;
    for (file, sql) in POLICY_FILES {
        let local = "set local citus.enable_ddl_propagation = off";
        tx.batch_execute(local).await.map_err(|e| MigrateError::sql(file, e))?;
        tx.batch_execute(sql).await.map_err(|e| MigrateError::sql(file, e))?;
    }
    let on = "set local citus.enable_ddl_propagation = on";
    tx.batch_execute(on).await.map_err(|e| MigrateError::sql(CITUS_DISTRIBUTE.0, e))?;
    tx.batch_execute(CITUS_DISTRIBUTE.1).await.map_err(|e| MigrateError::sql(CITUS_DISTRIBUTE.0, e))?;
    tx.commit().await.map_err(|e| MigrateError::sql(CITUS_DISTRIBUTE.0, e))
}

/// The demo schema the embedded default loads so the README's first request works.
pub const DEMO_SQL: &str = include_str!("../../demo/demo.sql");

pub async fn load_demo(client: &tokio_postgres::Client) -> Result<(), MigrateError> {
    client.batch_execute(DEMO_SQL).await.map_err(|e| MigrateError::sql("demo/demo.sql", e))
}

//! Applies the migrations embedded from `sql/` (refinery).

use thiserror::Error;

mod embedded {
    refinery::embed_migrations!("sql");
}

#[derive(Debug, Error)]
pub enum MigrateError {
    #[error("migration failed: {0}")]
    Refinery(#[from] refinery::Error),
    #[error("{file}: {source}")]
    Sql { file: &'static str, source: tokio_postgres::Error },
}

/// Runs pending migrations; already-applied ones are skipped.
pub async fn migrate(client: &mut tokio_postgres::Client) -> Result<usize, MigrateError> {
    let report = embedded::migrations::runner().run_async(client).await?;
    Ok(report.applied_migrations().len())
}

/// The demo schema the embedded default loads so the README's first request works.
pub const DEMO_SQL: &str = include_str!("../../demo/demo.sql");

pub async fn load_demo(client: &tokio_postgres::Client) -> Result<(), MigrateError> {
    client.batch_execute(DEMO_SQL).await.map_err(|source| MigrateError::Sql { file: "demo/demo.sql", source })
}

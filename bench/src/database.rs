//! The benchmark's PostgreSQL: a private cluster (rowgate's own cluster code) on a TCP port,
//! the reference schema migrated by the rowgate binary, and the generated data set.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use rowgate::cluster::{Cluster, ClusterOptions};
use tokio_postgres::{Client, NoTls};

use crate::scenarios::DataSize;

const DATA_SQL: &str = include_str!("../sql/data.sql");

pub struct Database {
    pub cluster: Cluster,
    pub port: u16,
}

/// Settings for a benchmark, not a test: the data set fits in shared_buffers, and commits do
/// not wait for the disk (fsync stays on; what is measured is CPU, not this VM's flush latency).
fn settings() -> Vec<(String, String)> {
    [
        ("shared_buffers", "1GB"),
        ("max_connections", "300"),
        ("synchronous_commit", "off"),
        ("checkpoint_timeout", "30min"),
        ("max_wal_size", "8GB"),
        ("log_min_messages", "warning"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

impl Database {
    /// Starts the cluster under `dir` (created by initdb when new).
    pub async fn start(dir: &Path, port: u16, statement_stats: bool) -> Result<Database> {
        std::fs::create_dir_all(dir)?;
        let mut extra_conf = settings();
        if statement_stats {
            extra_conf.push(("shared_preload_libraries".into(), "pg_stat_statements".into()));
            extra_conf.push(("pg_stat_statements.track_planning".into(), "on".into()));
        }
        let opts = ClusterOptions {
            data_dir: dir.join("data"),
            socket_dir: dir.join("run"),
            tcp_port: Some(port),
            fast: false,
            extra_conf,
            socket_port: None,
            log_file: Some(dir.join("postgres.log")),
        };
        let cluster = Cluster::start(opts).await.context("start the benchmark's PostgreSQL")?;
        Ok(Database { cluster, port })
    }

    pub fn url(&self, user: &str, db: &str) -> String {
        format!("postgres://{user}@127.0.0.1:{}/{db}", self.port)
    }

    pub fn postmaster_pid(&self) -> Result<u32> {
        let pidfile = self.cluster.data_dir().join("postmaster.pid");
        let text = std::fs::read_to_string(&pidfile).with_context(|| format!("read {}", pidfile.display()))?;
        Ok(text.lines().next().unwrap_or("").trim().parse()?)
    }

    pub async fn connect(&self, user: &str, db: &str) -> Result<Client> {
        let (client, conn) = tokio_postgres::connect(&self.url(user, db), NoTls).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(client)
    }

    /// Whether database `db` holds a complete data set of this size.
    pub async fn has_data(&self, db: &str, size: DataSize) -> Result<bool> {
        let admin = self.connect("postgres", "postgres").await?;
        if admin.query_opt("select 1 from pg_database where datname = $1", &[&db]).await?.is_none() {
            return Ok(false);
        }
        let c = self.connect("postgres", db).await?;
        let row = c.query_opt("select value from bench.meta where key = 'size'", &[]).await.ok().flatten();
        Ok(row.map(|r| r.get::<_, String>(0)) == Some(size_key(size)))
    }

    /// A new database `db`: `rowgate migrate`, then the data set.
    pub async fn create(&self, db: &str, rowgate: &Path, size: DataSize) -> Result<()> {
        let admin = self.connect("postgres", "postgres").await?;
        admin.batch_execute(&format!("drop database if exists {db} with (force)")).await?;
        admin.batch_execute(&format!("create database {db}")).await?;
        migrate(rowgate, &self.url("postgres", db)).await?;
        let c = self.connect("postgres", db).await?;
        c.batch_execute(&data_sql(size)).await.context("load bench/sql/data.sql")?;
        c.batch_execute(&format!(
            "create table bench.meta (key text primary key, value text); insert into bench.meta values ('size', '{}')",
            size_key(size)
        ))
        .await?;
        Ok(())
    }
}

/// `rowgate migrate` with the binary under test.
pub async fn migrate(rowgate: &Path, url: &str) -> Result<()> {
    let out = tokio::process::Command::new(rowgate)
        .arg("migrate")
        .env("DATABASE_URL", url)
        .output()
        .await
        .context("run rowgate migrate")?;
    if !out.status.success() {
        bail!("rowgate migrate failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

fn size_key(s: DataSize) -> String {
    format!("{}x{}x{}x{} v1", s.orgs, s.members, s.projects, s.tasks)
}

/// data.sql with its sizes filled in (numbers only).
pub fn data_sql(s: DataSize) -> String {
    DATA_SQL
        .replace(":orgs", &s.orgs.to_string())
        .replace(":members", &s.members.to_string())
        .replace(":projects", &s.projects.to_string())
        .replace(":tasks", &s.tasks.to_string())
}

/// Where the benchmark keeps its cluster: a directory the `postgres` OS user can reach.
pub fn default_dir() -> PathBuf {
    PathBuf::from("/var/tmp/rowgate-bench")
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_size_is_filled_in() {
        let sql = super::data_sql(crate::scenarios::DataSize::FULL);
        for var in [":orgs", ":members", ":projects", ":tasks"] {
            assert!(!sql.contains(var), "{var} left in data.sql");
        }
        assert!(sql.contains("generate_series(1, 1000 * 10)"));
    }
}

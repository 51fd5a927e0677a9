//! A PostgreSQL cluster of one test's own, migrated and loaded with the read fixtures, that the
//! test may stop and start again on the same socket (the shared cluster must never go down).

use rowgate::cluster::{self, Cluster};

use crate::harness::connect;

pub const DB: &str = "app";

pub struct PrivateCluster {
    cluster: Cluster,
}

impl PrivateCluster {
    pub async fn start() -> PrivateCluster {
        // Throwaway: a reaper stops it and removes its directory when the test process exits.
        // With logical decoding, for the realtime tests that restart PostgreSQL.
        let cluster =
            cluster::start_throwaway_with(cluster::logical_decoding()).await.expect("start a private PostgreSQL");
        let admin = connect(&cluster.conn_string("postgres", "postgres")).await;
        admin.batch_execute(&format!("create database {DB}")).await.expect("create database");
        rowgate::cluster::embedded::prepare_database(&cluster, DB).await.expect("migrate");
        let db = connect(&cluster.conn_string("postgres", DB)).await;
        db.batch_execute(include_str!("../fixtures/reads.sql")).await.expect("load read fixtures");
        db.batch_execute(include_str!("../fixtures/resilience.sql")).await.expect("load resilience fixtures");
        PrivateCluster { cluster }
    }

    /// The gateway's connection string (authenticator over the unix socket).
    pub fn url(&self) -> String {
        self.cluster.conn_string("authenticator", DB)
    }

    /// Realtime's replication connection (sql/V30's rowgate_replication).
    pub fn replication_url(&self) -> String {
        self.cluster.conn_string("rowgate_replication", DB)
    }

    pub async fn admin(&self) -> tokio_postgres::Client {
        connect(&self.cluster.conn_string("postgres", DB)).await
    }

    /// `pg_ctl stop -m fast`: every session is terminated, the socket disappears.
    pub async fn stop(&self) {
        self.cluster.force_stop().await.expect("stop the private cluster");
    }

    /// Starts the same data directory on the same socket again.
    pub async fn restart(&mut self) {
        self.cluster = Cluster::start(self.cluster.options().clone()).await.expect("restart the private cluster");
    }
}

//! The request connections (`db::wire`) against a server that wants passwords over TCP:
//! SCRAM-SHA-256 and md5 sign-ins serve requests, and a wrong password is an outage answer
//! (503), never a hang or a 500.

use std::time::Duration;

use rowgate::app;
use rowgate::cluster::{self, Cluster};
use rowgate::config::{Config, ServeArgs};

use crate::harness::{connect, SECRET};
use crate::tls::pki;

const DB: &str = "wiredb";

struct PasswordCluster {
    cluster: Cluster,
    _dir: tempfile::TempDir,
}

impl PasswordCluster {
    async fn start() -> PasswordCluster {
        let dir = pki::dir();
        let hba = pki::write_for_postgres(
            &dir.path().join("pg_hba.conf"),
            "local all all trust\n\
             host all md5_user 127.0.0.1/32 md5\n\
             host all all 127.0.0.1/32 scram-sha-256\n",
        );
        let conf = [("listen_addresses", "127.0.0.1".to_string()), ("hba_file", hba.to_string_lossy().into_owned())];
        let cluster = cluster::start_throwaway_with(conf.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
            .await
            .expect("start a cluster that wants passwords");
        let admin = connect(&cluster.conn_string("postgres", "postgres")).await;
        admin.batch_execute(&format!("create database {DB}")).await.unwrap();
        rowgate::cluster::embedded::prepare_database(&cluster, DB).await.expect("migrate and load the demo");
        admin
            .batch_execute(
                "alter role authenticator password 'scram secret';
                 set password_encryption = 'md5';
                 create role md5_user login noinherit password 'md5 secret';
                 grant anon to md5_user;
                 reset password_encryption",
            )
            .await
            .unwrap();
        let db = connect(&cluster.conn_string("postgres", DB)).await;
        db.batch_execute("grant usage on schema api to md5_user").await.unwrap();
        PasswordCluster { cluster, _dir: dir }
    }

    fn url(&self, user: &str, password: &str) -> String {
        let password = password.replace(' ', "%20");
        format!("postgres://{user}:{password}@127.0.0.1:{}/{DB}?sslmode=disable", self.cluster.port())
    }
}

fn config(url: String) -> Config {
    let args = ServeArgs {
        database_url: Some(url),
        listen: Some("127.0.0.1:0".into()),
        admin_listen: Some("127.0.0.1:0".into()),
        jwt_secret: Some(SECRET.into()),
        log: Some("warn".into()),
        db_pool_acquisition_timeout: Some("2".into()),
        ..Default::default()
    };
    Config::from_args(&args, &|_| None).expect("valid config")
}

/// Serves `/todos` several times (so pooled connections are reused) with the given URL.
async fn status_of_reads(url: String) -> Vec<u16> {
    let running = app::start(config(url)).await.expect("start");
    // The schema loader signs in with the same password; without it nothing is ready.
    running.wait_ready(Duration::from_secs(10)).await;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(reqwest::get(format!("http://{}/todos", running.api_addr)).await.unwrap().status().as_u16());
    }
    running.shutdown().await;
    statuses
}

#[tokio::test]
async fn scram_and_md5_sign_ins_serve_requests_and_a_wrong_password_is_503() {
    let c = PasswordCluster::start().await;
    assert_eq!(status_of_reads(c.url("authenticator", "scram secret")).await, vec![200, 200, 200], "SCRAM-SHA-256");
    assert_eq!(status_of_reads(c.url("md5_user", "md5 secret")).await, vec![200, 200, 200], "md5");
    let wrong = status_of_reads(c.url("authenticator", "not the secret")).await;
    assert!(wrong.iter().all(|s| *s == 503), "a wrong password: {wrong:?}");
}

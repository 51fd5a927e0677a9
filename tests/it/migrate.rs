//! `rowgate migrate`: migrations then policy files, idempotent, atomic per file.

use rowgate::db::migrate::{apply_policies, migrate, MigrateError, POLICY_FILES};

use crate::harness::*;

async fn fresh_database(name: &str) -> String {
    let admin = connect(&cluster().conn_string("postgres", "postgres")).await;
    let db = format!("{name}_{}", std::process::id());
    admin.batch_execute(&format!("drop database if exists {db}")).await.unwrap();
    admin.batch_execute(&format!("create database {db}")).await.unwrap();
    db
}

#[tokio::test]
async fn migrate_twice_is_a_no_op() {
    let db = fresh_database("mig_twice").await;
    let (mut client, conn) =
        tokio_postgres::connect(&cluster().conn_string("postgres", &db), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    let first = migrate(&mut client).await.unwrap();
    assert!(first.migrations_applied >= 1);
    assert_eq!(first.policy_files, POLICY_FILES.len());
    let second = migrate(&mut client).await.unwrap();
    assert_eq!(second.migrations_applied, 0);
    assert_eq!(second.policy_files, POLICY_FILES.len());
}

#[tokio::test]
async fn a_failing_policy_file_changes_nothing_and_is_named() {
    let db = TestDb::new().await;
    let (mut client, conn) =
        tokio_postgres::connect(&cluster().conn_string("postgres", &db.name), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    client
        .batch_execute("create table api.scratch (id int); alter table api.scratch enable row level security")
        .await
        .unwrap();
    let good = "create policy scratch_read on api.scratch for select to anon using (true);";
    let bad = "create policy scratch_write on api.scratch for insert to anon with check (true); select 1/0;";
    let err = apply_policies(&mut client, &[("policies/good.sql", good), ("policies/bad.sql", bad)]).await.unwrap_err();
    match &err {
        MigrateError::Sql { file, message } => {
            assert_eq!(file, "policies/bad.sql");
            assert!(message.contains("division by zero"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.to_string(), "policies/bad.sql: division by zero");
    let policies: Vec<String> = client
        .query("select policyname::text from pg_policies where tablename = 'scratch' order by 1", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(policies, vec!["scratch_read"], "the failing file's first statement must not persist");
}

#[test]
fn the_cli_migrates_and_reports() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = rt.block_on(fresh_database("mig_cli"));
    let url = cluster().conn_string("postgres", &db);
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_rowgate"))
            .arg("migrate")
            .env("DATABASE_URL", &url)
            .env("ROWGATE_LOG", "warn")
            .output()
            .unwrap()
    };
    let first = run();
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let second = run();
    assert!(second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("0 migration(s) applied"), "{stderr}");
    // A database it cannot reach: non-zero, one clear line.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rowgate"))
        .arg("migrate")
        .env("DATABASE_URL", "host=/nonexistent-rowgate user=postgres")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("DATABASE_URL"));
}

//! `rowgate migrate`: migrations, then function files, then policy files; idempotent, atomic per
//! file; every function has its one live definition in `functions/`.

use std::collections::BTreeMap;

use rowgate::db::migrate::{apply_files, migrate, MigrateError, FUNCTION_FILES, POLICY_FILES};

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
    assert_eq!((first.function_files, first.policy_files), (FUNCTION_FILES.len(), POLICY_FILES.len()));
    let second = migrate(&mut client).await.unwrap();
    assert_eq!(second.migrations_applied, 0);
    assert_eq!((second.function_files, second.policy_files), (FUNCTION_FILES.len(), POLICY_FILES.len()));
}

/// `schema.name` of every `create [or replace] function` in `sql`, with how often it appears.
fn defined_functions(sql: &str) -> BTreeMap<String, usize> {
    let mut names = BTreeMap::new();
    let lower = sql.to_lowercase();
    for (i, _) in lower.match_indices("function ") {
        let before = lower[..i].trim_end();
        if !(before.ends_with("create") || before.ends_with("or replace")) {
            continue;
        }
        let name: String = lower[i + "function ".len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || "_.".contains(*c))
            .collect();
        *names.entry(name).or_insert(0) += 1;
    }
    names
}

/// `schema.name` of every `drop function` in `sql`.
fn dropped_functions(sql: &str) -> Vec<String> {
    let lower = sql.to_lowercase();
    lower
        .match_indices("drop function ")
        .map(|(i, _)| {
            lower[i + "drop function ".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || "_.".contains(*c))
                .collect()
        })
        .collect()
}

/// An admin reads a function's live definition in one place: every function a migration ever
/// defined — and no later migration dropped — is defined in `functions/` (applied after the
/// migrations on every run), exactly once.
#[test]
fn every_function_has_one_live_definition_in_functions() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sql");
    let mut in_migrations = BTreeMap::new();
    let mut dropped = Vec::new();
    // (sql/citus/ is no migration: its DO blocks define no function.)
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap();
        in_migrations.extend(defined_functions(&text));
        dropped.extend(dropped_functions(&text));
    }
    assert!(dropped.iter().any(|d| d == "internal.tg_pending_limits"), "the scan finds dropped functions: {dropped:?}");
    // A function dropped (every overload of it) is history; one dropped and defined again with
    // other arguments, like api.set_org_status, stays live.
    let live_names: Vec<String> =
        FUNCTION_FILES.iter().flat_map(|(_, sql)| defined_functions(sql).into_keys()).collect();
    in_migrations.retain(|name, _| !dropped.contains(name) || live_names.contains(name));
    let mut live: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (file, sql) in FUNCTION_FILES {
        for (name, times) in defined_functions(sql) {
            live.entry(name).or_default().extend(std::iter::repeat_n(*file, times));
        }
    }
    for known in ["internal.user_org_ids", "internal.check_request", "api.accept_invitation", "auth.login"] {
        assert!(in_migrations.contains_key(known), "the scan finds the migrations' functions: {in_migrations:?}");
    }
    for name in in_migrations.keys() {
        assert!(live.contains_key(name), "{name} is defined in sql/ but has no live definition in functions/");
    }
    for (name, files) in &live {
        assert_eq!(files.len(), 1, "{name} is defined more than once in functions/: {files:?}");
    }
    for (_, sql) in FUNCTION_FILES.iter().chain(POLICY_FILES) {
        assert!(!sql.to_lowercase().contains("create function"), "re-runnable files use create or replace");
    }
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
    let err = apply_files(&mut client, &[("policies/good.sql", good), ("policies/bad.sql", bad)]).await.unwrap_err();
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

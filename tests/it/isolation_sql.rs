//! The SQL isolation suite (tests/sql/, pgTAP, run by `scripts/isolation-suite` with pg_prove)
//! against a freshly migrated reference schema, and the mutation check: small breakages of the
//! policies (tests/sql/lib/mutants.sql), applied one at a time, must each make the suite fail.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::harness::*;

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// Cheapest first, so that a mutant is usually caught early.
const SUITE_ORDER: [&str; 8] = [
    "01_catalog.sql",
    "10_tables.sql",
    "60_unfiltered.sql",
    "55_policies_alone.sql",
    "50_fences.sql",
    "20_rpcs.sql",
    "30_oracles.sql",
    "40_org_status.sql",
];

/// A database with the reference schema as `rowgate migrate` leaves it (plus the embedded demo)
/// and the pgtap extension; nobody stays connected, so it can serve as a template.
async fn reference_database() -> String {
    let name = format!("ref{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
    let admin = connect(&cluster().conn_string("postgres", "postgres")).await;
    admin.batch_execute(&format!("create database {name}")).await.expect("create database");
    rowgate::embedded::prepare_database(cluster(), &name).await.expect("migrate");
    let db = connect(&cluster().conn_string("postgres", &name)).await;
    db.batch_execute("create extension pgtap").await.expect("pgtap (Debian package postgresql-15-pgtap)");
    name
}

/// Runs the suite (or some of its files) against `db`: (passed, pg_prove's output).
fn run_suite(db: &str, files: &[&str]) -> (bool, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(root.join("scripts/isolation-suite"))
        .arg(cluster().conn_string("postgres", db))
        .args(files.iter().map(|f| format!("tests/sql/{f}")))
        .current_dir(root)
        .output()
        .expect("run scripts/isolation-suite (needs pg_prove: Debian libtap-parser-sourcehandler-pgtap-perl)");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sql_isolation_suite_passes() {
    let db = reference_database().await;
    let (passed, out) = tokio::task::spawn_blocking(move || run_suite(&db, &[])).await.expect("suite");
    assert!(passed, "{out}");
    // pg_prove's summary, e.g. "Files=6, Tests=2420, ...": the matrices ran whole.
    let tests: usize = out
        .split("Tests=")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no summary in {out}"));
    assert!(out.contains(&format!("Files={},", SUITE_ORDER.len())), "{out}");
    assert!(tests >= 2400, "only {tests} tests ran:\n{out}");
    eprintln!("isolation suite: {tests} tests passed");
}

/// The suite must not wave a broken policy through: every mutant of tests/sql/lib/mutants.sql
/// (org filter, super-admin check or role rank dropped from a policy, TO public, a restrictive
/// fence made permissive, FORCE or RLS switched off) has to make at least one test file fail.
#[tokio::test(flavor = "multi_thread")]
async fn the_suite_catches_every_mutant() {
    let template = reference_database().await;
    let mutants: Vec<(String, String)> = {
        let db = connect(&cluster().conn_string("postgres", &template)).await;
        db.query(include_str!("../sql/lib/mutants.sql"), &[])
            .await
            .expect("list mutants")
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
    };
    assert!(mutants.len() >= 100, "the mutant generator found only {} mutants", mutants.len());

    // Two at a time: the machine has two cores, and pg_prove waits on PostgreSQL.
    let limit = Arc::new(tokio::sync::Semaphore::new(2));
    let mut runs = Vec::new();
    for (name, sql) in mutants {
        let limit = limit.clone();
        let template = template.clone();
        runs.push(tokio::spawn(async move {
            let _slot = limit.acquire_owned().await.expect("semaphore");
            let db = format!("m{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
            let admin = connect(&cluster().conn_string("postgres", "postgres")).await;
            admin.batch_execute(&format!("create database {db} template {template}")).await.expect("clone");
            let mutated = connect(&cluster().conn_string("postgres", &db)).await;
            if let Err(e) = mutated.batch_execute(&sql).await {
                panic!("mutant {name} does not apply: {e}\n{sql}");
            }
            drop(mutated);
            let caught_by = tokio::task::spawn_blocking({
                let db = db.clone();
                move || SUITE_ORDER.iter().find(|f| !run_suite(&db, &[f]).0).copied()
            })
            .await
            .expect("suite");
            admin.batch_execute(&format!("drop database {db}")).await.expect("drop clone");
            (name, caught_by)
        }));
    }
    let mut missed = Vec::new();
    let mut report = String::new();
    let total = runs.len();
    for run in runs {
        let (name, caught_by) = run.await.expect("mutant run");
        match caught_by {
            Some(file) => report.push_str(&format!("caught by {file:<18} {name}\n")),
            None => missed.push(name),
        }
    }
    eprintln!("{report}mutation score: {} / {total} caught", total - missed.len());
    assert!(missed.is_empty(), "mutants the suite did not catch:\n{}", missed.join("\n"));
}

//! The SQL isolation suite (tests/sql/, pgTAP, run by `scripts/isolation-suite` with pg_prove)
//! against a freshly migrated reference schema, and the mutation check: small breakages of the
//! policies (tests/sql/lib/mutants.sql), applied one at a time, must each make an assertion of the
//! suite fail (after the unmutated suite has passed in the same database).

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::harness::*;

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// Cheapest first, so that a mutant is usually caught early.
const SUITE_ORDER: [&str; 16] = [
    "01_catalog.sql",
    "10_tables.sql",
    "60_unfiltered.sql",
    "55_policies_alone.sql",
    "50_fences.sql",
    "20_rpcs.sql",
    "25_invitations.sql",
    "30_oracles.sql",
    "40_org_status.sql",
    "70_lifecycle.sql",
    "72_quotas.sql",
    "74_entitlements.sql",
    "76_audit.sql",
    "78_privacy.sql",
    "80_platform.sql",
    "82_registration.sql",
];

/// A database with the reference schema as `rowgate migrate` leaves it (plus the embedded demo)
/// and the pgtap extension; nobody stays connected, so it can serve as a template.
async fn reference_database() -> String {
    let name = format!("ref{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
    let admin = connect(&cluster().conn_string("postgres", "postgres")).await;
    admin.batch_execute(&format!("create database {name}")).await.expect("create database");
    rowgate::cluster::embedded::prepare_database(cluster(), &name).await.expect("migrate");
    let db = connect(&cluster().conn_string("postgres", &name)).await;
    db.batch_execute("create extension pgtap").await.expect("pgtap (Debian package postgresql-15-pgtap)");
    name
}

/// What pg_prove reported for one test file (run with `--verbose`, so every assertion is listed).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct FileRun {
    /// The file's `1..N` plan line, if it got that far.
    planned: Option<usize>,
    /// `ok N` lines.
    passed: usize,
    /// `not ok N` lines: assertions that failed.
    failed: usize,
}

impl FileRun {
    /// Every planned assertion ran and held.
    fn clean(&self) -> bool {
        self.failed == 0 && self.planned.is_some_and(|n| n > 0 && n == self.passed)
    }
}

/// One run of `scripts/isolation-suite`.
struct SuiteRun {
    /// pg_prove's exit status was 0.
    success: bool,
    /// Per file, in the order pg_prove ran them.
    files: Vec<(String, FileRun)>,
    output: String,
}

impl SuiteRun {
    /// pg_prove succeeded and every file it ran ran its whole plan without a failed assertion.
    fn clean(&self) -> bool {
        self.success && !self.files.is_empty() && self.files.iter().all(|(_, r)| r.clean())
    }

    /// The assertions that failed, over all files.
    fn failed(&self) -> usize {
        self.files.iter().map(|(_, r)| r.failed).sum()
    }
}

/// Reads pg_prove's `--verbose` output: a `tests/sql/<file> ....` header per file, then its TAP
/// lines (`1..N`, `ok N - …`, `not ok N - …`, `# diagnostics`).
fn parse_prove(output: &str) -> Vec<(String, FileRun)> {
    let mut files: Vec<(String, FileRun)> = vec![];
    for line in output.lines() {
        let trimmed = line.trim_end();
        if let Some((name, dots)) = trimmed.split_once(' ') {
            if name.starts_with("tests/sql/")
                && name.ends_with(".sql")
                && !dots.is_empty()
                && dots.bytes().all(|b| b == b'.')
            {
                files.push((name.to_string(), FileRun::default()));
                continue;
            }
        }
        let Some((_, run)) = files.last_mut() else { continue };
        let numbered = |rest: &str| rest.split(' ').next().is_some_and(|n| n.parse::<usize>().is_ok());
        if let Some(n) = trimmed.strip_prefix("1..").and_then(|n| n.parse().ok()) {
            run.planned = Some(n);
        } else if trimmed.strip_prefix("not ok ").is_some_and(numbered) {
            run.failed += 1;
        } else if trimmed.strip_prefix("ok ").is_some_and(numbered) {
            run.passed += 1;
        }
    }
    files
}

/// Runs the suite (or some of its files) against `db` with `pg_prove --verbose`.
fn run_suite(db: &str, files: &[&str]) -> SuiteRun {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(root.join("scripts/isolation-suite"))
        .arg(cluster().conn_string("postgres", db))
        .arg("--verbose")
        .args(files.iter().map(|f| format!("tests/sql/{f}")))
        .current_dir(root)
        .output()
        .expect("run scripts/isolation-suite (needs pg_prove: Debian libtap-parser-sourcehandler-pgtap-perl)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    SuiteRun {
        success: out.status.success(),
        files: parse_prove(&stdout),
        output: format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)),
    }
}

/// The output without the passing assertions, for failure messages.
fn failures_only(output: &str) -> String {
    output.lines().filter(|l| !l.starts_with("ok ")).collect::<Vec<_>>().join("\n")
}

/// Runs the whole suite against `db`, requires every file to pass in full, and returns the number
/// of assertions per file (printed, so docs/isolation.md can be checked against it).
fn require_clean_suite(db: &str, context: &str) -> Vec<(String, usize)> {
    let run = run_suite(db, &[]);
    assert!(run.clean(), "{context}: the unmutated suite does not pass:\n{}", failures_only(&run.output));
    // Every file of tests/sql/ ran, and SUITE_ORDER names each (a new file must be added there).
    let mut ran: Vec<&str> = run.files.iter().map(|(f, _)| f.trim_start_matches("tests/sql/")).collect();
    let mut listed = SUITE_ORDER.to_vec();
    ran.sort_unstable();
    listed.sort_unstable();
    assert_eq!(ran, listed, "{context}: the files of tests/sql/ and SUITE_ORDER differ");
    let counts: Vec<(String, usize)> = run.files.iter().map(|(f, r)| (f.clone(), r.passed)).collect();
    let total: usize = counts.iter().map(|(_, n)| n).sum();
    let per_file: Vec<String> = counts.iter().map(|(f, n)| format!("{f}: {n}")).collect();
    eprintln!("{context}: the unmutated suite passes, {total} assertions ({})", per_file.join(", "));
    counts
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sql_isolation_suite_passes() {
    let db = reference_database().await;
    let counts = tokio::task::spawn_blocking(move || require_clean_suite(&db, "isolation suite")).await.expect("suite");
    let tests: usize = counts.iter().map(|(_, n)| n).sum();
    assert!(tests >= 2400, "only {tests} tests ran");
}

/// The parser tells a failed assertion from a file that never got to its assertions.
#[test]
fn pg_prove_output_is_read_per_file() {
    let out = "tests/sql/10_tables.sql .. \n1..3\nok 1 - a\nnot ok 2 - b\n# Failed test 2: \"b\"\nok 3 - c\n\
               tests/sql/20_rpcs.sql .... \nDubious, test returned 3 (wstat 768, 0x300)\nNo subtests run \n\
               tests/sql/30_oracles.sql . \n1..2\nok 1 - x\nok 2 - y\nok\n\
               Test Summary Report\n";
    let files = parse_prove(out);
    let by = |f: &str| files.iter().find(|(n, _)| n == f).map(|(_, r)| r.clone()).expect(f);
    assert_eq!(files.len(), 3);
    assert_eq!(by("tests/sql/10_tables.sql"), FileRun { planned: Some(3), passed: 2, failed: 1 });
    assert_eq!(by("tests/sql/20_rpcs.sql"), FileRun::default());
    assert_eq!(by("tests/sql/30_oracles.sql"), FileRun { planned: Some(2), passed: 2, failed: 0 });
    assert!(!by("tests/sql/10_tables.sql").clean() && !by("tests/sql/20_rpcs.sql").clean());
    assert!(by("tests/sql/30_oracles.sql").clean());
}

/// How the suite met one mutant.
enum Verdict {
    /// A file had an assertion fail (`not ok`): the file, and how many failed there.
    Caught(&'static str, usize),
    /// No assertion failed; the files that broke otherwise (an error before or between the
    /// assertions, a short plan) with pg_prove's words, which do not count as catching.
    Missed(Vec<String>),
}

/// The suite must not wave a broken policy through: every mutant of tests/sql/lib/mutants.sql
/// (org filter, super-admin check or role rank dropped from a policy, TO public, a restrictive
/// fence made permissive, FORCE or RLS switched off) has to make at least one assertion of the
/// suite fail. First the unmutated suite must pass in full in the very database the mutants are
/// cloned from, so that a broken fixture, a missing pg_prove or pgtap cannot pass for a catch;
/// and a file that fails without a failed assertion (an error in the fixture, a short plan) does
/// not count as catching the mutant.
#[tokio::test(flavor = "multi_thread")]
async fn the_suite_catches_every_mutant() {
    let template = reference_database().await;
    {
        let template = template.clone();
        tokio::task::spawn_blocking(move || require_clean_suite(&template, "mutation check"))
            .await
            .expect("the unmutated suite");
    }
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
            let verdict = tokio::task::spawn_blocking({
                let db = db.clone();
                move || {
                    let mut broken = vec![];
                    for file in SUITE_ORDER {
                        let run = run_suite(&db, &[file]);
                        if run.failed() > 0 {
                            return Verdict::Caught(file, run.failed());
                        }
                        if !run.clean() {
                            broken.push(format!("{file} failed without a failed assertion:\n{}", run.output));
                        }
                    }
                    Verdict::Missed(broken)
                }
            })
            .await
            .expect("suite");
            admin.batch_execute(&format!("drop database {db}")).await.expect("drop clone");
            (name, verdict)
        }));
    }
    let mut missed = Vec::new();
    let mut report = String::new();
    let total = runs.len();
    for run in runs {
        let (name, verdict) = run.await.expect("mutant run");
        match verdict {
            Verdict::Caught(file, n) => {
                report.push_str(&format!("caught by {file:<21} ({n:>3} failed) {name}\n"));
            }
            Verdict::Missed(broken) if broken.is_empty() => missed.push(format!("{name}: every file passed")),
            Verdict::Missed(broken) => missed.push(format!("{name}: {}", broken.join("\n"))),
        }
    }
    let mut by_file: Vec<(&str, usize)> =
        SUITE_ORDER.iter().map(|f| (*f, report.matches(&format!("caught by {f} ")).count())).collect();
    by_file.retain(|(_, n)| *n > 0);
    let by_file: Vec<String> = by_file.iter().map(|(f, n)| format!("{f}: {n}")).collect();
    eprintln!("{report}caught first by: {}", by_file.join(", "));
    eprintln!("mutation score: {} / {total} caught", total - missed.len());
    assert!(missed.is_empty(), "mutants no assertion of the suite caught:\n{}", missed.join("\n"));
}

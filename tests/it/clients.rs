//! Real PostgREST clients against rowgate: `@supabase/postgrest-js` (npm) and `postgrest` (PyPI),
//! each running its script from `tests/clients/` against a gateway on a database loaded with
//! `tests/fixtures/clients.sql`. The scripts assert the results themselves and exit non-zero on
//! any failure. `scripts/test` installs both packages; without them these tests fail.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::json;

use crate::harness::*;

/// A gateway on a fresh database with the client fixture loaded (before the schema cache is
/// built, so no reload is needed).
async fn gateway() -> Gateway {
    let db = TestDb::new().await;
    db.admin().await.batch_execute(include_str!("../fixtures/clients.sql")).await.expect("load client fixtures");
    let cfg = config(&db, |_| {});
    Gateway::start_on(db, cfg).await
}

fn jwt() -> String {
    token(json!({"role": "authenticated", "sub": "client"}))
}

/// Runs a client script off the async runtime (the gateway keeps serving meanwhile).
async fn run(program: &'static str, script: &'static str, url: String) -> Output {
    let dir = env!("CARGO_MANIFEST_DIR");
    let token = jwt();
    tokio::task::spawn_blocking(move || {
        Command::new(program)
            .arg(script)
            .arg(&url)
            .arg(&token)
            .current_dir(dir)
            .output()
            .unwrap_or_else(|e| panic!("could not run `{program} {script}`: {e}; run `scripts/test` to set up"))
    })
    .await
    .expect("client thread")
}

fn assert_passed(what: &str, out: &Output) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{what} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}", out.status);
    eprintln!("{what}:\n{stdout}{stderr}");
}

#[tokio::test]
async fn postgrest_js_client() {
    let modules = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/node_modules/@supabase/postgrest-js");
    assert!(
        modules.is_dir(),
        "{} is missing: run `scripts/test` (it runs `npm ci` in tests/clients) before these tests",
        modules.display()
    );
    let g = gateway().await;
    let out = run("node", "tests/clients/postgrest_js.mjs", g.url("")).await;
    assert_passed("postgrest-js", &out);
}

#[tokio::test]
async fn postgrest_py_client() {
    let probe = Command::new("python3").args(["-c", "import postgrest"]).output();
    match probe {
        Ok(o) if o.status.success() => {}
        other => panic!(
            "the PyPI package `postgrest` is missing: run `scripts/test` (it installs \
             tests/clients/requirements.txt) before these tests (python3 -c 'import postgrest' gave {other:?})"
        ),
    }
    let g = gateway().await;
    let out = run("python3", "tests/clients/postgrest_py.py", g.url("")).await;
    assert_passed("postgrest-py", &out);
}

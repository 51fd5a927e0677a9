//! Points 3 and 5 with the real `@supabase/supabase-js` (tests/clients/supabase_email_flows.mjs):
//! sign-up → email → confirm → sign in; resetPasswordForEmail → email → new password;
//! signInWithOtp → code → verifyOtp; email change; auth.admin.* with a service_role key; and the
//! denied cases (reused and forged codes, a disallowed redirect, non-admins on the admin API,
//! answers that do not tell whether an account exists). The script asserts everything itself.

use std::path::Path;
use std::process::Command;

use serde_json::json;

use super::{mail_config, SmtpSink};
use crate::harness::*;

#[tokio::test]
async fn supabase_js_email_flows_and_admin_api() {
    let modules = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/node_modules/@supabase/supabase-js");
    assert!(modules.is_dir(), "{} is missing: run `scripts/test` (npm ci in tests/clients)", modules.display());
    let sink = SmtpSink::start();
    let db = TestDb::new().await;
    db.admin()
        .await
        .batch_execute(
            "insert into auth.users (email, encrypted_password)
               values ('plain@example.com', crypt('correct horse', gen_salt('bf', 4)))",
        )
        .await
        .unwrap();
    let cfg = mail_config(&db, &sink, |a| {
        a.db_pre_request = Some("internal.check_request".into());
        // The script makes more credential requests than the per-IP default allows in a minute.
        a.rate_limit_auth = Some("off".into());
        a.auth_flows.smtp_max_frequency = Some("0".into());
        a.auth_flows.rate_limit_email_sent = Some("1000".into());
    });
    let g = Gateway::start_on(db, cfg).await;
    let origin = g.url("");
    let anon = token(json!({"role": "anon"}));
    let service = token(json!({"role": "service_role"}));
    let dir = sink.dir.display().to_string();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .args(["tests/clients/supabase_email_flows.mjs", &origin, &anon, &service, &dir])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap_or_else(|e| panic!("could not run node: {e}"))
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "supabase-js failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}", out.status);
    eprintln!("supabase-js:\n{stdout}{stderr}");
    // No email ever went to an address that is no user's.
    assert!(!sink.messages().iter().any(|m| m["rcpt_tos"][0] == "nobody@example.com"));
}

//! The reference web console (web/, docs/spa.md) end to end in a real browser: this test builds
//! web/ with Vite into a fresh site directory, serves it with the committed Caddyfile by real
//! Caddy (its SPA block, the strict CSP, /config.json from SPA_ANON_KEY) in front of rowgate and
//! a throwaway PostgreSQL, bootstraps a platform admin, then runs web/e2e/console.mjs:
//! playwright-core driving Debian's chromium (never a downloaded browser) through the people's
//! scenario, with axe-core on every main screen. The script asserts everything and prints one
//! line per step; screenshots and the axe report land in <target>/web-e2e/.
//!
//! The gateway runs with realtime on (docs/realtime.md), so the console must go live and another
//! tab's edit must arrive without a reload. It sends email through a real SMTP server
//! (tests/clients/smtp_sink.py, as in tests/it/auth_flows) with ROWGATE_SITE_URL and the links'
//! base at Caddy's origin and ROWGATE_MAILER_AUTOCONFIRM=false: the script reads every sign-up's
//! confirmation email (and the recovery, invitation, email-change and sign-in-link emails) from the
//! sink's folder and opens its link in the browser (web/e2e/lib.mjs, account.mjs, email.mjs). One
//! OAuth provider, `corp`, is configured: a real OIDC provider the script starts on loopback
//! (tests/clients/oidc_provider.mjs) at E2E_OIDC_PORT. (The script keeps a soft path, E2E_REALTIME=absent,
//! for a server without realtime: "live updates off", and the edit seen after a reload.)

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;

use crate::auth_flows::SmtpSink;
use crate::caddy::Caddy;
use crate::harness::*;

const CHROMIUM: &str = "/usr/bin/chromium";
const ADMIN_EMAIL: &str = "platform@example.com";
const ADMIN_PASSWORD: &str = "platform-passphrase";
/// The budget for the console's JavaScript, gzipped (supabase-js is most of it).
const JS_GZIP_BUDGET_KB: f64 = 120.0;

fn web_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("web")
}

/// `<target dir>/web-e2e`: the test binary is `<target>/<profile>/deps/it-…`.
fn artefacts_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let target = exe.ancestors().nth(3).map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("target"));
    target.join("web-e2e")
}

/// `vite build` of web/ into `out`; returns the JavaScript's gzipped size in kB (Vite's report).
fn build_console(out: &Path) -> f64 {
    let web = web_dir();
    let output = Command::new("node")
        .arg("node_modules/vite/bin/vite.js")
        .args(["build", "--emptyOutDir", "--outDir"])
        .arg(out)
        .current_dir(&web)
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|e| panic!("could not run node: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "vite build failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    eprintln!("vite build:\n{stdout}");
    let js_gzip: f64 = stdout
        .lines()
        .filter(|l| l.contains(".js"))
        .filter_map(|l| l.split("gzip:").nth(1))
        .filter_map(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .sum();
    assert!(js_gzip > 0.0, "no JavaScript size in Vite's report:\n{stdout}");
    js_gzip
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_in_chromium_behind_caddy() {
    let web = web_dir();
    for needed in [
        "node_modules/playwright-core",
        "node_modules/axe-core",
        "node_modules/vite",
        "node_modules/@supabase/supabase-js",
    ] {
        assert!(web.join(needed).is_dir(), "web/{needed} is missing: run `scripts/test` (it runs `npm ci` in web/)");
    }
    assert!(Path::new(CHROMIUM).exists(), "{CHROMIUM} is missing: apt-get install chromium (scripts/test does)");

    let site = tempfile::Builder::new().prefix("rowgate-console-").tempdir().expect("site dir");
    let js_gzip = tokio::task::spawn_blocking({
        let out = site.path().to_path_buf();
        move || build_console(&out)
    })
    .await
    .expect("build thread");
    eprintln!("console JavaScript: {js_gzip:.1} kB gzipped (budget {JS_GZIP_BUDGET_KB} kB)");
    assert!(js_gzip < JS_GZIP_BUDGET_KB, "the console's JavaScript grew to {js_gzip:.1} kB gzipped");

    let db = TestDb::new().await;
    let key = rowgate::auth::signing::SigningKey::generate_jwk().expect("key");
    let (replication, slot) = (db.replication_url(), format!("rt_{}", db.name));
    // Caddy's port is chosen first: the gateway's email links and redirects name its origin.
    let https_port = std::net::TcpListener::bind(("0.0.0.0", 0)).expect("bind").local_addr().expect("addr").port();
    let origin = format!("https://localhost:{https_port}");
    let sink = SmtpSink::start();
    // A real OpenID Connect provider (tests/clients/oidc_provider.mjs), started by the script.
    let oidc_port = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("bind").local_addr().expect("addr").port();
    let cfg = config(&db, |a| {
        a.jwt_signing_key = Some(key);
        a.db_pre_request = Some("internal.check_request".into());
        a.realtime = Some("on".into());
        a.realtime_db_url = Some(replication);
        a.realtime_slot = Some(slot);
        let f = &mut a.auth_flows;
        f.smtp_host = Some("127.0.0.1".into());
        f.smtp_port = Some(sink.port.to_string());
        f.smtp_tls = Some("opportunistic".into());
        f.smtp_admin_email = Some("noreply@rowgate.test".into());
        f.site_url = Some(origin.clone());
        f.api_external_url = Some(origin.clone());
        // Sign-ups wait for their confirmation email, which the script reads from the sink; one
        // person gets several emails within seconds (confirmation, then recovery or a sign-in link).
        f.mailer_autoconfirm = Some("false".into());
        f.smtp_max_frequency = Some("0".into());
        a.external_providers = Some(
            json!([{
                "name": "corp",
                "issuer": format!("http://127.0.0.1:{oidc_port}"),
                "client_id": "rowgate-console",
                "client_secret": "rowgate-console-secret-0123456789",
            }])
            .to_string(),
        );
    });
    let g = Gateway::start_on(db, cfg).await;
    crate::realtime::wait_streaming(&g).await;
    let http = reqwest::Client::new();
    let r = http
        .post(g.url("/auth/v1/bootstrap"))
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .expect("bootstrap");
    assert_eq!(r.status(), 200, "bootstrap: {}", r.text().await.unwrap_or_default());

    let anon_key = token(json!({"role": "anon"}));
    let mut caddy = Caddy::start(&[
        ("SITE_ADDRESS", format!("localhost:{https_port}")),
        ("CADDY_HTTPS_PORT", https_port.to_string()),
        ("ROWGATE_DISCOVERY", "static".into()),
        ("ROWGATE_UPSTREAMS", g.running.api_addr.to_string()),
        ("ROWGATE_ADMIN_PORT", g.running.admin_addr.port().to_string()),
        ("SITE_ROOT", site.path().to_string_lossy().into_owned()),
        ("SPA_ANON_KEY", anon_key.clone()),
    ]);
    // Caddy::start names the port it picked; this one was given in SITE_ADDRESS/CADDY_HTTPS_PORT.
    caddy.origin = origin;
    let client = caddy.client().await;
    // Ready once Caddy serves the app and has seen the instance's /ready.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let ok = match client.get(format!("{}/auth/v1/.well-known/jwks.json", caddy.origin)).send().await {
            Ok(r) => r.status() == 200,
            Err(_) => false,
        };
        if ok {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "Caddy never proxied to rowgate; its log:\n{}", caddy.log());
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let r = client.get(format!("{}/config.json", caddy.origin)).send().await.expect("config.json");
    assert_eq!(r.json::<serde_json::Value>().await.expect("JSON"), json!({"anonKey": anon_key}));

    // Realtime goes through Caddy to rowgate's endpoint (a plain GET is not an upgrade: 4xx, but
    // not the 404 of an unknown path); the script then expects the console to go live.
    let r = client.get(format!("{}/realtime/v1/websocket", caddy.origin)).send().await.expect("probe realtime");
    let (status, body) = (r.status().as_u16(), r.text().await.unwrap_or_default());
    assert!(status != 404 && status < 500, "realtime through Caddy: {status} {body}");
    let realtime = "expected";

    let artefacts = artefacts_dir();
    let (origin, ca, root) = (caddy.origin.clone(), caddy.intermediate_cert(), caddy.root_cert());
    let maildir = sink.dir.clone();
    let out = tokio::task::spawn_blocking({
        let artefacts = artefacts.clone();
        move || {
            Command::new("node")
                .arg("e2e/console.mjs")
                .current_dir(web_dir())
                .env("E2E_ORIGIN", origin)
                .env("E2E_CA", ca)
                .env("E2E_ARTIFACTS", &artefacts)
                .env("E2E_REALTIME", realtime)
                .env("E2E_MAILDIR", maildir)
                .env("E2E_OIDC_PORT", oidc_port.to_string())
                .env("E2E_ADMIN_EMAIL", ADMIN_EMAIL)
                .env("E2E_ADMIN_PASSWORD", ADMIN_PASSWORD)
                .env("CHROMIUM", CHROMIUM)
                .env("NODE_EXTRA_CA_CERTS", root)
                .output()
                .unwrap_or_else(|e| panic!("could not run node: {e}"))
        }
    })
    .await
    .expect("browser thread");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the console's e2e scenario failed (screenshots in {}):\n{stdout}\n--- stderr\n{}\n--- Caddy's log\n{}",
        artefacts.display(),
        String::from_utf8_lossy(&out.stderr),
        caddy.log()
    );
    eprintln!("console e2e (artefacts in {}):\n{stdout}", artefacts.display());
    for shot in [
        "01-sign-in.png",
        "02-projects.png",
        "03-members.png",
        "04-tokens.png",
        "05-audit.png",
        "06-admin-orgs.png",
        "08-plan.png",
        "09-admin-org.png",
        "10-mfa.png",
    ] {
        assert!(artefacts.join(shot).is_file(), "no screenshot {shot}");
    }
    drop(caddy);
    crate::realtime::drop_slot(&g).await;
    drop(g);
}

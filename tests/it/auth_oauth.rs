//! OAuth / OIDC sign-in with PKCE (`/authorize`, `/callback`, `grant_type=pkce`) against a REAL
//! OpenID Connect provider (`oidc-provider` from npm, started on loopback by
//! tests/clients/supabase_oauth.mjs) with supabase-js: see that script for the flows. Here too:
//! what needs the clock or the database — an expired flow, an expired state, a nonce that is not
//! the flow's — and the identities left in the database.

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

use reqwest::Method;
use serde_json::json;

use crate::harness::*;

const SITE: &str = "http://app.test";

const SETUP: &str = "
insert into auth.users (email, encrypted_password) values
  ('linked@example.com', crypt('correct horse', gen_salt('bf', 4))),
  ('unverified@example.com', crypt('correct horse', gen_salt('bf', 4)));
";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

async fn start(provider_port: u16) -> Gateway {
    let db = TestDb::new().await;
    db.admin().await.batch_execute(SETUP).await.expect("setup");
    let key = rowgate::auth::signing::SigningKey::generate_jwk().unwrap();
    let providers = json!([{
        "name": "corp",
        "issuer": format!("http://127.0.0.1:{provider_port}"),
        "client_id": "rowgate-test",
        "client_secret": "rowgate-test-secret-0123456789",
    }]);
    let cfg = config(&db, |a| {
        a.jwt_signing_key = Some(key);
        a.db_pre_request = Some("internal.check_request".into());
        a.auth_flows.site_url = Some(SITE.into());
        a.external_providers = Some(providers.to_string());
        // The script makes some forty sign-in requests from one address in a few seconds.
        a.rate_limit_auth = Some("600/min".into());
    });
    Gateway::start_on(db, cfg).await
}

#[tokio::test]
async fn supabase_js_oauth_pkce_with_a_real_oidc_provider() {
    let port = free_port();
    let g = start(port).await;
    let anon_key = token(json!({"role": "anon"}));
    let origin = g.url("");
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("tests/clients/supabase_oauth.mjs")
            .arg(&origin)
            .arg(&anon_key)
            .arg(port.to_string())
            .arg(SITE)
            .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
            .output()
            .unwrap_or_else(|e| panic!("could not run node: {e}; run `scripts/test` to set up"))
    })
    .await
    .expect("client thread");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "supabase-js OAuth failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );

    // In the database: the new user, the linked account, and no identity for the refused one.
    let admin = g.db.admin().await;
    let rows = admin
        .query(
            "select u.email, i.provider, i.provider_id, u.encrypted_password is not null
               from auth.identities i join auth.users u on u.id = i.user_id order by u.email",
            &[],
        )
        .await
        .unwrap();
    let got: Vec<(String, String, String, bool)> =
        rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect();
    assert_eq!(
        got,
        [
            ("linked@example.com".into(), "corp".into(), "linker".into(), true),
            ("newbie@example.com".into(), "corp".into(), "newbie".into(), false),
        ]
    );
    // The person's export names the identity (functions/privacy.sql).
    admin
        .execute(
            "select set_config('request.jwt.claims', json_build_object('sub', id)::text, false)
               from auth.users where email = 'newbie@example.com'",
            &[],
        )
        .await
        .unwrap();
    let export: String = admin
        .query_one(
            "select string_agg(piece, '' order by n) from api.export_my_data() with ordinality as t(piece, n)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let export: serde_json::Value = serde_json::from_str(&export).expect("the export is JSON");
    assert_eq!(export["identities"][0]["provider_id"], "newbie", "{export}");
    assert_eq!(export["mfa_factors"], json!([]));
    let sign_ins: i64 = admin
        .query_one(
            "select count(*) from api.audit_log a join auth.users u on u.id = a.actor_user_id
              where u.email = 'newbie@example.com' and a.action = 'SIGN_IN'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(sign_ins >= 3, "every OAuth sign-in is in the audit log ({sign_ins})");
    let spent: i64 = admin
        .query_one("select count(*) from auth.flow_states where auth_code_hash is not null", &[])
        .await
        .unwrap()
        .get(0);
    assert!(spent <= 5, "exchanged flows are deleted ({spent} left unexchanged)");
}

/// A flow older than five minutes: its code is refused with `flow_state_expired`, its state at
/// the callback with `bad_oauth_state`; a nonce that is not the flow's is refused by SQL.
#[tokio::test]
async fn expired_flows_and_foreign_nonces_are_refused() {
    let g = start(free_port()).await;
    // /settings lists the configured provider beside email, as GoTrue's does.
    let settings = g.get("/auth/v1/settings").await.json();
    assert_eq!(settings["external"]["corp"], json!(true), "{settings}");
    assert_eq!(settings["external"]["email"], json!(true), "{settings}");
    let admin = g.db.admin().await;
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let same: bool = admin.query_one("select auth.s256($1) = $2", &[&verifier, &challenge]).await.unwrap().get(0);
    assert!(same, "SQL's S256 is RFC 7636's");
    let state: String = admin
        .query_one(
            "insert into auth.flow_states (provider, code_challenge, code_challenge_method, redirect_to, nonce,
                                           provider_verifier, user_id, auth_code_hash, created_at)
             select 'corp', $1, 's256', 'http://app.test/x', 'n', 'v', id, auth.hash_token('old-code'),
                    now() - interval '6 minutes'
               from auth.users where email = 'linked@example.com'
             returning id::text",
            &[&challenge],
        )
        .await
        .unwrap()
        .get(0);
    let body = json!({"auth_code": "old-code", "code_verifier": verifier}).to_string();
    let r = g.send(Method::POST, "/auth/v1/token?grant_type=pkce", &[], &body).await;
    assert_eq!((r.status, r.json()["error_code"].as_str()), (422, Some("flow_state_expired")), "{}", r.body);
    let body = json!({"auth_code": "no-such-code", "code_verifier": verifier}).to_string();
    let r = g.send(Method::POST, "/auth/v1/token?grant_type=pkce", &[], &body).await;
    assert_eq!((r.status, r.json()["error_code"].as_str()), (404, Some("flow_state_not_found")), "{}", r.body);

    admin.execute("update auth.flow_states set user_id = null, auth_code_hash = null", &[]).await.unwrap();
    let resp = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(g.url(&format!("/auth/v1/callback?state={state}&code=c")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("http://app.test/x?error=invalid_request"), "{location}");
    assert!(location.contains("error_code=bad_oauth_state") && location.contains("has+expired"), "{location}");

    // The ID token's nonce must be the flow's (SQL compares it after the gateway verified the token).
    admin.execute("update auth.flow_states set created_at = now()", &[]).await.unwrap();
    let answer: serde_json::Value = admin
        .query_one(
            "select auth.oauth_complete($1::text::uuid, '{\"sub\": \"x\", \"email\": \"x@example.com\", \"nonce\": \"other\"}', true)",
            &[&state],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(answer["error"]["code"], "bad_oauth_callback", "{answer}");
    let answer: serde_json::Value = admin
        .query_one(
            "select auth.oauth_complete($1::text::uuid, '{\"sub\": \"x\", \"email\": \"x@example.com\", \"nonce\": \"n\"}', false)",
            &[&state],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(answer["error"]["code"], "signup_disabled", "sign-ups off: no new user: {answer}");
}

//! MFA with TOTP on `/auth/v1/factors` (functions/auth_mfa.sql): enroll, challenge, verify with a
//! code computed here (RFC 6238), the `aal`/`amr` claims, a table that requires aal2, and every
//! refusal: wrong, replayed and expired codes, a reused challenge, the verify limit, someone
//! else's factor, unenrolling at aal1. `supabase_js_mfa` runs the real supabase-js `auth.mfa.*`.

use std::path::Path;
use std::process::Command;

use aws_lc_rs::hmac;
use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::*;

/// Ann and Ben, and `api.vault`, readable only at aal2 (the policy helper `internal.aal()`).
const SETUP: &str = "
insert into auth.users (email, encrypted_password) values
  ('ann@example.com', crypt('correct horse', gen_salt('bf', 4))),
  ('ben@example.com', crypt('battery staple', gen_salt('bf', 4)));
create table api.vault (id bigint primary key, secret text not null);
alter table api.vault enable row level security;
create policy vault_aal2 on api.vault for select to authenticated using (internal.aal() = 'aal2');
grant select on api.vault to authenticated;
insert into api.vault values (1, 'launch codes');
";

async fn start() -> Gateway {
    let db = TestDb::new().await;
    db.admin().await.batch_execute(SETUP).await.expect("setup");
    let key = rowgate::auth::signing::SigningKey::generate_jwk().unwrap();
    let cfg = config(&db, |a| {
        a.jwt_signing_key = Some(key);
        a.db_pre_request = Some("internal.check_request".into());
        a.mfa_encryption_key = Some("test mfa key".into());
    });
    Gateway::start_on(db, cfg).await
}

async fn login(g: &Gateway, email: &str, password: &str) -> Value {
    let body = json!({"email": email, "password": password}).to_string();
    let r = g.send(Method::POST, "/auth/v1/token?grant_type=password", &[], &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

fn auth(session: &Value) -> String {
    format!("Bearer {}", session["access_token"].as_str().unwrap())
}

fn claims(session: &Value) -> Value {
    let payload = session["access_token"].as_str().unwrap().split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

async fn post(g: &Gateway, session: &Value, path: &str, body: Value) -> Reply {
    g.send(Method::POST, path, &[("authorization", &auth(session))], &body.to_string()).await
}

fn base32_decode(s: &str) -> Vec<u8> {
    let (mut out, mut buffer, mut bits) = (Vec::new(), 0u32, 0);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => panic!("not base32: {s}"),
        };
        buffer = (buffer << 5) | u32::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    out
}

/// RFC 6238 with SHA-1, six digits, 30-second steps; `offset` in steps from now.
pub(crate) fn totp(secret_base32: &str, offset: i64) -> String {
    let step = (now() as i64 / 30 + offset) as u64;
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &base32_decode(secret_base32));
    let h = hmac::sign(&key, &step.to_be_bytes());
    let h = h.as_ref();
    let o = usize::from(h[19] & 15);
    let bin = u32::from_be_bytes([h[o] & 127, h[o + 1], h[o + 2], h[o + 3]]);
    format!("{:06}", bin % 1_000_000)
}

/// A code no step of the accepted window has.
fn wrong_code(secret: &str) -> String {
    let window = [totp(secret, -1), totp(secret, 0), totp(secret, 1)];
    ["000000", "000001", "000002", "000003"].into_iter().find(|c| !window.iter().any(|w| w == c)).unwrap().into()
}

fn error_code(r: &Reply) -> String {
    r.json()["error_code"].as_str().unwrap_or_default().to_string()
}

/// Enrolls a TOTP factor for the session; (factor id, secret).
async fn enroll(g: &Gateway, session: &Value, name: &str) -> (String, String) {
    let r = post(g, session, "/auth/v1/factors", json!({"factor_type": "totp", "friendly_name": name})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let f = r.json();
    (f["id"].as_str().unwrap().into(), f["totp"]["secret"].as_str().unwrap().into())
}

async fn challenge(g: &Gateway, session: &Value, factor: &str) -> String {
    let r = post(g, session, &format!("/auth/v1/factors/{factor}/challenge"), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["id"].as_str().unwrap().into()
}

async fn verify(g: &Gateway, session: &Value, factor: &str, challenge: &str, code: &str) -> Reply {
    post(g, session, &format!("/auth/v1/factors/{factor}/verify"), json!({"challenge_id": challenge, "code": code}))
        .await
}

#[tokio::test]
async fn mfa_totp_enroll_verify_raises_the_session_to_aal2() {
    let g = start().await;
    let ann = login(&g, "ann@example.com", "correct horse").await;
    let c = claims(&ann);
    assert_eq!(c["aal"], "aal1");
    assert_eq!(c["amr"][0]["method"], "password", "{c}");
    assert_eq!(vault(&g, &ann).await.body, "[]", "aal1 reads nothing of a table that requires aal2");

    let r =
        post(&g, &ann, "/auth/v1/factors", json!({"factor_type": "totp", "friendly_name": "phone", "issuer": "Acme"}))
            .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let f = r.json();
    assert_eq!((f["type"].as_str(), f["friendly_name"].as_str()), (Some("totp"), Some("phone")));
    let secret = f["totp"]["secret"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 32, "160 bits in base32");
    let uri = f["totp"]["uri"].as_str().unwrap();
    assert!(
        uri.starts_with("otpauth://totp/Acme:ann%40example%2Ecom?") && uri.ends_with(&format!("secret={secret}")),
        "{uri}"
    );
    assert!(f["totp"]["qr_code"].as_str().unwrap().contains("<svg"));
    let factor = f["id"].as_str().unwrap().to_string();

    // Stored encrypted: the column is not the secret, and decrypts to it only with the key.
    let admin = g.db.admin().await;
    let row = admin
        .query_one(
            "select position(decode($2, 'hex') in secret) = 0,
                    encode(pgp_sym_decrypt_bytea(secret, 'test mfa key'), 'hex')
               from auth.mfa_factors where id = $1::text::uuid",
            &[&factor, &hex(&base32_decode(&secret))],
        )
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0), "the plain secret is not in the column");
    assert_eq!(row.get::<_, String>(1), hex(&base32_decode(&secret)));

    let user = g.get_with("/auth/v1/user", &[("authorization", &auth(&ann))]).await.json();
    assert_eq!(user["factors"][0]["status"], "unverified", "{user}");

    let ch = challenge(&g, &ann, &factor).await;
    let r = verify(&g, &ann, &factor, &ch, &wrong_code(&secret)).await;
    assert_eq!((r.status, error_code(&r)), (422, "mfa_verification_failed".into()), "{}", r.body);
    let code = totp(&secret, 0);
    let r = verify(&g, &ann, &factor, &ch, &code).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let aal2 = r.json();
    let c = claims(&aal2);
    assert_eq!(c["aal"], "aal2", "{c}");
    assert_eq!(c["session_id"], claims(&ann)["session_id"], "the same session, raised");
    let methods: Vec<&str> = c["amr"].as_array().unwrap().iter().filter_map(|m| m["method"].as_str()).collect();
    assert_eq!(methods, ["password", "totp"]);
    assert_eq!(aal2["user"]["factors"][0]["status"], "verified");
    assert_eq!(vault(&g, &aal2).await.json(), json!([{"id": 1, "secret": "launch codes"}]));

    // The challenge is spent; the same code in a new challenge is a replay.
    let r = verify(&g, &aal2, &factor, &ch, &code).await;
    assert_eq!((r.status, error_code(&r)), (422, "mfa_ip_address_mismatch".into()), "{}", r.body);
    let ch2 = challenge(&g, &aal2, &factor).await;
    let r = verify(&g, &aal2, &factor, &ch2, &code).await;
    assert_eq!((r.status, error_code(&r)), (422, "mfa_verification_failed".into()), "replayed: {}", r.body);
    let r = verify(&g, &aal2, &factor, &ch2, &totp(&secret, -1)).await;
    assert_eq!(r.status, 422, "a code older than the last one used: {}", r.body);

    // Refresh keeps aal2; a new password sign-in is aal1 and cannot read the vault or unenroll.
    let body = json!({"refresh_token": aal2["refresh_token"]}).to_string();
    let r = g.send(Method::POST, "/auth/v1/token?grant_type=refresh_token", &[], &body).await;
    assert_eq!(claims(&r.json())["aal"], "aal2", "{}", r.body);
    let ann2 = login(&g, "ann@example.com", "correct horse").await;
    assert_eq!(claims(&ann2)["aal"], "aal1");
    assert_eq!(vault(&g, &ann2).await.body, "[]");
    let r = g.send(Method::DELETE, &format!("/auth/v1/factors/{factor}"), &[("authorization", &auth(&ann2))], "").await;
    assert_eq!((r.status, error_code(&r)), (422, "insufficient_aal".into()), "{}", r.body);
    let r = post(&g, &ann2, "/auth/v1/factors", json!({"factor_type": "totp", "friendly_name": "second"})).await;
    assert_eq!((r.status, error_code(&r)), (403, "insufficient_aal".into()), "{}", r.body);

    // Unenrolled at aal2: gone, and the session it raised is back to aal1.
    let r = g.send(Method::DELETE, &format!("/auth/v1/factors/{factor}"), &[("authorization", &auth(&aal2))], "").await;
    assert_eq!((r.status, r.json()["id"].as_str()), (200, Some(factor.as_str())), "{}", r.body);
    let user = g.get_with("/auth/v1/user", &[("authorization", &auth(&aal2))]).await.json();
    assert!(user.get("factors").is_none(), "{user}");
    let aal: String = admin
        .query_one("select aal from auth.sessions where id = $1::text::uuid", &[&c["session_id"].as_str().unwrap()])
        .await
        .unwrap()
        .get(0);
    assert_eq!(aal, "aal1");
}

async fn vault(g: &Gateway, session: &Value) -> Reply {
    g.get_with("/vault", &[("authorization", &auth(session))]).await
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn mfa_refusals_expired_limited_foreign_and_malformed() {
    let g = start().await;
    let ann = login(&g, "ann@example.com", "correct horse").await;
    let ben = login(&g, "ben@example.com", "battery staple").await;
    let r = g.send(Method::POST, "/auth/v1/factors", &[], r#"{"factor_type":"totp"}"#).await;
    assert_eq!((r.status, error_code(&r)), (401, "no_authorization".into()));
    for (kind, status, code) in [
        ("sms", 400, "validation_failed"),
        ("phone", 422, "mfa_phone_enroll_not_enabled"),
        ("", 400, "validation_failed"),
    ] {
        let r = post(&g, &ann, "/auth/v1/factors", json!({"factor_type": kind})).await;
        assert_eq!((r.status, error_code(&r).as_str()), (status, code), "{kind}: {}", r.body);
    }
    let (factor, secret) = enroll(&g, &ann, "phone").await;
    let r = post(&g, &ann, "/auth/v1/factors", json!({"factor_type": "totp", "friendly_name": "phone"})).await;
    assert_eq!((r.status, error_code(&r)), (422, "mfa_factor_name_conflict".into()));

    // Ben cannot see, challenge, verify or remove ann's factor; malformed ids are not found.
    for path in [format!("/auth/v1/factors/{factor}/challenge"), "/auth/v1/factors/not-a-uuid/challenge".into()] {
        let r = post(&g, &ben, &path, json!({})).await;
        assert_eq!((r.status, error_code(&r)), (404, "mfa_factor_not_found".into()), "{path}: {}", r.body);
    }
    let r = g.send(Method::DELETE, &format!("/auth/v1/factors/{factor}"), &[("authorization", &auth(&ben))], "").await;
    assert_eq!(r.status, 404);
    let ch = challenge(&g, &ann, &factor).await;
    let r = verify(&g, &ben, &factor, &ch, &totp(&secret, 0)).await;
    assert_eq!(r.status, 404, "{}", r.body);
    for body in
        [json!({"challenge_id": ch, "code": ""}), json!({"challenge_id": "x", "code": "123456"}), json!({"code": "1"})]
    {
        let r = post(&g, &ann, &format!("/auth/v1/factors/{factor}/verify"), body.clone()).await;
        assert_eq!((r.status, error_code(&r)), (400, "validation_failed".into()), "{body}: {}", r.body);
    }
    let r = verify(&g, &ann, &factor, &uuid_of(&g).await, "123456").await;
    assert_eq!((r.status, error_code(&r)), (422, "mfa_factor_not_found".into()), "{}", r.body);

    // A challenge older than five minutes has expired, even with the right code.
    let admin = g.db.admin().await;
    admin
        .execute(
            "update auth.mfa_challenges set created_at = now() - interval '6 minutes' where id = $1::text::uuid",
            &[&ch],
        )
        .await
        .unwrap();
    let r = verify(&g, &ann, &factor, &ch, &totp(&secret, 0)).await;
    assert_eq!((r.status, error_code(&r)), (422, "mfa_challenge_expired".into()), "{}", r.body);

    // Five wrong codes, then even the right one is refused with 429 while they count.
    let ch = challenge(&g, &ann, &factor).await;
    let right = totp(&secret, 0);
    for _ in 0..5 {
        let r = verify(&g, &ann, &factor, &ch, &wrong_code(&secret)).await;
        assert_eq!(error_code(&r), "mfa_verification_failed", "{}", r.body);
    }
    let r = verify(&g, &ann, &factor, &ch, &right).await;
    assert_eq!((r.status, error_code(&r)), (429, "over_request_rate_limit".into()), "{}", r.body);
    assert!(r.header("retry-after").is_some());
    admin.execute("update auth.mfa_failures set at = at - interval '10 minutes'", &[]).await.unwrap();
    let r = verify(&g, &ann, &factor, &ch, &right).await;
    assert_eq!(r.status, 200, "after the failures age out: {}", r.body);

    // A token without a session (an API-style token) cannot enroll.
    let sub = claims(&ann)["sub"].clone();
    let r = g
        .send(
            Method::POST,
            "/auth/v1/factors",
            &[("authorization", &bearer(json!({"role": "authenticated", "sub": sub})))],
            "{}",
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
}

async fn uuid_of(g: &Gateway) -> String {
    g.db.admin().await.query_one("select gen_random_uuid()::text", &[]).await.unwrap().get(0)
}

/// supabase-js `auth.mfa.enroll/challenge/verify/listFactors/getAuthenticatorAssuranceLevel/
/// unenroll` unchanged, and `from('vault')` before and after aal2: tests/clients/supabase_mfa.mjs.
#[tokio::test]
async fn supabase_js_mfa() {
    let g = start().await;
    let anon_key = token(json!({"role": "anon"}));
    let origin = g.url("");
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("tests/clients/supabase_mfa.mjs")
            .arg(&origin)
            .arg(&anon_key)
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
        "supabase-js MFA failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
}

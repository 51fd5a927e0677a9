//! Signing keys: `rowgate keys generate`, ROWGATE_JWT_SIGNING_KEY, the published JWKS.

use rowgate::auth::signing::SigningKey;
use serde_json::json;

use crate::harness::*;

const BIN: &str = env!("CARGO_BIN_EXE_rowgate");

fn generate(args: &[&str]) -> String {
    let out = std::process::Command::new(BIN).arg("keys").arg("generate").args(args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[tokio::test]
async fn generated_keys_sign_tokens_the_gateway_trusts_and_publishes() {
    let jwk = generate(&[]);
    let g = Gateway::start_with(|a| a.jwt_signing_key = Some(jwk.clone())).await;
    let r = g.get("/auth/v1/.well-known/jwks.json").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let jwks = r.json();
    let published = &jwks["keys"][0];
    let private: serde_json::Value = serde_json::from_str(&jwk).unwrap();
    assert_eq!(published["kid"], private["kid"]);
    assert_eq!(published["alg"], "ES256");
    assert!(published.get("d").is_none(), "the private part must never be published");

    // A token signed with the key is accepted next to the HS256 secret.
    let key = SigningKey::parse(&jwk).unwrap();
    let token = key.sign(&json!({"role": "authenticated", "sub": "es256-user"})).unwrap();
    let r = g.get_with("/whoami", &[("authorization", &format!("Bearer {token}"))]).await;
    assert_eq!(r.json()[0]["role"], "authenticated", "{}", r.body);
    // ...and one signed by another ES256 key is not.
    let other = SigningKey::parse(&generate(&[])).unwrap();
    let forged = other.sign(&json!({"role": "authenticated"})).unwrap();
    let r = g.get_with("/whoami", &[("authorization", &format!("Bearer {forged}"))]).await;
    assert_eq!((r.status, r.code()), (401, "PGRST301".to_string()));
}

#[tokio::test]
async fn without_a_signing_key_the_jwks_is_empty() {
    let g = Gateway::start().await;
    assert_eq!(g.get("/auth/v1/.well-known/jwks.json").await.json(), json!({"keys": []}));
    assert_eq!(g.get("/auth/v1/nope").await.status, 404);
}

#[test]
fn generate_secret_and_bad_keys() {
    assert!(generate(&["--secret"]).len() >= 32);
    let out = std::process::Command::new(BIN)
        .env("DATABASE_URL", "host=/nonexistent user=authenticator")
        .env("ROWGATE_JWT_SIGNING_KEY", "{\"kty\":\"EC\"}")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().filter(|l| !l.is_empty()).count(), 1, "{stderr}");
    assert!(stderr.contains("ROWGATE_JWT_SIGNING_KEY"), "{stderr}");
}

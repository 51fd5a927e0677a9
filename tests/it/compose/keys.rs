//! The signing-key rotation of docs/operations.md with the values .env holds.

use super::*;

async fn post(g: &crate::harness::Gateway, path: &str, body: Value) -> crate::harness::Reply {
    g.send(reqwest::Method::POST, path, &[], &body.to_string()).await
}

/// Does `/auth/v1/user` accept the bearer token?
async fn verifies(g: &crate::harness::Gateway, bearer: &str) -> bool {
    g.get_with("/auth/v1/user", &[("authorization", bearer)]).await.status == 200
}

/// docs/operations.md's signing-key rotation, with the values .env would hold: the old and the
/// new key are trusted side by side through ROWGATE_JWT_SECRET as a JWKS (the HS256 secret as an
/// `oct` key next to the public halves), so at every step of a rolling restart a token signed by
/// any instance verifies on every other, and a session started before the rotation refreshes
/// after it: nobody is logged out.
#[tokio::test(flavor = "multi_thread")]
async fn signing_keys_rotate_without_logging_anyone_out() {
    use crate::harness::{config, token, Gateway, TestDb, SECRET};
    use base64::Engine as _;
    use rowgate::auth::signing::SigningKey;

    let db = TestDb::new().await;
    db.admin()
        .await
        .batch_execute("insert into auth.users (email, encrypted_password) values ('rot@example.com', crypt('correct horse', gen_salt('bf', 4)))")
        .await
        .expect("user");
    let (k1, k2) = (SigningKey::generate_jwk().expect("k1"), SigningKey::generate_jwk().expect("k2"));
    let public = |k: &str| SigningKey::parse(k).expect("key").jwks()["keys"][0].clone();
    let oct = serde_json::json!({"kty": "oct", "k": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(SECRET)});
    let jwks = |extra: &str| serde_json::json!({"keys": [oct.clone(), public(extra)]}).to_string();
    // (ROWGATE_JWT_SECRET, ROWGATE_JWT_SIGNING_KEY) of each phase.
    let phases = [
        ("0: before", SECRET.to_string(), k1.clone()),
        ("1: trust the new key", jwks(&k2), k1.clone()),
        ("2: sign with the new key, trust the old", jwks(&k1), k2.clone()),
        ("3: after the access-token lifetime", SECRET.to_string(), k2.clone()),
    ];
    let mut gateways = Vec::new();
    for (name, secret, key) in &phases {
        let cfg = config(&db, |a| {
            a.jwt_secret = Some(secret.clone());
            a.jwt_signing_key = Some(key.clone());
            a.db_pre_request = Some("internal.check_request".into());
        });
        gateways.push((*name, Gateway::start_on(TestDb { name: db.name.clone() }, cfg).await));
    }
    let anon = format!("Bearer {}", token(serde_json::json!({"role": "anon"})));

    // A session from before the rotation (signed with k1).
    let r = post(
        &gateways[0].1,
        "/auth/v1/token?grant_type=password",
        serde_json::json!({"email": "rot@example.com", "password": "correct horse"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let old = r.json();
    let old_bearer = format!("Bearer {}", old["access_token"].as_str().unwrap());

    // Phases 0–2 run side by side during the rolling restarts: a k1 token verifies on all of them.
    for (name, g) in &gateways[..3] {
        assert!(verifies(g, &old_bearer).await, "phase {name} refuses a k1 token");
        assert_eq!(g.get_with("/whoami", &[("authorization", &anon)]).await.status, 200, "phase {name}: anon key");
    }
    // Phase 2 refreshes the old session into a k2 token, which phases 1–3 accept.
    let r = post(
        &gateways[2].1,
        "/auth/v1/token?grant_type=refresh_token",
        serde_json::json!({"refresh_token": old["refresh_token"]}),
    )
    .await;
    assert_eq!(r.status, 200, "the pre-rotation refresh token still works: {}", r.body);
    let new_bearer = format!("Bearer {}", r.json()["access_token"].as_str().unwrap());
    for (name, g) in &gateways[1..] {
        assert!(verifies(g, &new_bearer).await, "phase {name} refuses a k2 token");
    }
    // Phase 0 would not (so phase 1 must be everywhere before phase 2 starts), and phase 3 no
    // longer takes k1 tokens (so it waits until every k1 token has expired: ROWGATE_JWT_EXP).
    assert!(!verifies(&gateways[0].1, &new_bearer).await);
    assert!(!verifies(&gateways[3].1, &old_bearer).await);
    assert_eq!(gateways[3].1.get_with("/whoami", &[("authorization", &anon)]).await.status, 200);
}

//! Authentication over HTTP: anonymous role, JWT verification (HS256, RS256/ES256 via JWKS),
//! claim checks, role switching, RLS by claim and the PostgREST 401/403 rules.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::harness::*;

const RSA1_PRIVATE: &str = include_str!("../../src/auth/testdata/rsa1_private.pem");
const RSA1_PUBLIC_PEM: &str = include_str!("../../src/auth/testdata/rsa1_public.pem");
const RSA1_PUBLIC_JWK: &str = include_str!("../../src/auth/testdata/rsa1_public.jwk.json");
const RSA2_PRIVATE: &str = include_str!("../../src/auth/testdata/rsa2_private.pem");
const EC_PRIVATE: &str = include_str!("../../src/auth/testdata/ec_private.pem");
const EC_PUBLIC_JWK: &str = include_str!("../../src/auth/testdata/ec_public.jwk.json");

/// The single row of `/whoami`.
async fn whoami(g: &Gateway, headers: &[(&str, &str)]) -> Value {
    let r = g.get_with("/whoami", headers).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let rows = r.json();
    assert_eq!(rows.as_array().map(Vec::len), Some(1), "{}", r.body);
    rows[0].clone()
}

/// `request.jwt.claims` as seen inside the transaction, parsed.
fn claims_of(row: &Value) -> Value {
    serde_json::from_str(row["claims"].as_str().expect("claims text")).expect("claims JSON")
}

/// A 401 PGRST301/PGRST303 with the body message and the matching `WWW-Authenticate`.
fn assert_token_error(r: &Reply, code: &str, message: Option<&str>) {
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.code(), code, "{}", r.body);
    let body = r.json();
    let msg = body["message"].as_str().expect("message").to_string();
    if let Some(want) = message {
        assert_eq!(msg, want, "{}", r.body);
    }
    assert!(body.get("details").is_some() && body.get("hint").is_some(), "{}", r.body);
    assert_eq!(
        r.header("www-authenticate"),
        Some(format!("Bearer error=\"invalid_token\", error_description=\"{msg}\"").as_str()),
        "{:?}",
        r.headers
    );
    assert_eq!(r.header("content-type"), Some("application/json; charset=utf-8"));
}

fn sign(alg: Algorithm, kid: Option<&str>, key: &EncodingKey, claims: &Value) -> String {
    let header = Header { alg, kid: kid.map(str::to_string), ..Header::new(alg) };
    jsonwebtoken::encode(&header, claims, key).expect("sign")
}

fn rsa1_key() -> EncodingKey {
    EncodingKey::from_rsa_pem(RSA1_PRIVATE.as_bytes()).expect("rsa1 pem")
}

fn rsa2_key() -> EncodingKey {
    EncodingKey::from_rsa_pem(RSA2_PRIVATE.as_bytes()).expect("rsa2 pem")
}

fn ec_key() -> EncodingKey {
    EncodingKey::from_ec_pem(EC_PRIVATE.as_bytes()).expect("ec pem")
}

/// A JWK from the test data with extra members (`kid`, `alg`, `use`).
fn jwk(text: &str, extra: Value) -> Value {
    let mut v: Value = serde_json::from_str(text).expect("jwk json");
    let obj = v.as_object_mut().expect("jwk object");
    for (k, x) in extra.as_object().expect("extra object") {
        obj.insert(k.clone(), x.clone());
    }
    v
}

/// A JWKS with the RSA key 1 (kid rsa-1, RS256) and the EC key (kid ec-1, ES256).
fn jwks() -> String {
    json!({"keys": [
        jwk(RSA1_PUBLIC_JWK, json!({"kid": "rsa-1", "alg": "RS256", "use": "sig"})),
        jwk(EC_PUBLIC_JWK, json!({"kid": "ec-1", "alg": "ES256", "use": "sig"})),
    ]})
    .to_string()
}

fn b64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

// ---------------------------------------------------------------- identity and context

#[tokio::test]
async fn anonymous_request_runs_as_anon() {
    let g = Gateway::start().await;
    let row = whoami(&g, &[]).await;
    assert_eq!(row["role"], "anon");
    assert_eq!(claims_of(&row), json!({"role": "anon"}));
}

#[tokio::test]
async fn hs256_token_sets_role_claims_and_request_context() {
    let g = Gateway::start().await;
    let claims = json!({"role": "authenticated", "sub": "user-1", "tenant": "a", "exp": now() + 600});
    let auth = bearer(claims.clone());
    let row = whoami(&g, &[("Authorization", &auth), ("X-Custom-Header", "v"), ("Cookie", "a=1; b=2")]).await;
    assert_eq!(row["role"], "authenticated");
    // Every claim of the token is visible, plus role.
    assert_eq!(claims_of(&row), claims);
    assert_eq!(row["method"], "GET");
    assert_eq!(row["path"], "/whoami");
    assert_eq!(row["headers"]["x-custom-header"], "v");
    assert!(row["headers"].get("X-Custom-Header").is_none(), "header names are lower-cased");
    assert_eq!(row["headers"]["authorization"], auth.as_str());
    assert_eq!(row["cookies"], json!({"a": "1", "b": "2"}));
    assert_eq!(row["search_path"], "\"api\", \"public\"");
    assert_eq!(row["statement_timeout"], "8s");
    assert_eq!(row["read_only"], "on");
    assert_eq!(row["isolation"], "read committed");
}

#[tokio::test]
async fn token_without_role_falls_back_to_anon_with_its_claims() {
    let g = Gateway::start().await;
    let row = whoami(&g, &[("Authorization", &bearer(json!({"sub": "x"})))]).await;
    assert_eq!(row["role"], "anon");
    assert_eq!(claims_of(&row), json!({"sub": "x", "role": "anon"}));
}

#[tokio::test]
async fn custom_role_claim_path() {
    let g = Gateway::start_with(|a| a.jwt_role_claim = Some("$.app.role".into())).await;
    let claims = json!({"app": {"role": "authenticated"}, "role": "anon"});
    let row = whoami(&g, &[("Authorization", &bearer(claims))]).await;
    assert_eq!(row["role"], "authenticated");
    // The top-level role is overwritten with the one actually used.
    assert_eq!(claims_of(&row)["role"], "authenticated");
    assert_eq!(claims_of(&row)["app"], json!({"role": "authenticated"}));
}

#[tokio::test]
async fn basic_authorization_is_anonymous() {
    let g = Gateway::start().await;
    let r = g.get_with("/items?select=id&order=id", &[("Authorization", "Basic xyz")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.ids(), vec![1, 2, 3, 4, 5]);
    let row = whoami(&g, &[("Authorization", "Basic xyz")]).await;
    assert_eq!(row["role"], "anon");
}

// ---------------------------------------------------------------- RLS by claim

#[tokio::test]
async fn rls_by_tenant_claim() {
    let g = Gateway::start().await;
    let get = |claims: Value| {
        let g = &g;
        async move {
            let auth = bearer(claims);
            g.get_with("/notes?select=id,tenant&order=id", &[("Authorization", &auth)]).await
        }
    };
    let a = get(json!({"role": "authenticated", "tenant": "a"})).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.ids(), vec![1, 2]);
    let b = get(json!({"role": "authenticated", "tenant": "b"})).await;
    assert_eq!(b.status, 200, "{}", b.body);
    assert_eq!(b.ids(), vec![3]);
    let none = get(json!({"role": "authenticated"})).await;
    assert_eq!(none.status, 200, "{}", none.body);
    assert_eq!(none.ids(), Vec::<i64>::new());
    assert_eq!(none.body.trim(), "[]");
}

#[tokio::test]
async fn rls_hides_other_tenants_under_filters_and_counts() {
    let g = Gateway::start().await;
    let auth = bearer(json!({"role": "authenticated", "tenant": "a"}));
    let r = g
        .get_with(
            "/notes?select=id&or=(tenant.eq.b,tenant.eq.c)",
            &[("Authorization", &auth), ("Prefer", "count=exact")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.ids(), Vec::<i64>::new());
    assert_eq!(r.header("content-range"), Some("*/0"));

    let r = g.get_with("/notes?select=id&order=id", &[("Authorization", &auth), ("Prefer", "count=exact")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.ids(), vec![1, 2]);
    assert_eq!(r.header("content-range"), Some("0-1/2"));

    let r = g.get_with("/notes?select=id&id=in.(3,4)", &[("Authorization", &auth)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.ids(), Vec::<i64>::new());
}

#[tokio::test]
async fn rls_table_without_anon_grant_is_401_for_anonymous() {
    let g = Gateway::start().await;
    let r = g.get("/notes").await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.code(), "42501");
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    assert_eq!(r.header("content-type"), Some("application/json; charset=utf-8"));
}

// ---------------------------------------------------------------- 401 vs 403

#[tokio::test]
async fn insufficient_privilege_with_token_is_403() {
    let g = Gateway::start().await;
    let auth = bearer(json!({"role": "authenticated"}));
    let r = g.get_with("/secret_things", &[("Authorization", &auth)]).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.code(), "42501");
    assert!(r.json()["message"].as_str().unwrap().contains("permission denied"), "{}", r.body);
    assert_eq!(r.header("www-authenticate"), None);
}

#[tokio::test]
async fn insufficient_privilege_anonymous_is_401() {
    let g = Gateway::start().await;
    let r = g.get("/private_things").await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.code(), "42501");
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    // The same table is fine for authenticated.
    let auth = bearer(json!({"role": "authenticated"}));
    let r = g.get_with("/private_things", &[("Authorization", &auth)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body.trim(), "[]");
}

#[tokio::test]
async fn role_claim_naming_missing_role_is_401() {
    let g = Gateway::start().await;
    let auth = bearer(json!({"role": "no_such_role_xyz"}));
    let r = g.get_with("/items", &[("Authorization", &auth)]).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.code(), "22023");
    assert_eq!(r.json()["message"], "role \"no_such_role_xyz\" does not exist");
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
}

#[tokio::test]
async fn role_claim_naming_ungranted_role_is_403() {
    let g = Gateway::start().await;
    let auth = bearer(json!({"role": "stranger"}));
    let r = g.get_with("/items", &[("Authorization", &auth)]).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.code(), "42501");
    assert_eq!(r.json()["message"], "permission denied to set role \"stranger\"");
}

// ---------------------------------------------------------------- token failures

#[tokio::test]
async fn bad_signature_is_pgrst301() {
    let g = Gateway::start().await;
    let forged =
        rowgate::auth::mint_hs256("another-secret-that-is-long-enough-0123456789", &json!({"role": "authenticated"}));
    let r = g.get_with("/items", &[("Authorization", &format!("Bearer {forged}"))]).await;
    assert_token_error(&r, "PGRST301", Some("JWT cryptographic operation failed"));
}

#[tokio::test]
async fn tampered_payload_is_pgrst301() {
    let g = Gateway::start().await;
    let t = token(json!({"role": "anon"}));
    let parts: Vec<&str> = t.split('.').collect();
    let payload = b64url(br#"{"role":"authenticated"}"#);
    let tampered = format!("{}.{}.{}", parts[0], payload, parts[2]);
    let r = g.get_with("/whoami", &[("Authorization", &format!("Bearer {tampered}"))]).await;
    assert_token_error(&r, "PGRST301", None);
}

#[tokio::test]
async fn expired_token_is_pgrst303_with_leeway() {
    let g = Gateway::start().await;
    let auth = bearer(json!({"role": "authenticated", "exp": now() - 60}));
    let r = g.get_with("/items", &[("Authorization", &auth)]).await;
    assert_token_error(&r, "PGRST303", Some("JWT expired"));

    // Within the 30 s leeway.
    let auth = bearer(json!({"role": "authenticated", "exp": now() - 10}));
    let row = whoami(&g, &[("Authorization", &auth)]).await;
    assert_eq!(row["role"], "authenticated");
}

#[tokio::test]
async fn expired_token_is_rejected_after_being_cached() {
    // The first use is accepted (inside the leeway) and cached; a cached token must still
    // have its time claims re-checked.
    let g = Gateway::start().await;
    let exp = now() - 27;
    let auth = bearer(json!({"role": "authenticated", "exp": exp}));
    let row = whoami(&g, &[("Authorization", &auth)]).await;
    assert_eq!(row["role"], "authenticated");
    while now() <= exp + 31 {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let r = g.get_with("/whoami", &[("Authorization", &auth)]).await;
    assert_token_error(&r, "PGRST303", Some("JWT expired"));
}

#[tokio::test]
async fn not_yet_valid_token_is_pgrst303() {
    let g = Gateway::start().await;
    let auth = bearer(json!({"role": "authenticated", "nbf": now() + 120}));
    let r = g.get_with("/items", &[("Authorization", &auth)]).await;
    assert_token_error(&r, "PGRST303", Some("JWT not yet valid"));
    // nbf slightly in the future is within the leeway.
    let auth = bearer(json!({"role": "authenticated", "nbf": now() + 10}));
    assert_eq!(whoami(&g, &[("Authorization", &auth)]).await["role"], "authenticated");
}

#[tokio::test]
async fn issued_in_the_future_is_pgrst303() {
    let g = Gateway::start().await;
    let auth = bearer(json!({"role": "authenticated", "iat": now() + 120}));
    let r = g.get_with("/items", &[("Authorization", &auth)]).await;
    assert_token_error(&r, "PGRST303", Some("JWT issued at future"));
}

#[tokio::test]
async fn non_numeric_exp_is_pgrst303() {
    let g = Gateway::start().await;
    let auth = bearer(json!({"role": "authenticated", "exp": "tomorrow"}));
    let r = g.get_with("/items", &[("Authorization", &auth)]).await;
    assert_token_error(&r, "PGRST303", Some("JWT claim 'exp' must be a number"));
}

#[tokio::test]
async fn audience_is_checked() {
    let g = Gateway::start_with(|a| a.jwt_aud = Some("rowgate".into())).await;
    let r =
        g.get_with("/whoami", &[("Authorization", &bearer(json!({"role": "authenticated", "aud": "other"})))]).await;
    assert_token_error(&r, "PGRST303", Some("JWT not in audience"));
    let r =
        g.get_with("/whoami", &[("Authorization", &bearer(json!({"role": "authenticated", "aud": ["x", "y"]})))]).await;
    assert_token_error(&r, "PGRST303", Some("JWT not in audience"));

    for claims in [
        json!({"role": "authenticated", "aud": "rowgate"}),
        json!({"role": "authenticated", "aud": ["x", "rowgate"]}),
        json!({"role": "authenticated"}),
    ] {
        let row = whoami(&g, &[("Authorization", &bearer(claims.clone()))]).await;
        assert_eq!(row["role"], "authenticated", "{claims}");
    }
}

#[tokio::test]
async fn alg_none_is_pgrst301() {
    let g = Gateway::start().await;
    let header = b64url(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = b64url(br#"{"role":"authenticated"}"#);
    let unsigned = format!("{header}.{payload}.");
    let r = g.get_with("/whoami", &[("Authorization", &format!("Bearer {unsigned}"))]).await;
    assert_token_error(&r, "PGRST301", None);
}

#[tokio::test]
async fn hs_rs_confusion_is_pgrst301() {
    let g = start_verifying_only(RSA1_PUBLIC_JWK.trim().to_string()).await;
    // The classic attack: HMAC keyed with the (public) RSA key text.
    let forged = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &json!({"role": "authenticated"}),
        &EncodingKey::from_secret(RSA1_PUBLIC_PEM.as_bytes()),
    )
    .unwrap();
    let r = g.get_with("/whoami", &[("Authorization", &format!("Bearer {forged}"))]).await;
    assert_token_error(&r, "PGRST301", Some("No suitable key or wrong key type"));
    let forged = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &json!({"role": "authenticated"}),
        &EncodingKey::from_secret(RSA1_PUBLIC_JWK.trim().as_bytes()),
    )
    .unwrap();
    let r = g.get_with("/whoami", &[("Authorization", &format!("Bearer {forged}"))]).await;
    assert_token_error(&r, "PGRST301", Some("No suitable key or wrong key type"));

    // A genuine RS256 token works with the same configuration.
    let good = sign(Algorithm::RS256, None, &rsa1_key(), &json!({"role": "authenticated"}));
    let row = whoami(&g, &[("Authorization", &format!("Bearer {good}"))]).await;
    assert_eq!(row["role"], "authenticated");
}

#[tokio::test]
async fn jwks_rs256_and_es256_tokens_verify() {
    let g = start_verifying_only(jwks()).await;
    let rs = sign(Algorithm::RS256, Some("rsa-1"), &rsa1_key(), &json!({"role": "authenticated", "k": "rs"}));
    let row = whoami(&g, &[("Authorization", &format!("Bearer {rs}"))]).await;
    assert_eq!(row["role"], "authenticated");
    assert_eq!(claims_of(&row)["k"], "rs");

    let es = sign(Algorithm::ES256, Some("ec-1"), &ec_key(), &json!({"role": "authenticated", "k": "es"}));
    let row = whoami(&g, &[("Authorization", &format!("Bearer {es}"))]).await;
    assert_eq!(row["role"], "authenticated");
    assert_eq!(claims_of(&row)["k"], "es");

    // Without a kid the key is chosen by algorithm.
    let rs = sign(Algorithm::RS256, None, &rsa1_key(), &json!({"role": "authenticated"}));
    let row = whoami(&g, &[("Authorization", &format!("Bearer {rs}"))]).await;
    assert_eq!(row["role"], "authenticated");

    // Anonymous requests still work with a JWKS configured.
    assert_eq!(whoami(&g, &[]).await["role"], "anon");
}

#[tokio::test]
async fn jwks_unknown_kid_is_pgrst301() {
    let g = start_verifying_only(jwks()).await;
    let t = sign(Algorithm::RS256, Some("nope"), &rsa1_key(), &json!({"role": "authenticated"}));
    let r = g.get_with("/whoami", &[("Authorization", &format!("Bearer {t}"))]).await;
    assert_token_error(&r, "PGRST301", Some("No suitable key or wrong key type"));
}

#[tokio::test]
async fn jwks_wrong_key_for_kid_is_pgrst301() {
    let g = start_verifying_only(jwks()).await;
    // Signed by rsa2, claiming to be rsa-1.
    let t = sign(Algorithm::RS256, Some("rsa-1"), &rsa2_key(), &json!({"role": "authenticated"}));
    let r = g.get_with("/whoami", &[("Authorization", &format!("Bearer {t}"))]).await;
    assert_token_error(&r, "PGRST301", Some("JWT cryptographic operation failed"));
    // An HS256 token with the plain test secret is not accepted by a JWKS without oct keys.
    let r = g.get_with("/whoami", &[("Authorization", &bearer(json!({"role": "authenticated"})))]).await;
    assert_token_error(&r, "PGRST301", Some("No suitable key or wrong key type"));
}

#[tokio::test]
async fn empty_bearer_is_pgrst301() {
    let g = Gateway::start().await;
    let r = g.get_with("/items", &[("Authorization", "Bearer ")]).await;
    assert_token_error(&r, "PGRST301", Some("Empty JWT is sent in Authorization header"));
}

#[tokio::test]
async fn garbage_bearer_is_pgrst301() {
    let g = Gateway::start().await;
    let r = g.get_with("/items", &[("Authorization", "Bearer abc")]).await;
    assert_token_error(&r, "PGRST301", Some("Expected 3 parts in JWT; got 1"));
    let r = g.get_with("/items", &[("Authorization", "Bearer a.b.c")]).await;
    assert_token_error(&r, "PGRST301", None);
    let r = g.get_with("/items", &[("Authorization", "bearer !!!.???.***")]).await;
    assert_token_error(&r, "PGRST301", None);
}

#[tokio::test]
async fn anon_disabled_without_token_is_pgrst302() {
    let g = Gateway::start_with(|a| a.db_anon_role = Some(String::new())).await;
    let r = g.get("/items").await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.code(), "PGRST302");
    assert_eq!(r.json()["message"], "Anonymous access is disabled");
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    // A token still works.
    let auth = bearer(json!({"role": "authenticated"}));
    assert_eq!(whoami(&g, &[("Authorization", &auth)]).await["role"], "authenticated");
}

/// A gateway that trusts public keys only: nothing signs /auth/v1 tokens, so the service is off.
async fn start_verifying_only(secret: String) -> Gateway {
    Gateway::start_with(|a| {
        a.jwt_secret = Some(secret);
        a.auth_enabled = Some("false".into());
    })
    .await
}

#[tokio::test]
async fn no_secret_configured_with_token_is_pgrst300() {
    // Without a secret nothing can sign /auth/v1 tokens: only with the auth service off.
    let g = Gateway::start_with(|a| {
        a.jwt_secret = None;
        a.auth_enabled = Some("false".into());
    })
    .await;
    let r = g.get_with("/items", &[("Authorization", &bearer(json!({"role": "authenticated"})))]).await;
    assert_eq!(r.status, 500, "{}", r.body);
    assert_eq!(r.code(), "PGRST300");
    assert_eq!(r.json()["message"], "Server lacks JWT secret");
    // Anonymous requests are unaffected; /auth/v1 is off.
    let r = g.get("/items?select=id&order=id").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.ids(), vec![1, 2, 3, 4, 5]);
    for path in ["/auth/v1/.well-known/jwks.json", "/auth/v1/user"] {
        assert_eq!(g.get(path).await.status, 404, "{path}");
    }
    let r =
        g.send(reqwest::Method::POST, "/auth/v1/signup", &[], r#"{"email":"a@b.co","password":"longenough"}"#).await;
    assert_eq!(r.status, 404, "{}", r.body);
}

#[tokio::test]
async fn startup_refuses_an_auth_service_without_a_key_that_can_sign() {
    let db = TestDb::new().await;
    let cfg = config(&db, |a| a.jwt_secret = None);
    match rowgate::app::start(cfg).await {
        Ok(running) => {
            running.shutdown().await;
            panic!("started an auth service that cannot sign");
        }
        Err(e) => assert!(e.to_string().starts_with("ROWGATE_JWT_SIGNING_KEY: not set"), "{e}"),
    }
}

#[tokio::test]
async fn startup_refuses_short_hs256_secret() {
    let db = TestDb::new().await;
    let cfg = config(&db, |a| a.jwt_secret = Some("too-short-secret".into()));
    match rowgate::app::start(cfg).await {
        Ok(running) => {
            running.shutdown().await;
            panic!("a 16-character secret was accepted");
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.contains("ROWGATE_JWT_SECRET"), "{msg}");
            assert!(msg.contains("too short"), "{msg}");
            assert!(!msg.contains("too-short-secret"), "the secret leaks into the error: {msg}");
        }
    }
}

//! Behaviour tests for the authentication module: shared keys and helpers here, the tests by
//! topic in the submodules.

mod cache;
mod keys;
mod roles;
mod verify;

use super::*;
use crate::error::ClientError;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::json;

const SECRET: &str = "reallyreallyreallyreallyverysafe"; // exactly 32 characters
const NOW: u64 = 1_700_000_000;

const RSA1_PRIVATE: &str = include_str!("../testdata/rsa1_private.pem");
const RSA1_PUBLIC_PEM: &str = include_str!("../testdata/rsa1_public.pem");
const RSA1_JWK: &str = include_str!("../testdata/rsa1_public.jwk.json");
const RSA2_PRIVATE: &str = include_str!("../testdata/rsa2_private.pem");
const RSA2_JWK: &str = include_str!("../testdata/rsa2_public.jwk.json");
const EC_PRIVATE: &str = include_str!("../testdata/ec_private.pem");
const EC_JWK: &str = include_str!("../testdata/ec_public.jwk.json");

fn config(secret: &str) -> AuthConfig {
    AuthConfig { secret: Some(secret.to_owned()), anon_role: Some("anon".to_owned()), ..AuthConfig::default() }
}

fn auth(secret: &str) -> Authenticator {
    Authenticator::new(config(secret)).expect("valid config")
}

fn run(a: &Authenticator, token: &str, now: u64) -> Result<Identity, AuthError> {
    a.authenticate(Some(format!("Bearer {token}").as_bytes()), now)
}

fn claims_of(id: &Identity) -> Value {
    serde_json::from_str(&id.claims).expect("claims are JSON")
}

/// Adds (or replaces) members of a JWK JSON fixture.
fn jwk_with(jwk: &str, extra: Value) -> Value {
    let mut v: Value = serde_json::from_str(jwk).unwrap();
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    v
}

fn sign(alg: Algorithm, key: &EncodingKey, kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

fn rs256(private_pem: &str, kid: Option<&str>, claims: &Value) -> String {
    let key = EncodingKey::from_rsa_pem(private_pem.as_bytes()).unwrap();
    sign(Algorithm::RS256, &key, kid, claims)
}

fn es256(kid: Option<&str>, claims: &Value) -> String {
    let key = EncodingKey::from_ec_pem(EC_PRIVATE.as_bytes()).unwrap();
    sign(Algorithm::ES256, &key, kid, claims)
}

/// Builds an unsigned token from raw header/payload JSON text.
fn raw_token(header: &str, payload: &str, signature: &str) -> String {
    format!("{}.{}.{signature}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(payload))
}

/// HS256-signs arbitrary payload bytes (which need not be a JSON object).
fn hs256_raw_payload(secret: &str, payload: &[u8]) -> String {
    hs256_raw(secret, r#"{"alg":"HS256","typ":"JWT"}"#, payload)
}

/// HS256-signs an arbitrary header and payload.
fn hs256_raw(secret: &str, header: &str, payload: &[u8]) -> String {
    let message = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(payload));
    let sig =
        jsonwebtoken::crypto::sign(message.as_bytes(), &EncodingKey::from_secret(secret.as_bytes()), Algorithm::HS256)
            .unwrap();
    format!("{message}.{sig}")
}

#[track_caller]
fn assert_err(res: Result<Identity, AuthError>, code: &str, message: &str) -> AuthError {
    let err = res.expect_err("expected an authentication error");
    assert_eq!(err.code(), code, "unexpected error: {err:?}");
    assert_eq!(err.message(), message);
    err
}

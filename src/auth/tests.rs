//! Behaviour tests for the authentication module.

use super::*;
use crate::error::ClientError;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::json;

const SECRET: &str = "reallyreallyreallyreallyverysafe"; // exactly 32 characters
const NOW: u64 = 1_700_000_000;

const RSA1_PRIVATE: &str = include_str!("testdata/rsa1_private.pem");
const RSA1_PUBLIC_PEM: &str = include_str!("testdata/rsa1_public.pem");
const RSA1_JWK: &str = include_str!("testdata/rsa1_public.jwk.json");
const RSA2_PRIVATE: &str = include_str!("testdata/rsa2_private.pem");
const RSA2_JWK: &str = include_str!("testdata/rsa2_public.jwk.json");
const EC_PRIVATE: &str = include_str!("testdata/ec_private.pem");
const EC_JWK: &str = include_str!("testdata/ec_public.jwk.json");

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

// ---------------------------------------------------------------- secrets

#[test]
fn hs256_plain_secret_success() {
    let a = auth(SECRET);
    let token = mint_hs256(SECRET, &json!({"role": "web_user", "sub": "u1"}));
    let id = run(&a, &token, NOW).unwrap();
    assert_eq!(&*id.role, "web_user");
    assert!(id.has_token);
    assert_eq!(claims_of(&id), json!({"role": "web_user", "sub": "u1"}));
}

#[test]
fn short_secret_refused_at_startup() {
    let short = &SECRET[..31];
    let err = Authenticator::new(config(short)).unwrap_err();
    assert!(matches!(err, KeyError::SecretTooShort { len: 31, .. }));
    let msg = err.to_string();
    assert!(msg.contains("ROWGATE_JWT_SECRET"), "{msg}");
    assert!(msg.contains("32"), "{msg}");
    assert!(!msg.contains('\n'), "{msg}");
    assert!(!msg.contains(short), "secret leaked: {msg}");
}

#[test]
fn secret_length_counts_characters() {
    // 32 multi-byte characters are accepted, 31 are not.
    assert!(Authenticator::new(config(&"é".repeat(32))).is_ok());
    assert!(Authenticator::new(config(&"é".repeat(31))).is_err());
}

struct TempFile(std::path::PathBuf);

impl TempFile {
    fn new(name: &str, content: &str) -> Self {
        let path = std::env::temp_dir().join(format!("rowgate-auth-test-{}-{name}", std::process::id()));
        std::fs::write(&path, content).unwrap();
        TempFile(path)
    }
    fn at_path(&self) -> String {
        format!("@{}", self.0.display())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn secret_from_file_is_trimmed() {
    let file = TempFile::new("plain", &format!("  {SECRET}\n\n"));
    let a = auth(&file.at_path());
    let token = mint_hs256(SECRET, &json!({"role": "file_user"}));
    assert_eq!(&*run(&a, &token, NOW).unwrap().role, "file_user");
    // The trailing newline is not part of the key.
    let other = mint_hs256(&format!("{SECRET}\n"), &json!({"role": "file_user"}));
    assert_err(run(&a, &other, NOW), "PGRST301", "JWT cryptographic operation failed");
}

#[test]
fn secret_file_with_jwks_and_errors() {
    let jwks = json!({"keys": [jwk_with(RSA1_JWK, json!({"kid": "k1"}))]});
    let file = TempFile::new("jwks", &jwks.to_string());
    let a = auth(&file.at_path());
    let token = rs256(RSA1_PRIVATE, Some("k1"), &json!({"role": "r"}));
    assert_eq!(&*run(&a, &token, NOW).unwrap().role, "r");

    let missing = Authenticator::new(config("@/nonexistent/rowgate/secret")).unwrap_err();
    assert!(matches!(missing, KeyError::SecretFileUnreadable { .. }));
    assert!(missing.to_string().contains("ROWGATE_JWT_SECRET"));

    let empty = TempFile::new("empty", " \n");
    let err = Authenticator::new(config(&empty.at_path())).unwrap_err();
    assert!(matches!(err, KeyError::SecretFileEmpty { .. }));

    let short = TempFile::new("short", "tooshort");
    let err = Authenticator::new(config(&short.at_path())).unwrap_err();
    assert!(matches!(err, KeyError::SecretTooShort { len: 8, .. }));
    assert!(err.to_string().contains("ROWGATE_JWT_SECRET"));
}

#[test]
fn invalid_json_and_unsupported_keys_are_key_errors() {
    let cases: Vec<(String, &str)> = vec![
        (r#"{"kty":"oct","k": supersecretvalue"#.to_owned(), "InvalidJson"),
        (r#"{"kty":"OKP","crv":"Ed25519","x":"abc"}"#.to_owned(), "InvalidJwk"),
        (r#"{"n":"abc"}"#.to_owned(), "InvalidJwk"),
        (r#"{"keys":"nope"}"#.to_owned(), "InvalidJwk"),
        (r#"{"keys":[]}"#.to_owned(), "NoUsableKeys"),
        (json!({"keys": [jwk_with(RSA1_JWK, json!({"use": "enc"}))]}).to_string(), "NoUsableKeys"),
        (jwk_with(RSA1_JWK, json!({"alg": "HS256"})).to_string(), "InvalidJwk"),
        (jwk_with(EC_JWK, json!({"alg": "ES384"})).to_string(), "InvalidJwk"),
        (jwk_with(EC_JWK, json!({"crv": "P-521"})).to_string(), "InvalidJwk"),
        (jwk_with(RSA1_JWK, json!({"kid": 7})).to_string(), "InvalidJwk"),
        (jwk_with(RSA1_JWK, json!({"n": "AQAB"})).to_string(), "InvalidJwk"),
        // 31-byte HMAC key
        (json!({"kty": "oct", "k": URL_SAFE_NO_PAD.encode([7u8; 31])}).to_string(), "InvalidJwk"),
    ];
    for (secret, kind) in cases {
        let err = Authenticator::new(config(&secret)).unwrap_err();
        let debug = format!("{err:?}");
        assert!(debug.starts_with(kind), "{secret}: {debug}");
        let msg = err.to_string();
        assert!(msg.contains("ROWGATE_JWT_SECRET"), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
        assert!(!msg.contains("supersecretvalue"), "secret leaked: {msg}");
    }
}

#[test]
fn jwks_skips_unusable_keys() {
    let jwks = json!({"keys": [
        {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
        jwk_with(RSA2_JWK, json!({"use": "enc"})),
        jwk_with(RSA1_JWK, json!({"alg": "RSA-OAEP"})),
        jwk_with(EC_JWK, json!({"use": "sig"})),
    ]});
    let a = auth(&jwks.to_string());
    assert_eq!(&*run(&a, &es256(None, &json!({"role": "r"})), NOW).unwrap().role, "r");
    // The skipped encryption keys are not used for verification.
    assert_err(run(&a, &rs256(RSA2_PRIVATE, None, &json!({})), NOW), "PGRST301", "No suitable key or wrong key type");
}

#[test]
fn empty_secret_means_no_secret() {
    let a = auth("");
    assert!(!a.has_secret());
    assert_eq!(&*a.authenticate(None, NOW).unwrap().role, "anon");
}

#[test]
fn invalid_role_claim_path_is_refused() {
    let err = Authenticator::new(AuthConfig { role_claim: "$.roles[".to_owned(), ..config(SECRET) }).unwrap_err();
    assert!(matches!(err, KeyError::InvalidRoleClaim { .. }));
    assert!(err.to_string().contains("ROWGATE_JWT_ROLE_CLAIM"));
}

// ------------------------------------------------------------------ JWKs

#[test]
fn jwk_oct_success() {
    let jwk = json!({"kty": "oct", "k": URL_SAFE_NO_PAD.encode(SECRET)});
    let a = auth(&jwk.to_string());
    let token = mint_hs256(SECRET, &json!({"role": "oct_user"}));
    assert_eq!(&*run(&a, &token, NOW).unwrap().role, "oct_user");
    let wrong = mint_hs256(&SECRET.to_uppercase(), &json!({"role": "oct_user"}));
    assert_err(run(&a, &wrong, NOW), "PGRST301", "JWT cryptographic operation failed");
}

#[test]
fn jwk_oct_with_hs512_alg_is_pinned() {
    let jwk = json!({"kty": "oct", "alg": "HS512", "k": URL_SAFE_NO_PAD.encode([9u8; 64])});
    let a = auth(&jwk.to_string());
    let key = EncodingKey::from_secret(&[9u8; 64]);
    let ok = sign(Algorithm::HS512, &key, None, &json!({"role": "r"}));
    assert_eq!(&*run(&a, &ok, NOW).unwrap().role, "r");
    let hs256 = sign(Algorithm::HS256, &key, None, &json!({"role": "r"}));
    assert_err(run(&a, &hs256, NOW), "PGRST301", "No suitable key or wrong key type");
}

#[test]
fn rs256_via_jwk() {
    let a = auth(RSA1_JWK);
    let token = rs256(RSA1_PRIVATE, None, &json!({"role": "rsa_user"}));
    assert_eq!(&*run(&a, &token, NOW).unwrap().role, "rsa_user");
    // Signed by a different RSA key.
    let other = rs256(RSA2_PRIVATE, None, &json!({"role": "rsa_user"}));
    assert_err(run(&a, &other, NOW), "PGRST301", "JWT cryptographic operation failed");
}

#[test]
fn rs256_via_jwks() {
    let jwks = json!({"keys": [jwk_with(RSA1_JWK, json!({"kid": "k1", "alg": "RS256", "use": "sig"}))]});
    let a = auth(&jwks.to_string());
    let token = rs256(RSA1_PRIVATE, Some("k1"), &json!({"role": "rsa_user"}));
    assert_eq!(&*run(&a, &token, NOW).unwrap().role, "rsa_user");
}

#[test]
fn es256_via_jwks() {
    let jwks = json!({"keys": [jwk_with(EC_JWK, json!({"kid": "ec"}))]});
    let a = auth(&jwks.to_string());
    let token = es256(Some("ec"), &json!({"role": "ec_user"}));
    assert_eq!(&*run(&a, &token, NOW).unwrap().role, "ec_user");
    let no_kid = es256(None, &json!({"role": "ec_user"}));
    assert_eq!(&*run(&a, &no_kid, NOW).unwrap().role, "ec_user");
}

fn two_key_jwks() -> Authenticator {
    let jwks = json!({"keys": [
        jwk_with(RSA1_JWK, json!({"kid": "k1"})),
        jwk_with(RSA2_JWK, json!({"kid": "k2"})),
    ]});
    auth(&jwks.to_string())
}

#[test]
fn kid_selects_key() {
    let a = two_key_jwks();
    let t1 = rs256(RSA1_PRIVATE, Some("k1"), &json!({"role": "one"}));
    let t2 = rs256(RSA2_PRIVATE, Some("k2"), &json!({"role": "two"}));
    assert_eq!(&*run(&a, &t1, NOW).unwrap().role, "one");
    assert_eq!(&*run(&a, &t2, NOW).unwrap().role, "two");
    // The kid restricts the candidates: key 2's signature under kid k1 fails.
    let mislabeled = rs256(RSA2_PRIVATE, Some("k1"), &json!({"role": "two"}));
    assert_err(run(&a, &mislabeled, NOW), "PGRST301", "JWT cryptographic operation failed");
}

#[test]
fn unknown_kid_is_rejected() {
    let a = two_key_jwks();
    let token = rs256(RSA1_PRIVATE, Some("k3"), &json!({"role": "one"}));
    assert_err(run(&a, &token, NOW), "PGRST301", "No suitable key or wrong key type");
}

#[test]
fn no_kid_tries_every_key() {
    let a = two_key_jwks();
    let t1 = rs256(RSA1_PRIVATE, None, &json!({"role": "one"}));
    let t2 = rs256(RSA2_PRIVATE, None, &json!({"role": "two"}));
    assert_eq!(&*run(&a, &t1, NOW).unwrap().role, "one");
    assert_eq!(&*run(&a, &t2, NOW).unwrap().role, "two");
}

// ----------------------------------------------------------- signatures

#[test]
fn bad_signature_is_rejected() {
    let a = auth(SECRET);
    let token = mint_hs256(SECRET, &json!({"role": "r"}));
    let (message, sig) = token.rsplit_once('.').unwrap();
    let mut sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
    sig[0] ^= 1;
    let tampered = format!("{message}.{}", URL_SAFE_NO_PAD.encode(sig));
    assert_err(run(&a, &tampered, NOW), "PGRST301", "JWT cryptographic operation failed");
    // Tampered payload with the original signature.
    let (_, payload_and_sig) = token.split_once('.').unwrap();
    let forged = format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(r#"{"role":"postgres"}"#),
        payload_and_sig.split_once('.').unwrap().1
    );
    assert_err(run(&a, &forged, NOW), "PGRST301", "JWT cryptographic operation failed");
    // Garbage signature encoding.
    assert_err(run(&a, &format!("{message}.!!!"), NOW), "PGRST301", "JWT cryptographic operation failed");
}

#[test]
fn alg_none_is_rejected() {
    let a = auth(SECRET);
    let token = raw_token(r#"{"alg":"none"}"#, r#"{"role":"postgres"}"#, "");
    assert_err(run(&a, &token, NOW), "PGRST301", "Wrong or unsupported encoding algorithm");
    for header in [r#"{"alg":"None","typ":"JWT"}"#, r#"{"alg":"EdDSA"}"#, r#"{"alg":"XYZ"}"#, r#"{"typ":"JWT"}"#] {
        let token = raw_token(header, r#"{"role":"postgres"}"#, "");
        assert_err(run(&a, &token, NOW), "PGRST301", "Wrong or unsupported encoding algorithm");
    }
}

#[test]
fn hs_rs_confusion_is_rejected() {
    let a = auth(RSA1_JWK);
    for secret in [RSA1_PUBLIC_PEM, RSA1_PUBLIC_PEM.trim(), RSA1_JWK] {
        let token = mint_hs256(secret, &json!({"role": "postgres"}));
        assert_err(run(&a, &token, NOW), "PGRST301", "No suitable key or wrong key type");
    }
}

#[test]
fn header_alg_must_equal_key_alg() {
    let a = auth(SECRET);
    let key = EncodingKey::from_secret(SECRET.as_bytes());
    for alg in [Algorithm::HS384, Algorithm::HS512] {
        let token = sign(alg, &key, None, &json!({"role": "r"}));
        assert_err(run(&a, &token, NOW), "PGRST301", "No suitable key or wrong key type");
    }
    // An RS256 token against an HS256 secret.
    let rs = rs256(RSA1_PRIVATE, None, &json!({"role": "r"}));
    assert_err(run(&a, &rs, NOW), "PGRST301", "No suitable key or wrong key type");
}

#[test]
fn kid_with_plain_secret_still_verifies() {
    let a = auth(SECRET);
    let key = EncodingKey::from_secret(SECRET.as_bytes());
    let token = sign(Algorithm::HS256, &key, Some("k1"), &json!({"role": "r"}));
    assert_eq!(&*run(&a, &token, NOW).unwrap().role, "r");
    // ...but only with the right secret.
    let other = EncodingKey::from_secret(b"another-secret-that-is-long-enough-too");
    let forged = sign(Algorithm::HS256, &other, Some("k1"), &json!({"role": "r"}));
    assert_err(run(&a, &forged, NOW), "PGRST301", "JWT cryptographic operation failed");
}

#[test]
fn crit_header_and_malformed_header_are_rejected() {
    let a = auth(SECRET);
    // Correctly signed, but with a critical extension we do not understand.
    let token = hs256_raw(SECRET, r#"{"alg":"HS256","crit":["ext"],"ext":"v"}"#, br#"{"role":"r"}"#);
    assert_err(run(&a, &token, NOW), "PGRST301", "Unsupported critical JWT header parameter");
    // The same header without "crit" is fine.
    let token = hs256_raw(SECRET, r#"{"alg":"HS256","ext":"v"}"#, br#"{"role":"r"}"#);
    assert!(run(&a, &token, NOW).is_ok());
    let token = raw_token("not json", "{}", "");
    assert_err(run(&a, &token, NOW), "PGRST301", "Invalid JWT header");
    let token = raw_token(r#"{"alg":"HS256","kid":5}"#, "{}", "");
    assert_err(run(&a, &token, NOW), "PGRST301", "Invalid JWT header");
}

#[test]
fn verified_non_object_claims_fail_parsing() {
    let a = auth(SECRET);
    for payload in [
        &b"[1,2]"[..],
        b"\"text\"",
        b"not json",
        b"42",
        // Accepted by jsonwebtoken's internal (struct-as-sequence) parsing.
        br#"[1,1,"sub","iss","aud"]"#,
    ] {
        let token = hs256_raw_payload(SECRET, payload);
        assert_err(run(&a, &token, NOW), "PGRST303", "Parsing claims failed");
    }
    // With a wrong signature the signature error wins.
    let token = hs256_raw_payload(&SECRET.to_uppercase(), b"not json");
    assert_err(run(&a, &token, NOW), "PGRST301", "JWT cryptographic operation failed");
}

// ---------------------------------------------------------------- claims

#[test]
fn exp_has_30s_leeway() {
    let a = auth(SECRET);
    let expired = mint_hs256(SECRET, &json!({"role": "r", "exp": NOW - 31}));
    assert_err(run(&a, &expired, NOW), "PGRST303", "JWT expired");
    let fresh = mint_hs256(SECRET, &json!({"role": "r", "exp": NOW - 29}));
    assert!(run(&a, &fresh, NOW).is_ok());
}

#[test]
fn nbf_has_30s_leeway() {
    let a = auth(SECRET);
    let early = mint_hs256(SECRET, &json!({"role": "r", "nbf": NOW + 31}));
    assert_err(run(&a, &early, NOW), "PGRST303", "JWT not yet valid");
    let ok = mint_hs256(SECRET, &json!({"role": "r", "nbf": NOW + 29}));
    assert!(run(&a, &ok, NOW).is_ok());
}

#[test]
fn iat_in_future_is_rejected() {
    let a = auth(SECRET);
    let future = mint_hs256(SECRET, &json!({"role": "r", "iat": NOW + 31}));
    assert_err(run(&a, &future, NOW), "PGRST303", "JWT issued at future");
    let ok = mint_hs256(SECRET, &json!({"role": "r", "iat": NOW + 29}));
    assert!(run(&a, &ok, NOW).is_ok());
}

#[test]
fn non_numeric_time_claims_are_rejected() {
    let a = auth(SECRET);
    let token = mint_hs256(SECRET, &json!({"role": "r", "exp": "9999999999"}));
    assert_err(run(&a, &token, NOW), "PGRST303", "JWT claim 'exp' must be a number");
    let token = mint_hs256(SECRET, &json!({"role": "r", "nbf": true}));
    assert_err(run(&a, &token, NOW), "PGRST303", "JWT claim 'nbf' must be a number");
    // Fractional numbers are numbers.
    let token = mint_hs256(SECRET, &json!({"role": "r", "exp": (NOW as f64) + 0.5}));
    assert!(run(&a, &token, NOW).is_ok());
}

#[test]
fn audience_rules() {
    let with_aud = Authenticator::new(AuthConfig { audience: Some("rowgate".to_owned()), ..config(SECRET) }).unwrap();
    let without_aud = auth(SECRET);
    let cases = [
        (json!({"role": "r"}), true),
        (json!({"role": "r", "aud": null}), true),
        (json!({"role": "r", "aud": []}), true),
        (json!({"role": "r", "aud": "rowgate"}), true),
        (json!({"role": "r", "aud": ["other", "rowgate"]}), true),
        (json!({"role": "r", "aud": "other"}), false),
        (json!({"role": "r", "aud": ["other"]}), false),
        (json!({"role": "r", "aud": ["rowgate", 1]}), false),
        (json!({"role": "r", "aud": 1}), false),
        (json!({"role": "r", "aud": {"rowgate": true}}), false),
    ];
    for (claims, accepted) in cases {
        let token = mint_hs256(SECRET, &claims);
        let res = run(&with_aud, &token, NOW);
        if accepted {
            assert!(res.is_ok(), "{claims} should be accepted: {res:?}");
        } else {
            assert_err(res, "PGRST303", "JWT not in audience");
        }
        assert!(run(&without_aud, &token, NOW).is_ok(), "{claims} should be accepted without a configured audience");
    }
}

// ------------------------------------------------------------------ roles

fn with_role_claim(path: &str) -> Authenticator {
    Authenticator::new(AuthConfig { role_claim: path.to_owned(), ..config(SECRET) }).unwrap()
}

#[test]
fn role_claim_paths() {
    let claims = json!({
        "role": "top",
        "app": {"role": "nested"},
        "roles": ["first", "second"],
    });
    let token = mint_hs256(SECRET, &claims);
    for (path, expected) in [
        ("role", "top"),
        (".role", "top"),
        ("$.role", "top"),
        ("$.app.role", "nested"),
        ("app.role", "nested"),
        (".roles[0]", "first"),
        ("$.roles[1]", "second"),
    ] {
        let id = run(&with_role_claim(path), &token, NOW).unwrap();
        assert_eq!(&*id.role, expected, "path {path}");
        assert_eq!(claims_of(&id)["role"], json!(expected), "path {path}");
    }
}

#[test]
fn nested_role_is_inserted_into_claims() {
    let a = with_role_claim("$.app.role");
    let token = mint_hs256(SECRET, &json!({"sub": "u1", "app": {"role": "editor"}}));
    let id = run(&a, &token, NOW).unwrap();
    assert_eq!(&*id.role, "editor");
    assert_eq!(claims_of(&id), json!({"sub": "u1", "app": {"role": "editor"}, "role": "editor"}));
    // Compact serialization.
    assert!(!id.claims.contains(' '), "{}", id.claims);
}

#[test]
fn missing_or_non_string_role_uses_anon_role() {
    let a = auth(SECRET);
    for claims in [
        json!({"sub": "u1"}),
        json!({"sub": "u1", "role": 5}),
        json!({"sub": "u1", "role": null}),
        json!({"sub": "u1", "role": ""}),
        json!({"sub": "u1", "role": ["admin"]}),
    ] {
        let id = run(&a, &mint_hs256(SECRET, &claims), NOW).unwrap();
        assert_eq!(&*id.role, "anon");
        assert!(id.has_token);
        assert_eq!(claims_of(&id), json!({"sub": "u1", "role": "anon"}));
    }
}

#[test]
fn missing_role_with_anon_disabled_is_pgrst302() {
    let a = Authenticator::new(AuthConfig { anon_role: None, ..config(SECRET) }).unwrap();
    let token = mint_hs256(SECRET, &json!({"sub": "u1"}));
    assert_err(run(&a, &token, NOW), "PGRST302", "Anonymous access is disabled");
    let token = mint_hs256(SECRET, &json!({"role": "r"}));
    assert_eq!(&*run(&a, &token, NOW).unwrap().role, "r");
}

// ------------------------------------------------------ header handling

#[test]
fn no_header_is_anonymous() {
    let a = auth(SECRET);
    let id = a.authenticate(None, NOW).unwrap();
    assert_eq!(&*id.role, "anon");
    assert_eq!(&*id.claims, r#"{"role":"anon"}"#);
    assert!(!id.has_token);
}

#[test]
fn anon_role_is_json_escaped() {
    let a = Authenticator::new(AuthConfig { anon_role: Some("we\"ird".to_owned()), ..config(SECRET) }).unwrap();
    let id = a.authenticate(None, NOW).unwrap();
    assert_eq!(claims_of(&id), json!({"role": "we\"ird"}));
}

#[test]
fn anon_disabled_without_header() {
    for anon_role in [None, Some(String::new())] {
        let a = Authenticator::new(AuthConfig { anon_role, ..config(SECRET) }).unwrap();
        let err = assert_err(a.authenticate(None, NOW), "PGRST302", "Anonymous access is disabled");
        assert_eq!(err.status(), 401);
        assert_eq!(err.www_authenticate().as_deref(), Some("Bearer"));
    }
}

#[test]
fn basic_auth_is_anonymous() {
    let a = auth(SECRET);
    let id = a.authenticate(Some(b"Basic dXNlcjpwYXNzd29yZA=="), NOW).unwrap();
    assert_eq!(&*id.role, "anon");
    assert!(!id.has_token);
}

#[test]
fn bearer_scheme_is_case_insensitive() {
    let a = auth(SECRET);
    let token = mint_hs256(SECRET, &json!({"role": "r"}));
    let header = format!("bEARER {token}");
    assert_eq!(&*a.authenticate(Some(header.as_bytes()), NOW).unwrap().role, "r");
}

#[test]
fn empty_bearer_token() {
    let a = auth(SECRET);
    for header in [&b"Bearer "[..], b"Bearer", b"bearer    "] {
        assert_err(a.authenticate(Some(header), NOW), "PGRST301", "Empty JWT is sent in Authorization header");
    }
}

#[test]
fn wrong_number_of_parts() {
    let a = auth(SECRET);
    assert_err(run(&a, "aaa.bbb", NOW), "PGRST301", "Expected 3 parts in JWT; got 2");
    assert_err(run(&a, "abc", NOW), "PGRST301", "Expected 3 parts in JWT; got 1");
    let token = mint_hs256(SECRET, &json!({"role": "r"}));
    assert_err(run(&a, &format!("{token}.x"), NOW), "PGRST301", "Expected 3 parts in JWT; got 4");
}

#[test]
fn token_without_secret_is_pgrst300() {
    let a = Authenticator::new(AuthConfig { anon_role: Some("anon".to_owned()), ..AuthConfig::default() }).unwrap();
    let token = mint_hs256(SECRET, &json!({"role": "r"}));
    let err = assert_err(run(&a, &token, NOW), "PGRST300", "Server lacks JWT secret");
    assert_eq!(err.status(), 500);
    assert_eq!(err.www_authenticate(), None);
    // Anonymous requests still work.
    assert_eq!(&*a.authenticate(None, NOW).unwrap().role, "anon");
}

// ------------------------------------------------------------------ cache

#[test]
fn cache_hit_rechecks_expiry() {
    let a = auth(SECRET);
    let token = mint_hs256(SECRET, &json!({"role": "r", "exp": NOW + 100}));
    assert_eq!(a.cache_stats(), (0, 0));
    assert_eq!(&*run(&a, &token, NOW).unwrap().role, "r");
    assert_eq!(a.cache_stats(), (0, 1));
    let id = run(&a, &token, NOW + 10).unwrap();
    assert_eq!(&*id.role, "r");
    assert_eq!(claims_of(&id), json!({"role": "r", "exp": NOW + 100}));
    assert_eq!(a.cache_stats(), (1, 1));
    assert_err(run(&a, &token, NOW + 1000), "PGRST303", "JWT expired");
    assert_eq!(a.cache_stats(), (2, 1));
}

#[test]
fn cache_hit_rechecks_nbf() {
    let a = auth(SECRET);
    let token = mint_hs256(SECRET, &json!({"role": "r", "nbf": NOW}));
    assert!(run(&a, &token, NOW).is_ok());
    assert_err(run(&a, &token, NOW - 1000), "PGRST303", "JWT not yet valid");
    assert_eq!(a.cache_stats(), (1, 1));
}

#[test]
fn only_verified_tokens_are_cached() {
    let a = auth(SECRET);
    let bad = mint_hs256(&SECRET.to_uppercase(), &json!({"role": "r"}));
    for _ in 0..2 {
        assert_err(run(&a, &bad, NOW), "PGRST301", "JWT cryptographic operation failed");
    }
    assert_eq!(a.cache_stats(), (0, 2));
}

#[test]
fn cache_can_be_disabled() {
    let a = Authenticator::new(AuthConfig { cache_max_entries: 0, ..config(SECRET) }).unwrap();
    let token = mint_hs256(SECRET, &json!({"role": "r", "exp": NOW + 100}));
    for _ in 0..3 {
        assert!(run(&a, &token, NOW).is_ok());
    }
    assert_err(run(&a, &token, NOW + 1000), "PGRST303", "JWT expired");
    assert_eq!(a.cache_stats(), (0, 0));
}

#[test]
fn cache_is_bounded() {
    let a = Authenticator::new(AuthConfig { cache_max_entries: 4, ..config(SECRET) }).unwrap();
    for i in 0..100 {
        let token = mint_hs256(SECRET, &json!({"role": "r", "n": i}));
        assert!(run(&a, &token, NOW).is_ok());
    }
    let cache = a.cache.as_ref().unwrap();
    assert!(cache.len() <= 4, "cache holds {} entries", cache.len());
}

// ----------------------------------------------------------------- errors

#[test]
fn error_codes_statuses_and_www_authenticate() {
    let cases = [
        (AuthError::SecretMissing, "PGRST300", 500, None),
        (
            AuthError::InvalidToken("JWT cryptographic operation failed".into()),
            "PGRST301",
            401,
            Some(r#"Bearer error="invalid_token", error_description="JWT cryptographic operation failed""#),
        ),
        (AuthError::AnonDisabled, "PGRST302", 401, Some("Bearer")),
        (
            AuthError::ClaimsInvalid("JWT expired".into()),
            "PGRST303",
            401,
            Some(r#"Bearer error="invalid_token", error_description="JWT expired""#),
        ),
    ];
    for (err, code, status, www) in cases {
        assert_eq!(err.code(), code);
        assert_eq!(err.status(), status);
        assert_eq!(err.www_authenticate().as_deref(), www);
    }
}

#[test]
fn www_authenticate_escapes_quotes_and_backslashes() {
    let err = AuthError::InvalidToken(r#"a "b" \ c"#.into());
    assert_eq!(err.www_authenticate().unwrap(), r#"Bearer error="invalid_token", error_description="a \"b\" \\ c""#);
}

#[test]
fn errors_never_contain_token_or_secret() {
    let a = auth(SECRET);
    let tokens = [
        mint_hs256(&SECRET.to_uppercase(), &json!({"role": "r"})),
        mint_hs256(SECRET, &json!({"role": "r", "exp": 1})),
        mint_hs256(SECRET, &json!({"role": "r", "exp": "soon"})),
        raw_token(r#"{"alg":"none"}"#, r#"{"role":"r"}"#, ""),
        "one.two".to_owned(),
    ];
    for token in tokens {
        let err = run(&a, &token, NOW).unwrap_err();
        for text in [err.message(), format!("{err:?}"), err.www_authenticate().unwrap_or_default()] {
            assert!(!text.contains(&token), "token leaked: {text}");
            assert!(!text.contains(SECRET), "secret leaked: {text}");
        }
    }
    assert!(!format!("{a:?}").contains(SECRET));
    assert!(!format!("{:?}", config(SECRET)).contains(SECRET));
}

#[test]
fn authenticator_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Authenticator>();
    assert_send_sync::<Identity>();
    assert_send_sync::<AuthError>();
    assert_send_sync::<KeyError>();
}

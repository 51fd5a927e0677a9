//! Secrets and keys: plain secrets, files, JWK and JWKS, `kid` selection.

use super::*;

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

//! Signature checks (algorithms, confusion, headers) and the time and audience claims.

use super::*;

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

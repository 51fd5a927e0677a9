//! The verified-token cache, the errors' codes and headers, and what errors never contain.

use super::*;

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

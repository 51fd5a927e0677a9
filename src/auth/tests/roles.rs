//! The role claim and its paths, and how the Authorization header is read.

use super::*;

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
        // Anonymous for 42501 (401, not 403), as PostgREST decides by the role.
        assert!(!id.has_token);
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

#[test]
fn naming_the_anonymous_role_is_anonymous_too() {
    let a = auth(SECRET);
    let id = run(&a, &mint_hs256(SECRET, &json!({"role": "anon"})), NOW).unwrap();
    assert!(!id.has_token);
    let id = run(&a, &mint_hs256(SECRET, &json!({"role": "authenticated"})), NOW).unwrap();
    assert!(id.has_token);
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

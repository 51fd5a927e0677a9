//! `/auth/v1`: sign-in, refresh rotation and reuse detection, logout, user, limits.

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::*;

async fn start() -> Gateway {
    let db = TestDb::new().await;
    db.admin()
        .await
        .batch_execute(
            "insert into auth.users (email, encrypted_password) values
               ('ann@example.com', crypt('correct horse', gen_salt('bf', 10))),
               ('ben@example.com', crypt('battery staple', gen_salt('bf', 10)))",
        )
        .await
        .unwrap();
    let key = rowgate::auth::signing::SigningKey::generate_jwk().unwrap();
    let cfg = config(&db, |a| {
        a.jwt_signing_key = Some(key);
        a.db_pre_request = Some("internal.check_request".into());
    });
    Gateway::start_on(db, cfg).await
}

async fn login(g: &Gateway, email: &str, password: &str) -> Reply {
    let body = json!({"email": email, "password": password}).to_string();
    g.send(Method::POST, "/auth/v1/token?grant_type=password", &[], &body).await
}

async fn refresh(g: &Gateway, token: &str) -> Reply {
    let body = json!({"refresh_token": token}).to_string();
    g.send(Method::POST, "/auth/v1/token?grant_type=refresh_token", &[], &body).await
}

fn bearer_of(session: &Value) -> String {
    format!("Bearer {}", session["access_token"].as_str().unwrap())
}

#[tokio::test]
async fn password_sign_in_issues_a_gotrue_session() {
    let g = start().await;
    let r = login(&g, "Ann@Example.com", "correct horse").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let s = r.json();
    assert_eq!(s["token_type"], "bearer");
    // ROWGATE_JWT_EXP's default, as GoTrue's GOTRUE_JWT_EXP (issue 18; was three hours).
    assert_eq!(s["expires_in"], 3600);
    assert_eq!(s["user"]["email"], "ann@example.com");
    assert!(s["refresh_token"].as_str().unwrap().len() >= 64);
    // The access token works against the API and carries the session, not org roles.
    let r = g.get_with("/whoami", &[("authorization", &bearer_of(&s))]).await;
    let w = &r.json()[0];
    assert_eq!(w["role"], "authenticated", "{}", r.body);
    let claims: Value = serde_json::from_str(w["claims"].as_str().unwrap()).unwrap();
    assert_eq!(claims["session_id"].as_str().map(str::len), Some(36), "a session uuid: {claims}");
    assert_eq!(claims["sub"], s["user"]["id"]);
    assert!(claims.get("org_role").is_none());
    let r = g.get_with("/auth/v1/user", &[("authorization", &bearer_of(&s))]).await;
    assert_eq!(r.json()["email"], "ann@example.com");
    // Only the hash of the refresh token is stored.
    let admin = g.db.admin().await;
    let raw = s["refresh_token"].as_str().unwrap();
    let n: i64 = admin
        .query_one("select count(*) from auth.refresh_tokens where token_hash = $1", &[&raw])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0);
}

#[tokio::test]
async fn unknown_user_and_wrong_password_get_the_same_answer() {
    let g = start().await;
    let wrong = login(&g, "ann@example.com", "wrong").await;
    let unknown = login(&g, "nobody@example.com", "wrong").await;
    assert_eq!(wrong.status, 400);
    assert_eq!((wrong.status, wrong.body.clone()), (unknown.status, unknown.body.clone()));
    assert_eq!(wrong.json()["error_code"], "invalid_credentials");
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_session() {
    let g = start().await;
    let s1 = login(&g, "ann@example.com", "correct horse").await.json();
    let r = refresh(&g, s1["refresh_token"].as_str().unwrap()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let s2 = r.json();
    assert_ne!(s2["refresh_token"], s1["refresh_token"]);
    // A replay of the immediate parent within 10 s (a lost response) is answered.
    assert_eq!(refresh(&g, s1["refresh_token"].as_str().unwrap()).await.status, 200);
    // Later reuse of an old token revokes the whole session.
    let admin = g.db.admin().await;
    admin
        .batch_execute(
            "update auth.refresh_tokens set revoked_at = now() - interval '1 minute' where revoked_at is not null",
        )
        .await
        .unwrap();
    let r = refresh(&g, s1["refresh_token"].as_str().unwrap()).await;
    assert_eq!((r.status, r.json()["error_code"].clone()), (400, json!("refresh_token_already_used")), "{}", r.body);
    let r = g.get_with("/whoami", &[("authorization", &bearer_of(&s2))]).await;
    assert_eq!(r.status, 401, "the session's access tokens stop working at once: {}", r.body);
    assert_eq!(refresh(&g, "not-a-token").await.status, 400);
}

#[tokio::test]
async fn an_expired_refresh_token_is_refused() {
    let g = start().await;
    let s = login(&g, "ann@example.com", "correct horse").await.json();
    g.db.admin()
        .await
        .batch_execute("update auth.refresh_tokens set expires_at = now() - interval '1 second'")
        .await
        .unwrap();
    let r = refresh(&g, s["refresh_token"].as_str().unwrap()).await;
    assert_eq!((r.status, r.json()["error_code"].clone()), (400, json!("refresh_token_not_found")), "{}", r.body);
}

#[tokio::test]
async fn logout_and_disable_take_effect_at_once() {
    let g = start().await;
    let s = login(&g, "ann@example.com", "correct horse").await.json();
    let other = login(&g, "ann@example.com", "correct horse").await.json();
    assert_eq!(g.get_with("/whoami", &[("authorization", &bearer_of(&s))]).await.status, 200);
    let r = g.request(Method::POST, "/auth/v1/logout?scope=local", &[("authorization", &bearer_of(&s))]).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = g.get_with("/whoami", &[("authorization", &bearer_of(&s))]).await;
    assert_eq!((r.status, r.code()), (401, "PGRST301".to_string()), "{}", r.body);
    assert_eq!(g.get_with("/whoami", &[("authorization", &bearer_of(&other))]).await.status, 200, "local scope");
    // Disabling the user stops the remaining session on the next request.
    g.db.admin()
        .await
        .batch_execute("update auth.users set disabled_at = now() where email = 'ann@example.com'")
        .await
        .unwrap();
    assert_eq!(g.get_with("/whoami", &[("authorization", &bearer_of(&other))]).await.status, 401);
    assert_eq!(login(&g, "ann@example.com", "correct horse").await.status, 400);
}

#[tokio::test]
async fn sign_in_is_rate_limited_per_account() {
    let g = start().await;
    for _ in 0..10 {
        assert_eq!(login(&g, "ben@example.com", "nope").await.status, 400);
    }
    let r = login(&g, "ben@example.com", "battery staple").await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.header("retry-after").is_some());
    // Another account is not affected.
    assert_eq!(login(&g, "ann@example.com", "correct horse").await.status, 200);
}

#[tokio::test]
async fn malformed_requests_are_clear_4xx() {
    let g = start().await;
    let r = g.send(Method::POST, "/auth/v1/token?grant_type=password", &[], "not json").await;
    assert_eq!(r.status, 400);
    let r = g.send(Method::POST, "/auth/v1/token?grant_type=magic", &[], "{}").await;
    assert_eq!(r.json()["error_code"], "unsupported_grant_type");
    let r = g.request(Method::GET, "/auth/v1/user", &[]).await;
    assert_eq!(r.status, 401);
}

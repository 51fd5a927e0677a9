//! `/auth/v1`: bootstrap, sign-up, profile changes, user administration.

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::*;

async fn start_with(tweak: impl FnOnce(&mut rowgate::config::ServeArgs)) -> Gateway {
    let key = rowgate::auth::signing::SigningKey::generate_jwk().unwrap();
    Gateway::start_with(|a| {
        a.jwt_signing_key = Some(key);
        a.db_pre_request = Some("internal.check_request".into());
        tweak(a);
    })
    .await
}

async fn post(g: &Gateway, path: &str, body: Value, auth: Option<&str>) -> Reply {
    let headers: Vec<(&str, &str)> = auth.map(|a| vec![("authorization", a)]).unwrap_or_default();
    g.send(Method::POST, path, &headers, &body.to_string()).await
}

fn bearer_of(session: &Value) -> String {
    format!("Bearer {}", session["access_token"].as_str().unwrap())
}

async fn login(g: &Gateway, email: &str, password: &str) -> Reply {
    post(g, "/auth/v1/token?grant_type=password", json!({"email": email, "password": password}), None).await
}

#[tokio::test]
async fn bootstrap_creates_the_first_super_admin_once() {
    let g = start_with(|_| {}).await;
    // Concurrent attempts: exactly one wins.
    let attempts = (0..5).map(|i| {
        let g = &g;
        async move {
            post(
                g,
                "/auth/v1/bootstrap",
                json!({"email": format!("root{i}@example.com"), "password": "correct horse battery"}),
                None,
            )
            .await
        }
    });
    let replies = futures_util::future::join_all(attempts).await;
    let won: Vec<&Reply> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(won.len(), 1, "{:?}", replies.iter().map(|r| (r.status, r.body.clone())).collect::<Vec<_>>());
    for r in replies.iter().filter(|r| r.status != 200) {
        assert_eq!(r.status, 403);
        assert_eq!(r.json()["msg"], "bootstrap already complete");
    }
    let admin = g.db.admin().await;
    let n: i64 = admin.query_one("select count(*) from auth.users where is_super_admin", &[]).await.unwrap().get(0);
    assert_eq!(n, 1);
    assert!(won[0].json()["access_token"].is_string());
}

#[tokio::test]
async fn signup_validates_and_can_be_disabled() {
    let g = start_with(|_| {}).await;
    let r = post(&g, "/auth/v1/signup", json!({"email": "new@example.com", "password": "long enough"}), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["user"]["email"], "new@example.com");
    let r = post(&g, "/auth/v1/signup", json!({"email": "NEW@example.com", "password": "long enough"}), None).await;
    assert_eq!((r.status, r.json()["error_code"].clone()), (422, json!("user_already_exists")));
    let r = post(&g, "/auth/v1/signup", json!({"email": "weak@example.com", "password": "short"}), None).await;
    assert_eq!((r.status, r.json()["error_code"].clone()), (422, json!("weak_password")));
    let r = post(&g, "/auth/v1/signup", json!({"email": "not-an-email", "password": "long enough"}), None).await;
    assert_eq!(r.status, 400);
    let r = post(&g, "/auth/v1/signup", json!({"email": "x@example.com"}), None).await;
    assert_eq!(r.status, 400);
    let admin = g.db.admin().await;
    let n: i64 = admin.query_one("select count(*) from auth.users", &[]).await.unwrap().get(0);
    assert_eq!(n, 1, "refused sign-ups change nothing");

    let closed = start_with(|a| a.auth_signup_enabled = Some("false".into())).await;
    let r =
        post(&closed, "/auth/v1/signup", json!({"email": "new@example.com", "password": "long enough"}), None).await;
    assert_eq!((r.status, r.json()["error_code"].clone()), (422, json!("signup_disabled")));
}

#[tokio::test]
async fn users_change_their_password() {
    let g = start_with(|_| {}).await;
    let s = post(&g, "/auth/v1/signup", json!({"email": "pat@example.com", "password": "first passphrase"}), None)
        .await
        .json();
    let r = g
        .send(Method::PUT, "/auth/v1/user", &[("authorization", &bearer_of(&s))], r#"{"password":"second passphrase"}"#)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(login(&g, "pat@example.com", "first passphrase").await.status, 400);
    assert_eq!(login(&g, "pat@example.com", "second passphrase").await.status, 200);
    let r = g.send(Method::PUT, "/auth/v1/user", &[("authorization", &bearer_of(&s))], r#"{"password":"x"}"#).await;
    assert_eq!(r.status, 422);
}

#[tokio::test]
async fn only_the_super_admin_administers_users() {
    let g = start_with(|_| {}).await;
    let root =
        post(&g, "/auth/v1/bootstrap", json!({"email": "root@example.com", "password": "correct horse battery"}), None)
            .await
            .json();
    let user = post(&g, "/auth/v1/signup", json!({"email": "joe@example.com", "password": "joes passphrase"}), None)
        .await
        .json();
    // A normal user is refused, also when the token claims service-ish roles it cannot have.
    let r = g.get_with("/auth/v1/admin/users", &[("authorization", &bearer_of(&user))]).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = g.get_with("/auth/v1/admin/users", &[("authorization", &bearer_of(&root))]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["users"].as_array().unwrap().len(), 2);
    let r = post(
        &g,
        "/auth/v1/admin/users",
        json!({"email": "ops@example.com", "password": "ops passphrase"}),
        Some(&bearer_of(&root)),
    )
    .await;
    assert_eq!((r.status, r.json()["email"].clone()), (200, json!("ops@example.com")), "{}", r.body);
    let r = post(
        &g,
        "/auth/v1/admin/users",
        json!({"email": "evil@example.com", "password": "evil passphrase", "is_super_admin": true}),
        Some(&bearer_of(&user)),
    )
    .await;
    assert_eq!(r.status, 403, "escalation refused");
    // Disabling a user locks them out at once.
    assert_eq!(g.get_with("/whoami", &[("authorization", &bearer_of(&user))]).await.status, 200);
    let id = user["user"]["id"].as_str().unwrap();
    let r = g
        .send(
            Method::PUT,
            &format!("/auth/v1/admin/users/{id}"),
            &[("authorization", &bearer_of(&root))],
            r#"{"disabled":true}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(g.get_with("/whoami", &[("authorization", &bearer_of(&user))]).await.status, 401);
    assert_eq!(login(&g, "joe@example.com", "joes passphrase").await.status, 400);
}

//! `/auth/v1` applies the session check itself: a revoked session, a disabled user or an API
//! token is refused by every endpoint that acts for a user, in the same transaction, with or
//! without `ROWGATE_DB_PRE_REQUEST` (these gateways run without it). A password change needs a
//! live session and signs out the user's other sessions.

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::*;

async fn post(g: &Gateway, path: &str, body: Value, auth: Option<&str>) -> Reply {
    let headers: Vec<(&str, &str)> = auth.map(|a| vec![("authorization", a)]).unwrap_or_default();
    g.send(Method::POST, path, &headers, &body.to_string()).await
}

async fn signup(g: &Gateway, email: &str, password: &str) -> Value {
    let r = post(g, "/auth/v1/signup", json!({"email": email, "password": password}), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

async fn login(g: &Gateway, email: &str, password: &str) -> Reply {
    post(g, "/auth/v1/token?grant_type=password", json!({"email": email, "password": password}), None).await
}

fn bearer_of(session: &Value) -> String {
    format!("Bearer {}", session["access_token"].as_str().unwrap())
}

async fn get_user(g: &Gateway, auth: &str) -> Reply {
    g.get_with("/auth/v1/user", &[("authorization", auth)]).await
}

async fn put_user(g: &Gateway, auth: &str, changes: Value) -> Reply {
    g.send(Method::PUT, "/auth/v1/user", &[("authorization", auth)], &changes.to_string()).await
}

fn assert_gotrue(r: &Reply, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.json()["error_code"], code, "{}", r.body);
}

#[tokio::test]
async fn after_logout_the_access_token_is_refused_by_user_and_put_user() {
    // No pre-request check and no signing key: tokens are signed with ROWGATE_JWT_SECRET.
    let g = Gateway::start().await;
    let session = signup(&g, "ann@example.com", "correct horse").await;
    let auth = bearer_of(&session);
    assert_eq!(get_user(&g, &auth).await.status, 200);
    let r = post(&g, "/auth/v1/logout", json!({}), Some(&auth)).await;
    assert_eq!(r.status, 204, "{}", r.body);

    assert_gotrue(&get_user(&g, &auth).await, 403, "session_not_found");
    assert_gotrue(&put_user(&g, &auth, json!({"password": "a new password"})).await, 403, "session_not_found");
    assert_gotrue(&put_user(&g, &auth, json!({"email": "eve@example.com"})).await, 403, "session_not_found");
    // Nothing changed: the old password signs in, the new one does not, the email is the same.
    assert_eq!(login(&g, "ann@example.com", "correct horse").await.status, 200);
    assert_gotrue(&login(&g, "ann@example.com", "a new password").await, 400, "invalid_credentials");
    assert_gotrue(&login(&g, "eve@example.com", "correct horse").await, 400, "invalid_credentials");
    // Logging out again with the dead token is refused too.
    assert_gotrue(&post(&g, "/auth/v1/logout", json!({}), Some(&auth)).await, 403, "session_not_found");
}

#[tokio::test]
async fn a_super_admins_token_after_local_logout_no_longer_administers() {
    let g = Gateway::start().await;
    let r = post(&g, "/auth/v1/bootstrap", json!({"email": "root@example.com", "password": "a-long-passphrase"}), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let auth = bearer_of(&r.json());
    let list = g.get_with("/auth/v1/admin/users", &[("authorization", &auth)]).await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.json()["users"].as_array().map(Vec::len), Some(1));

    let r = post(&g, "/auth/v1/logout?scope=local", json!({}), Some(&auth)).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_gotrue(&g.get_with("/auth/v1/admin/users", &[("authorization", &auth)]).await, 403, "session_not_found");
    let create =
        post(&g, "/auth/v1/admin/users", json!({"email": "new@example.com", "password": "long enough"}), Some(&auth))
            .await;
    assert_gotrue(&create, 403, "session_not_found");
    let admin = g.db.admin().await;
    let users: i64 = admin.query_one("select count(*) from auth.users", &[]).await.unwrap().get(0);
    assert_eq!(users, 1, "no user was created");
    // A fresh sign-in administers again.
    let fresh = login(&g, "root@example.com", "a-long-passphrase").await;
    let list = g.get_with("/auth/v1/admin/users", &[("authorization", &bearer_of(&fresh.json()))]).await;
    assert_eq!(list.status, 200, "{}", list.body);
}

#[tokio::test]
async fn a_disabled_user_is_refused_at_once() {
    let g = Gateway::start().await;
    let session = signup(&g, "ann@example.com", "correct horse").await;
    let auth = bearer_of(&session);
    g.db.admin().await.batch_execute("update auth.users set disabled_at = now()").await.unwrap();
    assert_gotrue(&get_user(&g, &auth).await, 403, "user_banned");
    assert_gotrue(&put_user(&g, &auth, json!({"password": "a new password"})).await, 403, "user_banned");
}

#[tokio::test]
async fn a_new_password_signs_out_the_other_sessions_only() {
    let g = Gateway::start().await;
    signup(&g, "ann@example.com", "correct horse").await;
    let here = login(&g, "ann@example.com", "correct horse").await.json();
    let there = login(&g, "ann@example.com", "correct horse").await.json();

    let r = put_user(&g, &bearer_of(&here), json!({"password": "a new password"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["email"], "ann@example.com");
    assert_eq!(get_user(&g, &bearer_of(&here)).await.status, 200, "the session that changed it stays");
    assert_gotrue(&get_user(&g, &bearer_of(&there)).await, 403, "session_not_found");
    let refresh =
        post(&g, "/auth/v1/token?grant_type=refresh_token", json!({"refresh_token": there["refresh_token"]}), None)
            .await;
    assert_gotrue(&refresh, 400, "session_not_found");
    assert_eq!(login(&g, "ann@example.com", "a new password").await.status, 200);
    assert_gotrue(&login(&g, "ann@example.com", "correct horse").await, 400, "invalid_credentials");
}

#[tokio::test]
async fn changing_a_password_or_email_needs_a_session() {
    let g = Gateway::start().await;
    let session = signup(&g, "ann@example.com", "correct horse").await;
    // A token minted with the secret for the same user, without a session_id.
    let minted = format!("Bearer {}", token(json!({"role": "authenticated", "sub": session["user"]["id"]})));
    assert_eq!(get_user(&g, &minted).await.json()["email"], "ann@example.com", "reading is allowed");
    assert_gotrue(&put_user(&g, &minted, json!({"password": "a new password"})).await, 403, "session_not_found");
    assert_gotrue(&put_user(&g, &minted, json!({"email": "eve@example.com"})).await, 403, "session_not_found");
    // A session_id that is not one of this user's sessions.
    let other = signup(&g, "ben@example.com", "battery staple").await;
    let claims = json!({"role": "authenticated", "sub": session["user"]["id"], "session_id": session_id(&other)});
    let borrowed = format!("Bearer {}", token(claims));
    assert_gotrue(&get_user(&g, &borrowed).await, 403, "session_not_found");
    assert_eq!(login(&g, "ann@example.com", "correct horse").await.status, 200);
}

fn session_id(session: &Value) -> String {
    let token = session["access_token"].as_str().unwrap();
    let payload = token.split('.').nth(1).unwrap();
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap();
    serde_json::from_slice::<Value>(&bytes).unwrap()["session_id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn api_tokens_cannot_act_on_auth_v1() {
    let g = Gateway::start().await;
    let r = post(
        &g,
        "/rpc/register_organization",
        json!({"email": "ann@example.com", "password": "correct horse", "org_name": "Ann Co"}),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let org = r.json()["org_id"].as_str().unwrap().to_string();
    let session = login(&g, "ann@example.com", "correct horse").await.json();
    let r = post(
        &g,
        "/rpc/create_api_token",
        json!({"org": org, "name": "ci", "role": "member"}),
        Some(&bearer_of(&session)),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let api_token = format!("Bearer {}", r.json()["token"].as_str().expect("a token"));
    assert_gotrue(&get_user(&g, &api_token).await, 401, "bad_jwt");
    assert_gotrue(&put_user(&g, &api_token, json!({"password": "a new password"})).await, 401, "bad_jwt");
    assert_gotrue(&post(&g, "/auth/v1/logout", json!({}), Some(&api_token)).await, 401, "bad_jwt");
    assert_eq!(login(&g, "ann@example.com", "correct horse").await.status, 200);
}

//! Point 2, erasure: `DELETE /auth/v1/admin/users/{id}` (the super admin or `service_role`) and
//! the self-service `POST /rpc/delete_my_account` (with the current password): sessions, refresh
//! and API tokens stop working at once, memberships go (the last owner stays until ownership
//! moves), personal data goes, and the audit log names the person nowhere but by a pseudonym.

use reqwest::Method;
use serde_json::{json, Value};

use super::*;

const MEMBER_EMAIL: &str = "member@a.test";

/// Everything of `user` (id and email) the database still holds outside the users' own rows.
async fn traces(k: &Kit, user: &str, email: &str) -> Value {
    k.rows(&format!(
        "select 'audit' as what, count(*) as n from api.audit_log
          where actor_user_id = '{user}' or (row_key::text || coalesce(diff::text, '')) ~* '{user}|{}'
         union all select 'sessions', count(*) from auth.sessions where user_id = '{user}'
         union all select 'memberships', count(*) from api.memberships where user_id = '{user}'
         union all select 'api_tokens', count(*) from auth.api_tokens where created_by = '{user}'
         union all select 'users', count(*) from auth.users where id = '{user}' or lower(email) = '{email}'",
        email.replace('.', "\\.")
    ))
    .await
}

fn all_zero(v: &Value) -> bool {
    v.as_array().is_some_and(|rows| rows.iter().all(|r| r["n"] == json!(0)))
}

#[tokio::test]
async fn an_administrator_deletes_a_user_and_their_access_ends_at_once() {
    let k = Kit::new().await;
    let root = k.sign_in("root@platform.test").await;
    let (member, session) = k.session(MEMBER_EMAIL).await;
    let refresh = session["refresh_token"].as_str().expect("a refresh token").to_string();
    // The member does some work and is given an API token of their own.
    k.exec(&format!("update api.memberships set role = 'admin' where user_id = '{MEMBER_A}'")).await;
    let r = k.rpc(Some(&member), "create_api_token", json!({"org": ORG_A, "name": "mine", "role": "member"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let api_token = format!("Bearer {}", r.json()["token"].as_str().unwrap());
    let r = k.call(Some(&member), Method::POST, "/projects", Some(json!({"org_id": ORG_A, "name": "by member"}))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(!all_zero(&traces(&k, MEMBER_A, MEMBER_EMAIL).await));

    // Who may not delete: anyone but the super admin and service_role.
    let path = format!("/auth/v1/admin/users/{MEMBER_A}");
    for email in ["owner@a.test", "admin@a.test", "owner@b.test"] {
        let who = k.sign_in(email).await;
        let r = k.g.request(Method::DELETE, &path, &[("authorization", &who)]).await;
        assert_eq!((r.status, r.json()["error_code"].clone()), (403, json!("not_admin")), "{email}: {}", r.body);
    }
    let r = k.g.request(Method::DELETE, &path, &[]).await;
    assert_eq!(r.status, 401, "{}", r.body);
    let r = k.g.request(Method::DELETE, &path, &[("authorization", &api_token)]).await;
    assert_eq!(r.status, 401, "an API token: {}", r.body);
    let r = k.g.request(Method::DELETE, "/auth/v1/admin/users/not-a-uuid", &[("authorization", &root)]).await;
    assert_eq!((r.status, r.json()["error_code"].clone()), (404, json!("user_not_found")), "{}", r.body);
    let nobody = "00000000-0000-4000-8000-000000000099";
    let r = k.g.request(Method::DELETE, &format!("/auth/v1/admin/users/{nobody}"), &[("authorization", &root)]).await;
    assert_eq!((r.status, r.json()["error_code"].clone()), (404, json!("user_not_found")), "{}", r.body);

    // The super admin deletes the member: GoTrue's answer, the deleted user.
    let r = k.g.request(Method::DELETE, &path, &[("authorization", &root)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!((r.json()["id"].clone(), r.json()["email"].clone()), (json!(MEMBER_A), json!(MEMBER_EMAIL)));
    // At once: the access token, the refresh token and the API token are refused.
    let r = k.g.get_with("/projects", &[("authorization", &member)]).await;
    assert_eq!((r.status, r.code()), (401, "PGRST301".to_string()), "the access token: {}", r.body);
    let r = k.g.get_with("/auth/v1/user", &[("authorization", &member)]).await;
    assert_eq!(r.status, 403, "the access token on /auth/v1: {}", r.body);
    let r = k
        .call(None, Method::POST, "/auth/v1/token?grant_type=refresh_token", Some(json!({"refresh_token": refresh})))
        .await;
    assert_eq!(r.status, 400, "the refresh token: {}", r.body);
    let r = k.g.get_with("/projects", &[("authorization", &api_token)]).await;
    assert_eq!((r.status, r.code()), (401, "PGRST301".to_string()), "the API token: {}", r.body);
    let r = k
        .call(
            None,
            Method::POST,
            "/auth/v1/token?grant_type=password",
            Some(json!({"email": MEMBER_EMAIL, "password": PASSWORD})),
        )
        .await;
    assert_eq!(r.status, 400, "signing in again: {}", r.body);
    assert!(all_zero(&traces(&k, MEMBER_A, MEMBER_EMAIL).await), "{}", traces(&k, MEMBER_A, MEMBER_EMAIL).await);
    // Their work stays in org A and in the log, under one pseudonym.
    let pseudonym = k.scalar("select row_key ->> 'pseudonym' from api.audit_log where action = 'REDACT'").await;
    let n = k.scalar(&format!(
        "select count(*) from api.audit_log where actor_user_id = '{}' and table_name = 'projects' and action = 'INSERT'",
        pseudonym.as_str().unwrap()
    ))
    .await;
    assert_eq!(n, json!(1));
    assert_eq!(
        k.scalar(&format!("select count(*) from api.projects where org_id = '{ORG_A}' and name = 'by member'")).await,
        json!(1)
    );

    // service_role may delete users too.
    let r =
        k.g.request(Method::DELETE, &format!("/auth/v1/admin/users/{VIEWER_A}"), &[("authorization", &service())])
            .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn the_last_owner_stays_until_ownership_moves() {
    let k = Kit::new().await;
    let root = k.sign_in("root@platform.test").await;
    let before = k.rows(&format!("select * from api.memberships where org_id = '{ORG_B}' order by user_id")).await;
    let r = k.g.request(Method::DELETE, &format!("/auth/v1/admin/users/{OWNER_B}"), &[("authorization", &root)]).await;
    assert_eq!((r.status, r.json()["error_code"].clone()), (409, json!("conflict")), "{}", r.body);
    assert!(r.json()["msg"].as_str().unwrap().contains(ORG_B), "the error names the org: {}", r.body);
    assert_eq!(
        k.rows(&format!("select * from api.memberships where org_id = '{ORG_B}' order by user_id")).await,
        before
    );
    // The self-service path says the same.
    let owner_b = k.sign_in("owner@b.test").await;
    let r = k.rpc(Some(&owner_b), "delete_my_account", json!({"password": PASSWORD})).await;
    assert_eq!((r.status, r.code()), (409, "PT409".to_string()), "{}", r.body);
    // Once another user owns org B, its former owner can go.
    let r = k.rpc(Some(&root), "transfer_ownership", json!({"org": ORG_B, "email": "loner@x.test"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = k.rpc(Some(&owner_b), "delete_my_account", json!({"password": PASSWORD})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["user_id"], json!(OWNER_B));
    // Nor may the last super admin be deleted.
    let r = k.g.request(Method::DELETE, &format!("/auth/v1/admin/users/{SUPER}"), &[("authorization", &root)]).await;
    assert_eq!((r.status, r.json()["error_code"].clone()), (409, json!("conflict")), "{}", r.body);
}

#[tokio::test]
async fn a_person_deletes_their_own_account_with_their_password() {
    let k = Kit::new().await;
    let viewer = k.sign_in("viewer@a.test").await;
    let others =
        k.rows(&format!("select * from api.memberships where user_id <> '{VIEWER_A}' order by org_id, user_id")).await;
    let r = k.rpc(Some(&viewer), "delete_my_account", json!({"password": "not my password"})).await;
    assert_eq!((r.status, r.code()), (403, "PT403".to_string()), "a wrong password: {}", r.body);
    let r = k.rpc(Some(&viewer), "delete_my_account", json!({})).await;
    assert_eq!(r.status, 404, "no password given: no such function signature ({})", r.body);
    let r = k.rpc(None, "delete_my_account", json!({"password": PASSWORD})).await;
    assert_eq!(r.status, 401, "anonymous: {}", r.body);
    assert_eq!(k.scalar(&format!("select count(*) from auth.users where id = '{VIEWER_A}'")).await, json!(1));

    let r = k.rpc(Some(&viewer), "delete_my_account", json!({"password": PASSWORD})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.json()["redacted_entries"].as_i64().is_some_and(|n| n > 0), "{}", r.body);
    let r = k.g.get_with("/organizations", &[("authorization", &viewer)]).await;
    assert_eq!((r.status, r.code()), (401, "PGRST301".to_string()), "{}", r.body);
    assert!(all_zero(&traces(&k, VIEWER_A, "viewer@a.test").await));
    assert_eq!(
        k.rows(&format!("select * from api.memberships where user_id <> '{VIEWER_A}' order by org_id, user_id")).await,
        others,
        "nobody else's membership changed"
    );
}

//! Point 6, the audit trail over HTTP: sign-ins (and refusals) and sign-outs with the request id
//! and the client address but no secret; platform settings, the catalog and user administration
//! as platform entries only the super admin reads; API tokens created and revoked in their org's
//! log, for its owners and admins.

use reqwest::Method;
use serde_json::json;

use super::*;

const NIL: &str = "00000000-0000-0000-0000-000000000000";

#[tokio::test]
async fn sign_ins_and_sign_outs_are_entries_without_secrets() {
    let k = Kit::new().await;
    let login = |password: &str| json!({"email": "member@a.test", "password": password}).to_string();
    let r =
        k.g.send(
            Method::POST,
            "/auth/v1/token?grant_type=password",
            &[("x-request-id", "kit-fail-1")],
            &login("wrong one"),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r =
        k.g.send(Method::POST, "/auth/v1/token?grant_type=password", &[("x-request-id", "kit-in-1")], &login(PASSWORD))
            .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let token = format!("Bearer {}", r.json()["access_token"].as_str().unwrap());
    let session = r.json()["user"]["id"].clone();
    assert_eq!(session, json!(MEMBER_A));
    let r =
        k.g.send(
            Method::POST,
            "/auth/v1/logout?scope=global",
            &[("authorization", &token), ("x-request-id", "kit-out-1")],
            "",
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let entries = k
        .rows(&format!(
            "select action, actor_user_id, request_id, diff ->> 'ip' as ip, diff ->> 'reason' as reason, org_id
               from api.audit_log where table_name = 'sessions' and actor_user_id = '{MEMBER_A}' order by at"
        ))
        .await;
    assert_eq!(
        entries,
        json!([
            {"action": "SIGN_IN_FAILED", "actor_user_id": MEMBER_A, "request_id": "kit-fail-1", "ip": "127.0.0.1", "reason": "invalid_credentials", "org_id": NIL},
            {"action": "SIGN_IN", "actor_user_id": MEMBER_A, "request_id": "kit-in-1", "ip": "127.0.0.1", "reason": null, "org_id": NIL},
            {"action": "SIGN_OUT", "actor_user_id": MEMBER_A, "request_id": "kit-out-1", "ip": null, "reason": null, "org_id": NIL}
        ])
    );
    let secrets = k.scalar(&format!(
        "select count(*) from api.audit_log where (row_key::text || coalesce(diff::text, '')) ~ '{PASSWORD}|wrong one|\\$2[aby]\\$'"
    ))
    .await;
    assert_eq!(secrets, json!(0), "no password or hash anywhere in the log");
    // Platform entries: the super admin reads them, an org's owner does not.
    let r =
        k.g.get_with(
            &format!("/audit_log?org_id=eq.{NIL}&action=eq.SIGN_IN&select=actor_user_id"),
            &[("authorization", &k.sign_in("root@platform.test").await)],
        )
        .await;
    assert!(r.json().as_array().is_some_and(|a| a.iter().any(|e| e["actor_user_id"] == json!(MEMBER_A))), "{}", r.body);
    let r =
        k.g.get_with(&format!("/audit_log?org_id=eq.{NIL}"), &[("authorization", &k.sign_in("owner@a.test").await)])
            .await;
    assert_eq!(r.json(), json!([]), "{}", r.body);
}

#[tokio::test]
async fn platform_and_token_changes_are_entries_for_who_may_read_them() {
    let k = Kit::new().await;
    let root = k.sign_in("root@platform.test").await;
    let owner = k.sign_in("owner@a.test").await;
    let r = k
        .call(
            Some(&root),
            Method::PATCH,
            "/platform_settings?id=eq.true",
            Some(json!({"auto_activate_new_orgs": false})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = k.call(Some(&root), Method::POST, "/models", Some(json!({"name": "catalog-new"}))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = k
        .call(
            Some(&root),
            Method::POST,
            "/auth/v1/admin/users",
            Some(json!({"email": "dana@x.test", "password": "correct horse"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let dana = r.json()["id"].as_str().unwrap().to_string();
    let r = k
        .call(
            Some(&root),
            Method::PUT,
            &format!("/auth/v1/admin/users/{dana}"),
            Some(json!({"ban_duration": "876000h"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = k.g.get_with(&format!("/audit_log?org_id=eq.{NIL}&table_name=in.(platform_settings,models,users)&actor_user_id=eq.{SUPER}&select=table_name,action,actor_user_id&order=at"), &[("authorization", &root)]).await;
    assert_eq!(
        r.json(),
        json!([
            {"table_name": "platform_settings", "action": "UPDATE", "actor_user_id": SUPER},
            {"table_name": "models", "action": "INSERT", "actor_user_id": SUPER},
            {"table_name": "users", "action": "INSERT", "actor_user_id": SUPER},
            {"table_name": "users", "action": "UPDATE", "actor_user_id": SUPER}
        ]),
        "{}",
        r.body
    );
    let r = k.g.get_with("/audit_log?table_name=eq.platform_settings", &[("authorization", &owner)]).await;
    assert_eq!(r.json(), json!([]), "platform entries are the super admin's only");

    // API tokens: created and revoked, in the org's log, never the token.
    let r = k.rpc(Some(&owner), "create_api_token", json!({"org": ORG_A, "name": "ci", "role": "viewer"})).await;
    let (id, token) = (r.json()["id"].as_str().unwrap().to_string(), r.json()["token"].as_str().unwrap().to_string());
    let r = k.g.get_with("/projects", &[("authorization", &format!("Bearer {token}"))]).await;
    assert_eq!(r.status, 200, "the token works: {}", r.body);
    let r = k.rpc(Some(&k.sign_in("admin@a.test").await), "revoke_api_token", json!({"org": ORG_A, "id": id})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r =
        k.g.get_with(
            "/audit_log?table_name=eq.api_tokens&select=action,actor_user_id,row_key,diff&order=at",
            &[("authorization", &owner)],
        )
        .await;
    let log = r.json();
    assert_eq!(log.as_array().map(Vec::len), Some(2), "created and revoked (its use is no entry): {}", r.body);
    assert_eq!((log[0]["action"].clone(), log[0]["actor_user_id"].clone()), (json!("INSERT"), json!(OWNER_A)));
    assert_eq!((log[1]["action"].clone(), log[1]["actor_user_id"].clone()), (json!("UPDATE"), json!(ADMIN_A)));
    assert!(!r.body.contains(&token) && !r.body.contains("token_hash"), "{}", r.body);
    let r =
        k.g.get_with("/audit_log?table_name=eq.api_tokens", &[("authorization", &k.sign_in("owner@b.test").await)])
            .await;
    assert_eq!(r.json(), json!([]), "another org's owner reads none of it");
    let r =
        k.g.get_with("/audit_log?table_name=eq.api_tokens", &[("authorization", &k.sign_in("member@a.test").await)])
            .await;
    assert_eq!(r.json(), json!([]), "nor does a member");
}

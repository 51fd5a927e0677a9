//! Point 7, super-admin operations as RPCs: create an org for a customer (an existing user owns
//! it, an unknown email gets an owner invitation), list orgs with status, plan and usage, change
//! status with a reason (lifecycle.rs), move ownership. The super admin reads every org's
//! memberships — the cross-org access report needs them — but no tenant's business rows.

use reqwest::Method;
use serde_json::json;

use super::*;

#[tokio::test]
async fn the_super_admin_creates_an_org_for_a_customer() {
    let k = Kit::new().await;
    let root = k.sign_in("root@platform.test").await;
    let owner = k.sign_in("owner@a.test").await;
    let args = json!({"name": "Acme", "owner_email": "Loner@X.test"});
    let r = k.rpc(Some(&owner), "admin_create_organization", args.clone()).await;
    assert_eq!((r.status, r.code()), (403, "PT403".to_string()), "{}", r.body);
    let r = k.rpc(Some(&service()), "admin_create_organization", args.clone()).await;
    assert_eq!((r.status, r.code()), (403, "42501".to_string()), "{}", r.body);
    let r = k.rpc(Some(&root), "admin_create_organization", args).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!((r.json()["owner_user_id"].clone(), r.json()["status"].clone()), (json!(LONER), json!("active")));
    let acme = r.json()["org_id"].as_str().unwrap().to_string();
    let loner = k.sign_in("loner@x.test").await;
    let r = k.g.get_with("/memberships?select=org_id,role", &[("authorization", &loner)]).await;
    assert_eq!(r.json(), json!([{"org_id": acme, "role": "owner"}]), "the customer owns it at once");

    // An unknown email: an invitation to own it, accepted once they sign up.
    let r = k
        .rpc(Some(&root), "admin_create_organization", json!({"name": "Globex", "owner_email": "hank@globex.test"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let token = r.json()["invitation"]["token"].as_str().expect("an invitation token").to_string();
    let globex = r.json()["org_id"].as_str().unwrap().to_string();
    let r = k
        .call(
            None,
            Method::POST,
            "/auth/v1/signup",
            Some(json!({"email": "hank@globex.test", "password": "correct horse"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let hank = format!("Bearer {}", r.json()["access_token"].as_str().unwrap());
    let r = k.rpc(Some(&loner), "accept_invitation", json!({"token": token})).await;
    assert_eq!(r.status, 403, "only the addressee accepts it: {}", r.body);
    let r = k.rpc(Some(&hank), "accept_invitation", json!({"token": token})).await;
    assert_eq!((r.status, r.json()["role"].clone()), (200, json!("owner")), "{}", r.body);
    assert_eq!(r.json()["org_id"], json!(globex));
}

#[tokio::test]
async fn the_super_admin_lists_orgs_with_status_plan_and_usage() {
    let k = Kit::new().await;
    let root = k.sign_in("root@platform.test").await;
    let r =
        k.g.get_with(
            "/rpc/admin_list_organizations?select=org_id,status,plan_id,members,projects&order=org_id",
            &[("authorization", &root)],
        )
        .await;
    assert_eq!(
        r.json(),
        json!([
            {"org_id": ORG_A, "status": "active", "plan_id": "standard", "members": 4, "projects": 1},
            {"org_id": ORG_B, "status": "active", "plan_id": "standard", "members": 1, "projects": 1},
            {"org_id": ORG_S, "status": "suspended", "plan_id": "standard", "members": 1, "projects": 1},
            {"org_id": ORG_P, "status": "pending_approval", "plan_id": "standard", "members": 1, "projects": 0}
        ]),
        "{}",
        r.body
    );
    let r =
        k.g.get_with("/rpc/admin_list_organizations?status=eq.suspended&select=name", &[("authorization", &root)])
            .await;
    assert_eq!(r.json(), json!([{"name": "Org S"}]), "filtered like any table-valued RPC");
    let r = k.g.get_with("/rpc/admin_list_organizations", &[("authorization", &k.sign_in("owner@a.test").await)]).await;
    assert_eq!((r.status, r.code()), (403, "PT403".to_string()), "{}", r.body);
}

#[tokio::test]
async fn ownership_moves_and_the_super_admin_sees_memberships_not_business_rows() {
    let k = Kit::new().await;
    let root = k.sign_in("root@platform.test").await;
    let owner = k.sign_in("owner@a.test").await;
    let admin = k.sign_in("admin@a.test").await;
    let r = k.rpc(Some(&admin), "transfer_ownership", json!({"org": ORG_A, "user_id": ADMIN_A})).await;
    assert_eq!((r.status, r.code()), (403, "PT403".to_string()), "an admin cannot take it: {}", r.body);
    let r = k.rpc(Some(&owner), "transfer_ownership", json!({"org": ORG_A, "user_id": LONER})).await;
    assert_eq!((r.status, r.code()), (404, "PT404".to_string()), "only to a member: {}", r.body);
    let r = k.rpc(Some(&owner), "transfer_ownership", json!({"org": ORG_A, "user_id": MEMBER_A})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r =
        k.g.get_with(
            "/memberships?select=user_id,role&role=in.(owner,admin)&order=role,user_id",
            &[("authorization", &owner)],
        )
        .await;
    assert_eq!(
        r.json(),
        json!([{"user_id": OWNER_A, "role": "admin"}, {"user_id": ADMIN_A, "role": "admin"}, {"user_id": MEMBER_A, "role": "owner"}]),
        "{}",
        r.body
    );
    let r = k.rpc(Some(&root), "transfer_ownership", json!({"org": ORG_B, "email": "loner@x.test"})).await;
    assert_eq!(r.status, 200, "the super admin names anyone by email: {}", r.body);

    // Memberships across orgs: yes. Projects, tasks, invitations: no.
    let r = k.g.get_with("/memberships?select=org_id", &[("authorization", &root)]).await;
    let orgs: std::collections::BTreeSet<String> =
        r.json().as_array().unwrap().iter().map(|m| m["org_id"].as_str().unwrap().to_string()).collect();
    assert_eq!(orgs.len(), 4, "every org's memberships: {}", r.body);
    for table in ["projects", "tasks", "invitations"] {
        let r = k.g.get_with(&format!("/{table}"), &[("authorization", &root)]).await;
        assert_eq!((r.status, r.json()), (200, json!([])), "{table}");
    }
}

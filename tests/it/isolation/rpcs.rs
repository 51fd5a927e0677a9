//! RPCs given another org's ids: every function of schema `api` taking an org, called by each of
//! A's roles (session and API tokens) and by the super admin with org B's id, is refused with the
//! status and code asserted, and org B is unchanged; `service_role` may execute none of them. A
//! guard fails when `api` gains a function this file does not list.

use reqwest::Method;
use serde_json::{json, Value};

use super::*;

/// Every function of schema `api` in the reference schema, with the argument naming an org.
const API_FUNCTIONS: [(&str, Option<&str>); 21] = [
    ("api.accept_invitation(text)", None), // the org is the token's prefix: see below
    ("api.admin_create_organization(text,text,text)", None), // a new org (super admin): tenancy_kit
    ("api.admin_list_organizations()", None), // super admin: tenancy_kit
    ("api.create_api_token(uuid,text,text,timestamp with time zone)", Some("org")),
    ("api.create_invitation(uuid,text,text)", Some("org")),
    ("api.create_invite_link(uuid,text,integer,interval)", Some("org")),
    ("api.create_organization(text)", None), // a signed-in user's new org: see onboarding.rs
    ("api.delete_my_account(text)", None),   // the caller's own account: tenancy_kit
    ("api.delete_organization(uuid)", Some("org")),
    ("api.export_my_data()", None), // the caller's own data: tenancy_kit
    ("api.export_org(uuid)", Some("org_id")),
    ("api.grant_entitlement(uuid,uuid,timestamp with time zone)", Some("org")),
    ("api.has_model_access(uuid)", None), // the caller's own access: tenancy_kit
    ("api.list_api_tokens(uuid)", Some("org")),
    ("api.register_organization(text,text,text)", None), // anonymous sign-up, creates its own org
    ("api.restore_organization(uuid)", Some("org")),
    ("api.revoke_api_token(uuid,uuid)", Some("org")),
    ("api.revoke_entitlement(uuid,uuid)", Some("org")),
    ("api.set_org_plan(uuid,text)", Some("org")),
    ("api.set_org_status(uuid,text,text)", Some("org")),
    ("api.transfer_ownership(uuid,uuid,text)", Some("org")),
];

/// What `service_role` may execute (billing automation grants and revokes entitlements:
/// tenancy_kit tests it); every other function of `api` refuses it by grant.
const SERVICE_FUNCTIONS: [&str; 2] = ["grant_entitlement", "revoke_entitlement"];

/// Org B's state an RPC could change.
async fn b_state(w: &World) -> Value {
    json!({
        "org": w.rows(&format!("select * from api.organizations where id = '{ORG_B}'")).await,
        "memberships": w.rows(&format!("select * from api.memberships where org_id = '{ORG_B}' order by user_id")).await,
        "invitations": w.rows(&format!("select * from api.invitations where org_id = '{ORG_B}' order by id")).await,
        "api_tokens": w.rows(&format!("select * from auth.api_tokens where org_id = '{ORG_B}' order by id")).await,
        "audit": w.rows(&format!("select count(*) from api.audit_log where org_id = '{ORG_B}'")).await,
    })
}

#[tokio::test]
async fn rpcs_refuse_another_orgs_ids() {
    let w = World::new().await;
    // A token of B to aim at.
    let r = w.rpc(Actor::OwnerB, "create_api_token", &json!({"org": ORG_B, "name": "b-ci", "role": "member"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let b_token = r.json()["id"].as_str().expect("B's token id").to_string();
    let before = b_state(&w).await;
    let a_before = w.rows("select * from auth.api_tokens order by id").await;

    let a_roles =
        [Actor::OwnerA, Actor::AdminA, Actor::MemberA, Actor::ViewerA, Actor::TokenMemberA, Actor::TokenViewerA];
    // (function, arguments, actors, status, code)
    let calls: Vec<(&str, Value, Vec<Actor>, u16, &str)> = vec![
        (
            "create_invitation",
            json!({"org": ORG_B, "email": "x@x.test", "role": "viewer"}),
            [&a_roles[..], &[Actor::Super, Actor::Loner]].concat(),
            403,
            "PT403",
        ),
        (
            "create_invite_link",
            json!({"org": ORG_B, "role": "viewer", "max_uses": 5}),
            [&a_roles[..], &[Actor::Super, Actor::Loner]].concat(),
            403,
            "PT403",
        ),
        (
            "create_api_token",
            json!({"org": ORG_B, "name": "x", "role": "viewer"}),
            [&a_roles[..], &[Actor::Super, Actor::Loner]].concat(),
            403,
            "PT403",
        ),
        (
            "list_api_tokens",
            json!({"org": ORG_B}),
            [&a_roles[..], &[Actor::Super, Actor::Loner]].concat(),
            403,
            "PT403",
        ),
        (
            "revoke_api_token",
            json!({"org": ORG_B, "id": b_token}),
            [&a_roles[..], &[Actor::Super, Actor::Loner]].concat(),
            403,
            "PT403",
        ),
        // B's token named under A's own org: not found there (owners/admins), refused (the rest).
        ("revoke_api_token", json!({"org": ORG_A, "id": b_token}), vec![Actor::OwnerA, Actor::AdminA], 404, "PT404"),
        ("revoke_api_token", json!({"org": ORG_A, "id": b_token}), a_roles[2..].to_vec(), 403, "PT403"),
        (
            "set_org_status",
            json!({"org": ORG_B, "status": "suspended", "reason": "x"}),
            [&a_roles[..], &[Actor::OwnerB, Actor::Loner]].concat(),
            403,
            "PT403",
        ),
        (
            "set_org_plan",
            json!({"org": ORG_B, "plan": "plan_a"}),
            [&a_roles[..], &[Actor::OwnerB, Actor::Loner]].concat(),
            403,
            "PT403",
        ),
        ("delete_organization", json!({"org": ORG_B}), [&a_roles[..], &[Actor::Loner]].concat(), 403, "PT403"),
        ("restore_organization", json!({"org": ORG_B}), [&a_roles[..], &[Actor::Loner]].concat(), 403, "PT403"),
        ("export_org", json!({"org_id": ORG_B}), [&a_roles[..], &[Actor::Loner]].concat(), 403, "PT403"),
        (
            "transfer_ownership",
            json!({"org": ORG_B, "user_id": OWNER_A}),
            [&a_roles[..], &[Actor::Loner]].concat(),
            403,
            "PT403",
        ),
        (
            "grant_entitlement",
            json!({"org": ORG_B, "model_id": MODEL_A}),
            [&a_roles[..], &[Actor::OwnerB, Actor::Loner]].concat(),
            403,
            "PT403",
        ),
        (
            "revoke_entitlement",
            json!({"org": ORG_B, "model_id": MODEL_B}),
            [&a_roles[..], &[Actor::OwnerB, Actor::Loner]].concat(),
            403,
            "PT403",
        ),
        // A guessed invitation of B (the token's prefix is the org): invalid.
        (
            "accept_invitation",
            json!({"token": format!("{ORG_B}.{}", "0".repeat(48))}),
            vec![Actor::OwnerA, Actor::MemberA, Actor::Loner],
            400,
            "PT400",
        ),
        (
            "accept_invitation",
            json!({"token": format!("{ORG_B}.{}", "0".repeat(48))}),
            vec![Actor::TokenMemberA],
            403,
            "PT403",
        ),
    ];
    let mut failures = vec![];
    for (function, args, actors, status, code) in &calls {
        for actor in actors {
            let r = w.rpc(*actor, function, args).await;
            if (r.status, r.code()) != (*status, code.to_string()) {
                failures.push(format!(
                    "{function}({args}) as {}: expected {status} {code}, got {} {}",
                    actor.column(),
                    r.status,
                    r.body
                ));
            }
            let context = format!("{function} as {}", actor.column());
            assert!(!r.body.contains("b-ci") && !r.body.contains(OWNER_B), "{context}: {}", r.body);
        }
        // Anonymous: no EXECUTE at all.
        let r = w.rpc(Actor::Anon, function, args).await;
        if (r.status, r.code()) != (401, "42501".to_string()) {
            failures.push(format!("{function}({args}) as anon: expected 401 42501, got {} {}", r.status, r.body));
        }
    }
    // service_role may execute no function of `api` but SERVICE_FUNCTIONS (the SQL suite's
    // `service`): every other function, aimed at B and at A, is refused, and nothing changes.
    let direct = w.without_pre_request().await;
    let orgs_before = w.rows("select * from api.organizations order by id").await;
    for (org, token) in [(ORG_B, b_token.as_str()), (ORG_A, w.token_member.0.as_str())] {
        let zeros = "0".repeat(48);
        let args: Vec<(&str, Value)> = vec![
            ("accept_invitation", json!({"token": format!("{org}.{zeros}")})),
            ("create_api_token", json!({"org": org, "name": "svc", "role": "viewer"})),
            ("create_invitation", json!({"org": org, "email": "svc@x.test", "role": "viewer"})),
            ("create_invite_link", json!({"org": org, "role": "viewer", "max_uses": 5})),
            ("create_organization", json!({"name": "svc"})),
            ("list_api_tokens", json!({"org": org})),
            ("register_organization", json!({"email": "svc@x.test", "password": "correct horse", "org_name": "svc"})),
            ("revoke_api_token", json!({"org": org, "id": token})),
            ("set_org_status", json!({"org": org, "status": "suspended"})),
            ("admin_create_organization", json!({"name": "svc", "owner_email": "svc@x.test"})),
            ("admin_list_organizations", json!({})),
            ("delete_my_account", json!({"password": "correct horse"})),
            ("delete_organization", json!({"org": org})),
            ("export_my_data", json!({})),
            ("export_org", json!({"org_id": org})),
            ("has_model_access", json!({"model_id": MODEL_A})),
            ("restore_organization", json!({"org": org})),
            ("set_org_plan", json!({"org": org, "plan": "plan_a"})),
            ("transfer_ownership", json!({"org": org, "user_id": OWNER_A})),
        ];
        let named: Vec<String> = args.iter().map(|(f, _)| format!("api.{f}(")).collect();
        assert!(
            API_FUNCTIONS.iter().all(|(f, _)| named.iter().any(|n| f.starts_with(n.as_str()))
                || SERVICE_FUNCTIONS.iter().any(|s| f.starts_with(&format!("api.{s}(")))),
            "service_role: call every function of API_FUNCTIONS"
        );
        for (function, args) in &args {
            let (path, body) = (format!("/rpc/{function}"), args.to_string());
            let object = format!("function {function}");
            failures.extend(service_refusal(&w, &direct, Method::POST, &path, &[], Some(&body), &object).await);
        }
    }
    assert_eq!(w.rows("select * from api.organizations order by id").await, orgs_before, "service_role changed orgs");

    assert!(failures.is_empty(), "{} calls failed:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(b_state(&w).await, before, "org B changed");
    assert_eq!(w.rows("select * from auth.api_tokens order by id").await, a_before, "no token created or revoked");

    // The same calls with A's own id work for A's owner: the refusals above are about the org.
    let r = w.rpc(Actor::OwnerA, "list_api_tokens", &json!({"org": ORG_A})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json().as_array().map(Vec::len), Some(2), "A's two tokens only: {}", r.body);
    assert_no_b("list_api_tokens(A)", &r);
}

/// Fails when the reference schema gains (or loses) a function in `api` that `API_FUNCTIONS`
/// does not list: each new RPC must be classified here, and tested above if it takes an org.
#[tokio::test]
async fn every_api_function_is_listed() {
    // A database with the migrations and policies only (the test template adds fixtures).
    let name = format!("iso_fns_{}", std::process::id());
    let admin = connect(&cluster().conn_string("postgres", "postgres")).await;
    admin.batch_execute(&format!("drop database if exists {name}")).await.expect("drop a leftover");
    admin.batch_execute(&format!("create database {name}")).await.expect("create");
    let mut db = connect(&cluster().conn_string("postgres", &name)).await;
    rowgate::db::migrate::migrate(&mut db).await.expect("migrate");
    let rows = db
        .query(
            "select p.oid::regprocedure::text, \
                    array(select a.n from unnest(coalesce(p.proargnames, '{}'), p.proargtypes::oid[]) a (n, t) \
                           where a.t = 'uuid'::regtype and a.n ilike '%org%') \
               from pg_proc p where p.pronamespace = 'api'::regnamespace order by 1",
            &[],
        )
        .await
        .expect("api functions");
    drop(db);
    admin.batch_execute(&format!("drop database {name} with (force)")).await.expect("drop");
    let found: Vec<(String, Vec<String>)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let names: Vec<&str> = found.iter().map(|(f, _)| f.as_str()).collect();
    let listed: Vec<&str> = API_FUNCTIONS.iter().map(|(f, _)| *f).collect();
    assert_eq!(names, listed, "schema api's functions changed: classify every new one in API_FUNCTIONS and test it");
    for ((f, args), (_, org)) in found.iter().zip(API_FUNCTIONS) {
        assert_eq!(args.first().map(String::as_str), org, "{f}: its uuid argument naming an org");
        assert!(args.len() <= 1, "{f}: several org arguments {args:?}");
    }
}

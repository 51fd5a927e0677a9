//! API tokens (sql/V6): minted once by an RPC, stored hashed, scoped to one org with a role
//! ceiling, checked by the pre-request check on every request, revocable at once.

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::*;
use crate::tenants::{ADMIN_A, MEMBER_A, ORG_A, ORG_B, OWNER_A, OWNER_B, PROJ_A, PROJ_B};

/// On top of the shared tenant world: A's owner is also a member of B.
const OWNER_A_IN_B: &str = r#"
insert into api.memberships (org_id, user_id, role) values
  ('0b000000-0000-0000-0000-000000000000', 'a0000000-0000-0000-0000-000000000001', 'member');
"#;

async fn seeded() -> Gateway {
    let g = Gateway::start_with(|a| a.db_pre_request = Some("internal.check_request".into())).await;
    crate::tenants::seed(&g.db, &[OWNER_A_IN_B]).await;
    g
}

fn jwt(user: &str) -> String {
    bearer(json!({"role": "authenticated", "sub": user}))
}

fn api(token: &str) -> String {
    format!("Bearer {token}")
}

async fn rpc(g: &Gateway, authorization: &str, function: &str, args: Value) -> Reply {
    g.send(Method::POST, &format!("/rpc/{function}"), &[("authorization", authorization)], &args.to_string()).await
}

/// Creates a token as `user` and returns `(id, token)`.
async fn create(g: &Gateway, user: &str, org: &str, role: &str) -> (String, String) {
    let r = rpc(g, &jwt(user), "create_api_token", json!({"org": org, "name": "ci", "role": role})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    (v["id"].as_str().expect("id").to_string(), v["token"].as_str().expect("token").to_string())
}

async fn get(g: &Gateway, authorization: &str, path: &str) -> Reply {
    g.get_with(path, &[("authorization", authorization)]).await
}

async fn send(g: &Gateway, authorization: &str, method: Method, path: &str, body: Value) -> Reply {
    g.send(method, path, &[("authorization", authorization), ("prefer", "return=representation")], &body.to_string())
        .await
}

async fn scalar(g: &Gateway, sql: &str) -> Value {
    let db = g.db.admin().await;
    let q = format!("select to_jsonb(({sql}))::text");
    let row = db.query_one(q.as_str(), &[]).await.unwrap_or_else(|e| panic!("{q}: {e}"));
    serde_json::from_str(row.get::<_, &str>(0)).expect("json")
}

fn names(r: &Reply, key: &str) -> Vec<String> {
    assert_eq!(r.status, 200, "{}", r.body);
    let mut out: Vec<String> =
        r.json().as_array().expect("array").iter().map(|v| v[key].as_str().unwrap().into()).collect();
    out.sort();
    out
}

fn assert_401(r: &Reply) {
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.code(), "PGRST301", "{}", r.body);
    assert!(r.header("www-authenticate").is_some_and(|w| w.contains("invalid_token")), "{:?}", r.headers);
}

#[tokio::test]
async fn a_token_acts_in_its_org_only() {
    let g = seeded().await;
    let (id, token) = create(&g, OWNER_A, ORG_A, "member").await;
    assert!(token.len() == 67 && token.starts_with("rg_"), "{token}");
    assert!(token[3..].chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()), "{token}");
    // Only the SHA-256 is stored.
    let stored = scalar(&g, &format!("select token_hash from auth.api_tokens where id = '{id}'")).await;
    let expected = scalar(&g, &format!("select encode(sha256('{token}'::bytea), 'hex')")).await;
    assert_eq!(stored, expected);
    let raw_anywhere =
        scalar(&g, &format!("select count(*) from auth.api_tokens t where t::text like '%{}%'", &token[3..])).await;
    assert_eq!(raw_anywhere, json!(0));

    // The creator sees both orgs with a JWT; the token only org A, even though the creator is in B.
    assert_eq!(names(&get(&g, &jwt(OWNER_A), "/projects").await, "id"), [PROJ_A, PROJ_B]);
    let auth = api(&token);
    assert_eq!(names(&get(&g, &auth, "/projects").await, "id"), [PROJ_A]);
    assert_eq!(names(&get(&g, &auth, "/organizations").await, "id"), [ORG_A]);
    assert_eq!(names(&get(&g, &auth, "/tasks").await, "title"), ["a-task"]);
    assert_eq!(names(&get(&g, &auth, &format!("/tasks?org_id=eq.{ORG_B}")).await, "title"), Vec::<String>::new());
    assert_eq!(
        scalar(&g, &format!("select last_used_at is null from auth.api_tokens where id = '{id}'")).await,
        json!(true)
    );

    // It writes its org's projects and tasks.
    let r = send(&g, &auth, Method::POST, "/projects", json!({"org_id": ORG_A, "name": "by-token"})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let project = r.json()[0]["id"].as_str().unwrap().to_string();
    let r =
        send(&g, &auth, Method::POST, "/tasks", json!({"org_id": ORG_A, "project_id": project, "title": "t"})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = send(&g, &auth, Method::PATCH, "/tasks?title=eq.a-task", json!({"done": true})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json().as_array().unwrap().len(), 1);
    // The audit log names the creator.
    let actor = scalar(
        &g,
        &format!("select actor_user_id from api.audit_log where table_name = 'projects' and row_key::text like '%{project}%'"),
    )
    .await;
    assert_eq!(actor, json!(OWNER_A));
    // A write records last_used_at.
    assert_eq!(
        scalar(&g, &format!("select last_used_at is not null from auth.api_tokens where id = '{id}'")).await,
        json!(true)
    );

    // Never another org's rows, although the creator is a member of B.
    let r = send(&g, &auth, Method::POST, "/projects", json!({"org_id": ORG_B, "name": "sneaky"})).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = send(&g, &auth, Method::PATCH, "/tasks?title=eq.b-task", json!({"done": true})).await;
    assert_eq!((r.status, r.json()), (200, json!([])));
    let r = g.request(Method::DELETE, &format!("/memberships?org_id=eq.{ORG_B}"), &[("authorization", &auth)]).await;
    assert!(r.status < 300, "{}", r.body);
    assert_eq!(
        scalar(&g, &format!("select count(*) from api.memberships where org_id = '{ORG_B}' and user_id = '{OWNER_A}'"))
            .await,
        json!(1)
    );
    assert_eq!(scalar(&g, "select count(*) from api.projects where name = 'sneaky'").await, json!(0));
    assert_eq!(scalar(&g, "select done from api.tasks where title = 'b-task'").await, json!(false));

    // Tokens cannot mint tokens.
    let r = rpc(&g, &auth, "create_api_token", json!({"org": ORG_A, "name": "x", "role": "viewer"})).await;
    assert_eq!(r.status, 403, "{}", r.body);

    // Nor accept invitations for the creator (without the check: 409, already a member of B).
    let r =
        rpc(&g, &jwt(OWNER_B), "create_invitation", json!({"org": ORG_B, "email": "owner@a.test", "role": "viewer"}))
            .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let invitation = r.json().as_str().unwrap().to_string();
    let r = rpc(&g, &auth, "accept_invitation", json!({"token": invitation})).await;
    assert_eq!(r.status, 403, "{}", r.body);

    // The listing shows no secret and no hash.
    let r = rpc(&g, &jwt(OWNER_A), "list_api_tokens", json!({"org": ORG_A})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let list = r.json();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["id"], json!(id));
    assert_eq!(list[0]["role"], json!("member"));
    assert!(list[0].get("token").is_none() && list[0].get("token_hash").is_none(), "{list}");
    assert!(!r.body.contains(&token[3..]) && !r.body.contains(stored.as_str().unwrap()), "{}", r.body);
    // Other orgs' owners neither list nor revoke it.
    let r = rpc(&g, &jwt(OWNER_B), "list_api_tokens", json!({"org": ORG_A})).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = rpc(&g, &jwt(OWNER_B), "revoke_api_token", json!({"org": ORG_A, "id": id})).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = rpc(&g, &jwt(OWNER_B), "revoke_api_token", json!({"org": ORG_B, "id": id})).await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(get(&g, &auth, "/projects").await.status, 200);
}

#[tokio::test]
async fn ceilings() {
    let g = seeded().await;
    // Only owners and admins create tokens, never above their own role.
    for role in ["admin", "member", "viewer"] {
        let r = rpc(&g, &jwt(MEMBER_A), "create_api_token", json!({"org": ORG_A, "name": "x", "role": role})).await;
        assert_eq!(r.status, 403, "{role}: {}", r.body);
    }
    let r = rpc(&g, &jwt(ADMIN_A), "create_api_token", json!({"org": ORG_A, "name": "x", "role": "owner"})).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = rpc(&g, &jwt(OWNER_A), "create_api_token", json!({"org": ORG_A, "name": "x", "role": "root"})).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = rpc(&g, &jwt(OWNER_A), "create_api_token", json!({"org": ORG_B, "name": "x", "role": "viewer"})).await;
    assert_eq!(r.status, 403, "a member of B: {}", r.body);
    assert_eq!(scalar(&g, "select count(*) from auth.api_tokens").await, json!(0));
    // Anonymous callers cannot even call it.
    let r = g
        .send(
            Method::POST,
            "/rpc/create_api_token",
            &[],
            &json!({"org": ORG_A, "name": "x", "role": "viewer"}).to_string(),
        )
        .await;
    // The function exists for everyone (the schema cache lists it) but anon may not execute it.
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(
        r.json(),
        json!({"code": "42501", "message": "permission denied for function create_api_token", "details": null, "hint": null})
    );
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));

    // A viewer-ceiling token reads but cannot write.
    let (_, viewer) = create(&g, OWNER_A, ORG_A, "viewer").await;
    let auth = api(&viewer);
    assert_eq!(names(&get(&g, &auth, "/projects").await, "id"), [PROJ_A]);
    let r = send(&g, &auth, Method::POST, "/projects", json!({"org_id": ORG_A, "name": "nope"})).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = send(&g, &auth, Method::PATCH, "/tasks?title=eq.a-task", json!({"done": true})).await;
    assert_eq!((r.status, r.json()), (200, json!([])));
    assert_eq!(scalar(&g, "select count(*) from api.projects where name = 'nope'").await, json!(0));

    // An admin-ceiling token of an admin manages members up to admin; demoting the creator caps it.
    let (_, admin) = create(&g, ADMIN_A, ORG_A, "admin").await;
    let auth = api(&admin);
    let r =
        send(&g, &auth, Method::PATCH, &format!("/memberships?user_id=eq.{MEMBER_A}"), json!({"role": "viewer"})).await;
    assert_eq!((r.status, r.json().as_array().map(Vec::len)), (200, Some(1)), "{}", r.body);
    g.db.admin()
        .await
        .batch_execute(&format!("update api.memberships set role = 'viewer' where user_id = '{ADMIN_A}'"))
        .await
        .unwrap();
    let r = send(&g, &auth, Method::POST, "/projects", json!({"org_id": ORG_A, "name": "demoted"})).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(names(&get(&g, &auth, "/projects").await, "id"), [PROJ_A]);
    // Removing the creator from the org: the token sees nothing (and is still a valid token).
    g.db.admin()
        .await
        .batch_execute(&format!("delete from api.memberships where user_id = '{ADMIN_A}'"))
        .await
        .unwrap();
    for path in ["/projects", "/tasks", "/organizations", "/memberships"] {
        let r = get(&g, &auth, path).await;
        assert_eq!((r.status, r.json()), (200, json!([])), "{path}");
    }
    let r = send(&g, &auth, Method::POST, "/projects", json!({"org_id": ORG_A, "name": "removed"})).await;
    assert_eq!(r.status, 403, "{}", r.body);
}

#[tokio::test]
async fn revoked_expired_and_forged_tokens_are_refused() {
    let g = seeded().await;
    let (id, token) = create(&g, OWNER_A, ORG_A, "admin").await;
    let auth = api(&token);
    assert_eq!(get(&g, &auth, "/projects").await.status, 200);
    let r = rpc(&g, &jwt(ADMIN_A), "revoke_api_token", json!({"org": ORG_A, "id": id})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_401(&get(&g, &auth, "/projects").await);
    assert_401(&send(&g, &auth, Method::POST, "/projects", json!({"org_id": ORG_A, "name": "late"})).await);
    let r = rpc(&g, &jwt(OWNER_A), "revoke_api_token", json!({"org": ORG_A, "id": id})).await;
    assert_eq!(r.status, 404, "already revoked: {}", r.body);
    let list = rpc(&g, &jwt(OWNER_A), "list_api_tokens", json!({"org": ORG_A})).await.json();
    assert!(list[0]["revoked_at"].is_string(), "{list}");

    // Expiry: in the past at creation is refused; once passed, the token is refused.
    let r = rpc(
        &g,
        &jwt(OWNER_A),
        "create_api_token",
        json!({"org": ORG_A, "name": "x", "role": "viewer", "expires_at": "2000-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = rpc(
        &g,
        &jwt(OWNER_A),
        "create_api_token",
        json!({"org": ORG_A, "name": "x", "role": "viewer", "expires_at": "2999-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (id, token) = (r.json()["id"].as_str().unwrap().to_string(), r.json()["token"].as_str().unwrap().to_string());
    assert_eq!(get(&g, &api(&token), "/projects").await.status, 200);
    g.db.admin()
        .await
        .batch_execute(&format!(
            "update auth.api_tokens set expires_at = now() - interval '1 second' where id = '{id}'"
        ))
        .await
        .unwrap();
    assert_401(&get(&g, &api(&token), "/projects").await);

    // Forged values, and a disabled creator.
    let forged = format!("rg_{}", "0".repeat(64));
    assert_401(&get(&g, &api(&forged), "/projects").await);
    assert_401(&get(&g, "Bearer rg_", "/projects").await);
    assert_401(&get(&g, &api(&format!("{}x", &token)), "/projects").await);
    let (_, token) = create(&g, OWNER_A, ORG_A, "member").await;
    assert_eq!(get(&g, &api(&token), "/projects").await.status, 200);
    g.db.admin()
        .await
        .batch_execute(&format!("update auth.users set disabled_at = now() where id = '{OWNER_A}'"))
        .await
        .unwrap();
    assert_401(&get(&g, &api(&token), "/projects").await);
}

#[tokio::test]
async fn without_the_pre_request_check_a_token_sees_nothing() {
    let g = Gateway::start().await;
    crate::tenants::seed(&g.db, &[OWNER_A_IN_B]).await;
    let (_, token) = create(&g, OWNER_A, ORG_A, "owner").await;
    let r = get(&g, &api(&token), "/projects").await;
    assert_eq!((r.status, r.json()), (200, json!([])));
    let r = send(&g, &api(&token), Method::POST, "/projects", json!({"org_id": ORG_A, "name": "x"})).await;
    assert_eq!(r.status, 403, "{}", r.body);
}

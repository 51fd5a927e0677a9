//! The multi-tenant reference schema (sql/V2, sql/V3, policies/): isolation, roles, org status,
//! limits, invitations, entitlements, audit log and registration, asserted over HTTP — the denied
//! case as carefully as the allowed one (and the database checked to be unchanged).

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::*;

use crate::tenants::{
    ADMIN_A, LONER, MEMBER_A, ORG_A, ORG_B, ORG_P, ORG_S, OWNER_A, OWNER_B, OWNER_P, OWNER_S, PROJ_A, PROJ_B, PROJ_S,
    STATUS_ORGS, SUPER, TASK_A, TASK_B, VIEWER_A,
};

/// Users in no org, on top of the shared tenant world.
const EXTRA: [&str; 3] = [
    "f0000000-0000-0000-0000-000000000001",
    "f0000000-0000-0000-0000-000000000002",
    "f0000000-0000-0000-0000-000000000003",
];
const EXTRA_USERS: &str = r#"
insert into auth.users (id, email) values
  ('f0000000-0000-0000-0000-000000000001', 'extra1@x.test'),
  ('f0000000-0000-0000-0000-000000000002', 'extra2@x.test'),
  ('f0000000-0000-0000-0000-000000000003', 'extra3@x.test');
"#;

async fn seeded() -> Gateway {
    let g = Gateway::start().await;
    crate::tenants::seed(&g.db, &[STATUS_ORGS, EXTRA_USERS]).await;
    g
}

fn auth(user: &str) -> String {
    bearer(json!({"role": "authenticated", "sub": user}))
}

async fn get_as(g: &Gateway, user: &str, path: &str) -> Reply {
    g.get_with(path, &[("authorization", &auth(user))]).await
}

async fn send_as(g: &Gateway, user: &str, method: Method, path: &str, body: &str) -> Reply {
    g.send(method, path, &[("authorization", &auth(user)), ("prefer", "return=representation")], body).await
}

async fn delete_as(g: &Gateway, user: &str, path: &str) -> Reply {
    g.request(Method::DELETE, path, &[("authorization", &auth(user)), ("prefer", "return=representation")]).await
}

/// The rows of `sql`, read as the superuser, as one JSON array.
async fn rows(g: &Gateway, sql: &str) -> Value {
    let db = g.db.admin().await;
    let q = format!("select coalesce(json_agg(t), '[]')::text from ({sql}) t");
    let row = db.query_one(q.as_str(), &[]).await.unwrap_or_else(|e| panic!("{q}: {e}"));
    serde_json::from_str(row.get::<_, &str>(0)).expect("json_agg")
}

async fn scalar(g: &Gateway, sql: &str) -> Value {
    rows(g, sql).await[0].as_object().expect("one row").values().next().cloned().expect("one column")
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    let mut out: Vec<String> =
        v.as_array().expect("array").iter().map(|r| r[key].as_str().expect(key).to_string()).collect();
    out.sort();
    out
}

#[tokio::test]
async fn members_see_only_their_org() {
    let g = seeded().await;
    let r = get_as(&g, MEMBER_A, "/projects?select=id,name").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json(), json!([{"id": PROJ_A, "name": "alpha"}]));
    let r = get_as(&g, MEMBER_A, &format!("/projects?org_id=eq.{ORG_B}")).await;
    assert_eq!(r.json(), json!([]), "a filter on another org finds nothing");
    let r = get_as(&g, MEMBER_A, &format!("/tasks?id=eq.{TASK_B}")).await;
    assert_eq!(r.json(), json!([]));
    let r = get_as(&g, MEMBER_A, "/tasks?select=title").await;
    assert_eq!(r.json(), json!([{"title": "a-task"}]));
    // Embedding both ways, through the composite (org_id, project_id) key.
    let r = get_as(&g, MEMBER_A, "/projects?select=name,tasks(title)").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json(), json!([{"name": "alpha", "tasks": [{"title": "a-task"}]}]));
    let r = get_as(&g, MEMBER_A, "/organizations?select=name,projects(name)").await;
    assert_eq!(r.json(), json!([{"name": "Org A", "projects": [{"name": "alpha"}]}]));
    let r = get_as(&g, MEMBER_A, "/tasks?select=title,projects(name)").await;
    assert_eq!(r.json(), json!([{"title": "a-task", "projects": {"name": "alpha"}}]));
    // Counts see only visible rows.
    let r = g.get_with("/tasks", &[("authorization", &auth(MEMBER_A)), ("prefer", "count=exact")]).await;
    assert_eq!(r.header("content-range"), Some("0-0/1"), "{}", r.body);
    let r = g.get_with("/memberships", &[("authorization", &auth(MEMBER_A)), ("prefer", "count=exact")]).await;
    assert_eq!(r.header("content-range"), Some("0-3/4"));
    let users = strings(&r.json(), "user_id");
    assert_eq!(users, vec![OWNER_A, ADMIN_A, MEMBER_A, VIEWER_A]);
    let r = get_as(&g, MEMBER_A, "/organizations?select=id").await;
    assert_eq!(r.json(), json!([{"id": ORG_A}]));
    // Org B's owner sees only B, never A.
    let r = get_as(&g, OWNER_B, "/projects?select=name").await;
    assert_eq!(r.json(), json!([{"name": "beta"}]));
    let r = get_as(&g, OWNER_B, &format!("/memberships?org_id=eq.{ORG_A}")).await;
    assert_eq!(r.json(), json!([]));
    let r = get_as(&g, OWNER_B, &format!("/organizations?id=eq.{ORG_A}")).await;
    assert_eq!(r.json(), json!([]));
    // A user in no org, and a sub that is not a uuid, see nothing (no error).
    for sub in [LONER, "not-a-uuid"] {
        for table in ["projects", "tasks", "memberships", "organizations", "invitations", "audit_log", "models"] {
            let r = get_as(&g, sub, &format!("/{table}")).await;
            assert_eq!((r.status, r.json()), (200, json!([])), "{sub} reading {table}");
        }
    }
    // Anonymous requests have no grant at all.
    let r = g.get("/projects").await;
    assert_eq!(r.status, 401, "{}", r.body);
}

#[tokio::test]
async fn viewers_read_members_write() {
    let g = seeded().await;
    let r = get_as(&g, VIEWER_A, "/tasks?select=title").await;
    assert_eq!(r.json(), json!([{"title": "a-task"}]));
    let body = json!({"org_id": ORG_A, "project_id": PROJ_A, "title": "by viewer"}).to_string();
    let r = send_as(&g, VIEWER_A, Method::POST, "/tasks", &body).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = send_as(&g, VIEWER_A, Method::PATCH, &format!("/tasks?id=eq.{TASK_A}"), r#"{"done":true}"#).await;
    assert_eq!(r.json(), json!([]), "the viewer's update matches no row");
    let r = delete_as(&g, VIEWER_A, &format!("/tasks?id=eq.{TASK_A}")).await;
    assert_eq!(r.json(), json!([]));
    assert_eq!(
        rows(&g, "select title, done from api.tasks where org_id = '0a000000-0000-0000-0000-000000000000'").await,
        json!([{"title": "a-task", "done": false}])
    );

    // A member writes tasks of their org.
    let body = json!({"org_id": ORG_A, "project_id": PROJ_A, "title": "by member"}).to_string();
    let r = send_as(&g, MEMBER_A, Method::POST, "/tasks?select=title,done", &body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json(), json!([{"title": "by member", "done": false}]));
    let r =
        send_as(&g, MEMBER_A, Method::PATCH, &format!("/tasks?id=eq.{TASK_A}&select=done"), r#"{"done":true}"#).await;
    assert_eq!((r.status, r.json()), (200, json!([{"done": true}])), "{}", r.body);
    // ...but not into org B, nor pointing at B's project, nor B's rows.
    let body = json!({"org_id": ORG_B, "project_id": PROJ_B, "title": "intruder"}).to_string();
    let r = send_as(&g, MEMBER_A, Method::POST, "/tasks", &body).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let body = json!({"org_id": ORG_A, "project_id": PROJ_B, "title": "cross-tenant parent"}).to_string();
    let r = send_as(&g, MEMBER_A, Method::POST, "/tasks", &body).await;
    assert_eq!(r.status, 409, "the composite foreign key refuses another org's project: {}", r.body);
    let r = send_as(&g, MEMBER_A, Method::PATCH, &format!("/tasks?id=eq.{TASK_B}"), r#"{"title":"hacked"}"#).await;
    assert_eq!(r.json(), json!([]));
    let r = delete_as(&g, MEMBER_A, "/tasks").await;
    assert_eq!(r.json().as_array().unwrap().len(), 2, "deletes only org A's two tasks: {}", r.body);
    assert_eq!(
        rows(&g, "select title from api.tasks order by title").await,
        json!([{"title": "b-task"}, {"title": "s-task"}])
    );
    // Keys cannot move a row to another org: the new row is not in the caller's orgs (RLS, 42501,
    // before the org_writable trigger would refuse any change of org_id).
    let r = send_as(
        &g,
        OWNER_B,
        Method::PATCH,
        &format!("/projects?id=eq.{PROJ_B}"),
        &json!({"org_id": ORG_A}).to_string(),
    )
    .await;
    assert_eq!((r.status, r.code()), (403, "42501".to_string()), "{}", r.body);
    assert_eq!(scalar(&g, &format!("select org_id from api.projects where id = '{PROJ_B}'")).await, json!(ORG_B));
}

#[tokio::test]
async fn membership_rules() {
    let g = seeded().await;
    let add = |role: &str| json!({"org_id": ORG_A, "user_id": LONER, "role": role}).to_string();
    // A member cannot add members.
    let r = send_as(&g, MEMBER_A, Method::POST, "/memberships", &add("viewer")).await;
    assert_eq!(r.status, 403, "{}", r.body);
    // An admin cannot grant owner, by insert or by update.
    let r = send_as(&g, ADMIN_A, Method::POST, "/memberships", &add("owner")).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = send_as(&g, ADMIN_A, Method::PATCH, &format!("/memberships?user_id=eq.{MEMBER_A}"), r#"{"role":"owner"}"#)
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r =
        send_as(&g, ADMIN_A, Method::PATCH, &format!("/memberships?user_id=eq.{ADMIN_A}"), r#"{"role":"owner"}"#).await;
    assert_eq!(r.status, 403, "no self-promotion: {}", r.body);
    // ...nor demote or remove an owner.
    let r = send_as(&g, ADMIN_A, Method::PATCH, &format!("/memberships?user_id=eq.{OWNER_A}"), r#"{"role":"viewer"}"#)
        .await;
    assert_eq!(r.json(), json!([]));
    let r = delete_as(&g, ADMIN_A, &format!("/memberships?user_id=eq.{OWNER_A}")).await;
    assert_eq!(r.json(), json!([]));
    assert_eq!(
        rows(&g, "select count(*) as n from api.memberships where user_id = 'e0000000-0000-0000-0000-000000000001'")
            .await,
        json!([{"n": 0}])
    );
    assert_eq!(
        scalar(&g, &format!("select role from api.memberships where user_id = '{OWNER_A}'")).await,
        json!("owner")
    );
    assert_eq!(
        scalar(&g, &format!("select role from api.memberships where user_id = '{MEMBER_A}'")).await,
        json!("member")
    );
    // An admin adds an admin and changes a member's role; owner B cannot touch A's members.
    let r = send_as(&g, ADMIN_A, Method::POST, "/memberships?select=role", &add("admin")).await;
    assert_eq!((r.status, r.json()), (201, json!([{"role": "admin"}])), "{}", r.body);
    let r = send_as(
        &g,
        ADMIN_A,
        Method::PATCH,
        &format!("/memberships?user_id=eq.{VIEWER_A}&select=role"),
        r#"{"role":"member"}"#,
    )
    .await;
    assert_eq!(r.json(), json!([{"role": "member"}]));
    let r = delete_as(&g, OWNER_B, &format!("/memberships?user_id=eq.{MEMBER_A}")).await;
    assert_eq!(r.json(), json!([]));
    let r = send_as(
        &g,
        OWNER_B,
        Method::POST,
        "/memberships",
        &json!({"org_id": ORG_A, "user_id": OWNER_B, "role": "owner"}).to_string(),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    // Anyone may leave.
    let r = delete_as(&g, MEMBER_A, &format!("/memberships?user_id=eq.{MEMBER_A}&select=role")).await;
    assert_eq!(r.json(), json!([{"role": "member"}]));
    let r = get_as(&g, MEMBER_A, "/projects").await;
    assert_eq!(r.json(), json!([]), "gone means gone");
}

#[tokio::test]
async fn the_last_owner_stays() {
    let g = seeded().await;
    let own = format!("/memberships?user_id=eq.{OWNER_A}");
    let r = delete_as(&g, OWNER_A, &own).await;
    assert_eq!(r.status, 409, "{}", r.body);
    let r = send_as(&g, OWNER_A, Method::PATCH, &own, r#"{"role":"admin"}"#).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.body.contains("at least one owner"), "{}", r.body);
    assert_eq!(
        scalar(&g, &format!("select role from api.memberships where user_id = '{OWNER_A}'")).await,
        json!("owner")
    );
    // With a second owner, the first may step down.
    let r = send_as(
        &g,
        OWNER_A,
        Method::PATCH,
        &format!("/memberships?user_id=eq.{ADMIN_A}&select=role"),
        r#"{"role":"owner"}"#,
    )
    .await;
    assert_eq!(r.json(), json!([{"role": "owner"}]), "{}", r.body);
    let r = send_as(&g, OWNER_A, Method::PATCH, &format!("{own}&select=role"), r#"{"role":"member"}"#).await;
    assert_eq!((r.status, r.json()), (200, json!([{"role": "member"}])), "{}", r.body);
    // The remaining owner is the last again, also for the superuser.
    let err =
        g.db.admin().await.execute(&format!("delete from api.memberships where user_id = '{ADMIN_A}'"), &[]).await;
    assert!(err.is_err());
}

#[tokio::test]
async fn suspended_orgs_are_read_only() {
    let g = seeded().await;
    let r = get_as(&g, OWNER_S, "/tasks?select=title").await;
    assert_eq!(r.json(), json!([{"title": "s-task"}]));
    let r =
        send_as(&g, OWNER_S, Method::POST, "/projects", &json!({"org_id": ORG_S, "name": "more"}).to_string()).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("suspended"), "{}", r.body);
    let r = send_as(&g, OWNER_S, Method::PATCH, &format!("/projects?id=eq.{PROJ_S}"), r#"{"name":"renamed"}"#).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = delete_as(&g, OWNER_S, "/tasks").await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r =
        send_as(&g, OWNER_S, Method::PATCH, &format!("/organizations?id=eq.{ORG_S}"), r#"{"name":"renamed"}"#).await;
    assert_eq!(r.json(), json!([]));
    assert_eq!(
        rows(&g, "select name from api.projects where org_id = '0c000000-0000-0000-0000-000000000000'").await,
        json!([{"name": "sigma"}])
    );
    assert_eq!(
        scalar(&g, "select count(*) from api.tasks where org_id = '0c000000-0000-0000-0000-000000000000'").await,
        json!(1)
    );
    assert_eq!(
        scalar(&g, "select name from api.organizations where id = '0c000000-0000-0000-0000-000000000000'").await,
        json!("Org S")
    );
}

#[tokio::test]
async fn pending_orgs_work_within_limits() {
    let g = seeded().await;
    let project = |n: &str| json!({"org_id": ORG_P, "name": n}).to_string();
    let r = send_as(&g, OWNER_P, Method::POST, "/projects", &project("one")).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = send_as(&g, OWNER_P, Method::POST, "/projects", &project("two")).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("pending approval"), "{}", r.body);
    // The owner plus two more is three members (the default limit); a fourth is refused.
    for (i, u) in EXTRA.iter().enumerate() {
        let r = send_as(
            &g,
            OWNER_P,
            Method::POST,
            "/memberships",
            &json!({"org_id": ORG_P, "user_id": u, "role": "member"}).to_string(),
        )
        .await;
        let expected = if i < 2 { 201 } else { 403 };
        assert_eq!(r.status, expected, "member {i}: {}", r.body);
    }
    assert_eq!(
        scalar(&g, "select count(*) from api.memberships where org_id = '0d000000-0000-0000-0000-000000000000'").await,
        json!(3)
    );
    // Once active, the limits are gone.
    let r =
        send_as(&g, SUPER, Method::POST, "/rpc/set_org_status", &json!({"org": ORG_P, "status": "active"}).to_string())
            .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = send_as(&g, OWNER_P, Method::POST, "/projects", &project("two")).await;
    assert_eq!(r.status, 201, "{}", r.body);
}

#[tokio::test]
async fn invitations() {
    let g = seeded().await;
    // Addressed to the loner (loner@x.test), in another case: emails match case-insensitively.
    let invite = |role: &str| json!({"org": ORG_A, "email": "Loner@X.test", "role": role}).to_string();
    let r = send_as(&g, MEMBER_A, Method::POST, "/rpc/create_invitation", &invite("viewer")).await;
    assert_eq!(r.status, 403, "members do not invite: {}", r.body);
    let r = send_as(&g, ADMIN_A, Method::POST, "/rpc/create_invitation", &invite("owner")).await;
    assert_eq!(r.status, 403, "not above one's own role: {}", r.body);
    let r = send_as(&g, OWNER_B, Method::POST, "/rpc/create_invitation", &invite("member")).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(scalar(&g, "select count(*) from api.invitations").await, json!(0));

    let r = send_as(&g, ADMIN_A, Method::POST, "/rpc/create_invitation", &invite("member")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let token = r.json().as_str().expect("token").to_string();
    // Only the hash is stored.
    let stored = rows(&g, "select token_hash, to_jsonb(i)::text as all_columns from api.invitations i").await;
    let expected_hash = scalar(&g, &format!("select encode(public.digest('{token}', 'sha256'), 'hex')")).await;
    assert_eq!(stored[0]["token_hash"], expected_hash);
    assert!(!stored[0]["all_columns"].as_str().unwrap().contains(&token[37..]));
    // The admin sees it, the member does not.
    assert_eq!(
        get_as(&g, ADMIN_A, "/invitations?select=email,kind").await.json(),
        json!([{"email": "Loner@X.test", "kind": "email"}])
    );
    assert_eq!(get_as(&g, MEMBER_A, "/invitations").await.json(), json!([]));

    let accept = json!({ "token": token }).to_string();
    // Nobody but the addressee accepts it: not another org's owner, not a member of A, not A's
    // owner who sent it; and nothing changes.
    for user in [OWNER_B, VIEWER_A, OWNER_A] {
        let r = send_as(&g, user, Method::POST, "/rpc/accept_invitation", &accept).await;
        assert_eq!((r.status, r.code()), (403, "PT403".to_string()), "{user}: {}", r.body);
        assert_eq!(r.json()["message"], json!("this invitation is for another email address"));
    }
    let members_of_a = format!("select count(*) from api.memberships where org_id = '{ORG_A}'");
    assert_eq!(scalar(&g, &members_of_a).await, json!(4));
    assert_eq!(scalar(&g, "select count(*) from api.invitations where accepted_at is not null").await, json!(0));
    let r = send_as(&g, LONER, Method::POST, "/rpc/accept_invitation", &accept).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json(), json!({"org_id": ORG_A, "role": "member"}));
    assert_eq!(get_as(&g, LONER, "/projects?select=name").await.json(), json!([{"name": "alpha"}]));
    // Used twice: refused, for anyone.
    for user in [LONER, OWNER_B] {
        let r = send_as(&g, user, Method::POST, "/rpc/accept_invitation", &accept).await;
        assert_eq!(r.status, 400, "{}", r.body);
    }
    assert_eq!(get_as(&g, OWNER_B, "/projects?select=name").await.json(), json!([{"name": "beta"}]));
    // Expired: refused. A made-up token: refused.
    let r = send_as(&g, OWNER_A, Method::POST, "/rpc/create_invitation", &invite("viewer")).await;
    let expired = r.json().as_str().unwrap().to_string();
    g.db.admin()
        .await
        .batch_execute("update api.invitations set expires_at = now() - interval '1 second' where accepted_at is null")
        .await
        .unwrap();
    let r =
        send_as(&g, OWNER_B, Method::POST, "/rpc/accept_invitation", &json!({ "token": expired }).to_string()).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let forged = format!("{ORG_A}.{}", "0".repeat(48));
    let r = send_as(&g, OWNER_B, Method::POST, "/rpc/accept_invitation", &json!({ "token": forged }).to_string()).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        scalar(&g, &format!("select count(*) from api.memberships where user_id = '{OWNER_B}'")).await,
        json!(1)
    );
    // Anonymous callers cannot accept.
    let r = g.send(Method::POST, "/rpc/accept_invitation", &[], &json!({ "token": expired }).to_string()).await;
    assert_eq!(r.status, 401, "{}", r.body);
}

#[tokio::test]
async fn models_follow_entitlements() {
    let g = seeded().await;
    assert_eq!(strings(&get_as(&g, MEMBER_A, "/models").await.json(), "name"), vec!["model-a"]);
    assert_eq!(strings(&get_as(&g, OWNER_B, "/models").await.json(), "name"), vec!["model-b"]);
    assert_eq!(get_as(&g, LONER, "/models").await.json(), json!([]));
    assert_eq!(strings(&get_as(&g, SUPER, "/models").await.json(), "name"), vec!["model-a", "model-b", "model-unused"]);
    let r = send_as(&g, OWNER_A, Method::POST, "/models", r#"{"name":"mine"}"#).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = send_as(&g, SUPER, Method::POST, "/models?select=name", r#"{"name":"new-model"}"#).await;
    assert_eq!((r.status, r.json()), (201, json!([{"name": "new-model"}])), "{}", r.body);
    // Entitlements: members read their org's, admins manage them.
    let r = get_as(&g, MEMBER_A, "/org_models?select=org_id").await;
    assert_eq!(r.json(), json!([{"org_id": ORG_A}]));
    let enable = json!({"org_id": ORG_A, "model_id": "30000000-0000-0000-0000-000000000003"}).to_string();
    let r = send_as(&g, MEMBER_A, Method::POST, "/org_models", &enable).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = send_as(&g, OWNER_B, Method::POST, "/org_models", &enable).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = send_as(&g, ADMIN_A, Method::POST, "/org_models", &enable).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(strings(&get_as(&g, VIEWER_A, "/models").await.json(), "name"), vec!["model-a", "model-unused"]);
    assert_eq!(strings(&get_as(&g, OWNER_B, "/models").await.json(), "name"), vec!["model-b"]);
}

#[tokio::test]
async fn audit_log_is_written_by_triggers_and_append_only() {
    let g = seeded().await;
    let body = json!({"org_id": ORG_A, "project_id": PROJ_A, "title": "audited"}).to_string();
    let r =
        g.send(Method::POST, "/tasks", &[("authorization", &auth(MEMBER_A)), ("x-request-id", "req-42")], &body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = send_as(&g, MEMBER_A, Method::PATCH, &format!("/tasks?id=eq.{TASK_A}"), r#"{"done":true}"#).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let logged = rows(&g, "select actor_user_id, action, table_name, request_id, diff from api.audit_log where table_name = 'tasks' and actor_user_id is not null order by at").await;
    assert_eq!(logged[0]["actor_user_id"], json!(MEMBER_A));
    assert_eq!(logged[0]["action"], json!("INSERT"));
    assert_eq!(logged[0]["request_id"], json!("req-42"));
    assert_eq!(logged[0]["diff"]["title"], json!("audited"));
    assert_eq!(logged[1]["action"], json!("UPDATE"));
    assert_eq!(logged[1]["diff"], json!({"done": {"old": false, "new": true}}));

    // Owners/admins of the org and the super admin read it; members and other orgs do not.
    let path = format!("/audit_log?table_name=eq.tasks&actor_user_id=eq.{MEMBER_A}&select=action,row_key");
    let r = get_as(&g, ADMIN_A, &path).await;
    assert_eq!(r.json().as_array().unwrap().len(), 2, "{}", r.body);
    assert_eq!(r.json()[1]["row_key"], json!({"org_id": ORG_A, "id": TASK_A}));
    assert_eq!(get_as(&g, SUPER, &path).await.json().as_array().unwrap().len(), 2);
    assert_eq!(get_as(&g, MEMBER_A, &path).await.json(), json!([]));
    assert_eq!(get_as(&g, OWNER_B, &path).await.json(), json!([]));
    let r = get_as(&g, OWNER_B, "/audit_log?select=org_id").await;
    assert!(r.json().as_array().unwrap().iter().all(|row| row["org_id"] == json!(ORG_B)), "{}", r.body);

    // Nobody updates or deletes it: not over HTTP (no privilege), not even the superuser (trigger).
    let before = scalar(&g, "select count(*) from api.audit_log").await;
    for user in [SUPER, ADMIN_A, OWNER_A] {
        let r = send_as(&g, user, Method::PATCH, "/audit_log", r#"{"action":"DELETE"}"#).await;
        assert_eq!(r.status, 403, "{}", r.body);
        let r = delete_as(&g, user, "/audit_log").await;
        assert_eq!(r.status, 403, "{}", r.body);
    }
    let r = send_as(
        &g,
        SUPER,
        Method::POST,
        "/audit_log",
        &json!({"org_id": ORG_A, "action": "DELETE", "table_name": "x", "row_key": {}}).to_string(),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let admin = g.db.admin().await;
    for sql in ["update api.audit_log set action = 'DELETE'", "delete from api.audit_log", "truncate api.audit_log"] {
        let err = admin.batch_execute(sql).await.expect_err(sql);
        assert!(err.to_string().contains("append-only") || format!("{err:?}").contains("append-only"), "{err:?}");
    }
    assert_eq!(scalar(&g, "select count(*) from api.audit_log").await, before);
}

mod platform;

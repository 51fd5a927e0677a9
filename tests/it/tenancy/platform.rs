//! The platform's side of the reference schema over HTTP: org status by the super admin only,
//! anonymous registration, and upserts that cannot leave the caller's org.

use super::*;

#[tokio::test]
async fn only_the_super_admin_changes_org_status() {
    let g = seeded().await;
    let suspend = json!({"org": ORG_A, "status": "suspended"}).to_string();
    let r = send_as(&g, OWNER_A, Method::POST, "/rpc/set_org_status", &suspend).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r =
        send_as(&g, OWNER_A, Method::PATCH, &format!("/organizations?id=eq.{ORG_A}"), r#"{"status":"active"}"#).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(
        scalar(&g, &format!("select status from api.organizations where id = '{ORG_A}'")).await,
        json!("active")
    );
    // Owners and admins rename; members do not.
    let r = send_as(&g, MEMBER_A, Method::PATCH, &format!("/organizations?id=eq.{ORG_A}"), r#"{"name":"Nope"}"#).await;
    assert_eq!(r.json(), json!([]));
    let r = send_as(
        &g,
        ADMIN_A,
        Method::PATCH,
        &format!("/organizations?id=eq.{ORG_A}&select=name"),
        r#"{"name":"Org A2"}"#,
    )
    .await;
    assert_eq!(r.json(), json!([{"name": "Org A2"}]));
    // The super admin suspends; from then on org A is read-only.
    let r = send_as(&g, SUPER, Method::POST, "/rpc/set_org_status", &suspend).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        scalar(&g, &format!("select status from api.organizations where id = '{ORG_A}'")).await,
        json!("suspended")
    );
    let r = send_as(
        &g,
        MEMBER_A,
        Method::POST,
        "/tasks",
        &json!({"org_id": ORG_A, "project_id": PROJ_A, "title": "x"}).to_string(),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r =
        send_as(&g, SUPER, Method::POST, "/rpc/set_org_status", &json!({"org": ORG_A, "status": "bogus"}).to_string())
            .await;
    assert_eq!(r.status, 400, "{}", r.body);
    // The super admin flag is read from auth.users, never from the token.
    let forged = bearer(
        json!({"role": "authenticated", "sub": OWNER_B, "is_super_admin": true, "app_metadata": {"super_admin": true}}),
    );
    let r = g
        .send(
            Method::POST,
            "/rpc/set_org_status",
            &[("authorization", &forged)],
            &json!({"org": ORG_A, "status": "active"}).to_string(),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    // Platform settings: everyone reads, only the super admin writes.
    let r = send_as(&g, OWNER_A, Method::PATCH, "/platform_settings", r#"{"auto_activate_new_orgs":false}"#).await;
    assert_eq!(r.json(), json!([]));
    let r = send_as(
        &g,
        SUPER,
        Method::PATCH,
        "/platform_settings?select=auto_activate_new_orgs",
        r#"{"auto_activate_new_orgs":false}"#,
    )
    .await;
    assert_eq!(r.json(), json!([{"auto_activate_new_orgs": false}]));
}

#[tokio::test]
async fn register_organization_as_anon() {
    let g = seeded().await;
    let reg =
        |email: &str, password: &str| json!({"email": email, "password": password, "org_name": "Newco"}).to_string();
    let r = g.send(Method::POST, "/rpc/register_organization", &[], &reg("founder@new.test", "correct horse")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let out = r.json();
    assert_eq!(out["status"], json!("active"));
    let user = out["user_id"].as_str().unwrap().to_string();
    let org = out["org_id"].as_str().unwrap().to_string();
    let stored = rows(
        &g,
        &format!(
            "select u.email, u.encrypted_password = public.crypt('correct horse', u.encrypted_password) as ok, \
                u.encrypted_password like '$2a$10$%' as bcrypt, o.name, o.status, m.role \
           from auth.users u join api.memberships m on m.user_id = u.id join api.organizations o on o.id = m.org_id \
          where u.id = '{user}'"
        ),
    )
    .await;
    assert_eq!(
        stored,
        json!([{"email": "founder@new.test", "ok": true, "bcrypt": true, "name": "Newco", "status": "active", "role": "owner"}])
    );
    // The new owner sees their org, and nothing of the others.
    assert_eq!(get_as(&g, &user, "/organizations?select=id").await.json(), json!([{"id": org}]));
    assert_eq!(get_as(&g, &user, "/projects").await.json(), json!([]));

    // Same email (any case): 409 without details; weak password, bad email: 400. Nothing created.
    let users_before = scalar(&g, "select count(*) from auth.users").await;
    let orgs_before = scalar(&g, "select count(*) from api.organizations").await;
    let r = g.send(Method::POST, "/rpc/register_organization", &[], &reg("Founder@New.test", "another password")).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(!r.body.contains(&user) && !r.body.contains(&org), "{}", r.body);
    let r = g.send(Method::POST, "/rpc/register_organization", &[], &reg("short@new.test", "1234567")).await;
    assert_eq!(r.status, 400, "{}", r.body);
    for bad in ["not-an-email", "a@b", "two@@x.test", "sp ace@x.test"] {
        let r = g.send(Method::POST, "/rpc/register_organization", &[], &reg(bad, "long enough")).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
    }
    assert_eq!(scalar(&g, "select count(*) from auth.users").await, users_before);
    assert_eq!(scalar(&g, "select count(*) from api.organizations").await, orgs_before);

    // With auto-activation off, new orgs are pending.
    g.db.admin().await.batch_execute("update api.platform_settings set auto_activate_new_orgs = false").await.unwrap();
    let r = g.send(Method::POST, "/rpc/register_organization", &[], &reg("second@new.test", "long enough")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["status"], json!("pending_approval"));
    // Anonymous callers may only register.
    assert_eq!(g.get("/organizations").await.status, 401);
    let r =
        g.send(Method::POST, "/rpc/set_org_status", &[], &json!({"org": org, "status": "suspended"}).to_string()).await;
    assert_eq!(r.status, 401, "{}", r.body);
}

// The catalog guard (RLS forced, a policy per granted command, org_id indexes, fences, SECURITY
// DEFINER hygiene, InitPlans) lives in tests/sql/01_catalog.sql, run by tests/it/isolation_sql.rs.

#[tokio::test]
async fn upserts_stay_in_the_org() {
    let g = seeded().await;
    let merge = |user: &str| {
        [("authorization", auth(user)), ("prefer", "resolution=merge-duplicates,return=representation".to_string())]
    };
    let h = merge(MEMBER_A);
    let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mine = json!([{"org_id": ORG_A, "id": TASK_A, "project_id": PROJ_A, "title": "upserted"}]).to_string();
    let r = g.send(Method::POST, "/tasks?select=title", &h, &mine).await;
    assert_eq!((r.status, r.json()), (200, json!([{"title": "upserted"}])), "{}", r.body);
    // Another org's row: refused, unchanged.
    let theirs = json!([{"org_id": ORG_B, "id": TASK_B, "project_id": PROJ_B, "title": "upserted"}]).to_string();
    let r = g.send(Method::POST, "/tasks", &h, &theirs).await;
    assert_eq!(r.status, 403, "{}", r.body);
    // A viewer's upsert of an existing row: refused.
    let v = merge(VIEWER_A);
    let v: Vec<(&str, &str)> = v.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = g.send(Method::POST, "/tasks", &v, &mine).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(
        rows(&g, "select title from api.tasks where title in ('a-task', 'b-task', 'upserted') order by title").await,
        json!([{"title": "b-task"}, {"title": "upserted"}])
    );
    // Keys never change, even where the grant names them.
    let r = send_as(&g, MEMBER_A, Method::PATCH, &format!("/tasks?id=eq.{TASK_A}"), &json!({"id": TASK_B}).to_string())
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = send_as(
        &g,
        ADMIN_A,
        Method::PATCH,
        &format!("/memberships?user_id=eq.{VIEWER_A}"),
        &json!({"user_id": LONER}).to_string(),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(scalar(&g, &format!("select count(*) from api.tasks where id = '{TASK_A}'")).await, json!(1));
}

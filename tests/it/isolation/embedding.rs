//! Resource embedding across orgs: a parent or child of another org is never returned, whether
//! embedded plainly, through `!inner` with filters on the embedded resource, spread, nested, or
//! named in `or=` filters; and `service_role`, which reads no table, is refused every one.

use reqwest::Method;
use serde_json::{json, Value};

use super::*;

/// `(path, expected body)` as A's member sees it; none may mention org B.
fn cases() -> Vec<(String, Value)> {
    let a_task = |project: Value| json!({"id": TASK_A, "org_id": ORG_A, "project_id": PROJ_A, "projects": project});
    vec![
        // Child → parent, parent → children.
        (
            "/tasks?select=id,org_id,project_id,projects(id,org_id,name)".into(),
            json!([a_task(json!({"id": PROJ_A, "org_id": ORG_A, "name": "alpha"}))]),
        ),
        (
            "/projects?select=id,tasks(id,org_id)&order=id".into(),
            json!([{"id": PROJ_A, "tasks": [{"id": TASK_A, "org_id": ORG_A}]}, {"id": PROJ2_A, "tasks": []}]),
        ),
        // Filters on the embedded resource naming B: nothing.
        (format!("/tasks?select=id,projects!inner(id)&projects.id=eq.{PROJ_B}"), json!([])),
        ("/tasks?select=id,projects!inner(id)&projects.name=eq.beta".into(), json!([])),
        (format!("/tasks?select=id,projects!inner(id)&projects.org_id=eq.{ORG_B}"), json!([])),
        (format!("/projects?select=id,tasks!inner(id)&tasks.id=eq.{TASK_B}"), json!([])),
        ("/projects?select=id,tasks!inner(id)&tasks.title=like.b-*".into(), json!([])),
        (format!("/projects?select=id,tasks!inner(id)&tasks.or=(id.eq.{TASK_B},org_id.eq.{ORG_B})"), json!([])),
        (
            format!("/projects?select=id,tasks(id)&tasks.or=(id.eq.{TASK_B},title.eq.b-task)&order=id"),
            json!([{"id": PROJ_A, "tasks": []}, {"id": PROJ2_A, "tasks": []}]),
        ),
        (
            format!("/projects?select=id,tasks(id)&tasks.project_id=eq.{PROJ_B}&order=id"),
            json!([{"id": PROJ_A, "tasks": []}, {"id": PROJ2_A, "tasks": []}]),
        ),
        // or= naming B's keys, alone or next to A's.
        (format!("/tasks?select=id&or=(id.eq.{TASK_B},project_id.eq.{PROJ_B},org_id.eq.{ORG_B})"), json!([])),
        (format!("/tasks?select=id&or=(id.eq.{TASK_A},id.eq.{TASK_B},id.eq.{TASK_B2})"), json!([{"id": TASK_A}])),
        (format!("/projects?select=id&or=(id.eq.{PROJ_B},and(org_id.eq.{ORG_B},name.eq.beta))"), json!([])),
        // Spread, nesting, embedded null filters.
        ("/tasks?select=id,...projects(name)".into(), json!([{"id": TASK_A, "name": "alpha"}])),
        ("/tasks?select=id,projects(id)&projects=is.null".into(), json!([])),
        (
            "/organizations?select=id,projects(id,tasks(id)),memberships(user_id)&projects.order=id&memberships.order=user_id"
                .into(),
            json!([{"id": ORG_A, "projects": [{"id": PROJ_A, "tasks": [{"id": TASK_A}]}, {"id": PROJ2_A, "tasks": []}],
                    "memberships": ([OWNER_A, ADMIN_A, MEMBER_A, VIEWER_A, TARGET_A].map(|u| json!({"user_id": u})))}]),
        ),
        (format!("/organizations?select=id,projects!inner(id)&projects.id=eq.{PROJ_B}"), json!([])),
        // The catalog and its entitlements.
        ("/org_models?select=org_id,models(id,name)".into(), json!([{"org_id": ORG_A, "models": {"id": MODEL_A, "name": "model-a"}}])),
        ("/models?select=id,org_models(org_id)".into(), json!([{"id": MODEL_A, "org_models": [{"org_id": ORG_A}]}])),
        (format!("/models?select=id,org_models!inner(org_id)&org_models.org_id=eq.{ORG_B}"), json!([])),
    ]
}

#[tokio::test]
async fn embedding_never_reaches_another_org() {
    let w = World::new().await;
    let before = w.dump().await;
    let mut failures = vec![];
    // A's member with a session token and with an API token; a viewer; then the mirror image in B.
    for actor in [Actor::MemberA, Actor::TokenMemberA, Actor::TokenViewerA, Actor::ViewerA] {
        for (path, want) in cases() {
            let r = w.get(actor, &path).await;
            if (r.status, r.json()) != (200, want.clone()) {
                failures.push(format!(
                    "{} GET {path}: expected 200 {want}, got {} {}",
                    actor.column(),
                    r.status,
                    r.body
                ));
            }
            assert_no_b(&format!("{} GET {path}", actor.column()), &r);
        }
    }
    // service_role reads no table, embedded or not (the SQL suite's `service`): refused.
    let direct = w.without_pre_request().await;
    for (path, _) in cases() {
        let table = path.trim_start_matches('/').split('?').next().expect("a table").to_string();
        let object = format!("table {table}");
        failures.extend(service_refusal(&w, &direct, Method::GET, &path, &[], None, &object).await);
    }
    let r = w.get(Actor::MemberB, &format!("/tasks?select=id,projects!inner(id)&projects.id=eq.{PROJ_A}")).await;
    assert_eq!((r.status, r.json()), (200, json!([])), "{}", r.body);
    let r = w.get(Actor::MemberB, "/projects?select=id,tasks(id)&order=id").await;
    assert_eq!(
        r.json(),
        json!([{"id": PROJ_B, "tasks": [{"id": TASK_B}, {"id": TASK_B2}, {"id": TASK_B3}]}, {"id": PROJ2_B, "tasks": []}]),
        "{}",
        r.body
    );
    // The super admin sees every org and its members (who belongs where: platform data), but no
    // org's projects.
    let r = w.get(Actor::Super, "/organizations?select=id,projects(id),memberships(user_id)&order=id").await;
    let orgs = r.json();
    assert_eq!(column(&orgs, "id"), [ORG_A, ORG_B, ORG_S, ORG_P], "{}", r.body);
    for org in orgs.as_array().expect("orgs") {
        assert_eq!(&org["projects"], &json!([]), "{org}");
        assert!(org["memberships"].as_array().is_some_and(|m| !m.is_empty()), "{org}");
    }
    assert!(failures.is_empty(), "{} embeddings failed:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(w.dump().await, before, "reads changed nothing");
}

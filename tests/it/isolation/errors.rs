//! Error messages do not leak other orgs' values: a key colliding with org B's row is no conflict
//! (keys include `org_id`), a unique violation's `details` name no values at all (PostgreSQL omits
//! them under row-level security), and
//! a foreign key naming B's project fails exactly like one naming no project at all.

use reqwest::Method;
use serde_json::{json, Value};

use super::*;

/// A uuid no row has.
const NOWHERE: &str = "99999999-9999-4999-8999-999999999999";

async fn post(w: &World, actor: Actor, path: &str, body: Value) -> Reply {
    w.write(actor, Method::POST, path, Some(&body)).await
}

/// The body with `id` replaced, to compare two errors that differ only in the id the caller sent.
fn masked(r: &Reply, id: &str) -> (u16, String) {
    (r.status, r.body.replace(id, "<id>"))
}

#[tokio::test]
async fn colliding_keys_and_constraint_errors_reveal_nothing_of_b() {
    let w = World::new().await;
    let b_before = w.rows(&format!("select * from api.projects where org_id = '{ORG_B}' order by id")).await;
    let b_tasks = w.rows(&format!("select * from api.tasks where org_id = '{ORG_B}' order by id")).await;
    // B's values other than the ids the caller chose to reuse.
    let b_values = [ORG_B, "beta", "b-task", OWNER_B, TASK_B2];

    // Same id as B's rows, own org: no collision (the key is (org_id, id)), B's values unseen.
    let r = post(&w, Actor::MemberA, "/projects", json!({"org_id": ORG_A, "id": PROJ_B, "name": "mine"})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let body = json!({"org_id": ORG_A, "id": TASK_B, "project_id": PROJ_A, "title": "mine"});
    let r = post(&w, Actor::TokenMemberA, "/tasks", body.clone()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    // Upserting the same keys again: A's rows are updated, never B's.
    let upsert = [("prefer", "return=representation,resolution=merge-duplicates")];
    let r = w.call(Actor::MemberA, Method::POST, "/tasks", &upsert, Some(&body.to_string())).await;
    assert_eq!((r.status, r.json()[0]["org_id"].clone()), (200, json!(ORG_A)), "{}", r.body);

    // Unique violations name only the caller's own key.
    let dup = [
        (Actor::MemberA, "/projects", json!({"org_id": ORG_A, "id": PROJ_B, "name": "again"})),
        (Actor::MemberA, "/projects", json!({"org_id": ORG_A, "id": PROJ_A, "name": "again"})),
        (Actor::TokenMemberA, "/tasks", json!({"org_id": ORG_A, "id": TASK_B, "project_id": PROJ_A, "title": "again"})),
        (Actor::AdminA, "/memberships", json!({"org_id": ORG_A, "user_id": MEMBER_A, "role": "viewer"})),
        (Actor::AdminA, "/org_models", json!({"org_id": ORG_A, "model_id": MODEL_A})),
    ];
    for (actor, path, body) in dup {
        let r = post(&w, actor, path, body.clone()).await;
        assert_eq!((r.status, r.code()), (409, "23505".to_string()), "{path} {body}: {}", r.body);
        // PostgreSQL leaves the key values out of the details of a table with row-level security.
        assert_eq!(r.json()["details"], Value::Null, "{path} {body}: {}", r.body);
        for v in b_values {
            assert!(!r.body.contains(v), "{path} {body}: the error reveals {v}: {}", r.body);
        }
    }

    // A foreign key naming B's project and one naming nothing fail identically (PROJ2_B: its id is
    // not reused in A above).
    let fk = |project: &str| json!({"org_id": ORG_A, "project_id": project, "title": "orphan"});
    for actor in [Actor::MemberA, Actor::TokenMemberA] {
        let theirs = post(&w, actor, "/tasks", fk(PROJ2_B)).await;
        let nowhere = post(&w, actor, "/tasks", fk(NOWHERE)).await;
        assert_eq!((theirs.status, theirs.code()), (409, "23503".to_string()), "{}", theirs.body);
        assert_eq!(masked(&theirs, PROJ2_B), masked(&nowhere, NOWHERE), "an existence oracle for B's projects");
        let path = format!("/tasks?id=eq.{TASK_A}");
        let theirs = w.write(actor, Method::PATCH, &path, Some(&json!({"project_id": PROJ2_B}))).await;
        let nowhere = w.write(actor, Method::PATCH, &path, Some(&json!({"project_id": NOWHERE}))).await;
        assert_eq!((theirs.status, theirs.code()), (409, "23503".to_string()), "{}", theirs.body);
        assert_eq!(masked(&theirs, PROJ2_B), masked(&nowhere, NOWHERE), "an existence oracle for B's projects");
        for v in b_values {
            assert!(!theirs.body.contains(v), "{}", theirs.body);
        }
        // Writing into B, or into an org that does not exist: the same refusal.
        let theirs = post(&w, actor, "/projects", json!({"org_id": ORG_B, "name": "x"})).await;
        let nowhere = post(&w, actor, "/projects", json!({"org_id": NOWHERE, "name": "x"})).await;
        assert_eq!((theirs.status, theirs.code()), (403, "42501".to_string()), "{}", theirs.body);
        assert_eq!(masked(&theirs, ORG_B), masked(&nowhere, NOWHERE), "an existence oracle for orgs");
        let theirs = post(&w, actor, "/tasks", json!({"org_id": ORG_B, "project_id": PROJ_B, "title": "x"})).await;
        let nowhere = post(&w, actor, "/tasks", json!({"org_id": NOWHERE, "project_id": NOWHERE, "title": "x"})).await;
        assert_eq!(masked(&theirs, ORG_B), masked(&nowhere, NOWHERE), "an existence oracle for B's projects");
        // A check violation shows the caller's own row, never B's.
        let r = post(&w, actor, "/tasks", json!({"org_id": ORG_A, "project_id": PROJ_A, "title": " "})).await;
        assert_eq!((r.status, r.code()), (400, "23514".to_string()), "{}", r.body);
        assert_no_b("check violation", &r);
    }

    let b_after = w.rows(&format!("select * from api.projects where org_id = '{ORG_B}' order by id")).await;
    assert_eq!(b_after, b_before, "B's projects unchanged");
    let b_tasks_after = w.rows(&format!("select * from api.tasks where org_id = '{ORG_B}' order by id")).await;
    assert_eq!(b_tasks_after, b_tasks, "B's tasks unchanged");
}

/// A write naming an org the caller does not belong to is refused alike whatever that org's state:
/// suspended, pending at its limit, active, or no org at all (42501). The `org_writable` and
/// `pending_limits` triggers once ran before the RLS check and answered with the org's status;
/// they run after it since sql/V8.
#[tokio::test]
async fn refusals_do_not_depend_on_another_orgs_status() {
    let w = World::new().await;
    // P (pending) at its project limit.
    w.g.db
        .admin()
        .await
        .batch_execute(&format!("insert into api.projects (org_id, name) values ('{ORG_P}', 'p-project')"))
        .await
        .expect("fill P");
    let project = |org: &str| json!({"org_id": org, "name": "x"});
    let task = |org: &str| json!({"org_id": org, "project_id": NOWHERE, "title": "x"});
    let mut leaks = vec![];
    for (path, body) in [("/projects", &project as &dyn Fn(&str) -> Value), ("/tasks", &task)] {
        let active = post(&w, Actor::MemberA, path, body(ORG_B)).await;
        assert_eq!((active.status, active.code()), (403, "42501".to_string()), "{}", active.body);
        for org in [ORG_S, ORG_P, NOWHERE] {
            let r = post(&w, Actor::MemberA, path, body(org)).await;
            if masked(&r, org) != masked(&active, ORG_B) {
                leaks.push(format!("POST {path} into {org}: {} {} (org B: {})", r.status, r.body, active.body));
            }
        }
    }
    assert!(leaks.is_empty(), "another org's status shows through:\n{}", leaks.join("\n"));
}

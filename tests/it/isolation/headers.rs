//! `Location`, `return=representation|headers-only|minimal` and the other response headers never
//! reveal org B's keys: a POST into B is refused without a `Location`, a PATCH/DELETE/PUT aimed at
//! B returns no B row, and B's rows stay as they were.

use reqwest::Method;
use serde_json::json;

use super::*;

const RETURNS: [&str; 3] = ["return=representation", "return=headers-only", "return=minimal"];

#[tokio::test]
async fn writes_aimed_at_b_reveal_nothing_of_b() {
    let w = World::new().await;
    let before = w.dump().await;
    let project_b = json!({"org_id": ORG_B, "id": PROJ_B, "name": "beta"});
    let task_b = json!({"org_id": ORG_B, "id": TASK_B, "project_id": PROJ_B, "title": "b-task"});
    let new_in_b = json!({"org_id": ORG_B, "name": "intruder"});
    for actor in [Actor::OwnerA, Actor::MemberA, Actor::TokenMemberA] {
        for ret in RETURNS {
            let upsert = format!("{ret},resolution=merge-duplicates");
            let ignore = format!("{ret},resolution=ignore-duplicates");
            // Inserts and upserts into B: refused, no Location.
            let refused = [
                (Method::POST, "/projects".to_string(), ret.to_string(), new_in_b.clone()),
                (Method::POST, "/projects".to_string(), ret.to_string(), project_b.clone()),
                (Method::POST, "/tasks".to_string(), ret.to_string(), task_b.clone()),
                (Method::POST, "/projects".to_string(), upsert.clone(), project_b.clone()),
                (Method::POST, "/tasks".to_string(), upsert.clone(), task_b.clone()),
                (Method::POST, "/tasks?on_conflict=org_id,id".to_string(), ignore, task_b.clone()),
                (
                    Method::PUT,
                    format!("/projects?org_id=eq.{ORG_B}&id=eq.{PROJ_B}"),
                    ret.to_string(),
                    project_b.clone(),
                ),
                (Method::PUT, format!("/tasks?org_id=eq.{ORG_B}&id=eq.{TASK_B}"), ret.to_string(), task_b.clone()),
            ];
            for (method, path, prefer, body) in refused {
                let context = format!("{} {method} {path} ({prefer})", actor.column());
                let r = w.call(actor, method, &path, &[("prefer", &prefer)], Some(&body.to_string())).await;
                assert_eq!((r.status, r.code()), (403, "42501".to_string()), "{context}: {}", r.body);
                assert!(r.header("location").is_none(), "{context}: {:?}", r.headers);
                assert_no_b(&context, &r);
            }
            // Updates and deletes aimed at B's rows: nothing affected, nothing shown.
            let aimed = [
                (Method::PATCH, format!("/tasks?id=eq.{TASK_B}"), Some(json!({"title": "hacked"}))),
                (Method::PATCH, format!("/tasks?org_id=eq.{ORG_B}"), Some(json!({"done": true}))),
                (Method::PATCH, format!("/projects?id=eq.{PROJ_B}&select=id,tasks(id)"), Some(json!({"name": "x"}))),
                (Method::DELETE, format!("/tasks?or=(id.eq.{TASK_B},id.eq.{TASK_B2})"), None),
                (Method::DELETE, format!("/projects?org_id=eq.{ORG_B}"), None),
                (Method::DELETE, format!("/memberships?user_id=eq.{MEMBER_B}"), None),
            ];
            for (method, path, body) in aimed {
                let context = format!("{} {method} {path} ({ret})", actor.column());
                let body = body.map(|b| b.to_string());
                let prefer = format!("{ret},count=exact");
                let r = w.call(actor, method, &path, &[("prefer", &prefer)], body.as_deref()).await;
                if ret == "return=representation" {
                    assert_eq!((r.status, r.body.as_str()), (200, "[]"), "{context}");
                } else {
                    assert_eq!((r.status, r.body.as_str()), (204, ""), "{context}");
                }
                assert!(r.header("location").is_none(), "{context}: {:?}", r.headers);
                assert!(matches!(r.header("content-range"), Some("*/*" | "*/0")), "{context}: {:?}", r.headers);
                assert_no_b(&context, &r);
            }
            // One object expected: 406, saying only that there are 0 rows.
            let r = w
                .call(
                    actor,
                    Method::PATCH,
                    &format!("/tasks?id=eq.{TASK_B}"),
                    &[("prefer", ret), ("accept", "application/vnd.pgrst.object+json")],
                    Some(r#"{"title":"hacked"}"#),
                )
                .await;
            assert_eq!((r.status, r.code()), (406, "PGRST116".to_string()), "{}", r.body);
            assert_no_b("singular PATCH aimed at B", &r);
        }
    }
    assert_eq!(w.dump().await, before, "nothing changed");

    // A's own insert: the Location names A's key only.
    let r = w
        .call(
            Actor::MemberA,
            Method::POST,
            "/projects",
            &[("prefer", "return=headers-only")],
            Some(&json!({"org_id": ORG_A, "name": "mine"}).to_string()),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let location = r.header("location").expect("a Location").to_string();
    let id = w.rows(&format!("select id from api.projects where org_id = '{ORG_A}' and name = 'mine'")).await[0]["id"]
        .as_str()
        .expect("the new id")
        .to_string();
    assert_eq!(location, format!("/projects?org_id=eq.{ORG_A}&id=eq.{id}"));
    assert_no_b("own insert", &r);
    let after = w.dump().await;
    // A project counts in its org's usage (the counters and the view of them follow).
    for t in TABLES.iter().filter(|t| !["projects", "audit_log", "usage_counters", "org_usage"].contains(t)) {
        assert_eq!(after[t], before[t], "{t}");
    }
}

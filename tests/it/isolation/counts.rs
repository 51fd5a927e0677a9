//! `Prefer: count=…` counts only the caller's rows, even with filters matching another org's rows,
//! on GET and HEAD; `service_role`, which reads no table, gets no count at all.

use reqwest::Method;
use serde_json::json;

use super::*;

#[tokio::test]
async fn exact_counts_see_only_the_callers_org() {
    let w = World::new().await;
    // (path, Content-Range as A's member sees it). B has 3 tasks, 2 projects, 5 memberships.
    let cases = [
        ("/tasks".to_string(), "0-0/1"),
        ("/tasks?title=like.*task*".to_string(), "0-0/1"),
        ("/tasks?title=like.b-*".to_string(), "*/0"),
        (format!("/tasks?org_id=eq.{ORG_B}"), "*/0"),
        (format!("/tasks?or=(org_id.eq.{ORG_A},org_id.eq.{ORG_B})"), "0-0/1"),
        (format!("/tasks?project_id=in.({PROJ_A},{PROJ_B})"), "0-0/1"),
        ("/tasks?select=id,projects!inner(id)".to_string(), "0-0/1"),
        ("/projects".to_string(), "0-1/2"),
        (format!("/projects?id=in.({PROJ_A},{PROJ_B},{PROJ2_B})"), "0-0/1"),
        ("/projects?select=id,tasks!inner(id)".to_string(), "0-0/1"),
        ("/projects?limit=1".to_string(), "0-0/2"),
        ("/projects?offset=1".to_string(), "1-1/2"),
        ("/memberships".to_string(), "0-4/5"),
        (format!("/memberships?user_id=in.({MEMBER_A},{MEMBER_B},{OWNER_B})"), "0-0/1"),
        ("/memberships?role=eq.owner".to_string(), "0-0/1"),
    ];
    for actor in [Actor::MemberA, Actor::TokenMemberA] {
        for (path, want) in &cases {
            for method in [Method::GET, Method::HEAD] {
                let r = w.call(actor, method.clone(), path, &[("prefer", "count=exact")], None).await;
                let context = format!("{} {method} {path}", actor.column());
                assert!(r.status == 200 || r.status == 206, "{context}: {} {}", r.status, r.body);
                assert_eq!(r.header("content-range"), Some(*want), "{context}: {}", r.body);
                assert_no_b(&context, &r);
                if method == Method::HEAD {
                    assert_eq!(r.body, "", "{context}");
                }
            }
        }
    }
    // service_role reads no table at all: refused, with no total (the SQL suite's `service`).
    let direct = w.without_pre_request().await;
    let mut refused = vec![];
    for (path, _) in &cases {
        for method in [Method::GET, Method::HEAD] {
            let table = path.trim_start_matches('/').split('?').next().expect("a table");
            let object = format!("table {table}");
            refused
                .extend(service_refusal(&w, &direct, method, path, &[("prefer", "count=exact")], None, &object).await);
        }
    }
    assert!(refused.is_empty(), "service_role counts:\n{}", refused.join("\n"));
    // A `Range` header against the filtered total: 206 within A's rows, 416 past them.
    let r =
        w.call(Actor::MemberA, Method::GET, "/projects", &[("prefer", "count=exact"), ("range", "0-0")], None).await;
    assert_eq!((r.status, r.header("content-range")), (206, Some("0-0/2")), "{}", r.body);
    let r =
        w.call(Actor::MemberA, Method::GET, "/projects", &[("prefer", "count=exact"), ("range", "3-5")], None).await;
    assert_eq!((r.status, r.header("content-range")), (416, Some("*/2")), "{}", r.body);
    // B's member, the mirror image.
    let r = w.call(Actor::MemberB, Method::GET, "/tasks", &[("prefer", "count=exact")], None).await;
    assert_eq!(r.header("content-range"), Some("0-2/3"), "{}", r.body);
    let r = w
        .call(Actor::MemberB, Method::HEAD, &format!("/tasks?org_id=eq.{ORG_A}"), &[("prefer", "count=exact")], None)
        .await;
    assert_eq!(r.header("content-range"), Some("*/0"));
}

/// `count=planned` and `count=estimated`: the rows returned are A's; an estimate is only an
/// estimate, so its total is only checked to be a number. Note: the planner's statistics cover the
/// whole table, so a planned total follows every org's row count (with 20,000 tasks in B, A's
/// member is told `0-0/19658`) — an approximate size of other tenants' data, as in PostgREST.
#[tokio::test]
async fn planned_and_estimated_counts_return_only_the_callers_rows() {
    let w = World::new().await;
    for count in ["count=planned", "count=estimated"] {
        for (path, ids) in [("/tasks?select=id", vec![TASK_A]), ("/projects?select=id", vec![PROJ_A, PROJ2_A])] {
            for method in [Method::GET, Method::HEAD] {
                let r = w.call(Actor::MemberA, method.clone(), path, &[("prefer", count)], None).await;
                let context = format!("{method} {path} {count}");
                assert!(r.status == 200 || r.status == 206, "{context}: {} {}", r.status, r.body);
                let range = r.header("content-range").unwrap_or_else(|| panic!("{context}: no Content-Range"));
                let (shown, total) = range.split_once('/').unwrap_or_else(|| panic!("{context}: {range}"));
                assert!(total.parse::<u64>().is_ok(), "{context}: {range}");
                assert_eq!(shown, format!("0-{}", ids.len() - 1), "{context}");
                if method == Method::GET {
                    assert_eq!(column(&r.json(), "id"), ids, "{context}");
                }
                assert_no_b(&context, &r);
            }
        }
    }
    let r = w.call(Actor::MemberA, Method::GET, "/tasks?select=id", &[("prefer", "count=estimated")], None).await;
    assert_eq!(r.json(), json!([{"id": TASK_A}]));
}

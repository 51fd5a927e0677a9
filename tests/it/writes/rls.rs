//! Privileges and row-level security decide what a write may touch (`tenant_docs`, `inbox`).

use reqwest::Method;
use serde_json::json;

use super::*;

const DOCS: &str = "select id, tenant, title from api.tenant_docs order by id";

#[tokio::test]
async fn rls_with_check_rejects_other_tenants_rows() {
    let g = Gateway::start().await;
    let auth = bearer(json!({"role": "authenticated", "tenant": "a"}));
    let h = [("authorization", auth.as_str())];
    let before = rows(&g, DOCS).await;
    assert_eq!(before, json!([{"id": 1, "tenant": "a", "title": "a doc"}, {"id": 2, "tenant": "b", "title": "b doc"}]));

    Case {
        path: "/tenant_docs",
        headers: &h,
        body: Some(r#"{"tenant":"b","title":"sneaky"}"#),
        status: 403,
        answer: Answer::Error(error_body(
            "42501",
            "new row violates row-level security policy for table \"tenant_docs\"",
        )),
        after: vec![(DOCS, before)],
        ..Case::default()
    }
    .run(&g)
    .await;

    Case {
        path: "/tenant_docs",
        headers: &h,
        body: Some(r#"{"tenant":"a","title":"mine"}"#),
        after: vec![(
            "select tenant, title from api.tenant_docs where title = 'mine'",
            json!([{"tenant": "a", "title": "mine"}]),
        )],
        ..Case::minimal(201, "*/*")
    }
    .run(&g)
    .await;
}

#[tokio::test]
async fn rls_hides_other_tenants_rows_from_patch_and_delete() {
    let g = Gateway::start().await;
    let auth = bearer(json!({"role": "authenticated", "tenant": "a"}));
    let h = [("authorization", auth.as_str())];

    Case {
        method: Method::PATCH,
        path: "/tenant_docs?tenant=eq.b",
        headers: &h,
        body: Some(r#"{"title":"hacked"}"#),
        ..Case::minimal(204, "*/*")
    }
    .run(&g)
    .await;
    Case {
        method: Method::DELETE,
        path: "/tenant_docs?id=eq.2",
        headers: &h,
        after: vec![(
            "select id, tenant, title from api.tenant_docs where tenant = 'b'",
            json!([{"id": 2, "tenant": "b", "title": "b doc"}]),
        )],
        ..Case::minimal(204, "*/*")
    }
    .run(&g)
    .await;

    // Its own rows it can change.
    Case {
        method: Method::PATCH,
        path: "/tenant_docs",
        headers: &h,
        body: Some(r#"{"title":"edited"}"#),
        after: vec![(
            DOCS,
            json!([{"id": 1, "tenant": "a", "title": "edited"}, {"id": 2, "tenant": "b", "title": "b doc"}]),
        )],
        ..Case::minimal(204, "0-0/*")
    }
    .run(&g)
    .await;
}

#[tokio::test]
async fn insert_only_role_needs_select_for_representation() {
    let g = Gateway::start().await;
    let inbox = "select id, msg from api.inbox";
    Case {
        path: "/inbox",
        body: Some(r#"{"msg":"hello"}"#),
        after: vec![(inbox, json!([{"id": 1, "msg": "hello"}]))],
        ..Case::minimal(201, "*/*")
    }
    .run(&g)
    .await;

    Case {
        path: "/inbox",
        headers: &[("prefer", "return=representation")],
        body: Some(r#"{"msg":"peek"}"#),
        status: 401,
        reply_headers: vec![("www-authenticate", Some("Bearer"))],
        answer: Answer::Error(error_body("42501", "permission denied for table inbox")),
        after: vec![(inbox, json!([{"id": 1, "msg": "hello"}]))],
        ..Case::default()
    }
    .run(&g)
    .await;
}

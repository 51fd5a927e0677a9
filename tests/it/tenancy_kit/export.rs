//! Point 1, export: `GET /rpc/export_my_data` returns everything stored about the caller as one
//! JSON document, `GET /rpc/export_org?org_id=…` an org's whole data set (its owners, the super
//! admin), streamed — chunked, in pieces as PostgreSQL sends them — and refused as ordinary
//! errors before the first byte.

use reqwest::Method;
use serde_json::{json, Value};

use super::*;

/// A GET read piece by piece: status, headers, the body's pieces as they arrived.
async fn pieces(k: &Kit, authorization: Option<&str>, path: &str) -> (u16, reqwest::header::HeaderMap, Vec<Vec<u8>>) {
    let mut req = k.g.http.get(k.g.url(path));
    if let Some(a) = authorization {
        req = req.header("authorization", a);
    }
    let mut resp = req.send().await.expect("sent");
    let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
    let mut out = vec![];
    while let Some(piece) = resp.chunk().await.expect("a piece") {
        out.push(piece.to_vec());
    }
    (status, headers, out)
}

fn document(pieces: &[Vec<u8>]) -> Value {
    let bytes: Vec<u8> = pieces.concat();
    serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("not one JSON document ({e}): {}", String::from_utf8_lossy(&bytes)))
}

#[tokio::test]
async fn a_person_exports_everything_stored_about_them() {
    let k = Kit::new().await;
    let owner = k.sign_in("owner@a.test").await;
    // Work to find in the export: 2,000 tasks (several pieces), an API token.
    let tasks: Vec<Value> =
        (0..2000).map(|i| json!({"org_id": ORG_A, "project_id": PROJ_A, "title": format!("export {i}")})).collect();
    let r = k.call(Some(&owner), Method::POST, "/tasks", Some(Value::Array(tasks))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = k.rpc(Some(&owner), "create_api_token", json!({"org": ORG_A, "name": "deploy", "role": "viewer"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let token = r.json()["token"].as_str().expect("a token").to_string();

    let (status, headers, body) = pieces(&k, Some(&owner), "/rpc/export_my_data").await;
    assert_eq!(status, 200);
    assert_eq!(headers.get("content-type").map(|v| v.to_str().unwrap()), Some("application/json; charset=utf-8"));
    assert!(headers.get("content-length").is_none(), "streamed: no length known up front");
    assert!(body.len() > 3, "the body came in pieces, got {}", body.len());
    let doc = document(&body);
    assert_eq!(doc["user"]["email"], json!("owner@a.test"));
    assert_eq!(doc["memberships"][0]["org_id"], json!(ORG_A));
    assert_eq!(doc["memberships"][0]["role"], json!("owner"));
    assert_eq!(doc["sessions"].as_array().map(Vec::len), Some(1), "the session signed in above");
    assert_eq!(doc["api_tokens"][0]["name"], json!("deploy"));
    assert_eq!(doc["created_rows"]["tasks"].as_array().map(Vec::len), Some(2000));
    assert!(doc["audit_log"].as_array().is_some_and(|a| a.len() >= 2002), "their audit entries");
    let text = serde_json::to_string(&doc).unwrap();
    assert!(!text.contains(&token) && !text.contains("token_hash"), "no token, no hash");
    assert!(!text.contains(ORG_B) && !text.contains("owner@b.test"), "nothing of org B");

    // Someone else's export is their own.
    let member = k.sign_in("member@a.test").await;
    let (status, _, body) = pieces(&k, Some(&member), "/rpc/export_my_data").await;
    assert_eq!(status, 200);
    let doc = document(&body);
    assert_eq!(doc["user"]["email"], json!("member@a.test"));
    assert_eq!(doc["created_rows"]["tasks"], json!([]));

    // Refusals are errors with a body, not streams.
    let r = k.g.get("/rpc/export_my_data").await;
    assert_eq!((r.status, r.code()), (401, "42501".to_string()), "{}", r.body);
    let r = k.g.get_with("/rpc/export_my_data", &[("authorization", &format!("Bearer {token}"))]).await;
    assert_eq!((r.status, r.code()), (403, "PT403".to_string()), "an API token: {}", r.body);
    let r = k.g.get_with("/rpc/export_my_data", &[("authorization", &service())]).await;
    assert_eq!((r.status, r.code()), (403, "42501".to_string()), "service_role: {}", r.body);
}

#[tokio::test]
async fn an_owner_exports_their_org_and_nobody_else_does() {
    let k = Kit::new().await;
    k.exec(&format!(
        "insert into api.tasks (org_id, project_id, title) select '{ORG_A}', '{PROJ_A}', 'bulk ' || i from generate_series(1, 1500) i"
    ))
    .await;
    let path = format!("/rpc/export_org?org_id={ORG_A}");
    let owner = k.sign_in("owner@a.test").await;
    let (status, headers, body) = pieces(&k, Some(&owner), &path).await;
    assert_eq!(status, 200);
    assert!(headers.get("content-length").is_none());
    let doc = document(&body);
    assert_eq!(doc["organization"]["id"], json!(ORG_A));
    assert_eq!(doc["tasks"].as_array().map(Vec::len), Some(1501));
    assert_eq!(doc["members"].as_array().map(Vec::len), Some(4));
    assert!(doc["members"].as_array().unwrap().iter().any(|m| m["email"] == json!("viewer@a.test")));
    assert!(!serde_json::to_string(&doc).unwrap().contains(ORG_B), "nothing of org B");

    // The super admin may export any org; its admins, other orgs and strangers may not.
    let root = k.sign_in("root@platform.test").await;
    let (status, _, body) = pieces(&k, Some(&root), &path).await;
    assert_eq!(status, 200);
    assert_eq!(document(&body)["tasks"].as_array().map(Vec::len), Some(1501));
    for email in ["admin@a.test", "member@a.test", "owner@b.test", "loner@x.test"] {
        let who = k.sign_in(email).await;
        let r = k.g.get_with(&path, &[("authorization", &who)]).await;
        assert_eq!((r.status, r.code()), (403, "PT403".to_string()), "{email}: {}", r.body);
        assert!(!r.body.contains("bulk"), "{email}");
    }
    let r =
        k.g.get_with(
            &format!("/rpc/export_org?org_id={}", "0".repeat(8) + "-0000-0000-0000-000000000009"),
            &[("authorization", &root)],
        )
        .await;
    assert_eq!((r.status, r.code()), (404, "PT404".to_string()), "{}", r.body);
    let r = k.g.get_with("/rpc/export_org?org_id=not-a-uuid", &[("authorization", &owner)]).await;
    assert_eq!(r.status, 400, "a malformed id is the client's error: {}", r.body);
}

//! How a write's transaction ends (`ROWGATE_DB_TX_END`, `Prefer: tx=`) and `Prefer: timezone`.

use reqwest::Method;
use serde_json::json;

use super::*;

#[tokio::test]
async fn tx_rollback_is_honoured_with_allow_override() {
    let g = Gateway::start_with(|a| a.db_tx_end = Some("commit-allow-override".into())).await;
    Case {
        path: "/goods?select=id,name",
        headers: &[("prefer", "tx=rollback, return=representation")],
        body: Some(r#"{"name":"kiwi","price":4}"#),
        status: 201,
        applied: Some(&["return=representation", "tx=rollback"]),
        answer: Answer::Json(json!([{"id": 4, "name": "kiwi"}])),
        after: vec![(GOODS, initial_goods())],
        ..Case::default()
    }
    .run(&g)
    .await;

    // Without the preference the same gateway commits.
    let mut case = Case {
        body: Some(r#"{"name":"fig","price":4}"#),
        after: vec![("select name from api.goods where id > 3", json!([{"name": "fig"}]))],
        ..Case::minimal(201, "*/*")
    };
    case.reply_headers.push(("preference-applied", None));
    case.run(&g).await;
}

#[tokio::test]
async fn tx_rollback_is_ignored_by_default() {
    let g = Gateway::start().await;
    let mut case = Case {
        headers: &[("prefer", "tx=rollback")],
        body: Some(r#"{"name":"kiwi","price":4}"#),
        after: vec![("select id, name from api.goods where id > 3", json!([{"id": 4, "name": "kiwi"}]))],
        ..Case::minimal(201, "*/*")
    };
    case.reply_headers.push(("preference-applied", None));
    case.run(&g).await;
}

#[tokio::test]
async fn tx_end_rollback_rolls_back_every_write() {
    let g = Gateway::start_with(|a| a.db_tx_end = Some("rollback".into())).await;
    Case {
        path: "/goods?select=name",
        headers: &[("prefer", "return=representation")],
        body: Some(r#"{"name":"kiwi","price":4}"#),
        status: 201,
        answer: Answer::Json(json!([{"name": "kiwi"}])),
        ..Case::default()
    }
    .run(&g)
    .await;
    Case { method: Method::PATCH, path: "/goods?id=eq.1", body: Some(r#"{"stock":0}"#), ..Case::minimal(204, "0-0/*") }
        .run(&g)
        .await;
    let mut case = Case {
        method: Method::DELETE,
        path: "/goods?id=eq.2",
        headers: &[("prefer", "tx=commit")],
        after: vec![(GOODS, initial_goods())],
        ..Case::minimal(204, "*/*")
    };
    case.reply_headers.push(("preference-applied", None));
    case.run(&g).await;
}

#[tokio::test]
async fn timezone_preference_applies_to_defaults() {
    let g = Gateway::start().await;
    Case {
        path: "/goods?select=name,tz",
        headers: &[("prefer", "return=representation, timezone=America/Lima")],
        body: Some(r#"{"name":"kiwi","price":4}"#),
        status: 201,
        applied: Some(&["return=representation", "timezone=America/Lima"]),
        answer: Answer::Json(json!([{"name": "kiwi", "tz": "America/Lima"}])),
        after: vec![("select tz from api.goods where name = 'kiwi'", json!([{"tz": "America/Lima"}]))],
        ..Case::default()
    }
    .run(&g)
    .await;
}

/// An unknown zone is PostgreSQL's 22023 and nothing is written, whatever `handling` says (as
/// PostgREST since v12.1: "Invalid time zones always return an error").
#[tokio::test]
async fn invalid_timezone_is_400_lenient_or_strict() {
    let g = Gateway::start().await;
    for prefer in ["timezone=Mars/Olympus", "handling=strict, timezone=Mars/Olympus"] {
        Case {
            headers: &[("prefer", prefer)],
            body: Some(r#"{"name":"fig","price":4}"#),
            ..Case::error(
                400,
                json!({
                    "code": "22023",
                    "message": "invalid value for parameter \"TimeZone\": \"Mars/Olympus\"",
                    "details": null,
                    "hint": null
                }),
            )
        }
        .run(&g)
        .await;
    }
}

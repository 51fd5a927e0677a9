//! Point 11: the exposed schema's comment is the OpenAPI document's title (first line) and
//! description (the rest); identity and generated columns are not `required`; computed fields
//! are read-only properties.

use serde_json::json;

use super::*;

#[tokio::test]
async fn the_schemas_comment_titles_the_document() {
    let db = TestDb::new().await;
    db.admin()
        .await
        .batch_execute("comment on schema api is $$My API title\n\nMy API description\nthat spans lines$$")
        .await
        .unwrap();
    let cfg = config(&db, |_| {});
    let g = Gateway::start_on(db, cfg).await;
    let doc = ok(&g, "/").await;
    assert_eq!(doc["info"]["title"], "My API title");
    assert_eq!(doc["info"]["description"], "My API description\nthat spans lines");
    // Another profile has no comment: the defaults.
    let r = g.get_with("/", &[("accept-profile", "v2")]).await;
    assert_eq!(r.json()["info"]["title"], "rowgate API");
}

#[tokio::test]
async fn identity_and_generated_columns_are_not_required() {
    let g = Gateway::start().await;
    let doc = ok(&g, "/").await;
    let schemas = &doc["components"]["schemas"];
    let required = |name: &str| {
        let mut r: Vec<String> = schemas[name]["required"]
            .as_array()
            .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
            .unwrap_or_default();
        r.sort();
        r
    };
    assert_eq!(required("events"), vec!["name", "note"]);
    assert_eq!(required("tickets"), vec!["label"]);
    assert_eq!(required("people"), vec!["first_name", "id", "last_name"]);
    // Computed fields: properties, read-only, with their type.
    assert_eq!(schemas["people"]["properties"]["full_name"]["readOnly"], json!(true));
    assert_eq!(schemas["people"]["properties"]["age_in"]["readOnly"], json!(true));
    assert!(schemas["people"]["properties"]["age_in"]["type"].to_string().contains("integer"));
}

//! `plan_write`: the columns written, the payload bound, upserts, `missing=default`, returning
//! modes, post-statement checks, PUT's key rules and the body errors.

use crate::error::ClientError;
use crate::plan::write::OnConflict;
use crate::plan::{plan_write, Check, PlanError, PlannedCondition, WriteOp, WritePlan};
use crate::request::preferences::ReturnPreference;
use crate::request::{ApiRequest, MediaType, WriteMethod};
use crate::schema::SchemaCache;

use super::*;

fn method_of(req: &ApiRequest) -> WriteMethod {
    match req.action {
        crate::request::Action::Write(m) => m,
        other => panic!("not a write: {other:?}"),
    }
}

fn write<'a>(req: &'a ApiRequest, cache: &'a SchemaCache) -> Result<WritePlan<'a>, PlanError> {
    plan_write(req, method_of(req), target(req), cache)
}

/// The error of planning `method uri` with `body` (and `prefer`, if any).
fn write_error(method: &str, uri: &str, prefer: &str, body: &str) -> PlanError {
    let cache = cache();
    let headers: &[(&str, &str)] = if prefer.is_empty() { &[] } else { &[("prefer", prefer)] };
    let req = parse(method, uri, headers, body);
    write(&req, &cache).unwrap_err()
}

fn names(plan: &WritePlan) -> Vec<String> {
    plan.columns.iter().map(|c| c.name.clone()).collect()
}

fn conflict<'a>(on_conflict: &Option<OnConflict<'a>>) -> Option<(Vec<&'a str>, bool)> {
    on_conflict.as_ref().map(|o| (o.target.clone(), o.merge))
}

#[test]
fn insert_one_object() {
    let cache = cache();
    let req = parse("POST", "/goods", &[], r#"{"price":4,"name":"kiwi"}"#);
    let plan = write(&req, &cache).unwrap();
    assert_eq!((plan.op, plan.method), (WriteOp::Insert, WriteMethod::Post));
    assert_eq!(plan.relation.name, "goods");
    // Object keys come in serde_json's (sorted) order.
    assert_eq!(names(&plan), ["name", "price"]);
    assert_eq!(plan.payload, r#"[{"name":"kiwi","price":4}]"#);
    assert_eq!(conflict(&plan.on_conflict), None);
    assert!(!plan.missing_default);
    assert_eq!(plan.returning, ReturnPreference::Minimal);
    assert_eq!(plan.key, ["id"]);
    assert_eq!(plan.checks, []);
    assert_eq!(plan.media, MediaType::Json);
    // The representation's `*` is expanded to the columns, in table order.
    let goods = relation(&cache, "goods");
    assert_eq!(plan.tree.items, goods.columns.iter().map(plain).collect::<Vec<_>>());
    assert_eq!(plan.tree.conditions, vec![]);
}

#[test]
fn bulk_insert_binds_one_array() {
    let cache = cache();
    let req = parse("POST", "/goods", &[], r#"[{"name":"a","price":1},{"price":2,"name":"b"}]"#);
    let plan = write(&req, &cache).unwrap();
    assert_eq!(names(&plan), ["name", "price"]);
    assert_eq!(plan.payload, r#"[{"name":"a","price":1},{"name":"b","price":2}]"#);

    let e = write_error("POST", "/goods", "", r#"[{"name":"a","price":1},{"name":"b"}]"#);
    assert_eq!(e, PlanError::InvalidBody("All object keys must match".into()));
    assert_eq!((e.status(), e.code().as_ref()), (400, "PGRST102"));
    // `[]` writes nothing and names no column.
    let req = parse("POST", "/goods", &[], "[]");
    let plan = write(&req, &cache).unwrap();
    assert_eq!((names(&plan), plan.payload.as_str()), (vec![], "[]"));
}

#[test]
fn columns_param_chooses_the_columns_whatever_the_keys() {
    let cache = cache();
    let req = parse("POST", "/goods?columns=price,name", &[], r#"[{"name":"a","price":1,"bogus":1},{"name":"b"}]"#);
    let plan = write(&req, &cache).unwrap();
    assert_eq!(names(&plan), ["price", "name"]);
    assert_eq!(plan.payload, r#"[{"bogus":1,"name":"a","price":1},{"name":"b"}]"#);
    let e = write_error("POST", "/goods?columns=name,nope", "", r#"{"name":"a"}"#);
    assert_eq!(e, PlanError::UnknownPayloadColumn { relation: "goods".into(), column: "nope".into() });
    // PATCH honours it too.
    let req = parse("PATCH", "/goods?id=eq.1&columns=stock", &[], r#"{"stock":3,"name":"x"}"#);
    assert_eq!(names(&write(&req, &cache).unwrap()), ["stock"]);
}

#[test]
fn an_unknown_payload_key_is_pgrst204() {
    let e = write_error("POST", "/goods", "", r#"{"name":"kiwi","x":1}"#);
    assert_eq!(e, PlanError::UnknownPayloadColumn { relation: "goods".into(), column: "x".into() });
    assert_eq!((e.status(), e.code().as_ref()), (400, "PGRST204"));
    assert_eq!(e.to_string(), "Could not find the 'x' column of 'goods' in the schema cache");
    assert_eq!(
        write_error("PATCH", "/goods?id=eq.1", "", r#"{"x":1}"#),
        PlanError::UnknownPayloadColumn { relation: "goods".into(), column: "x".into() }
    );
}

#[test]
fn upserts_target_the_key_or_on_conflict() {
    let cache = cache();
    let body = r#"{"id":1,"name":"a"}"#;
    for (uri, prefer, expected) in [
        ("/goods", "resolution=merge-duplicates", (vec!["id"], true)),
        ("/goods", "resolution=ignore-duplicates", (vec!["id"], false)),
        ("/goods?on_conflict=name", "resolution=merge-duplicates", (vec!["name"], true)),
        ("/org_items", "resolution=ignore-duplicates", (vec!["org_id", "id"], false)),
        ("/org_items?on_conflict=id,org_id", "resolution=merge-duplicates", (vec!["id", "org_id"], true)),
    ] {
        let req = parse(
            "POST",
            uri,
            &[("prefer", prefer)],
            if uri.starts_with("/org") { r#"{"org_id":1,"id":1}"# } else { body },
        );
        let plan = write(&req, &cache).unwrap();
        assert_eq!(conflict(&plan.on_conflict), Some(expected), "{uri} {prefer}");
        assert_eq!(plan.op, WriteOp::Insert);
    }
    // on_conflict without a resolution is no upsert.
    let req = parse("POST", "/goods?on_conflict=name", &[], body);
    assert_eq!(conflict(&write(&req, &cache).unwrap().on_conflict), None);
    assert_eq!(
        write_error("POST", "/goods?on_conflict=nope", "resolution=merge-duplicates", body),
        PlanError::ColumnNotFound { relation: "goods".into(), column: "nope".into() }
    );
}

#[test]
fn missing_default_and_returning_modes_come_from_prefer() {
    let cache = cache();
    let body = r#"{"name":"a"}"#;
    let req = parse("POST", "/goods?columns=name,stock", &[("prefer", "missing=default")], body);
    let plan = write(&req, &cache).unwrap();
    assert!(plan.missing_default);
    assert_eq!(names(&plan), ["name", "stock"]);
    for (prefer, returning) in [
        ("return=minimal", ReturnPreference::Minimal),
        ("return=headers-only", ReturnPreference::HeadersOnly),
        ("return=representation", ReturnPreference::Representation),
    ] {
        let req = parse("POST", "/goods?select=id,name", &[("prefer", prefer)], body);
        let plan = write(&req, &cache).unwrap();
        assert_eq!(plan.returning, returning, "{prefer}");
        assert_eq!(plan.tree.items, vec![plain(column(&cache, "goods", "id")), plain(column(&cache, "goods", "name"))]);
    }
}

#[test]
fn singular_and_strict_max_affected_add_checks() {
    let cache = cache();
    let object = ("accept", "application/vnd.pgrst.object+json");
    let strict = ("prefer", "max-affected=2, handling=strict");
    let req = parse("PATCH", "/goods?id=lt.5", &[object, strict], r#"{"stock":1}"#);
    let plan = write(&req, &cache).unwrap();
    assert_eq!(plan.checks, [Check::ExactlyOne, Check::AtMost(2)]);
    assert_eq!(plan.media, MediaType::SingleObject { strip_nulls: false });
    let req = parse("DELETE", "/goods?id=lt.5", &[strict], "");
    assert_eq!(write(&req, &cache).unwrap().checks, [Check::AtMost(2)]);
    // Only PATCH and DELETE are limited; without handling=strict nothing is checked.
    let req = parse("POST", "/goods", &[strict], r#"{"name":"a"}"#);
    assert_eq!(write(&req, &cache).unwrap().checks, []);
    let req = parse("DELETE", "/goods?id=lt.5", &[("prefer", "max-affected=2")], "");
    assert_eq!(write(&req, &cache).unwrap().checks, []);
}

#[test]
fn update_binds_one_object_and_keeps_the_filters() {
    let cache = cache();
    let req = parse("PATCH", "/goods?id=eq.1", &[], r#"{"stock":3,"name":"x"}"#);
    let plan = write(&req, &cache).unwrap();
    assert_eq!((plan.op, plan.method), (WriteOp::Update, WriteMethod::Patch));
    assert_eq!(names(&plan), ["name", "stock"]);
    assert_eq!(plan.payload, r#"{"name":"x","stock":3}"#);
    assert_eq!(conflict(&plan.on_conflict), None);
    assert_eq!(plan.tree.conditions.len(), 1);
    let PlannedCondition::Filter { target, negated: false, .. } = &plan.tree.conditions[0] else { panic!() };
    assert_eq!(target.column, column(&cache, "goods", "id"));
    // `{}` updates no column.
    let req = parse("PATCH", "/goods?id=eq.1", &[], "{}");
    let plan = write(&req, &cache).unwrap();
    assert_eq!((names(&plan), plan.payload.as_str()), (vec![], "{}"));

    let e = write_error("PATCH", "/goods?id=eq.1", "", r#"[{"stock":1}]"#);
    assert_eq!(e, PlanError::InvalidBody("expected a single JSON object".into()));
    assert_eq!(e.code().as_ref(), "PGRST102");
}

#[test]
fn delete_has_no_payload() {
    let cache = cache();
    let req = parse("DELETE", "/goods?stock=eq.0&select=id", &[("prefer", "return=representation")], "");
    let plan = write(&req, &cache).unwrap();
    assert_eq!((plan.op, plan.method), (WriteOp::Delete, WriteMethod::Delete));
    assert_eq!((names(&plan), plan.payload.as_str()), (vec![], ""));
    assert_eq!(plan.tree.conditions.len(), 1);
    assert_eq!(plan.tree.items, vec![plain(column(&cache, "goods", "id"))]);
}

#[test]
fn put_is_an_upsert_on_the_key() {
    let cache = cache();
    let req = parse("PUT", "/goods?id=eq.1", &[], r#"{"id":1,"name":"a","price":2,"stock":3}"#);
    let plan = write(&req, &cache).unwrap();
    assert_eq!((plan.op, plan.method), (WriteOp::Insert, WriteMethod::Put));
    assert_eq!(names(&plan), ["id", "name", "price", "stock"]);
    assert_eq!(plan.payload, r#"[{"id":1,"name":"a","price":2,"stock":3}]"#);
    assert_eq!(conflict(&plan.on_conflict), Some((vec!["id"], true)));
    // The key filter became the payload; nothing filters the insert.
    assert_eq!(plan.tree.conditions, vec![]);
    // A two-column key: both filters, in any order; a string body value matches too.
    let req = parse("PUT", "/org_items?id=eq.2&org_id=eq.1", &[], r#"{"org_id":1,"id":"2","label":"x"}"#);
    let plan = write(&req, &cache).unwrap();
    assert_eq!(conflict(&plan.on_conflict), Some((vec!["org_id", "id"], true)));
    // columns= does not apply to PUT: the body is the whole row.
    let req = parse("PUT", "/goods?id=eq.1&columns=name", &[], r#"{"id":1,"name":"a"}"#);
    assert_eq!(names(&write(&req, &cache).unwrap()), ["id", "name"]);
}

#[test]
fn put_filters_must_be_exactly_the_key_with_eq() {
    let body = r#"{"id":1,"name":"a"}"#;
    for uri in [
        "/goods",
        "/goods?name=eq.a",
        "/goods?id=gt.1",
        "/goods?id=not.eq.1",
        "/goods?id=eq.1&name=eq.a",
        "/goods?or=(id.eq.1)",
        "/goods?id=eq(any).{1}",
        "/org_items?org_id=eq.1",
        "/feed?id=eq.1",
    ] {
        let e = write_error("PUT", uri, "", body);
        assert_eq!(e, PlanError::InvalidPut, "{uri}");
        assert_eq!((e.status(), e.code().as_ref()), (405, "PGRST105"));
    }
}

#[test]
fn put_with_limit_is_pgrst114() {
    for uri in ["/goods?id=eq.1&limit=1", "/goods?id=eq.1&offset=0"] {
        let e = write_error("PUT", uri, "", r#"{"id":1,"name":"a"}"#);
        assert_eq!(e, PlanError::PutWithLimit, "{uri}");
        assert_eq!((e.status(), e.code().as_ref()), (400, "PGRST114"));
    }
}

#[test]
fn put_body_key_must_match_the_url() {
    for body in [r#"{"id":2,"name":"a"}"#, r#"{"name":"a"}"#, r#"{"id":null,"name":"a"}"#, r#"{"id":"01","name":"a"}"#]
    {
        let e = write_error("PUT", "/goods?id=eq.1", "", body);
        assert_eq!(e, PlanError::PutKeyMismatch, "{body}");
        assert_eq!((e.status(), e.code().as_ref()), (400, "PGRST115"));
    }
    assert_eq!(
        write_error("PUT", "/goods?id=eq.1", "", r#"[{"id":1}]"#),
        PlanError::InvalidBody("expected a single JSON object".into())
    );
}

#[test]
fn bodies_that_are_not_objects() {
    assert_eq!(
        write_error("POST", "/goods", "", "[1,2]"),
        PlanError::InvalidBody("expected a JSON object or an array of objects".into())
    );
    assert_eq!(
        write_error("POST", "/goods", "", "\"text\""),
        PlanError::InvalidBody("expected a JSON object or an array of objects".into())
    );
    let cache = cache();
    let req = parse("POST", "/goods", &[("content-type", "text/plain")], "name=a");
    assert_eq!(write(&req, &cache).unwrap_err(), PlanError::InvalidBody("a JSON, CSV or form body is required".into()));
}

#[test]
fn unknown_table_or_column_fails_before_the_body_is_read() {
    assert_eq!(
        write_error("POST", "/good", "", "[1]"),
        PlanError::RelationNotFound {
            schema: "api".into(),
            name: "good".into(),
            hint: Some("Perhaps you meant the table 'api.goods'".into())
        }
    );
    assert_eq!(
        write_error("PATCH", "/goods?nope=eq.1", "", "[1]"),
        PlanError::ColumnNotFound { relation: "goods".into(), column: "nope".into() }
    );
    assert_eq!(
        write_error("POST", "/goods?select=nope", "", "[1]"),
        PlanError::ColumnNotFound { relation: "goods".into(), column: "nope".into() }
    );
}

#[test]
fn writes_to_a_view_postgresql_cannot_write_are_405() {
    for (method, uri, body, verb) in [
        ("POST", "/totals", r#"{"id":1}"#, "insert into"),
        ("PATCH", "/totals?id=eq.1", r#"{"total":1}"#, "update"),
        ("DELETE", "/totals?id=eq.1", "", "delete from"),
    ] {
        let e = write_error(method, uri, "", body);
        assert_eq!(e, PlanError::ReadOnlyView { verb, view: "totals".into() }, "{method}");
        assert_eq!((e.status(), e.code().as_ref()), (405, "55000"));
        assert_eq!(e.to_string(), format!("cannot {verb} view \"totals\""));
    }
    // An updatable view (the mask says so) is planned as usual.
    let cache = cache();
    let req = parse("POST", "/feed", &[], r#"{"id":1,"body":"x"}"#);
    assert!(write(&req, &cache).is_ok());
}

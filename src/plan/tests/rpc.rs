//! `plan_rpc`: the overload chosen by argument names, PGRST202/PGRST203, a GET's `key=value`
//! pairs split into arguments and root filters, argument values, and the result's shape.

use crate::error::ClientError;
use crate::plan::read::CountPlan;
use crate::plan::rpc::{plan_rpc, CallArg, RpcPlan, RpcResult};
use crate::plan::{ColumnRef, PlanError, PlannedCondition};
use crate::request::ast::{Operation, Operator};
use crate::request::{ApiRequest, MediaType, RowRange};
use crate::schema::SchemaCache;

use super::*;
use crate::plan::Check;

fn rpc<'a>(req: &'a ApiRequest, cache: &'a SchemaCache) -> Result<RpcPlan<'a>, PlanError> {
    plan_rpc(req, cache, target(req), None)
}

fn rpc_error(method: &str, uri: &str, body: &str) -> PlanError {
    let cache = cache();
    let req = parse(method, uri, &[], body);
    rpc(&req, &cache).unwrap_err()
}

fn arg<'a>(name: &'a str, data_type: &'a str, value: Option<&str>) -> CallArg<'a> {
    CallArg { name, data_type, value: value.map(str::to_string), variadic: false }
}

/// The input argument names of the chosen overload.
fn signature(plan: &RpcPlan) -> Vec<String> {
    plan.function.input_args().map(|a| format!("{} {}", a.name, a.data_type)).collect()
}

#[test]
fn the_overload_is_chosen_by_argument_names() {
    let cache = cache();
    for (method, uri, body, expected) in [
        ("GET", "/rpc/greet?name=ann", "", vec!["name text"]),
        ("GET", "/rpc/greet?first=ann&last=lee", "", vec!["first text", "last text"]),
        ("POST", "/rpc/greet", r#"{"name":"ann"}"#, vec!["name text"]),
        ("POST", "/rpc/greet", r#"{"last":"lee","first":"ann"}"#, vec!["first text", "last text"]),
    ] {
        let req = parse(method, uri, &[], body);
        let plan = rpc(&req, &cache).unwrap();
        assert_eq!(signature(&plan), expected, "{method} {uri} {body}");
    }
    let req = get("/rpc/greet?first=ann&last=lee");
    let plan = rpc(&req, &cache).unwrap();
    assert_eq!(plan.args, vec![arg("first", "text", Some("ann")), arg("last", "text", Some("lee"))]);
}

#[test]
fn overloads_the_names_cannot_tell_apart_are_pgrst203() {
    let e = rpc_error("GET", "/rpc/pick?x=1", "");
    assert_eq!(e, PlanError::AmbiguousFunction("api.pick(x => integer), api.pick(x => text)".into()));
    assert_eq!((e.status(), e.code().as_ref()), (300, "PGRST203"));
    assert_eq!(
        e.to_string(),
        "Could not choose the best candidate function between: api.pick(x => integer), api.pick(x => text)"
    );
    assert_eq!(
        e.hint().as_deref(),
        Some("Try renaming the parameters or the function itself in the database so function overloading can be resolved")
    );
    assert_eq!(
        rpc_error("POST", "/rpc/pick", r#"{"x":1}"#),
        PlanError::AmbiguousFunction("api.pick(x => integer), api.pick(x => text)".into())
    );
}

#[test]
fn an_unknown_function_or_signature_is_pgrst202() {
    let e = rpc_error("GET", "/rpc/ad?a=1&b=2", "");
    assert_eq!(
        e,
        PlanError::FunctionNotFound {
            schema: "api".into(),
            name: "ad".into(),
            args: "a, b".into(),
            hint: Some("Perhaps you meant to call the function api.add".into())
        }
    );
    assert_eq!((e.status(), e.code().as_ref()), (404, "PGRST202"));
    assert_eq!(e.to_string(), "Could not find the function api.ad(a, b) in the schema cache");
    // Every pair of an unknown function counts as an argument: none is mistaken for a filter.
    assert_eq!(
        rpc_error("GET", "/rpc/zzz?id=eq.1", ""),
        PlanError::FunctionNotFound { schema: "api".into(), name: "zzz".into(), args: "id".into(), hint: None }
    );
    // A known name with arguments no overload has; a missing required argument.
    assert_eq!(
        rpc_error("POST", "/rpc/greet", r#"{"nick":"x"}"#),
        PlanError::FunctionNotFound {
            schema: "api".into(),
            name: "greet".into(),
            args: "nick".into(),
            hint: Some("Perhaps you meant to call the function api.greet".into())
        }
    );
    assert_eq!(
        rpc_error("GET", "/rpc/window?hi=3", ""),
        PlanError::FunctionNotFound {
            schema: "api".into(),
            name: "window".into(),
            args: "hi".into(),
            hint: Some("Perhaps you meant to call the function api.window".into())
        }
    );
}

#[test]
fn arguments_with_defaults_may_be_left_out() {
    let cache = cache();
    let req = get("/rpc/window?lo=1");
    let plan = rpc(&req, &cache).unwrap();
    assert_eq!(plan.args, vec![arg("lo", "integer", Some("1"))]);
    let req = get("/rpc/window?hi=9&lo=1");
    let plan = rpc(&req, &cache).unwrap();
    assert_eq!(plan.args, vec![arg("lo", "integer", Some("1")), arg("hi", "integer", Some("9"))]);
}

#[test]
fn get_pairs_that_are_not_arguments_filter_the_rows() {
    let cache = cache();
    let req = get("/rpc/search_films?q=star&year=gt.2000&select=title&order=year");
    let plan = rpc(&req, &cache).unwrap();
    assert_eq!(plan.args, vec![arg("q", "text", Some("star"))]);
    let RpcResult::Rows(tree) = &plan.result else { panic!("{:?}", plan.result) };
    assert_eq!(tree.relation.name, "films");
    assert_eq!(tree.items, vec![plain(column(&cache, "films", "title"))]);
    assert_eq!(
        tree.conditions,
        vec![PlannedCondition::Filter {
            target: ColumnRef { column: column(&cache, "films", "year"), json_path: &[] },
            negated: false,
            operation: &Operation::Compare { op: Operator::Gt, quantifier: None, value: "2000".into() }
        }]
    );
    assert_eq!(tree.order.len(), 1);
    assert_eq!((plan.single_row, plan.read_only, plan.media), (false, true, MediaType::Json));
    // A pair named like an argument is one, even when it would parse as a filter.
    let req = get("/rpc/search_films?q=eq.1");
    let plan = rpc(&req, &cache).unwrap();
    assert_eq!(plan.args, vec![arg("q", "text", Some("eq.1"))]);
    let RpcResult::Rows(tree) = &plan.result else { panic!() };
    assert_eq!(tree.conditions, vec![]);
}

#[test]
fn a_pair_that_is_no_argument_nor_filter_is_an_unknown_argument() {
    // As PostgREST: a value without an operator is an argument, and no overload takes `year`.
    let e = rpc_error("GET", "/rpc/search_films?q=star&year=bogus", "");
    assert_eq!(
        e,
        PlanError::FunctionNotFound {
            schema: "api".into(),
            name: "search_films".into(),
            args: "q, year".into(),
            hint: Some("Perhaps you meant to call the function api.search_films".into())
        }
    );
    assert_eq!((e.status(), e.code().as_ref()), (404, "PGRST202"));
    // A scalar function too (a filter would not apply to it anyway).
    let e = rpc_error("GET", "/rpc/add?a=1&b=2&c=3", "");
    assert_eq!((e.status(), e.code().as_ref()), (404, "PGRST202"));
    // A filter naming no column of the result.
    assert_eq!(
        rpc_error("GET", "/rpc/search_films?q=star&nope=eq.1", ""),
        PlanError::ColumnNotFound { relation: "films".into(), column: "nope".into() }
    );
}

#[test]
fn strict_max_affected_counts_a_set_and_refuses_single_results() {
    let cache = cache();
    let strict = [("prefer", "handling=strict, max-affected=2")];
    let req = parse("POST", "/rpc/search_films", &strict, r#"{"q":"x"}"#);
    assert_eq!(rpc(&req, &cache).unwrap().checks, vec![Check::AtMost(2)]);
    // Lenient: the preference is only echoed.
    let req = parse("POST", "/rpc/search_films", &[("prefer", "max-affected=2")], r#"{"q":"x"}"#);
    assert_eq!(rpc(&req, &cache).unwrap().checks, vec![]);
    // One row, one value, nothing: PGRST128.
    for (uri, body) in [("/rpc/film_by_id", r#"{"fid":1}"#), ("/rpc/add", r#"{"a":1,"b":2}"#), ("/rpc/touch", "")] {
        let req = parse("POST", uri, &strict, body);
        let e = rpc(&req, &cache).unwrap_err();
        assert_eq!(e, PlanError::MaxAffectedOnSingle, "{uri}");
        assert_eq!((e.status(), e.code().as_ref()), (400, "PGRST128"));
    }
    // A singular answer the client asked for is checked too (a writing call rolls back).
    let req = parse("POST", "/rpc/search_films", &[("accept", "application/vnd.pgrst.object+json")], r#"{"q":"x"}"#);
    assert_eq!(rpc(&req, &cache).unwrap().checks, vec![Check::ExactlyOne]);
}

#[test]
fn a_filter_on_a_scalar_result_is_an_error() {
    for uri in ["/rpc/add?a=1&b=2&c=eq.3", "/rpc/add?a=1&b=2&or=(a.eq.1)", "/rpc/numbers?upto=3&numbers=gt.1"] {
        let e = rpc_error("GET", uri, "");
        assert_eq!(
            e,
            PlanError::FilterOnScalar(if uri.contains("numbers") { "numbers" } else { "add" }.into()),
            "{uri}"
        );
        assert_eq!((e.status(), e.code().as_ref()), (400, "PGRST100"));
    }
    assert_eq!(rpc_error("POST", "/rpc/add?c=eq.3", r#"{"a":1,"b":2}"#), PlanError::FilterOnScalar("add".into()));
    // A dotted key names an embed the scalar cannot have.
    assert_eq!(rpc_error("GET", "/rpc/add?a=1&b=2&x.y=eq.1", ""), PlanError::NotEmbedded("x".into()));
}

#[test]
fn result_shapes() {
    let cache = cache();
    let req = get("/rpc/add?a=1&b=2");
    let plan = rpc(&req, &cache).unwrap();
    assert!(matches!(plan.result, RpcResult::Scalar { set: false }), "{:?}", plan.result);
    assert_eq!(plan.args, vec![arg("a", "integer", Some("1")), arg("b", "integer", Some("2"))]);
    assert_eq!((plan.read_only, plan.single_row, plan.headers_only), (true, false, false));

    let req = get("/rpc/numbers?upto=3");
    assert!(matches!(rpc(&req, &cache).unwrap().result, RpcResult::Scalar { set: true }));

    // A function returning one row answers with one object.
    let req = get("/rpc/film_by_id?fid=1");
    let plan = rpc(&req, &cache).unwrap();
    assert!(matches!(plan.result, RpcResult::Rows(_)));
    assert_eq!((plan.single_row, plan.media), (true, MediaType::SingleObject { strip_nulls: false }));

    // Void; volatile functions write when POSTed, never over GET.
    let req = parse("POST", "/rpc/touch", &[], "");
    let plan = rpc(&req, &cache).unwrap();
    assert!(matches!(plan.result, RpcResult::Void));
    assert_eq!((plan.args, plan.read_only), (vec![], false));
    let req = parse("HEAD", "/rpc/touch", &[], "");
    let plan = rpc(&req, &cache).unwrap();
    assert_eq!((plan.read_only, plan.headers_only), (true, true));
    let req = parse("POST", "/rpc/add", &[], r#"{"a":1,"b":2}"#);
    assert!(rpc(&req, &cache).unwrap().read_only, "immutable functions run read-only");
}

#[test]
fn range_and_count_apply_to_table_valued_functions() {
    let cache = cache();
    let req = parse("GET", "/rpc/search_films?q=a&limit=5&offset=2", &[("prefer", "count=estimated")], "");
    let plan = plan_rpc(&req, &cache, "search_films", Some(3)).unwrap();
    assert_eq!(plan.range, RowRange { offset: 2, limit: Some(3) });
    assert_eq!(plan.count, CountPlan::Estimated { max_rows: 3 });
}

#[test]
fn the_body_goes_whole_to_a_single_unnamed_parameter() {
    let cache = cache();
    let req = parse("POST", "/rpc/echo", &[], r#"{"b":[1,2],"a":"x"}"#);
    let plan = rpc(&req, &cache).unwrap();
    assert_eq!(plan.args, vec![arg("", "json", Some(r#"{"a":"x","b":[1,2]}"#))]);
    let req = parse("POST", "/rpc/echo", &[("content-type", "text/plain")], "plain words");
    let plan = rpc(&req, &cache).unwrap();
    assert_eq!(plan.args, vec![arg("", "json", Some("plain words"))]);
    let req = parse("POST", "/rpc/echo", &[], "[1,2]");
    assert_eq!(rpc(&req, &cache).unwrap().args, vec![arg("", "json", Some("[1,2]"))]);
    // A POST without a body passes `{}`; a GET has no body, so no overload takes it.
    let req = parse("POST", "/rpc/echo", &[], "");
    assert_eq!(rpc(&req, &cache).unwrap().args, vec![arg("", "json", Some("{}"))]);
    assert_eq!(
        rpc_error("GET", "/rpc/echo", ""),
        PlanError::FunctionNotFound {
            schema: "api".into(),
            name: "echo".into(),
            args: "".into(),
            hint: Some("Perhaps you meant to call the function api.echo".into())
        }
    );
}

#[test]
fn variadic_and_repeated_arguments() {
    let cache = cache();
    let variadic =
        |value: &str| CallArg { name: "xs", data_type: "integer[]", value: Some(value.into()), variadic: true };
    let req = get("/rpc/sum_all?xs=1&xs=2&xs=3");
    assert_eq!(rpc(&req, &cache).unwrap().args, vec![variadic(r#"{"1","2","3"}"#)]);
    let req = get("/rpc/sum_all?xs={4,5}");
    assert_eq!(rpc(&req, &cache).unwrap().args, vec![variadic("{4,5}")]);
    let req = get("/rpc/sum_all?xs=7");
    assert_eq!(rpc(&req, &cache).unwrap().args, vec![variadic(r#"{"7"}"#)]);
    let req = parse("POST", "/rpc/sum_all", &[], r#"{"xs":[1,2]}"#);
    assert_eq!(rpc(&req, &cache).unwrap().args, vec![variadic(r#"{"1","2"}"#)]);
    // A repeated plain argument: the last value.
    let req = get("/rpc/greet?name=a&name=b");
    assert_eq!(rpc(&req, &cache).unwrap().args, vec![arg("name", "text", Some("b"))]);
}

#[test]
fn json_body_values_become_parameter_text() {
    let cache = cache();
    let req = parse("POST", "/rpc/bump", &[], r#"{"tags":["a","b\"c"],"meta":{"k":[1]},"n":null}"#);
    let plan = rpc(&req, &cache).unwrap();
    assert_eq!(
        plan.args,
        vec![
            arg("tags", "text[]", Some(r#"{"a","b\"c"}"#)),
            arg("meta", "jsonb", Some(r#"{"k":[1]}"#)),
            arg("n", "integer", None),
        ]
    );
    assert!(!plan.read_only);
    let req = parse("POST", "/rpc/bump", &[], r#"{"tags":"{x}","meta":"s","n":5}"#);
    assert_eq!(
        rpc(&req, &cache).unwrap().args,
        vec![arg("tags", "text[]", Some("{x}")), arg("meta", "jsonb", Some("\"s\"")), arg("n", "integer", Some("5"))]
    );
}

#[test]
fn functions_declared_rowgate_stream_json_are_streamed() {
    let cache = cache();
    let req = get("/rpc/export_all?org=1");
    let plan = rpc(&req, &cache).unwrap();
    assert!(matches!(plan.result, RpcResult::Stream), "{:?}", plan.result);
    assert!(plan.function.streams_json() && !plan.function.auth_rate_limited());
    let req = get("/rpc/not_a_stream");
    let plan = rpc(&req, &cache).unwrap();
    assert!(matches!(plan.result, RpcResult::Scalar { set: false }), "only a setof text streams: {:?}", plan.result);
    assert!(plan.function.auth_rate_limited());
    // Filters make no sense on pieces of a document.
    let e = rpc_error("GET", "/rpc/export_all?org=1&x=eq.1", "");
    assert_eq!(e, PlanError::FilterOnScalar("export_all".into()));
}

//! Reads: tables and columns resolved against the cache, aliases, casts, JSON paths, conditions,
//! order, range and count; and every way a name can fail to resolve.

use crate::error::ClientError;
use crate::plan::read::CountPlan;
use crate::plan::{check_aggregates, ColumnRef, OutputColumn, PlanError, PlannedCondition, PlannedOrder};
use crate::request::ast::{
    AggregateFn, Direction, Field, IsValue, JsonKey, JsonStep, LogicOp, Nulls, Operation, Operator, OrderTerm,
};
use crate::request::{MediaType, RowRange};

use super::*;

fn compare(op: Operator, value: &str) -> Operation {
    Operation::Compare { op, quantifier: None, value: value.into() }
}

#[test]
fn columns_resolve_in_select_order() {
    let cache = cache();
    let req = get("/films?select=title,id");
    let plan = read(&req, &cache).unwrap();
    assert_eq!(plan.relation().name, "films");
    assert_eq!(plan.tree.items, vec![plain(column(&cache, "films", "title")), plain(column(&cache, "films", "id"))]);
    assert!(plan.tree.embeds.is_empty());
    assert_eq!(plan.tree.conditions, vec![]);
    assert_eq!(plan.tree.order, vec![]);
    assert_eq!((plan.tree.limit, plan.tree.offset), (None, 0));
    assert_eq!(
        (plan.range, plan.count, plan.media, plan.headers_only),
        (RowRange::ALL, CountPlan::None, MediaType::Json, false)
    );
    assert_eq!(plan.tree.output_names(), vec!["title", "id"]);
}

#[test]
fn no_select_is_star_and_names_every_column() {
    let cache = cache();
    let req = get("/people");
    let plan = read(&req, &cache).unwrap();
    assert_eq!(plan.tree.items, vec![OutputColumn::Star]);
    assert_eq!(plan.tree.output_names(), vec!["id", "name"]);
}

#[test]
fn aliases_casts_and_json_paths() {
    let cache = cache();
    let req = get("/films?select=t:title,year::text,data->>rating,n:data->cast->0,y:year::INT8");
    let plan = read(&req, &cache).unwrap();
    let (title, year, data) =
        (column(&cache, "films", "title"), column(&cache, "films", "year"), column(&cache, "films", "data"));
    assert_eq!(
        plan.tree.items,
        vec![
            OutputColumn::Column {
                target: ColumnRef { column: title, json_path: &[] },
                cast: None,
                name: "t",
                renamed: true
            },
            OutputColumn::Column {
                target: ColumnRef { column: year, json_path: &[] },
                cast: Some("text"),
                name: "year",
                renamed: false
            },
            OutputColumn::Column {
                target: ColumnRef { column: data, json_path: &[JsonStep::DoubleArrow(JsonKey::Key("rating".into()))] },
                cast: None,
                name: "rating",
                renamed: true
            },
            OutputColumn::Column {
                target: ColumnRef {
                    column: data,
                    json_path: &[
                        JsonStep::Arrow(JsonKey::Key("cast".into())),
                        JsonStep::Arrow(JsonKey::Index("0".into()))
                    ]
                },
                cast: None,
                name: "n",
                renamed: true
            },
            OutputColumn::Column {
                target: ColumnRef { column: year, json_path: &[] },
                cast: Some("bigint"),
                name: "y",
                renamed: true
            },
        ]
    );
    assert_eq!(plan.tree.output_names(), vec!["t", "year", "rating", "n", "y"]);
}

#[test]
fn a_cast_outside_the_list_is_pgrst100() {
    let e = read_error("/films?select=id::regclass");
    assert_eq!(e, PlanError::UnsupportedCast("regclass".into()));
    assert_eq!((e.status(), e.code().as_ref()), (400, "PGRST100"));
    assert_eq!(
        read_error("/films?select=n:year.sum()::pg_catalog.oid"),
        PlanError::UnsupportedCast("pg_catalog.oid".into())
    );
}

#[test]
fn a_nul_byte_in_an_output_name_is_rejected() {
    assert_eq!(read_error("/films?select=\"a%00b\":id"), PlanError::InvalidName);
    assert_eq!(read_error("/films?select=data->\"k%00\""), PlanError::InvalidName);
}

#[test]
fn unknown_table_is_pgrst205_with_the_closest_name_as_hint() {
    let e = read_error("/film");
    assert_eq!(
        e,
        PlanError::RelationNotFound {
            schema: "api".into(),
            name: "film".into(),
            hint: Some("Perhaps you meant the table 'api.films'".into())
        }
    );
    assert_eq!((e.status(), e.code().as_ref()), (404, "PGRST205"));
    assert_eq!(e.hint().as_deref(), Some("Perhaps you meant the table 'api.films'"));
    assert_eq!(e.to_string(), "Could not find the table 'api.film' in the schema cache");
    // Nothing close: no hint.
    assert_eq!(
        read_error("/zzz"),
        PlanError::RelationNotFound { schema: "api".into(), name: "zzz".into(), hint: None }
    );
    // The profile picks the schema searched.
    let cache = cache();
    let req = parse("GET", "/films", &[("accept-profile", "v2")], "");
    assert_eq!(
        read(&req, &cache).unwrap_err(),
        PlanError::RelationNotFound { schema: "v2".into(), name: "films".into(), hint: None }
    );
}

#[test]
fn unknown_column_is_42703_wherever_it_is_named() {
    let expected = PlanError::ColumnNotFound { relation: "films".into(), column: "nope".into() };
    for uri in [
        "/films?select=id,nope",
        "/films?select=nope->a",
        "/films?nope=eq.1",
        "/films?or=(id.eq.1,nope.eq.2)",
        "/films?order=id,nope.desc",
        "/films?select=nope.sum()",
    ] {
        assert_eq!(read_error(uri), expected, "{uri}");
    }
    assert_eq!((expected.status(), expected.code().as_ref()), (400, "42703"));
    assert_eq!(expected.to_string(), "column films.nope does not exist");
    // Inside an embed, the embedded relation is named.
    assert_eq!(
        read_error("/films?select=id,studios(nope)"),
        PlanError::ColumnNotFound { relation: "studios".into(), column: "nope".into() }
    );
}

#[test]
fn filters_and_logic_trees_keep_their_order() {
    let cache = cache();
    let req = get("/films?year=gt.2000&or=(title.eq.a,title.not.is.null)&title=not.like.*x*");
    let plan = read(&req, &cache).unwrap();
    let (year, title) = (column(&cache, "films", "year"), column(&cache, "films", "title"));
    let target = |column| ColumnRef { column, json_path: &[] };
    assert_eq!(
        plan.tree.conditions,
        vec![
            PlannedCondition::Filter {
                target: target(year),
                negated: false,
                operation: &compare(Operator::Gt, "2000")
            },
            PlannedCondition::Group {
                op: LogicOp::Or,
                negated: false,
                children: vec![
                    PlannedCondition::Filter {
                        target: target(title),
                        negated: false,
                        operation: &compare(Operator::Eq, "a")
                    },
                    PlannedCondition::Filter {
                        target: target(title),
                        negated: true,
                        operation: &Operation::Is(IsValue::Null)
                    },
                ]
            },
            PlannedCondition::Filter {
                target: target(title),
                negated: true,
                operation: &compare(Operator::Like, "*x*")
            },
        ]
    );
}

#[test]
fn order_terms_resolve_with_direction_and_nulls() {
    let cache = cache();
    let req = get("/films?order=year.desc.nullslast,title");
    let plan = read(&req, &cache).unwrap();
    let term = |name: &str, direction, nulls| OrderTerm { relation: None, field: Field::plain(name), direction, nulls };
    assert_eq!(
        plan.tree.order,
        vec![
            PlannedOrder {
                target: ColumnRef { column: column(&cache, "films", "year"), json_path: &[] },
                term: &term("year", Some(Direction::Desc), Some(Nulls::Last)),
                embed: None
            },
            PlannedOrder {
                target: ColumnRef { column: column(&cache, "films", "title"), json_path: &[] },
                term: &term("title", None, None),
                embed: None
            },
        ]
    );
}

#[test]
fn range_count_and_media_come_from_the_request() {
    let cache = cache();
    let req = parse(
        "GET",
        "/films?limit=5&offset=10",
        &[("prefer", "count=exact"), ("accept", "application/vnd.pgrst.object+json")],
        "",
    );
    let plan = read(&req, &cache).unwrap();
    assert_eq!(plan.range, RowRange { offset: 10, limit: Some(5) });
    assert_eq!(plan.count, CountPlan::Exact);
    assert_eq!(plan.media, MediaType::SingleObject { strip_nulls: false });
    // The root's page is the request's range, not the tree's.
    assert_eq!((plan.tree.limit, plan.tree.offset), (None, 0));

    // ROWGATE_DB_MAX_ROWS caps the page; an estimated count is exact up to it.
    let req = parse("GET", "/films?limit=50", &[("prefer", "count=estimated")], "");
    let plan = plan_read(&req, "films", &cache, Some(20)).unwrap();
    assert_eq!(
        (plan.range, plan.count),
        (RowRange { offset: 0, limit: Some(20) }, CountPlan::Estimated { max_rows: 20 })
    );
    let plan = plan_read(&req, "films", &cache, None).unwrap();
    assert_eq!((plan.range, plan.count), (RowRange { offset: 0, limit: Some(50) }, CountPlan::Exact));
    let req = parse("HEAD", "/films", &[("prefer", "count=planned")], "");
    let plan = plan_read(&req, "films", &cache, Some(20)).unwrap();
    assert_eq!(
        (plan.range, plan.count, plan.headers_only),
        (RowRange { offset: 0, limit: Some(20) }, CountPlan::Planned, true)
    );
}

#[test]
fn aggregates_group_by_the_other_outputs_and_can_be_disabled() {
    let cache = cache();
    let req = get("/films?select=studio_id,total:year.sum(),count()");
    assert_eq!(check_aggregates(&req.query.select, false), Err(PlanError::AggregatesDisabled));
    assert_eq!(check_aggregates(&req.query.select, true), Ok(()));
    assert_eq!(check_aggregates(&get("/films?select=id").query.select, false), Ok(()));
    assert_eq!(
        check_aggregates(&get("/films?select=id,studios(n:id.count())").query.select, false),
        Err(PlanError::AggregatesDisabled)
    );
    let plan = read(&req, &cache).unwrap();
    assert!(plan.tree.has_aggregates());
    assert_eq!(
        plan.tree.items,
        vec![
            plain(column(&cache, "films", "studio_id")),
            OutputColumn::Aggregate {
                func: AggregateFn::Sum,
                target: Some(ColumnRef { column: column(&cache, "films", "year"), json_path: &[] }),
                cast: None,
                name: "total"
            },
            OutputColumn::Aggregate { func: AggregateFn::Count, target: None, cast: None, name: "count" },
        ]
    );
    assert_eq!(plan.tree.output_names(), vec!["studio_id", "total", "count"]);
}

#[test]
fn parameters_for_an_embed_not_selected_are_pgrst108() {
    let e = read_error("/films?select=id&studios.name=eq.x");
    assert_eq!(e, PlanError::NotEmbedded("studios".into()));
    assert_eq!((e.status(), e.code().as_ref()), (400, "PGRST108"));
    assert_eq!(e.hint().as_deref(), Some("Verify that the resource is included in the 'select' query parameter."));
    assert_eq!(read_error("/films?select=id&studios.order=name"), PlanError::NotEmbedded("studios".into()));
    assert_eq!(read_error("/films?select=id&studios.limit=1"), PlanError::NotEmbedded("studios".into()));
    assert_eq!(
        read_error("/films?select=id,roles(character)&roles.actors.offset=1"),
        PlanError::NotEmbedded("roles.actors".into())
    );
    // A related order names an embed of its level.
    assert_eq!(read_error("/films?select=id&order=studios(name)"), PlanError::NotEmbedded("studios".into()));
}

#[test]
fn related_order_follows_a_to_one_embed_only() {
    let cache = cache();
    let req = get("/films?select=id,studios(name)&order=studios(name).desc");
    let plan = read(&req, &cache).unwrap();
    let term = OrderTerm {
        relation: Some("studios".into()),
        field: Field::plain("name"),
        direction: Some(Direction::Desc),
        nulls: None,
    };
    assert_eq!(
        plan.tree.order,
        vec![PlannedOrder {
            target: ColumnRef { column: column(&cache, "studios", "name"), json_path: &[] },
            term: &term,
            embed: Some(0)
        }]
    );

    let e = read_error("/films?select=id,roles(character)&order=roles(character)");
    assert_eq!(e, PlanError::RelatedOrderNotToOne { origin: "films".into(), target: "roles".into() });
    assert_eq!((e.status(), e.code().as_ref()), (400, "PGRST118"));
    assert_eq!(e.details(), Some("'films' and 'roles' do not form a many-to-one or one-to-one relationship".into()));
}

#[test]
fn filters_on_an_embed_are_is_null_or_not_is_null_only() {
    let cache = cache();
    for (uri, negated) in [
        ("/films?select=id,studios(name)&studios=is.null", true),
        ("/films?select=id,studios(name)&studios=not.is.null", false),
        ("/films?select=id,studios(name)&studios=not.is.not_null", true),
    ] {
        let req = get(uri);
        let plan = read(&req, &cache).unwrap();
        assert_eq!(plan.tree.conditions, vec![PlannedCondition::Exists { embed: 0, negated }], "{uri}");
    }
    for uri in [
        "/films?select=id,studios(name)&studios=eq.1",
        "/films?select=id,studios(name)&studios=is.true",
        "/films?select=id,studios(name)&or=(id.eq.1,studios.gt.2)",
    ] {
        let e = read_error(uri);
        assert_eq!(e, PlanError::UnacceptableEmbedFilter("studios".into()), "{uri}");
        assert_eq!((e.status(), e.code().as_ref()), (400, "PGRST120"));
    }
    // A JSON path makes it a column filter again, and `studios` is no column of films.
    assert_eq!(
        read_error("/films?select=id,studios(name)&studios->>a=eq.1"),
        PlanError::ColumnNotFound { relation: "films".into(), column: "studios".into() }
    );
}

#[test]
fn an_embed_level_takes_its_own_filters_order_and_page() {
    let cache = cache();
    let req = get("/studios?select=name,films(title)&films.year=gte.1990&films.order=year.desc&films.limit=2&films.offset=1&limit=9");
    let plan = read(&req, &cache).unwrap();
    let child = &plan.tree.embeds[0].child;
    assert_eq!(
        child.conditions,
        vec![PlannedCondition::Filter {
            target: ColumnRef { column: column(&cache, "films", "year"), json_path: &[] },
            negated: false,
            operation: &compare(Operator::Gte, "1990")
        }]
    );
    assert_eq!(child.order.len(), 1);
    assert_eq!(child.order[0].target.column, column(&cache, "films", "year"));
    assert_eq!((child.limit, child.offset), (Some(2), 1));
    assert_eq!(plan.tree.conditions, vec![]);
    assert_eq!(plan.range, RowRange { offset: 0, limit: Some(9) });
}

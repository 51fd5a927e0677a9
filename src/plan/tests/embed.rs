//! Embeds: which relationship an embed means (many-to-one, one-to-many, many-to-many through a
//! junction), hints, `!inner`, spreads, empty embeds, nesting; PGRST200 and PGRST201.

use serde_json::json;

use crate::error::ClientError;
use crate::plan::{OutputColumn, PlanError, PlannedCondition};
use crate::schema::Cardinality;

use super::*;

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

#[test]
fn many_to_one() {
    let cache = cache();
    let req = get("/films?select=title,studios(name)");
    let plan = read(&req, &cache).unwrap();
    assert_eq!(plan.tree.items, vec![plain(column(&cache, "films", "title")), OutputColumn::Embed(0)]);
    assert_eq!(plan.tree.embeds.len(), 1);
    let e = &plan.tree.embeds[0];
    assert_eq!((e.id, e.name, e.spread, e.empty), (1, "studios", false, false));
    assert_eq!(e.rel.constraint, "films_studio_fk");
    assert_eq!(e.rel.cardinality, Cardinality::ManyToOne);
    assert_eq!(e.rel.columns, pairs(&[("studio_id", "id")]));
    assert!(e.junction.is_none());
    assert_eq!(e.child.relation.name, "studios");
    assert_eq!(e.child.items, vec![plain(column(&cache, "studios", "name"))]);
    assert_eq!(plan.tree.output_names(), vec!["title", "studios"]);
}

#[test]
fn one_to_many() {
    let cache = cache();
    let req = get("/studios?select=name,films(title,year)");
    let plan = read(&req, &cache).unwrap();
    let e = &plan.tree.embeds[0];
    assert_eq!((e.id, e.name), (1, "films"));
    assert_eq!(e.rel.constraint, "films_studio_fk");
    assert_eq!(e.rel.cardinality, Cardinality::OneToMany);
    assert_eq!(e.rel.columns, pairs(&[("id", "studio_id")]));
    assert!(e.junction.is_none());
    assert_eq!(e.child.items, vec![plain(column(&cache, "films", "title")), plain(column(&cache, "films", "year"))]);
}

#[test]
fn many_to_many_through_the_junction() {
    let cache = cache();
    let req = get("/films?select=title,actors(name)");
    let plan = read(&req, &cache).unwrap();
    let e = &plan.tree.embeds[0];
    assert_eq!(e.rel.cardinality, Cardinality::ManyToMany);
    assert_eq!(e.rel.constraint, "roles_actor_fk");
    assert_eq!(e.junction.map(|j| j.name.as_str()), Some("roles"));
    let j = e.rel.junction.as_ref().unwrap();
    assert_eq!((j.source_fk.as_str(), j.target_fk.as_str()), ("roles_film_fk", "roles_actor_fk"));
    assert_eq!(j.source_columns, pairs(&[("id", "film_id")]));
    assert_eq!(j.target_columns, pairs(&[("id", "actor_id")]));
    assert_eq!(e.child.relation.name, "actors");
    // The junction itself is still a one-to-many of films.
    let req = get("/films?select=roles(character)");
    let plan = read(&req, &cache).unwrap();
    assert_eq!(plan.tree.embeds[0].rel.cardinality, Cardinality::OneToMany);
    assert_eq!(plan.tree.embeds[0].rel.constraint, "roles_film_fk");
}

#[test]
fn two_foreign_keys_to_one_table_are_pgrst201_with_every_candidate() {
    let e = read_error("/films?select=title,people(name)");
    assert_eq!(
        e,
        PlanError::AmbiguousRelationship {
            parent: "films".into(),
            child: "people".into(),
            details: vec![
                json!({"cardinality": "many-to-one", "embedding": "films with people",
                       "relationship": "films_director_fk using films(director_id) and people(id)"}),
                json!({"cardinality": "many-to-one", "embedding": "films with people",
                       "relationship": "films_writer_fk using films(writer_id) and people(id)"}),
            ],
            hint:
                "Try changing 'people' to one of the following: 'people!films_director_fk', 'people!films_writer_fk'. \
                   Find the desired relationship in the 'details' key."
                    .into(),
        }
    );
    assert_eq!((e.status(), e.code().as_ref()), (300, "PGRST201"));
    assert_eq!(e.to_string(), "Could not embed because more than one relationship was found for 'films' and 'people'");
    // From the other side: one-to-many, the same constraints.
    let e = read_error("/people?select=films(title)");
    let PlanError::AmbiguousRelationship { details, hint, .. } = e else { panic!("{e:?}") };
    assert_eq!(
        details,
        vec![
            json!({"cardinality": "one-to-many", "embedding": "people with films",
                   "relationship": "films_director_fk using people(id) and films(director_id)"}),
            json!({"cardinality": "one-to-many", "embedding": "people with films",
                   "relationship": "films_writer_fk using people(id) and films(writer_id)"}),
        ]
    );
    assert_eq!(
        hint,
        "Try changing 'films' to one of the following: 'films!films_director_fk', 'films!films_writer_fk'. \
         Find the desired relationship in the 'details' key."
    );
}

#[test]
fn hints_pick_one_relationship() {
    let cache = cache();
    for (uri, constraint, cardinality) in [
        ("/films?select=people!films_director_fk(name)", "films_director_fk", Cardinality::ManyToOne),
        ("/films?select=people!writer_id(name)", "films_writer_fk", Cardinality::ManyToOne),
        ("/people?select=films!films_writer_fk(title)", "films_writer_fk", Cardinality::OneToMany),
        ("/people?select=films!director_id(title)", "films_director_fk", Cardinality::OneToMany),
        ("/films?select=actors!roles(name)", "roles_actor_fk", Cardinality::ManyToMany),
    ] {
        let req = get(uri);
        let plan = read(&req, &cache).unwrap();
        let e = &plan.tree.embeds[0];
        assert_eq!((e.rel.constraint.as_str(), e.rel.cardinality), (constraint, cardinality), "{uri}");
    }
    // Aliases tell two embeds of one table apart; ids number embeds in select order.
    let req = get("/films?select=d:people!films_director_fk(name),w:people!films_writer_fk(name)");
    let plan = read(&req, &cache).unwrap();
    let got: Vec<_> = plan.tree.embeds.iter().map(|e| (e.id, e.name, e.rel.constraint.as_str())).collect();
    assert_eq!(got, vec![(1, "d", "films_director_fk"), (2, "w", "films_writer_fk")]);
    assert_eq!(plan.tree.items, vec![OutputColumn::Embed(0), OutputColumn::Embed(1)]);
    assert_eq!(plan.tree.output_names(), vec!["d", "w"]);
}

#[test]
fn no_relationship_is_pgrst200() {
    let not_found =
        |parent: &str, child: &str, embed_hint: Option<&str>, hint: Option<&str>| PlanError::RelationshipNotFound {
            parent: parent.into(),
            child: child.into(),
            schema: "api".into(),
            embed_hint: embed_hint.map(Into::into),
            hint: hint.map(Into::into),
        };
    let e = read_error("/films?select=id,nope(*)");
    assert_eq!(e, not_found("films", "nope", None, None));
    assert_eq!((e.status(), e.code().as_ref()), (400, "PGRST200"));
    assert_eq!(
        e.details(),
        Some(
            "Searched for a foreign key relationship between 'films' and 'nope' in the schema 'api', but no matches were found."
                .into()
        )
    );
    // A near miss of a related table's name is suggested.
    let e = read_error("/films?select=id,studio(*)");
    assert_eq!(e, not_found("films", "studio", None, Some("Perhaps you meant 'studios' instead of 'studio'.")));
    assert_eq!(e.hint().as_deref(), Some("Perhaps you meant 'studios' instead of 'studio'."));
    // A table with no foreign key to it, and a hint that matches no candidate.
    assert_eq!(read_error("/studios?select=people(name)"), not_found("studios", "people", None, None));
    let e = read_error("/films?select=people!bogus(name)");
    assert_eq!(e, not_found("films", "people", Some("bogus"), None));
    assert_eq!(
        e.details(),
        Some(
            "Searched for a foreign key relationship between 'films' and 'people' using the hint 'bogus' in the schema 'api', but no matches were found."
                .into()
        )
    );
    // A parent related to nothing: a near name of one that is.
    let e = read_error("/feed?select=films(*)");
    assert_eq!(e, not_found("feed", "films", None, None));
}

#[test]
fn constraint_names_and_columns_are_targets_too() {
    let cache = cache();
    for (uri, constraint, cardinality) in [
        ("/films?select=films_director_fk(name)", "films_director_fk", Cardinality::ManyToOne),
        ("/films?select=director_id(name)", "films_director_fk", Cardinality::ManyToOne),
        ("/films?select=writer:writer_id(name)", "films_writer_fk", Cardinality::ManyToOne),
        ("/people?select=films_writer_fk(title)", "films_writer_fk", Cardinality::OneToMany),
    ] {
        let req = get(uri);
        let plan = read(&req, &cache).unwrap_or_else(|e| panic!("{uri}: {e:?}"));
        let e = &plan.tree.embeds[0];
        assert_eq!((e.rel.constraint.as_str(), e.rel.cardinality), (constraint, cardinality), "{uri}");
        assert_eq!(e.child.relation.name, if cardinality == Cardinality::ManyToOne { "people" } else { "films" });
    }
    // The output key is the name as written.
    let req = get("/films?select=director_id(name)");
    let plan = read(&req, &cache).unwrap();
    assert_eq!(plan.tree.output_names(), vec!["director_id"]);
    // A column of the parent's key names every one-to-many through it: ambiguous here.
    let e = read_error("/people?select=id(title)");
    assert!(matches!(&e, PlanError::AmbiguousRelationship { details, .. } if details.len() == 2), "{e:?}");
}

#[test]
fn self_references_follow_postgrest() {
    let cache = cache();
    for (uri, cardinality) in [
        // The table's own name: the one-to-many side (the reports).
        ("/employees?select=employees(name)", Cardinality::OneToMany),
        // The key column: the many-to-one side (the manager).
        ("/employees?select=manager_id(name)", Cardinality::ManyToOne),
        // A hint naming the referencing column (or the constraint): one-to-many.
        ("/employees?select=employees!manager_id(name)", Cardinality::OneToMany),
        ("/employees?select=employees!employees_manager_fk(name)", Cardinality::OneToMany),
    ] {
        let req = get(uri);
        let plan = read(&req, &cache).unwrap_or_else(|e| panic!("{uri}: {e:?}"));
        let e = &plan.tree.embeds[0];
        assert_eq!((e.rel.constraint.as_str(), e.rel.cardinality), ("employees_manager_fk", cardinality), "{uri}");
        assert!(e.rel.function.is_none());
    }
}

#[test]
fn computed_relationships_embed_by_function_name() {
    let cache = cache();
    let req = get("/employees?select=name,boss(name,boss(name)),reports(name)");
    let plan = read(&req, &cache).unwrap();
    let boss = &plan.tree.embeds[0];
    assert_eq!(boss.rel.function, Some(("api".to_string(), "boss".to_string())));
    assert_eq!(boss.rel.cardinality, Cardinality::ManyToOne);
    assert_eq!(boss.child.relation.name, "employees");
    // Two levels deep.
    assert_eq!(boss.child.embeds[0].rel.function, Some(("api".to_string(), "boss".to_string())));
    let reports = &plan.tree.embeds[1];
    assert_eq!(reports.rel.cardinality, Cardinality::OneToMany);
    assert_eq!(plan.tree.output_names(), vec!["name", "boss", "reports"]);
    // A computed relationship named after a related table replaces the foreign key's.
    let req = get("/awards?select=films(title)");
    let plan = read(&req, &cache).unwrap();
    assert_eq!(plan.tree.embeds[0].rel.function, Some(("api".to_string(), "films".to_string())));
    assert!(cache.relationships_from("api", "awards").iter().all(|r| r.function.is_some()));
}

#[test]
fn computed_fields_select_filter_and_order() {
    let cache = cache();
    let req = get("/films?select=id,l:label::text&label=fts.x&order=label.desc");
    let plan = read(&req, &cache).unwrap();
    let label = relation(&cache, "films").field("label").unwrap();
    assert_eq!(label.computed.as_ref().map(|c| c.function_schema.as_str()), Some("api"));
    let OutputColumn::Column { target, name, cast, .. } = &plan.tree.items[1] else { panic!() };
    assert_eq!((target.column, *name, *cast), (label, "l", Some("text")));
    assert_eq!(plan.tree.conditions.len(), 1);
    assert_eq!(plan.tree.order[0].target.column, label);
    // Not part of `*`, and never a payload column.
    assert!(relation(&cache, "films").column("label").is_none());
    // A computed field of another relation's rows is no column here.
    assert_eq!(
        read_error("/people?select=label"),
        PlanError::ColumnNotFound { relation: "people".into(), column: "label".into() }
    );
}

#[test]
fn bare_count_is_the_row_count() {
    let cache = cache();
    let req = get("/studios?select=name,films(count)");
    let plan = read(&req, &cache).unwrap();
    assert_eq!(
        plan.tree.embeds[0].child.items,
        vec![OutputColumn::Aggregate {
            func: crate::request::ast::AggregateFn::Count,
            target: None,
            cast: None,
            name: "count"
        }]
    );
    let req = get("/films?select=n:count");
    let plan = read(&req, &cache).unwrap();
    assert!(matches!(plan.tree.items[0], OutputColumn::Aggregate { target: None, name: "n", .. }));
}

#[test]
fn inner_join_filters_the_parent_by_existence() {
    let cache = cache();
    let req = get("/films?select=title,studios!inner(name)&studios.name=eq.x");
    let plan = read(&req, &cache).unwrap();
    assert_eq!(plan.tree.conditions, vec![PlannedCondition::Exists { embed: 0, negated: false }]);
    assert_eq!(plan.tree.embeds[0].child.conditions.len(), 1);
    // With a hint too.
    let req = get("/films?select=title,people!films_writer_fk!inner(name)");
    let plan = read(&req, &cache).unwrap();
    assert_eq!(plan.tree.embeds[0].rel.constraint, "films_writer_fk");
    assert_eq!(plan.tree.conditions, vec![PlannedCondition::Exists { embed: 0, negated: false }]);
}

#[test]
fn spreads_lift_the_child_columns() {
    let cache = cache();
    let req = get("/films?select=title,...studios(studio:name,id)");
    let plan = read(&req, &cache).unwrap();
    let e = &plan.tree.embeds[0];
    assert!(e.spread);
    assert_eq!(e.rel.cardinality, Cardinality::ManyToOne);
    assert_eq!(plan.tree.output_names(), vec!["title", "studio", "id"]);
    // A to-many spread may not hold embeds of its own.
    assert_eq!(
        read_error("/studios?select=name,...films(title,studios(name))"),
        PlanError::NotImplemented("embedding inside a to-many spread".into())
    );
    let e = read_error("/studios?select=name,...films(title,studios(name))");
    assert_eq!((e.status(), e.code().as_ref()), (400, "PGRST127"));
    assert_eq!(e.details(), Some("embedding inside a to-many spread".into()));
    // An empty embed inside it only filters.
    let req = get("/studios?select=name,...films(title,people!films_director_fk())");
    assert_eq!(read(&req, &cache).unwrap().tree.output_names(), vec!["name", "title"]);
}

#[test]
fn an_empty_embed_filters_but_adds_no_key() {
    let cache = cache();
    let req = get("/films?select=title,studios()&studios=not.is.null");
    let plan = read(&req, &cache).unwrap();
    assert!(plan.tree.embeds[0].empty);
    assert_eq!(plan.tree.items, vec![plain(column(&cache, "films", "title")), OutputColumn::Embed(0)]);
    assert_eq!(plan.tree.conditions, vec![PlannedCondition::Exists { embed: 0, negated: false }]);
    assert_eq!(plan.tree.output_names(), vec!["title"]);
}

#[test]
fn nested_embeds_number_depth_first_and_take_their_paths_parameters() {
    let cache = cache();
    let req =
        get("/studios?select=name,films(title,actors(name),people!films_director_fk(name))&films.actors.name=like.A*");
    let plan = read(&req, &cache).unwrap();
    let films = &plan.tree.embeds[0];
    let got: Vec<_> = films.child.embeds.iter().map(|e| (e.id, e.name, e.child.relation.name.as_str())).collect();
    assert_eq!((films.id, got), (1, vec![(2, "actors", "actors"), (3, "people", "people")]));
    assert_eq!(films.child.conditions, vec![]);
    let actors = &films.child.embeds[0].child;
    assert_eq!(actors.conditions.len(), 1);
    let PlannedCondition::Filter { target, negated: false, .. } = &actors.conditions[0] else { panic!() };
    assert_eq!(target.column, column(&cache, "actors", "name"));
    assert_eq!(films.child.embeds[1].child.conditions, vec![]);
}

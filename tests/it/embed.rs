//! Resource embedding.

use serde_json::json;

use crate::harness::*;

async fn ok(g: &Gateway, path: &str) -> serde_json::Value {
    let r = g.get(path).await;
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    r.json()
}

#[tokio::test]
async fn many_to_one_is_an_object_or_null() {
    let g = Gateway::start().await;
    let v = ok(&g, "/films?select=title,directors(last_name)&order=id").await;
    assert_eq!(v[0], json!({"title": "Lost in Translation", "directors": {"last_name": "Coppola"}}));
    assert_eq!(v[3], json!({"title": "Orphan Film", "directors": null}));
    let v = ok(&g, "/films?select=title,director:directors(*)&id=eq.3").await;
    assert_eq!(
        v,
        json!([{"title": "Seven Samurai", "director": {"id": 2, "first_name": "Akira", "last_name": "Kurosawa"}}])
    );
}

#[tokio::test]
async fn one_to_many_is_an_array_empty_when_none() {
    let g = Gateway::start().await;
    let v = ok(&g, "/directors?select=last_name,films(title)&order=id&films.order=year").await;
    assert_eq!(
        v[0],
        json!({"last_name": "Coppola", "films": [{"title": "The Virgin Suicides"}, {"title": "Lost in Translation"}]})
    );
    assert_eq!(v[2], json!({"last_name": "Unknown", "films": []}));
}

#[tokio::test]
async fn one_to_one_both_ways_is_an_object() {
    let g = Gateway::start().await;
    let v = ok(&g, "/films?select=id,technical_specs(runtime)&order=id").await;
    assert_eq!(v[0], json!({"id": 1, "technical_specs": {"runtime": 102}}));
    assert_eq!(v[1], json!({"id": 2, "technical_specs": null}));
    let v = ok(&g, "/technical_specs?select=runtime,films(title)&film_id=eq.3").await;
    assert_eq!(v, json!([{"runtime": 207, "films": {"title": "Seven Samurai"}}]));
}

#[tokio::test]
async fn many_to_many_through_a_junction() {
    let g = Gateway::start().await;
    let v = ok(&g, "/films?select=title,actors(name)&id=in.(1,2)&order=id&actors.order=name").await;
    assert_eq!(
        v,
        json!([
            {"title": "Lost in Translation", "actors": [{"name": "Bill Murray"}, {"name": "Scarlett Johansson"}]},
            {"title": "The Virgin Suicides", "actors": []}
        ])
    );
    let v = ok(&g, "/actors?select=name,films(title)&id=eq.3").await;
    assert_eq!(v, json!([{"name": "Toshiro Mifune", "films": [{"title": "Seven Samurai"}]}]));
    // The junction itself still embeds both sides as many-to-one.
    let v = ok(&g, "/roles?select=character,films(title),actors(name)&film_id=eq.3").await;
    assert_eq!(
        v,
        json!([{"character": "Kikuchiyo", "films": {"title": "Seven Samurai"}, "actors": {"name": "Toshiro Mifune"}}])
    );
}

#[tokio::test]
async fn composite_foreign_keys_join_on_every_column() {
    let g = Gateway::start().await;
    let v = ok(&g, "/cards?select=name,boards(name)&order=org_id,id").await;
    assert_eq!(
        v,
        json!([
            {"name": "t org1", "boards": {"name": "p1 of org1"}},
            {"name": "t org2", "boards": {"name": "p1 of org2"}},
            {"name": "t2 org2", "boards": {"name": "p1 of org2"}}
        ])
    );
    let v = ok(&g, "/boards?select=name,cards(name)&org_id=eq.1").await;
    assert_eq!(v, json!([{"name": "p1 of org1", "cards": [{"name": "t org1"}]}]));
}

#[tokio::test]
async fn self_references_pick_a_direction_as_postgrest() {
    let g = Gateway::start().await;
    // The table's own name is the one-to-many side; the key column the many-to-one side.
    let v = ok(&g, "/employees?select=name,employees(name)&id=eq.1&employees.order=id").await;
    assert_eq!(v, json!([{"name": "Boss", "employees": [{"name": "Mid"}, {"name": "Other"}]}]));
    let v = ok(&g, "/employees?select=name,manager:manager_id(name)&id=eq.3").await;
    assert_eq!(v, json!([{"name": "Junior", "manager": {"name": "Mid"}}]));
    // A hint (the referencing column, or the constraint) picks the one-to-many side.
    let v = ok(&g, "/employees?select=name,reports:employees!employees_manager_id_fkey(name)&id=eq.1&reports.order=id")
        .await;
    assert_eq!(v, json!([{"name": "Boss", "reports": [{"name": "Mid"}, {"name": "Other"}]}]));
    let v = ok(&g, "/employees?select=name,reports:employees!manager_id(name)&id=eq.2").await;
    assert_eq!(v, json!([{"name": "Mid", "reports": [{"name": "Junior"}]}]));
}

#[tokio::test]
async fn ambiguity_is_300_with_candidates_and_hints_resolve_it() {
    let g = Gateway::start().await;
    let r = g.get("/messages?select=body,users(name)").await;
    assert_eq!((r.status, r.code()), (300, "PGRST201".to_string()), "{}", r.body);
    let body = r.json();
    assert_eq!(body["details"].as_array().unwrap().len(), 2);
    assert_eq!(body["details"][0]["cardinality"], "many-to-one");
    assert!(body["hint"].as_str().unwrap().contains("'users!messages_"), "{}", body["hint"]);
    let v =
        ok(&g, "/messages?select=body,sender:users!sender_id(name),receiver:users!messages_receiver_fk(name)&id=eq.1")
            .await;
    assert_eq!(v, json!([{"body": "hi", "sender": {"name": "ann"}, "receiver": {"name": "ben"}}]));
}

#[tokio::test]
async fn no_relationship_is_pgrst200() {
    let g = Gateway::start().await;
    let r = g.get("/items?select=id,films(title)").await;
    assert_eq!((r.status, r.code()), (400, "PGRST200".to_string()), "{}", r.body);
    assert_eq!(r.json()["message"], "Could not find a relationship between 'items' and 'films' in the schema cache");
    let r = g.get("/films?select=title,directors!nosuchfk(last_name)").await;
    assert_eq!(r.code(), "PGRST200");
}

#[tokio::test]
async fn inner_joins_and_null_filters_on_embeds() {
    let g = Gateway::start().await;
    let v = ok(&g, "/directors?select=last_name,films!inner(title)&films.year=gt.2000&order=id").await;
    assert_eq!(v, json!([{"last_name": "Coppola", "films": [{"title": "Lost in Translation"}]}]));
    // Semi and anti joins with an empty embed.
    let v = ok(&g, "/directors?select=last_name,films()&films=not.is.null&order=id").await;
    assert_eq!(v, json!([{"last_name": "Coppola"}, {"last_name": "Kurosawa"}]));
    let v = ok(&g, "/directors?select=last_name,films()&films=is.null").await;
    assert_eq!(v, json!([{"last_name": "Unknown"}]));
    let v = ok(&g, "/films?select=id,directors()&directors=is.null").await;
    assert_eq!(v, json!([{"id": 4}]));
    // In logic trees.
    let v = ok(
        &g,
        "/films?select=id,technical_specs(),roles()&or=(technical_specs.not.is.null,roles.not.is.null)&order=id",
    )
    .await;
    assert_eq!(v, json!([{"id": 1}, {"id": 3}]));
    let r = g.get("/directors?select=last_name,films()&films=eq.1").await;
    assert_eq!((r.status, r.code()), (400, "PGRST120".to_string()));
    // Counting respects the join.
    let r = g.get_with("/directors?select=id,films!inner()&limit=1", &[("prefer", "count=exact")]).await;
    assert_eq!(r.header("content-range"), Some("0-0/2"));
}

#[tokio::test]
async fn spreads_lift_columns_into_the_parent() {
    let g = Gateway::start().await;
    let v = ok(&g, "/films?select=title,...directors(director:last_name)&id=eq.1").await;
    assert_eq!(v, json!([{"title": "Lost in Translation", "director": "Coppola"}]));
    let v = ok(&g, "/directors?select=last_name,...films(title,year)&id=eq.1&films.order=year").await;
    assert_eq!(
        v,
        json!([{"last_name": "Coppola", "title": ["The Virgin Suicides", "Lost in Translation"], "year": [1999, 2003]}])
    );
}

#[tokio::test]
async fn nested_embeds_with_filters_order_limit_offset() {
    let g = Gateway::start().await;
    let v = ok(&g, "/directors?select=last_name,films(title,actors(name))&id=eq.1&films.order=year.desc&films.limit=1&films.actors.order=name.desc").await;
    assert_eq!(
        v,
        json!([{"last_name": "Coppola", "films": [{"title": "Lost in Translation", "actors": [{"name": "Scarlett Johansson"}, {"name": "Bill Murray"}]}]}])
    );
    let v = ok(&g, "/directors?select=id,films(id)&id=eq.1&films.order=id&films.offset=1").await;
    assert_eq!(v, json!([{"id": 1, "films": [{"id": 2}]}]));
    let v = ok(&g, "/directors?select=id,f:films(id)&id=eq.1&f.or=(year.lt.2000,year.gt.2010)").await;
    assert_eq!(v, json!([{"id": 1, "f": [{"id": 2}]}]));
    let v = ok(&g, "/directors?select=id,films(id)&id=eq.1&films.title=like.*Lost*").await;
    assert_eq!(v, json!([{"id": 1, "films": [{"id": 1}]}]));
}

#[tokio::test]
async fn ordering_by_a_to_one_embed() {
    let g = Gateway::start().await;
    let v =
        ok(&g, "/films?select=id,directors(last_name)&directors=not.is.null&order=directors(last_name).desc,id").await;
    let ids: Vec<i64> = v.as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![3, 1, 2]);
    let r = g.get("/directors?select=id,films(title)&order=films(title)").await;
    assert_eq!((r.status, r.code()), (400, "PGRST118".to_string()), "{}", r.body);
}

#[tokio::test]
async fn parameters_for_unselected_embeds_are_pgrst108() {
    let g = Gateway::start().await;
    for path in [
        "/directors?select=id&films.title=eq.x",
        "/directors?select=id&films.order=id",
        "/directors?select=id&films.limit=1",
    ] {
        let r = g.get(path).await;
        assert_eq!((r.status, r.code()), (400, "PGRST108".to_string()), "{path}");
    }
}

#[tokio::test]
async fn views_embed_through_their_base_tables_keys() {
    let g = Gateway::start().await;
    let v = ok(&g, "/film_list?select=title,directors(last_name)&id=eq.3").await;
    assert_eq!(v, json!([{"title": "Seven Samurai", "directors": {"last_name": "Kurosawa"}}]));
    let v = ok(&g, "/directors?select=last_name,film_list(title)&id=eq.2").await;
    assert_eq!(v, json!([{"last_name": "Kurosawa", "film_list": [{"title": "Seven Samurai"}]}]));
}

#[tokio::test]
async fn csv_with_embeds_and_spread_headers() {
    let g = Gateway::start().await;
    let r = g.get_with("/films?select=title,...directors(last_name)&id=eq.3", &[("accept", "text/csv")]).await;
    // Values with spaces are quoted, as in PostgREST's CSV (row text of a composite).
    assert_eq!(r.body, "title,last_name\n\"Seven Samurai\",Kurosawa");
}

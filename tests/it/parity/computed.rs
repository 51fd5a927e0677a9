//! Points 1 and 2: computed fields (`full_name(people)`) selectable with alias and cast, inside
//! `*`-plus lists and embeds, filterable with every operator including `fts`, orderable; computed
//! relationships (`manager`, `reports`) embedded like foreign keys, two levels deep, overriding the
//! foreign key of the same name.

use serde_json::json;

use super::*;

#[tokio::test]
async fn computed_fields_are_selected_with_alias_cast_and_star() {
    let g = Gateway::start().await;
    let v = ok(&g, "/people?select=full_name,job&order=id").await;
    assert_eq!(
        v,
        json!([
            {"full_name": "Samuel Beckett", "job": "novelist"},
            {"full_name": "Virginia Woolf", "job": "novelist"},
            {"full_name": "Miles Davis", "job": "musician"}
        ])
    );
    let v = ok(&g, "/people?select=id,name:full_name,age:age_in::text&id=eq.1").await;
    assert_eq!(v, json!([{"id": 1, "name": "Samuel Beckett", "age": "94"}]));
    // Not part of `*`, added after it.
    let v = ok(&g, "/people?select=*,full_name&id=eq.3").await;
    assert_eq!(
        v,
        json!([{"id": 3, "first_name": "Miles", "last_name": "Davis", "job": "musician", "born": 1926, "full_name": "Miles Davis"}])
    );
    assert!(ok(&g, "/people?id=eq.3").await[0].get("full_name").is_none());
    // JSON output of a row-valued field's text through a cast, and CSV headers.
    let r = g.get_with("/people?select=id,full_name&id=eq.2", &[("accept", "text/csv")]).await;
    assert_eq!(r.body, "id,full_name\n2,\"Virginia Woolf\"");
}

#[tokio::test]
async fn computed_fields_filter_with_every_operator_and_order() {
    let g = Gateway::start().await;
    for (query, ids) in [
        ("full_name=eq.Miles%20Davis", vec![3]),
        ("full_name=neq.Miles%20Davis", vec![1, 2]),
        ("full_name=like.*W*", vec![2]),
        ("full_name=ilike.*davis", vec![3]),
        ("full_name=match.^S", vec![1]),
        ("full_name=in.(Miles%20Davis,Samuel%20Beckett)", vec![1, 3]),
        ("full_name=fts.Beckett", vec![1]),
        ("full_name=plfts.virginia%20woolf", vec![2]),
        ("full_name=wfts(english).samuel", vec![1]),
        ("full_name=not.is.null", vec![1, 2, 3]),
        ("age_in=gt.90", vec![1, 2]),
        ("age_in=lte.74", vec![3]),
        ("age_in=isdistinct.94", vec![2, 3]),
        ("full_name=like(any).{*Davis,*Woolf}", vec![2, 3]),
        ("or=(age_in.gt.100,full_name.eq.Miles%20Davis)", vec![2, 3]),
    ] {
        let r = g.get(&format!("/people?select=id&{query}&order=id")).await;
        assert_eq!(r.status, 200, "{query}: {}", r.body);
        assert_eq!(r.ids(), ids, "{query}");
    }
    let r = g.get("/people?select=id&order=full_name.desc").await;
    assert_eq!(r.ids(), vec![2, 1, 3]);
    let r = g.get("/people?select=id&order=age_in.asc,full_name").await;
    assert_eq!(r.ids(), vec![3, 1, 2]);
}

#[tokio::test]
async fn computed_fields_inside_embeds_and_counted() {
    let g = Gateway::start().await;
    let v = ok(&g, "/employees?select=name,manager(display_name)&id=eq.3").await;
    assert_eq!(v, json!([{"name": "Junior", "manager": {"display_name": "E2:Mid"}}]));
    let r = g.get_with("/people?select=id&full_name=like.*i*&limit=1", &[("prefer", "count=exact")]).await;
    assert_eq!((r.status, r.header("content-range")), (206, Some("0-0/2")));
}

#[tokio::test]
async fn a_computed_field_of_another_type_or_a_badly_typed_value_is_400() {
    let g = Gateway::start().await;
    // `full_name` takes a people row, not a directors one: no such column here.
    let r = g.get("/directors?select=full_name").await;
    assert_eq!(status_code(&r), (400, "42703".into()), "{}", r.body);
    assert_eq!(r.json()["message"], "column directors.full_name does not exist");
    let r = g.get("/directors?full_name=eq.x").await;
    assert_eq!(status_code(&r), (400, "42703".into()));
    // An int field compared with text.
    let r = g.get("/people?age_in=gt.old").await;
    assert_eq!(status_code(&r), (400, "22P02".into()), "{}", r.body);
}

#[tokio::test]
async fn computed_relationships_embed_to_one_and_to_many() {
    let g = Gateway::start().await;
    let v = ok(&g, "/employees?select=name,manager(name)&order=id").await;
    assert_eq!(
        v,
        json!([
            {"name": "Boss", "manager": null},
            {"name": "Mid", "manager": {"name": "Boss"}},
            {"name": "Junior", "manager": {"name": "Mid"}},
            {"name": "Other", "manager": {"name": "Boss"}}
        ])
    );
    let v = ok(&g, "/employees?select=name,reports(name)&id=eq.1&reports.order=id").await;
    assert_eq!(v, json!([{"name": "Boss", "reports": [{"name": "Mid"}, {"name": "Other"}]}]));
    // Two levels deep, both ways.
    let v = ok(&g, "/employees?select=name,manager(name,manager(name))&id=eq.3").await;
    assert_eq!(v, json!([{"name": "Junior", "manager": {"name": "Mid", "manager": {"name": "Boss"}}}]));
    let v = ok(&g, "/employees?select=name,reports(name,reports(name))&id=eq.1&reports.order=id").await;
    assert_eq!(
        v,
        json!([{"name": "Boss", "reports": [{"name": "Mid", "reports": [{"name": "Junior"}]}, {"name": "Other", "reports": []}]}])
    );
    // Aliases, spreads, !inner with a filter, null filters, related order.
    let v = ok(&g, "/employees?select=name,...manager(boss:name)&id=eq.2").await;
    assert_eq!(v, json!([{"name": "Mid", "boss": "Boss"}]));
    let v = ok(&g, "/employees?select=name,staff:reports!inner(name)&staff.name=eq.Junior").await;
    assert_eq!(v, json!([{"name": "Mid", "staff": [{"name": "Junior"}]}]));
    let r = g.get("/employees?select=id,reports()&reports=is.null&order=id").await;
    assert_eq!(r.ids(), vec![3, 4]);
    let r = g.get("/employees?select=id,manager(name)&manager=not.is.null&order=manager(name).desc,id").await;
    assert_eq!(r.ids(), vec![3, 2, 4]);
}

#[tokio::test]
async fn a_computed_relationship_overrides_the_foreign_key_of_its_name() {
    let g = Gateway::start().await;
    // The foreign key would give Olympia (venue_id); the function follows alt_venue_id.
    let v = ok(&g, "/shows?select=title,venues(name)").await;
    assert_eq!(v, json!([{"title": "Opening", "venues": {"name": "Bataclan"}}]));
    // The other direction still uses the foreign key.
    let v = ok(&g, "/venues?select=name,shows(title)&order=id").await;
    assert_eq!(v, json!([{"name": "Olympia", "shows": [{"title": "Opening"}]}, {"name": "Bataclan", "shows": []}]));
}

#[tokio::test]
async fn computed_fields_in_write_representations_and_rpc_results() {
    let g = Gateway::start().await;
    let r = g
        .send(
            reqwest::Method::POST,
            "/people?select=id,full_name,age:age_in",
            &[("prefer", "return=representation")],
            r#"{"id":4,"first_name":"Toni","last_name":"Morrison","born":1931}"#,
        )
        .await;
    assert_eq!((r.status, r.json()), (201, json!([{"id": 4, "full_name": "Toni Morrison", "age": 69}])), "{}", r.body);
    // A table-valued function's rows have the relation's type: its fields and relationships apply.
    let v = ok(&g, "/rpc/staff?select=label:display_name,manager(name),reports(count)&id=eq.2").await;
    assert_eq!(v, json!([{"label": "E2:Mid", "manager": {"name": "Boss"}, "reports": [{"count": 1}]}]));
}

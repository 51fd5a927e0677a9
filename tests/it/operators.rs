//! Filter operators over HTTP: which rows each operator family selects from `api.items`.
//!
//! Fixture rows (see `tests/fixtures/reads.sql`):
//! 1 apple    1.50  {fruit,red}        red     2024-01-01 [1,5)   true  null
//! 2 banana   0.25  {fruit,yellow}     yellow  2024-02-01 [5,10)  false 'ripe'
//! 3 carrot   0.10  {vegetable,orange} orange  2024-03-01 [10,20) null  'a,b.c:d(e)'
//! 4 daikon   null  {vegetable}        (null)  null       null    true  'O''Reilly "quoted"'
//! 5 eggplant 2.00  {}                 purple  2024-05-01 [30,40) false null

use crate::harness::*;

/// Runs every `(filters, expected ids)` case against `/items` and fails once, listing every
/// case whose ids (ordered by id) differ or whose status is not 200.
async fn check(g: &Gateway, cases: &[(&str, &[i64])]) {
    let mut failures = Vec::new();
    for (filters, expected) in cases {
        let r = g.get(&format!("/items?select=id&order=id&{filters}")).await;
        if r.status != 200 {
            failures.push(format!("{filters}: status {} body {}", r.status, r.body));
            continue;
        }
        let got = r.ids();
        if got != *expected {
            failures.push(format!("{filters}: expected {expected:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{} case(s) failed:\n{}", failures.len(), failures.join("\n"));
}

#[tokio::test]
async fn comparison_on_integers() {
    let g = Gateway::start().await;
    check(
        &g,
        &[
            ("id=eq.3", &[3]),
            ("id=neq.3", &[1, 2, 4, 5]),
            ("id=gt.3", &[4, 5]),
            ("id=gte.3", &[3, 4, 5]),
            ("id=lt.3", &[1, 2]),
            ("id=lte.3", &[1, 2, 3]),
            ("id=eq.42", &[]),
            ("id=gt.1&id=lt.4", &[2, 3]),
        ],
    )
    .await;
}

#[tokio::test]
async fn comparison_on_numerics_dates_and_text() {
    let g = Gateway::start().await;
    check(
        &g,
        &[
            // numeric; the NULL price (id 4) never compares
            ("price=eq.1.5", &[1]),
            ("price=eq.1.50", &[1]),
            ("price=neq.1.5", &[2, 3, 5]),
            ("price=gt.0.25", &[1, 5]),
            ("price=gte.0.25", &[1, 2, 5]),
            ("price=lt.1.5", &[2, 3]),
            ("price=lte.1.5", &[1, 2, 3]),
            // date
            ("made=eq.2024-03-01", &[3]),
            ("made=neq.2024-03-01", &[1, 2, 5]),
            ("made=gt.2024-02-01", &[3, 5]),
            ("made=gte.2024-02-01", &[2, 3, 5]),
            ("made=lt.2024-02-01", &[1]),
            ("made=lte.2024-02-01", &[1, 2]),
            // text
            ("name=eq.daikon", &[4]),
            ("name=neq.apple", &[2, 3, 4, 5]),
            ("name=gt.carrot", &[4, 5]),
            ("name=gte.carrot", &[3, 4, 5]),
            ("name=lt.banana", &[1]),
            ("name=lte.banana", &[1, 2]),
            // a text value that looks like a number stays text
            ("note=eq.ripe", &[2]),
        ],
    )
    .await;
}

#[tokio::test]
async fn like_ilike_match_imatch() {
    let g = Gateway::start().await;
    check(
        &g,
        &[
            ("name=like.a*", &[1]),
            ("name=like.*an*", &[2, 5]),
            ("name=like.*t", &[3, 5]),
            ("name=like.d_ikon", &[4]),
            ("name=like.*AN*", &[]),
            ("name=ilike.*AN*", &[2, 5]),
            ("name=ilike.APP*", &[1]),
            ("name=match.%5E%5Bab%5D", &[1, 2]),
            ("name=match.n$", &[4]),
            ("name=match.%5EA", &[]),
            ("name=imatch.%5E%5BAB%5D", &[1, 2]),
            ("name=imatch.PLANT$", &[5]),
            ("note=like.*Reilly*", &[4]),
        ],
    )
    .await;
}

#[tokio::test]
async fn in_lists() {
    let g = Gateway::start().await;
    check(
        &g,
        &[
            ("id=in.(1,3,5)", &[1, 3, 5]),
            ("id=in.(2)", &[2]),
            ("name=in.(apple,daikon)", &[1, 4]),
            // a quoted item keeps its commas, dots, colons and parentheses
            ("note=in.(%22a,b.c:d(e)%22,ripe)", &[2, 3]),
            ("note=in.(%22a,b.c:d(e)%22)", &[3]),
            // backslash-escaped double quotes inside a quoted item
            ("note=in.(%22O'Reilly%20%5C%22quoted%5C%22%22)", &[4]),
            // an empty list matches nothing
            ("id=in.()", &[]),
            ("name=in.()", &[]),
            ("id=not.in.(1,2)", &[3, 4, 5]),
            ("id=not.in.()", &[1, 2, 3, 4, 5]),
        ],
    )
    .await;
}

#[tokio::test]
async fn is_null_bool_unknown() {
    let g = Gateway::start().await;
    check(
        &g,
        &[
            ("note=is.null", &[1, 5]),
            ("note=is.NULL", &[1, 5]),
            ("note=is.not_null", &[2, 3, 4]),
            ("note=is.NOT_NULL", &[2, 3, 4]),
            ("active=is.true", &[1, 4]),
            ("active=is.TRUE", &[1, 4]),
            ("active=is.false", &[2, 5]),
            ("active=is.False", &[2, 5]),
            ("active=is.unknown", &[3]),
            ("active=is.UNKNOWN", &[3]),
            ("price=is.null", &[4]),
            ("note=not.is.null", &[2, 3, 4]),
            ("note=not.is.not_null", &[1, 5]),
            // IS NOT TRUE includes NULL
            ("active=not.is.true", &[2, 3, 5]),
            ("active=not.is.false", &[1, 3, 4]),
            ("active=not.is.unknown", &[1, 2, 4, 5]),
        ],
    )
    .await;
    // Anything else after is. is a bad request.
    let r = g.get("/items?active=is.maybe").await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.code(), "PGRST100", "{}", r.body);
}

#[tokio::test]
async fn isdistinct() {
    let g = Gateway::start().await;
    check(
        &g,
        &[
            ("active=isdistinct.true", &[2, 3, 5]),
            ("active=isdistinct.false", &[1, 3, 4]),
            ("note=isdistinct.ripe", &[1, 3, 4, 5]),
            ("id=isdistinct.2", &[1, 3, 4, 5]),
            ("active=not.isdistinct.true", &[1, 4]),
        ],
    )
    .await;
}

#[tokio::test]
async fn full_text_search() {
    let g = Gateway::start().await;
    check(
        &g,
        &[
            // words whose english stem is themselves, so the default configuration doesn't matter
            ("doc=fts.red", &[1]),
            ("doc=fts.yellow", &[2]),
            ("doc=fts.red%20%26%20crisp", &[1]),
            ("doc=fts.red%20%7C%20yellow", &[1, 2]),
            ("doc=fts.red%20%26%20yellow", &[]),
            // with a language the query is stemmed: apples -> appl
            ("doc=fts(english).apples", &[1]),
            ("doc=fts(english).carrots%20%26%20oranges", &[3]),
            ("doc=not.fts.red", &[2, 3, 4, 5]),
            ("doc=not.fts(english).apples", &[2, 3, 4, 5]),
            // plainto_tsquery: words ANDed, operators ignored
            ("doc=plfts.orange%20carrot", &[3]),
            ("doc=plfts(english).oranges%20carrots", &[3]),
            ("doc=plfts(english).orange%20banana", &[]),
            // phraseto_tsquery: order and adjacency matter
            ("doc=phfts(english).red%20apple", &[1]),
            ("doc=phfts(english).apple%20red", &[]),
            ("doc=phfts(english).purple%20eggplant", &[5]),
            // websearch_to_tsquery
            ("doc=wfts(english).purple%20or%20banana", &[2, 5]),
            ("doc=wfts(english).%22yellow%20banana%22", &[2]),
            ("doc=wfts(english).%22long%20banana%22", &[]),
            ("doc=wfts(english).orange%20-carrot", &[]),
            ("doc=wfts.white", &[4]),
            // fts on a text column wraps it in to_tsvector
            ("name=fts.apple", &[1]),
            ("name=fts(english).apples", &[1]),
            ("name=plfts.daikon", &[4]),
            ("name=not.fts.apple", &[2, 3, 4, 5]),
        ],
    )
    .await;
}

#[tokio::test]
async fn array_and_jsonb_containment() {
    let g = Gateway::start().await;
    check(
        &g,
        &[
            ("tags=cs.%7Bfruit%7D", &[1, 2]),
            ("tags=cs.%7Bfruit,red%7D", &[1]),
            ("tags=cs.%7B%7D", &[1, 2, 3, 4, 5]),
            ("tags=cd.%7Bfruit,red,vegetable%7D", &[1, 4, 5]),
            ("tags=cd.%7B%7D", &[5]),
            ("tags=ov.%7Bred,orange%7D", &[1, 3]),
            ("tags=ov.%7Bmeat%7D", &[]),
            ("tags=not.cs.%7Bfruit%7D", &[3, 4, 5]),
            ("tags=not.ov.%7Bred,orange%7D", &[2, 4, 5]),
            ("data=cs.%7B%22color%22:%22red%22%7D", &[1]),
            ("data=cs.%7B%22size%22:%7B%22w%22:5%7D%7D", &[5]),
            ("data=cd.%7B%22color%22:%22orange%22,%22extra%22:1%7D", &[3]),
            ("data=not.cs.%7B%22color%22:%22red%22%7D", &[2, 3, 5]),
        ],
    )
    .await;
}

#[tokio::test]
async fn range_operators() {
    let g = Gateway::start().await;
    // spans: 1 [1,5)  2 [5,10)  3 [10,20)  4 null  5 [30,40)
    check(
        &g,
        &[
            ("span=sl.%5B10,20)", &[1, 2]),
            ("span=sr.%5B5,10)", &[3, 5]),
            ("span=nxr.%5B0,20)", &[1, 2, 3]),
            ("span=nxr.%5B0,10)", &[1, 2]),
            ("span=nxl.%5B5,6)", &[2, 3, 5]),
            ("span=adj.%5B10,20)", &[2]),
            ("span=adj.%5B20,30)", &[3, 5]),
            ("span=ov.%5B4,11)", &[1, 2, 3]),
            ("span=ov.(20,30)", &[]),
            ("span=cs.%5B6,7)", &[2]),
            ("span=cd.%5B0,15)", &[1, 2]),
            ("span=not.ov.%5B4,11)", &[5]),
            ("span=not.sl.%5B10,20)", &[3, 5]),
            ("span=eq.%5B5,10)", &[2]),
        ],
    )
    .await;
}

#[tokio::test]
async fn not_on_each_kind() {
    let g = Gateway::start().await;
    check(
        &g,
        &[
            ("id=not.eq.1", &[2, 3, 4, 5]),
            ("id=not.neq.1", &[1]),
            ("id=not.gt.3", &[1, 2, 3]),
            ("id=not.lte.3", &[4, 5]),
            ("price=not.gte.1", &[2, 3]),
            ("made=not.lt.2024-03-01", &[3, 5]),
            ("name=not.like.a*", &[2, 3, 4, 5]),
            ("name=not.ilike.*AN*", &[1, 3, 4]),
            ("name=not.match.%5E%5Bab%5D", &[3, 4, 5]),
            ("name=not.imatch.%5E%5BAB%5D", &[3, 4, 5]),
            ("id=not.in.(1,2)", &[3, 4, 5]),
            ("note=not.in.(%22a,b.c:d(e)%22,ripe)", &[4]),
            ("note=not.is.null", &[2, 3, 4]),
            ("active=not.isdistinct.false", &[2, 5]),
            ("doc=not.phfts(english).red%20apple", &[2, 3, 4, 5]),
            ("tags=not.cd.%7Bfruit,red,vegetable%7D", &[2, 3]),
            ("span=not.adj.%5B10,20)", &[1, 3, 5]),
            ("name=not.eq(any).%7Bapple,carrot%7D", &[2, 4, 5]),
            ("data->>color=not.eq.red", &[2, 3, 5]),
        ],
    )
    .await;
}

#[tokio::test]
async fn any_and_all_modifiers() {
    let g = Gateway::start().await;
    check(
        &g,
        &[
            ("name=like(any).%7Ba*,b*%7D", &[1, 2]),
            ("name=like(all).%7B*a*,*n*%7D", &[2, 4, 5]),
            ("name=ilike(any).%7BA*,*PLANT%7D", &[1, 5]),
            ("name=ilike(all).%7B*A*,*N*%7D", &[2, 4, 5]),
            ("id=gt(all).%7B1,2%7D", &[3, 4, 5]),
            ("id=gt(any).%7B1,2%7D", &[2, 3, 4, 5]),
            ("id=lte(all).%7B2,4%7D", &[1, 2]),
            ("name=eq(any).%7Bapple,carrot%7D", &[1, 3]),
            ("id=eq(any).%7B1,5%7D", &[1, 5]),
            ("name=match(any).%7B%5Ea,%5Ec%7D", &[1, 3]),
            ("name=imatch(all).%7B%5EE,T$%7D", &[5]),
            ("id=not.gt(all).%7B1,2%7D", &[1, 2]),
        ],
    )
    .await;
    // as in PostgREST, the modifiers exist only for eq, like, ilike, gt, gte, lt, lte, match, imatch
    let r = g.get("/items?id=neq(all).%7B1,5%7D").await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.code(), "PGRST100", "{}", r.body);
}

#[tokio::test]
async fn logic_trees() {
    let g = Gateway::start().await;
    check(
        &g,
        &[
            ("or=(id.eq.1,id.eq.3)", &[1, 3]),
            ("and=(price.gt.0.2,price.lt.2)", &[1, 2]),
            ("or=(id.eq.1,and(id.gt.3,active.is.true))", &[1, 4]),
            ("or=(and(id.gt.1,id.lt.3),and(id.gt.3,id.lt.5))", &[2, 4]),
            ("not.or=(id.eq.1,id.eq.2)", &[3, 4, 5]),
            ("not.and=(id.gt.1,id.lt.5)", &[1, 5]),
            ("or=(id.eq.1,not.and(id.gt.1,id.lt.5))", &[1, 5]),
            ("or=(id.not.eq.1,name.eq.apple)", &[1, 2, 3, 4, 5]),
            ("or=(id.in.(1,2),name.eq.eggplant)", &[1, 2, 5]),
            ("or=(note.is.null,active.is.false)", &[1, 2, 5]),
            ("or=(name.like.a*,name.ilike.*PLANT)", &[1, 5]),
            ("or=(tags.cs.%7Bred%7D,span.adj.%22%5B10,20)%22)", &[1, 2]),
            ("or=(doc.fts(english).apples,doc.plfts.yellow)", &[1, 2]),
            ("or=(name.eq(any).%7Bapple,carrot%7D,id.eq.5)", &[1, 3, 5]),
            ("or=(data-%3E%3Ecolor.eq.red,id.eq.5)", &[1, 5]),
            // reserved characters in a quoted value inside a tree
            ("or=(note.eq.%22a,b.c:d(e)%22,id.eq.1)", &[1, 3]),
            ("or=(note.in.(%22a,b.c:d(e)%22,ripe),id.eq.5)", &[2, 3, 5]),
            ("or=(note.eq.%22O'Reilly%20%5C%22quoted%5C%22%22,id.eq.1)", &[1, 4]),
            // trees and plain filters are ANDed together
            ("or=(id.eq.1,id.eq.3)&name=eq.carrot", &[3]),
            ("or=(id.eq.1,id.eq.2)&or=(id.eq.2,id.eq.3)", &[2]),
            ("and=(id.gt.1)&not.or=(id.eq.2,id.eq.3)&price=not.is.null", &[5]),
        ],
    )
    .await;
}

#[tokio::test]
async fn json_path_filters() {
    let g = Gateway::start().await;
    check(
        &g,
        &[
            ("data-%3E%3Ecolor=eq.red", &[1]),
            ("data-%3E%3Ecolor=in.(red,orange)", &[1, 3]),
            ("data-%3E%3Ecolor=like.*e*", &[1, 2, 3, 5]),
            ("data-%3E%3Ecolor=like.*l*", &[2, 5]),
            ("data-%3E%3Ecolor=is.null", &[4]),
            ("data-%3Esize-%3E%3Ew=eq.3", &[1]),
            ("data-%3Esize-%3E%3Ew=is.null", &[3, 4]),
            // -> keeps jsonb, so this is a jsonb comparison: 3 and 5 are > 2, 2 is not
            ("data-%3Esize-%3Ew=gt.2", &[1, 5]),
            ("data-%3Esize-%3Ew=eq.2", &[2]),
            ("data-%3Elist-%3E0-%3E%3En=eq.1", &[1]),
            ("data-%3Elist-%3E1-%3En=eq.2", &[1]),
            ("data-%3Esize=cs.%7B%22w%22:2%7D", &[2]),
        ],
    )
    .await;
}

#[tokio::test]
async fn percent_encoded_identifier() {
    let g = Gateway::start().await;
    let r = g.get("/Order%20Items?Item%20Name=eq.thing").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json(), serde_json::json!([{"id": 1, "Item Name": "thing"}]));
    let r = g.get("/Order%20Items?Item%20Name=eq.other").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json(), serde_json::json!([]));
    let r = g.get("/Order%20Items?select=Item%20Name&id=eq.1").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json(), serde_json::json!([{"Item Name": "thing"}]));
}

#[tokio::test]
async fn top_level_value_runs_to_the_end() {
    let g = Gateway::start().await;
    check(
        &g,
        &[
            ("note=eq.a,b.c:d(e)", &[3]),
            ("note=like.a,b.*", &[3]),
            ("note=neq.a,b.c:d(e)", &[2, 4]),
            // quotes are not special at the top level
            ("note=eq.O'Reilly%20%22quoted%22", &[4]),
            ("note=eq.%22ripe%22", &[]),
        ],
    )
    .await;
}

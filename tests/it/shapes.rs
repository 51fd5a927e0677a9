//! Response shapes over HTTP: select, order, range/count, HEAD, media types, profiles, and
//! the not-found errors. Fixture values: `tests/fixtures/reads.sql`.

use serde_json::json;

use crate::harness::*;

fn ok(r: &Reply) {
    assert_eq!(r.status, 200, "{}", r.body);
}

/// The total after the slash of a Content-Range, parsed as a number.
fn total(r: &Reply) -> u64 {
    let cr = r.header("content-range").unwrap_or_else(|| panic!("no content-range: {:?}", r.headers));
    let (_, t) = cr.split_once('/').unwrap_or_else(|| panic!("bad content-range {cr}"));
    t.parse().unwrap_or_else(|_| panic!("total of content-range {cr} is not a number"))
}

// ---------------------------------------------------------------- select

#[tokio::test]
async fn select_aliases_and_casts() {
    let g = Gateway::start().await;

    let r = g.get("/items?select=label:name&id=eq.1").await;
    ok(&r);
    assert_eq!(r.json(), json!([{"label": "apple"}]));

    let r = g.get("/items?select=id::text&id=lte.2&order=id").await;
    ok(&r);
    assert_eq!(r.json(), json!([{"id": "1"}, {"id": "2"}]));

    let r = g.get("/items?select=price::text&id=eq.1").await;
    ok(&r);
    assert_eq!(r.json(), json!([{"price": "1.50"}]));

    // alias and cast together
    let r = g.get("/items?select=ident:id::text,name&id=eq.3").await;
    ok(&r);
    assert_eq!(r.json(), json!([{"ident": "3", "name": "carrot"}]));

    // numerics stay JSON numbers without a cast, NULL stays null
    let r = g.get("/items?select=id,price&id=in.(2,4)&order=id").await;
    ok(&r);
    assert_eq!(r.json(), json!([{"id": 2, "price": 0.25}, {"id": 4, "price": null}]));
}

#[tokio::test]
async fn select_json_paths() {
    let g = Gateway::start().await;

    let r = g.get("/items?select=id,data-%3E%3Ecolor&order=id").await;
    ok(&r);
    assert_eq!(
        r.json(),
        json!([
            {"id": 1, "color": "red"},
            {"id": 2, "color": "yellow"},
            {"id": 3, "color": "orange"},
            {"id": 4, "color": null},
            {"id": 5, "color": "purple"},
        ])
    );

    // -> keeps JSON: w is a number, not a string
    let r = g.get("/items?select=id,data-%3Esize-%3Ew&id=in.(1,3)&order=id").await;
    ok(&r);
    assert_eq!(r.json(), json!([{"id": 1, "w": 3}, {"id": 3, "w": null}]));

    // ->> gives text
    let r = g.get("/items?select=data-%3Esize-%3E%3Ew&id=eq.1").await;
    ok(&r);
    assert_eq!(r.json(), json!([{"w": "3"}]));

    // array index in the middle of the path; the key is the last element
    let r = g.get("/items?select=data-%3Elist-%3E0-%3En&id=eq.1").await;
    ok(&r);
    assert_eq!(r.json(), json!([{"n": 1}]));

    // whole sub-object
    let r = g.get("/items?select=data-%3Esize&id=eq.5").await;
    ok(&r);
    assert_eq!(r.json(), json!([{"size": {"w": 5}}]));

    // alias on a JSON path
    let r = g.get("/items?select=c:data-%3E%3Ecolor,width:data-%3Esize-%3Ew&id=eq.2").await;
    ok(&r);
    assert_eq!(r.json(), json!([{"c": "yellow", "width": 2}]));
}

#[tokio::test]
async fn select_star_with_extra_columns() {
    let g = Gateway::start().await;
    let r = g.get("/items?select=*,label:name&id=eq.1").await;
    ok(&r);
    let rows = r.json();
    let rows = rows.as_array().expect("array");
    assert_eq!(rows.len(), 1, "{}", r.body);
    let obj = rows[0].as_object().expect("object");
    // all ten table columns are there, plus the alias
    for col in ["id", "name", "price", "tags", "data", "doc", "made", "span", "active", "note"] {
        assert!(obj.contains_key(col), "missing {col} in {}", r.body);
    }
    assert_eq!(obj["label"], json!("apple"));
    assert_eq!(obj["name"], json!("apple"));
    assert_eq!(obj["tags"], json!(["fruit", "red"]));
    assert_eq!(obj["made"], json!("2024-01-01"));
    assert_eq!(obj["span"], json!("[1,5)"));
    assert_eq!(obj["active"], json!(true));
    assert_eq!(obj["note"], json!(null));
    assert_eq!(obj["data"]["size"], json!({"w": 3}));
    assert!(obj.contains_key("label"));
    assert_eq!(obj.len(), 11, "{}", r.body);

    // plain * is every column and nothing more
    let r = g.get("/items?select=*&id=eq.2").await;
    ok(&r);
    assert_eq!(r.json()[0].as_object().unwrap().len(), 10, "{}", r.body);
}

#[tokio::test]
async fn select_missing_column_is_42703() {
    let g = Gateway::start().await;
    let r = g.get("/items?select=nope").await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.code(), "42703", "{}", r.body);
    let r = g.get("/items?select=id,nope:name,missing").await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.code(), "42703", "{}", r.body);
}

// ---------------------------------------------------------------- order

#[tokio::test]
async fn ordering() {
    let g = Gateway::start().await;
    let cases: &[(&str, &[i64])] = &[
        ("order=id", &[1, 2, 3, 4, 5]),
        ("order=id.asc", &[1, 2, 3, 4, 5]),
        ("order=id.desc", &[5, 4, 3, 2, 1]),
        ("order=name.desc", &[5, 4, 3, 2, 1]),
        // PostgreSQL defaults: NULLs last ascending, first descending
        ("order=price", &[3, 2, 1, 5, 4]),
        ("order=price.asc", &[3, 2, 1, 5, 4]),
        ("order=price.desc", &[4, 5, 1, 2, 3]),
        ("order=price.nullsfirst", &[4, 3, 2, 1, 5]),
        ("order=price.asc.nullsfirst", &[4, 3, 2, 1, 5]),
        ("order=price.desc.nullslast", &[5, 1, 2, 3, 4]),
        ("order=price.asc.nullslast", &[3, 2, 1, 5, 4]),
        // several terms: active desc (NULL first), then id
        ("order=active.desc,id.asc", &[3, 1, 4, 2, 5]),
        ("order=active.asc.nullsfirst,id.desc", &[3, 5, 2, 4, 1]),
        ("order=active.nullslast,id.desc", &[5, 2, 4, 1, 3]),
        // JSON path
        ("order=data-%3E%3Ecolor.desc", &[4, 2, 1, 5, 3]),
        ("order=data-%3E%3Ecolor.desc.nullslast", &[2, 1, 5, 3, 4]),
        ("order=data-%3E%3Ecolor", &[3, 5, 1, 2, 4]),
        ("order=data-%3Esize-%3Ew.desc.nullslast,id", &[5, 1, 2, 3, 4]),
    ];
    let mut failures = Vec::new();
    for (q, expected) in cases {
        let r = g.get(&format!("/items?select=id&{q}")).await;
        if r.status != 200 {
            failures.push(format!("{q}: status {} {}", r.status, r.body));
        } else if r.ids() != *expected {
            failures.push(format!("{q}: expected {expected:?}, got {:?}", r.ids()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------- limit / offset / Range

#[tokio::test]
async fn limit_and_offset() {
    let g = Gateway::start().await;

    let r = g.get("/items?select=id&order=id&limit=2").await;
    ok(&r);
    assert_eq!(r.ids(), vec![1, 2]);
    assert_eq!(r.header("content-range"), Some("0-1/*"));

    let r = g.get("/items?select=id&order=id&limit=2&offset=2").await;
    ok(&r);
    assert_eq!(r.ids(), vec![3, 4]);
    assert_eq!(r.header("content-range"), Some("2-3/*"));

    let r = g.get("/items?select=id&order=id&offset=2").await;
    ok(&r);
    assert_eq!(r.ids(), vec![3, 4, 5]);
    assert_eq!(r.header("content-range"), Some("2-4/*"));

    let r = g.get("/items?select=id&order=id.desc&limit=1&offset=1").await;
    ok(&r);
    assert_eq!(r.ids(), vec![4]);
    assert_eq!(r.header("content-range"), Some("1-1/*"));

    let r = g.get("/items?select=id&order=id&limit=0").await;
    ok(&r);
    assert_eq!(r.ids(), Vec::<i64>::new());
    assert_eq!(r.header("content-range"), Some("*/*"));

    // an empty page without a count
    let r = g.get("/items?select=id&id=gt.10").await;
    ok(&r);
    assert_eq!(r.body.trim(), "[]");
    assert_eq!(r.header("content-range"), Some("*/*"));

    let r = g.get("/items?select=id&order=id&offset=10").await;
    ok(&r);
    assert_eq!(r.ids(), Vec::<i64>::new());
    assert_eq!(r.header("content-range"), Some("*/*"));
}

#[tokio::test]
async fn range_header() {
    let g = Gateway::start().await;

    let r = g.get_with("/items?select=id&order=id", &[("Range", "0-1")]).await;
    ok(&r);
    assert_eq!(r.ids(), vec![1, 2]);
    assert_eq!(r.header("content-range"), Some("0-1/*"));

    let r = g.get_with("/items?select=id&order=id", &[("Range", "2-")]).await;
    ok(&r);
    assert_eq!(r.ids(), vec![3, 4, 5]);
    assert_eq!(r.header("content-range"), Some("2-4/*"));

    let r = g.get_with("/items?select=id&order=id", &[("Range-Unit", "items"), ("Range", "1-3")]).await;
    ok(&r);
    assert_eq!(r.ids(), vec![2, 3, 4]);
    assert_eq!(r.header("content-range"), Some("1-3/*"));

    // the Range header and limit/offset combine (the narrower wins)
    let r = g.get_with("/items?select=id&order=id&limit=1", &[("Range", "0-3")]).await;
    ok(&r);
    assert_eq!(r.ids(), vec![1]);
    assert_eq!(r.header("content-range"), Some("0-0/*"));

    // with an exact count
    let r = g.get_with("/items?select=id&order=id", &[("Range", "0-1"), ("Prefer", "count=exact")]).await;
    assert_eq!(r.status, 206, "{}", r.body);
    assert_eq!(r.ids(), vec![1, 2]);
    assert_eq!(r.header("content-range"), Some("0-1/5"));

    let r = g.get_with("/items?select=id&order=id", &[("Range", "3-1")]).await;
    assert_eq!(r.status, 416, "{}", r.body);
    assert_eq!(r.code(), "PGRST103", "{}", r.body);
    assert_eq!(
        r.json()["details"],
        json!("The lower boundary must be lower than or equal to the upper boundary in the Range header."),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn exact_count_status_and_content_range() {
    let g = Gateway::start().await;
    let exact = [("Prefer", "count=exact")];

    // partial page -> 206
    let r = g.get_with("/items?select=id&order=id&limit=2", &exact).await;
    assert_eq!(r.status, 206, "{}", r.body);
    assert_eq!(r.ids(), vec![1, 2]);
    assert_eq!(r.header("content-range"), Some("0-1/5"));
    assert_eq!(r.header("preference-applied"), Some("count=exact"));

    let r = g.get_with("/items?select=id&order=id&offset=2", &exact).await;
    assert_eq!(r.status, 206, "{}", r.body);
    assert_eq!(r.ids(), vec![3, 4, 5]);
    assert_eq!(r.header("content-range"), Some("2-4/5"));

    // complete -> 200
    let r = g.get_with("/items?select=id&order=id", &exact).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.ids(), vec![1, 2, 3, 4, 5]);
    assert_eq!(r.header("content-range"), Some("0-4/5"));

    // the count respects the filters, not the page
    let r = g.get_with("/items?select=id&order=id&id=gt.1&limit=1", &exact).await;
    assert_eq!(r.status, 206, "{}", r.body);
    assert_eq!(r.ids(), vec![2]);
    assert_eq!(r.header("content-range"), Some("0-0/4"));

    // empty result
    let r = g.get_with("/items?select=id&id=gt.10", &exact).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body.trim(), "[]");
    assert_eq!(r.header("content-range"), Some("*/0"));

    // offset past the end -> 416 with the total
    let r = g.get_with("/items?select=id&order=id&offset=10", &exact).await;
    assert_eq!(r.status, 416, "{}", r.body);
    assert_eq!(r.code(), "PGRST103", "{}", r.body);
    assert_eq!(r.header("content-range"), Some("*/5"));
    assert_eq!(r.json()["details"], json!("An offset of 10 was requested, but there are only 5 rows."), "{}", r.body);

    // the same through the Range header
    let r = g.get_with("/items?select=id&order=id", &[("Range", "10-20"), ("Prefer", "count=exact")]).await;
    assert_eq!(r.status, 416, "{}", r.body);
    assert_eq!(r.code(), "PGRST103", "{}", r.body);
    assert_eq!(r.header("content-range"), Some("*/5"));

    // without a count the gateway cannot know: an empty 200
    let r = g.get_with("/items?select=id&order=id", &[("Range", "10-20")]).await;
    ok(&r);
    assert_eq!(r.body.trim(), "[]");
    assert_eq!(r.header("content-range"), Some("*/*"));
}

#[tokio::test]
async fn bad_limits() {
    let g = Gateway::start().await;

    let r = g.get("/items?limit=-1").await;
    assert_eq!(r.status, 416, "{}", r.body);
    assert_eq!(r.code(), "PGRST103", "{}", r.body);
    assert_eq!(r.json()["details"], json!("Limit should be greater than or equal to zero."), "{}", r.body);

    let r = g.get("/items?limit=abc").await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.code(), "PGRST100", "{}", r.body);

    let r = g.get("/items?offset=abc").await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.code(), "PGRST100", "{}", r.body);
}

#[tokio::test]
async fn planned_and_estimated_counts() {
    let g = Gateway::start().await;

    let r = g.get_with("/items?select=id&order=id&limit=2", &[("Prefer", "count=planned")]).await;
    assert!(r.status == 200 || r.status == 206, "{}", r.body);
    assert_eq!(r.ids(), vec![1, 2]);
    let cr = r.header("content-range").unwrap().to_string();
    assert!(cr.starts_with("0-1/"), "{cr}");
    total(&r);
    assert_eq!(r.header("preference-applied"), Some("count=planned"));

    let r = g.get_with("/items?select=id&order=id&limit=2", &[("Prefer", "count=estimated")]).await;
    assert!(r.status == 200 || r.status == 206, "{}", r.body);
    assert_eq!(r.ids(), vec![1, 2]);
    let cr = r.header("content-range").unwrap().to_string();
    assert!(cr.starts_with("0-1/"), "{cr}");
    total(&r);
    assert_eq!(r.header("preference-applied"), Some("count=estimated"));
}

#[tokio::test]
async fn db_max_rows_caps_the_page() {
    let g = Gateway::start_with(|a| a.db_max_rows = Some("2".into())).await;

    let r = g.get("/items?select=id&order=id").await;
    ok(&r);
    assert_eq!(r.ids(), vec![1, 2]);
    assert_eq!(r.header("content-range"), Some("0-1/*"));

    let r = g.get("/items?select=id&order=id&limit=10").await;
    ok(&r);
    assert_eq!(r.ids(), vec![1, 2]);

    let r = g.get("/items?select=id&order=id&offset=3").await;
    ok(&r);
    assert_eq!(r.ids(), vec![4, 5]);
    assert_eq!(r.header("content-range"), Some("3-4/*"));

    let r = g.get("/items?select=id&order=id&limit=1").await;
    ok(&r);
    assert_eq!(r.ids(), vec![1]);

    let r = g.get_with("/items?select=id&order=id", &[("Prefer", "count=estimated")]).await;
    assert!(r.status == 200 || r.status == 206, "{}", r.body);
    assert_eq!(r.ids(), vec![1, 2]);
    assert!(r.header("content-range").unwrap().starts_with("0-1/"), "{:?}", r.header("content-range"));
    total(&r);

    let r = g.get_with("/items?select=id&order=id", &[("Prefer", "count=exact")]).await;
    assert_eq!(r.status, 206, "{}", r.body);
    assert_eq!(r.ids(), vec![1, 2]);
    assert_eq!(r.header("content-range"), Some("0-1/5"));
}

#[tokio::test]
async fn head_is_get_without_a_body() {
    let g = Gateway::start().await;

    let r = g.request(reqwest::Method::HEAD, "/items?select=id&order=id&limit=2", &[("Prefer", "count=exact")]).await;
    assert_eq!(r.status, 206);
    assert_eq!(r.header("content-range"), Some("0-1/5"));
    assert_eq!(r.body, "");

    let r = g.request(reqwest::Method::HEAD, "/items?select=id&order=id", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-range"), Some("0-4/*"));
    assert_eq!(r.body, "");

    let r = g.request(reqwest::Method::HEAD, "/items?id=gt.10", &[("Prefer", "count=exact")]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-range"), Some("*/0"));
    assert_eq!(r.body, "");
}

// ---------------------------------------------------------------- media types

#[tokio::test]
async fn csv_output() {
    let g = Gateway::start().await;
    let csv = [("Accept", "text/csv")];

    let r = g.get_with("/items?select=id,name&id=lte.2&order=id", &csv).await;
    ok(&r);
    assert_eq!(r.body, "id,name\n1,apple\n2,banana");
    assert!(r.header("content-type").unwrap_or_default().starts_with("text/csv"), "{:?}", r.headers);

    // a value with a comma is quoted
    let r = g.get_with("/items?select=id,note&id=eq.3", &csv).await;
    ok(&r);
    assert_eq!(r.body, "id,note\n3,\"a,b.c:d(e)\"");

    // embedded double quotes are doubled, NULL is empty, arrays are quoted when they hold a comma
    let r = g.get_with("/items?select=id,note,tags&id=in.(1,4,5)&order=id", &csv).await;
    ok(&r);
    assert_eq!(r.body, "id,note,tags\n1,,\"{fruit,red}\"\n4,\"O'Reilly \"\"quoted\"\"\",{vegetable}\n5,,{}");

    // zero rows still have the header
    let r = g.get_with("/items?select=id,name&id=gt.10", &csv).await;
    ok(&r);
    assert_eq!(r.body.trim_end_matches('\n'), "id,name");
}

#[tokio::test]
async fn single_object_media_type() {
    let g = Gateway::start().await;
    let obj = [("Accept", "application/vnd.pgrst.object+json")];

    let r = g.get_with("/items?select=id,name&id=eq.1", &obj).await;
    ok(&r);
    assert_eq!(r.json(), json!({"id": 1, "name": "apple"}));
    assert!(
        r.header("content-type").unwrap_or_default().starts_with("application/vnd.pgrst.object+json"),
        "{:?}",
        r.headers
    );

    let r = g.get_with("/items?select=id,name&id=eq.42", &obj).await;
    assert_eq!(r.status, 406, "{}", r.body);
    assert_eq!(r.code(), "PGRST116", "{}", r.body);
    assert_eq!(r.json()["details"], json!("The result contains 0 rows"), "{}", r.body);

    let r = g.get_with("/items?select=id,name&id=lte.2", &obj).await;
    assert_eq!(r.status, 406, "{}", r.body);
    assert_eq!(r.code(), "PGRST116", "{}", r.body);
    assert_eq!(r.json()["details"], json!("The result contains 2 rows"), "{}", r.body);

    // nulls=stripped drops null keys
    let r = g
        .get_with(
            "/items?select=id,note,price&id=eq.1",
            &[("Accept", "application/vnd.pgrst.object+json;nulls=stripped")],
        )
        .await;
    ok(&r);
    assert_eq!(r.json(), json!({"id": 1, "price": 1.5}));
}

#[tokio::test]
async fn array_nulls_stripped() {
    let g = Gateway::start().await;
    let r = g
        .get_with(
            "/items?select=id,note&id=in.(1,2,5)&order=id",
            &[("Accept", "application/vnd.pgrst.array+json;nulls=stripped")],
        )
        .await;
    ok(&r);
    assert_eq!(r.json(), json!([{"id": 1}, {"id": 2, "note": "ripe"}, {"id": 5}]));

    // without the parameter nulls are kept
    let r = g.get_with("/items?select=id,note&id=eq.1", &[("Accept", "application/vnd.pgrst.array+json")]).await;
    ok(&r);
    assert_eq!(r.json(), json!([{"id": 1, "note": null}]));
}

#[tokio::test]
async fn unsupported_and_browser_accept() {
    let g = Gateway::start().await;

    let r = g.get_with("/items?select=id", &[("Accept", "text/html")]).await;
    assert_eq!(r.status, 406, "{}", r.body);
    assert_eq!(r.code(), "PGRST107", "{}", r.body);
    assert_eq!(r.json()["message"], json!("None of these media types are available: text/html"), "{}", r.body);

    let r = g
        .get_with(
            "/items?select=id&order=id&id=lte.2",
            &[("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")],
        )
        .await;
    ok(&r);
    assert_eq!(r.ids(), vec![1, 2]);
    assert!(r.header("content-type").unwrap_or_default().starts_with("application/json"), "{:?}", r.headers);
}

// ---------------------------------------------------------------- profiles

#[tokio::test]
async fn accept_profile() {
    let g = Gateway::start().await;

    let r = g.get_with("/items", &[("Accept-Profile", "v2")]).await;
    ok(&r);
    assert_eq!(r.json(), json!([{"id": 10, "label": "from v2"}]));
    assert_eq!(r.header("content-profile"), Some("v2"));

    let r = g.get_with("/items?select=id&order=id&limit=1", &[("Accept-Profile", "api")]).await;
    ok(&r);
    assert_eq!(r.ids(), vec![1]);
    assert_eq!(r.header("content-profile"), Some("api"));

    let r = g.get_with("/items", &[("Accept-Profile", "nope")]).await;
    assert_eq!(r.status, 406, "{}", r.body);
    assert_eq!(r.code(), "PGRST106", "{}", r.body);
    assert_eq!(r.json()["message"], json!("The schema must be one of the following: api, v2"), "{}", r.body);
}

// ---------------------------------------------------------------- not found

#[tokio::test]
async fn unknown_table_and_nested_path() {
    let g = Gateway::start().await;

    let r = g.get("/itemz").await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.code(), "PGRST205", "{}", r.body);
    let hint = r.json()["hint"].as_str().unwrap_or_default().to_string();
    assert!(hint.starts_with("Perhaps you meant the table 'api.items'"), "{}", r.body);
    assert_eq!(r.json()["message"], json!("Could not find the table 'api.itemz' in the schema cache"), "{}", r.body);

    let r = g.get("/nothing_like_anything_here").await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.code(), "PGRST205", "{}", r.body);

    let r = g.get("/a/b").await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.code(), "PGRST125", "{}", r.body);
}

//! The OpenAPI document of a real schema, checked by the `openapi-spec-validator` PyPI package
//! (`pip install openapi-spec-validator`), with `Visibility::All` and following `anon`'s
//! privileges.

use std::process::Command;

use rowgate::openapi::{self, DocumentInput, Visibility};
use rowgate::schema::SchemaCache;
use serde_json::Value;

use crate::harness::{bearer, Gateway, TestDb};

/// Richer than the shared fixtures: comments, a view, defaults, variadic and setof functions,
/// arrays, jsonb, uuid, timestamptz.
const SCHEMA: &str = r#"
comment on schema api is 'Shop API
Everything the shop sells.';
create table api.products (
  id bigserial primary key,
  sku uuid not null default gen_random_uuid(),
  name varchar(80) not null,
  price numeric(10,2),
  tags text[] not null default '{}',
  attrs jsonb,
  created timestamptz not null default now(),
  ratio double precision,
  "Weird ""Name""" text
);
comment on table api.products is 'Products
What we sell.';
comment on column api.products.name is 'Display name';
create table api.reviews (
  id serial primary key,
  product_id bigint not null references api.products(id),
  stars smallint not null check (stars between 1 and 5),
  body text
);
create view api.cheap_products as select id, name, price from api.products where price < 10;
create view api.product_stats as select count(*) as n, max(price) as top from api.products;
grant select, insert, update on api.products to anon;
grant select on api.reviews, api.cheap_products, api.product_stats to anon;

create or replace function api.add(a integer, b integer, c integer default 0) returns integer
  language sql immutable as $$ select a + b + c $$;
comment on function api.add(integer, integer, integer) is 'Adds numbers';
create or replace function api.touch(n integer) returns void language sql volatile as $$ select $$;
create or replace function api.total(variadic nums numeric[]) returns numeric
  language sql stable as $$ select sum(x) from unnest(nums) x $$;
create or replace function api.search(q text default '') returns setof api.products
  language sql stable as $$ select * from api.products where name ilike '%' || q || '%' $$;
create or replace function api.pairs(n integer, out k integer, out v text) returns setof record
  language sql stable as $$ select i, i::text from generate_series(1, n) i $$;
create or replace function api.echo(jsonb) returns jsonb language sql immutable as $$ select $1 $$;
create or replace function api.hidden_fn() returns integer language sql stable as $$ select 1 $$;
revoke execute on function api.hidden_fn() from public;
"#;

async fn setup() -> (TestDb, tokio_postgres::Client, SchemaCache) {
    let db = TestDb::new().await;
    let client = db.admin().await;
    client.batch_execute(SCHEMA).await.expect("create schema");
    let (cache, _) = rowgate::schema::load(&client, &["api".to_string()]).await.expect("load schema cache");
    (db, client, cache)
}

async fn schema_comment(client: &tokio_postgres::Client) -> Option<String> {
    client
        .query_one("select obj_description(oid, 'pg_namespace') from pg_namespace where nspname = 'api'", &[])
        .await
        .expect("comment")
        .get(0)
}

fn build(cache: &SchemaCache, visibility: &Visibility, title: Option<&str>) -> Value {
    let schemas = ["api".to_string(), "v2".to_string()];
    openapi::document(&DocumentInput {
        cache,
        schema: "api",
        schemas: &schemas,
        visibility,
        server_url: Some("http://localhost:3000"),
        title,
    })
}

/// Runs the validator on the document; panics with its output unless it says OK.
fn validate(doc: &Value) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, serde_json::to_vec_pretty(doc).unwrap()).expect("write document");
    let probe = Command::new("python3").args(["-c", "import openapi_spec_validator"]).output();
    match probe {
        Ok(o) if o.status.success() => {}
        other => panic!(
            "the OpenAPI validator is missing: run `pip install openapi-spec-validator` \
             (python3 -c 'import openapi_spec_validator' gave {other:?})"
        ),
    }
    let out = Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(&file)
        .output()
        .expect("run python3 -m openapi_spec_validator");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success() && text.contains("OK"),
        "openapi-spec-validator rejected the document:\n{text}\n{}",
        serde_json::to_string_pretty(doc).unwrap()
    );
    text
}

#[tokio::test]
async fn document_of_a_real_schema_is_valid_openapi_3_1() {
    let (_db, client, cache) = setup().await;
    let title = schema_comment(&client).await;
    let doc = build(&cache, &Visibility::All, title.as_deref());
    let out = validate(&doc);
    eprintln!("openapi-spec-validator: {}", out.trim());

    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "Shop API");
    assert_eq!(doc["info"]["description"], "Everything the shop sells.");
    let paths = &doc["paths"];
    for p in [
        "/",
        "/products",
        "/reviews",
        "/cheap_products",
        "/product_stats",
        "/items",
        "/secret_things",
        "/rpc/add",
        "/rpc/search",
        "/rpc/hidden_fn",
    ] {
        assert!(paths.get(p).is_some(), "{p} missing");
    }
    // Simple view: auto-updatable; aggregate view: read-only; PUT only with a primary key.
    assert!(paths["/cheap_products"].get("patch").is_some());
    assert!(paths["/cheap_products"].get("put").is_none());
    assert!(paths["/product_stats"].get("post").is_none());
    assert!(paths["/products"].get("put").is_some());
    // GET on RPC only when not volatile.
    assert!(paths["/rpc/touch"].get("get").is_none());
    assert!(paths["/rpc/add"].get("get").is_some());

    let products = &doc["components"]["schemas"]["products"];
    assert_eq!(products["description"], "Products\nWhat we sell.");
    assert_eq!(products["required"], serde_json::json!(["name"]));
    let p = &products["properties"];
    assert_eq!(p["id"]["format"], "int64");
    assert_eq!(p["sku"]["format"], "uuid");
    assert_eq!(p["name"]["maxLength"], 80);
    assert_eq!(p["name"]["description"], "Display name");
    assert_eq!(p["price"]["type"], serde_json::json!(["number", "null"]));
    assert_eq!(p["tags"]["type"], "array");
    assert_eq!(p["attrs"], serde_json::json!({}));
    assert_eq!(p["created"]["format"], "date-time");
    assert!(p["id"]["description"].as_str().unwrap().contains("<pk/>"));
    let review = &doc["components"]["schemas"]["reviews"]["properties"];
    assert!(review["product_id"]["description"].as_str().unwrap().contains("<fk table='products' column='id'/>"));
    assert_eq!(review["stars"]["format"], "int32");

    let add = &paths["/rpc/add"]["post"];
    assert_eq!(add["requestBody"]["content"]["application/json"]["schema"]["required"], serde_json::json!(["a", "b"]));
    let total = &paths["/rpc/total"]["post"]["requestBody"]["content"]["application/json"]["schema"];
    assert_eq!(total["properties"]["nums"]["type"], "array");
    assert_eq!(
        paths["/rpc/search"]["get"]["responses"]["200"]["content"]["application/json"]["schema"],
        serde_json::json!({"type": "array", "items": {"$ref": "#/components/schemas/products"}})
    );
    let pairs =
        &paths["/rpc/pairs"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["items"]["properties"];
    assert!(pairs.get("k").is_some() && pairs.get("v").is_some());
}

#[tokio::test]
async fn following_privileges_hides_what_anon_cannot_use() {
    let (_db, client, cache) = setup().await;
    let statement = openapi::privileges_statement("api");
    client.batch_execute("begin; set local role anon").await.expect("switch role");
    let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
        statement.params.iter().map(|p| p as &(dyn tokio_postgres::types::ToSql + Sync)).collect();
    let row = client.query_one(&*statement.sql, &params).await.expect("privileges statement");
    client.batch_execute("rollback").await.expect("rollback");
    let text: String = row.get(0);
    let visibility = openapi::visibility_from_json(&text).expect("decode privileges");

    let doc = build(&cache, &visibility, None);
    validate(&doc);
    let paths = &doc["paths"];
    // No grants at all: hidden (Visibility::All shows it, see above).
    assert!(paths.get("/secret_things").is_none(), "{text}");
    assert!(doc["components"]["schemas"].get("secret_things").is_none());
    assert!(paths.get("/private_things").is_none());
    assert!(paths.get("/rpc/hidden_fn").is_none());
    // Granted to anon.
    assert!(paths.get("/items").is_some());
    assert!(paths.get("/rpc/add").is_some());
    // Per-command: products has SELECT/INSERT/UPDATE but no DELETE; reviews is read-only.
    let products = paths["/products"].as_object().unwrap();
    let mut methods: Vec<&str> = products.keys().map(String::as_str).collect();
    methods.sort();
    assert_eq!(methods, ["get", "patch", "post", "put"]);
    let reviews: Vec<&str> = paths["/reviews"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(reviews, ["get"]);

    // The same statement for the superuser lists secret_things.
    let row = client.query_one(&*statement.sql, &params).await.expect("privileges statement as superuser");
    let all: String = row.get(0);
    let visibility = openapi::visibility_from_json(&all).unwrap();
    assert!(visibility.relation("secret_things").is_some());
    assert!(build(&cache, &Visibility::All, None)["paths"].get("/secret_things").is_some());
}

#[tokio::test]
async fn root_serves_the_document_following_the_callers_privileges() {
    let g = Gateway::start().await;
    let r = g.get("/").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/openapi+json; charset=utf-8"));
    let doc = r.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.contains_key("/items"));
    assert!(!paths.contains_key("/secret_things"), "anon must not see tables it has no grant on");
    assert!(!paths.contains_key("/private_things"));
    // An authenticated caller sees what authenticated may use.
    let r = g.get_with("/", &[("authorization", &bearer(serde_json::json!({"role": "authenticated"})))]).await;
    assert!(r.json()["paths"].as_object().unwrap().contains_key("/private_things"));
    // Profiles pick the schema.
    let r = g.get_with("/", &[("accept-profile", "v2")]).await;
    assert!(r.json()["paths"].as_object().unwrap().contains_key("/items"));
}

#[tokio::test]
async fn root_modes() {
    let g = Gateway::start_with(|a| a.openapi_mode = Some("ignore-privileges".into())).await;
    let doc = g.get("/").await.json();
    assert!(doc["paths"].as_object().unwrap().contains_key("/secret_things"));
    let g = Gateway::start_with(|a| a.openapi_mode = Some("disabled".into())).await;
    let r = g.get("/").await;
    assert_eq!((r.status, r.code()), (404, "PGRST126".to_string()));
}

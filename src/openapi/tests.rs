//! The document built from a fixture cache.

use serde_json::{json, Value};

use crate::schema::SchemaCache;

use super::*;

fn col(name: &str, ty: &str, base: &str, category: &str, nullable: bool) -> Value {
    json!({"name": name, "type": ty, "base_type": base, "category": category,
           "nullable": nullable, "default": null, "comment": null})
}

fn cache() -> SchemaCache {
    let mut id = col("id", "integer", "integer", "N", false);
    id["comment"] = json!("The item number");
    let mut created = col("created", "timestamp with time zone", "timestamp with time zone", "D", false);
    created["default"] = json!("now()");
    let func = |name: &str, volatility: &str, args: Value, nargdefaults: i32| {
        json!({"schema": "api", "name": name, "volatility": volatility, "returns_set": false,
               "variadic": false, "return_type": "integer", "return_typtype": "b",
               "return_rel_schema": null, "return_rel_name": null,
               "nargs": args.as_array().unwrap().len(), "nargdefaults": nargdefaults,
               "comment": null, "args": args})
    };
    let doc = json!({
        "relations": [
            {"schema": "api", "name": "items", "kind": "r", "comment": "Things we sell\nOne row per thing.",
             "updatable_mask": 28,
             "columns": [
                id,
                col("name", "character varying(20)", "character varying", "S", false),
                col("price", "numeric(10,2)", "numeric", "N", true),
                col("big", "bigint", "bigint", "N", true),
                col("tags", "text[]", "text[]", "A", true),
                col("data", "jsonb", "jsonb", "U", true),
                col("uid", "uuid", "uuid", "U", false),
                col("made", "date", "date", "D", true),
                created,
                col("ok", "boolean", "boolean", "B", true),
                col("owner", "integer", "integer", "N", true),
                col("limit", "integer", "integer", "N", true)
             ],
             "primary_key": ["id"], "unique": []},
            {"schema": "api", "name": "people", "kind": "r", "comment": null, "updatable_mask": 28,
             "columns": [col("id", "integer", "integer", "N", false)], "primary_key": [], "unique": []},
            {"schema": "api", "name": "cheap", "kind": "v", "comment": null, "updatable_mask": 8,
             "columns": [col("id", "integer", "integer", "N", true)], "primary_key": [], "unique": []},
            {"schema": "api", "name": "report", "kind": "v", "comment": null, "updatable_mask": 0,
             "columns": [col("n", "bigint", "bigint", "N", true)], "primary_key": [], "unique": []},
            {"schema": "api", "name": "hidden", "kind": "r", "comment": null, "updatable_mask": 28,
             "columns": [col("id", "integer", "integer", "N", false)], "primary_key": ["id"], "unique": []},
            {"schema": "api", "name": "Order Items", "kind": "r", "comment": null, "updatable_mask": 28,
             "columns": [col("id", "integer", "integer", "N", false)], "primary_key": ["id"], "unique": []},
            {"schema": "v2", "name": "elsewhere", "kind": "r", "comment": null, "updatable_mask": 28,
             "columns": [col("id", "integer", "integer", "N", false)], "primary_key": ["id"], "unique": []}
        ],
        "foreign_keys": [
            {"name": "items_owner_fkey", "schema": "api", "table": "items", "columns": ["owner"],
             "ref_schema": "api", "ref_table": "people", "ref_columns": ["id"]}
        ],
        "functions": [
            func("add", "i", json!([{"name": "a", "type": "integer", "mode": "i"},
                                    {"name": "b", "type": "integer", "mode": "i"},
                                    {"name": "c", "type": "integer", "mode": "i"}]), 1),
            func("bump", "v", json!([{"name": "n", "type": "integer", "mode": "i"}]), 0),
            func("lookup", "s", json!([{"name": "ids", "type": "integer[]", "mode": "v"},
                                       {"name": "total", "type": "integer", "mode": "o"}]), 0),
            func("secret_fn", "s", json!([]), 0),
            {"schema": "api", "name": "all_items", "volatility": "s", "returns_set": true,
             "variadic": false, "return_type": "api.items", "return_typtype": "c",
             "return_rel_schema": "api", "return_rel_name": "items", "nargs": 0, "nargdefaults": 0,
             "comment": "Every item", "args": []},
            {"schema": "api", "name": "nothing", "volatility": "v", "returns_set": false,
             "variadic": false, "return_type": "void", "return_typtype": "p",
             "return_rel_schema": null, "return_rel_name": null, "nargs": 1, "nargdefaults": 0,
             "comment": null, "args": [{"name": "", "type": "jsonb", "mode": "i"}]}
        ]
    });
    SchemaCache::from_json(&doc.to_string()).unwrap()
}

fn build(visibility: &Visibility, schemas: &[String]) -> Value {
    let cache = cache();
    document(&DocumentInput {
        cache: &cache,
        schema: "api",
        schemas,
        visibility,
        server_url: Some("https://example.com/api"),
        title: None,
    })
}

fn all() -> Value {
    build(&Visibility::All, &["api".to_string()])
}

fn param<'a>(op: &'a Value, name: &str) -> Option<&'a Value> {
    op["parameters"].as_array().unwrap().iter().find(|p| p["name"] == name)
}

fn refs(op: &Value) -> Vec<String> {
    op["parameters"].as_array().unwrap().iter().filter_map(|p| p["$ref"].as_str().map(str::to_string)).collect()
}

#[test]
fn header_info_servers_security() {
    let d = all();
    assert_eq!(d["openapi"], "3.1.0");
    assert_eq!(d["info"]["title"], "rowgate API");
    assert_eq!(d["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(d["servers"], json!([{"url": "https://example.com/api"}]));
    assert_eq!(d["security"], json!([{}, {"bearerAuth": []}]));
    assert_eq!(
        d["components"]["securitySchemes"]["bearerAuth"],
        json!({"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    );
    assert!(d["paths"]["/"]["get"].is_object());
    assert_eq!(d["components"]["schemas"]["Error"]["required"], json!(["code", "message", "details", "hint"]));

    let cache = cache();
    let titled = document(&DocumentInput {
        cache: &cache,
        schema: "api",
        schemas: &["api".to_string()],
        visibility: &Visibility::All,
        server_url: None,
        title: Some("Shop API\nSells things."),
    });
    assert_eq!(titled["info"]["title"], "Shop API");
    assert_eq!(titled["info"]["description"], "Sells things.");
    assert!(titled.get("servers").is_none());
}

#[test]
fn relation_get_parameters() {
    let d = all();
    let get = &d["paths"]["/items"]["get"];
    let id = param(get, "id").expect("id filter");
    assert_eq!(id["in"], "query");
    assert_eq!(id["schema"], json!({"type": "string"}));
    assert!(id["description"].as_str().unwrap().contains("id=eq.x"));
    assert!(id["description"].as_str().unwrap().contains("in.(x,y)"));
    // A column named like a reserved query word cannot be filtered.
    assert!(param(get, "limit").is_none());
    assert!(refs(get).contains(&"#/components/parameters/limit".to_string()));
    for p in ["select", "order", "range", "rangeUnit", "offset", "limit", "preferGet"] {
        assert!(refs(get).contains(&format!("#/components/parameters/{p}")), "{p}");
    }
    let shared = &d["components"]["parameters"];
    assert_eq!(shared["range"]["name"], "Range");
    assert_eq!(shared["range"]["in"], "header");
    assert_eq!(shared["rangeUnit"]["name"], "Range-Unit");
    assert!(shared["preferGet"]["description"].as_str().unwrap().contains("count=exact|planned|estimated"));
    assert!(shared["preferPost"]["description"].as_str().unwrap().contains("missing=default"));
    // One schema: no profile headers.
    assert!(shared.get("acceptProfile").is_none());
    assert!(!refs(get).iter().any(|r| r.contains("Profile")));

    assert_eq!(get["summary"], "Things we sell");
    assert_eq!(get["description"], "One row per thing.");
    assert_eq!(get["tags"], json!(["items"]));
    let ok = &get["responses"]["200"]["content"];
    assert_eq!(
        ok["application/json"]["schema"],
        json!({"type": "array", "items": {"$ref": "#/components/schemas/items"}})
    );
    assert_eq!(ok["application/vnd.pgrst.object+json"]["schema"], json!({"$ref": "#/components/schemas/items"}));
    assert!(ok["text/csv"].is_object());
    assert!(get["responses"]["206"].is_object());
    assert_eq!(get["responses"]["4XX"], json!({"$ref": "#/components/responses/Error"}));
}

#[test]
fn profiles_when_several_schemas() {
    let d = build(&Visibility::All, &["api".to_string(), "v2".to_string()]);
    let shared = &d["components"]["parameters"];
    assert_eq!(shared["acceptProfile"]["name"], "Accept-Profile");
    assert_eq!(shared["acceptProfile"]["schema"]["enum"], json!(["api", "v2"]));
    assert_eq!(shared["contentProfile"]["name"], "Content-Profile");
    assert!(refs(&d["paths"]["/items"]["get"]).contains(&"#/components/parameters/acceptProfile".to_string()));
    assert!(refs(&d["paths"]["/items"]["post"]).contains(&"#/components/parameters/contentProfile".to_string()));
    assert!(refs(&d["paths"]["/rpc/add"]["post"]).contains(&"#/components/parameters/contentProfile".to_string()));
    // Only the described schema's relations.
    assert!(d["paths"].get("/elsewhere").is_none());
}

#[test]
fn write_operations_follow_kind_mask_and_primary_key() {
    let d = all();
    let paths = &d["paths"];
    let methods = |p: &str| {
        let mut m: Vec<String> = paths[p].as_object().unwrap().keys().cloned().collect();
        m.sort();
        m
    };
    assert_eq!(methods("/items"), ["delete", "get", "patch", "post", "put"]);
    // No primary key: no PUT.
    assert_eq!(methods("/people"), ["delete", "get", "patch", "post"]);
    // Insertable view only.
    assert_eq!(methods("/cheap"), ["get", "post"]);
    assert_eq!(methods("/report"), ["get"]);
    assert!(paths.get("/Order%20Items").is_some());
    assert!(d["components"]["schemas"].get("Order.20Items").is_some());
    assert_eq!(
        paths["/Order%20Items"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["items"]["$ref"],
        "#/components/schemas/Order.20Items"
    );

    let post = &paths["/items"]["post"];
    assert_eq!(
        post["requestBody"]["content"]["application/json"]["schema"],
        json!({"oneOf": [{"$ref": "#/components/schemas/items"},
                         {"type": "array", "items": {"$ref": "#/components/schemas/items"}}]})
    );
    assert!(post["responses"]["201"].is_object());
    for p in ["select", "columns", "onConflict", "preferPost"] {
        assert!(refs(post).contains(&format!("#/components/parameters/{p}")));
    }
    let put = &paths["/items"]["put"];
    assert_eq!(
        put["requestBody"]["content"]["application/json"]["schema"],
        json!({"$ref": "#/components/schemas/items"})
    );
    assert!(put["description"].as_str().unwrap().contains("(id)"));
    let patch = &paths["/items"]["patch"];
    let body = &patch["requestBody"]["content"]["application/json"]["schema"];
    assert!(body.get("required").is_none());
    assert_eq!(body["properties"]["price"]["type"], json!(["number", "null"]));
    assert!(patch["responses"]["204"].is_object());
    assert!(param(&paths["/items"]["delete"], "id").is_some());
}

#[test]
fn component_types_nullability_required_comments() {
    let d = all();
    let items = &d["components"]["schemas"]["items"];
    assert_eq!(items["type"], "object");
    assert_eq!(items["description"], "Things we sell\nOne row per thing.");
    let p = &items["properties"];
    assert_eq!(p["id"]["type"], "integer");
    assert_eq!(p["id"]["format"], "int32");
    assert_eq!(p["id"]["description"], "The item number\n\nNote:\nThis is a Primary Key.<pk/>");
    assert_eq!(p["name"], json!({"type": "string", "format": "character varying", "maxLength": 20}));
    assert_eq!(p["price"]["type"], json!(["number", "null"]));
    assert_eq!(p["big"], json!({"type": ["integer", "null"], "format": "int64"}));
    assert_eq!(p["tags"], json!({"type": ["array", "null"], "items": {"type": "string", "format": "text"}}));
    assert_eq!(p["data"], json!({}));
    assert_eq!(p["uid"], json!({"type": "string", "format": "uuid"}));
    assert_eq!(p["made"], json!({"type": ["string", "null"], "format": "date"}));
    assert_eq!(p["created"], json!({"type": "string", "format": "date-time"}));
    assert_eq!(p["ok"], json!({"type": ["boolean", "null"]}));
    assert_eq!(
        p["owner"]["description"],
        "Note:\nThis is a Foreign Key to `people.id`.<fk table='people' column='id'/>"
    );
    // NOT NULL without a default; `created` has one.
    assert_eq!(items["required"], json!(["id", "name", "uid"]));
}

#[test]
fn type_mapping() {
    assert_eq!(type_schema("smallint")["format"], "int32");
    assert_eq!(type_schema("double precision")["type"], "number");
    assert_eq!(type_schema("real")["type"], "number");
    assert_eq!(type_schema("timestamp(3) with time zone"), json!({"type": "string", "format": "date-time"}));
    assert_eq!(
        type_schema("timestamp without time zone"),
        json!({"type": "string", "format": "timestamp without time zone"})
    );
    assert_eq!(type_schema("json"), json!({}));
    assert_eq!(
        type_schema("integer[][]"),
        json!({"type": "array", "items": {"type": "array", "items": {"type": "integer", "format": "int32"}}})
    );
    assert_eq!(type_schema("api.mood"), json!({"type": "string", "format": "api.mood"}));
    assert_eq!(type_schema("inet")["type"], "string");
    assert_eq!(type_schema("interval")["type"], "string");
}

#[test]
fn rpc_bodies_defaults_and_get_only_when_not_volatile() {
    let d = all();
    let paths = &d["paths"];
    let add = &paths["/rpc/add"];
    let body = &add["post"]["requestBody"];
    assert_eq!(body["required"], true);
    assert_eq!(
        body["content"]["application/json"]["schema"],
        json!({"type": "object",
               "properties": {"a": {"type": "integer", "format": "int32"},
                              "b": {"type": "integer", "format": "int32"},
                              "c": {"type": "integer", "format": "int32"}},
               "required": ["a", "b"]})
    );
    // Immutable: GET with query arguments, the defaulted one optional.
    let get = &add["get"];
    assert_eq!(param(get, "a").unwrap()["required"], true);
    assert_eq!(param(get, "a").unwrap()["in"], "query");
    assert_eq!(param(get, "c").unwrap()["required"], false);
    assert_eq!(
        add["post"]["responses"]["200"]["content"]["application/json"]["schema"],
        json!({"type": ["integer", "null"], "format": "int32"})
    );
    // Volatile: POST only.
    assert!(paths["/rpc/bump"].get("get").is_none());
    assert!(paths["/rpc/bump"].get("post").is_some());
    // Variadic input, OUT argument not in the body.
    let lookup = &paths["/rpc/lookup"];
    let schema = &lookup["post"]["requestBody"]["content"]["application/json"]["schema"];
    assert_eq!(schema["properties"]["ids"]["type"], "array");
    assert!(schema["properties"].get("total").is_none());
    assert!(lookup.get("get").is_some());
    // A set of table rows.
    let all_items = &paths["/rpc/all_items"];
    assert_eq!(
        all_items["get"]["responses"]["200"]["content"]["application/json"]["schema"],
        json!({"type": "array", "items": {"$ref": "#/components/schemas/items"}})
    );
    assert_eq!(all_items["post"]["summary"], "Every item");
    assert_eq!(all_items["post"]["requestBody"]["required"], false, "nothing to pass");
    // One unnamed json argument takes the body; void answers 204.
    let nothing = &paths["/rpc/nothing"]["post"];
    assert_eq!(nothing["requestBody"]["content"]["application/json"]["schema"], json!({}));
    assert!(nothing["responses"]["204"].is_object());
}

#[test]
fn visibility_hides_relations_functions_and_commands() {
    let d = all();
    assert!(d["paths"].get("/hidden").is_some());
    assert!(d["paths"].get("/rpc/secret_fn").is_some());

    let mut vis = Visibility::only(["items", "people"], ["add", "all_items"]);
    let d = build(&vis, &["api".to_string()]);
    assert!(d["paths"].get("/hidden").is_none());
    assert!(d["components"]["schemas"].get("hidden").is_none());
    assert!(d["paths"].get("/rpc/secret_fn").is_none());
    assert!(d["paths"].get("/cheap").is_none());
    assert!(d["paths"]["/items"].get("put").is_some());
    assert!(d["paths"].get("/rpc/add").is_some());

    if let Visibility::Only { commands, .. } = &mut vis {
        commands.insert("items".into(), Commands { select: true, insert: false, update: false, delete: false });
    }
    let d = build(&vis, &["api".to_string()]);
    let methods: Vec<&String> = d["paths"]["/items"].as_object().unwrap().keys().collect();
    assert_eq!(methods, ["get"]);
}

#[test]
fn deterministic() {
    assert_eq!(all().to_string(), all().to_string());
}

#[test]
fn privileges_statement_binds_the_schema() {
    let st = privileges_statement("api\"; drop table x; --");
    assert_eq!(st.params, vec!["api\"; drop table x; --".to_string()]);
    assert!(!st.sql.contains("drop table"));
    assert!(st.sql.contains("n.nspname = $1::text"));
    assert!(!st.sql.contains("$2"));
}

#[test]
fn visibility_decodes() {
    let v = visibility_from_json(
        r#"{"relations": {"items": {"select": true, "insert": false, "update": false, "delete": false}},
            "functions": ["add"]}"#,
    )
    .unwrap();
    assert_eq!(v.relation("items"), Some(Commands { select: true, insert: false, update: false, delete: false }));
    assert_eq!(v.relation("hidden"), None);
    assert!(v.function("add"));
    assert!(!v.function("secret_fn"));
    let empty = visibility_from_json(r#"{"relations": {}, "functions": []}"#).unwrap();
    assert_eq!(empty.relation("items"), None);
    assert!(visibility_from_json("not json").is_err());
}

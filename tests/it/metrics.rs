//! `/metrics` on the admin listener: scraped before and after a known set of requests, the
//! deltas must be exactly what those requests did. Also `Server-Timing` and `X-Request-Id`.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::json;

use crate::harness::*;

/// `name{labels}` → value of every sample in an OpenMetrics scrape.
async fn scrape(g: &Gateway) -> HashMap<String, f64> {
    let r = g.http.get(g.admin_url("/metrics")).send().await.expect("scrape");
    assert_eq!(r.status(), 200);
    let ct = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("application/openmetrics-text"), "{ct}");
    let text = r.text().await.unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l.rsplit_once(' ').unwrap_or_else(|| panic!("bad sample line {l:?}"));
            (k.to_string(), v.parse::<f64>().unwrap_or_else(|_| panic!("bad value in {l:?}")))
        })
        .collect()
}

fn get(m: &HashMap<String, f64>, key: &str) -> f64 {
    m.get(key).copied().unwrap_or(0.0)
}

async fn start() -> Gateway {
    let db = TestDb::new().await;
    db.admin()
        .await
        .batch_execute(
            "insert into auth.users (email, encrypted_password) values
               ('meter@example.com', crypt('correct horse', gen_salt('bf', 10)))",
        )
        .await
        .unwrap();
    let key = rowgate::auth::signing::SigningKey::generate_jwk().unwrap();
    let cfg = config(&db, |a| a.jwt_signing_key = Some(key));
    Gateway::start_on(db, cfg).await
}

#[tokio::test]
async fn scrape_deltas_match_the_requests_made() {
    let g = start().await;
    let before = scrape(&g).await;
    // The pool and the schema cache are visible from the first scrape on.
    assert_eq!(get(&before, "rowgate_db_pool_max_connections"), 10.0);
    for gauge in ["rowgate_db_pool_connections", "rowgate_db_pool_idle_connections", "rowgate_db_pool_waiting_requests"]
    {
        assert!(before.contains_key(gauge), "{gauge} missing");
    }
    assert!(get(&before, "rowgate_schema_cache_loads_total{outcome=\"ok\"}") >= 1.0);
    assert!(get(&before, "rowgate_schema_cache_last_load_duration_seconds") > 0.0);
    assert!(get(&before, "rowgate_schema_cache_load_duration_seconds_count") >= 1.0);
    assert!(before.contains_key("rowgate_build_info{version=\"0.1.0\"}"));

    // Three reads, two of them with the same token (a cache miss, then a hit).
    let bearer = bearer(json!({"role": "authenticated", "exp": now() + 600}));
    assert_eq!(g.get("/items").await.status, 200);
    assert_eq!(g.get_with("/items?id=eq.1", &[("authorization", &bearer)]).await.status, 200);
    assert_eq!(g.get_with("/items", &[("authorization", &bearer)]).await.status, 200);
    // A write, an RPC, and an anonymous insert without the grant (42501 → 401).
    let r = g.send(Method::POST, "/goods", &[], r#"{"name":"kiwi","price":1}"#).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(g.get("/rpc/add?a=1&b=2").await.status, 200);
    let r = g.send(Method::POST, "/private_things", &[], r#"{"id":1}"#).await;
    assert_eq!((r.status, r.code()), (401, "42501".to_string()), "{}", r.body);
    // The OpenAPI document at the root.
    let r = g.get("/").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.json()["openapi"].is_string(), "{}", r.body);
    // A failed and a successful sign-in.
    let login = |password: &str| json!({"email": "meter@example.com", "password": password}).to_string();
    let r = g.send(Method::POST, "/auth/v1/token?grant_type=password", &[], &login("wrong")).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = g.send(Method::POST, "/auth/v1/token?grant_type=password", &[], &login("correct horse")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // A refresh, then a reuse of the spent token once the replay window has passed.
    let refresh = json!({"refresh_token": r.json()["refresh_token"]}).to_string();
    let r = g.send(Method::POST, "/auth/v1/token?grant_type=refresh_token", &[], &refresh).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let backdate =
        "update auth.refresh_tokens set revoked_at = now() - interval '1 minute' where revoked_at is not null";
    g.db.admin().await.batch_execute(backdate).await.unwrap();
    let r = g.send(Method::POST, "/auth/v1/token?grant_type=refresh_token", &[], &refresh).await;
    assert_eq!(r.json()["error_code"], "refresh_token_already_used", "{}", r.body);

    let after = scrape(&g).await;
    let delta = |key: &str| get(&after, key) - get(&before, key);
    for (key, want) in [
        ("rowgate_http_requests_total{kind=\"read\",status=\"200\"}", 3.0),
        ("rowgate_http_requests_total{kind=\"write\",status=\"201\"}", 1.0),
        ("rowgate_http_requests_total{kind=\"write\",status=\"401\"}", 1.0),
        ("rowgate_http_requests_total{kind=\"rpc\",status=\"200\"}", 1.0),
        ("rowgate_http_requests_total{kind=\"openapi\",status=\"200\"}", 1.0),
        ("rowgate_http_request_duration_seconds_count{kind=\"openapi\"}", 1.0),
        ("rowgate_http_requests_total{kind=\"auth\",status=\"400\"}", 2.0),
        ("rowgate_http_requests_total{kind=\"auth\",status=\"200\"}", 2.0),
        ("rowgate_http_request_duration_seconds_count{kind=\"read\"}", 3.0),
        ("rowgate_http_request_duration_seconds_bucket{le=\"+Inf\",kind=\"read\"}", 3.0),
        ("rowgate_http_request_duration_seconds_count{kind=\"auth\"}", 4.0),
        ("rowgate_db_privilege_denials_total{kind=\"write\"}", 1.0),
        ("rowgate_db_privilege_denials_total{kind=\"read\"}", 0.0),
        ("rowgate_jwt_cache_misses_total", 1.0),
        ("rowgate_jwt_cache_hits_total", 1.0),
        ("rowgate_auth_events_total{event=\"login\"}", 1.0),
        ("rowgate_auth_events_total{event=\"login_failure\"}", 1.0),
        ("rowgate_auth_events_total{event=\"token_refresh\"}", 1.0),
        ("rowgate_auth_events_total{event=\"refresh_reuse\"}", 1.0),
        ("rowgate_auth_events_total{event=\"rate_limited\"}", 0.0),
        ("rowgate_db_pool_acquisition_timeouts_total", 0.0),
    ] {
        assert_eq!(delta(key), want, "{key}");
    }
    assert!(delta("rowgate_http_request_duration_seconds_sum{kind=\"read\"}") > 0.0);
    // The pool opened connections for those requests; none is waiting now.
    assert!(get(&after, "rowgate_db_pool_connections") >= 1.0);
    assert_eq!(get(&after, "rowgate_db_pool_waiting_requests"), 0.0);
    // Labels never carry a path, a relation name or a user.
    assert!(!after.keys().any(|k| k.contains("items") || k.contains("goods") || k.contains("meter@")));
}

/// Each `name;dur=ms` entry of a `Server-Timing` value.
fn timings(header: &str) -> Vec<(String, f64)> {
    header
        .split(", ")
        .map(|entry| {
            let (name, dur) = entry.split_once(";dur=").unwrap_or_else(|| panic!("bad entry {entry:?} in {header}"));
            (name.to_string(), dur.parse().unwrap_or_else(|_| panic!("bad duration in {header}")))
        })
        .collect()
}

#[tokio::test]
async fn server_timing_only_when_enabled() {
    let off = Gateway::start().await;
    assert_eq!(off.get("/items").await.header("server-timing"), None);

    let g = Gateway::start_with(|a| a.server_timing = Some("true".into())).await;
    let auth = bearer(json!({"role": "authenticated"}));
    let started = std::time::Instant::now();
    let r = g.get_with("/items", &[("authorization", &auth)]).await;
    let waited_ms = started.elapsed().as_secs_f64() * 1000.0;
    let t = timings(r.header("server-timing").expect("Server-Timing sent"));
    let names: Vec<&str> = t.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["jwt", "parse", "plan", "transaction", "response"], "PostgREST's names and order");
    // The phases run one after the other within the request the client waited for, and the
    // transaction (a round trip to PostgreSQL) takes measurable time.
    let total: f64 = t.iter().map(|(_, d)| d).sum();
    assert!(total <= waited_ms, "phases sum to {total} ms, the client waited {waited_ms} ms: {t:?}");
    assert!(t[3].1 > 0.0, "{t:?}");
    assert!(t.iter().any(|(_, d)| *d > 0.0));
    // Writes, RPC and errors carry it too (an error only with the phases that ran).
    let r = g.send(Method::POST, "/goods", &[], r#"{"name":"fig"}"#).await;
    assert_eq!(r.status, 201);
    assert!(timings(r.header("server-timing").unwrap()).iter().any(|(n, _)| n == "transaction"));
    let r = g.get("/nope").await;
    assert_eq!(r.status, 404);
    assert!(timings(r.header("server-timing").unwrap()).iter().all(|(n, _)| n != "transaction"));
}

#[tokio::test]
async fn request_ids_are_honoured_or_generated_and_echoed() {
    let g = Gateway::start().await;
    let r = g.get_with("/items", &[("x-request-id", "client-id_1.2")]).await;
    assert_eq!(r.header("x-request-id"), Some("client-id_1.2"));
    // SQL sees the same id in request.headers.
    let r = g.get_with("/whoami?select=headers", &[("x-request-id", "sql-sees-it")]).await;
    assert_eq!(r.header("x-request-id"), Some("sql-sees-it"));
    assert!(r.body.contains("sql-sees-it"), "{}", r.body);

    for insane in ["has space", "quote\"d", &"x".repeat(201)] {
        let r = g.get_with("/whoami?select=headers", &[("x-request-id", insane)]).await;
        let id = r.header("x-request-id").expect("an id").to_string();
        assert_ne!(id, insane);
        assert_eq!(id.len(), 36, "a UUID: {id}");
        assert!(r.body.contains(&id), "the generated id reaches SQL: {}", r.body);
    }
    let a = g.get("/items").await.header("x-request-id").unwrap().to_string();
    let b = g.get("/nope").await.header("x-request-id").unwrap().to_string();
    assert_ne!(a, b);
}

//! Point 9 (the auth contract and `Prefer: timezone`): a valid token without a role claim runs as
//! the anonymous role and counts as anonymous for 42501 (401, not 403); an unknown time zone is
//! 400 from PostgreSQL whatever `handling` says, offsets are zones too.

use serde_json::json;

use super::*;

fn bearer(claims: serde_json::Value) -> String {
    format!("Bearer {}", token(claims))
}

#[tokio::test]
async fn a_token_without_a_role_is_anonymous() {
    let g = Gateway::start().await;
    let auth = bearer(json!({"sub": "someone"}));
    let v = ok_with(&g, "/whoami?select=role,claims", &auth).await;
    assert_eq!(v[0]["role"], "anon");
    let claims: serde_json::Value = serde_json::from_str(v[0]["claims"].as_str().unwrap()).unwrap();
    assert_eq!(claims, json!({"sub": "someone", "role": "anon"}));
    // Denied as the anonymous role: 401 with the challenge, as without a token.
    for path in ["/private_things", "/secret_things"] {
        let r = g.get_with(path, &[("authorization", &auth)]).await;
        assert_eq!(status_code(&r), (401, "42501".into()), "{path}: {}", r.body);
        assert_eq!(r.header("www-authenticate"), Some("Bearer"), "{path}");
    }
    // A token naming the anonymous role is the same.
    let r = g.get_with("/private_things", &[("authorization", &bearer(json!({"role": "anon"})))]).await;
    assert_eq!(r.status, 401);
    // Another role that is denied: 403, no challenge.
    let r = g.get_with("/secret_things", &[("authorization", &bearer(json!({"role": "authenticated"})))]).await;
    assert_eq!((r.status, r.header("www-authenticate")), (403, None));
}

async fn ok_with(g: &Gateway, path: &str, auth: &str) -> serde_json::Value {
    let r = g.get_with(path, &[("authorization", auth)]).await;
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    r.json()
}

#[tokio::test]
async fn an_unknown_time_zone_is_400_and_offsets_apply() {
    let g = Gateway::start().await;
    for prefer in ["handling=strict, timezone=Mars/Olympus", "timezone=Mars/Olympus", "handling=lenient, timezone=Nope"]
    {
        let r = g.get_with("/items?select=id&id=eq.1", &[("prefer", prefer)]).await;
        assert_eq!(status_code(&r), (400, "22023".into()), "{prefer}: {}", r.body);
        assert!(r.json()["message"].as_str().unwrap().starts_with("invalid value for parameter \"TimeZone\""));
    }
    let r = g.get_with("/goods?select=id&id=eq.1", &[("prefer", "timezone=+05:30")]).await;
    assert_eq!((r.status, r.header("preference-applied")), (200, Some("timezone=+05:30")));
    let r = g
        .send(
            reqwest::Method::POST,
            "/goods?select=tz",
            &[("prefer", "return=representation, timezone=-03:00")],
            r#"{"name":"kiwi"}"#,
        )
        .await;
    assert_eq!((r.status, r.json()), (201, json!([{"tz": "-03:00"}])), "{}", r.body);
}

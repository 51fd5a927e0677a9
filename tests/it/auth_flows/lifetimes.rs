//! Point 1: the access-token lifetime (`ROWGATE_JWT_EXP`), the refresh-token lifetime, the session
//! time-box and the inactivity timeout, the last three enforced by `auth.refresh` in SQL.

use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::*;

const SETUP: &str = "insert into auth.users (email, encrypted_password)
  values ('life@example.com', crypt('correct horse', gen_salt('bf', 4)))";

async fn start(tweak: impl FnOnce(&mut rowgate::config::AuthFlowArgs)) -> Gateway {
    let db = TestDb::new().await;
    db.admin().await.batch_execute(SETUP).await.unwrap();
    let cfg = config(&db, |a| {
        a.jwt_signing_key = Some(rowgate::auth::signing::SigningKey::generate_jwk().unwrap());
        tweak(&mut a.auth_flows)
    });
    Gateway::start_on(db, cfg).await
}

async fn sign_in(g: &Gateway) -> Value {
    let r = g
        .http
        .post(g.url("/auth/v1/token?grant_type=password"))
        .json(&json!({"email": "life@example.com", "password": "correct horse"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn refresh(g: &Gateway, token: &Value) -> (u16, Value) {
    let r = g
        .http
        .post(g.url("/auth/v1/token?grant_type=refresh_token"))
        .json(&json!({"refresh_token": token}))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

fn claims(access_token: &Value) -> Value {
    use base64::Engine;
    let payload = access_token.as_str().unwrap().split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn access_and_refresh_token_lifetimes_follow_the_settings() {
    let g = start(|f| {
        f.jwt_exp = Some("120".into());
        f.refresh_token_lifetime = Some("2".into());
    })
    .await;
    let s = sign_in(&g).await;
    assert_eq!(s["expires_in"], 120);
    let c = claims(&s["access_token"]);
    assert_eq!(c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(), 120);
    // A fresh refresh token works; one older than the lifetime is unknown.
    let (status, s2) = refresh(&g, &s["refresh_token"]).await;
    assert_eq!(status, 200, "{s2}");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (status, body) = refresh(&g, &s2["refresh_token"]).await;
    assert_eq!((status, body["error_code"].as_str()), (400, Some("refresh_token_not_found")), "{body}");
}

#[tokio::test]
async fn the_default_access_token_lifetime_is_an_hour_and_gotrue_names_are_read() {
    let env = |k: &str| (k == "GOTRUE_JWT_EXP").then(|| "900".to_string());
    let cfg = rowgate::config::Config::from_args(&rowgate::config::ServeArgs::default(), &env).unwrap();
    assert_eq!(cfg.auth_flows.jwt_exp, 900);
    let g = start(|_| {}).await;
    assert_eq!(sign_in(&g).await["expires_in"], 3600);
}

#[tokio::test]
async fn sessions_end_after_inactivity_and_after_the_time_box() {
    let idle = start(|f| f.sessions_inactivity_timeout = Some("2".into())).await;
    let s = sign_in(&idle).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (status, s) = refresh(&idle, &s["refresh_token"]).await;
    assert_eq!(status, 200, "used within the timeout: {s}");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (status, body) = refresh(&idle, &s["refresh_token"]).await;
    assert_eq!((status, body["error_code"].as_str()), (400, Some("session_expired")), "{body}");
    // The session is over: its access token no longer works either.
    let r =
        idle.http.get(idle.url("/auth/v1/user")).bearer_auth(s["access_token"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(r.status(), 403);

    let boxed = start(|f| f.sessions_timebox = Some("2".into())).await;
    let s = sign_in(&boxed).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let (status, s) = refresh(&boxed, &s["refresh_token"]).await;
    assert_eq!(status, 200, "{s}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (status, body) = refresh(&boxed, &s["refresh_token"]).await;
    assert_eq!((status, body["error_code"].as_str()), (400, Some("session_expired")), "{body}");
}

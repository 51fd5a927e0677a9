//! The Phoenix protocol as realtime-js relies on it, frame by frame with a raw WebSocket client:
//! refusals before the upgrade, heartbeats, both serializations, join replies and their ids,
//! leave, duplicate joins, tokens that expire, and every kind of bad input answered with the
//! protocol's error reply (never a panic, never a stuck connection).

use std::time::Duration;

use futures_util::SinkExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use super::*;
use crate::tenants::MEMBER_A;

const WAIT: Duration = Duration::from_secs(5);

fn tasks() -> Value {
    json!([{"event": "INSERT", "schema": "api", "table": "tasks", "filter": "title=eq.x"}, {"event": "*", "schema": "api", "table": "tasks"}])
}

#[tokio::test]
async fn refusals_before_the_upgrade() {
    let g = gateway(world(&[]).await, |_| {}).await;
    let ws_headers = [
        ("connection", "Upgrade"),
        ("upgrade", "websocket"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];
    let r = g.get_with("/realtime/v1/websocket?vsn=2.0.0", &ws_headers).await;
    assert_eq!((r.status, r.json()), (401, json!({"error": "API key is missing"})));
    let r = g.get_with("/realtime/v1/websocket?apikey=not.a.jwt&vsn=2.0.0", &ws_headers).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(r.json()["error"].is_string());
    let r = g.get_with(&format!("/realtime/v1/websocket?apikey={}&vsn=9.0.0", anon_key()), &ws_headers).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = g.get(&format!("/realtime/v1/websocket?apikey={}", anon_key())).await;
    assert_eq!(r.status, 400, "a plain GET is not an upgrade: {}", r.body);
    // Realtime off: 503, and the REST API is unaffected.
    let off = Gateway::start_with(|_| {}).await;
    let r = off.get_with(&format!("/realtime/v1/websocket?apikey={}", anon_key()), &ws_headers).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(off.get("/").await.status, 200);
    super::drop_slot(&g).await;
}

#[tokio::test]
async fn heartbeat_join_reply_ids_and_leave_in_both_serializations() {
    let g = gateway(world(&[]).await, |_| {}).await;
    for v2 in [true, false] {
        let mut c = Client::connect(g.running.api_addr, &anon_key(), v2).await;
        let r = c.send(None, "phoenix", "heartbeat", json!({})).await;
        let hb = c.until(WAIT, |f| f.event == "phx_reply").await;
        assert_eq!(
            (hb.topic.as_str(), &hb.reference, &hb.payload),
            ("phoenix", &json!(r), &json!({"status": "ok", "response": {}}))
        );

        let (join_ref, reply) = c.join("realtime:feed", tasks(), Some(&user_token(MEMBER_A, 3600))).await;
        if v2 {
            assert_eq!(reply.join_ref, json!(join_ref));
        }
        assert_eq!(reply.payload["status"], "ok");
        let echoed = reply.payload["response"]["postgres_changes"].as_array().expect("the bindings, echoed");
        assert_eq!(echoed.len(), 2);
        for (sent, got) in tasks().as_array().unwrap().iter().zip(echoed) {
            for key in ["event", "schema", "table"] {
                assert_eq!(sent[key], got[key]);
            }
            assert_eq!(sent.get("filter"), got.get("filter"), "an omitted filter stays omitted");
            assert!(got["id"].as_u64().is_some_and(|id| id > 0), "{got}");
        }
        assert_ne!(echoed[0]["id"], echoed[1]["id"]);
        let sys = c.until(WAIT, |f| f.event == "system").await;
        assert_eq!(
            sys.payload,
            json!({"extension": "postgres_changes", "status": "ok", "message": "Subscribed to PostgreSQL", "channel": "feed"})
        );

        // A join without bindings is fine too.
        let (_, empty) = c.join("realtime:none", json!([]), None).await;
        assert_eq!(empty.payload, json!({"status": "ok", "response": {"postgres_changes": []}}));

        let leave = c.send(Some(&join_ref), "realtime:feed", "phx_leave", json!({})).await;
        let reply = c.until(WAIT, |f| f.event == "phx_reply" && f.reference == json!(leave)).await;
        assert_eq!(reply.payload["status"], "ok");
        let close = c.until(WAIT, |f| f.event == "phx_close").await;
        assert_eq!((close.topic.as_str(), &close.reference), ("realtime:feed", &json!(join_ref)));
        let (_, channels) = g.running.state.realtime.counts();
        let _ = channels;
    }
    super::drop_slot(&g).await;
}

#[tokio::test]
async fn bad_input_gets_error_replies_and_the_connection_lives_on() {
    let g = gateway(world(&[]).await, |a| a.realtime_queue = Some("8".into())).await;
    let mut c = Client::connect(g.running.api_addr, &anon_key(), true).await;
    // Not JSON, not a frame.
    for bad in ["{not json", "[1,2]", "{\"topic\":1}"] {
        c.send_raw(bad).await;
        let e = c.until(WAIT, |f| f.event == "phx_reply").await;
        assert_eq!(e.payload["status"], "error", "{bad}: {e:?}");
    }
    // Unknown topics and events on unjoined topics.
    let r = c.send(None, "realtime:nobody", "phx_leave", json!({})).await;
    let e = c.until(WAIT, |f| f.reference == json!(r)).await;
    assert_eq!(e.payload["response"]["reason"], "unmatched topic");
    let (_, e) = c.join("realtime:", tasks(), None).await;
    assert!(e.payload["response"]["reason"].as_str().unwrap().starts_with("TopicNameRequired"), "{e:?}");
    let (_, e) = c.join("other", tasks(), None).await;
    assert_eq!(e.payload["status"], "error");
    // Forged and expired tokens.
    let forged = rowgate::auth::mint_hs256(
        "another-secret-another-secret-12345",
        &json!({"role": "authenticated", "sub": MEMBER_A}),
    );
    let (_, e) = c.join("realtime:forged", tasks(), Some(&forged)).await;
    assert!(e.payload["response"]["reason"].as_str().unwrap().starts_with("InvalidJWTToken"), "{e:?}");
    let expired = token(json!({"role": "authenticated", "sub": MEMBER_A, "exp": now() - 600}));
    let (_, e) = c.join("realtime:expired", tasks(), Some(&expired)).await;
    assert!(e.payload["response"]["reason"].as_str().unwrap().starts_with("InvalidJWTToken"), "{e:?}");
    // Bad bindings: the join succeeds (the client needs its ids), a system error names the problem.
    for (binding, why) in [
        (json!({"event": "*", "schema": "api", "table": "tasks", "filter": "title=foo.1"}), "Error parsing `filter`"),
        (json!({"event": "*", "schema": "api", "table": "tasks", "filter": "nope=eq.1"}), "does not exist"),
        (json!({"event": "*", "schema": "api", "table": "tasks", "filter": "id=eq.not-a-uuid"}), "uuid"),
        (json!({"event": "*", "schema": "api", "table": "organizations"}), "no published table"),
        (json!({"event": "*", "schema": "api", "table": "tasks", "filter": "title=in.a,b"}), "parenthesised"),
    ] {
        let (_, reply) = c.join("realtime:bad", json!([binding]), Some(&user_token(MEMBER_A, 3600))).await;
        assert_eq!(reply.payload["status"], "ok", "{reply:?}");
        let sys = c.until(WAIT, |f| f.event == "system").await;
        assert_eq!(
            (sys.payload["extension"].as_str(), sys.payload["status"].as_str()),
            (Some("postgres_changes"), Some("error"))
        );
        assert!(sys.payload["message"].as_str().unwrap().contains(why), "{why}: {sys:?}");
    }
    // Broadcast with ack and presence are refused with a reply; broadcast without ack is ignored.
    let mut payload = json!({"config": {"broadcast": {"ack": true, "self": false}, "presence": {"key": "", "enabled": false}, "postgres_changes": []}});
    payload["access_token"] = user_token(MEMBER_A, 3600).into();
    let jr = c.send(None, "realtime:chat", "phx_join", payload).await;
    c.until(WAIT, |f| f.reference == json!(jr)).await;
    let r = c
        .send(Some(&jr), "realtime:chat", "broadcast", json!({"type": "broadcast", "event": "hi", "payload": {}}))
        .await;
    let e = c.until(WAIT, |f| f.reference == json!(r)).await;
    assert_eq!(e.payload["status"], "error");
    assert!(e.payload["response"]["reason"].as_str().unwrap().contains("Broadcast"));
    let r = c
        .send(Some(&jr), "realtime:chat", "presence", json!({"type": "presence", "event": "track", "payload": {}}))
        .await;
    let e = c.until(WAIT, |f| f.reference == json!(r)).await;
    assert!(e.payload["response"]["reason"].as_str().unwrap().contains("Presence"));
    // Still alive.
    let r = c.send(None, "phoenix", "heartbeat", json!({})).await;
    assert_eq!(c.until(WAIT, |f| f.reference == json!(r)).await.payload["status"], "ok");
    // An oversized message closes the connection with 1009.
    c.ws.send(Message::text("x".repeat(2 * 1024 * 1024))).await.ok();
    let closed = loop {
        match tokio::time::timeout(WAIT, futures_util::StreamExt::next(&mut c.ws)).await {
            Ok(Some(Ok(Message::Close(Some(f))))) => break Some(u16::from(f.code)),
            Ok(Some(Ok(_))) => continue,
            _ => break None,
        }
    };
    assert_eq!(closed, Some(1009));
    super::drop_slot(&g).await;
}

#[tokio::test]
async fn a_second_join_closes_the_first_and_an_expiring_token_closes_its_channel() {
    let g = gateway(world(&[]).await, |_| {}).await;
    let mut c = Client::connect(g.running.api_addr, &anon_key(), true).await;
    let (first, _) = c.join("realtime:feed", tasks(), Some(&user_token(MEMBER_A, 3600))).await;
    let (second, reply) = c.join("realtime:feed", tasks(), Some(&user_token(MEMBER_A, 2))).await;
    assert_eq!(reply.payload["status"], "ok");
    // The old join's phx_close came before the reply.
    let _ = first;
    let sys = c.until(Duration::from_secs(8), |f| f.event == "system" && f.payload["extension"] == "system").await;
    assert!(sys.payload["message"].as_str().unwrap().starts_with("Token has expired"), "{sys:?}");
    let close = c.until(WAIT, |f| f.event == "phx_close").await;
    assert_eq!(close.join_ref, json!(second));
    assert_eq!(g.running.state.realtime.counts().0, 0, "the channel is gone from the registry");
    super::drop_slot(&g).await;
}

/// A client that stops reading is disconnected once its queue is full: the gateway never buffers
/// without bound, and other subscribers keep receiving.
#[tokio::test]
async fn a_client_that_stops_reading_is_disconnected() {
    let blobs = "create table api.blobs (id bigserial primary key, body text not null);
                 alter table api.blobs replica identity full;
                 grant select on api.blobs to authenticated;
                 alter publication rowgate_realtime add table api.blobs;";
    let g = gateway(world(&[blobs]).await, |a| a.realtime_queue = Some("16".into())).await;
    let all = json!([{"event": "*", "schema": "api", "table": "blobs"}]);
    let mut slow = Client::connect(g.running.api_addr, &anon_key(), true).await;
    slow.join("realtime:slow", all.clone(), Some(&user_token(MEMBER_A, 3600))).await;
    slow.until(WAIT, |f| f.event == "system").await;
    let mut fast = Client::connect(g.running.api_addr, &anon_key(), true).await;
    fast.join("realtime:fast", all, Some(&user_token(MEMBER_A, 3600))).await;
    fast.until(WAIT, |f| f.event == "system").await;
    // Large rows, many of them: the slow client's socket buffers fill, then its queue.
    let admin = g.db.admin().await;
    let before = g.running.state.realtime.connection_count();
    assert_eq!(before, 2);
    admin
        .batch_execute("insert into api.blobs (body) select repeat('x', 60000) || n from generate_series(1, 400) n")
        .await
        .unwrap();
    // 24 MB through one socket: give a loaded machine time, but stop as soon as all arrived.
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    while got.len() < 400 && tokio::time::Instant::now() < deadline {
        got.extend(fast.changes(Duration::from_secs(2)).await);
    }
    assert_eq!(got.len(), 400, "the reading client got everything");
    let mut cut = false;
    for _ in 0..100 {
        if g.running.state.realtime.connection_count() == 1 {
            cut = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(cut, "the client that stopped reading is still connected");
    super::drop_slot(&g).await;
}

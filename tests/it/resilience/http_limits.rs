//! Limits at the HTTP layer: oversized headers (431) and bodies (413), bodies sent too slowly (408,
//! the connection closed), and a slow body never holding up shutdown past its deadline.

use super::*;

/// Sends one raw HTTP/1.1 request and returns the status line's code (0 when there is none).
async fn raw_status(addr: std::net::SocketAddr, request: &[u8]) -> u16 {
    let mut s = TcpStream::connect(addr).await.unwrap();
    if s.write_all(request).await.is_err() {
        return 0;
    }
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out);
    text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0)
}

#[tokio::test]
async fn oversized_headers_are_431_and_oversized_bodies_413() {
    let g = gateway(|a| {
        a.max_header_bytes = Some("16384".into());
        a.max_body_bytes = Some("1000".into());
    })
    .await;
    let addr = g.running.api_addr;
    let request = |header: usize| {
        format!("GET /items?id=eq.1 HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\nConnection: close\r\n\r\n", "a".repeat(header))
    };
    assert_eq!(raw_status(addr, request(4000).as_bytes()).await, 200);
    assert_eq!(raw_status(addr, request(16_400).as_bytes()).await, 431);
    let r = g.get_with("/items", &[("x-big", &"b".repeat(20_000))]).await;
    assert_eq!(r.status, 431);
    assert_eq!(
        r.json(),
        json!({"code": "PGRST431", "message": "Request headers larger than 16384 bytes (ROWGATE_MAX_HEADER_BYTES)", "details": null, "hint": null})
    );
    // Beyond the HTTP layer's own buffer (~400 KiB) hyper answers 431 itself; so it does for
    // more than 100 headers.
    let many: String = (0..120).map(|i| format!("X-H{i}: v\r\n")).collect();
    let req = format!("GET /items HTTP/1.1\r\nHost: x\r\n{many}Connection: close\r\n\r\n");
    assert_eq!(raw_status(addr, req.as_bytes()).await, 431);

    let big = json!({"seconds": 0, "pad": "x".repeat(2000)}).to_string();
    let r = g.send(Method::POST, "/rpc/nap", &[], &big).await;
    assert_eq!((r.status, r.code()), (413, "PGRST413".to_string()), "{}", r.body);
    assert_eq!(r.json()["message"], "Request body larger than 1000 bytes (ROWGATE_MAX_BODY_BYTES)");
    assert_eq!(g.get("/items?id=eq.1").await.status, 200);
}

// ---------------------------------------------------------------------------------------------
// Slow request bodies

/// What a client announcing a 1 MB body and then sending one byte of it every 200 ms sees:
/// everything the server sent, and after how long the server closed the connection (None: still
/// open after `within`).
async fn dribble_body(addr: std::net::SocketAddr, within: Duration) -> (String, Option<Duration>) {
    let s = TcpStream::connect(addr).await.unwrap();
    let (mut rx, mut tx) = s.into_split();
    let head =
        "POST /rpc/nap HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{";
    tx.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let dribbler = tokio::spawn(async move {
        while started.elapsed() < Duration::from_secs(60) {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if tx.write_all(b" ").await.is_err() {
                return;
            }
        }
    });
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let closed = loop {
        match tokio::time::timeout(within.saturating_sub(started.elapsed()), rx.read(&mut buf)).await {
            Err(_) => break None,
            Ok(Ok(0)) | Ok(Err(_)) => break Some(started.elapsed()),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    };
    dribbler.abort();
    (String::from_utf8_lossy(&out).into_owned(), closed)
}

#[tokio::test]
async fn a_body_sent_too_slowly_is_408_and_its_connection_closed() {
    // Long idle and head timeouts: only the body deadline can end this.
    let g = gateway(|a| {
        a.db_pool = Some("1".into());
        a.idle_timeout = Some("60s".into());
        a.header_read_timeout = Some("60s".into());
        a.body_read_timeout = Some("1s".into());
    })
    .await;
    let addr = g.running.api_addr;
    let slow = tokio::spawn(async move { dribble_body(addr, Duration::from_secs(20)).await });
    // The body is read before a pool connection is taken: the one connection stays free.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(g.get("/items?id=eq.1").await.status, 200, "the slow body holds the pool");
    let (answer, closed) = slow.await.unwrap();
    let t = closed.expect("a client dribbling its body was never disconnected");
    assert!(t >= Duration::from_millis(900) && t < Duration::from_secs(10), "cut after {t:?}: {answer}");
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    let lower = answer.to_ascii_lowercase();
    assert!(lower.contains("\r\nconnection: close\r\n"), "{answer}");
    assert!(lower.contains("\r\ncontent-type: application/json"), "{answer}");
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(body).unwrap_or_else(|e| panic!("{e}: {answer}")),
        json!({"code": "PGRST408", "message": "Request body not received within 1s (ROWGATE_BODY_READ_TIMEOUT)", "details": null, "hint": null})
    );

    // A body that arrives in pieces, but whole within the deadline, is served.
    let mut s = TcpStream::connect(addr).await.unwrap();
    let body = br#"{"seconds": 0}"#;
    let head = format!(
        "POST /rpc/nap HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    for piece in body.chunks(5) {
        tokio::time::sleep(Duration::from_millis(150)).await;
        s.write_all(piece).await.unwrap();
    }
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await.unwrap().unwrap();
    let out = String::from_utf8_lossy(&out);
    assert!(out.starts_with("HTTP/1.1 200 ") && out.ends_with("\"rested\""), "{out}");
}

#[tokio::test]
async fn a_slow_body_holds_up_shutdown_no_longer_than_the_body_deadline() {
    let g = gateway(|a| {
        a.idle_timeout = Some("60s".into());
        a.header_read_timeout = Some("60s".into());
        a.body_read_timeout = Some("1s".into());
        a.shutdown_timeout = Some("30s".into());
    })
    .await;
    let addr = g.running.api_addr;
    let slow = tokio::spawn(async move { dribble_body(addr, Duration::from_secs(40)).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let Gateway { running, .. } = g;
    let stopping = Instant::now();
    running.shutdown().await;
    let took = stopping.elapsed();
    assert!(took < Duration::from_secs(10), "the drain waited {took:?} for a body that never came");
    let (answer, closed) = slow.await.unwrap();
    assert!(closed.is_some(), "still connected after shutdown");
    assert!(answer.starts_with("HTTP/1.1 408 "), "the in-flight request got its answer: {answer}");
}

// ---------------------------------------------------------------------------------------------
// statement_timeout

//! `@supabase/supabase-js` (npm, unchanged; Node 20 with the `ws` transport) against
//! `/realtime/v1`: `tests/clients/supabase_realtime.mjs` subscribes two users of org A and one of
//! org B and checks every delivery itself (INSERT/UPDATE/DELETE by A reach both A subscribers
//! with their payload and never B, filters, token refresh and a token of another org, logout
//! elsewhere closing the channel, a revoked API token, leaving), and asks this test to restart
//! PostgreSQL and then rowgate in between, which it must survive.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

use crate::harness::*;
use crate::private_cluster::PrivateCluster;

async fn start(pg: &PrivateCluster, key: &str, listen: &str) -> rowgate::app::Running {
    let args = rowgate::config::ServeArgs {
        database_url: Some(pg.url()),
        listen: Some(listen.into()),
        admin_listen: Some("127.0.0.1:0".into()),
        jwt_secret: Some(SECRET.into()),
        jwt_signing_key: Some(key.into()),
        log: Some("warn".into()),
        db_pre_request: Some("internal.check_request".into()),
        realtime_db_url: Some(pg.replication_url()),
        realtime_slot: Some("rt_supabase_js".into()),
        realtime_recheck: Some("1s".into()),
        realtime_resume_grace: Some("2s".into()),
        ..Default::default()
    };
    let config = rowgate::config::Config::from_args(&args, &|_| None).expect("config");
    let running = rowgate::app::start(config).await.expect("start rowgate");
    assert!(running.wait_ready(Duration::from_secs(10)).await, "schema cache");
    for _ in 0..400 {
        if running.state.realtime.status() == rowgate::realtime::Status::Live {
            return running;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("realtime never streamed: {:?}", running.state.realtime.status());
}

#[tokio::test]
async fn supabase_js_realtime_client() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    assert!(
        root.join("tests/clients/node_modules/ws").is_dir(),
        "tests/clients/node_modules is missing or stale: run `npm ci` in tests/clients (scripts/test does)"
    );
    let mut pg = PrivateCluster::start().await;
    crate::tenants::seed_with(&pg.admin().await, &[&crate::tenants::passwords("realtime-pw")]).await;
    let key = rowgate::auth::signing::SigningKey::generate_jwk().unwrap();
    let mut running = start(&pg, &key, "127.0.0.1:0").await;
    let addr = running.api_addr;
    let anon = super::anon_key();

    let mut node = Command::new("node")
        .arg("tests/clients/supabase_realtime.mjs")
        .arg(format!("http://{addr}"))
        .arg(&anon)
        .current_dir(root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run node (scripts/test installs it)");
    let mut stdin = node.stdin.take().expect("stdin");
    let mut lines = BufReader::new(node.stdout.take().expect("stdout")).lines();
    let mut out = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(240);
    loop {
        let line = tokio::time::timeout_at(deadline, lines.next_line()).await.expect("the client script hung");
        let Some(line) = line.expect("read the script's output") else { break };
        out.push_str(&line);
        out.push('\n');
        match line.as_str() {
            "STEP restart-postgres" => {
                pg.stop().await;
                tokio::time::sleep(Duration::from_millis(500)).await;
                pg.restart().await;
            }
            "STEP restart-rowgate" => {
                running.shutdown().await;
                running = start(&pg, &key, &addr.to_string()).await;
            }
            _ => continue,
        }
        stdin.write_all(b"ok\n").await.expect("answer the script");
    }
    let status = node.wait().await.expect("node exits");
    let mut err = String::new();
    if let Some(mut e) = node.stderr.take() {
        use tokio::io::AsyncReadExt;
        let _ = e.read_to_string(&mut err).await;
    }
    assert!(status.success(), "supabase-js realtime failed ({status}):\n{out}\n--- stderr\n{err}");
    eprintln!("{out}");
    running.shutdown().await;
}

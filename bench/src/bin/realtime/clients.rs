//! The load: WebSocket subscribers (raw Phoenix vsn 2.0.0 frames, as realtime-js sends them), the
//! writer committing task changes at a steady rate, and the REST loop.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use futures_util::{SinkExt, StreamExt};
use rand::Rng;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use super::{member, org, percentile, seed_task, token, Args};

pub struct Subscribers {
    received: Arc<AtomicU64>,
    latencies: Arc<Mutex<Vec<u64>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Subscribers {
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }
    pub fn reset_latencies(&self) {
        if let Ok(mut l) = self.latencies.lock() {
            l.clear();
        }
    }
    /// Sorted, microseconds.
    pub fn latencies(&self) -> Vec<u64> {
        let mut l = self.latencies.lock().map(|l| l.clone()).unwrap_or_default();
        l.sort_unstable();
        l
    }
}

impl Drop for Subscribers {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Connects and joins every subscriber (200 at a time); resolves once all are SUBSCRIBED.
pub async fn subscribe_all(api: &str, args: &Args, sent: Arc<Mutex<HashMap<String, Instant>>>) -> Result<Subscribers> {
    let received = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(1 << 20)));
    let members = (args.subscribers / args.orgs).max(1);
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<Result<()>>(args.subscribers);
    let gate = Arc::new(tokio::sync::Semaphore::new(200));
    let mut tasks = Vec::with_capacity(args.subscribers);
    for i in 0..args.subscribers {
        let (o, m) = (i / members % args.orgs, i % members);
        let url = format!("ws://{api}/realtime/v1/websocket?apikey={}&vsn=2.0.0", token(&member(o, m)));
        let mut binding = json!({"event": "*", "schema": "api", "table": "tasks"});
        if !args.unfiltered {
            binding["filter"] = format!("org_id=eq.{}", org(o)).into();
        }
        let join = json!(["1", "1", format!("realtime:s{i}"), "phx_join",
            {"config": {"postgres_changes": [binding]}, "access_token": token(&member(o, m))}])
        .to_string();
        let (received, latencies, sent, ready, gate) =
            (received.clone(), latencies.clone(), sent.clone(), ready_tx.clone(), gate.clone());
        tasks.push(tokio::spawn(async move {
            let mut permit = gate.acquire_owned().await.ok();
            let addr = url.trim_start_matches("ws://").split('/').next().unwrap_or_default().to_string();
            let ws = match tokio::net::TcpStream::connect(&addr).await {
                Ok(tcp) => tokio_tungstenite::client_async(url, tcp).await.ok(),
                Err(_) => None,
            };
            let Some((mut ws, _)) = ws else {
                let _ = ready.send(Err(anyhow::anyhow!("connect failed"))).await;
                return;
            };
            if ws.send(Message::text(join)).await.is_err() {
                return;
            }
            let mut heartbeat = tokio::time::interval(Duration::from_secs(25));
            let mut joined = false;
            let mut n = 2u64;
            loop {
                tokio::select! {
                    msg = ws.next() => {
                        let Some(Ok(Message::Text(t))) = msg else { if msg.is_none() { return } else { continue } };
                        let now = Instant::now();
                        if !joined {
                            if t.contains("\"system\"") {
                                joined = true;
                                permit.take();
                                let _ = ready.send(Ok(())).await;
                            }
                            continue;
                        }
                        if !t.contains("postgres_changes") {
                            continue;
                        }
                        let Ok(v) = serde_json::from_str::<Value>(&t) else { continue };
                        let d = &v[4]["data"];
                        let kind = d["type"].as_str().unwrap_or("");
                        let row = if kind == "DELETE" { &d["old_record"] } else { &d["record"] };
                        let key = format!("{kind} {}", row["title"].as_str().unwrap_or(""));
                        received.fetch_add(1, Ordering::Relaxed);
                        let at = sent.lock().ok().and_then(|s| s.get(&key).copied());
                        if let Some(at) = at {
                            if let Ok(mut l) = latencies.lock() {
                                l.push(now.saturating_duration_since(at).as_micros() as u64);
                            }
                        }
                    }
                    _ = heartbeat.tick() => {
                        n += 1;
                        let hb = json!([null, n.to_string(), "phoenix", "heartbeat", {}]).to_string();
                        if ws.send(Message::text(hb)).await.is_err() {
                            return;
                        }
                    }
                }
            }
        }));
    }
    drop(ready_tx);
    let mut ok = 0;
    while ok < args.subscribers {
        match tokio::time::timeout(Duration::from_secs(120), ready_rx.recv()).await {
            Ok(Some(Ok(()))) => ok += 1,
            Ok(Some(Err(e))) => bail!("a subscriber failed after {ok} joined: {e}"),
            _ => bail!("only {ok} of {} subscribers joined", args.subscribers),
        }
    }
    Ok(Subscribers { received, latencies, tasks })
}

/// Commits task changes at `rate` per second from 4 connections, recording when each committed.
#[derive(Clone)]
pub struct Writer {
    url: String,
    args: Args,
    sent: Arc<Mutex<HashMap<String, Instant>>>,
    seq: Arc<AtomicU64>,
}

pub fn writer(url: String, args: Args, sent: Arc<Mutex<HashMap<String, Instant>>>) -> Writer {
    Writer { url, args, sent, seq: Arc::new(AtomicU64::new(0)) }
}

impl Writer {
    pub async fn run(self, duration: Duration) -> Result<u64> {
        const LANES: usize = 4;
        let per_lane = Duration::from_secs_f64(LANES as f64 / self.args.rate as f64);
        let mut lanes = Vec::new();
        for lane in 0..LANES {
            let w = self.clone();
            lanes.push(tokio::spawn(async move {
                let (client, conn) = tokio_postgres::connect(&w.url, tokio_postgres::NoTls).await?;
                tokio::spawn(conn);
                let mut tick = tokio::time::interval(per_lane);
                let end = Instant::now() + duration;
                let mut live: Vec<(usize, String, String)> = Vec::new();
                let mut done = 0u64;
                tokio::time::sleep(per_lane / LANES as u32 * lane as u32).await;
                while Instant::now() < end {
                    tick.tick().await;
                    let n = w.seq.fetch_add(1, Ordering::Relaxed);
                    let title = format!("b{n}");
                    let roll: u32 = rand::thread_rng().gen_range(0..10);
                    let (key, result) = if roll < 6 || live.is_empty() {
                        let o = rand::thread_rng().gen_range(0..w.args.orgs);
                        let id = format!("3{lane}{:06x}-0000-4000-8000-{o:012}", n % 0xff_ffff);
                        let r = client
                            .execute(
                                "insert into api.tasks (org_id, id, project_id, title) values ($1::text::uuid, $2::text::uuid, $3::text::uuid, $4)",
                                &[&org(o), &id, &format!("1f000000-0000-0000-0000-{o:012}"), &title],
                            )
                            .await;
                        live.push((o, id, title.clone()));
                        (format!("INSERT {title}"), r)
                    } else if roll < 9 {
                        let k = rand::thread_rng().gen_range(0..live.len());
                        let r = client.execute("update api.tasks set title = $1 where id = $2::text::uuid", &[&title, &live[k].1]).await;
                        live[k].2 = title.clone();
                        (format!("UPDATE {title}"), r)
                    } else {
                        let k = rand::thread_rng().gen_range(0..live.len());
                        let (_, id, old) = live.swap_remove(k);
                        let r = client.execute("delete from api.tasks where id = $1::text::uuid", &[&id]).await;
                        (format!("DELETE {old}"), r)
                    };
                    result?;
                    if let Ok(mut s) = w.sent.lock() {
                        s.insert(key, Instant::now());
                    }
                    done += 1;
                }
                anyhow::Ok(done)
            }));
        }
        let mut total = 0;
        for l in lanes {
            total += l.await??;
        }
        Ok(total)
    }
}

/// `--rest-connections` loops of `GET /tasks?id=eq.<task>` as the task's org members, for
/// `--rest-duration` s: "N req/s, p50 / p99 ms".
pub async fn rest(http: &reqwest::Client, api: &str, args: &Args) -> String {
    let members = (args.subscribers / args.orgs).max(1);
    let end = Instant::now() + Duration::from_secs(args.rest_duration);
    let mut loops = Vec::new();
    for c in 0..args.rest_connections {
        let (http, api, orgs) = (http.clone(), api.to_string(), args.orgs);
        loops.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = c;
            while Instant::now() < end {
                i += args_step();
                let (o, m, k) = (i % orgs, i % members, i % 10);
                let t0 = Instant::now();
                let r = http
                    .get(format!("http://{api}/tasks?id=eq.{}&select=id,title", seed_task(o, k)))
                    .bearer_auth(token(&member(o, m)))
                    .send()
                    .await;
                if let Ok(r) = r {
                    if r.status() == 200 && r.bytes().await.is_ok() {
                        lat.push(t0.elapsed().as_micros() as u64);
                    }
                }
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for l in loops {
        all.extend(l.await.unwrap_or_default());
    }
    all.sort_unstable();
    format!(
        "{:.0} req/s, p50 {:.2} ms, p99 {:.2} ms ({} connections)",
        all.len() as f64 / args.rest_duration as f64,
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        args.rest_connections
    )
}

fn args_step() -> usize {
    7919
}

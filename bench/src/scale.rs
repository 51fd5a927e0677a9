//! Scale curves: single-row throughput and p99 against the number of connections, memory with
//! many idle keep-alive clients, and the schema cache's load time and memory for 100 / 1,000 /
//! 5,000 generated tables.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::database;
use crate::harness::{metric, Bench};
use crate::measure;
use crate::scenarios::{HttpRequest, Scenario};
use crate::systems::{self, System};

pub const CURVE_CONNECTIONS: [usize; 7] = [1, 4, 16, 32, 64, 128, 256];
pub const IDLE_CLIENTS: [usize; 2] = [100, 1000];
pub const SCHEMA_TABLES: [usize; 4] = [0, 100, 1000, 5000];

#[derive(Debug, Clone, Serialize)]
pub struct IdleRss {
    pub system: &'static str,
    pub clients: usize,
    pub rss_before_kib: u64,
    pub rss_with_clients_kib: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SchemaLoad {
    /// Generated tables on top of the reference schema's.
    pub tables: usize,
    pub load_seconds: f64,
    /// From start to /ready, including the connection pool and the listener.
    pub ready_seconds: f64,
    pub rss_kib: u64,
}

pub async fn curves(b: &mut Bench) -> Result<()> {
    println!("\nscale: single-row reads by connections");
    let duration = Duration::from_secs(b.args.duration);
    for c in CURVE_CONNECTIONS {
        for system in [System::Rowgate, System::Postrust] {
            if system == System::Postrust && (b.postrust.is_none() || b.peer_failures.contains_key("single")) {
                continue;
            }
            let s = b.sample(system, Scenario::Single, c, 0, duration).await?;
            println!("  {:<16} c={c:<4} {:>8.0} req/s  p99 {:>6.2} ms", system.name(), s.rps, s.p99_us as f64 / 1000.0);
            b.results.curve.push(s);
        }
    }

    println!("scale: idle keep-alive clients");
    let requests: Vec<HttpRequest> = b.requests(Scenario::Single);
    let mut gateways = vec![(System::Rowgate, b.rowgate.pid, b.rowgate.base_url.clone())];
    if let Some(p) = &b.postrust {
        gateways.push((System::Postrust, p.pid, p.base_url.clone()));
    }
    for (system, pid, url) in gateways {
        for n in IDLE_CLIENTS {
            let before = measure::rss_kib(pid)?;
            let addr = url.trim_start_matches("http://").to_string();
            let conns = open_idle(&addr, &requests, n).await?;
            tokio::time::sleep(Duration::from_millis(500)).await;
            let with = measure::rss_kib(pid)?;
            drop(conns);
            println!(
                "  {:<16} {n:>5} clients: {:.1} MB (before {:.1} MB)",
                system.name(),
                with as f64 / 1024.0,
                before as f64 / 1024.0
            );
            b.results.idle.push(IdleRss {
                system: system.name(),
                clients: n,
                rss_before_kib: before,
                rss_with_clients_kib: with,
            });
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    println!("scale: schema cache");
    for n in SCHEMA_TABLES {
        let load = schema_load(b, n).await?;
        println!(
            "  {n:>5} tables: loaded in {:.3} s (ready in {:.2} s), {:.1} MB",
            load.load_seconds,
            load.ready_seconds,
            load.rss_kib as f64 / 1024.0
        );
        b.results.schema.push(load);
    }
    Ok(())
}

/// `n` connections, each having sent one request and read its answer, kept open.
async fn open_idle(addr: &str, requests: &[HttpRequest], n: usize) -> Result<Vec<TcpStream>> {
    stream::iter(0..n)
        .map(|i| {
            let r = &requests[i % requests.len()];
            async move {
                let mut s = TcpStream::connect(addr).await?;
                let mut head = format!("{} {} HTTP/1.1\r\nHost: {addr}\r\n", r.method, r.path);
                for (k, v) in &r.headers {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                head.push_str("\r\n");
                s.write_all(head.as_bytes()).await?;
                read_response(&mut s).await?;
                Ok::<_, anyhow::Error>(s)
            }
        })
        .buffer_unordered(64)
        .try_collect()
        .await
}

/// Reads one HTTP/1.1 response (Content-Length or chunked) and checks it is a 200.
async fn read_response(s: &mut TcpStream) -> Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            bail!("connection closed before the response");
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    if !head.starts_with("http/1.1 200") {
        bail!("idle client got {}", head.lines().next().unwrap_or(""));
    }
    let length =
        head.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse::<usize>().ok());
    loop {
        let body = &buf[head_end..];
        let complete = match length {
            Some(len) => body.len() >= len,
            None => body.ends_with(b"0\r\n\r\n"),
        };
        if complete {
            return Ok(());
        }
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            bail!("connection closed inside the response");
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// A database with `n` generated tables (a chain of foreign keys, so relationships are found
/// too) beside the reference schema; rowgate's load time and memory on it.
async fn schema_load(b: &mut Bench, n: usize) -> Result<SchemaLoad> {
    let db = format!("scale_{n}");
    let admin = b.db.connect("postgres", "postgres").await?;
    admin.batch_execute(&format!("drop database if exists {db} with (force)")).await?;
    admin.batch_execute(&format!("create database {db}")).await?;
    database::migrate(&b.args.rowgate, &b.db.url("postgres", &db)).await?;
    let c = b.db.connect("postgres", &db).await?;
    // One table per iteration, committed in batches (a single transaction runs out of locks).
    c.batch_execute(&format!(
        "do $$ begin
           for i in 1..{n} loop
             execute format('create table api.gen_%s (org_id uuid not null, id bigint not null, parent_id bigint,
                               name text not null, done boolean not null default false, payload jsonb,
                               created_at timestamptz not null default now(), primary key (org_id, id)%s)',
                            i, case when i > 1 then format(', foreign key (org_id, parent_id) references api.gen_%s (org_id, id)', i - 1) else '' end);
             execute format('grant select on api.gen_%s to authenticated', i);
             if i % 250 = 0 then commit; end if;
           end loop;
         end $$"
    ))
    .await
    .context("generate tables")?;
    let url = b.db.url("authenticator", &db);
    let started = Instant::now();
    let r = systems::start_rowgate(
        &b.args.rowgate,
        &b.common,
        b.args.port_base + 40,
        &format!("rowgate-{db}"),
        Some(&url),
        &[],
    )
    .await?;
    let ready_seconds = started.elapsed().as_secs_f64();
    let admin_url = r.admin_url.clone().context("admin listener")?;
    let text = reqwest::get(format!("{admin_url}/metrics")).await?.text().await?;
    let load_seconds = metric(&text, "rowgate_schema_cache_last_load_duration_seconds");
    let rss_kib = measure::rss_kib(r.pid)?;
    r.stop().await;
    drop(c);
    admin.batch_execute(&format!("drop database {db} with (force)")).await?;
    Ok(SchemaLoad { tables: n, load_seconds, ready_seconds, rss_kib })
}

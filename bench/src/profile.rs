//! Where rowgate's CPU goes on the read path: `perf record` (software clock, so it works in VMs
//! without hardware counters) on the gateway during a single-row run, then the flat profile by
//! symbol, summed into named cost groups.

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::harness::{Bench, LOAD_THREADS};
use crate::scenarios::Scenario;
use crate::wrk;

pub const CONNECTIONS: usize = 32;

#[derive(Debug, Clone, Serialize)]
pub struct Profile {
    pub connections: usize,
    pub rps: f64,
    pub samples: u64,
    /// `(group, percent of the gateway's samples)`, largest first.
    pub groups: Vec<(String, f64)>,
    /// `(percent, shared object, symbol)` of the hottest symbols.
    pub top: Vec<(f64, String, String)>,
}

pub async fn read_path(b: &mut Bench) -> Result<Profile> {
    let perf = which_perf()?;
    let data = b.work.join("perf.data");
    let duration = Duration::from_secs(b.args.duration);
    let record = tokio::process::Command::new(&perf)
        .args(["record", "-e", "cpu-clock", "-F", "1999", "-p"])
        .arg(b.rowgate.pid.to_string())
        .arg("-o")
        .arg(&data)
        .arg("--")
        .arg("sleep")
        .arg((duration.as_secs() + 1).to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("start perf record")?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let script = b.work.join(format!("{}.lua", Scenario::Single.name()));
    let w = wrk::run(&script, &b.rowgate.base_url, CONNECTIONS, LOAD_THREADS, duration).await?;
    let out = record.wait_with_output().await?;
    if !out.status.success() {
        bail!("perf record failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let report = tokio::process::Command::new(&perf)
        .args(["report", "--stdio", "--no-children", "--sort", "dso,sym", "--percent-limit", "0", "-q", "-i"])
        .arg(&data)
        .output()
        .await?;
    if !report.status.success() {
        bail!("perf report failed: {}", String::from_utf8_lossy(&report.stderr));
    }
    let rows = parse_report(&String::from_utf8_lossy(&report.stdout));
    let samples = sample_count(&perf, &data).await.unwrap_or(0);
    Ok(Profile {
        connections: CONNECTIONS,
        rps: w.requests as f64 / (w.duration_us as f64 / 1e6),
        samples,
        groups: groups(&rows),
        top: rows.into_iter().take(30).collect(),
    })
}

fn which_perf() -> Result<std::path::PathBuf> {
    ["/usr/bin/perf", "/usr/local/bin/perf"]
        .iter()
        .map(Path::new)
        .find(|p| p.exists())
        .map(Path::to_path_buf)
        .context("perf is not installed (Debian: linux-perf)")
}

async fn sample_count(perf: &Path, data: &Path) -> Result<u64> {
    let out = tokio::process::Command::new(perf).args(["script", "-F", "ip", "-i"]).arg(data).output().await?;
    Ok(out.stdout.iter().filter(|&&b| b == b'\n').count() as u64)
}

/// `12.34%  rowgate  [.] symbol` lines of `perf report --sort dso,sym`.
fn parse_report(text: &str) -> Vec<(f64, String, String)> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            let (pct, rest) = l.split_once('%')?;
            let pct: f64 = pct.trim().parse().ok()?;
            let rest = rest.trim_start();
            let (dso, sym) = rest.split_once(char::is_whitespace)?;
            let sym = sym.trim_start();
            let sym = sym.strip_prefix("[.]").or_else(|| sym.strip_prefix("[k]")).unwrap_or(sym).trim();
            Some((pct, dso.to_string(), sym.to_string()))
        })
        .collect()
}

/// Named cost groups, by shared object and symbol. The first rule that matches wins.
const GROUPS: &[(&str, &[&str])] = &[
    ("kernel: sockets, syscalls, scheduling", &["[kernel", "kernel.kallsyms"]),
    ("memory allocation", &["malloc", "free", "realloc", "calloc", "_int_", "memmove", "memcpy", "memset", "alloc::"]),
    ("logging (tracing, JSON access line)", &["tracing", "fmt::", "core::fmt"]),
    ("HTTP (hyper, headers)", &["hyper", "http::", "httparse", "h2::"]),
    (
        "PostgreSQL client (tokio-postgres, protocol, pool)",
        &["tokio_postgres", "postgres_protocol", "postgres_types", "deadpool", "fallible_iterator"],
    ),
    ("JSON (serde_json)", &["serde_json", "serde::"]),
    ("JWT and hashing", &["jsonwebtoken", "aws_lc", "quick_cache", "sha2", "hash", "Hash"]),
    ("async runtime (tokio)", &["tokio::", "futures_", "parking_lot", "mio::", "std::sync"]),
    ("rowgate: parse, plan, SQL, response", &["rowgate::"]),
    ("libc (other)", &["libc.so", "ld-linux"]),
];

fn groups(rows: &[(f64, String, String)]) -> Vec<(String, f64)> {
    let mut sums: Vec<(String, f64)> = GROUPS.iter().map(|(g, _)| (g.to_string(), 0.0)).collect();
    let mut other = 0.0;
    for (pct, dso, sym) in rows {
        let hay = format!("{dso} {sym}");
        match GROUPS.iter().position(|(_, needles)| needles.iter().any(|n| hay.contains(n))) {
            Some(i) => sums[i].1 += pct,
            None => other += pct,
        }
    }
    sums.push(("other".into(), other));
    sums.retain(|(_, p)| *p > 0.0);
    sums.sort_by(|a, b| b.1.total_cmp(&a.1));
    sums
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_lines_and_groups() {
        let text =
            "    20.50%  [kernel.kallsyms]  [k] tcp_sendmsg\n     5.00%  rowgate  [.] hyper::proto::h1::role::parse\n\
                    \n     2.25%  libc.so.6  [.] malloc\n     1.00%  rowgate  [.] rowgate::request::filter::parse\n\
                    0.50% rowgate [.] something_else\n";
        let rows = parse_report(text);
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[1], (5.0, "rowgate".into(), "hyper::proto::h1::role::parse".into()));
        let g = groups(&rows);
        assert_eq!(g[0], ("kernel: sockets, syscalls, scheduling".to_string(), 20.5));
        assert!(g.contains(&("memory allocation".to_string(), 2.25)));
        assert!(g.contains(&("other".to_string(), 0.5)));
    }
}

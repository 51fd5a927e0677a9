//! The database's floor: pgbench replaying the transactions rowgate sent (captured on the wire),
//! prepared and pipelined as rowgate pipelines them — BEGIN, the context statement, the
//! pre-request call, the main statement and COMMIT in one round trip — on as many connections
//! as the gateway's pool.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::capture::Executed;

/// A pgbench script and the `-D` variables it reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    pub text: String,
    pub variables: Vec<(String, String)>,
}

/// A parameter the script computes instead of replaying (the refresh token, which can be
/// used only once): `(statement index in the transaction, parameter number, SQL expression)`.
pub type Computed<'a> = (usize, usize, &'a str);

/// One captured transaction as a pipelined pgbench script. Parameters become variables named
/// `{prefix}_{statement}_{n}`, so pgbench sends them as bind parameters of the same SQL text
/// (an empty string is the one exception: pgbench cannot hold one, so it becomes `''`).
pub fn script(tx: &[Executed], prefix: &str, computed: &[Computed]) -> Result<Script> {
    let mut text = String::new();
    let mut variables = Vec::new();
    if !computed.is_empty() {
        text.push_str("\\set seq :seq + 1\n");
    }
    text.push_str("\\startpipeline\n");
    for (i, e) in tx.iter().enumerate() {
        let sql = match e {
            Executed::Simple(sql) => {
                check_plain(sql)?;
                sql.clone()
            }
            Executed::Prepared { sql, params } => {
                check_plain(sql)?;
                let mut names = Vec::with_capacity(params.len());
                for (n, value) in params.iter().enumerate() {
                    if let Some((_, _, expr)) = computed.iter().find(|(s, p, _)| *s == i && *p == n + 1) {
                        names.push(format!("({expr})"));
                        continue;
                    }
                    let Some(value) = value else { bail!("statement {i} has a NULL parameter ${}", n + 1) };
                    // pgbench refuses empty -D values; an empty string goes in as a literal.
                    if value.is_empty() {
                        names.push("''".to_string());
                        continue;
                    }
                    let name = format!("{prefix}_{i}_{}", n + 1);
                    names.push(format!(":{name}"));
                    variables.push((name, value.clone()));
                }
                substitute(sql, &names)?
            }
        };
        let _ = writeln!(text, "{};", sql.trim_end().trim_end_matches(';'));
    }
    text.push_str("\\endpipeline\n");
    Ok(Script { text, variables })
}

/// pgbench reads `:name` anywhere in SQL as a variable; rowgate's SQL must hold none (casts `::`
/// are fine), or the replay would not be the same statement.
fn check_plain(sql: &str) -> Result<()> {
    let b = sql.as_bytes();
    for i in 0..b.len() {
        if b[i] == b':'
            && (i == 0 || b[i - 1] != b':')
            && b.get(i + 1).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
        {
            bail!("the SQL holds `:{}…`, which pgbench would take for a variable: {sql}", b[i + 1] as char);
        }
    }
    if sql.lines().any(|l| l.trim_start().starts_with('\\')) {
        bail!("a line of the SQL starts with a backslash (a pgbench meta-command): {sql}");
    }
    Ok(())
}

/// Replaces `$1`, `$2`, … by `names`.
fn substitute(sql: &str, names: &[String]) -> Result<String> {
    let mut out = String::with_capacity(sql.len() + names.len() * 16);
    let b = sql.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
            let end = (i + 1..b.len()).find(|&j| !b[j].is_ascii_digit()).unwrap_or(b.len());
            let n: usize = sql[i + 1..end].parse()?;
            let name = names.get(n.wrapping_sub(1)).with_context(|| format!("${n} has no parameter"))?;
            out.push_str(name);
            i = end;
        } else {
            let c = sql[i..].chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
        }
    }
    Ok(out)
}

/// What pgbench measured in one run, after its warm-up.
#[derive(Debug, Clone)]
pub struct PgbenchResult {
    /// Transactions that ended after the warm-up.
    pub transactions: u64,
    /// Every transaction of the run, warm-up included.
    pub all_transactions: u64,
    pub tps: f64,
    pub failed: u64,
    pub p50_us: u64,
    pub p99_us: u64,
}

pub struct Run<'a> {
    pub pgbench: &'a Path,
    pub conninfo: &'a str,
    pub scripts: &'a [PathBuf],
    pub variables: &'a [(String, String)],
    pub clients: usize,
    pub threads: usize,
    /// Run for this long first, unmeasured: pgbench opens new connections every run, and each
    /// prepares every script's statements and plans them afresh for their first executions,
    /// while a gateway's pooled connections stay prepared from one run to the next.
    pub warmup: Duration,
    pub duration: Duration,
    pub log_dir: &'a Path,
}

pub async fn run(r: Run<'_>) -> Result<PgbenchResult> {
    let _ = std::fs::remove_dir_all(r.log_dir);
    std::fs::create_dir_all(r.log_dir)?;
    let mut cmd = tokio::process::Command::new(r.pgbench);
    cmd.args(["-n", "-M", "prepared"])
        .arg(format!("--client={}", r.clients))
        .arg(format!("--jobs={}", r.threads.min(r.clients)))
        .arg(format!("--time={}", (r.warmup + r.duration).as_secs()))
        .arg("--log")
        .arg(format!("--log-prefix={}", r.log_dir.join("tx").display()));
    for s in r.scripts {
        cmd.arg("-f").arg(format!("{}@1", s.display()));
    }
    for (k, v) in r.variables {
        cmd.arg("-D").arg(format!("{k}={v}"));
    }
    cmd.arg(r.conninfo).kill_on_drop(true);
    let output = cmd.output().await.context("run pgbench")?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() || stderr.contains("aborted") {
        bail!("pgbench failed: {stdout}{stderr}");
    }
    let summary = parse_summary(&stdout)?;
    let log = read_log(r.log_dir)?;
    let (mut latencies, seconds) = after_warmup(&log, r.warmup);
    latencies.sort_unstable();
    Ok(PgbenchResult {
        transactions: latencies.len() as u64,
        all_transactions: summary.0,
        tps: latencies.len() as f64 / seconds.max(1e-9),
        failed: summary.2,
        p50_us: percentile(&latencies, 50.0),
        p99_us: percentile(&latencies, 99.0),
    })
}

/// The latencies of the transactions that ended after the warm-up, and the seconds from the
/// warm-up's end to the last transaction's end.
fn after_warmup(log: &[(u64, u64)], warmup: Duration) -> (Vec<u64>, f64) {
    let Some(first_end) = log.iter().map(|&(_, end)| end).min() else { return (Vec::new(), 0.0) };
    let first_start = log.iter().map(|&(lat, end)| end.saturating_sub(lat)).min().unwrap_or(first_end);
    let cutoff = first_start + warmup.as_micros() as u64;
    let last = log.iter().map(|&(_, end)| end).max().unwrap_or(cutoff);
    let latencies = log.iter().filter(|&&(_, end)| end >= cutoff).map(|&(lat, _)| lat).collect();
    (latencies, last.saturating_sub(cutoff) as f64 / 1e6)
}

/// `(processed, tps, failed)` from pgbench's summary.
fn parse_summary(stdout: &str) -> Result<(u64, f64, u64)> {
    let mut fields = BTreeMap::new();
    for line in stdout.lines() {
        if let Some((k, v)) = line.split_once(':').or_else(|| line.split_once('=')) {
            fields.insert(k.trim().to_string(), v.trim().to_string());
        }
    }
    let number = |k: &str| -> Result<String> {
        let v = fields.get(k).with_context(|| format!("no `{k}` in pgbench's output:\n{stdout}"))?;
        Ok(v.split(|c: char| c.is_whitespace() || c == '/').next().unwrap_or("").to_string())
    };
    Ok((
        number("number of transactions actually processed")?.parse()?,
        number("tps")?.parse()?,
        number("number of failed transactions").ok().and_then(|v| v.parse().ok()).unwrap_or(0),
    ))
}

/// `(latency µs, end µs since the epoch)` of every transaction in pgbench's `--log` files, whose
/// lines are `client tx latency script epoch_s epoch_us`.
fn read_log(dir: &Path) -> Result<Vec<(u64, u64)>> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let text = std::fs::read_to_string(entry?.path())?;
        all.extend(text.lines().filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (lat, s, us) =
                (f.get(2)?.parse::<u64>().ok()?, f.get(4)?.parse::<u64>().ok()?, f.get(5)?.parse::<u64>().ok()?);
            Some((lat, s * 1_000_000 + us))
        }));
    }
    Ok(all)
}

/// The nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tx() -> Vec<Executed> {
        vec![
            Executed::Simple("BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY".into()),
            Executed::Prepared {
                sql: "select set_config('role', $1, true), set_config('x', $12, true)".into(),
                params: (1..=12).map(|n| Some(if n == 2 { String::new() } else { format!("v{n}") })).collect(),
            },
            Executed::Prepared {
                sql: "select t.a::text from t where t.id = $1".into(),
                params: vec![Some("7".into())],
            },
            Executed::Simple("COMMIT".into()),
        ]
    }

    #[test]
    fn a_transaction_becomes_one_pipeline_with_the_same_sql() {
        let s = script(&tx(), "s0", &[]).unwrap();
        assert_eq!(
            s.text,
            "\\startpipeline\nBEGIN ISOLATION LEVEL READ COMMITTED READ ONLY;\n\
             select set_config('role', :s0_1_1, true), set_config('x', :s0_1_12, true);\n\
             select t.a::text from t where t.id = :s0_2_1;\nCOMMIT;\n\\endpipeline\n"
        );
        assert_eq!(s.variables.len(), 12, "the empty $2 is a literal");
        assert_eq!(s.variables[10], ("s0_1_12".to_string(), "v12".to_string()));
    }

    #[test]
    fn an_empty_parameter_becomes_an_empty_literal() {
        let tx = vec![Executed::Prepared {
            sql: "select set_config('tz', $1, true)".into(),
            params: vec![Some(String::new())],
        }];
        let s = script(&tx, "e", &[]).unwrap();
        assert!(s.text.contains("select set_config('tz', '', true);"), "{}", s.text);
        assert!(s.variables.is_empty());
    }

    #[test]
    fn a_computed_parameter_replaces_the_replayed_one() {
        let s = script(&tx(), "r", &[(2, 1, "'tok-' || :seq::text")]).unwrap();
        assert!(s.text.starts_with("\\set seq :seq + 1\n"));
        assert!(s.text.contains("where t.id = ('tok-' || :seq::text);"), "{}", s.text);
        assert!(!s.variables.iter().any(|(k, _)| k == "r_2_1"));
    }

    #[test]
    fn sql_that_pgbench_would_misread_is_refused() {
        let bad = vec![Executed::Simple("select '{\"a\":1}'".into())];
        assert!(script(&bad, "x", &[]).is_err());
        assert!(check_plain("select x::text, y::jsonb").is_ok());
    }

    #[test]
    fn the_warmup_is_left_out() {
        // Started at t = 0 s; two transactions end in the first second, three after it.
        let base = 1_700_000_000_000_000u64;
        let log = [
            (500, base + 500),
            (700, base + 900_000),
            (100, base + 1_000_100),
            (200, base + 1_500_000),
            (300, base + 2_000_000),
        ];
        let (lat, seconds) = after_warmup(&log, Duration::from_secs(1));
        assert_eq!(lat, vec![100, 200, 300]);
        assert!((seconds - 1.0).abs() < 1e-9, "{seconds}");
    }

    #[test]
    fn summary_and_percentiles() {
        let out = "transaction type: multiple scripts\nnumber of transactions actually processed: 1234\n\
                   number of failed transactions: 0 (0.000%)\nlatency average = 1.2 ms\n\
                   tps = 4321.5 (without initial connection time)\n";
        assert_eq!(parse_summary(out).unwrap(), (1234, 4321.5, 0));
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!((percentile(&v, 50.0), percentile(&v, 99.0)), (50, 99));
    }
}

//! The report's section on tenants at scale: the REST scenarios beside another run's (usually
//! 1,000 orgs beside 10,000), the registration scenario, the helpers' cost per call and the
//! access check's plan.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::Value;

use crate::report::Results;

/// `(scenario, connections) → (rowgate p99 µs, × floor)` of a results.json's samples.
fn summary_of(v: &Value) -> BTreeMap<(String, usize), (f64, Option<f64>)> {
    // (scenario, connections, system) → (Σ rps, Σ p99, n)
    let mut sums: BTreeMap<(String, usize, String), (f64, f64, f64)> = BTreeMap::new();
    for s in v["samples"].as_array().into_iter().flatten() {
        if s["round"].as_u64().unwrap_or(0) == 0 {
            continue;
        }
        let key = (
            s["scenario"].as_str().unwrap_or_default().to_string(),
            s["connections"].as_u64().unwrap_or(0) as usize,
            s["system"].as_str().unwrap_or_default().to_string(),
        );
        let e = sums.entry(key).or_default();
        *e = (e.0 + s["rps"].as_f64().unwrap_or(0.0), e.1 + s["p99_us"].as_f64().unwrap_or(0.0), e.2 + 1.0);
    }
    let mean = |k: &(String, usize, String)| sums.get(k).map(|(rps, p99, n)| (rps / n, p99 / n));
    sums.keys()
        .filter(|(_, _, sys)| sys == "rowgate")
        .filter_map(|(s, c, sys)| {
            let (rps, p99) = mean(&(s.clone(), *c, sys.clone()))?;
            let floor = mean(&(s.clone(), *c, "pgbench floor".to_string())).map(|(f, _)| rps / f);
            Some(((s.clone(), *c), (p99, floor)))
        })
        .collect()
}

fn orgs_of(v: &Value) -> String {
    v["tenancy"]["orgs"].as_u64().map_or_else(
        || {
            v["settings"]
                .as_array()
                .and_then(|a| a.first())
                .and_then(|d| d[1].as_str())
                .map_or("?".into(), |d| d.split(' ').next().unwrap_or("?").to_string())
        },
        |n| n.to_string(),
    )
}

pub fn section(md: &mut String, r: &Results, this: &BTreeMap<(String, usize), (f64, Option<f64>)>) {
    let Some(t) = &r.tenancy else { return };
    let _ = writeln!(md, "\n## Tenants at scale ({} orgs)\n", t.orgs);
    if let Some(other) = &r.compared {
        let theirs = summary_of(other);
        let n = orgs_of(other);
        let _ = writeln!(
            md,
            "### The REST scenarios at {} orgs beside {n}\n\nThe same scenarios and settings on a data set of \
             {n} orgs (that run's results) and of {} (this run); rowgate's p99 in ms and its throughput over \
             the pgbench floor on the same SQL.\n",
            t.orgs, t.orgs
        );
        let _ = writeln!(
            md,
            "| scenario | conns | p99 at {n} | p99 at {} | × floor at {n} | × floor at {} |",
            t.orgs, t.orgs
        );
        let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|");
        let fmt = |r: Option<f64>| r.map_or("—".to_string(), |r| format!("{r:.2}×"));
        for ((s, c), (p99, floor)) in this {
            let (tp, tf) = theirs.get(&(s.clone(), *c)).map_or((None, None), |(p, f)| (Some(*p), *f));
            let _ = writeln!(
                md,
                "| {s} | {c} | {} | {:.2} | {} | {} |",
                tp.map_or("—".into(), |p| format!("{:.2}", p / 1000.0)),
                p99 / 1000.0,
                fmt(tf),
                fmt(*floor)
            );
        }
    }
    if let Some(reg) = &t.registration {
        let _ = writeln!(
            md,
            "\n### {} orgs × {} members registered through the API\n\nEach org: `POST /rpc/register_organization`, \
             the owner's password sign-in, three `create_invite_link` (admin, member, viewer), then nine \
             `POST /auth/v1/signup` and nine `accept_invitation`; 16 orgs at a time, into a database of their \
             own (bcrypt cost 4 through `rowgate.password_cost`, as in the tests). {:.0} s in all: {:.1} orgs/s, \
             {:.0} requests/s. Counted afterwards: {} orgs, {} memberships (the usage counters agree).\n",
            reg.orgs,
            reg.members_per_org,
            reg.seconds,
            reg.orgs as f64 / reg.seconds.max(1e-9),
            reg.requests.iter().map(|(_, n, _, _)| *n).sum::<u64>() as f64 / reg.seconds.max(1e-9),
            reg.counted.0,
            reg.counted.1
        );
        let _ = writeln!(md, "| request | count | p50 ms | p99 ms |\n|---|---:|---:|---:|");
        for (kind, n, p50, p99) in &reg.requests {
            let _ = writeln!(md, "| {kind} | {n} | {:.2} | {:.2} |", *p50 as f64 / 1000.0, *p99 as f64 / 1000.0);
        }
        for e in &reg.errors {
            let _ = writeln!(md, "\n- error: `{}`", e.replace('`', "'"));
        }
    }
    let _ = writeln!(
        md,
        "\n### The policy helpers and the access check, per call\n\nPL/pgSQL calling each helper 20,000 times \
         as org 1's member (role `authenticated`, the claims of a signed-in session), an empty loop subtracted: \
         what each costs inside PostgreSQL at {} orgs.\n",
        t.orgs
    );
    let _ = writeln!(md, "| helper | µs per call |\n|---|---:|");
    for h in &t.helpers {
        let _ = writeln!(md, "| `{}` | {:.2} |", h.helper, h.us_per_call);
    }
    let _ = writeln!(
        md,
        "\nThe access check's query (`internal.has_model_access`) for that member, EXPLAIN ANALYZE:\n\n```\n{}\n```",
        t.access_explain
    );
}

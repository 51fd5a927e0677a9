//! Tenants at scale (issue 17): what the policy helpers and `has_model_access` cost per call in
//! PostgreSQL at this run's data size (with the EXPLAIN ANALYZE of the access check), and the
//! registration scenario — N orgs × 10 members registered through the API the way a product's
//! users would: `register_organization`, the owner's sign-in, three invite links, nine sign-ups
//! and nine accepted invitations per org.

use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use futures_util::stream::{self, StreamExt};
use serde::Serialize;
use serde_json::{json, Value};

use crate::database;
use crate::harness::Bench;
use crate::scenarios::uid;
use crate::systems;

pub mod report;

/// µs per call of one helper, as the request role with a member's claims.
#[derive(Debug, Clone, Serialize)]
pub struct HelperCost {
    pub helper: &'static str,
    pub us_per_call: f64,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Registration {
    pub orgs: u64,
    pub members_per_org: u64,
    pub seconds: f64,
    /// Per kind of request: (kind, count, p50 µs, p99 µs).
    pub requests: Vec<(String, u64, u64, u64)>,
    pub errors: Vec<String>,
    /// Counted in the database afterwards: orgs, memberships, the members' usage counters' sum.
    pub counted: (i64, i64, i64),
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Tenancy {
    pub orgs: u64,
    pub helpers: Vec<HelperCost>,
    pub access_explain: String,
    pub registration: Option<Registration>,
}

/// The helpers timed, as PL/pgSQL runs them (one cached plan each, like a policy).
const HELPERS: [(&str, &str); 9] = [
    ("internal.user_id()", "perform internal.user_id();"),
    ("internal.is_super_admin()", "perform internal.is_super_admin();"),
    ("internal.user_org_ids()", "perform internal.user_org_ids();"),
    ("internal.user_org_ids_at('member')", "perform internal.user_org_ids_at('member');"),
    ("internal.org_role(org)", "perform internal.org_role(org);"),
    ("internal.has_org_role(org, 'member')", "perform internal.has_org_role(org, 'member');"),
    ("internal.has_model_access(model) → true", "perform internal.has_model_access(model);"),
    ("internal.has_model_access(model) → false", "perform internal.has_model_access(other);"),
    ("internal.check_request() (session)", "perform internal.check_request();"),
];

const CALLS: i32 = 20_000;

/// Tenants at scale: the helpers' cost per call, the registration scenario (`--register`), the
/// comparison with another run (`--compare-with`). Failures become the report's errors.
pub async fn run(b: &mut Bench) {
    println!("\ntenants: the policy helpers' cost per call at {} orgs", b.size.orgs);
    let mut t = match helper_costs(b).await {
        Ok(t) => t,
        Err(e) => {
            b.results.errors.push(format!("the helpers' costs stopped: {e:#}"));
            return;
        }
    };
    if b.args.register > 0 {
        match registration(b, b.args.register, 16).await {
            Ok(r) => t.registration = Some(r),
            Err(e) => b.results.errors.push(format!("the registration scenario stopped: {e:#}")),
        }
    }
    b.results.tenancy = Some(t);
    if let Some(path) = &b.args.compare_with {
        let read = std::fs::read_to_string(path).map_err(anyhow::Error::from);
        match read.and_then(|t| Ok(serde_json::from_str(&t)?)) {
            Ok(v) => b.results.compared = Some(v),
            Err(e) => b.results.errors.push(format!("cannot read {}: {e:#}", path.display())),
        }
    }
}

/// Times every helper (and an empty loop, subtracted) as org 1's first member.
pub async fn helper_costs(b: &Bench) -> Result<Tenancy> {
    let member = uid(2, 3);
    let (org, model, other) = (uid(1, 1), uid(6, 2), uid(6, 12));
    let session = b
        .admin
        .query_one("insert into auth.sessions (user_id) values ($1::text::uuid) returning id::text", &[&member])
        .await?
        .get::<_, String>(0);
    let mut cases = String::new();
    for (i, (_, stmt)) in HELPERS.iter().enumerate() {
        cases.push_str(&format!("when {} then {stmt}\n", i + 1));
    }
    b.admin
        .batch_execute(&format!(
            "create or replace function bench.time_helper(which int, n int, org uuid, model uuid, other uuid) returns float8
             language plpgsql as $$
             declare t timestamptz := clock_timestamp();
             begin
               for i in 1 .. n loop
                 case which {cases} else null; end case;
               end loop;
               return extract(epoch from clock_timestamp() - t) * 1e6 / n;
             end $$;
             grant usage on schema bench to authenticated;
             grant execute on function bench.time_helper(int, int, uuid, uuid, uuid) to authenticated;"
        ))
        .await?;
    let claims = json!({"role": "authenticated", "sub": member, "session_id": session}).to_string();
    let time = |which: i32| {
        let claims = claims.clone();
        let (org, model, other) = (org.clone(), model.clone(), other.clone());
        async move {
            let c = b.db.connect("postgres", &b.db_name).await?;
            c.batch_execute("begin").await?;
            c.execute(
                "select set_config('request.jwt.claims', $1, true), set_config('role', 'authenticated', true)",
                &[&claims],
            )
            .await?;
            // Warm the cached plans, then measure.
            let q = "select bench.time_helper($1, $2, $3::text::uuid, $4::text::uuid, $5::text::uuid)";
            c.query_one(q, &[&which, &200i32, &org, &model, &other]).await?;
            let us: f64 = c.query_one(q, &[&which, &CALLS, &org, &model, &other]).await?.get(0);
            c.batch_execute("rollback").await?;
            Ok::<f64, anyhow::Error>(us)
        }
    };
    let empty = time(0).await?;
    let mut helpers = vec![];
    for (i, (name, _)) in HELPERS.iter().enumerate() {
        let us = time(i as i32 + 1).await?;
        helpers.push(HelperCost { helper: name, us_per_call: ((us - empty).max(0.0) * 100.0).round() / 100.0 });
        println!("  {name:<44} {:>7.2} µs per call", us - empty);
    }
    let explain = b
        .admin
        .query(
            &format!(
                "explain (analyze, buffers, costs off)
                 select exists (
                   select 1 from api.memberships m
                     join auth.users u on u.id = m.user_id and u.disabled_at is null
                     join api.org_models om on om.org_id = m.org_id and om.model_id = '{model}'
                     join api.org_entitlements e on e.org_id = om.org_id and e.model_id = om.model_id
                     join api.organizations o on o.id = om.org_id
                    where m.user_id = '{member}'
                      and (e.expires_at is null or e.expires_at > now())
                      and o.status in ('active', 'pending_approval'))"
            ),
            &[],
        )
        .await?;
    let access_explain: Vec<String> = explain.iter().map(|r| r.get::<_, String>(0)).collect();
    Ok(Tenancy { orgs: b.size.orgs, helpers, access_explain: access_explain.join("\n"), registration: None })
}

/// Latencies of one kind of request.
#[derive(Default)]
struct Kind(Vec<u64>);

impl Kind {
    fn summary(&mut self, name: &str) -> (String, u64, u64, u64) {
        self.0.sort_unstable();
        let at = |q: f64| {
            self.0.get(((self.0.len() as f64 * q) as usize).min(self.0.len().saturating_sub(1))).copied().unwrap_or(0)
        };
        (name.to_string(), self.0.len() as u64, at(0.5), at(0.99))
    }
}

/// POST `body` to `path`; the answer's JSON and the time it took.
async fn post(http: &reqwest::Client, url: &str, auth: Option<&str>, body: Value) -> Result<(Value, u64)> {
    let started = Instant::now();
    let mut req = http.post(url).json(&body);
    if let Some(a) = auth {
        req = req.header("authorization", format!("Bearer {a}"));
    }
    let resp = req.send().await?;
    let status = resp.status();
    let v: Value = resp.json().await.unwrap_or(Value::Null);
    let us = started.elapsed().as_micros() as u64;
    if !status.is_success() {
        bail!("{url}: {status} {v}");
    }
    Ok((v, us))
}

/// One org through the API: its owner registers it and signs in, creates the invite links, and
/// nine people sign up and join through them. The latencies by kind.
async fn register_one(http: &reqwest::Client, base: &str, n: u64) -> Result<Vec<(usize, u64)>> {
    let mut out = vec![];
    let owner = format!("owner{n}@register.test");
    let (r, us) = post(
        http,
        &format!("{base}/rpc/register_organization"),
        None,
        json!({"email": owner, "password": "bench-password", "org_name": format!("Org {n}")}),
    )
    .await?;
    out.push((0, us));
    let org = r["org_id"].as_str().context("org_id")?.to_string();
    let (r, us) = post(
        http,
        &format!("{base}/auth/v1/token?grant_type=password"),
        None,
        json!({"email": owner, "password": "bench-password"}),
    )
    .await?;
    out.push((1, us));
    let token = r["access_token"].as_str().context("access_token")?.to_string();
    let mut links = vec![];
    for (role, uses) in [("admin", 1), ("member", 6), ("viewer", 2)] {
        let (r, us) = post(
            http,
            &format!("{base}/rpc/create_invite_link"),
            Some(&token),
            json!({"org": org, "role": role, "max_uses": uses}),
        )
        .await?;
        out.push((2, us));
        let link = r["token"].as_str().context("link token")?.to_string();
        links.extend(std::iter::repeat_n(link, uses));
    }
    for (j, link) in links.iter().enumerate() {
        let email = format!("user{n}-{j}@register.test");
        let (r, us) =
            post(http, &format!("{base}/auth/v1/signup"), None, json!({"email": email, "password": "bench-password"}))
                .await?;
        out.push((3, us));
        let t = r["access_token"].as_str().context("signup token")?.to_string();
        let (_, us) = post(http, &format!("{base}/rpc/accept_invitation"), Some(&t), json!({"token": link})).await?;
        out.push((4, us));
    }
    Ok(out)
}

/// `orgs` orgs × 10 members registered through the API, `concurrency` at a time, into a
/// database of their own (password hashes at `rowgate.password_cost = 4`, as in the tests).
pub async fn registration(b: &Bench, orgs: u64, concurrency: usize) -> Result<Registration> {
    let db = "bench_register";
    let admin = b.db.connect("postgres", "postgres").await?;
    admin.batch_execute(&format!("drop database if exists {db} with (force)")).await?;
    admin.batch_execute(&format!("create database {db}")).await?;
    database::migrate(&b.args.rowgate, &b.db.url("postgres", db)).await?;
    admin.batch_execute(&format!("alter database {db} set rowgate.password_cost = 4")).await?;
    let url = b.db.url("authenticator", db);
    let g =
        systems::start_rowgate(&b.args.rowgate, &b.common, b.args.port_base + 60, "rowgate-register", Some(&url), &[])
            .await?;
    let http =
        reqwest::Client::builder().pool_max_idle_per_host(concurrency).timeout(Duration::from_secs(60)).build()?;
    println!("registering {orgs} orgs × 10 members through the API ({concurrency} at a time)…");
    let started = Instant::now();
    let mut kinds: Vec<Kind> = (0..5).map(|_| Kind::default()).collect();
    let mut errors = vec![];
    let base = g.base_url.clone();
    let mut results = stream::iter(1..=orgs).map(|n| register_one(&http, &base, n)).buffer_unordered(concurrency);
    let mut done = 0u64;
    while let Some(r) = results.next().await {
        match r {
            Ok(lat) => lat.into_iter().for_each(|(k, us)| kinds[k].0.push(us)),
            Err(e) if errors.len() < 20 => errors.push(format!("{e:#}")),
            Err(_) => {}
        }
        done += 1;
        if done.is_multiple_of(1000) {
            println!("  {done} orgs in {:.0} s", started.elapsed().as_secs_f64());
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    drop(results);
    g.stop().await;
    let c = b.db.connect("postgres", db).await?;
    let row = c
        .query_one(
            "select (select count(*) from api.organizations), (select count(*) from api.memberships),
                    (select coalesce(sum(used), 0)::bigint from api.usage_counters where counter = 'members')",
            &[],
        )
        .await?;
    let counted = (row.get(0), row.get(1), row.get(2));
    ensure!(
        counted.1 == counted.2,
        "the members' counters ({}) do not match the memberships ({})",
        counted.2,
        counted.1
    );
    let names = ["register_organization", "sign-in (owner)", "create_invite_link", "signup", "accept_invitation"];
    let requests = kinds.iter_mut().zip(names).map(|(k, n)| k.summary(n)).collect();
    Ok(Registration { orgs, members_per_org: 10, seconds, requests, errors, counted })
}

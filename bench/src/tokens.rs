//! Access tokens for the simulated users, from rowgate's own `/auth/v1` password grant (so each
//! has a real session that `internal.check_request` finds), and refresh tokens per run.

use anyhow::{bail, Context, Result};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde_json::Value;
use tokio_postgres::Client;

use crate::scenarios::{Acting, DataSize};

/// Signs in the acting users of orgs 1 to `orgs`; returns their access tokens by org, org 1 first.
pub async fn sign_in(base_url: &str, size: DataSize, orgs: u64, acting: Acting) -> Result<Vec<Vec<String>>> {
    let http = reqwest::Client::new();
    let url = format!("{base_url}/auth/v1/token?grant_type=password");
    let users: Vec<(u64, u64)> =
        (1..=orgs).flat_map(|org| acting.users(size, org).into_iter().map(move |u| (org, u))).collect();
    let tokens: Vec<(u64, String)> = stream::iter(users)
        .map(|(org, user)| {
            let (http, url) = (http.clone(), url.clone());
            async move {
                let email = format!("user{user}@bench.test");
                let r = http
                    .post(&url)
                    .json(&serde_json::json!({"email": email, "password": "bench-password"}))
                    .send()
                    .await?;
                let status = r.status();
                let body: Value = r.json().await?;
                if !status.is_success() {
                    bail!("sign-in of {email}: {status} {body}");
                }
                let token = body["access_token"].as_str().context("no access_token in the sign-in answer")?;
                Ok((org, token.to_string()))
            }
        })
        .buffered(16)
        .try_collect()
        .await?;
    let mut by_org = vec![Vec::new(); orgs as usize];
    for (org, token) in tokens {
        by_org[org as usize - 1].push(token);
    }
    Ok(by_org)
}

/// `chains` fresh sessions with `per_chain` unused refresh tokens each (bench.refresh_tokens);
/// returns the first token of every chain.
pub async fn refresh_tokens(db: &Client, run: &str, chains: usize, per_chain: usize) -> Result<Vec<String>> {
    db.execute("select bench.refresh_tokens($1, $2, $3)", &[&run, &(chains as i32), &(per_chain as i32)])
        .await
        .context("create refresh tokens")?;
    Ok((0..chains).map(|c| format!("bench-rt-{run}-{c}-1")).collect())
}

/// How many of a run's refresh tokens were used, and the most any one chain used.
pub async fn refresh_tokens_used(db: &Client, run: &str, chains: usize) -> Result<(i64, i64)> {
    let row = db
        .query_one(
            "select coalesce(sum(n), 0)::bigint, coalesce(max(n), 0) from (
               select count(*) as n from auth.refresh_tokens
                where session_id in (select md5('bench-session ' || $1 || ' ' || c)::uuid
                                       from generate_series(0, $2 - 1) c)
                  and revoked_at is not null
                group by session_id) used",
            &[&run, &(chains as i32)],
        )
        .await?;
    Ok((row.get(0), row.get(1)))
}

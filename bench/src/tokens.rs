//! Access tokens for the simulated users, from rowgate's own `/auth/v1` password grant (so each
//! has a real session that `internal.check_request` finds), and refresh tokens per run.

use anyhow::{bail, Context, Result};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde_json::Value;
use tokio_postgres::Client;

use crate::scenarios::{Acting, DataSize};

/// Signs in the acting user of every org; returns the access tokens, org 1 first.
pub async fn sign_in(base_url: &str, size: DataSize, acting: Acting) -> Result<Vec<String>> {
    let http = reqwest::Client::new();
    let url = format!("{base_url}/auth/v1/token?grant_type=password");
    stream::iter(1..=size.orgs)
        .map(|org| {
            let (http, url) = (http.clone(), url.clone());
            async move {
                let email = format!("user{}@bench.test", acting.user(size, org));
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
                body["access_token"].as_str().map(str::to_string).context("no access_token in the sign-in answer")
            }
        })
        .buffered(16)
        .try_collect()
        .await
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

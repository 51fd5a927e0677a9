//! Runs one request's transaction. BEGIN, the context statement, the optional pre-request call,
//! the main statement and COMMIT are sent together, so a read costs one round trip once its
//! statements are prepared on the connection.

use deadpool_postgres::Object;
use futures_util::future::{join, join4, OptionFuture};
use tokio_postgres::{Row, Statement as Prepared};

use crate::sql::Statement;

use super::error::DbError;
use super::params::{as_refs, text_params};

pub struct Transaction<'a> {
    pub read_only: bool,
    pub context: &'a Statement,
    pub pre_request: Option<&'a str>,
    pub main: &'a Statement,
    /// Runs after the main statement with the same parameters (planned counts).
    pub explain: Option<&'a Statement>,
}

pub struct Outcome {
    pub main: Row,
    pub explain: Option<Row>,
}

/// Bounds the per-connection statement cache; shapes are bounded by the query grammar, but a
/// hostile client could still mint many.
const STATEMENT_CACHE_LIMIT: usize = 512;

pub async fn run(client: &Object, tx: Transaction<'_>) -> Result<Outcome, DbError> {
    if client.statement_cache.size() > STATEMENT_CACHE_LIMIT {
        client.statement_cache.clear();
    }
    // Prepare whatever is not cached yet, all at once (only the first request per shape pays).
    let (context, pre, main, explain) = join4(
        client.prepare_cached(&tx.context.sql),
        OptionFuture::from(tx.pre_request.map(|sql| client.prepare_cached(sql))),
        client.prepare_cached(&tx.main.sql),
        OptionFuture::from(tx.explain.map(|e| client.prepare_cached(&e.sql))),
    )
    .await;
    let (context, main) = (context?, main?);
    let pre = pre.transpose()?;
    let explain_stmt = explain.transpose()?;

    let begin = if tx.read_only {
        "BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY"
    } else {
        "BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE"
    };
    let context_params = text_params(&tx.context.params);
    let main_params = text_params(&tx.main.params);
    let explain_params = tx
        .explain
        .map(|e| text_params(&e.params))
        .unwrap_or_default();
    let context_refs = as_refs(&context_params);
    let main_refs = as_refs(&main_params);
    let explain_refs = as_refs(&explain_params);

    // Polled together: every message is written before any reply is awaited.
    let ((begun, ctx, pre_res, main_res), (explain_res, commit)) = join(
        join4(
            client.batch_execute(begin),
            client.query(&context, &context_refs),
            OptionFuture::from(pre.as_ref().map(|p: &Prepared| client.query(p, &[]))),
            client.query(&main, &main_refs),
        ),
        join(
            OptionFuture::from(
                explain_stmt
                    .as_ref()
                    .map(|e| client.query(e, &explain_refs)),
            ),
            client.batch_execute("COMMIT"),
        ),
    )
    .await;
    // The first failure is the cause; later ones are "transaction aborted" echoes.
    begun?;
    ctx?;
    pre_res.transpose()?;
    let mut rows = main_res?;
    let explain = match explain_res.transpose()? {
        Some(mut r) if !r.is_empty() => Some(r.swap_remove(0)),
        _ => None,
    };
    commit?;
    if rows.is_empty() {
        return Err(DbError::Shape("main statement returned no row".into()));
    }
    Ok(Outcome {
        main: rows.swap_remove(0),
        explain,
    })
}

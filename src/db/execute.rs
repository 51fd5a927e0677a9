//! Runs one request's transaction. BEGIN, the context statement, the optional pre-request call,
//! the main statement and COMMIT are sent together, so a request costs one round trip once its
//! statements are prepared on the connection. Only a write whose outcome decides COMMIT vs
//! ROLLBACK (singular or max-affected) waits for the result before ending the transaction.

use deadpool_postgres::Object;
use futures_util::future::{join, join4, OptionFuture};
use futures_util::FutureExt;
use tokio_postgres::{Row, Statement as Prepared};

use crate::sql::Statement;

use super::error::DbError;
use super::params::{as_refs, text_params};

/// How the transaction ends.
pub enum Finish<'a> {
    Commit,
    /// `Prefer: tx=rollback` or `ROWGATE_DB_TX_END=rollback`: deferred constraints still checked.
    Rollback,
    /// Commit only if the main row passes the check.
    Decide(&'a (dyn Fn(&Row) -> bool + Sync)),
}

pub struct Transaction<'a> {
    pub read_only: bool,
    pub context: &'a Statement,
    pub pre_request: Option<&'a str>,
    pub main: &'a Statement,
    /// Runs after the main statement with its own parameters (planned counts).
    pub explain: Option<&'a Statement>,
    pub finish: Finish<'a>,
}

pub struct Outcome {
    pub main: Row,
    /// Further rows of the main statement (only EXPLAIN in text format has them).
    pub rest: Vec<Row>,
    pub explain: Option<Row>,
    pub committed: bool,
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
    // Separate messages: if the constraint check fails, ROLLBACK still runs.
    let (check_constraints, end) = match tx.finish {
        Finish::Commit => (None, Some("COMMIT")),
        Finish::Rollback => (Some("SET CONSTRAINTS ALL IMMEDIATE"), Some("ROLLBACK")),
        Finish::Decide(_) => (None, None),
    };
    let context_params = text_params(&tx.context.params);
    let main_params = text_params(&tx.main.params);
    let explain_params = tx.explain.map(|e| text_params(&e.params)).unwrap_or_default();
    let context_refs = as_refs(&context_params);
    let main_refs = as_refs(&main_params);
    let explain_refs = as_refs(&explain_params);

    // Only a deciding write leaves its transaction open across an await; if the request is dropped
    // there (the client went away), the connection must not go back to the pool mid-transaction.
    let mut guard = RollbackOnDrop { client, armed: matches!(tx.finish, Finish::Decide(_)) };

    // Polled together: every message is written before any reply is awaited.
    let ((begun, ctx, pre_res, main_res), (explain_res, checked, ended)) = join(
        join4(
            client.batch_execute(begin),
            client.query(&context, &context_refs),
            OptionFuture::from(pre.as_ref().map(|p: &Prepared| client.query(p, &[]))),
            client.query(&main, &main_refs),
        ),
        futures_util::future::join3(
            OptionFuture::from(explain_stmt.as_ref().map(|e| client.query(e, &explain_refs))),
            OptionFuture::from(check_constraints.map(|sql| client.batch_execute(sql))),
            OptionFuture::from(end.map(|sql| client.batch_execute(sql))),
        ),
    )
    .await;

    let result = (|| {
        // The first failure is the cause; later ones are "transaction aborted" echoes.
        begun?;
        ctx?;
        pre_res.transpose()?;
        let rows = main_res?;
        let explain = match explain_res.transpose()? {
            Some(mut r) if !r.is_empty() => Some(r.swap_remove(0)),
            _ => None,
        };
        let mut rows = rows.into_iter();
        let first = rows.next().ok_or_else(|| DbError::Shape("main statement returned no row".into()))?;
        Ok((first, rows.collect::<Vec<_>>(), explain))
    })();

    match tx.finish {
        Finish::Commit | Finish::Rollback => {
            let (main, rest, explain) = result?;
            checked.transpose()?;
            ended.transpose()?;
            Ok(Outcome { main, rest, explain, committed: matches!(tx.finish, Finish::Commit) })
        }
        Finish::Decide(check) => {
            let outcome = match result {
                Ok((main, rest, explain)) => {
                    let commit = check(&main);
                    client
                        .batch_execute(if commit { "COMMIT" } else { "ROLLBACK" })
                        .await
                        .map(|()| Outcome { main, rest, explain, committed: commit })
                        .map_err(DbError::from)
                }
                Err(e) => {
                    let _ = client.batch_execute("ROLLBACK").await;
                    Err(e)
                }
            };
            guard.armed = false;
            outcome
        }
    }
}

/// Rolls back the open transaction of a request dropped before it ended it. The ROLLBACK is only
/// queued, not awaited (Drop cannot wait): tokio-postgres writes a request to the connection's
/// queue on the first poll, so it goes out before the statements of whoever gets the connection
/// next, and its reply is discarded.
struct RollbackOnDrop<'a> {
    client: &'a Object,
    armed: bool,
}

impl Drop for RollbackOnDrop<'_> {
    fn drop(&mut self) {
        if self.armed {
            let _ = self.client.batch_execute("ROLLBACK").now_or_never();
        }
    }
}

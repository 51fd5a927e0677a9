//! Runs one request's transaction: BEGIN, the context statement, the optional pre-request call,
//! the main statement and COMMIT go out as one pipeline with a single Sync (`db::wire`), so a
//! request costs one round trip. Only a write whose outcome decides COMMIT vs ROLLBACK
//! (singular or max-affected) waits for the result before ending the transaction.

use super::error::DbError;
use super::wire::{Conn, Row, Step};
use crate::sql::Statement;

/// How the transaction ends.
#[derive(Clone, Copy)]
pub enum Finish<'a> {
    Commit,
    /// `Prefer: tx=rollback` or `ROWGATE_DB_TX_END=rollback`: deferred constraints still checked.
    Rollback,
    /// Commit only if the main row passes the check.
    Decide(&'a (dyn Fn(&Row) -> bool + Sync)),
}

pub struct Transaction<'a> {
    /// `BEGIN ISOLATION LEVEL … READ ONLY|READ WRITE` (`sql::context::begin`).
    pub begin: &'static str,
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

/// The pipeline of `tx`: its steps, and where its main and EXPLAIN statements are.
fn steps_of<'a>(tx: &'a Transaction<'a>) -> (Vec<Step<'a>>, usize, Option<usize>) {
    let none: &[String] = &[];
    let mut steps = Vec::with_capacity(7);
    steps.push(Step::new(tx.begin, none));
    steps.push(Step::new(&tx.context.sql, &tx.context.params));
    if let Some(sql) = tx.pre_request {
        steps.push(Step::new(sql, none));
    }
    let main_at = steps.len();
    steps.push(Step::new(&tx.main.sql, &tx.main.params));
    let explain_at = tx.explain.map(|e| {
        steps.push(Step::new(&e.sql, &e.params));
        steps.len() - 1
    });
    match tx.finish {
        Finish::Commit => steps.push(Step::new("COMMIT", none)),
        // Separate statements: if the constraint check fails, the transaction still ends.
        Finish::Rollback => {
            steps.push(Step::new("SET CONSTRAINTS ALL IMMEDIATE", none));
            steps.push(Step::new("ROLLBACK", none));
        }
        Finish::Decide(_) => {}
    }
    (steps, main_at, explain_at)
}

pub async fn run(conn: &mut Conn, tx: Transaction<'_>) -> Result<Outcome, DbError> {
    let none: &[String] = &[];
    let (steps, main_at, explain_at) = steps_of(&tx);
    let replies = conn.pipeline(&steps).await?;
    if let Some(e) = replies.error {
        // The first failure is the cause; PostgreSQL skipped the rest.
        conn.roll_back().await?;
        return Err(DbError::Server(e));
    }
    let mut rows = replies.rows;
    let explain = explain_at.and_then(|i| std::mem::take(&mut rows[i]).into_iter().next());
    let mut main_rows = std::mem::take(&mut rows[main_at]).into_iter();
    let main = main_rows.next().ok_or_else(|| DbError::Shape("main statement returned no row".into()))?;
    let rest: Vec<Row> = main_rows.collect();

    let committed = match tx.finish {
        Finish::Commit => true,
        Finish::Rollback => false,
        Finish::Decide(check) => {
            let commit = check(&main);
            let end = conn.pipeline(&[Step::new(if commit { "COMMIT" } else { "ROLLBACK" }, none)]).await?;
            if let Some(e) = end.error {
                conn.roll_back().await?;
                return Err(DbError::Server(e));
            }
            commit
        }
    };
    Ok(Outcome { main, rest, explain, committed })
}

/// Runs `tx` (which must end in COMMIT) with the main statement's rows streamed to `sink` as they
/// arrive, one piece per row (its first column), instead of collected.
pub async fn run_streamed(
    conn: &mut Conn,
    tx: Transaction<'_>,
    sink: &tokio::sync::mpsc::Sender<crate::body::Piece>,
) -> Result<(), DbError> {
    if !matches!(tx.finish, Finish::Commit) || tx.explain.is_some() {
        return Err(DbError::Shape("a streamed statement commits and has no EXPLAIN".into()));
    }
    let (steps, main_at, _) = steps_of(&tx);
    let replies = conn.pipeline_to(&steps, Some((main_at, sink))).await?;
    if let Some(e) = replies.error {
        conn.roll_back().await?;
        return Err(DbError::Server(e));
    }
    Ok(())
}

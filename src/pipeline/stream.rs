//! A streamed answer (a function declared `rowgate.stream = 'json'`, e.g. the exports): the
//! transaction runs in a task of its own that owns the pooled connection and sends each row on
//! as PostgreSQL delivers it; the response starts with the first piece. Until that piece
//! arrives nothing has been answered, so a refusal (a PT403 raised before the first row) is an
//! ordinary error response; a failure after it ends the body abruptly (the client sees a
//! truncated transfer, never a document that looks complete).

use bytes::Bytes;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::Response;
use tokio::sync::mpsc;

use super::transaction::{context_of, TxContext};
use super::PipelineError;
use crate::body::{self, Body, StreamError};
use crate::db::execute::{self, Finish, Transaction};
use crate::db::pool::Lease;
use crate::db::DbError;
use crate::observe::{self, Phase};
use crate::sql::Statement;
use crate::state::AppState;

/// Pieces buffered between the database and the client: a slow client holds the database
/// connection back rather than the gateway's memory.
const BUFFERED_PIECES: usize = 4;

pub(super) async fn respond(
    state: &AppState,
    ctx: &TxContext<'_>,
    read_only: bool,
    main: Statement,
) -> Result<Response<Body>, PipelineError> {
    let has_token = ctx.has_token;
    let (context, begin) = context_of(state, ctx, read_only);
    let main = match state.config.citus.then(|| crate::sql::context::citus_read(&main)).flatten() {
        Some(materialized) => materialized,
        None => main,
    };
    let pre_request = if ctx.pre_request { state.pre_request_sql.clone() } else { None };
    let mut conn =
        observe::time_async(Phase::Transaction, Lease::get(&state.pool)).await.map_err(|e| e.reported(has_token))?;
    let (tx, mut rx) = mpsc::channel(BUFFERED_PIECES);
    let task = tokio::spawn(async move {
        let transaction = Transaction {
            begin,
            context: &context,
            pre_request: pre_request.as_deref(),
            main: &main,
            explain: None,
            finish: Finish::Commit,
        };
        let outcome = execute::run_streamed(&mut conn, transaction, &tx).await;
        if let Err(e) = &outcome {
            // Ends the body abruptly if it has begun (a closed receiver: nothing to tell).
            let _ = tx.send(Err(StreamError(e.to_string()))).await;
        }
        outcome
    });
    let first = observe::time_async(Phase::Transaction, rx.recv()).await;
    let first = match first {
        Some(Ok(piece)) => piece,
        // Failed or finished before its first row: the task's outcome is the answer.
        Some(Err(_)) | None => match task.await {
            Ok(Ok(())) => Bytes::new(),
            Ok(Err(e)) => return Err(e.reported(has_token).into()),
            Err(e) => return Err(DbError::Lost(format!("the streaming task failed: {e}")).reported(has_token).into()),
        },
    };
    let mut resp = Response::new(body::streamed(first, rx));
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    Ok(resp)
}

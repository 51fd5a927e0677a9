//! rowgate's own connection for the request path. A request is one write and one read: every
//! statement's Parse (first use only), Bind and Execute, then a single Sync, so PostgreSQL
//! answers with one flush and the gateway wakes once. tokio-postgres cannot do that (each query
//! ends in its own Sync), so it only performs the start-up here; the schema loader, the listener,
//! migrations and `audit` keep using it.
//!
//! The connection is driven by the request's own task (no background task, no channel). A
//! connection whose request was dropped mid-exchange, or that is left inside a transaction, is
//! never reused: the pool discards it (see `db::pool`), and closing the socket ends its
//! transaction on the server.

pub mod connect;
mod groups;
pub mod replication;
pub mod row;
mod socket;

use bytes::BytesMut;
use postgres_protocol::message::backend::{ErrorResponseBody, Message};
use postgres_protocol::message::frontend;
use postgres_protocol::IsNull;
use rustc_hash::FxHashMap;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub use row::Row;
use socket::Socket;

use super::error::{DbError, ServerError};
use crate::tls::PgTarget;

/// Prepared statements kept per connection; beyond this they are all closed and re-prepared
/// (statement shapes are bounded by the query grammar, but a hostile client could mint many).
const STATEMENT_CACHE_LIMIT: usize = 512;

/// One statement of a pipeline and its text-format parameters (typed by PostgreSQL).
#[derive(Debug, Clone, Copy)]
pub struct Step<'a> {
    pub sql: &'a str,
    pub params: &'a [String],
}

impl<'a> Step<'a> {
    pub fn new(sql: &'a str, params: &'a [String]) -> Step<'a> {
        Step { sql, params }
    }
}

/// What the server answered to a pipeline.
#[derive(Debug)]
pub struct Replies {
    /// Rows of each step, in order; empty for the steps after an error.
    pub rows: Vec<Vec<Row>>,
    /// The first error (PostgreSQL skips every later step until the Sync).
    pub error: Option<ServerError>,
    /// ReadyForQuery's transaction status: `I` idle, `T` in a transaction, `E` failed one.
    pub status: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    InTransaction,
    /// A pipeline started and did not finish (its request was dropped) or the socket failed.
    Unusable,
}

pub struct Conn {
    socket: Socket,
    read: BytesMut,
    write: BytesMut,
    /// SQL text → number of its prepared statement (`r<n>`); hashed per request, so a fast hash.
    statements: FxHashMap<Box<str>, u32>,
    next_statement: u32,
    /// Statements to close in the next pipeline (after a schema reload or a cache reset).
    closing: Vec<u32>,
    /// The statement-cache generation this connection's statements belong to (see db::pool).
    pub generation: u64,
    state: State,
}

fn statement_name(id: u32) -> String {
    format!("r{id}")
}

impl Conn {
    pub async fn open(target: &PgTarget, generation: u64) -> Result<Conn, DbError> {
        let socket = connect::connect(target).await?;
        Ok(Conn {
            socket,
            read: BytesMut::with_capacity(16 * 1024),
            write: BytesMut::with_capacity(4 * 1024),
            statements: FxHashMap::default(),
            next_statement: 0,
            closing: Vec::new(),
            generation,
            state: State::Idle,
        })
    }

    /// Idle, outside any transaction, with nothing left unread: safe to hand to a request.
    pub fn is_reusable(&self) -> bool {
        self.state == State::Idle
    }

    /// Drops every prepared statement (closed on the server with the next pipeline).
    pub fn forget_statements(&mut self) {
        self.closing.extend(self.statements.drain().map(|(_, id)| id));
    }

    /// Runs `steps` in one round trip: one write, then every reply up to ReadyForQuery.
    pub async fn pipeline(&mut self, steps: &[Step<'_>]) -> Result<Replies, DbError> {
        self.pipeline_to(steps, None).await
    }

    /// [`Conn::pipeline`], with the rows of step `stream.0` sent on to `stream.1` as they arrive
    /// (their first column, uncopied) instead of collected. A receiver gone (its client went
    /// away) ends the exchange with an error, leaving the connection to be discarded, so the
    /// server stops sending rows nobody reads.
    pub async fn pipeline_to(
        &mut self,
        steps: &[Step<'_>],
        stream: Option<(usize, &tokio::sync::mpsc::Sender<crate::body::Piece>)>,
    ) -> Result<Replies, DbError> {
        self.state = State::Unusable;
        self.write.clear();
        if self.statements.len() + steps.len() > STATEMENT_CACHE_LIMIT {
            self.forget_statements();
        }
        for id in std::mem::take(&mut self.closing) {
            frontend::close(b'S', &statement_name(id), &mut self.write).map_err(encode)?;
        }
        // Statements parsed by this pipeline, in order: their ParseComplete makes them cached.
        let mut parsing: Vec<(u32, &str)> = Vec::new();
        for step in steps {
            let id = match self.statements.get(step.sql) {
                Some(&id) => id,
                None => match parsing.iter().find(|(_, sql)| *sql == step.sql) {
                    Some(&(id, _)) => id,
                    None => {
                        let id = self.next_statement;
                        self.next_statement = self.next_statement.wrapping_add(1);
                        frontend::parse(&statement_name(id), step.sql, std::iter::empty(), &mut self.write)
                            .map_err(encode)?;
                        parsing.push((id, step.sql));
                        id
                    }
                },
            };
            frontend::bind(
                "",
                &statement_name(id),
                std::iter::empty(),
                step.params.iter(),
                |p, buf| {
                    buf.extend_from_slice(p.as_bytes());
                    Ok(IsNull::No)
                },
                std::iter::empty(),
                &mut self.write,
            )
            .map_err(|_| DbError::Shape("cannot encode the parameters".into()))?;
            frontend::execute("", 0, &mut self.write).map_err(encode)?;
        }
        frontend::sync(&mut self.write);
        self.socket.write_all(&self.write).await.map_err(lost)?;

        let mut replies = Replies { rows: (0..steps.len()).map(|_| Vec::new()).collect(), error: None, status: b'E' };
        let (mut step, mut parsed) = (0usize, 0usize);
        loop {
            let message = match self.next_message().await {
                Ok(m) => m,
                // A fatal error (e.g. the server shutting down) is followed by the socket closing.
                Err(_) if replies.error.is_some() => return Ok(replies),
                Err(e) => return Err(e),
            };
            match message {
                Message::ParseComplete => {
                    if let Some(&(id, sql)) = parsing.get(parsed) {
                        self.statements.insert(sql.into(), id);
                    }
                    parsed += 1;
                }
                Message::DataRow(body) => match stream {
                    Some((at, sink)) if at == step => {
                        let piece = Row::new(body)?.bytes(0)?.unwrap_or_default();
                        if sink.send(Ok(piece)).await.is_err() {
                            return Err(DbError::Lost("the client went away while rows were streamed to it".into()));
                        }
                    }
                    _ => {
                        if let Some(rows) = replies.rows.get_mut(step) {
                            rows.push(Row::new(body)?);
                        }
                    }
                },
                Message::CommandComplete(_) | Message::EmptyQueryResponse | Message::PortalSuspended => step += 1,
                Message::ErrorResponse(body) if replies.error.is_none() => {
                    replies.error = Some(server_error(&body));
                }
                Message::ReadyForQuery(body) => {
                    replies.status = body.status();
                    break;
                }
                // Bind/Close acknowledgements, later errors and asynchronous messages.
                _ => {}
            }
        }
        self.state = if replies.status == b'I' { State::Idle } else { State::InTransaction };
        Ok(replies)
    }

    /// Ends a transaction left open or failed by a pipeline (no-op when idle).
    pub async fn roll_back(&mut self) -> Result<(), DbError> {
        if self.state == State::InTransaction {
            let replies = self.simple("ROLLBACK").await?;
            if let Some(e) = replies.error {
                return Err(DbError::Server(e));
            }
        }
        Ok(())
    }

    /// One simple-protocol query without results (ROLLBACK, the readiness probe's "").
    pub async fn simple(&mut self, sql: &str) -> Result<Replies, DbError> {
        self.state = State::Unusable;
        self.write.clear();
        frontend::query(sql, &mut self.write).map_err(encode)?;
        self.socket.write_all(&self.write).await.map_err(lost)?;
        let mut replies = Replies { rows: Vec::new(), error: None, status: b'E' };
        loop {
            match self.next_message().await? {
                Message::ErrorResponse(body) if replies.error.is_none() => replies.error = Some(server_error(&body)),
                Message::ReadyForQuery(body) => {
                    replies.status = body.status();
                    break;
                }
                _ => {}
            }
        }
        self.state = if replies.status == b'I' { State::Idle } else { State::InTransaction };
        Ok(replies)
    }

    async fn next_message(&mut self) -> Result<Message, DbError> {
        loop {
            if let Some(m) = Message::parse(&mut self.read).map_err(|e| DbError::Shape(format!("protocol: {e}")))? {
                return Ok(m);
            }
            if self.read.capacity() - self.read.len() < 4096 {
                self.read.reserve(16 * 1024);
            }
            if self.socket.read_buf(&mut self.read).await.map_err(lost)? == 0 {
                return Err(DbError::Lost("the server closed the connection".into()));
            }
        }
    }
}

fn encode(e: std::io::Error) -> DbError {
    DbError::Shape(format!("cannot encode a message: {e}"))
}

fn lost(e: std::io::Error) -> DbError {
    DbError::Lost(e.to_string())
}

fn server_error(body: &ErrorResponseBody) -> ServerError {
    use fallible_iterator::FallibleIterator;
    let mut e = ServerError::default();
    let mut fields = body.fields();
    while let Ok(Some(f)) = fields.next() {
        let value = String::from_utf8_lossy(f.value_bytes()).into_owned();
        match f.type_() {
            b'C' => e.code = value,
            b'M' => e.message = value,
            b'D' => e.detail = Some(value),
            b'H' => e.hint = Some(value),
            _ => {}
        }
    }
    e
}

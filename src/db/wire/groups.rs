//! Independent transactions in one round trip, for realtime's batched checks: every group of
//! steps ends with its own Sync, so PostgreSQL runs each group as an implicit transaction and an
//! error (a policy that raises for one subscriber's claims, a revoked session) fails only its
//! group; the groups after it run as usual. New statements are parsed first, each followed by a
//! Sync of its own, so a group that fails before its statements were reached never leaves a later
//! group without its prepared statement.

use bytes::BytesMut;
use postgres_protocol::message::backend::Message;
use postgres_protocol::message::frontend;
use postgres_protocol::IsNull;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use super::{encode, lost, server_error, statement_name, Conn, Replies, Row, State, Step, STATEMENT_CACHE_LIMIT};
use crate::db::error::{DbError, ServerError};

impl Conn {
    /// Runs every group as its own transaction, all in one write and one read.
    pub async fn pipeline_groups(&mut self, groups: &[Vec<Step<'_>>]) -> Result<Vec<Replies>, DbError> {
        self.state = State::Unusable;
        self.write.clear();
        let mut fresh: Vec<&str> = Vec::new();
        for step in groups.iter().flatten() {
            if !self.statements.contains_key(step.sql) && !fresh.contains(&step.sql) {
                fresh.push(step.sql);
            }
        }
        if self.statements.len() + fresh.len() > STATEMENT_CACHE_LIMIT {
            self.forget_statements();
            fresh.clear();
            for step in groups.iter().flatten() {
                if !fresh.contains(&step.sql) {
                    fresh.push(step.sql);
                }
            }
        }
        let closing = std::mem::take(&mut self.closing);
        for id in &closing {
            frontend::close(b'S', &statement_name(*id), &mut self.write).map_err(encode)?;
        }
        if !closing.is_empty() {
            frontend::sync(&mut self.write);
        }
        let mut parsing: Vec<(u32, &str)> = Vec::with_capacity(fresh.len());
        for sql in &fresh {
            let id = self.next_statement;
            self.next_statement = self.next_statement.wrapping_add(1);
            frontend::parse(&statement_name(id), sql, std::iter::empty(), &mut self.write).map_err(encode)?;
            frontend::sync(&mut self.write);
            parsing.push((id, sql));
        }
        for group in groups {
            for step in group {
                let id = match self.statements.get(step.sql) {
                    Some(&id) => id,
                    None => parsing.iter().find(|(_, s)| *s == step.sql).map(|(id, _)| *id).unwrap_or_default(),
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
        }
        // Written and read at once: a large pipeline's answers (a batch's row images) can fill the
        // socket while the rest is still being sent, and neither side may wait for the other.
        let closing_syncs = usize::from(!closing.is_empty());
        let mut expect: Vec<usize> = vec![0; closing_syncs + parsing.len()];
        expect.extend(groups.iter().map(Vec::len));
        let (mut rd, mut wr) = tokio::io::split(&mut self.socket);
        let write = async { wr.write_all(&self.write).await.map_err(lost) };
        let read = read_groups(&mut rd, &mut self.read, &expect);
        let (written, replies) = tokio::join!(write, read);
        written?;
        let mut replies = replies?.into_iter().skip(closing_syncs);
        // A statement that failed to parse: the groups using it report that error.
        let mut unparsed: Vec<(&str, ServerError)> = Vec::new();
        for (id, sql) in parsing {
            let parsed = replies.next().ok_or_else(|| DbError::Shape("missing reply".into()))?;
            match parsed.error {
                None => {
                    self.statements.insert(sql.into(), id);
                }
                Some(e) => unparsed.push((sql, e)),
            }
        }
        let mut out = Vec::with_capacity(groups.len());
        for group in groups {
            let mut replies = replies.next().ok_or_else(|| DbError::Shape("missing reply".into()))?;
            if let Some((_, e)) = unparsed.iter().find(|(sql, _)| group.iter().any(|s| s.sql == *sql)) {
                replies.error = Some(e.clone());
            }
            out.push(replies);
        }
        self.state = match out.last().map_or(b'I', |r| r.status) {
            b'I' => State::Idle,
            _ => State::InTransaction,
        };
        Ok(out)
    }
}

/// The replies of every Sync in turn: `steps[i]` statements up to the i-th ReadyForQuery.
async fn read_groups<R: AsyncRead + Unpin>(
    rd: &mut R,
    buf: &mut BytesMut,
    steps: &[usize],
) -> Result<Vec<Replies>, DbError> {
    let mut out = Vec::with_capacity(steps.len());
    for &n in steps {
        let mut replies = Replies { rows: (0..n).map(|_| Vec::new()).collect(), error: None, status: b'E' };
        let mut step = 0usize;
        loop {
            let message = loop {
                if let Some(m) = Message::parse(buf).map_err(|e| DbError::Shape(format!("protocol: {e}")))? {
                    break m;
                }
                if buf.capacity() - buf.len() < 4096 {
                    buf.reserve(64 * 1024);
                }
                if rd.read_buf(buf).await.map_err(lost)? == 0 {
                    return Err(DbError::Lost("the server closed the connection".into()));
                }
            };
            match message {
                Message::DataRow(body) => {
                    if let Some(rows) = replies.rows.get_mut(step) {
                        rows.push(Row::new(body)?);
                    }
                }
                Message::CommandComplete(_) | Message::EmptyQueryResponse | Message::PortalSuspended => step += 1,
                Message::ErrorResponse(body) if replies.error.is_none() => replies.error = Some(server_error(&body)),
                Message::ReadyForQuery(body) => {
                    replies.status = body.status();
                    break;
                }
                _ => {}
            }
        }
        out.push(replies);
    }
    Ok(out)
}

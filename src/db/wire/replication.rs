//! A logical replication session (`replication=database`) for realtime's change capture: the
//! same socket and TLS as request connections (`connect.rs`: unix sockets, sslmode), its own
//! start-up (tokio-postgres cannot ask for replication) with cleartext, md5 or SCRAM
//! authentication from postgres-protocol, simple queries for the slot commands, and the
//! CopyBoth stream that START_REPLICATION opens. What the stream carries (pgoutput) is decoded by
//! `realtime::capture`; this file only moves messages.

use bytes::{Buf, Bytes, BytesMut};
use fallible_iterator::FallibleIterator;
use postgres_protocol::authentication::sasl::{ChannelBinding, ScramSha256, SCRAM_SHA_256};
use postgres_protocol::message::backend::Message;
use postgres_protocol::message::frontend;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::connect::{connect_as, StartUp};
use super::socket::Socket;
use super::{encode, lost, server_error};
use crate::db::DbError;
use crate::tls::PgTarget;

/// One replication session.
pub struct ReplicationConn {
    socket: Socket,
    read: BytesMut,
    write: BytesMut,
}

fn unavailable(what: impl std::fmt::Display) -> DbError {
    DbError::Unavailable(what.to_string())
}

/// Start-up message with `replication=database`, then authentication up to ReadyForQuery.
pub(super) async fn start_up(target: &PgTarget, mut socket: Socket) -> Result<Socket, DbError> {
    let config = &target.config;
    let user = config.get_user().ok_or_else(|| unavailable("the connection string names no user"))?;
    let mut params: Vec<(&str, &str)> = vec![("user", user), ("replication", "database")];
    if let Some(db) = config.get_dbname() {
        params.push(("database", db));
    }
    params.push(("application_name", config.get_application_name().unwrap_or("rowgate realtime")));
    let mut buf = BytesMut::new();
    frontend::startup_message(params.iter().copied(), &mut buf).map_err(encode)?;
    socket.write_all(&buf).await.map_err(lost)?;
    let password = config.get_password().unwrap_or_default().to_vec();
    let mut read = BytesMut::with_capacity(4096);
    let mut scram: Option<ScramSha256> = None;
    loop {
        let reply = match next_frame(&mut socket, &mut read).await? {
            Frame::Message(m) => m,
            Frame::CopyBoth => return Err(unavailable("unexpected CopyBothResponse during start-up")),
        };
        buf.clear();
        match reply {
            Message::AuthenticationOk | Message::ParameterStatus(_) | Message::BackendKeyData(_) => continue,
            Message::NoticeResponse(_) => continue,
            Message::AuthenticationCleartextPassword => {
                frontend::password_message(&password, &mut buf).map_err(encode)?
            }
            Message::AuthenticationMd5Password(body) => {
                let hash = postgres_protocol::authentication::md5_hash(user.as_bytes(), &password, body.salt());
                frontend::password_message(hash.as_bytes(), &mut buf).map_err(encode)?;
            }
            Message::AuthenticationSasl(body) => {
                let mut mechanisms = body.mechanisms();
                let mut has_scram = false;
                while let Some(m) = mechanisms.next().map_err(|e| unavailable(format!("SASL: {e}")))? {
                    has_scram |= m == SCRAM_SHA_256;
                }
                if !has_scram {
                    return Err(unavailable("the server offers no SASL mechanism rowgate supports"));
                }
                let s = ScramSha256::new(&password, ChannelBinding::unsupported());
                frontend::sasl_initial_response(SCRAM_SHA_256, s.message(), &mut buf).map_err(encode)?;
                scram = Some(s);
            }
            Message::AuthenticationSaslContinue(body) => {
                let s = scram.as_mut().ok_or_else(|| unavailable("SASL continue without a start"))?;
                s.update(body.data()).map_err(|e| unavailable(format!("SCRAM: {e}")))?;
                frontend::sasl_response(s.message(), &mut buf).map_err(encode)?;
            }
            Message::AuthenticationSaslFinal(body) => {
                let s = scram.as_mut().ok_or_else(|| unavailable("SASL final without a start"))?;
                s.finish(body.data()).map_err(|e| unavailable(format!("SCRAM: {e}")))?;
                continue;
            }
            Message::ErrorResponse(body) => {
                let e = server_error(&body);
                return Err(unavailable(format!("{}: {}", e.code, e.message)));
            }
            Message::ReadyForQuery(_) => return Ok(socket),
            _ => return Err(unavailable("unexpected message during start-up")),
        }
        socket.write_all(&buf).await.map_err(lost)?;
    }
}

enum Frame {
    Message(Message),
    /// CopyBothResponse, which postgres-protocol's parser does not know.
    CopyBoth,
}

async fn next_frame(socket: &mut Socket, read: &mut BytesMut) -> Result<Frame, DbError> {
    loop {
        if read.len() >= 5 && read[0] == b'W' {
            let len = u32::from_be_bytes([read[1], read[2], read[3], read[4]]) as usize;
            if read.len() > len {
                read.advance(len + 1);
                return Ok(Frame::CopyBoth);
            }
        } else if let Some(m) = Message::parse(read).map_err(|e| DbError::Shape(format!("protocol: {e}")))? {
            return Ok(Frame::Message(m));
        }
        if read.capacity() - read.len() < 8192 {
            read.reserve(64 * 1024);
        }
        if socket.read_buf(read).await.map_err(lost)? == 0 {
            return Err(DbError::Lost("the server closed the replication connection".into()));
        }
    }
}

impl ReplicationConn {
    /// Opens a replication session to `target` (its role needs the REPLICATION attribute).
    pub async fn open(target: &PgTarget) -> Result<ReplicationConn, DbError> {
        let socket = connect_as(target, StartUp::Replication).await?;
        Ok(ReplicationConn { socket, read: BytesMut::with_capacity(64 * 1024), write: BytesMut::with_capacity(256) })
    }

    /// A simple query (a replication command or SQL): its rows as text.
    pub async fn query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, DbError> {
        self.write.clear();
        frontend::query(sql, &mut self.write).map_err(encode)?;
        self.socket.write_all(&self.write).await.map_err(lost)?;
        let mut rows = Vec::new();
        let mut error = None;
        loop {
            match next_frame(&mut self.socket, &mut self.read).await? {
                Frame::Message(Message::DataRow(body)) => {
                    let row = super::Row::new(body)?;
                    let values: Result<Vec<Option<String>>, DbError> =
                        (0..row.len()).map(|i| row.text(i).map(|t| t.map(str::to_string))).collect();
                    rows.push(values?);
                }
                Frame::Message(Message::ErrorResponse(body)) if error.is_none() => error = Some(server_error(&body)),
                Frame::Message(Message::ReadyForQuery(_)) => break,
                Frame::CopyBoth => return Err(DbError::Shape("unexpected CopyBothResponse".into())),
                Frame::Message(_) => {}
            }
        }
        match error {
            Some(e) => Err(DbError::Server(e)),
            None => Ok(rows),
        }
    }

    /// Sends START_REPLICATION (or any command that opens CopyBoth) and waits for the stream.
    pub async fn start(&mut self, command: &str) -> Result<(), DbError> {
        self.write.clear();
        frontend::query(command, &mut self.write).map_err(encode)?;
        self.socket.write_all(&self.write).await.map_err(lost)?;
        loop {
            match next_frame(&mut self.socket, &mut self.read).await? {
                Frame::CopyBoth => return Ok(()),
                Frame::Message(Message::ErrorResponse(body)) => return Err(DbError::Server(server_error(&body))),
                Frame::Message(_) => {}
            }
        }
    }

    /// The next CopyData payload of the stream; the end of the stream or an error is an error.
    pub async fn recv(&mut self) -> Result<Bytes, DbError> {
        loop {
            match next_frame(&mut self.socket, &mut self.read).await? {
                Frame::Message(Message::CopyData(body)) => return Ok(body.into_bytes()),
                Frame::Message(Message::ErrorResponse(body)) => return Err(DbError::Server(server_error(&body))),
                Frame::Message(Message::CopyDone) => return Err(DbError::Lost("the server ended the stream".into())),
                Frame::Message(_) => {}
                Frame::CopyBoth => return Err(DbError::Shape("unexpected CopyBothResponse".into())),
            }
        }
    }

    /// Sends one CopyData message (a standby status update).
    pub async fn send(&mut self, data: &[u8]) -> Result<(), DbError> {
        self.write.clear();
        frontend::CopyData::new(data).map_err(encode)?.write(&mut self.write);
        self.socket.write_all(&self.write).await.map_err(lost)
    }
}

//! What rowgate really sends: a TCP proxy between a rowgate instance and PostgreSQL that decodes
//! the frontend half of the wire protocol (simple queries, Parse and Bind) and records every
//! statement executed with its parameters. The pgbench floor replays exactly these.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use anyhow::{bail, Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One statement as a connection executed it.
#[derive(Debug, Clone, PartialEq)]
pub enum Executed {
    /// A simple-protocol `Query` message (rowgate's BEGIN and COMMIT).
    Simple(String),
    /// A Bind of a prepared statement: its SQL text and text-format parameters.
    Prepared { sql: String, params: Vec<Option<String>> },
}

impl Executed {
    pub fn sql(&self) -> &str {
        match self {
            Executed::Simple(sql) | Executed::Prepared { sql, .. } => sql,
        }
    }
}

type Log = Arc<Mutex<Vec<(u64, Executed)>>>;

pub struct Capture {
    pub addr: SocketAddr,
    log: Log,
    accept: tokio::task::JoinHandle<()>,
}

impl Capture {
    /// Listens on a free local port and forwards every connection to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Result<Capture> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let log: Log = Arc::default();
        let sink = log.clone();
        let accept = tokio::spawn(async move {
            let mut next_id = 0u64;
            while let Ok((client, _)) = listener.accept().await {
                next_id += 1;
                let (id, sink) = (next_id, sink.clone());
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(upstream).await {
                        let _ = relay(id, client, server, sink).await;
                    }
                });
            }
        });
        Ok(Capture { addr, log, accept })
    }

    /// Everything recorded so far, in order, with the connection it ran on; the log is emptied.
    pub fn take(&self) -> Vec<(u64, Executed)> {
        std::mem::take(&mut *self.log.lock().expect("capture log"))
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn relay(id: u64, client: TcpStream, server: TcpStream, log: Log) -> Result<()> {
    let (mut client_rx, mut client_tx) = client.into_split();
    let (mut server_rx, mut server_tx) = server.into_split();
    let back = tokio::spawn(async move { tokio::io::copy(&mut server_rx, &mut client_tx).await });
    let mut decoder = Decoder::default();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = client_rx.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        server_tx.write_all(&buf[..n]).await?;
        for executed in decoder.feed(&buf[..n])? {
            log.lock().expect("capture log").push((id, executed));
        }
    }
    back.abort();
    Ok(())
}

/// The frontend protocol, incrementally: untyped start-up messages first, then typed ones.
#[derive(Default)]
struct Decoder {
    pending: Vec<u8>,
    started: bool,
    statements: HashMap<String, String>,
}

const SSL_REQUEST: u32 = 80_877_103;
const GSSENC_REQUEST: u32 = 80_877_104;

impl Decoder {
    fn feed(&mut self, bytes: &[u8]) -> Result<Vec<Executed>> {
        self.pending.extend_from_slice(bytes);
        let mut out = Vec::new();
        loop {
            if !self.started {
                let Some(len) = be_u32(&self.pending, 0) else { break };
                let len = len as usize;
                if self.pending.len() < len {
                    break;
                }
                let code = be_u32(&self.pending, 4).unwrap_or(0);
                // SSL/GSS requests are followed by the real start-up message.
                self.started = code != SSL_REQUEST && code != GSSENC_REQUEST;
                self.pending.drain(..len);
                continue;
            }
            let Some(len) = be_u32(&self.pending, 1) else { break };
            let total = 1 + len as usize;
            if self.pending.len() < total {
                break;
            }
            let message: Vec<u8> = self.pending.drain(..total).collect();
            if let Some(executed) = self.message(message[0], &message[5..])? {
                out.push(executed);
            }
        }
        Ok(out)
    }

    fn message(&mut self, kind: u8, body: &[u8]) -> Result<Option<Executed>> {
        let mut r = Reader { bytes: body, at: 0 };
        match kind {
            b'Q' => Ok(Some(Executed::Simple(r.cstr()?))),
            b'P' => {
                let name = r.cstr()?;
                let sql = r.cstr()?;
                self.statements.insert(name, sql);
                Ok(None)
            }
            b'B' => {
                let _portal = r.cstr()?;
                let name = r.cstr()?;
                let formats: Vec<u16> = (0..r.u16()?).map(|_| r.u16()).collect::<Result<_>>()?;
                let count = r.u16()? as usize;
                let mut params = Vec::with_capacity(count);
                for i in 0..count {
                    let format = match formats.len() {
                        0 => 0,
                        1 => formats[0],
                        _ => formats[i],
                    };
                    if format != 0 {
                        bail!("parameter {} of statement {name} is in binary format", i + 1);
                    }
                    params.push(r.value()?);
                }
                let sql = self.statements.get(&name).with_context(|| format!("Bind of unknown statement {name}"))?;
                Ok(Some(Executed::Prepared { sql: sql.clone(), params }))
            }
            b'C' => {
                // Close of a statement: forget it (names are reused after a cache clear).
                if r.u8()? == b'S' {
                    self.statements.remove(&r.cstr()?);
                }
                Ok(None)
            }
            _ => Ok(None),
        }
    }
}

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4).map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        let s = self.bytes.get(self.at..self.at + n).context("truncated protocol message")?;
        self.at += n;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16> {
        let s = self.take(2)?;
        Ok(u16::from_be_bytes([s[0], s[1]]))
    }
    fn cstr(&mut self) -> Result<String> {
        let rest = &self.bytes[self.at.min(self.bytes.len())..];
        let end = rest.iter().position(|&b| b == 0).context("unterminated string in protocol message")?;
        let s = String::from_utf8(rest[..end].to_vec())?;
        self.at += end + 1;
        Ok(s)
    }
    fn value(&mut self) -> Result<Option<String>> {
        let s = self.take(4)?;
        let len = i32::from_be_bytes([s[0], s[1], s[2], s[3]]);
        if len < 0 {
            return Ok(None);
        }
        Ok(Some(String::from_utf8(self.take(len as usize)?.to_vec())?))
    }
}

/// One request's transaction: the statements from a BEGIN to its COMMIT or ROLLBACK.
pub fn transactions(log: &[(u64, Executed)]) -> Vec<Vec<Executed>> {
    let mut open: HashMap<u64, Vec<Executed>> = HashMap::new();
    let mut done = Vec::new();
    for (conn, e) in log {
        let sql = e.sql().trim_start().to_ascii_uppercase();
        if sql.starts_with("BEGIN") {
            open.insert(*conn, vec![e.clone()]);
        } else if let Some(tx) = open.get_mut(conn) {
            tx.push(e.clone());
            if sql.starts_with("COMMIT") || sql.starts_with("ROLLBACK") {
                done.extend(open.remove(conn));
            }
        }
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![kind];
        m.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
        m.extend_from_slice(body);
        m
    }

    fn cstr(s: &str) -> Vec<u8> {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        v
    }

    #[test]
    fn decodes_startup_parse_bind_and_query_split_anywhere() {
        let mut wire = Vec::new();
        wire.extend_from_slice(&8u32.to_be_bytes());
        wire.extend_from_slice(&SSL_REQUEST.to_be_bytes());
        let startup = [&196_608u32.to_be_bytes()[..], &cstr("user"), &cstr("authenticator"), &[0]].concat();
        wire.extend_from_slice(&((startup.len() + 4) as u32).to_be_bytes());
        wire.extend_from_slice(&startup);
        wire.extend(typed(b'Q', &cstr("BEGIN READ ONLY")));
        wire.extend(typed(b'P', &[cstr("s0"), cstr("select $1, $2"), vec![0, 0]].concat()));
        let mut bind = [cstr(""), cstr("s0"), vec![0, 1, 0, 0], vec![0, 2]].concat();
        bind.extend_from_slice(&3i32.to_be_bytes());
        bind.extend_from_slice(b"abc");
        bind.extend_from_slice(&(-1i32).to_be_bytes());
        bind.extend_from_slice(&[0, 0]);
        wire.extend(typed(b'B', &bind));
        wire.extend(typed(b'E', &[cstr(""), vec![0, 0, 0, 0]].concat()));
        wire.extend(typed(b'S', &[]));
        wire.extend(typed(b'Q', &cstr("COMMIT")));

        for split in [1, 3, 7, wire.len()] {
            let mut d = Decoder::default();
            let mut got = Vec::new();
            for chunk in wire.chunks(split) {
                got.extend(d.feed(chunk).unwrap());
            }
            assert_eq!(
                got,
                vec![
                    Executed::Simple("BEGIN READ ONLY".into()),
                    Executed::Prepared { sql: "select $1, $2".into(), params: vec![Some("abc".into()), None] },
                    Executed::Simple("COMMIT".into()),
                ],
                "split every {split} bytes"
            );
        }
    }

    #[test]
    fn binary_parameters_are_refused() {
        let mut d = Decoder { started: true, ..Default::default() };
        d.feed(&typed(b'P', &[cstr("s1"), cstr("select $1"), vec![0, 0]].concat())).unwrap();
        let mut bind = [cstr(""), cstr("s1"), vec![0, 1, 0, 1], vec![0, 1]].concat();
        bind.extend_from_slice(&1i32.to_be_bytes());
        bind.push(7);
        assert!(d.feed(&typed(b'B', &bind)).is_err());
    }

    #[test]
    fn transactions_group_per_connection() {
        let s = |x: &str| Executed::Simple(x.into());
        let log = vec![
            (1, s("LISTEN pgrst")),
            (2, s("BEGIN")),
            (1, s("BEGIN")),
            (2, s("select 2")),
            (1, s("select 1")),
            (2, s("COMMIT")),
            (1, s("ROLLBACK")),
        ];
        let txs = transactions(&log);
        assert_eq!(
            txs,
            vec![vec![s("BEGIN"), s("select 2"), s("COMMIT")], vec![s("BEGIN"), s("select 1"), s("ROLLBACK")]]
        );
    }
}

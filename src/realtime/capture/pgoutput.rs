//! Decoding what the walsender streams: the replication envelope (XLogData `w`, keepalive `k`)
//! and the pgoutput messages inside (protocol version 1: Begin, Commit, Relation, Insert,
//! Update, Delete; Type, Origin, Truncate and Message are read and ignored), then a transaction
//! assembled from them with each row as a JSON image of the WAL's text values.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::{Buf, Bytes};

use crate::realtime::error::CaptureError;

/// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01).
pub const PG_EPOCH_US: i64 = 946_684_800_000_000;

/// A table as the Relation message describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    pub oid: u32,
    pub schema: String,
    pub name: String,
    pub columns: Vec<Column>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub type_oid: u32,
}

/// One column of a tuple.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Datum {
    Null,
    /// A TOASTed value the UPDATE did not change (its value is in the old row under FULL identity).
    Unchanged,
    Text(Bytes),
}

#[derive(Debug, PartialEq)]
pub enum Message {
    Begin {
        final_lsn: u64,
        commit_time: i64,
    },
    Commit {
        commit_lsn: u64,
        end_lsn: u64,
    },
    Relation(Relation),
    Insert {
        rel: u32,
        new: Vec<Datum>,
    },
    Update {
        rel: u32,
        old: Option<Vec<Datum>>,
        new: Vec<Datum>,
    },
    Delete {
        rel: u32,
        old: Vec<Datum>,
    },
    /// Type, Origin, Truncate, logical decoding messages.
    Ignored,
}

/// What the stream carries.
#[derive(Debug, PartialEq)]
pub enum Stream {
    XLogData { wal_end: u64, data: Bytes },
    Keepalive { wal_end: u64, reply: bool },
}

fn short(what: &str) -> CaptureError {
    CaptureError::Protocol(format!("truncated {what}"))
}

fn u8_(b: &mut Bytes, what: &str) -> Result<u8, CaptureError> {
    (b.remaining() >= 1).then(|| b.get_u8()).ok_or_else(|| short(what))
}
fn u16_(b: &mut Bytes, what: &str) -> Result<u16, CaptureError> {
    (b.remaining() >= 2).then(|| b.get_u16()).ok_or_else(|| short(what))
}
fn u32_(b: &mut Bytes, what: &str) -> Result<u32, CaptureError> {
    (b.remaining() >= 4).then(|| b.get_u32()).ok_or_else(|| short(what))
}
fn u64_(b: &mut Bytes, what: &str) -> Result<u64, CaptureError> {
    (b.remaining() >= 8).then(|| b.get_u64()).ok_or_else(|| short(what))
}
fn cstr(b: &mut Bytes, what: &str) -> Result<String, CaptureError> {
    let end = b.iter().position(|&c| c == 0).ok_or_else(|| short(what))?;
    let s = b.split_to(end);
    b.advance(1);
    String::from_utf8(s.to_vec()).map_err(|_| CaptureError::Protocol(format!("{what} is not UTF-8")))
}

/// The replication envelope of one CopyData message.
pub fn stream(mut b: Bytes) -> Result<Stream, CaptureError> {
    match u8_(&mut b, "stream message")? {
        b'w' => {
            let _start = u64_(&mut b, "XLogData")?;
            let wal_end = u64_(&mut b, "XLogData")?;
            let _sent = u64_(&mut b, "XLogData")?;
            Ok(Stream::XLogData { wal_end, data: b })
        }
        b'k' => {
            let wal_end = u64_(&mut b, "keepalive")?;
            let _sent = u64_(&mut b, "keepalive")?;
            Ok(Stream::Keepalive { wal_end, reply: u8_(&mut b, "keepalive")? == 1 })
        }
        other => Err(CaptureError::Protocol(format!("unknown stream message {other:#x}"))),
    }
}

fn tuple(b: &mut Bytes) -> Result<Vec<Datum>, CaptureError> {
    let n = u16_(b, "tuple")?;
    let mut out = Vec::with_capacity(usize::from(n));
    for _ in 0..n {
        out.push(match u8_(b, "tuple column")? {
            b'n' => Datum::Null,
            b'u' => Datum::Unchanged,
            b't' => {
                let len = u32_(b, "tuple value")? as usize;
                if b.remaining() < len {
                    return Err(short("tuple value"));
                }
                Datum::Text(b.split_to(len))
            }
            other => return Err(CaptureError::Protocol(format!("unknown tuple column kind {other:#x}"))),
        });
    }
    Ok(out)
}

/// One pgoutput message.
pub fn message(mut b: Bytes) -> Result<Message, CaptureError> {
    let b = &mut b;
    Ok(match u8_(b, "pgoutput message")? {
        b'B' => {
            let final_lsn = u64_(b, "Begin")?;
            let commit_time = u64_(b, "Begin")? as i64;
            Message::Begin { final_lsn, commit_time }
        }
        b'C' => {
            let _flags = u8_(b, "Commit")?;
            let commit_lsn = u64_(b, "Commit")?;
            let end_lsn = u64_(b, "Commit")?;
            Message::Commit { commit_lsn, end_lsn }
        }
        b'R' => {
            let oid = u32_(b, "Relation")?;
            let schema = cstr(b, "Relation namespace")?;
            let name = cstr(b, "Relation name")?;
            let _identity = u8_(b, "Relation")?;
            let n = u16_(b, "Relation")?;
            let mut columns = Vec::with_capacity(usize::from(n));
            for _ in 0..n {
                let _flags = u8_(b, "Relation column")?;
                let name = cstr(b, "column name")?;
                let type_oid = u32_(b, "column type")?;
                let _typmod = u32_(b, "column typmod")?;
                columns.push(Column { name, type_oid });
            }
            Message::Relation(Relation { oid, schema, name, columns })
        }
        b'I' => {
            let rel = u32_(b, "Insert")?;
            match u8_(b, "Insert")? {
                b'N' => Message::Insert { rel, new: tuple(b)? },
                other => return Err(CaptureError::Protocol(format!("Insert: unexpected {other:#x}"))),
            }
        }
        b'U' => {
            let rel = u32_(b, "Update")?;
            let (old, marker) = match u8_(b, "Update")? {
                b'K' | b'O' => (Some(tuple(b)?), u8_(b, "Update")?),
                m => (None, m),
            };
            if marker != b'N' {
                return Err(CaptureError::Protocol(format!("Update: unexpected {marker:#x}")));
            }
            Message::Update { rel, old, new: tuple(b)? }
        }
        b'D' => {
            let rel = u32_(b, "Delete")?;
            match u8_(b, "Delete")? {
                b'K' | b'O' => Message::Delete { rel, old: tuple(b)? },
                other => return Err(CaptureError::Protocol(format!("Delete: unexpected {other:#x}"))),
            }
        }
        _ => Message::Ignored,
    })
}

/// INSERT, UPDATE or DELETE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Insert,
    Update,
    Delete,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Insert => "INSERT",
            Kind::Update => "UPDATE",
            Kind::Delete => "DELETE",
        }
    }
}

/// One row change, with its images as JSON objects of the WAL's text values (json and jsonb
/// columns as JSON): what `realtime.batch` turns into rows of the table.
#[derive(Debug, Clone)]
pub struct Change {
    pub rel: Arc<Relation>,
    pub kind: Kind,
    pub new: Option<String>,
    pub old: Option<String>,
}

/// A committed transaction's changes to published tables.
#[derive(Debug, Clone)]
pub struct Transaction {
    /// LSN of the commit record (Begin's final_lsn).
    pub commit_lsn: u64,
    /// End of the commit record: what the slot is confirmed up to once delivered.
    pub end_lsn: u64,
    /// Commit time, microseconds since the Unix epoch.
    pub commit_time_us: i64,
    pub changes: Vec<Change>,
}

const JSON_OID: u32 = 114;
const JSONB_OID: u32 = 3802;

/// `{"col": "text", …}`; an unchanged TOASTed value is taken from `fallback` (the old row) or
/// left out. Column names and values are escaped by serde_json.
pub fn image(rel: &Relation, datums: &[Datum], fallback: Option<&[Datum]>) -> String {
    let mut out = String::with_capacity(64 + datums.len() * 24);
    out.push('{');
    let mut first = true;
    for (i, (col, datum)) in rel.columns.iter().zip(datums).enumerate() {
        let datum = match datum {
            Datum::Unchanged => match fallback.and_then(|f| f.get(i)) {
                Some(d @ (Datum::Text(_) | Datum::Null)) => d,
                _ => continue,
            },
            d => d,
        };
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str(&serde_json::Value::String(col.name.clone()).to_string());
        out.push(':');
        match datum {
            Datum::Text(t) if col.type_oid == JSON_OID || col.type_oid == JSONB_OID => {
                out.push_str(&String::from_utf8_lossy(t));
            }
            Datum::Text(t) => {
                out.push_str(&serde_json::Value::String(String::from_utf8_lossy(t).into_owned()).to_string())
            }
            _ => out.push_str("null"),
        }
    }
    out.push('}');
    out
}

/// Builds transactions from the message stream.
#[derive(Default)]
pub struct Assembler {
    relations: HashMap<u32, Arc<Relation>>,
    current: Option<Transaction>,
}

impl Assembler {
    /// Feeds one message; a Commit returns its transaction.
    pub fn feed(&mut self, m: Message) -> Result<Option<Transaction>, CaptureError> {
        let change = |this: &mut Self, rel: u32| -> Result<Arc<Relation>, CaptureError> {
            this.relations
                .get(&rel)
                .cloned()
                .ok_or_else(|| CaptureError::Protocol(format!("change of unknown relation {rel}")))
        };
        match m {
            Message::Begin { final_lsn, commit_time } => {
                self.current = Some(Transaction {
                    commit_lsn: final_lsn,
                    end_lsn: 0,
                    commit_time_us: commit_time + PG_EPOCH_US,
                    changes: Vec::new(),
                });
            }
            Message::Commit { commit_lsn, end_lsn } => {
                let mut tx =
                    self.current.take().ok_or_else(|| CaptureError::Protocol("Commit without Begin".into()))?;
                tx.commit_lsn = commit_lsn;
                tx.end_lsn = end_lsn;
                return Ok(Some(tx));
            }
            Message::Relation(r) => {
                self.relations.insert(r.oid, Arc::new(r));
            }
            Message::Insert { rel, new } => {
                let rel = change(self, rel)?;
                let new = Some(image(&rel, &new, None));
                self.push(Change { rel, kind: Kind::Insert, new, old: None })?;
            }
            Message::Update { rel, old, new } => {
                let rel = change(self, rel)?;
                let new_image = Some(image(&rel, &new, old.as_deref()));
                let old = old.map(|o| image(&rel, &o, None));
                self.push(Change { rel, kind: Kind::Update, new: new_image, old })?;
            }
            Message::Delete { rel, old } => {
                let rel = change(self, rel)?;
                let old = Some(image(&rel, &old, None));
                self.push(Change { rel, kind: Kind::Delete, new: None, old })?;
            }
            Message::Ignored => {}
        }
        Ok(None)
    }

    fn push(&mut self, c: Change) -> Result<(), CaptureError> {
        self.current
            .as_mut()
            .ok_or_else(|| CaptureError::Protocol("change outside a transaction".into()))?
            .changes
            .push(c);
        Ok(())
    }
}

/// `0/16B3748` → 0x16B3748.
pub fn parse_lsn(text: &str) -> Option<u64> {
    let (hi, lo) = text.trim().split_once('/')?;
    Some((u64::from_str_radix(hi, 16).ok()? << 32) | u64::from_str_radix(lo, 16).ok()?)
}

pub fn format_lsn(lsn: u64) -> String {
    format!("{:X}/{:X}", lsn >> 32, lsn & 0xffff_ffff)
}

#[cfg(test)]
mod tests;

use bytes::{BufMut, Bytes, BytesMut};

use super::*;

fn relation_msg() -> Bytes {
    let mut b = BytesMut::new();
    b.put_u8(b'R');
    b.put_u32(16532);
    b.put_slice(b"api\0tasks\0");
    b.put_u8(b'f');
    b.put_u16(3);
    for (name, oid) in [("id", 23u32), ("title", 25), ("meta", 3802)] {
        b.put_u8(1);
        b.put_slice(name.as_bytes());
        b.put_u8(0);
        b.put_u32(oid);
        b.put_u32(u32::MAX);
    }
    b.freeze()
}

fn put_tuple(b: &mut BytesMut, cols: &[Option<&str>]) {
    b.put_u16(cols.len() as u16);
    for c in cols {
        match c {
            None => b.put_u8(b'n'),
            Some("<u>") => b.put_u8(b'u'),
            Some(v) => {
                b.put_u8(b't');
                b.put_u32(v.len() as u32);
                b.put_slice(v.as_bytes());
            }
        }
    }
}

#[test]
fn a_transaction_of_three_changes() {
    let mut a = Assembler::default();
    let mut begin = BytesMut::new();
    begin.put_u8(b'B');
    begin.put_u64(0x100);
    begin.put_u64(1_000_000);
    begin.put_u32(7);
    assert_eq!(a.feed(message(begin.freeze()).unwrap()).unwrap().map(|_| ()), None);
    a.feed(message(relation_msg()).unwrap()).unwrap();

    let mut ins = BytesMut::new();
    ins.put_u8(b'I');
    ins.put_u32(16532);
    ins.put_u8(b'N');
    put_tuple(&mut ins, &[Some("1"), Some("say \"hi\""), Some(r#"{"a": [1, 2]}"#)]);
    a.feed(message(ins.freeze()).unwrap()).unwrap();

    let mut upd = BytesMut::new();
    upd.put_u8(b'U');
    upd.put_u32(16532);
    upd.put_u8(b'O');
    put_tuple(&mut upd, &[Some("1"), Some("old"), Some("{}")]);
    upd.put_u8(b'N');
    put_tuple(&mut upd, &[Some("1"), Some("new"), Some("<u>")]);
    a.feed(message(upd.freeze()).unwrap()).unwrap();

    let mut del = BytesMut::new();
    del.put_u8(b'D');
    del.put_u32(16532);
    del.put_u8(b'O');
    put_tuple(&mut del, &[Some("1"), None, Some("null")]);
    a.feed(message(del.freeze()).unwrap()).unwrap();

    let mut commit = BytesMut::new();
    commit.put_u8(b'C');
    commit.put_u8(0);
    commit.put_u64(0x100);
    commit.put_u64(0x180);
    commit.put_u64(1_000_000);
    let tx = a.feed(message(commit.freeze()).unwrap()).unwrap().expect("committed");
    assert_eq!((tx.commit_lsn, tx.end_lsn, tx.commit_time_us), (0x100, 0x180, 1_000_000 + PG_EPOCH_US));
    let kinds: Vec<Kind> = tx.changes.iter().map(|c| c.kind).collect();
    assert_eq!(kinds, [Kind::Insert, Kind::Update, Kind::Delete]);
    let json = |s: &Option<String>| serde_json::from_str::<serde_json::Value>(s.as_deref().unwrap()).unwrap();
    assert_eq!(json(&tx.changes[0].new), serde_json::json!({"id": "1", "title": "say \"hi\"", "meta": {"a": [1, 2]}}));
    assert_eq!(
        json(&tx.changes[1].new),
        serde_json::json!({"id": "1", "title": "new", "meta": {}}),
        "unchanged TOAST from the old row"
    );
    assert_eq!(json(&tx.changes[1].old)["title"], "old");
    assert_eq!(json(&tx.changes[2].old), serde_json::json!({"id": "1", "title": null, "meta": null}));
    assert!(tx.changes[2].new.is_none());
}

#[test]
fn envelope_and_errors() {
    let mut w = BytesMut::new();
    w.put_u8(b'w');
    w.put_u64(1);
    w.put_u64(2);
    w.put_u64(3);
    w.put_slice(b"Bxyz");
    assert_eq!(stream(w.freeze()).unwrap(), Stream::XLogData { wal_end: 2, data: Bytes::from_static(b"Bxyz") });
    let mut k = BytesMut::new();
    k.put_u8(b'k');
    k.put_u64(9);
    k.put_u64(0);
    k.put_u8(1);
    assert_eq!(stream(k.freeze()).unwrap(), Stream::Keepalive { wal_end: 9, reply: true });
    assert!(stream(Bytes::from_static(b"k\0\0")).is_err());
    assert!(message(Bytes::from_static(b"I\0\0\0\x01N\0\x01t\0\0\0\x09ab")).is_err(), "value longer than the message");
    let mut a = Assembler::default();
    let mut ins = BytesMut::new();
    ins.put_u8(b'I');
    ins.put_u32(99);
    ins.put_u8(b'N');
    put_tuple(&mut ins, &[Some("1")]);
    assert!(a.feed(message(ins.freeze()).unwrap()).is_err(), "unknown relation");
    assert_eq!(message(Bytes::from_static(b"Yanything")).unwrap(), Message::Ignored);
}

#[test]
fn lsn_text() {
    assert_eq!(parse_lsn("0/16B3748"), Some(0x16B3748));
    assert_eq!(parse_lsn("1/0"), Some(1 << 32));
    assert_eq!(format_lsn(0x1_0000_00FF), "1/FF");
    assert_eq!(parse_lsn("nope"), None);
}

use serde_json::json;

use super::*;

#[test]
fn vsn_from_the_query() {
    assert_eq!(Vsn::parse(None), Some(Vsn::V1));
    assert_eq!(Vsn::parse(Some("1.0.0")), Some(Vsn::V1));
    assert_eq!(Vsn::parse(Some("2.0.0")), Some(Vsn::V2));
    assert_eq!(Vsn::parse(Some("3.0.0")), None);
    assert_eq!(Vsn::parse(Some("")), None);
}

#[test]
fn decodes_both_serializations() {
    let v2 = decode_text(Vsn::V2, r#"["6","7","realtime:x","phx_join",{"a":1}]"#).unwrap();
    let v1 =
        decode_text(Vsn::V1, r#"{"topic":"realtime:x","event":"phx_join","payload":{"a":1},"ref":"7","join_ref":"6"}"#)
            .unwrap();
    assert_eq!(v1, v2);
    assert_eq!(v2.join_ref.as_deref(), Some("6"));
    let hb = decode_text(Vsn::V2, r#"[null,"12","phoenix","heartbeat",{}]"#).unwrap();
    assert_eq!((hb.join_ref, hb.reference.as_deref(), hb.topic.as_str()), (None, Some("12"), "phoenix"));
}

#[test]
fn malformed_frames_are_errors() {
    for (vsn, text) in [
        (Vsn::V2, "not json"),
        (Vsn::V2, r#"{"topic":"t"}"#),
        (Vsn::V2, r#"[null,"1","t","e"]"#),
        (Vsn::V2, r#"[null,"1",5,"e",{}]"#),
        (Vsn::V2, r#"[{},"1","t","e",{}]"#),
        (Vsn::V1, r#"["6","7","t","e",{}]"#),
        (Vsn::V1, r#"{"event":"e"}"#),
    ] {
        assert!(decode_text(vsn, text).is_err(), "{text}");
    }
}

#[test]
fn frames_in_each_serialization() {
    let payload = json!({"status": "ok", "response": {}});
    assert_eq!(
        Vsn::V2.frame(Some("6"), Some("7"), "realtime:x", "phx_reply", &payload),
        r#"["6","7","realtime:x","phx_reply",{"response":{},"status":"ok"}]"#
    );
    let v1: Value =
        serde_json::from_str(&Vsn::V1.frame(Some("6"), Some("7"), "realtime:x", "phx_reply", &payload)).unwrap();
    assert_eq!(v1, json!({"topic": "realtime:x", "event": "phx_reply", "payload": payload, "ref": "7"}));
    assert_eq!(
        Vsn::V2.change(r#""realtime:x""#, &[3, 4], r#"{"a":1}"#),
        r#"[null,null,"realtime:x","postgres_changes",{"ids":[3,4],"data":{"a":1}}]"#
    );
    let v1: Value = serde_json::from_str(&Vsn::V1.change(r#""realtime:x""#, &[3], r#"{"a":1}"#)).unwrap();
    assert_eq!(
        v1,
        json!({"topic": "realtime:x", "event": "postgres_changes", "payload": {"ids": [3], "data": {"a": 1}}, "ref": null})
    );
}

#[test]
fn binary_broadcast_push() {
    let mut frame = vec![3u8, 1, 1, 10, 2, 0, 1];
    frame.extend_from_slice(b"67realtime:xhi");
    frame.extend_from_slice(br#"{"x":1}"#);
    let m = decode_binary(&frame).unwrap();
    assert_eq!((m.join_ref.as_deref(), m.reference.as_deref(), m.topic.as_str()), (Some("6"), Some("7"), "realtime:x"));
    assert_eq!(m.event, "broadcast");
    assert!(decode_binary(&[4, 0, 0]).is_err());
    assert!(decode_binary(&[3, 9, 9, 9, 9, 9, 1, b'a']).is_err(), "lengths beyond the frame");
}

//! The `postgres_changes` payload (shared/reference/realtime.md §3.1) of one change for one role:
//! `{schema, table, commit_timestamp, type, columns, record, old_record, errors}`, with only the
//! columns the role may read, built once per role and change and shared by every subscriber of
//! that role.

use serde_json::{Map, Value};

use crate::realtime::capture::pgoutput::Kind;

/// `2026-05-02T10:15:30.123Z` from microseconds since the Unix epoch.
pub fn timestamp(unix_us: i64) -> String {
    let ms = unix_us.div_euclid(1000);
    let (secs, milli) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{milli:03}Z", rem / 3600, (rem / 60) % 60, rem % 60)
}

/// The row with only `names`, in that (attnum) order.
fn visible_part(row: &Map<String, Value>, names: &[String]) -> Value {
    let mut out = Map::with_capacity(names.len());
    for n in names {
        if let Some(v) = row.get(n) {
            out.insert(n.clone(), v.clone());
        }
    }
    Value::Object(out)
}

pub struct ChangeView<'a> {
    pub schema: &'a str,
    pub table: &'a str,
    pub kind: Kind,
    pub commit_timestamp: &'a str,
    pub new: Option<&'a Map<String, Value>>,
    pub old: Option<&'a Map<String, Value>>,
}

/// The `data` JSON for a role that may read `names` (`columns_json` is their `[{name, type}]`).
pub fn data(c: &ChangeView<'_>, columns_json: &str, names: &[String]) -> String {
    let mut out = String::with_capacity(256);
    out.push_str("{\"schema\":");
    out.push_str(&Value::String(c.schema.to_string()).to_string());
    out.push_str(",\"table\":");
    out.push_str(&Value::String(c.table.to_string()).to_string());
    out.push_str(",\"commit_timestamp\":\"");
    out.push_str(c.commit_timestamp);
    out.push_str("\",\"type\":\"");
    out.push_str(c.kind.name());
    out.push_str("\",\"columns\":");
    out.push_str(columns_json);
    if let (Kind::Insert | Kind::Update, Some(new)) = (c.kind, c.new) {
        out.push_str(",\"record\":");
        out.push_str(&visible_part(new, names).to_string());
    }
    if let (Kind::Update | Kind::Delete, Some(old)) = (c.kind, c.old) {
        out.push_str(",\"old_record\":");
        out.push_str(&visible_part(old, names).to_string());
    }
    out.push_str(",\"errors\":null}");
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn timestamps_in_utc_with_milliseconds() {
        assert_eq!(timestamp(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(timestamp(1_777_716_930_123_456), "2026-05-02T10:15:30.123Z");
        assert_eq!(timestamp(951_782_400_000_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn only_readable_columns() {
        let new = json!({"id": 1, "org": "a", "secret": "s"});
        let old = json!({"id": 1, "org": "a", "secret": "t"});
        let view = ChangeView {
            schema: "api",
            table: "t",
            kind: Kind::Update,
            commit_timestamp: "2026-05-02T10:15:30.123Z",
            new: new.as_object(),
            old: old.as_object(),
        };
        let names = vec!["id".to_string(), "org".to_string()];
        let cols = r#"[{"name":"id","type":"int4"},{"name":"org","type":"text"}]"#;
        let d: Value = serde_json::from_str(&data(&view, cols, &names)).unwrap();
        assert_eq!(
            d,
            json!({"schema": "api", "table": "t", "commit_timestamp": "2026-05-02T10:15:30.123Z", "type": "UPDATE",
                   "columns": [{"name": "id", "type": "int4"}, {"name": "org", "type": "text"}],
                   "record": {"id": 1, "org": "a"}, "old_record": {"id": 1, "org": "a"}, "errors": null})
        );
        let del = ChangeView { kind: Kind::Delete, new: None, ..view };
        let d: Value = serde_json::from_str(&data(&del, cols, &names)).unwrap();
        assert!(d.get("record").is_none() && d["old_record"] == json!({"id": 1, "org": "a"}));
    }
}

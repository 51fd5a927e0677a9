//! The `Prefer` header.

use super::error::RequestError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountPreference {
    Exact,
    Planned,
    Estimated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReturnPreference {
    #[default]
    Minimal,
    HeadersOnly,
    Representation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    MergeDuplicates,
    IgnoreDuplicates,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxPreference {
    Commit,
    Rollback,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preferences {
    pub count: Option<CountPreference>,
    /// `None` when not asked for (writes then default to minimal).
    pub return_: Option<ReturnPreference>,
    pub resolution: Option<Resolution>,
    pub missing_default: bool,
    pub tx: Option<TxPreference>,
    pub max_affected: Option<u64>,
    pub timezone: Option<String>,
    pub strict: bool,
    /// Preferences we understood, candidates for `Preference-Applied`.
    pub applied: Vec<String>,
}

/// Parses every `Prefer` header value. Unknown preferences are ignored unless `handling=strict`.
pub fn parse_prefer<'a>(values: impl Iterator<Item = &'a str>) -> Result<Preferences, RequestError> {
    let mut p = Preferences::default();
    let mut unknown = Vec::new();
    for token in values.flat_map(|v| v.split(',')).map(str::trim).filter(|t| !t.is_empty()) {
        let (key, value) = token.split_once('=').map_or((token, ""), |(k, v)| (k.trim(), v.trim()));
        let understood = match (key, value) {
            ("count", "exact") => set(&mut p.count, CountPreference::Exact),
            ("count", "planned") => set(&mut p.count, CountPreference::Planned),
            ("count", "estimated") => set(&mut p.count, CountPreference::Estimated),
            ("return", "minimal") => set(&mut p.return_, ReturnPreference::Minimal),
            ("return", "headers-only") => set(&mut p.return_, ReturnPreference::HeadersOnly),
            ("return", "representation") => set(&mut p.return_, ReturnPreference::Representation),
            ("resolution", "merge-duplicates") => set(&mut p.resolution, Resolution::MergeDuplicates),
            ("resolution", "ignore-duplicates") => set(&mut p.resolution, Resolution::IgnoreDuplicates),
            ("missing", "default") => {
                p.missing_default = true;
                true
            }
            ("missing", "null") => true,
            ("tx", "commit") => set(&mut p.tx, TxPreference::Commit),
            ("tx", "rollback") => set(&mut p.tx, TxPreference::Rollback),
            ("max-affected", n) => match n.parse::<u64>() {
                Ok(n) => set(&mut p.max_affected, n),
                Err(_) => false,
            },
            ("timezone", tz) if !tz.is_empty() && !tz.contains('\0') => set(&mut p.timezone, tz.to_string()),
            ("handling", "strict") => {
                p.strict = true;
                true
            }
            ("handling", "lenient") => {
                p.strict = false;
                true
            }
            _ => false,
        };
        if understood {
            p.applied.push(format!("{key}={value}"));
        } else {
            unknown.push(token.to_string());
        }
    }
    if p.strict && !unknown.is_empty() {
        return Err(RequestError::InvalidPreferences {
            details: format!("Invalid preferences: {}", unknown.join(", ")),
        });
    }
    Ok(p)
}

fn set<T>(slot: &mut Option<T>, value: T) -> bool {
    *slot = Some(value);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_handling() {
        let p = parse_prefer(["count=exact, handling=lenient", "foo=bar"].into_iter()).unwrap();
        assert_eq!(p.count, Some(CountPreference::Exact));
        assert!(!p.strict);
        assert_eq!(p.applied, vec!["count=exact", "handling=lenient"]);
        let e = parse_prefer(["handling=strict, foo=bar"].into_iter()).unwrap_err();
        assert!(matches!(e, RequestError::InvalidPreferences { details } if details.contains("foo=bar")));
    }

    #[test]
    fn write_preferences() {
        let p = parse_prefer(
            [
                "return=representation, resolution=merge-duplicates",
                "missing=default, tx=rollback, max-affected=5, timezone=America/Lima",
            ]
            .into_iter(),
        )
        .unwrap();
        assert_eq!(p.return_, Some(ReturnPreference::Representation));
        assert_eq!(p.resolution, Some(Resolution::MergeDuplicates));
        assert!(p.missing_default);
        assert_eq!(p.tx, Some(TxPreference::Rollback));
        assert_eq!(p.max_affected, Some(5));
        assert_eq!(p.timezone.as_deref(), Some("America/Lima"));
        assert!(parse_prefer(["handling=strict, max-affected=x"].into_iter()).is_err());
    }
}

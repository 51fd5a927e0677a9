//! The `Prefer` header.

use super::error::RequestError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountPreference {
    Exact,
    Planned,
    Estimated,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preferences {
    pub count: Option<CountPreference>,
    pub strict: bool,
    /// Preferences we understood, echoed in `Preference-Applied`.
    pub applied: Vec<String>,
}

/// Parses every `Prefer` header value. Unknown preferences are ignored unless `handling=strict`.
pub fn parse_prefer<'a>(
    values: impl Iterator<Item = &'a str>,
) -> Result<Preferences, RequestError> {
    let mut p = Preferences::default();
    let mut unknown = Vec::new();
    for token in values
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        match token {
            "count=exact" => p.count = Some(CountPreference::Exact),
            "count=planned" => p.count = Some(CountPreference::Planned),
            "count=estimated" => p.count = Some(CountPreference::Estimated),
            "handling=strict" => p.strict = true,
            "handling=lenient" => p.strict = false,
            other => {
                unknown.push(other.to_string());
                continue;
            }
        }
        p.applied.push(token.to_string());
    }
    if p.strict && !unknown.is_empty() {
        return Err(RequestError::InvalidPreferences {
            details: format!("Invalid preferences: {}", unknown.join(", ")),
        });
    }
    Ok(p)
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
        assert!(
            matches!(e, RequestError::InvalidPreferences { details } if details.contains("foo=bar"))
        );
    }
}

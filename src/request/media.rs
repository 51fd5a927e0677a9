//! `Accept` negotiation for read responses.

use super::error::RequestError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    Json,
    Csv,
    /// `application/vnd.pgrst.object+json`: exactly one row.
    SingleObject {
        strip_nulls: bool,
    },
    /// `application/vnd.pgrst.array+json;nulls=stripped`
    ArrayStripped,
}

/// `Accept: application/vnd.pgrst.plan[+json|+text]; for="..."; options=analyze|verbose|...`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PlanFormat {
    pub json: bool,
    pub analyze: bool,
    pub verbose: bool,
    pub settings: bool,
    pub buffers: bool,
    pub wal: bool,
}

impl PlanFormat {
    /// The EXPLAIN options, from this fixed set only.
    pub fn explain_prefix(&self) -> String {
        let mut opts = vec![if self.json { "FORMAT JSON" } else { "FORMAT TEXT" }];
        for (on, name) in [
            (self.analyze, "ANALYZE"),
            (self.verbose, "VERBOSE"),
            (self.settings, "SETTINGS"),
            (self.buffers, "BUFFERS"),
            (self.wal, "WAL"),
        ] {
            if on {
                opts.push(name);
            }
        }
        format!("EXPLAIN ({}) ", opts.join(", "))
    }

    pub fn content_type(&self) -> &'static str {
        if self.json {
            "application/vnd.pgrst.plan+json; for=\"application/json\"; charset=utf-8"
        } else {
            "application/vnd.pgrst.plan+text; for=\"application/json\"; charset=utf-8"
        }
    }
}

/// A plan request: its format and the media type of the planned response.
pub fn negotiate_plan(accept: Option<&str>) -> Result<Option<(PlanFormat, MediaType)>, RequestError> {
    let Some(accept) = accept else { return Ok(None) };
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let essence = parts.next().unwrap_or("").to_ascii_lowercase();
        let json = match essence.as_str() {
            "application/vnd.pgrst.plan+json" => true,
            "application/vnd.pgrst.plan" | "application/vnd.pgrst.plan+text" => false,
            _ => continue,
        };
        let mut fmt = PlanFormat { json, ..Default::default() };
        let mut inner = MediaType::Json;
        for param in parts {
            let (k, v) = param.split_once('=').unwrap_or((param, ""));
            let v = v.trim().trim_matches('"');
            match k.trim() {
                "for" => inner = negotiate(Some(v))?,
                "options" => {
                    for o in v.split('|') {
                        match o.trim() {
                            "analyze" => fmt.analyze = true,
                            "verbose" => fmt.verbose = true,
                            "settings" => fmt.settings = true,
                            "buffers" => fmt.buffers = true,
                            "wal" => fmt.wal = true,
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        return Ok(Some((fmt, inner)));
    }
    Ok(None)
}

impl MediaType {
    pub fn content_type(self) -> &'static str {
        match self {
            MediaType::Json => "application/json; charset=utf-8",
            MediaType::Csv => "text/csv; charset=utf-8",
            MediaType::SingleObject { strip_nulls: false } => "application/vnd.pgrst.object+json; charset=utf-8",
            MediaType::SingleObject { strip_nulls: true } => {
                "application/vnd.pgrst.object+json; nulls=stripped; charset=utf-8"
            }
            MediaType::ArrayStripped => "application/vnd.pgrst.array+json; nulls=stripped; charset=utf-8",
        }
    }
}

/// Picks the best supported type by q-value, in header order on ties. No header means JSON.
pub fn negotiate(accept: Option<&str>) -> Result<MediaType, RequestError> {
    let Some(accept) = accept.map(str::trim).filter(|a| !a.is_empty()) else {
        return Ok(MediaType::Json);
    };
    let mut candidates: Vec<(f32, usize, MediaType)> = Vec::new();
    for (i, range) in accept.split(',').enumerate() {
        let mut parts = range.split(';').map(str::trim);
        let essence = parts.next().unwrap_or("").to_ascii_lowercase();
        let mut q = 1.0f32;
        let mut strip = false;
        for param in parts {
            let (k, v) = param.split_once('=').unwrap_or((param, ""));
            match k.trim().to_ascii_lowercase().as_str() {
                "q" => q = v.trim().parse().unwrap_or(0.0),
                "nulls" => strip = v.trim().eq_ignore_ascii_case("stripped"),
                _ => {}
            }
        }
        let media = match essence.as_str() {
            "application/json" | "*/*" | "application/*" => Some(MediaType::Json),
            // Only meaningful for `/`; elsewhere the planner treats it as JSON's alias.
            "application/openapi+json" => Some(MediaType::Json),
            "text/csv" => Some(MediaType::Csv),
            "application/vnd.pgrst.object+json" | "application/vnd.pgrst.object" => {
                Some(MediaType::SingleObject { strip_nulls: strip })
            }
            "application/vnd.pgrst.array+json" | "application/vnd.pgrst.array" => {
                Some(if strip { MediaType::ArrayStripped } else { MediaType::Json })
            }
            _ => None,
        };
        if let Some(m) = media.filter(|_| q > 0.0) {
            candidates.push((q, i, m));
        }
    }
    candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    candidates.first().map(|c| c.2).ok_or_else(|| RequestError::UnacceptableMedia(accept.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_by_quality() {
        assert_eq!(negotiate(None).unwrap(), MediaType::Json);
        assert_eq!(negotiate(Some("text/csv")).unwrap(), MediaType::Csv);
        assert_eq!(negotiate(Some("text/html, */*;q=0.8")).unwrap(), MediaType::Json);
        assert_eq!(negotiate(Some("application/json;q=0.5, text/csv")).unwrap(), MediaType::Csv);
        assert_eq!(
            negotiate(Some("application/vnd.pgrst.object+json;nulls=stripped")).unwrap(),
            MediaType::SingleObject { strip_nulls: true }
        );
        assert_eq!(
            negotiate(Some("application/vnd.pgrst.array+json;nulls=stripped")).unwrap(),
            MediaType::ArrayStripped
        );
    }

    #[test]
    fn unsupported_is_pgrst107() {
        assert_eq!(negotiate(Some("text/html")), Err(RequestError::UnacceptableMedia("text/html".into())));
        assert!(negotiate(Some("application/json;q=0")).is_err());
    }
}

//! `Accept`: its media ranges, best first, and the builtin types they name. Which one is served
//! is decided by the planner (`plan::media`), which also knows the database's media type
//! handlers.

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
    /// `application/geo+json`: a FeatureCollection built by PostGIS.
    GeoJson,
}

/// One media range of `Accept`, lower-cased, without its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaRange {
    pub essence: String,
    pub strip_nulls: bool,
}

impl MediaRange {
    /// The builtin type a table, view or function result answers for this range.
    pub fn builtin(&self) -> Option<MediaType> {
        Some(match self.essence.as_str() {
            "application/json" | "*/*" | "application/*" => MediaType::Json,
            "text/csv" => MediaType::Csv,
            "application/geo+json" => MediaType::GeoJson,
            "application/vnd.pgrst.object+json" | "application/vnd.pgrst.object" => {
                MediaType::SingleObject { strip_nulls: self.strip_nulls }
            }
            "application/vnd.pgrst.array+json" | "application/vnd.pgrst.array" => {
                if self.strip_nulls {
                    MediaType::ArrayStripped
                } else {
                    MediaType::Json
                }
            }
            _ => return None,
        })
    }

    /// PostgREST's own vendor types: never served by a handler.
    pub fn is_vendor(&self) -> bool {
        self.essence.starts_with("application/vnd.pgrst.")
    }
}

/// The `Accept` header: its ranges best first (by q, then header order; q=0 dropped), and its
/// text for PGRST107's message. No header (or an empty one) accepts anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accept {
    pub ranges: Vec<MediaRange>,
    pub text: String,
}

impl Accept {
    /// The first range with a builtin type.
    pub fn builtin(&self) -> Option<MediaType> {
        self.ranges.iter().find_map(MediaRange::builtin)
    }

    pub fn unacceptable(&self) -> RequestError {
        RequestError::UnacceptableMedia(self.text.clone())
    }
}

pub fn parse_accept(accept: Option<&str>) -> Accept {
    let Some(text) = accept.map(str::trim).filter(|a| !a.is_empty()) else {
        return Accept { ranges: vec![MediaRange { essence: "*/*".into(), strip_nulls: false }], text: "*/*".into() };
    };
    let mut ranges: Vec<(f32, usize, MediaRange)> = Vec::new();
    for (i, range) in text.split(',').enumerate() {
        let mut parts = range.split(';').map(str::trim);
        let essence = parts.next().unwrap_or("").to_ascii_lowercase();
        let mut q = 1.0f32;
        let mut strip_nulls = false;
        for param in parts {
            let (k, v) = param.split_once('=').unwrap_or((param, ""));
            match k.trim().to_ascii_lowercase().as_str() {
                "q" => q = v.trim().parse().unwrap_or(0.0),
                "nulls" => strip_nulls = v.trim().eq_ignore_ascii_case("stripped"),
                _ => {}
            }
        }
        if q > 0.0 && !essence.is_empty() {
            ranges.push((q, i, MediaRange { essence, strip_nulls }));
        }
    }
    ranges.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    Accept { ranges: ranges.into_iter().map(|r| r.2).collect(), text: text.to_string() }
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
            MediaType::GeoJson => "application/geo+json; charset=utf-8",
        }
    }
}

/// The best builtin type by q-value, in header order on ties. No header means JSON.
pub fn negotiate(accept: Option<&str>) -> Result<MediaType, RequestError> {
    let parsed = parse_accept(accept);
    parsed.builtin().ok_or_else(|| parsed.unacceptable())
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
    fn ranges_best_first() {
        let a = parse_accept(Some("text/plain;q=0.5, application/vnd.twkb, */*;q=0.1, text/html;q=0"));
        let essences: Vec<&str> = a.ranges.iter().map(|r| r.essence.as_str()).collect();
        assert_eq!(essences, vec!["application/vnd.twkb", "text/plain", "*/*"]);
        assert_eq!(a.builtin(), Some(MediaType::Json));
        assert_eq!(parse_accept(None).ranges[0].essence, "*/*");
        assert_eq!(parse_accept(Some("application/openapi+json")).builtin(), None);
    }

    #[test]
    fn unsupported_is_pgrst107() {
        assert_eq!(negotiate(Some("text/html")), Err(RequestError::UnacceptableMedia("text/html".into())));
        assert!(negotiate(Some("application/json;q=0")).is_err());
    }
}

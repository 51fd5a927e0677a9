//! Media type handlers (PostgREST ≥ 12): a domain named after a media type, and an aggregate
//! (for a relation's rows, or `anyelement`) or a function returning it. Read once per load.

use serde::Deserialize;

/// What a handler serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandlerTarget {
    /// An aggregate over the rows of this relation (a table-valued function returning its
    /// type too).
    Relation(String, String),
    /// An aggregate over any row.
    AnyElement,
    /// A function whose value, of the media type, is the whole body.
    Function(String, String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaHandler {
    /// The domain's name, lower-cased: `application/vnd.twkb`, `text/csv`, `*/*`.
    pub media_type: String,
    /// The aggregate to call, or for a function's value the domain (a cast).
    pub function: (String, String),
    pub target: HandlerTarget,
    /// The domain is over `bytea`: the value's bytes are the body.
    pub binary: bool,
}

impl MediaHandler {
    /// The `Content-Type` answered: the media type (`*/*` answers `application/octet-stream`),
    /// with a charset for the text types PostgREST knows.
    pub fn content_type(&self) -> String {
        match self.media_type.as_str() {
            "*/*" => "application/octet-stream".into(),
            t @ ("application/json" | "application/geo+json" | "text/csv" | "text/plain" | "text/xml") => {
                format!("{t}; charset=utf-8")
            }
            t => t.to_string(),
        }
    }
}

/// One row of the introspection's `media_handlers` list.
#[derive(Debug, Clone, Deserialize)]
pub struct HandlerRow {
    pub media_type: String,
    pub base_type: String,
    pub schema: String,
    pub name: String,
    /// `relation`, `any` or `function`.
    pub kind: String,
    pub target_schema: Option<String>,
    pub target_name: Option<String>,
}

impl HandlerRow {
    pub fn handler(self) -> Option<MediaHandler> {
        let target = match self.kind.as_str() {
            "any" => HandlerTarget::AnyElement,
            "relation" => HandlerTarget::Relation(self.target_schema?, self.target_name?),
            "function" => HandlerTarget::Function(self.target_schema?, self.target_name?),
            _ => return None,
        };
        Some(MediaHandler {
            binary: self.base_type == "bytea",
            media_type: self.media_type,
            function: (self.schema, self.name),
            target,
        })
    }
}

//! Content negotiation against the schema cache: the first media range of `Accept` (best first)
//! that something can serve — PostgREST's vendor types, a media type handler of the database
//! (an aggregate for this relation's rows or any rows, a function returning the media type),
//! or a builtin type (JSON, CSV, GeoJSON when PostGIS and a selected geometry column exist).
//! Nothing: 406 PGRST107.

use crate::request::media::MediaRange;
use crate::request::{ApiRequest, MediaType};
use crate::schema::{HandlerTarget, MediaHandler, SchemaCache};

use super::error::PlanError;
use super::select::{OutputColumn, SelectTree};

/// How the body is built when it is not a builtin aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler<'a> {
    /// `application/geo+json` through PostGIS's `ST_AsGeoJSON(record)` in this schema.
    Geo { postgis: &'a str },
    /// A media type handler of the database.
    Custom(&'a MediaHandler),
}

impl Handler<'_> {
    /// The `Content-Type` to answer instead of the builtin one.
    pub fn content_type(&self) -> Option<String> {
        match self {
            Handler::Geo { .. } => None,
            Handler::Custom(h) => Some(h.content_type()),
        }
    }

    /// The body is a `bytea` value (its hex text is decoded to the bytes).
    pub fn binary(&self) -> bool {
        matches!(self, Handler::Custom(h) if h.binary)
    }
}

/// What is being answered.
pub enum Subject<'p, 'a> {
    /// Rows of the relation `schema.name` (a table-valued function's rows have its type).
    Rows { schema: &'a str, name: &'a str, tree: &'p SelectTree<'a> },
    /// The value of a function (not rows).
    Value { schema: &'a str, name: &'a str },
    /// A write's representation: builtin types only.
    Write,
}

pub fn negotiate<'a>(
    req: &ApiRequest,
    cache: &'a SchemaCache,
    subject: Subject<'_, 'a>,
) -> Result<(MediaType, Option<Handler<'a>>), PlanError> {
    if req.plan.is_some() {
        // `vnd.pgrst.plan; for="…"` named the planned type already.
        return Ok((req.media, None));
    }
    for range in &req.accept.ranges {
        if let Some(found) = pick(range, cache, &subject) {
            return Ok(found);
        }
    }
    Err(PlanError::UnacceptableMedia(req.accept.text.clone()))
}

fn pick<'a>(
    range: &MediaRange,
    cache: &'a SchemaCache,
    subject: &Subject<'_, 'a>,
) -> Option<(MediaType, Option<Handler<'a>>)> {
    if range.is_vendor() {
        return range.builtin().map(|m| (m, None));
    }
    let handler = |target: Target, media: &str| {
        cache.media_handlers().iter().find(|h| h.media_type == media && target.is(&h.target))
    };
    let custom = |h: &'a MediaHandler| Some((MediaType::Json, Some(Handler::Custom(h))));
    match subject {
        Subject::Rows { schema, name, tree } => {
            let own = Target::Relation(schema, name);
            // A relation's own aggregate needs whole rows of its type; `*/*` (the "any"
            // handler) answers every media type.
            if default_select(tree) {
                if let Some(h) = handler(own, "*/*").or_else(|| handler(own, &range.essence)) {
                    return custom(h);
                }
            }
            if let Some(h) = handler(Target::Any, &range.essence) {
                return custom(h);
            }
            match range.builtin()? {
                MediaType::GeoJson => {
                    let postgis = cache.postgis_schema.as_deref()?;
                    selects_geometry(tree).then_some((MediaType::GeoJson, Some(Handler::Geo { postgis })))
                }
                m => Some((m, None)),
            }
        }
        Subject::Value { schema, name } => {
            if let Some(h) = handler(Target::Function(schema, name), &range.essence) {
                return custom(h);
            }
            range.builtin().filter(|m| *m != MediaType::GeoJson).map(|m| (m, None))
        }
        Subject::Write => range.builtin().filter(|m| *m != MediaType::GeoJson).map(|m| (m, None)),
    }
}

/// A [`HandlerTarget`] by reference (no allocation per request).
#[derive(Clone, Copy)]
enum Target<'s> {
    Relation(&'s str, &'s str),
    Any,
    Function(&'s str, &'s str),
}

impl Target<'_> {
    fn is(self, target: &HandlerTarget) -> bool {
        match (self, target) {
            (Target::Relation(s, n), HandlerTarget::Relation(ts, tn))
            | (Target::Function(s, n), HandlerTarget::Function(ts, tn)) => s == ts && n == tn,
            (Target::Any, HandlerTarget::AnyElement) => true,
            _ => false,
        }
    }
}

/// `select=*` (or none): the rows are whole rows of the relation.
fn default_select(tree: &SelectTree) -> bool {
    matches!(tree.items.as_slice(), [OutputColumn::Star]) && tree.embeds.is_empty()
}

/// A PostGIS geometry among the selected columns (`*` included).
fn selects_geometry(tree: &SelectTree) -> bool {
    tree.items.iter().any(|i| match i {
        OutputColumn::Star => tree.relation.columns.iter().any(|c| c.is_geometry()),
        OutputColumn::Column { target, cast: None, .. } => target.column.is_geometry() && target.json_path.is_empty(),
        _ => false,
    })
}

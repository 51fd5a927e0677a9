//! Plans a read (GET/HEAD) of a table or view.

use crate::request::{ApiRequest, CountPreference, MediaType, RowRange};
use crate::schema::{Relation, SchemaCache};

use super::error::PlanError;
use super::media::{negotiate, Handler, Subject};
use super::select::{plan_tree, SelectTree};

/// How to get the total for `Content-Range`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountPlan {
    None,
    Exact,
    /// EXPLAIN's row estimate.
    Planned,
    /// Exact up to `max_rows`, planned beyond.
    Estimated {
        max_rows: u64,
    },
}

#[derive(Debug)]
pub struct ReadPlan<'a> {
    pub tree: SelectTree<'a>,
    pub range: RowRange,
    pub count: CountPlan,
    pub media: MediaType,
    /// A body not built by a builtin aggregate (GeoJSON, a media type handler).
    pub handler: Option<Handler<'a>>,
    pub headers_only: bool,
}

impl<'a> ReadPlan<'a> {
    pub fn relation(&self) -> &'a Relation {
        self.tree.relation
    }
}

pub fn plan_read<'a>(
    req: &'a ApiRequest,
    name: &str,
    cache: &'a SchemaCache,
    max_rows: Option<u64>,
) -> Result<ReadPlan<'a>, PlanError> {
    let relation = find_relation(cache, &req.schema, name)?;
    let tree = plan_tree(cache, relation, &req.query.select, &req.query)?;
    let (media, handler) =
        negotiate(req, cache, Subject::Rows { schema: &relation.schema, name: &relation.name, tree: &tree })?;
    Ok(ReadPlan {
        tree,
        range: req.range.capped(max_rows),
        count: count_plan(req.prefer.count, max_rows),
        media,
        handler,
        headers_only: matches!(req.action, crate::request::Action::Read { headers_only: true }),
    })
}

pub fn count_plan(pref: Option<CountPreference>, max_rows: Option<u64>) -> CountPlan {
    match pref {
        None => CountPlan::None,
        Some(CountPreference::Exact) => CountPlan::Exact,
        Some(CountPreference::Planned) => CountPlan::Planned,
        Some(CountPreference::Estimated) => match max_rows {
            Some(max_rows) => CountPlan::Estimated { max_rows },
            None => CountPlan::Exact,
        },
    }
}

pub fn find_relation<'a>(cache: &'a SchemaCache, schema: &str, name: &str) -> Result<&'a Relation, PlanError> {
    cache.relation(schema, name).ok_or_else(|| PlanError::RelationNotFound {
        schema: schema.to_string(),
        name: name.to_string(),
        hint: closest_relation(cache, schema, name),
    })
}

/// "Perhaps you meant the table 'api.todos'" for a near miss.
fn closest_relation(cache: &SchemaCache, schema: &str, name: &str) -> Option<String> {
    cache
        .relations_in(schema)
        .map(|r| (strsim::jaro_winkler(&r.name, name), r))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, r)| format!("Perhaps you meant the table '{}.{}'", r.schema, r.name))
}

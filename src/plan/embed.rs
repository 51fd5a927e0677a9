//! Picks the relationship an embed refers to, by PostgREST's rules: the target names a relation,
//! a foreign key (constraint or column) or a computed relationship; a hint narrows it;
//! ambiguity is PGRST201, nothing at all PGRST200 with a "Perhaps you meant" hint.

use crate::schema::{Relation, Relationship, SchemaCache};

use super::error::PlanError;

pub struct Resolved<'a> {
    pub rel: &'a Relationship,
    pub target: &'a Relation,
    pub junction: Option<&'a Relation>,
}

pub fn resolve<'a>(
    cache: &'a SchemaCache,
    source: &Relation,
    target_name: &'a str,
    hint: Option<&str>,
) -> Result<Resolved<'a>, PlanError> {
    let is_view = |r: &Relationship| cache.relation(&r.target.0, &r.target.1).is_some_and(Relation::is_view);
    let candidates: Vec<&Relationship> = cache
        .relationships_from(&source.schema, &source.name)
        .iter()
        .filter(|r| match hint {
            None => r.matches_target(target_name, || is_view(r)),
            Some(h) => r.matches_hint(target_name, h),
        })
        .collect();
    let not_found = || PlanError::RelationshipNotFound {
        parent: source.name.clone(),
        child: target_name.to_string(),
        schema: source.schema.clone(),
        embed_hint: hint.map(str::to_string),
        hint: suggestion(cache, source, target_name),
    };
    let rel = match candidates.as_slice() {
        [one] => *one,
        [] => return Err(not_found()),
        many => {
            let details = many.iter().map(|r| describe(source, r)).collect();
            let options = many
                .iter()
                .map(|r| {
                    let via = r.junction.as_ref().map_or(r.constraint.as_str(), |j| j.relation.1.as_str());
                    format!("'{}!{}'", r.target.1, via)
                })
                .collect::<Vec<_>>()
                .join(", ");
            return Err(PlanError::AmbiguousRelationship {
                parent: source.name.clone(),
                child: target_name.to_string(),
                details,
                hint: format!(
                    "Try changing '{target_name}' to one of the following: {options}. Find the desired relationship in the 'details' key."
                ),
            });
        }
    };
    let target = cache.relation(&rel.target.0, &rel.target.1).ok_or_else(not_found)?;
    let junction = match &rel.junction {
        Some(j) => Some(cache.relation(&j.relation.0, &j.relation.1).ok_or_else(not_found)?),
        None => None,
    };
    Ok(Resolved { rel, target, junction })
}

/// PGRST200's hint: a close name for the embedded relation among those the parent relates to;
/// when the parent relates to nothing, a close name for the parent among those that do.
fn suggestion(cache: &SchemaCache, source: &Relation, target: &str) -> Option<String> {
    let closest = |names: &mut dyn Iterator<Item = &str>, wanted: &str| {
        names
            .filter(|n| *n != wanted)
            .map(|n| (strsim::jaro_winkler(n, wanted), n.to_string()))
            .filter(|(score, _)| *score >= 0.8)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, n)| n)
    };
    let rels = cache.relationships_from(&source.schema, &source.name);
    if rels.is_empty() {
        let parents = &mut cache.relationship_sources().filter(|q| q.0 == source.schema).map(|q| q.1.as_str());
        closest(parents, &source.name).map(|p| format!("Perhaps you meant '{p}' instead of '{}'.", source.name))
    } else {
        // An exact name means the relation exists and the hint (or its kind) is the problem.
        if rels.iter().any(|r| r.target.1 == target) {
            return None;
        }
        let children = &mut rels.iter().map(|r| r.target.1.as_str());
        closest(children, target).map(|c| format!("Perhaps you meant '{c}' instead of '{target}'."))
    }
}

/// One entry of PGRST201's `details`, shaped as PostgREST reports it.
fn describe(source: &Relation, r: &Relationship) -> serde_json::Value {
    let cols = |side: &[(String, String)], left: bool| {
        side.iter().map(|(a, b)| if left { a.as_str() } else { b.as_str() }).collect::<Vec<_>>().join(", ")
    };
    let relationship = match &r.junction {
        Some(j) => {
            let source_cols = j.source_columns.iter().map(|(_, c)| c.as_str()).collect::<Vec<_>>().join(", ");
            let target_cols = j.target_columns.iter().map(|(_, c)| c.as_str()).collect::<Vec<_>>().join(", ");
            format!("{} using {}({}) and {}({})", j.relation.1, j.source_fk, source_cols, j.target_fk, target_cols)
        }
        None => format!(
            "{} using {}({}) and {}({})",
            r.constraint,
            r.source.1,
            cols(&r.columns, true),
            r.target.1,
            cols(&r.columns, false)
        ),
    };
    serde_json::json!({
        "cardinality": r.cardinality.label(),
        "embedding": format!("{} with {}", source.name, r.target.1),
        "relationship": relationship,
    })
}

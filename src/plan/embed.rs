//! Picks the relationship an embed refers to; hints narrow it, ambiguity is PGRST201.

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
    let candidates: Vec<&Relationship> = cache
        .relationships_to(&source.schema, &source.name, target_name)
        .filter(|r| hint.is_none_or(|h| r.matches_hint(h)))
        .collect();
    let rel = match candidates.as_slice() {
        [one] => *one,
        [] => {
            return Err(PlanError::RelationshipNotFound {
                parent: source.name.clone(),
                child: target_name.to_string(),
                schema: source.schema.clone(),
            })
        }
        many => {
            let details = many.iter().map(|r| describe(source, r)).collect();
            let options =
                many.iter().map(|r| format!("'{}!{}'", target_name, r.constraint)).collect::<Vec<_>>().join(", ");
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
    let target = cache.relation(&rel.target.0, &rel.target.1).ok_or_else(|| PlanError::RelationshipNotFound {
        parent: source.name.clone(),
        child: target_name.to_string(),
        schema: source.schema.clone(),
    })?;
    let junction = match &rel.junction {
        Some(j) => {
            Some(cache.relation(&j.relation.0, &j.relation.1).ok_or_else(|| PlanError::RelationshipNotFound {
                parent: source.name.clone(),
                child: target_name.to_string(),
                schema: source.schema.clone(),
            })?)
        }
        None => None,
    };
    Ok(Resolved { rel, target, junction })
}

/// One entry of PGRST201's `details`, shaped as PostgREST reports it.
fn describe(source: &Relation, r: &Relationship) -> serde_json::Value {
    let cols = |side: &[(String, String)], left: bool| {
        side.iter().map(|(a, b)| if left { a.as_str() } else { b.as_str() }).collect::<Vec<_>>().join(", ")
    };
    let relationship = match &r.junction {
        Some(j) => format!("{}.{} using {}, {}", j.relation.0, j.relation.1, j.source_fk, j.target_fk),
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

//! Functions of one row: computed fields (`full_name(people)`, selectable and filterable like a
//! column) and computed relationships (`manager(employees) returns setof employees rows 1`,
//! embeddable like a foreign key). Read by the introspection query once per load.

use serde::Deserialize;

use super::relationships::{Cardinality, QualifiedName, Relationship};
use super::Column;

/// The function behind a computed field: `"schema"."name"(row)`, where the row has the type of
/// the relation `row_type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComputedField {
    pub function_schema: String,
    pub row_type: QualifiedName,
}

/// One row of the introspection's `computed` list.
#[derive(Debug, Clone, Deserialize)]
pub struct ComputedRow {
    pub schema: String,
    pub name: String,
    pub rel_schema: String,
    pub rel_name: String,
    #[serde(rename = "type")]
    pub data_type: String,
    pub base_type: String,
    pub category: String,
    pub returns_set: bool,
    pub target_schema: Option<String>,
    pub target_name: Option<String>,
    pub single_row: bool,
    pub comment: Option<String>,
}

impl ComputedRow {
    /// A field when the function returns one value per row (not a set).
    pub fn field(&self) -> Option<Column> {
        if self.returns_set {
            return None;
        }
        Some(Column {
            name: self.name.clone(),
            data_type: self.data_type.clone(),
            base_type: self.base_type.clone(),
            category: self.category.clone(),
            nullable: true,
            default: None,
            identity: String::new(),
            generated: false,
            comment: self.comment.clone(),
            computed: Some(ComputedField {
                function_schema: self.schema.clone(),
                row_type: (self.rel_schema.clone(), self.rel_name.clone()),
            }),
        })
    }

    /// A relationship when the function returns rows of an exposed relation.
    pub fn relationship(&self) -> Option<Relationship> {
        let target = (self.target_schema.clone()?, self.target_name.clone()?);
        Some(Relationship {
            constraint: self.name.clone(),
            source: (self.rel_schema.clone(), self.rel_name.clone()),
            target,
            cardinality: if self.single_row { Cardinality::ManyToOne } else { Cardinality::OneToMany },
            columns: Vec::new(),
            junction: None,
            fk_on_source: false,
            function: Some((self.schema.clone(), self.name.clone())),
        })
    }
}

/// Adds the computed relationships: each replaces the detected ones from its source to a
/// relation of the function's own schema and name, as PostgREST's overriding does.
pub fn add_relationships(
    rels: &mut std::collections::HashMap<QualifiedName, Vec<Relationship>>,
    computed: &[ComputedRow],
    exposed: &std::collections::HashSet<QualifiedName>,
) {
    for row in computed {
        let Some(r) = row.relationship() else { continue };
        if !exposed.contains(&r.source) || !exposed.contains(&r.target) {
            continue;
        }
        let list = rels.entry(r.source.clone()).or_default();
        let function = r.function.clone();
        list.retain(|existing| existing.function.is_some() || Some(&existing.target) != function.as_ref());
        list.push(r);
    }
}

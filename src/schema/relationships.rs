//! Relationships between relations, derived once per cache load from foreign keys: many-to-one,
//! one-to-many, one-to-one (FK that is also PK/UNIQUE), many-to-many through a junction table
//! whose primary key holds both foreign keys, and the same through simple views.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;

use super::ForeignKey;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cardinality {
    ManyToOne,
    OneToMany,
    OneToOne,
    ManyToMany,
}

impl Cardinality {
    pub fn to_one(self) -> bool {
        matches!(self, Cardinality::ManyToOne | Cardinality::OneToOne)
    }

    pub fn label(self) -> &'static str {
        match self {
            Cardinality::ManyToOne => "many-to-one",
            Cardinality::OneToMany => "one-to-many",
            Cardinality::OneToOne => "one-to-one",
            Cardinality::ManyToMany => "many-to-many",
        }
    }
}

/// `(schema, name)`
pub type QualifiedName = (String, String);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Junction {
    pub relation: QualifiedName,
    /// The FK from the junction to the source, and its `(source column, junction column)` pairs.
    pub source_fk: String,
    pub source_columns: Vec<(String, String)>,
    /// The FK from the junction to the target, and its `(target column, junction column)` pairs.
    pub target_fk: String,
    pub target_columns: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relationship {
    /// The constraint name (for M2M: the target-side FK of the junction).
    pub constraint: String,
    pub source: QualifiedName,
    pub target: QualifiedName,
    pub cardinality: Cardinality,
    /// `(source column, target column)` pairs for direct relationships.
    pub columns: Vec<(String, String)>,
    pub junction: Option<Junction>,
    /// The foreign key belongs to the source (many-to-one, and one-to-one read from the side
    /// holding the key).
    pub fk_on_source: bool,
    /// A computed relationship: the function `schema.name(source row)` returns the target rows.
    pub function: Option<QualifiedName>,
}

impl Relationship {
    /// A relationship of a relation with itself through one foreign key (both directions share
    /// the constraint).
    pub fn is_self(&self) -> bool {
        self.source == self.target && self.junction.is_none() && self.function.is_none()
    }

    /// The single column on the source side, when the key has one column.
    fn single_source_column(&self) -> Option<&str> {
        match self.columns.as_slice() {
            [(s, _)] => Some(s),
            _ => None,
        }
    }

    fn single_target_column(&self) -> Option<&str> {
        match self.columns.as_slice() {
            [(_, t)] => Some(t),
            _ => None,
        }
    }

    /// Whether the embed `target(...)` without a hint means this relationship (PostgREST's
    /// rules): a computed relationship by its function's name; a self reference by the table's
    /// name (the one-to-many side) or by its key column (the many-to-one side); any other by the
    /// target's name, or — when the target is a table, not a view — by the constraint name or
    /// the source's key column.
    pub fn matches_target(&self, target: &str, target_is_view: impl Fn() -> bool) -> bool {
        if let Some((_, function)) = &self.function {
            return function == target;
        }
        if self.is_self() {
            return (self.target.1 == target && !self.fk_on_source)
                || (self.fk_on_source && self.single_source_column() == Some(target));
        }
        self.target.1 == target
            || (self.junction.is_none()
                && (self.constraint == target || self.single_source_column() == Some(target))
                && !target_is_view())
    }

    /// Whether `target!hint(...)` means this relationship: the target's name, and the hint names
    /// the constraint, a key column of either side, or the junction table. For a self reference
    /// the hint picks the one-to-many side (by the referencing column or the constraint).
    pub fn matches_hint(&self, target: &str, hint: &str) -> bool {
        if let Some((_, function)) = &self.function {
            return function == target;
        }
        if self.target.1 != target {
            return false;
        }
        if self.is_self() {
            return !self.fk_on_source && (self.single_target_column() == Some(hint) || self.constraint == hint);
        }
        match &self.junction {
            Some(j) => self.constraint == hint || j.relation.1 == hint || j.source_fk == hint,
            None => {
                self.constraint == hint
                    || self.single_source_column() == Some(hint)
                    || self.single_target_column() == Some(hint)
            }
        }
    }
}

/// A view column that reads a base-table column unchanged.
#[derive(Debug, Clone, Deserialize)]
pub struct ViewColumn {
    pub view_schema: String,
    pub view: String,
    pub column: String,
    pub schema: String,
    pub table: String,
    pub base_column: String,
}

/// Primary key or unique constraint columns of a table.
#[derive(Debug, Clone, Deserialize)]
pub struct KeyConstraint {
    pub schema: String,
    pub table: String,
    pub kind: String,
    pub columns: Vec<String>,
}

/// Builds every relationship, keyed by source relation.
pub fn build(
    fks: &[ForeignKey],
    keys: &[KeyConstraint],
    view_columns: &[ViewColumn],
    exposed: &HashSet<QualifiedName>,
) -> HashMap<QualifiedName, Vec<Relationship>> {
    let is_unique = |schema: &str, table: &str, cols: &[String]| {
        let want: HashSet<&str> = cols.iter().map(String::as_str).collect();
        keys.iter().any(|k| {
            k.schema == schema
                && k.table == table
                && k.columns.len() == want.len()
                && k.columns.iter().all(|c| want.contains(c.as_str()))
        })
    };
    let pk_of = |schema: &str, table: &str| -> Option<&Vec<String>> {
        keys.iter().find(|k| k.schema == schema && k.table == table && k.kind == "p").map(|k| &k.columns)
    };

    // Every FK, plus its images through views that expose all of its columns on either side.
    let mut all: Vec<ForeignKey> = fks.to_vec();
    for fk in fks {
        for (child_view, child_cols) in views_exposing(view_columns, &fk.schema, &fk.table, &fk.columns) {
            all.push(ForeignKey {
                schema: child_view.0.clone(),
                table: child_view.1.clone(),
                columns: child_cols,
                ..fk.clone()
            });
        }
    }
    for fk in all.clone() {
        for (parent_view, parent_cols) in views_exposing(view_columns, &fk.ref_schema, &fk.ref_table, &fk.ref_columns) {
            all.push(ForeignKey {
                ref_schema: parent_view.0.clone(),
                ref_table: parent_view.1.clone(),
                ref_columns: parent_cols,
                ..fk.clone()
            });
        }
    }

    let mut out: HashMap<QualifiedName, Vec<Relationship>> = HashMap::new();
    let mut push = |r: Relationship| {
        if exposed.contains(&r.source) && exposed.contains(&r.target) {
            out.entry(r.source.clone()).or_default().push(r);
        }
    };

    for fk in &all {
        let child = (fk.schema.clone(), fk.table.clone());
        let parent = (fk.ref_schema.clone(), fk.ref_table.clone());
        let pairs: Vec<(String, String)> = fk.columns.iter().cloned().zip(fk.ref_columns.iter().cloned()).collect();
        // Views inherit their base table's keys for one-to-one detection.
        let one_to_one = is_unique(&fk.schema, &fk.table, &fk.columns)
            || base_of(view_columns, &fk.schema, &fk.table, &fk.columns)
                .is_some_and(|(s, t, cols)| is_unique(&s, &t, &cols));
        push(Relationship {
            constraint: fk.name.clone(),
            source: child.clone(),
            target: parent.clone(),
            cardinality: if one_to_one { Cardinality::OneToOne } else { Cardinality::ManyToOne },
            columns: pairs.clone(),
            junction: None,
            fk_on_source: true,
            function: None,
        });
        push(Relationship {
            constraint: fk.name.clone(),
            source: parent,
            target: child,
            cardinality: if one_to_one { Cardinality::OneToOne } else { Cardinality::OneToMany },
            columns: pairs.into_iter().map(|(c, p)| (p, c)).collect(),
            junction: None,
            fk_on_source: false,
            function: None,
        });
    }

    // Many-to-many: two FKs out of one junction table whose PK covers both.
    let mut by_child: HashMap<QualifiedName, Vec<&ForeignKey>> = HashMap::new();
    for fk in fks {
        by_child.entry((fk.schema.clone(), fk.table.clone())).or_default().push(fk);
    }
    for (junction, out_fks) in &by_child {
        let Some(pk) = pk_of(&junction.0, &junction.1) else {
            continue;
        };
        for a in out_fks {
            for b in out_fks {
                if a.name == b.name || !a.columns.iter().chain(&b.columns).all(|c| pk.contains(c)) {
                    continue;
                }
                push(Relationship {
                    constraint: b.name.clone(),
                    source: (a.ref_schema.clone(), a.ref_table.clone()),
                    target: (b.ref_schema.clone(), b.ref_table.clone()),
                    cardinality: Cardinality::ManyToMany,
                    columns: Vec::new(),
                    junction: Some(Junction {
                        relation: junction.clone(),
                        source_fk: a.name.clone(),
                        source_columns: a.ref_columns.iter().cloned().zip(a.columns.iter().cloned()).collect(),
                        target_fk: b.name.clone(),
                        target_columns: b.ref_columns.iter().cloned().zip(b.columns.iter().cloned()).collect(),
                    }),
                    fk_on_source: false,
                    function: None,
                });
            }
        }
    }
    out
}

/// Views that expose all `columns` of `schema.table`, with the view's names for them.
fn views_exposing(
    view_columns: &[ViewColumn],
    schema: &str,
    table: &str,
    columns: &[String],
) -> Vec<(QualifiedName, Vec<String>)> {
    let mut views: Vec<QualifiedName> = view_columns
        .iter()
        .filter(|v| v.schema == schema && v.table == table)
        .map(|v| (v.view_schema.clone(), v.view.clone()))
        .collect();
    views.sort();
    views.dedup();
    views
        .into_iter()
        .filter_map(|view| {
            let mapped: Option<Vec<String>> = columns
                .iter()
                .map(|c| {
                    view_columns
                        .iter()
                        .find(|v| {
                            v.view_schema == view.0
                                && v.view == view.1
                                && v.schema == schema
                                && v.table == table
                                && &v.base_column == c
                        })
                        .map(|v| v.column.clone())
                })
                .collect();
            mapped.map(|cols| (view, cols))
        })
        .collect()
}

/// For a view's columns, the base table and base column names they read, if all come from one table.
fn base_of(
    view_columns: &[ViewColumn],
    schema: &str,
    view: &str,
    columns: &[String],
) -> Option<(String, String, Vec<String>)> {
    let mut base: Option<(String, String)> = None;
    let mut cols = Vec::new();
    for c in columns {
        let v = view_columns.iter().find(|v| v.view_schema == schema && v.view == view && &v.column == c)?;
        match &base {
            Some((s, t)) if s != &v.schema || t != &v.table => return None,
            _ => base = Some((v.schema.clone(), v.table.clone())),
        }
        cols.push(v.base_column.clone());
    }
    base.map(|(s, t)| (s, t, cols))
}

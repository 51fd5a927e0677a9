//! The schema cache: what the exposed schemas contain, loaded by one introspection query
//! and swapped in atomically so requests never wait on a reload.

pub mod computed;
pub mod listener;
mod load;
pub mod media;
pub mod relationships;
pub mod roles;

use std::collections::HashMap;

use serde::Deserialize;

pub use computed::ComputedField;
pub use load::{load, LoadError};
pub use media::{HandlerTarget, MediaHandler};
pub use relationships::{Cardinality, Relationship};
pub use roles::{Isolation, RoleSettings};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum RelationKind {
    #[serde(rename = "r")]
    Table,
    #[serde(rename = "v")]
    View,
    #[serde(rename = "m")]
    MaterializedView,
    #[serde(rename = "f")]
    ForeignTable,
    #[serde(rename = "p")]
    PartitionedTable,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Column {
    pub name: String,
    /// `format_type` of the column, e.g. `character varying(20)`.
    #[serde(rename = "type")]
    pub data_type: String,
    /// The type after resolving domains, without modifiers, e.g. `jsonb`.
    pub base_type: String,
    /// `pg_type.typcategory` of the base type (`A` array, `S` string, `U` user/json, ...).
    pub category: String,
    pub nullable: bool,
    pub default: Option<String>,
    /// `a` (GENERATED ALWAYS AS IDENTITY), `d` (BY DEFAULT), or empty.
    #[serde(default)]
    pub identity: String,
    /// A generated (stored) column: never written.
    #[serde(default)]
    pub generated: bool,
    pub comment: Option<String>,
    /// A computed field: a function of the row, not a stored column.
    #[serde(skip)]
    pub computed: Option<ComputedField>,
}

impl Column {
    pub fn is_json(&self) -> bool {
        matches!(self.base_type.as_str(), "json" | "jsonb")
    }

    pub fn is_tsvector(&self) -> bool {
        self.base_type == "tsvector"
    }

    /// A PostGIS geometry (what `application/geo+json` needs among the selected columns).
    pub fn is_geometry(&self) -> bool {
        self.base_type == "geometry" || self.base_type.ends_with(".geometry")
    }

    /// Written by the database itself: identity and generated columns (never `required`).
    pub fn is_generated(&self) -> bool {
        self.generated || !self.identity.is_empty()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Relation {
    pub schema: String,
    pub name: String,
    pub kind: RelationKind,
    pub comment: Option<String>,
    /// `pg_relation_is_updatable` bits (`1 << CmdType`): 4 update, 8 insert, 16 delete.
    pub updatable_mask: i32,
    pub columns: Vec<Column>,
    pub primary_key: Vec<String>,
    pub unique: Vec<Vec<String>>,
    /// Computed fields of this relation's rows, in name order (not part of `*`).
    #[serde(skip)]
    pub computed: Vec<Column>,
}

impl Relation {
    pub fn can_insert(&self) -> bool {
        self.updatable_mask & 8 != 0
    }

    pub fn can_update(&self) -> bool {
        self.updatable_mask & 4 != 0
    }

    pub fn can_delete(&self) -> bool {
        self.updatable_mask & 16 != 0
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// A column, else a computed field of that name (a column wins, as in PostgreSQL).
    pub fn field(&self, name: &str) -> Option<&Column> {
        self.column(name).or_else(|| self.computed.iter().find(|c| c.name == name))
    }

    pub fn is_view(&self) -> bool {
        matches!(self.kind, RelationKind::View | RelationKind::MaterializedView)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ForeignKey {
    pub name: String,
    pub schema: String,
    pub table: String,
    pub columns: Vec<String>,
    pub ref_schema: String,
    pub ref_table: String,
    pub ref_columns: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FunctionArg {
    pub name: String,
    #[serde(rename = "type")]
    pub data_type: String,
    /// `i` in, `o` out, `b` inout, `v` variadic, `t` table column.
    pub mode: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Function {
    pub schema: String,
    pub name: String,
    /// `i` immutable, `s` stable, `v` volatile.
    pub volatility: String,
    pub returns_set: bool,
    pub variadic: bool,
    pub return_type: String,
    /// `pg_type.typtype` of the return type (`c` composite, `b` base, `p` pseudo, ...).
    pub return_typtype: String,
    pub return_rel_schema: Option<String>,
    pub return_rel_name: Option<String>,
    pub nargs: i32,
    pub nargdefaults: i32,
    pub comment: Option<String>,
    pub args: Vec<FunctionArg>,
    /// `set rowgate.stream = 'json'`: a `setof text` whose rows are the pieces of one JSON
    /// document, sent on as they arrive (see [`Function::streams_json`]).
    #[serde(default)]
    pub stream: Option<String>,
    /// `set rowgate.rate_limit = 'auth'`: calls count against the auth limiter
    /// (`ROWGATE_RATE_LIMIT_AUTH`), like `/auth/v1/signup`.
    #[serde(default)]
    pub rate_limit: Option<String>,
    /// The row shape of `RETURNS TABLE(...)` / OUT parameters, built after loading.
    #[serde(skip)]
    pub out_relation: Option<Relation>,
}

impl Function {
    /// Arguments a caller passes: IN, INOUT and VARIADIC.
    pub fn input_args(&self) -> impl Iterator<Item = &FunctionArg> {
        self.args.iter().filter(|a| matches!(a.mode.as_str(), "i" | "b" | "v"))
    }

    /// Input arguments without a default (defaults belong to the last `nargdefaults` inputs).
    pub fn required_args(&self) -> impl Iterator<Item = &FunctionArg> {
        let n = self.input_args().count();
        let required = n.saturating_sub(self.nargdefaults.max(0) as usize);
        self.input_args().take(required)
    }

    pub fn is_void(&self) -> bool {
        self.return_type == "void"
    }

    /// Declared `rowgate.stream = 'json'` and returning `setof text`: the response body is its
    /// rows concatenated, streamed (the tenancy kit's exports).
    pub fn streams_json(&self) -> bool {
        self.stream.as_deref() == Some("json") && self.returns_set && self.return_type == "text"
    }

    /// Declared `rowgate.rate_limit = 'auth'`: limited per client IP like the credential paths.
    pub fn auth_rate_limited(&self) -> bool {
        self.rate_limit.as_deref() == Some("auth")
    }

    /// Volatile functions may write: POST runs them READ WRITE.
    pub fn is_volatile(&self) -> bool {
        self.volatility == "v"
    }

    /// `setof api.t` / `api.t`, or OUT/TABLE columns: results with columns to select and filter.
    pub fn returns_rows(&self) -> bool {
        self.return_rel_name.is_some() || self.out_relation.is_some()
    }

    fn build_out_relation(&mut self) {
        let outs: Vec<&FunctionArg> = self.args.iter().filter(|a| matches!(a.mode.as_str(), "o" | "b" | "t")).collect();
        if self.return_rel_name.is_some() || outs.len() < 2 && self.return_type != "record" || outs.is_empty() {
            return;
        }
        self.out_relation = Some(Relation {
            schema: self.schema.clone(),
            name: self.name.clone(),
            kind: RelationKind::View,
            comment: None,
            updatable_mask: 0,
            columns: outs
                .iter()
                .map(|a| Column {
                    name: a.name.clone(),
                    data_type: a.data_type.clone(),
                    base_type: a.data_type.clone(),
                    category: if a.data_type.ends_with("[]") { "A".into() } else { "U".into() },
                    nullable: true,
                    default: None,
                    identity: String::new(),
                    generated: false,
                    comment: None,
                    computed: None,
                })
                .collect(),
            primary_key: Vec::new(),
            unique: Vec::new(),
            computed: Vec::new(),
        });
    }
}

/// The decoded introspection document.
#[derive(Debug, Deserialize)]
struct Document {
    relations: Vec<Relation>,
    foreign_keys: Vec<ForeignKey>,
    functions: Vec<Function>,
    #[serde(default)]
    view_columns: Vec<relationships::ViewColumn>,
    #[serde(default)]
    keys: Vec<relationships::KeyConstraint>,
    #[serde(default)]
    computed: Vec<computed::ComputedRow>,
    #[serde(default)]
    media_handlers: Vec<media::HandlerRow>,
    #[serde(default)]
    role_settings: Vec<roles::RoleRow>,
    #[serde(default)]
    schema_comments: HashMap<String, String>,
    #[serde(default)]
    postgis_schema: Option<String>,
}

/// Lookups by schema, then name.
#[derive(Debug, Default)]
pub struct SchemaCache {
    relations: HashMap<String, HashMap<String, Relation>>,
    functions: HashMap<String, HashMap<String, Vec<Function>>>,
    pub foreign_keys: Vec<ForeignKey>,
    relationships: HashMap<(String, String), Vec<Relationship>>,
    media_handlers: Vec<MediaHandler>,
    role_settings: HashMap<String, RoleSettings>,
    schema_comments: HashMap<String, String>,
    /// The schema of the PostGIS extension, when it is installed.
    pub postgis_schema: Option<String>,
}

impl SchemaCache {
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        let doc: Document = serde_json::from_str(text)?;
        let exposed = doc.relations.iter().map(|r| (r.schema.clone(), r.name.clone())).collect();
        let mut relationships = relationships::build(&doc.foreign_keys, &doc.keys, &doc.view_columns, &exposed);
        computed::add_relationships(&mut relationships, &doc.computed, &exposed);
        let mut cache = SchemaCache {
            foreign_keys: doc.foreign_keys,
            relationships,
            media_handlers: doc.media_handlers.into_iter().filter_map(media::HandlerRow::handler).collect(),
            role_settings: doc.role_settings.into_iter().map(roles::RoleRow::settings).collect(),
            schema_comments: doc.schema_comments,
            postgis_schema: doc.postgis_schema,
            ..Default::default()
        };
        for r in doc.relations {
            cache.relations.entry(r.schema.clone()).or_default().insert(r.name.clone(), r);
        }
        for row in &doc.computed {
            let Some(field) = row.field() else { continue };
            let relation = cache.relations.get_mut(&row.rel_schema).and_then(|m| m.get_mut(&row.rel_name));
            if let Some(relation) = relation.filter(|r| r.column(&row.name).is_none()) {
                relation.computed.push(field);
            }
        }
        for relation in cache.relations.values_mut().flat_map(|m| m.values_mut()) {
            relation.computed.sort_by(|a, b| a.name.cmp(&b.name));
            relation.computed.dedup_by(|a, b| a.name == b.name);
        }
        for mut f in doc.functions {
            f.build_out_relation();
            cache.functions.entry(f.schema.clone()).or_default().entry(f.name.clone()).or_default().push(f);
        }
        Ok(cache)
    }

    pub fn relation(&self, schema: &str, name: &str) -> Option<&Relation> {
        self.relations.get(schema)?.get(name)
    }

    pub fn relations_in<'a>(&'a self, schema: &str) -> impl Iterator<Item = &'a Relation> + 'a {
        self.relations.get(schema).into_iter().flat_map(|m| m.values())
    }

    pub fn functions(&self, schema: &str, name: &str) -> &[Function] {
        self.functions.get(schema).and_then(|m| m.get(name)).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Every relationship from `schema.name` (to relations of any exposed schema).
    pub fn relationships_from(&self, schema: &str, name: &str) -> &[Relationship] {
        self.relationships.get(&(schema.to_string(), name.to_string())).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Names of the relations that have relationships (PGRST200's suggestions).
    pub fn relationship_sources(&self) -> impl Iterator<Item = &(String, String)> {
        self.relationships.iter().filter(|(_, v)| !v.is_empty()).map(|(k, _)| k)
    }

    /// Media type handlers, in no particular order.
    pub fn media_handlers(&self) -> &[MediaHandler] {
        &self.media_handlers
    }

    /// The settings of a role (none when it has none).
    pub fn role_settings(&self, role: &str) -> Option<&RoleSettings> {
        self.role_settings.get(role)
    }

    /// The COMMENT on an exposed schema.
    pub fn schema_comment(&self, schema: &str) -> Option<&str> {
        self.schema_comments.get(schema).map(String::as_str)
    }

    /// Every function in `schema`, overloads included, in no particular order.
    pub fn functions_in<'a>(&'a self, schema: &str) -> impl Iterator<Item = &'a Function> + 'a {
        self.functions.get(schema).into_iter().flat_map(|m| m.values().flatten())
    }

    pub fn relation_count(&self) -> usize {
        self.relations.values().map(HashMap::len).sum()
    }
}

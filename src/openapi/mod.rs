//! The OpenAPI 3.1 description served at `GET /`: built from the schema cache alone (pure, no
//! I/O). With `follow-privileges` the handler first runs [`privileges_statement`] as the
//! request's role and passes the decoded [`Visibility`]; otherwise [`Visibility::All`].

mod document;
mod names;
mod privileges;
mod types;

#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};

use serde::Deserialize;

use crate::schema::SchemaCache;

pub use document::document;
pub use privileges::{privileges_statement, visibility_from_json};
pub use types::type_schema;

/// Which relations and functions of the schema the document lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visibility {
    All,
    Only {
        /// Relation names in the schema.
        relations: HashSet<String>,
        /// Function names in the schema.
        functions: HashSet<String>,
        /// The commands the role may run per relation; a listed relation missing here gets
        /// every operation its kind supports.
        commands: HashMap<String, Commands>,
    },
}

impl Visibility {
    /// A visibility without per-relation commands.
    pub fn only<R, F>(relations: R, functions: F) -> Visibility
    where
        R: IntoIterator,
        R::Item: Into<String>,
        F: IntoIterator,
        F::Item: Into<String>,
    {
        Visibility::Only {
            relations: relations.into_iter().map(Into::into).collect(),
            functions: functions.into_iter().map(Into::into).collect(),
            commands: HashMap::new(),
        }
    }

    /// The commands to document for relation `name`, or `None` when it is hidden.
    pub fn relation(&self, name: &str) -> Option<Commands> {
        match self {
            Visibility::All => Some(Commands::ALL),
            Visibility::Only { relations, commands, .. } => {
                relations.contains(name).then(|| commands.get(name).copied().unwrap_or(Commands::ALL))
            }
        }
    }

    pub fn function(&self, name: &str) -> bool {
        match self {
            Visibility::All => true,
            Visibility::Only { functions, .. } => functions.contains(name),
        }
    }
}

/// Table privileges of the current role on one relation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Commands {
    pub select: bool,
    pub insert: bool,
    pub update: bool,
    pub delete: bool,
}

impl Commands {
    pub const ALL: Commands = Commands { select: true, insert: true, update: true, delete: true };
}

pub struct DocumentInput<'a> {
    pub cache: &'a SchemaCache,
    /// The schema described (the request's profile).
    pub schema: &'a str,
    /// Every exposed schema: the `Accept-Profile`/`Content-Profile` enum when more than one.
    pub schemas: &'a [String],
    pub visibility: &'a Visibility,
    /// `servers[0].url` when given (e.g. `ROWGATE_OPENAPI_SERVER_PROXY_URI`).
    pub server_url: Option<&'a str>,
    /// The schema's COMMENT, if any: first line is the title, the rest the description.
    pub title: Option<&'a str>,
}

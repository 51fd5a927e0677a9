//! `follow-privileges`: what the current role may use, asked of Postgres in one statement run
//! after the role switch, then decoded into a [`Visibility`].

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use crate::sql::builder::SqlBuilder;
use crate::sql::Statement;

use super::{Commands, Visibility};

/// One row, one `text` column holding
/// `{"relations": {"<name>": {"select": b, "insert": b, "update": b, "delete": b}, …},
///   "functions": ["<name>", …]}` for the relations and functions of schema `$1` the current role
/// may use at all (a relation with at least one of the four privileges, table- or column-level;
/// a function with EXECUTE). Nothing is listed without USAGE on the schema.
pub fn privileges_statement(schema: &str) -> Statement {
    let mut b = SqlBuilder::new();
    b.push(
        "WITH ns AS (SELECT n.oid FROM pg_catalog.pg_namespace n \
         WHERE n.nspname = ",
    )
    .param(schema)
    .push(
        "::text AND pg_catalog.has_schema_privilege(n.oid, 'USAGE')), \
         rels AS (SELECT c.relname::text AS name, \
         pg_catalog.has_any_column_privilege(c.oid, 'SELECT') AS \"select\", \
         pg_catalog.has_any_column_privilege(c.oid, 'INSERT') AS \"insert\", \
         pg_catalog.has_any_column_privilege(c.oid, 'UPDATE') AS \"update\", \
         pg_catalog.has_table_privilege(c.oid, 'DELETE') AS \"delete\" \
         FROM pg_catalog.pg_class c JOIN ns ON ns.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'v', 'm', 'f', 'p')), \
         fns AS (SELECT DISTINCT p.proname::text AS name \
         FROM pg_catalog.pg_proc p JOIN ns ON ns.oid = p.pronamespace \
         WHERE p.prokind = 'f' AND pg_catalog.has_function_privilege(p.oid, 'EXECUTE')) \
         SELECT pg_catalog.json_build_object(\
         'relations', coalesce((SELECT pg_catalog.json_object_agg(r.name, \
         pg_catalog.json_build_object('select', r.\"select\", 'insert', r.\"insert\", \
         'update', r.\"update\", 'delete', r.\"delete\") ORDER BY r.name) FROM rels r \
         WHERE r.\"select\" OR r.\"insert\" OR r.\"update\" OR r.\"delete\"), '{}'), \
         'functions', coalesce((SELECT pg_catalog.json_agg(f.name ORDER BY f.name) FROM fns f), '[]')\
         )::text AS privileges",
    );
    b.finish()
}

#[derive(Deserialize)]
struct Privileges {
    relations: BTreeMap<String, Commands>,
    functions: Vec<String>,
}

/// Decodes the single `text` column of [`privileges_statement`]'s row.
pub fn visibility_from_json(text: &str) -> Result<Visibility, serde_json::Error> {
    let p: Privileges = serde_json::from_str(text)?;
    Ok(Visibility::Only {
        relations: p.relations.keys().cloned().collect(),
        functions: p.functions.into_iter().collect(),
        commands: p.relations.into_iter().collect::<HashMap<_, _>>(),
    })
}

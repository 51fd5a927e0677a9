//! Runs the introspection query.

use std::time::{Duration, Instant};

use thiserror::Error;
use tokio_postgres::GenericClient;

use super::SchemaCache;

const INTROSPECT: &str = include_str!("introspect.sql");

#[derive(Debug, Error)]
pub enum LoadError {
    #[error("schema cache query failed: {0}")]
    Query(#[from] tokio_postgres::Error),
    #[error("schema cache document could not be decoded: {0}")]
    Decode(#[from] serde_json::Error),
}

/// Loads the cache for `schemas`; returns it with the time the query took.
pub async fn load<C: GenericClient>(client: &C, schemas: &[String]) -> Result<(SchemaCache, Duration), LoadError> {
    let started = Instant::now();
    let row = client.query_one(INTROSPECT, &[&schemas]).await?;
    let text: &str = row.try_get(0)?;
    let cache = SchemaCache::from_json(text)?;
    Ok((cache, started.elapsed()))
}

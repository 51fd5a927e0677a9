//! The connection pool of the authenticator role: request connections (`db::wire`), opened
//! lazily, checked before reuse.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use deadpool::managed::{self, Metrics, RecycleError, RecycleResult, Timeouts};
use deadpool::Runtime;

use super::wire::Conn;
use super::DbError;
use crate::tls::PgTarget;

pub type Pool = managed::Pool<Manager>;
pub use deadpool::managed::Status;

/// A connection lent to one request. If the request is dropped while the connection is
/// mid-exchange or inside a transaction (its client went away), the connection leaves the pool
/// and its socket closes at once, which makes PostgreSQL roll the transaction back and release
/// its locks, instead of lingering until the pool next hands it out.
pub struct Lease(Option<managed::Object<Manager>>);

impl Lease {
    pub async fn get(pool: &Pool) -> Result<Lease, DbError> {
        Ok(Lease(Some(pool.get().await?)))
    }
}

impl std::ops::Deref for Lease {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.0.as_ref().expect("a lease holds its connection until dropped")
    }
}

impl std::ops::DerefMut for Lease {
    fn deref_mut(&mut self) -> &mut Conn {
        self.0.as_mut().expect("a lease holds its connection until dropped")
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(object) = self.0.take() {
            if !object.is_reusable() {
                drop(managed::Object::take(object));
            }
        }
    }
}

pub struct Manager {
    target: PgTarget,
    /// Bumped by a schema reload: prepared statements of an older generation may describe
    /// dropped or changed objects, so a connection forgets them when it is next handed out.
    generation: AtomicU64,
}

impl Manager {
    pub fn forget_prepared_statements(&self) {
        self.generation.fetch_add(1, Ordering::Relaxed);
    }
}

impl managed::Manager for Manager {
    type Type = Conn;
    type Error = DbError;

    async fn create(&self) -> Result<Conn, DbError> {
        // Boxed: the start-up (TLS, authentication) is a large future, and deadpool's `get`
        // embeds `create` inline, so every request's future would carry it, and move it.
        Box::pin(Conn::open(&self.target, self.generation.load(Ordering::Relaxed))).await
    }

    async fn recycle(&self, conn: &mut Conn, _: &Metrics) -> RecycleResult<DbError> {
        // Every setting is transaction-local, so an idle connection carries nothing over.
        if !conn.is_reusable() {
            return Err(RecycleError::message("left mid-request or inside a transaction"));
        }
        let generation = self.generation.load(Ordering::Relaxed);
        if conn.generation != generation {
            conn.forget_statements();
            conn.generation = generation;
        }
        Ok(())
    }
}

/// Builds the pool; connections open lazily.
pub fn build_pool(url: &str, size: usize, acquire_timeout: Duration) -> Result<Pool, String> {
    // sslmode/sslrootcert decide the TLS policy (see tls::client).
    let target = PgTarget::from_url(url).map_err(|e| e.problem)?;
    Pool::builder(Manager { target, generation: AtomicU64::new(0) })
        .max_size(size)
        .runtime(Runtime::Tokio1)
        .timeouts(Timeouts {
            wait: Some(acquire_timeout),
            create: Some(Duration::from_secs(5)),
            recycle: Some(Duration::from_secs(5)),
        })
        .build()
        .map_err(|e| e.to_string())
}

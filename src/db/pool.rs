//! The connection pool of the authenticator role.

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime, Timeouts};

/// Builds the pool; connections open lazily. `Fast` recycling is enough because every
/// setting is transaction-local.
pub fn build_pool(url: &str, size: usize, acquire_timeout: Duration) -> Result<Pool, String> {
    // sslmode/sslrootcert decide the TLS connector (see tls::client).
    let target = crate::tls::PgTarget::from_url(url).map_err(|e| e.problem)?;
    let mut pg = target.config;
    if pg.get_application_name().is_none() {
        pg.application_name("rowgate");
    }
    pg.connect_timeout(Duration::from_secs(5));
    // A database host that vanished without closing the socket fails its connections within
    // about a minute instead of the kernel's two hours.
    pg.keepalives(true).keepalives_idle(Duration::from_secs(30)).keepalives_interval(Duration::from_secs(10));
    pg.keepalives_retries(3);
    let manager = Manager::from_config(pg, target.tls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
    Pool::builder(manager)
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

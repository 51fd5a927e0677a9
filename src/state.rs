//! What every request shares: settings, the authenticator, the pool, the schema cache, the
//! signing key, metrics and rate limits. Built once by `app::start`; the HTTP, pipeline and
//! realtime layers read it, none of them owns it.

use std::sync::Arc;

use arc_swap::ArcSwapOption;
use tokio::sync::Notify;

use crate::auth::signing::SigningKey;
use crate::auth::Authenticator;
use crate::config::Config;
use crate::db::pool::Pool;
use crate::db::replica::Replicas;
use crate::observe::Metrics;
use crate::rate_limit::RateLimits;
use crate::schema::SchemaCache;

pub struct AppState {
    pub config: Config,
    pub auth: Authenticator,
    pub pool: Pool,
    /// `DATABASE_URL` parsed, for the connections outside the pool (schema loads).
    pub pg_target: crate::tls::PgTarget,
    /// None until the first successful load.
    pub schema: ArcSwapOption<SchemaCache>,
    pub pre_request_sql: Option<String>,
    /// Signs `/auth/v1` tokens; its public half is trusted and published.
    pub signing: Option<SigningKey>,
    /// Notified to reload the schema cache (NOTIFY, SIGUSR1, reconnects).
    pub reload: Arc<Notify>,
    /// Counters and histograms behind `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Per-IP, per-subject and `/auth/v1` rate limits (`rate_limit/`).
    pub rate_limits: RateLimits,
    /// Read replicas and the rule that sends reads to them (`db/replica/`), when configured.
    pub replicas: Option<Arc<Replicas>>,
    /// `/realtime/v1`: subscriptions, connections and the state of change capture.
    pub realtime: Arc<crate::channels::Hub>,
    /// Sends the emails of `/auth/v1` (`mail/`), off the request path.
    pub mailer: Arc<crate::mail::Mailer>,
    /// rowgate's public base URL (`ROWGATE_API_EXTERNAL_URL`, else the bound address), for links in emails.
    pub external_url: String,
}

//! Configuration from flags and environment (`ROWGATE_*`, falling back to `PGRST_*`).
//! Every invalid value stops start-up with one line naming the variable.

mod args;
pub mod auth;
pub mod limits;
pub(crate) mod parse;
mod realtime;
mod replicas;

use std::net::SocketAddr;
use std::time::Duration;

use thiserror::Error;

pub use crate::tls::server::TlsSettings;
pub use args::{AuditArgs, AuditFormat, Cli, Command, KeysCommand, ServeArgs, TokenArgs};
pub use auth::{AuthFlowArgs, AuthFlows, SmtpSettings, SmtpTls};
pub use limits::{Limits, RateSpec, TrustedProxies};
pub use realtime::RealtimeSettings;
pub use replicas::ReplicaSettings;

#[derive(Debug, Error, PartialEq, Eq)]
#[error("{var}: {problem}")]
pub struct ConfigError {
    pub var: &'static str,
    pub problem: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxEnd {
    Commit,
    CommitAllowOverride,
    Rollback,
    RollbackAllowOverride,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenApiMode {
    FollowPrivileges,
    IgnorePrivileges,
    Disabled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: Option<String>,
    pub listen: SocketAddr,
    pub admin_listen: SocketAddr,
    /// The HTTPS listener, when a certificate is configured.
    pub tls: Option<TlsSettings>,
    pub schemas: Vec<String>,
    pub anon_role: Option<String>,
    pub jwt_secret: Option<String>,
    pub jwt_signing_key: Option<String>,
    /// `ROWGATE_AUTH_ENABLED`: whether `/auth/v1` answers (it then needs a key that can sign).
    pub auth_enabled: bool,
    pub auth_signup_enabled: bool,
    /// `ROWGATE_MFA_ENCRYPTION_KEY`: encrypts TOTP secrets (derived from the JWT key when unset).
    pub mfa_encryption_key: Option<String>,
    /// `ROWGATE_EXTERNAL_PROVIDERS`: OpenID Connect sign-in providers.
    pub external_providers: Vec<crate::oidc::ProviderConfig>,
    pub jwt_aud: Option<String>,
    pub jwt_role_claim: String,
    pub jwt_cache_max_entries: usize,
    pub max_body_bytes: usize,
    pub pool_size: usize,
    pub pool_timeout: Duration,
    pub max_rows: Option<u64>,
    /// `(schema, function)` called before every main statement.
    pub pre_request: Option<(String, String)>,
    /// `ROWGATE_DB_CITUS`: the Citus shape of the context and read statements.
    pub citus: bool,
    pub statement_timeout: Duration,
    pub extra_search_path: Vec<String>,
    pub tx_end: TxEnd,
    pub aggregates_enabled: bool,
    pub plan_enabled: bool,
    pub openapi_mode: OpenApiMode,
    pub server_timing: bool,
    pub cors_origins: Option<Vec<String>>,
    pub log: String,
    /// `None`: text on a terminal, JSON otherwise (decided where the log is opened).
    pub log_format: Option<LogFormat>,
    /// Connection limits, timeouts and rate limits (`limits.rs`).
    pub limits: Limits,
    /// Read replicas (`replicas.rs`).
    pub replicas: ReplicaSettings,
    /// `ROWGATE_MAINTENANCE_INTERVAL`; `None` when off.
    pub maintenance_interval: Option<Duration>,
    pub realtime: RealtimeSettings,
    /// Lifetimes, email delivery, redirects and flow limits of `/auth/v1` (`auth.rs`).
    pub auth_flows: AuthFlows,
}

impl Config {
    /// Resolves the serve arguments; `env` looks up fallback variables (`PGRST_*`).
    pub fn from_args(a: &ServeArgs, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        parse::resolve(a, env)
    }
}

//! Command-line definitions; every flag also reads its `ROWGATE_*` variable.

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "rowgate", version, about = "A PostgREST-compatible, database-centric backend for multi-tenant SaaS")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default). Without DATABASE_URL, start the embedded PostgreSQL under ./.rowgate/.
    Serve(ServeArgs),
    /// Apply the embedded migrations, then exit.
    Migrate(ServeArgs),
    /// Print a signed JWT for trying the API (uses ROWGATE_JWT_SECRET, or the embedded default's secret).
    Token(TokenArgs),
    /// Key management.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Lint the database's grants, policies and functions for tenant-isolation mistakes; with
    /// --probe, also impersonate users of two orgs and try to reach the other org's rows.
    #[command(after_help = "Exit status: 0 when there is no error-level finding (warnings allowed) and no probe \
                            leak; 1 when there is one; 2 on a usage or connection error.\n\
                            See docs/audit.md for every lint and how to read the probe.")]
    Audit(AuditArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuditFormat {
    Text,
    Json,
}

/// Raw strings, resolved by `audit::settings::AuditSettings::from_args` (as for serve).
#[derive(Debug, Args, Clone)]
pub struct AuditArgs {
    /// Connection string of the database to audit (any role may lint; --probe needs a superuser,
    /// e.g. the role that runs `rowgate migrate`).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Exposed schemas, comma-separated (default: ROWGATE_DB_SCHEMAS, else PGRST_DB_SCHEMAS, else api).
    #[arg(long, env = "ROWGATE_DB_SCHEMAS")]
    pub schemas: Option<String>,
    /// The roles requests run as, comma-separated (default: every role `authenticator` may switch to).
    #[arg(long)]
    pub request_roles: Option<String>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = AuditFormat::Text)]
    pub format: AuditFormat,
    /// Also impersonate members of two orgs (inside a transaction that is rolled back) and check that
    /// no row of another org is visible or writable in any exposed table with an org_id column.
    #[arg(long)]
    pub probe: bool,
    /// The role the probe impersonates users with.
    #[arg(long, default_value = "authenticated")]
    pub probe_role: String,
    /// The table (schema.name) whose rows pair users (user_id) with orgs (org_id); default: found by
    /// its columns, preferring one named memberships.
    #[arg(long)]
    pub membership_table: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Print a new ES256 private JWK (with a kid) for ROWGATE_JWT_SIGNING_KEY.
    Generate {
        /// Print a random HS256 secret for ROWGATE_JWT_SECRET instead.
        #[arg(long)]
        secret: bool,
    },
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The Postgres role claim.
    #[arg(long, default_value = "authenticated")]
    pub role: String,
    /// The subject claim (`sub`).
    #[arg(long)]
    pub sub: Option<String>,
    /// Extra claims as key=value (value parsed as JSON when possible).
    #[arg(long = "claim", value_name = "KEY=VALUE")]
    pub claims: Vec<String>,
    /// Lifetime in seconds; negative for a token that has already expired (the gateway allows
    /// 30 s of clock skew, so `--expires-in -31` or less is refused as expired).
    #[arg(long, default_value_t = 3600, allow_negative_numbers = true)]
    pub expires_in: i64,
    #[arg(long, env = "ROWGATE_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
}

/// Raw strings: validation happens in one place (`parse::resolve`) so errors read alike.
#[derive(Debug, Args, Default, Clone)]
pub struct ServeArgs {
    /// Connection string of the authenticator role; unset = embedded PostgreSQL.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// API address.
    #[arg(long, env = "ROWGATE_LISTEN")]
    pub listen: Option<String>,
    /// Admin address (/live, /ready, /metrics).
    #[arg(long, env = "ROWGATE_ADMIN_LISTEN")]
    pub admin_listen: Option<String>,
    /// HTTPS address, a listener beside the HTTP one (default 127.0.0.1:3443 when a certificate is set).
    #[arg(long, env = "ROWGATE_TLS_LISTEN")]
    pub tls_listen: Option<String>,
    /// PEM certificate chain of the HTTPS listener (reloaded on SIGHUP); needs ROWGATE_TLS_KEY.
    #[arg(long, env = "ROWGATE_TLS_CERT")]
    pub tls_cert: Option<String>,
    /// PEM private key of the HTTPS listener (reloaded on SIGHUP); needs ROWGATE_TLS_CERT.
    #[arg(long, env = "ROWGATE_TLS_KEY", hide_env_values = true)]
    pub tls_key: Option<String>,
    /// Exposed schemas, comma-separated; the first is the default.
    #[arg(long, env = "ROWGATE_DB_SCHEMAS")]
    pub db_schemas: Option<String>,
    /// Role for requests without a token; empty disables anonymous access.
    #[arg(long, env = "ROWGATE_DB_ANON_ROLE")]
    pub db_anon_role: Option<String>,
    /// HS256 secret (>= 32 chars), a JWK or JWKS JSON literal, or @path.
    #[arg(long, env = "ROWGATE_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Private key (ES256 JWK with a kid, or PKCS#8 PEM, or @path) that signs /auth/v1 tokens;
    /// its public half is trusted and published at /auth/v1/.well-known/jwks.json.
    #[arg(long, env = "ROWGATE_JWT_SIGNING_KEY", hide_env_values = true)]
    pub jwt_signing_key: Option<String>,
    /// Whether the auth service answers at /auth/v1 (true) or is off (false: 404, and no signing
    /// key is needed).
    #[arg(long, env = "ROWGATE_AUTH_ENABLED")]
    pub auth_enabled: Option<String>,
    /// Whether POST /auth/v1/signup creates users (true) or is refused (false).
    #[arg(long, env = "ROWGATE_AUTH_SIGNUP_ENABLED")]
    pub auth_signup_enabled: Option<String>,
    /// Key that encrypts MFA (TOTP) secrets in the database; unset = derived from the JWT
    /// signing key or secret (docs/auth.md, "MFA (TOTP)").
    #[arg(long, env = "ROWGATE_MFA_ENCRYPTION_KEY", hide_env_values = true)]
    pub mfa_encryption_key: Option<String>,
    /// OpenID Connect sign-in providers: a JSON array of {name, issuer, client_id, client_secret,
    /// redirect_uri?, scopes?}, or @path to a file of one (docs/auth.md, "OAuth / OIDC sign-in").
    #[arg(long, env = "ROWGATE_EXTERNAL_PROVIDERS", hide_env_values = true)]
    pub external_providers: Option<String>,
    /// Required audience.
    #[arg(long, env = "ROWGATE_JWT_AUD")]
    pub jwt_aud: Option<String>,
    /// JSON path of the role claim.
    #[arg(long, env = "ROWGATE_JWT_ROLE_CLAIM")]
    pub jwt_role_claim: Option<String>,
    /// Largest accepted request body in bytes (413 beyond).
    #[arg(long, env = "ROWGATE_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<String>,
    /// Maximum cached verified tokens (0 disables the cache).
    #[arg(long, env = "ROWGATE_JWT_CACHE_MAX_ENTRIES")]
    pub jwt_cache_max_entries: Option<String>,
    /// Read replicas: connection strings (comma- or space-separated); reads go to one of them.
    #[arg(long, env = "ROWGATE_DB_READ_URL", hide_env_values = true)]
    pub db_read_url: Option<String>,
    /// A replica further behind the primary serves no reads, e.g. 5s.
    #[arg(long, env = "ROWGATE_DB_READ_MAX_LAG")]
    pub db_read_max_lag: Option<String>,
    /// How long a subject's reads wait, after its write, for a replica to have replayed it, e.g. 15s.
    #[arg(long, env = "ROWGATE_DB_READ_YOUR_WRITES")]
    pub db_read_your_writes: Option<String>,
    /// Connection pool size (of the primary, and of each replica).
    #[arg(long, env = "ROWGATE_DB_POOL")]
    pub db_pool: Option<String>,
    /// Seconds to wait for a pooled connection before 504.
    #[arg(long, env = "ROWGATE_DB_POOL_ACQUISITION_TIMEOUT")]
    pub db_pool_acquisition_timeout: Option<String>,
    /// Hard cap on rows returned.
    #[arg(long, env = "ROWGATE_DB_MAX_ROWS")]
    pub db_max_rows: Option<String>,
    /// The database is a Citus coordinator: claims reach the shards (SET LOCAL, propagated) and
    /// reads keep column names on multi-shard plans (docs/scaling.md).
    #[arg(long, env = "ROWGATE_DB_CITUS")]
    pub db_citus: Option<String>,
    /// Function (schema.name) called before every main statement.
    #[arg(long, env = "ROWGATE_DB_PRE_REQUEST")]
    pub db_pre_request: Option<String>,
    /// Per-request statement_timeout, e.g. 8s, 500ms.
    #[arg(long, env = "ROWGATE_STATEMENT_TIMEOUT")]
    pub statement_timeout: Option<String>,
    /// Schemas appended to search_path.
    #[arg(long, env = "ROWGATE_DB_EXTRA_SEARCH_PATH")]
    pub db_extra_search_path: Option<String>,
    /// commit, commit-allow-override, rollback, rollback-allow-override.
    #[arg(long, env = "ROWGATE_DB_TX_END")]
    pub db_tx_end: Option<String>,
    #[arg(long, env = "ROWGATE_DB_AGGREGATES_ENABLED")]
    pub db_aggregates_enabled: Option<String>,
    #[arg(long, env = "ROWGATE_DB_PLAN_ENABLED")]
    pub db_plan_enabled: Option<String>,
    /// follow-privileges, ignore-privileges, disabled.
    #[arg(long, env = "ROWGATE_OPENAPI_MODE")]
    pub openapi_mode: Option<String>,
    #[arg(long, env = "ROWGATE_SERVER_TIMING")]
    pub server_timing: Option<String>,
    /// Allowed CORS origins, comma-separated (unset echoes the request origin).
    #[arg(long, env = "ROWGATE_CORS_ORIGINS")]
    pub cors_origins: Option<String>,
    /// tracing filter, e.g. info or rowgate=debug.
    #[arg(long, env = "ROWGATE_LOG")]
    pub log: Option<String>,
    /// json or text (default: text when standard error is a terminal, json otherwise).
    #[arg(long, env = "ROWGATE_LOG_FORMAT")]
    pub log_format: Option<String>,
    /// Largest request head (request line + headers) in bytes, at least 8192 (431 beyond).
    #[arg(long, env = "ROWGATE_MAX_HEADER_BYTES")]
    pub max_header_bytes: Option<String>,
    /// Time a client has to finish sending a request head once it started, e.g. 10s.
    #[arg(long, env = "ROWGATE_HEADER_READ_TIMEOUT")]
    pub header_read_timeout: Option<String>,
    /// Time a client has to send a request body once its head is complete, e.g. 10s (408 beyond).
    #[arg(long, env = "ROWGATE_BODY_READ_TIMEOUT")]
    pub body_read_timeout: Option<String>,
    /// Close connections with no request in flight and nothing received for this long, e.g. 60s.
    #[arg(long, env = "ROWGATE_IDLE_TIMEOUT")]
    pub idle_timeout: Option<String>,
    /// How long SIGTERM waits for in-flight requests before exiting, e.g. 20s.
    #[arg(long, env = "ROWGATE_SHUTDOWN_TIMEOUT")]
    pub shutdown_timeout: Option<String>,
    /// Requests per client IP, e.g. 100/s,burst=200 (off by default).
    #[arg(long, env = "ROWGATE_RATE_LIMIT_IP")]
    pub rate_limit_ip: Option<String>,
    /// Requests per JWT sub (the role when there is none), e.g. 50/s (off by default).
    #[arg(long, env = "ROWGATE_RATE_LIMIT_SUBJECT")]
    pub rate_limit_subject: Option<String>,
    /// Requests per client IP to /auth/v1 token, signup, bootstrap and recover (default 60/min,burst=30; off disables).
    #[arg(long, env = "ROWGATE_RATE_LIMIT_AUTH")]
    pub rate_limit_auth: Option<String>,
    /// Reverse proxies (CIDR list) whose X-Forwarded-For names the client.
    #[arg(long, env = "ROWGATE_TRUSTED_PROXIES")]
    pub trusted_proxies: Option<String>,
    /// How often the maintenance job runs (purging deleted orgs, pruning expired auth rows),
    /// e.g. 10min; one instance runs it per interval however many there are; off disables it.
    #[arg(long, env = "ROWGATE_MAINTENANCE_INTERVAL")]
    pub maintenance_interval: Option<String>,
    /// Realtime (/realtime/v1): on or off (default on; it also needs ROWGATE_REALTIME_DB_URL).
    #[arg(long, env = "ROWGATE_REALTIME")]
    pub realtime: Option<String>,
    /// Connection string of the realtime replication role (LOGIN REPLICATION, e.g. rowgate_replication).
    #[arg(long, env = "ROWGATE_REALTIME_DB_URL", hide_env_values = true)]
    pub realtime_db_url: Option<String>,
    /// This instance's replication slot ([a-z0-9_]; default derived from host name and API address).
    #[arg(long, env = "ROWGATE_REALTIME_SLOT")]
    pub realtime_slot: Option<String>,
    /// Frames one realtime connection may have queued before it is disconnected (default 1024).
    #[arg(long, env = "ROWGATE_REALTIME_QUEUE")]
    pub realtime_queue: Option<String>,
    /// How often realtime channels' tokens are re-checked in SQL, e.g. 10s.
    #[arg(long, env = "ROWGATE_REALTIME_RECHECK")]
    pub realtime_recheck: Option<String>,
    /// After a restart with changes waiting in the slot, how long rejoining clients get them, e.g. 5s.
    #[arg(long, env = "ROWGATE_REALTIME_RESUME_GRACE")]
    pub realtime_resume_grace: Option<String>,
    /// Lifetimes, email delivery and flow limits of /auth/v1 (`config/auth.rs`).
    #[command(flatten)]
    pub auth_flows: super::auth::AuthFlowArgs,
}

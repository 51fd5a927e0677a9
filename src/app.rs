//! Wires the stages into a running server: state, pool, schema cache and its reloads,
//! the API and admin listeners. `main.rs` and the integration tests both start rowgate here.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use crate::auth::signing::SigningKey;
use crate::auth::{AuthConfig, Authenticator};
use crate::config::Config;
use crate::db::pool::build_pool;
use crate::db::replica::Replicas;
use crate::observe::Metrics;
use crate::rate_limit::RateLimits;
use crate::schema;
use crate::sql::context::pre_request_sql;
use crate::state::AppState;

/// A started rowgate; dropping it does not stop it, call [`Running::shutdown`].
pub struct Running {
    pub api_addr: SocketAddr,
    pub admin_addr: SocketAddr,
    /// The HTTPS listener's address, when ROWGATE_TLS_CERT is set.
    pub tls_addr: Option<SocketAddr>,
    pub state: Arc<AppState>,
    shutdown: watch::Sender<bool>,
    servers: Vec<JoinHandle<()>>,
    background: Vec<JoinHandle<()>>,
}

impl Running {
    /// Stops accepting, drains in-flight requests, stops background tasks.
    pub async fn shutdown(self) {
        // Realtime first: the slot is confirmed up to what was delivered, WebSockets close (1012).
        self.state.realtime.shutdown();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let _ = self.shutdown.send(true);
        for s in self.servers {
            let _ = s.await;
        }
        for b in self.background {
            b.abort();
        }
    }

    /// Resolves once the schema cache is loaded (or the timeout passes).
    pub async fn wait_ready(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while tokio::time::Instant::now() < deadline {
            if self.state.schema.load().is_some() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Key(#[from] crate::auth::KeyError),
    #[error(
        "ROWGATE_JWT_SIGNING_KEY: not set, and ROWGATE_JWT_SECRET is not a plain secret that could sign; \
         /auth/v1 needs a key for its tokens: set ROWGATE_JWT_SIGNING_KEY=\"$(rowgate keys generate)\", \
         or ROWGATE_AUTH_ENABLED=false to run without /auth/v1"
    )]
    NoSigningKey,
    #[error("DATABASE_URL: {0}")]
    Pool(String),
    #[error("ROWGATE_DB_READ_URL: {0}")]
    Replicas(String),
    #[error("{0}")]
    Signal(String),
    #[error("{0}")]
    Tls(#[from] crate::tls::TlsError),
    #[error("{0}")]
    Mail(#[from] crate::mail::MailError),
    #[error("ROWGATE_MAILER_TEMPLATES_DIR: {0}")]
    Templates(std::io::Error),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
}

pub async fn start(config: Config) -> Result<Running, StartError> {
    let configured = match &config.jwt_signing_key {
        Some(text) => Some(SigningKey::parse(text)?),
        None => None,
    };
    let auth = Authenticator::new(AuthConfig {
        trusted_jwks: configured.iter().map(|k| k.verification_jwks().to_string()).collect(),
        secret: config.jwt_secret.clone(),
        audience: config.jwt_aud.clone(),
        role_claim: config.jwt_role_claim.clone(),
        anon_role: config.anon_role.clone(),
        cache_max_entries: config.jwt_cache_max_entries,
    })?;
    // Refused at start-up rather than with a 500 at the first sign-in.
    let signing = match configured {
        Some(key) => Some(key),
        None if config.auth_enabled => Some(
            config.jwt_secret.as_deref().and_then(SigningKey::from_shared_secret).ok_or(StartError::NoSigningKey)?,
        ),
        None => None,
    };
    let url = config.database_url.clone().ok_or_else(|| StartError::Pool("not set".into()))?;
    let pool = build_pool(&url, config.pool_size, config.pool_timeout).map_err(StartError::Pool)?;
    let replicas = Replicas::new(&config.replicas, config.pool_size, config.pool_timeout)
        .map_err(StartError::Replicas)?
        .map(Arc::new);
    let pg_target = crate::tls::PgTarget::from_url(&url)?;
    pg_target.check().await?;
    let https = match &config.tls {
        Some(settings) => Some(crate::tls::server::bind(settings).await?),
        None => None,
    };

    let api_listener =
        TcpListener::bind(config.listen).await.map_err(|source| StartError::Listen { addr: config.listen, source })?;
    let admin_listener = TcpListener::bind(config.admin_listen)
        .await
        .map_err(|source| StartError::Listen { addr: config.admin_listen, source })?;
    let api_addr = api_listener.local_addr().map_err(|source| StartError::Listen { addr: config.listen, source })?;
    let admin_addr =
        admin_listener.local_addr().map_err(|source| StartError::Listen { addr: config.admin_listen, source })?;

    let config_limits = config.limits.clone();
    let realtime_settings = config.realtime.clone();
    let metrics = Arc::new(Metrics::new());
    let flows = &config.auth_flows;
    let templates = crate::mail::Templates::load(flows.templates_dir.as_deref()).map_err(StartError::Templates)?;
    let (mailer, mail_queue) = crate::mail::Mailer::new(flows.smtp.as_ref(), templates, metrics.clone())?;
    let external_url = flows.api_external_url.clone().unwrap_or_else(|| match api_addr.ip() {
        ip if ip.is_unspecified() => format!("http://localhost:{}", api_addr.port()),
        _ => format!("http://{api_addr}"),
    });
    let state = Arc::new(AppState {
        pre_request_sql: config.pre_request.as_ref().map(|(s, f)| pre_request_sql(s, f)),
        config,
        auth,
        signing,
        pool,
        pg_target: pg_target.clone(),
        schema: ArcSwapOption::empty(),
        reload: Arc::new(Notify::new()),
        metrics,
        rate_limits: RateLimits::new(&config_limits),
        replicas,
        realtime: Arc::new(crate::channels::Hub::new(realtime_settings)),
        mailer: mailer.clone(),
        external_url,
    });

    // Registered before returning, so an early SIGUSR1 never falls back to "terminate".
    let usr1 = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1())
        .map_err(|e| StartError::Signal(format!("cannot handle SIGUSR1: {e}")))?;
    let mut background = vec![
        tokio::spawn(schema::listener::listen(pg_target.clone(), state.reload.clone())),
        tokio::spawn(reloader(state.clone())),
        tokio::spawn(sigusr1(usr1, state.reload.clone())),
        tokio::spawn(sweep_rate_limits(state.clone(), Duration::from_secs(10))),
        tokio::spawn(crate::maintenance::refresh_gauges(state.clone())),
        tokio::spawn(mailer.deliver(mail_queue)),
    ];
    if let Some(replicas) = &state.replicas {
        background.push(tokio::spawn(crate::db::replica::monitor(pg_target.clone(), replicas.clone())));
    }
    if let Some(every) = state.config.maintenance_interval {
        background.push(tokio::spawn(crate::maintenance::run_every(state.clone(), every)));
    }
    // The first load does not wait for the listener.
    state.reload.notify_one();
    background.extend(crate::realtime::spawn(state.clone(), api_addr));

    let (shutdown, rx) = watch::channel(false);
    let mut servers = vec![
        tokio::spawn(crate::http::server::serve(
            api_listener,
            state.clone(),
            crate::http::router::handle,
            state.config.limits.clone(),
            rx.clone(),
        )),
        tokio::spawn(crate::http::server::serve(
            admin_listener,
            state.clone(),
            crate::http::admin::handle,
            state.config.limits.clone(),
            rx,
        )),
    ];
    let tls_addr = https.as_ref().map(|h| h.addr);
    if let Some(h) = https {
        let handler = crate::http::router::handle;
        let serve = crate::http::server::serve_with(
            h.listener,
            Some(h.acceptor),
            state.clone(),
            handler,
            state.config.limits.clone(),
            shutdown.subscribe(),
        );
        servers.push(tokio::spawn(serve));
        background.push(tokio::spawn(crate::tls::server::reload_on_sighup(h.sighup, h.store)));
    }
    tracing::info!(%api_addr, %admin_addr, tls_addr = ?tls_addr, "rowgate listening");
    Ok(Running { api_addr, admin_addr, tls_addr, state, shutdown, servers, background })
}

/// Reloads the schema cache on request; a failed load keeps serving the old one and retries.
async fn reloader(state: Arc<AppState>) {
    loop {
        state.reload.notified().await;
        // Coalesce bursts of notifications.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let mut delay = Duration::from_millis(200);
        loop {
            match reload_once(&state).await {
                Ok(()) => break,
                Err(e) => {
                    tracing::warn!(
                        "schema cache load failed from PostgreSQL at {}: {e}; retrying in {} ms",
                        state.pg_target.describe(),
                        delay.as_millis()
                    );
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
}

pub async fn reload_once(state: &AppState) -> Result<(), String> {
    let failed = |e: String| {
        state.metrics.schema_load_failed();
        e
    };
    // Its own connection: the pool's speak only the request pipeline (db::wire).
    let client = state.pg_target.connect().await.map_err(|e| failed(crate::db::error::with_causes(&e)))?;
    let (cache, took) = schema::load(&client, &state.config.schemas).await.map_err(|e| failed(e.to_string()))?;
    state.metrics.schema_loaded(took);
    tracing::info!(relations = cache.relation_count(), ms = took.as_millis() as u64, "schema cache loaded");
    state.schema.store(Some(Arc::new(cache)));
    // Prepared statements may describe dropped or changed objects (on the replicas too: the
    // change replicates).
    state.pool.manager().forget_prepared_statements();
    if let Some(replicas) = &state.replicas {
        replicas.forget_prepared_statements();
    }
    Ok(())
}

/// Sweeps the rate limiters' idle keys for as long as rowgate runs.
async fn sweep_rate_limits(state: Arc<AppState>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        state.rate_limits.sweep();
    }
}

async fn sigusr1(mut sig: tokio::signal::unix::Signal, reload: Arc<Notify>) {
    while sig.recv().await.is_some() {
        reload.notify_one();
    }
}

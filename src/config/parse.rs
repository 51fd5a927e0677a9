//! Validation of raw settings, with the `PGRST_*` fallbacks of a PostgREST deployment.

use std::net::SocketAddr;
use std::time::Duration;

use super::{Config, ConfigError, LogFormat, OpenApiMode, ServeArgs, TlsSettings, TxEnd};

pub(crate) fn err(var: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError { var, problem: problem.into() }
}

pub fn resolve(a: &ServeArgs, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
    // ROWGATE_* (flag or env, already in `a`) wins; else the PostgREST name.
    let pick = |own: &Option<String>, pgrst: &str| own.clone().or_else(|| env(pgrst));

    let listen = match (&a.listen, env("PGRST_SERVER_PORT")) {
        (Some(l), _) => parse_addr("ROWGATE_LISTEN", l)?,
        (None, Some(port)) => port_addr("PGRST_SERVER_PORT", env("PGRST_SERVER_HOST"), &port)?,
        (None, None) => SocketAddr::from(([127, 0, 0, 1], 3000)),
    };
    let admin_listen = match (&a.admin_listen, env("PGRST_ADMIN_SERVER_PORT")) {
        (Some(l), _) => parse_addr("ROWGATE_ADMIN_LISTEN", l)?,
        (None, Some(port)) => port_addr("PGRST_ADMIN_SERVER_PORT", env("PGRST_SERVER_HOST"), &port)?,
        (None, None) => SocketAddr::from(([127, 0, 0, 1], 3001)),
    };

    let tls = tls(a)?;
    let schemas = schemas(pick(&a.db_schemas, "PGRST_DB_SCHEMAS"))?;

    let anon_role = match pick(&a.db_anon_role, "PGRST_DB_ANON_ROLE") {
        None => Some("anon".to_string()),
        Some(r) if r.trim().is_empty() => None,
        Some(r) => Some(r.trim().to_string()),
    };

    let jwt_role_claim = pick(&a.jwt_role_claim, "PGRST_JWT_ROLE_CLAIM_KEY").unwrap_or_else(|| "role".into());

    let pool_size = match pick(&a.db_pool, "PGRST_DB_POOL") {
        Some(v) => positive("ROWGATE_DB_POOL", &v)? as usize,
        None => 10,
    };
    let pool_timeout = match &a.db_pool_acquisition_timeout {
        Some(v) => Duration::from_secs(positive("ROWGATE_DB_POOL_ACQUISITION_TIMEOUT", v)?),
        None => Duration::from_secs(10),
    };
    let jwt_cache_max_entries = match &a.jwt_cache_max_entries {
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| err("ROWGATE_JWT_CACHE_MAX_ENTRIES", format!("expected a number, got {v:?}")))?,
        None => 1000,
    };
    let max_body_bytes = match &a.max_body_bytes {
        Some(v) => positive("ROWGATE_MAX_BODY_BYTES", v)? as usize,
        None => 10 * 1024 * 1024,
    };
    let max_rows = match pick(&a.db_max_rows, "PGRST_DB_MAX_ROWS") {
        Some(v) if !v.trim().is_empty() => Some(positive("ROWGATE_DB_MAX_ROWS", &v)?),
        _ => None,
    };
    let pre_request = match pick(&a.db_pre_request, "PGRST_DB_PRE_REQUEST") {
        Some(v) if !v.trim().is_empty() => Some(qualified_function("ROWGATE_DB_PRE_REQUEST", v.trim(), &schemas[0])?),
        _ => None,
    };
    let statement_timeout = match &a.statement_timeout {
        Some(v) => duration("ROWGATE_STATEMENT_TIMEOUT", v)?,
        None => Duration::from_secs(8),
    };
    let extra_search_path =
        list(&pick(&a.db_extra_search_path, "PGRST_DB_EXTRA_SEARCH_PATH").unwrap_or_else(|| "public".into()));
    let tx_end = match pick(&a.db_tx_end, "PGRST_DB_TX_END").as_deref().map(str::trim) {
        None | Some("commit") => TxEnd::Commit,
        Some("commit-allow-override") => TxEnd::CommitAllowOverride,
        Some("rollback") => TxEnd::Rollback,
        Some("rollback-allow-override") => TxEnd::RollbackAllowOverride,
        Some(other) => {
            return Err(err(
                "ROWGATE_DB_TX_END",
                format!("expected commit, commit-allow-override, rollback or rollback-allow-override, got {other:?}"),
            ))
        }
    };
    let openapi_mode = match pick(&a.openapi_mode, "PGRST_OPENAPI_MODE").as_deref().map(str::trim) {
        None | Some("follow-privileges") => OpenApiMode::FollowPrivileges,
        Some("ignore-privileges") => OpenApiMode::IgnorePrivileges,
        Some("disabled") => OpenApiMode::Disabled,
        Some(other) => {
            return Err(err(
                "ROWGATE_OPENAPI_MODE",
                format!("expected follow-privileges, ignore-privileges or disabled, got {other:?}"),
            ))
        }
    };
    let log_format = match a.log_format.as_deref().map(str::trim) {
        None => None,
        Some("json") => Some(LogFormat::Json),
        Some("text") => Some(LogFormat::Text),
        Some(other) => return Err(err("ROWGATE_LOG_FORMAT", format!("expected json or text, got {other:?}"))),
    };
    let database_url = database_url(pick(&a.database_url, "PGRST_DB_URI"))?;
    let maintenance_interval = match a.maintenance_interval.as_deref().map(str::trim) {
        None => Some(Duration::from_secs(600)),
        Some("off") => None,
        Some(v) => match duration("ROWGATE_MAINTENANCE_INTERVAL", v)? {
            d if d < Duration::from_secs(1) => {
                return Err(err("ROWGATE_MAINTENANCE_INTERVAL", format!("at least 1s (or off), got {v:?}")))
            }
            d => Some(d),
        },
    };

    Ok(Config {
        database_url,
        listen,
        admin_listen,
        tls,
        schemas,
        anon_role,
        jwt_secret: pick(&a.jwt_secret, "PGRST_JWT_SECRET").filter(|s| !s.is_empty()),
        jwt_signing_key: a.jwt_signing_key.clone().filter(|s| !s.trim().is_empty()),
        auth_enabled: a.auth_enabled.is_none() || boolean("ROWGATE_AUTH_ENABLED", a.auth_enabled.clone())?,
        auth_signup_enabled: a.auth_signup_enabled.is_none()
            || boolean("ROWGATE_AUTH_SIGNUP_ENABLED", a.auth_signup_enabled.clone())?,
        mfa_encryption_key: a.mfa_encryption_key.clone().filter(|s| !s.is_empty()),
        external_providers: match a.external_providers.as_deref().map(str::trim) {
            Some(text) if !text.is_empty() => {
                crate::oidc::parse_providers(text).map_err(|e| err("ROWGATE_EXTERNAL_PROVIDERS", e))?
            }
            _ => Vec::new(),
        },
        jwt_aud: pick(&a.jwt_aud, "PGRST_JWT_AUD").filter(|s| !s.is_empty()),
        jwt_role_claim,
        jwt_cache_max_entries,
        max_body_bytes,
        pool_size,
        pool_timeout,
        max_rows,
        pre_request,
        citus: boolean("ROWGATE_DB_CITUS", a.db_citus.clone())?,
        statement_timeout,
        extra_search_path,
        tx_end,
        aggregates_enabled: boolean(
            "ROWGATE_DB_AGGREGATES_ENABLED",
            pick(&a.db_aggregates_enabled, "PGRST_DB_AGGREGATES_ENABLED"),
        )?,
        plan_enabled: boolean("ROWGATE_DB_PLAN_ENABLED", pick(&a.db_plan_enabled, "PGRST_DB_PLAN_ENABLED"))?,
        openapi_mode,
        server_timing: boolean("ROWGATE_SERVER_TIMING", a.server_timing.clone())?,
        cors_origins: a.cors_origins.as_deref().map(list).filter(|l| !l.is_empty()),
        log: a.log.clone().unwrap_or_else(|| "info".into()),
        log_format,
        limits: super::limits::resolve(a)?,
        replicas: super::replicas::resolve(a)?,
        maintenance_interval,
        realtime: super::realtime::resolve(a)?,
        auth_flows: super::auth::resolve(&a.auth_flows, env)?,
    })
}

/// The exposed schemas (flag or ROWGATE_DB_SCHEMAS, else PGRST_DB_SCHEMAS, already picked); default `api`.
pub(crate) fn schemas(raw: Option<String>) -> Result<Vec<String>, ConfigError> {
    let schemas = list(&raw.unwrap_or_else(|| "api".into()));
    if schemas.is_empty() {
        return Err(err("ROWGATE_DB_SCHEMAS", "must name at least one schema, e.g. ROWGATE_DB_SCHEMAS=api"));
    }
    if let Some(bad) = schemas.iter().find(|s| *s == "pg_catalog" || *s == "information_schema") {
        return Err(err("ROWGATE_DB_SCHEMAS", format!("{bad} cannot be exposed")));
    }
    Ok(schemas)
}

/// A set connection string must parse (with libpq's `sslmode`s); an empty one counts as unset.
pub(crate) fn database_url(raw: Option<String>) -> Result<Option<String>, ConfigError> {
    let url = raw.filter(|u| !u.trim().is_empty());
    if let Some(u) = &url {
        crate::tls::DbUrl::parse(u).map_err(|e| err("DATABASE_URL", e.problem))?;
    }
    Ok(url)
}

/// Certificate and key come together; the HTTPS address alone means nothing.
fn tls(a: &ServeArgs) -> Result<Option<TlsSettings>, ConfigError> {
    let set = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    match (set(&a.tls_cert), set(&a.tls_key)) {
        (Some(cert), Some(key)) => {
            let listen = match set(&a.tls_listen) {
                Some(l) => parse_addr("ROWGATE_TLS_LISTEN", &l)?,
                None => SocketAddr::from(([127, 0, 0, 1], 3443)),
            };
            Ok(Some(TlsSettings { listen, cert: cert.into(), key: key.into() }))
        }
        (Some(_), None) => Err(err("ROWGATE_TLS_KEY", "not set: ROWGATE_TLS_CERT needs its private key too")),
        (None, Some(_)) => Err(err("ROWGATE_TLS_CERT", "not set: ROWGATE_TLS_KEY needs its certificate too")),
        (None, None) if set(&a.tls_listen).is_some() => {
            Err(err("ROWGATE_TLS_LISTEN", "set, but ROWGATE_TLS_CERT and ROWGATE_TLS_KEY are not"))
        }
        (None, None) => Ok(None),
    }
}

pub(crate) fn list(v: &str) -> Vec<String> {
    v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()
}

fn parse_addr(var: &'static str, v: &str) -> Result<SocketAddr, ConfigError> {
    v.trim().parse().map_err(|_| err(var, format!("expected host:port such as 127.0.0.1:3000, got {v:?}")))
}

fn port_addr(var: &'static str, host: Option<String>, port: &str) -> Result<SocketAddr, ConfigError> {
    let port: u16 = port.trim().parse().map_err(|_| err(var, format!("expected a port number, got {port:?}")))?;
    let host = match host.as_deref().map(str::trim) {
        None | Some("!4") | Some("*4") | Some("*") => "0.0.0.0".to_string(),
        Some("!6") | Some("*6") => "::".to_string(),
        Some(h) => h.to_string(),
    };
    let ip = host.parse().map_err(|_| err("PGRST_SERVER_HOST", format!("expected an IP address, got {host:?}")))?;
    Ok(SocketAddr::new(ip, port))
}

pub(super) fn positive(var: &'static str, v: &str) -> Result<u64, ConfigError> {
    match v.trim().parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(err(var, format!("expected a positive integer, got {v:?}"))),
    }
}

pub(super) fn boolean(var: &'static str, v: Option<String>) -> Result<bool, ConfigError> {
    match v.as_deref().map(|s| s.trim().to_ascii_lowercase()) {
        None => Ok(false),
        Some(s) if matches!(s.as_str(), "true" | "1" | "yes" | "on") => Ok(true),
        Some(s) if matches!(s.as_str(), "false" | "0" | "no" | "off" | "") => Ok(false),
        Some(s) => Err(err(var, format!("expected true or false, got {s:?}"))),
    }
}

/// `8s`, `500ms`, `2min`, or a bare number of milliseconds (as Postgres reads it).
pub(super) fn duration(var: &'static str, v: &str) -> Result<Duration, ConfigError> {
    let t = v.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| err(var, format!("expected a duration such as 8s or 500ms, got {v:?}")))?;
    match unit.trim() {
        "" | "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "min" => Ok(Duration::from_secs(n * 60)),
        _ => Err(err(var, format!("expected a duration such as 8s or 500ms, got {v:?}"))),
    }
}

/// `schema.fn` or `fn` (in the default schema).
fn qualified_function(var: &'static str, v: &str, default_schema: &str) -> Result<(String, String), ConfigError> {
    let parts: Vec<&str> = v.split('.').collect();
    let valid = |s: &str| !s.is_empty() && !s.contains('\0');
    match parts.as_slice() {
        [f] if valid(f) => Ok((default_schema.to_string(), f.to_string())),
        [s, f] if valid(s) && valid(f) => Ok((s.to_string(), f.to_string())),
        _ => Err(err(var, format!("expected schema.function, got {v:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn defaults() {
        let c = resolve(&ServeArgs::default(), &no_env).unwrap();
        assert_eq!(c.listen, "127.0.0.1:3000".parse().unwrap());
        assert_eq!(c.schemas, vec!["api"]);
        assert_eq!(c.anon_role.as_deref(), Some("anon"));
        assert_eq!(c.statement_timeout, Duration::from_secs(8));
        assert_eq!(c.pool_size, 10);
        assert_eq!(c.extra_search_path, vec!["public"]);
    }

    #[test]
    fn pgrst_fallbacks_apply_only_when_unset() {
        let env = |k: &str| match k {
            "PGRST_DB_SCHEMAS" => Some("v1, v2".to_string()),
            "PGRST_DB_ANON_ROLE" => Some("web_anon".to_string()),
            "PGRST_SERVER_PORT" => Some("8080".to_string()),
            "PGRST_DB_URI" => Some("postgres://a@localhost/db".to_string()),
            "PGRST_DB_MAX_ROWS" => Some("100".to_string()),
            _ => None,
        };
        let c = resolve(&ServeArgs::default(), &env).unwrap();
        assert_eq!(c.schemas, vec!["v1", "v2"]);
        assert_eq!(c.anon_role.as_deref(), Some("web_anon"));
        assert_eq!(c.listen, "0.0.0.0:8080".parse().unwrap());
        assert_eq!(c.max_rows, Some(100));
        assert!(c.database_url.is_some());
        let own = ServeArgs { db_schemas: Some("api".into()), ..Default::default() };
        assert_eq!(resolve(&own, &env).unwrap().schemas, vec!["api"]);
    }

    #[test]
    fn invalid_values_name_the_variable() {
        let bad = |a: ServeArgs| resolve(&a, &no_env).unwrap_err().to_string();
        assert!(bad(ServeArgs { db_pool: Some("zero".into()), ..Default::default() }).starts_with("ROWGATE_DB_POOL: "));
        assert!(bad(ServeArgs { listen: Some("nope".into()), ..Default::default() }).starts_with("ROWGATE_LISTEN: "));
        assert!(bad(ServeArgs { statement_timeout: Some("5 parsecs".into()), ..Default::default() })
            .starts_with("ROWGATE_STATEMENT_TIMEOUT: "));
        assert!(
            bad(ServeArgs { db_tx_end: Some("maybe".into()), ..Default::default() }).starts_with("ROWGATE_DB_TX_END: ")
        );
        assert!(bad(ServeArgs { database_url: Some("postgres://[bad".into()), ..Default::default() })
            .starts_with("DATABASE_URL: "));
        assert!(bad(ServeArgs { db_schemas: Some("pg_catalog".into()), ..Default::default() })
            .starts_with("ROWGATE_DB_SCHEMAS: "));
    }

    #[test]
    fn tls_settings_come_in_pairs() {
        let both = ServeArgs { tls_cert: Some("/c.pem".into()), tls_key: Some("/k.pem".into()), ..Default::default() };
        let t = resolve(&both, &no_env).unwrap().tls.unwrap();
        assert_eq!(t.listen, "127.0.0.1:3443".parse().unwrap());
        assert_eq!(t.cert, std::path::PathBuf::from("/c.pem"));
        let at = ServeArgs { tls_listen: Some("0.0.0.0:443".into()), ..both.clone() };
        assert_eq!(resolve(&at, &no_env).unwrap().tls.unwrap().listen, "0.0.0.0:443".parse().unwrap());
        assert_eq!(resolve(&ServeArgs::default(), &no_env).unwrap().tls, None);

        let bad = |a: ServeArgs| resolve(&a, &no_env).unwrap_err().to_string();
        assert!(
            bad(ServeArgs { tls_cert: Some("/c.pem".into()), ..Default::default() }).starts_with("ROWGATE_TLS_KEY: ")
        );
        assert!(
            bad(ServeArgs { tls_key: Some("/k.pem".into()), ..Default::default() }).starts_with("ROWGATE_TLS_CERT: ")
        );
        assert!(bad(ServeArgs { tls_listen: Some(":443".into()), ..Default::default() })
            .starts_with("ROWGATE_TLS_LISTEN: "));
        assert!(bad(ServeArgs { tls_listen: Some("nowhere".into()), ..both }).starts_with("ROWGATE_TLS_LISTEN: "));
    }

    #[test]
    fn database_url_accepts_libpq_sslmodes() {
        let url = |u: &str| ServeArgs { database_url: Some(u.into()), ..Default::default() };
        assert!(resolve(&url("postgres://a@db/app?sslmode=verify-full&sslrootcert=/ca.pem"), &no_env).is_ok());
        assert!(resolve(&url("host=db user=a sslmode=verify-ca"), &no_env).is_ok());
        let e = resolve(&url("postgres://a@db/app?sslmode=strict"), &no_env).unwrap_err().to_string();
        assert!(e.starts_with("DATABASE_URL: sslmode must be"), "{e}");
    }

    #[test]
    fn empty_anon_role_disables_anonymous() {
        let c = resolve(&ServeArgs { db_anon_role: Some(String::new()), ..Default::default() }, &no_env).unwrap();
        assert_eq!(c.anon_role, None);
    }

    #[test]
    fn maintenance_interval() {
        let with =
            |v: &str| resolve(&ServeArgs { maintenance_interval: Some(v.into()), ..Default::default() }, &no_env);
        assert_eq!(
            resolve(&ServeArgs::default(), &no_env).unwrap().maintenance_interval,
            Some(Duration::from_secs(600))
        );
        assert_eq!(with("2min").unwrap().maintenance_interval, Some(Duration::from_secs(120)));
        assert_eq!(with("off").unwrap().maintenance_interval, None);
        assert!(with("500ms").unwrap_err().to_string().starts_with("ROWGATE_MAINTENANCE_INTERVAL: at least 1s"));
        assert!(with("often").unwrap_err().to_string().starts_with("ROWGATE_MAINTENANCE_INTERVAL: "));
    }

    #[test]
    fn durations() {
        assert_eq!(duration("X", "500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(duration("X", "2min").unwrap(), Duration::from_secs(120));
        assert_eq!(duration("X", "250").unwrap(), Duration::from_millis(250));
    }
}

//! Read replicas (`ROWGATE_DB_READ_URL`): where reads may go and how stale they may be.

use std::time::Duration;

use super::parse::{database_url, duration, err};
use super::{ConfigError, ServeArgs};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaSettings {
    /// One connection string per replica (each gets a pool of `ROWGATE_DB_POOL` connections).
    pub urls: Vec<String>,
    /// A replica further behind the primary than this serves no reads.
    pub max_lag: Duration,
    /// How long after a write its subject's reads wait for a replica to have replayed it.
    pub read_your_writes: Duration,
}

impl Default for ReplicaSettings {
    fn default() -> Self {
        ReplicaSettings { urls: Vec::new(), max_lag: Duration::from_secs(5), read_your_writes: Duration::from_secs(15) }
    }
}

pub(super) fn resolve(a: &ServeArgs) -> Result<ReplicaSettings, ConfigError> {
    let mut settings = ReplicaSettings::default();
    if let Some(raw) = &a.db_read_url {
        for url in split_urls(raw) {
            let url = database_url(Some(url)).map_err(|e| err("ROWGATE_DB_READ_URL", e.problem))?;
            settings.urls.extend(url);
        }
    }
    if let Some(v) = &a.db_read_max_lag {
        settings.max_lag = duration("ROWGATE_DB_READ_MAX_LAG", v)?;
    }
    if let Some(v) = &a.db_read_your_writes {
        settings.read_your_writes = duration("ROWGATE_DB_READ_YOUR_WRITES", v)?;
    }
    // After the window a subject's reads may go to any replica within the lag limit, so the
    // window must outlast that lag (plus a sampling period).
    if settings.read_your_writes <= settings.max_lag + Duration::from_secs(1) {
        return Err(err(
            "ROWGATE_DB_READ_YOUR_WRITES",
            format!(
                "must exceed ROWGATE_DB_READ_MAX_LAG ({:?}) by more than a second, got {:?}",
                settings.max_lag, settings.read_your_writes
            ),
        ));
    }
    Ok(settings)
}

/// Connection strings separated by `;` (or new lines); URLs may also be separated by commas or
/// spaces — a new one starts at each `postgres://` / `postgresql://`, so a comma inside a URL's
/// host list or query stays where it is. A `key=value` string is one replica.
fn split_urls(raw: &str) -> Vec<String> {
    let is_url = |p: &str| p.starts_with("postgres://") || p.starts_with("postgresql://");
    let mut out = Vec::new();
    for item in raw.split([';', '\n']).map(str::trim).filter(|p| !p.is_empty()) {
        if !is_url(item) {
            out.push(item.to_string());
            continue;
        }
        let mut urls: Vec<String> = Vec::new();
        for part in item.split([',', ' ']).map(str::trim).filter(|p| !p.is_empty()) {
            match urls.last_mut() {
                Some(last) if !is_url(part) => {
                    last.push(',');
                    last.push_str(part);
                }
                _ => urls.push(part.to_string()),
            }
        }
        out.extend(urls);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_of_urls() {
        assert_eq!(
            split_urls("postgres://a/db, postgresql://b:5433/db?sslmode=require postgres://c/db"),
            vec!["postgres://a/db", "postgresql://b:5433/db?sslmode=require", "postgres://c/db"]
        );
        assert!(split_urls("  ").is_empty());
        assert_eq!(
            split_urls("host=/run/pg port=5433 user=authenticator dbname=app; postgres://b/app"),
            vec!["host=/run/pg port=5433 user=authenticator dbname=app", "postgres://b/app"]
        );
    }

    #[test]
    fn settings_and_their_one_line_errors() {
        let args = |url: &str, lag: Option<&str>, ryw: Option<&str>| ServeArgs {
            db_read_url: Some(url.into()),
            db_read_max_lag: lag.map(Into::into),
            db_read_your_writes: ryw.map(Into::into),
            ..Default::default()
        };
        let s = resolve(&args("postgres://r1/app,postgres://r2/app", Some("2s"), None)).unwrap();
        assert_eq!(s.urls.len(), 2);
        assert_eq!((s.max_lag, s.read_your_writes), (Duration::from_secs(2), Duration::from_secs(15)));
        let e = resolve(&args("postgres://r1/app", Some("20s"), None)).unwrap_err();
        assert_eq!(e.var, "ROWGATE_DB_READ_YOUR_WRITES");
        let e = resolve(&args("postgres://r1/app?sslmode=bogus", None, None)).unwrap_err();
        assert_eq!(e.var, "ROWGATE_DB_READ_URL");
    }
}

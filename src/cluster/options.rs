//! How a cluster is configured: [`ClusterOptions`], the `rowgate.conf` written from them into
//! the data directory (and included once from `postgresql.conf`), and the quoting of
//! postgresql.conf values and libpq connection strings.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::dirs::{chown_to, set_mode};
use super::error::io_err;
use super::{Cluster, ClusterError};

/// Default PostgreSQL port (also the unix socket file name suffix).
pub const DEFAULT_PORT: u16 = 5432;

const CONF_FILE: &str = "rowgate.conf";
const INCLUDE_LINE: &str = "include_if_exists = 'rowgate.conf'";

/// What realtime's change capture needs (docs/realtime.md): logical decoding, room for one
/// replication slot and walsender per rowgate instance (and tools), and a cap on the WAL a
/// stalled slot may keep (beyond it the slot is invalidated; rowgate recreates it and tells
/// clients to rejoin).
pub fn logical_decoding() -> Vec<(String, String)> {
    [
        ("wal_level", "logical"),
        ("max_replication_slots", "20"),
        ("max_wal_senders", "20"),
        ("max_slot_wal_keep_size", "1GB"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// How to run a cluster.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// The PGDATA directory.
    pub data_dir: PathBuf,
    /// Unix socket directory. With `tcp_port == None`, `listen_addresses = ''` (no TCP).
    pub socket_dir: PathBuf,
    /// When `Some(p)`: also listen on 127.0.0.1:p (and use p as the socket port).
    pub tcp_port: Option<u16>,
    /// Throwaway mode: fsync=off, synchronous_commit=off, full_page_writes=off.
    pub fast: bool,
    /// Extra postgresql.conf settings, e.g. `("max_connections", "200")`. Values are written
    /// as quoted strings (do not quote them yourself).
    pub extra_conf: Vec<(String, String)>,
    /// Port number of the unix socket (`.s.PGSQL.<port>`) when `tcp_port` is `None`;
    /// default 5432. Ignored when `tcp_port` is set.
    pub socket_port: Option<u16>,
    /// Server log file; default `<parent of data_dir>/postgres.log`.
    pub log_file: Option<PathBuf>,
}

impl ClusterOptions {
    /// Unix-socket-only, durable cluster on the default port.
    pub fn new(data_dir: impl Into<PathBuf>, socket_dir: impl Into<PathBuf>) -> Self {
        ClusterOptions {
            data_dir: data_dir.into(),
            socket_dir: socket_dir.into(),
            tcp_port: None,
            fast: false,
            extra_conf: Vec::new(),
            socket_port: None,
            log_file: None,
        }
    }

    /// The port the server is configured with.
    pub fn port(&self) -> u16 {
        self.tcp_port.or(self.socket_port).unwrap_or(DEFAULT_PORT)
    }

    /// The log file path (explicit or default).
    pub fn log_path(&self) -> PathBuf {
        self.log_file.clone().unwrap_or_else(|| match self.data_dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.join("postgres.log"),
            _ => self.data_dir.join("postgres.log"),
        })
    }

    pub(super) fn absolutized(&self) -> Result<Self, ClusterError> {
        let abs = |p: &Path| std::path::absolute(p).map_err(io_err(format!("invalid path {}", p.display())));
        Ok(ClusterOptions {
            data_dir: abs(&self.data_dir)?,
            socket_dir: abs(&self.socket_dir)?,
            log_file: Some(abs(&self.log_path())?),
            ..self.clone()
        })
    }

    /// Contents of `rowgate.conf`.
    pub(super) fn conf_text(&self) -> Result<String, ClusterError> {
        let mut s = String::from("# Managed by rowgate; rewritten whenever rowgate starts this cluster.\n");
        let listen = if self.tcp_port.is_some() { "127.0.0.1" } else { "" };
        let mut settings: Vec<(&str, String)> = vec![
            ("listen_addresses", listen.to_string()),
            ("port", self.port().to_string()),
            ("unix_socket_directories", self.socket_dir.to_string_lossy().into_owned()),
        ];
        if self.fast {
            for k in ["fsync", "synchronous_commit", "full_page_writes"] {
                settings.push((k, "off".to_string()));
            }
        }
        for (k, v) in &self.extra_conf {
            settings.push((k.as_str(), v.clone()));
        }
        for (k, v) in settings {
            if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') {
                return Err(ClusterError::BadSetting(k.to_string()));
            }
            let _ = writeln!(s, "{k} = {}", conf_quote(&v));
        }
        Ok(s)
    }
}

/// Quotes a postgresql.conf value as a string literal.
fn conf_quote(v: &str) -> String {
    let mut out = String::with_capacity(v.len() + 2);
    out.push('\'');
    for c in v.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Quotes a libpq keyword/value connection-string value when needed.
pub(super) fn conninfo_quote(v: &str) -> String {
    if !v.is_empty() && !v.chars().any(|c| c.is_whitespace() || c == '\'' || c == '\\') {
        return v.to_string();
    }
    let mut out = String::from("'");
    for c in v.chars() {
        if c == '\'' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

impl Cluster {
    /// Makes postgresql.conf include rowgate.conf (once).
    pub(super) fn ensure_include(&self) -> Result<(), ClusterError> {
        let conf = self.data_dir().join("postgresql.conf");
        let text = std::fs::read_to_string(&conf).map_err(io_err(format!("could not read {}", conf.display())))?;
        if text.lines().any(|l| l.trim() == INCLUDE_LINE) {
            return Ok(());
        }
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&conf)
            .map_err(io_err(format!("could not open {}", conf.display())))?;
        let sep = if text.ends_with('\n') || text.is_empty() { "" } else { "\n" };
        write!(f, "{sep}\n# Settings managed by rowgate\n{INCLUDE_LINE}\n")
            .map_err(io_err(format!("could not write {}", conf.display())))
    }

    pub(super) fn write_conf(&self) -> Result<(), ClusterError> {
        let path = self.data_dir().join(CONF_FILE);
        let text = self.options.conf_text()?;
        std::fs::write(&path, text).map_err(io_err(format!("could not write {}", path.display())))?;
        chown_to(&path, self.run_as.as_ref())?;
        set_mode(&path, 0o600)
    }
}

//! Why a cluster could not be found, prepared, started or stopped: one `thiserror` enum whose
//! messages are single lines an operator can act on (they reach the terminal as they are).

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "no PostgreSQL server binaries found (looked for initdb/pg_ctl on PATH and in {searched}); install them, e.g. apt-get install postgresql"
    )]
    NoBinaries { searched: String },
    #[error(
        "as root, PostgreSQL runs as the 'postgres' OS user, which does not exist; create it (e.g. useradd --system --home-dir /var/lib/postgresql postgres) or set DATABASE_URL"
    )]
    NoPostgresUser,
    #[error("could not look up the 'postgres' OS user: {0}")]
    UserLookup(#[source] nix::Error),
    #[error(
        "the postgres user cannot reach {path} (directory {blocker} is not traversable by it); chmod o+x {blocker}, use a directory outside it, or set DATABASE_URL"
    )]
    NotReachable { path: PathBuf, blocker: PathBuf },
    #[error("unix socket path {path} is {len} bytes, over the {max}-byte limit; use a shorter socket directory")]
    SocketPathTooLong { path: PathBuf, len: usize, max: usize },
    #[error(
        "{0} is not empty but has no PG_VERSION, so it is not a PostgreSQL data directory; empty it or choose another directory"
    )]
    NotADataDir(PathBuf),
    #[error("pg_basebackup failed: {0}")]
    Replica(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: io::Error,
    },
    #[error("could not run {program}: {source}")]
    Spawn {
        program: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{program} did not finish within {secs} s")]
    Timeout { program: PathBuf, secs: u64 },
    #[error("initdb failed for {data_dir} ({status}): {output}")]
    InitDb { data_dir: PathBuf, status: String, output: String },
    #[error(
        "PostgreSQL failed to start (data directory {data_dir}, port {port}): {output}; last lines of {log_file}:\n{log_tail}"
    )]
    Start { data_dir: PathBuf, log_file: PathBuf, port: u16, output: String, log_tail: String },
    #[error("pg_ctl stop failed for {data_dir} ({status}): {output}")]
    Stop { data_dir: PathBuf, status: String, output: String },
    #[error("no usable port found for PostgreSQL after {0} attempts")]
    NoFreePort(u32),
    #[error("invalid postgresql.conf setting name {0:?} (use letters, digits, '_' and '.')")]
    BadSetting(String),
    #[error("could not start the cleanup process for {data_dir}: {source}")]
    Reaper {
        data_dir: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl ClusterError {
    /// True when a start failed because the port / socket file was taken.
    pub fn is_port_in_use(&self) -> bool {
        match self {
            ClusterError::Start { log_tail, output, .. } => {
                let text = format!("{output}\n{log_tail}");
                text.contains("already in use") || text.contains("using socket file")
            }
            _ => false,
        }
    }
}

pub(super) fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> ClusterError {
    let what = what.into();
    move |source| ClusterError::Io { what, source }
}

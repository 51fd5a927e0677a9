//! Management of private PostgreSQL clusters: processes, directories and signals, apart from
//! the request path (`db/` talks to whatever PostgreSQL `DATABASE_URL` names; this folder
//! starts one when there is none, and for the tests).
//!
//! Two users of this module:
//! * `rowgate` without `DATABASE_URL` starts an embedded, persistent cluster under
//!   `<cwd>/.rowgate/` ([`start_embedded`], used by [`embedded::start`]);
//! * the integration-test harness starts throwaway clusters in a temp dir that are torn down
//!   when the test process exits, however it exits ([`start_throwaway`]).
//!
//! PostgreSQL refuses to run as root, so when we are root every server binary is run as the
//! `postgres` OS user (uid/gid switched in the child; supplementary groups are dropped by
//! `std::process::Command`, so only the primary group counts for directory access).
//!
//! Settings are kept in `rowgate.conf` inside the data directory; `postgresql.conf` includes it
//! (`include_if_exists`, added right after initdb). `rowgate.conf` is rewritten on every start
//! that actually starts the server, so port/socket changes take effect; a running cluster is
//! reused as is, and its real port and socket directory are read from `postmaster.pid`.
//!
//! One file per concern: `binaries` (finding initdb/pg_ctl), `dirs` (the server's OS user,
//! directory ownership and reachability, the socket path), `options` (`ClusterOptions`,
//! `rowgate.conf`, quoting), `process` (initdb, start, stop, adopting a running cluster),
//! `reaper` (cleanup after the process exits), `throwaway` (test clusters), `replica` (a
//! streaming standby of a test cluster), `embedded` (the
//! no-`DATABASE_URL` default: its cluster, migrations, demo and secrets), `error`.

mod binaries;
mod dirs;
pub mod embedded;
mod error;
mod options;
mod process;
mod reaper;
mod replica;
mod throwaway;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

pub use binaries::{PgBinaries, VERSIONED_BIN_ROOT};
pub use dirs::{MAX_SOCKET_PATH, POSTGRES_OS_USER};
pub use embedded::{start_embedded, ROOT_FALLBACK_BASE};
pub use error::ClusterError;
pub use options::{logical_decoding, ClusterOptions, DEFAULT_PORT};
pub use replica::start_replica_of;
pub use throwaway::{start_throwaway, start_throwaway_on, start_throwaway_with};

use dirs::RunAs;
use options::conninfo_quote;

/// A PostgreSQL cluster we started or found running.
#[derive(Debug)]
pub struct Cluster {
    binaries: PgBinaries,
    options: ClusterOptions,
    run_as: Option<RunAs>,
    started_by_us: bool,
    port: u16,
    socket_dir: PathBuf,
}

impl Cluster {
    pub fn started_by_us(&self) -> bool {
        self.started_by_us
    }

    /// Connection string over the unix socket, e.g.
    /// `host=/abs/socket/dir port=5432 user=postgres dbname=postgres`.
    pub fn conn_string(&self, user: &str, dbname: &str) -> String {
        format!(
            "host={} port={} user={} dbname={}",
            conninfo_quote(&self.socket_dir.to_string_lossy()),
            self.port,
            conninfo_quote(user),
            conninfo_quote(dbname)
        )
    }

    /// Port number (socket file `.s.PGSQL.<port>`); for a reused cluster, the one it runs on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Unix socket directory actually in use.
    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    pub fn data_dir(&self) -> &Path {
        &self.options.data_dir
    }

    pub fn log_file(&self) -> PathBuf {
        self.options.log_path()
    }

    pub fn options(&self) -> &ClusterOptions {
        &self.options
    }

    pub fn binaries(&self) -> &PgBinaries {
        &self.binaries
    }
}

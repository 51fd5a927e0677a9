//! Management of private PostgreSQL clusters.
//!
//! Two users of this module:
//! * `rowgate` without `DATABASE_URL` starts an embedded, persistent cluster under
//!   `<cwd>/.rowgate/` ([`start_embedded`]);
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

pub mod embedded;

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tracing::{debug, info, warn};

/// Default PostgreSQL port (also the unix socket file name suffix).
pub const DEFAULT_PORT: u16 = 5432;
/// Longest unix socket path we accept (the kernel limit is 107 bytes plus NUL).
pub const MAX_SOCKET_PATH: usize = 100;
/// Root under which versioned server binaries are looked for (`<root>/<version>/bin`).
pub const VERSIONED_BIN_ROOT: &str = "/usr/lib/postgresql";
/// Fallback base for the embedded cluster when running as root and the cwd is not reachable
/// by the postgres user.
pub const ROOT_FALLBACK_BASE: &str = "/var/lib/rowgate";
/// OS user that runs PostgreSQL when we are root.
pub const POSTGRES_OS_USER: &str = "postgres";

const CONF_FILE: &str = "rowgate.conf";
const INCLUDE_LINE: &str = "include_if_exists = 'rowgate.conf'";
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);
const START_WAIT_SECS: u32 = 60;
const LOG_TAIL_LINES: usize = 20;
const PORT_ATTEMPTS: u32 = 8;

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

fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> ClusterError {
    let what = what.into();
    move |source| ClusterError::Io { what, source }
}

// ---------------------------------------------------------------------------------------------
// Binaries

/// Directory holding the PostgreSQL server binaries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgBinaries {
    /// Contains `initdb`, `pg_ctl` and `postgres`.
    pub dir: PathBuf,
}

impl PgBinaries {
    /// PATH first (a directory on PATH with both `initdb` and `pg_ctl`, symlinks resolved),
    /// then `/usr/lib/postgresql/<version>/bin` with the highest numeric version.
    pub fn find() -> Result<Self, ClusterError> {
        let path_dirs: Vec<PathBuf> =
            std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
        Self::find_in(&path_dirs, &[PathBuf::from(VERSIONED_BIN_ROOT)])
    }

    /// Search `path_dirs` (like PATH) and then `<root>/<version>/bin` for each versioned root.
    pub fn find_in(path_dirs: &[PathBuf], versioned_roots: &[PathBuf]) -> Result<Self, ClusterError> {
        for dir in path_dirs {
            if !(is_executable(&dir.join("initdb")) && is_executable(&dir.join("pg_ctl"))) {
                continue;
            }
            // Resolve symlinks (e.g. /usr/local/bin/initdb -> /usr/lib/postgresql/15/bin/initdb);
            // the real directory must hold the whole set.
            let real_dir =
                std::fs::canonicalize(dir.join("initdb")).ok().and_then(|real| real.parent().map(Path::to_path_buf));
            if let Some(real_dir) = real_dir.filter(|d| has_server_binaries(d)) {
                return Ok(PgBinaries { dir: real_dir });
            }
            if has_server_binaries(dir) {
                return Ok(PgBinaries { dir: dir.clone() });
            }
        }
        let mut best: Option<(Vec<u64>, PathBuf)> = None;
        for root in versioned_roots {
            let Ok(entries) = std::fs::read_dir(root) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let Some(version) = parse_version(&name) else {
                    continue;
                };
                let bin = entry.path().join("bin");
                if has_server_binaries(&bin) && best.as_ref().is_none_or(|(v, _)| version > *v) {
                    best = Some((version, bin));
                }
            }
        }
        if let Some((_, dir)) = best {
            return Ok(PgBinaries { dir });
        }
        let searched = if versioned_roots.is_empty() {
            "no versioned directories".to_string()
        } else {
            versioned_roots.iter().map(|r| format!("{}/*/bin", r.display())).collect::<Vec<_>>().join(", ")
        };
        Err(ClusterError::NoBinaries { searched })
    }

    pub fn initdb(&self) -> PathBuf {
        self.dir.join("initdb")
    }

    pub fn pg_ctl(&self) -> PathBuf {
        self.dir.join("pg_ctl")
    }

    pub fn postgres(&self) -> PathBuf {
        self.dir.join("postgres")
    }
}

fn parse_version(name: &OsStr) -> Option<Vec<u64>> {
    let s = name.to_str()?;
    s.split('.').map(|p| p.parse::<u64>().ok()).collect()
}

fn is_executable(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn has_server_binaries(dir: &Path) -> bool {
    ["initdb", "pg_ctl", "postgres"].iter().all(|b| is_executable(&dir.join(b)))
}

// ---------------------------------------------------------------------------------------------
// Who runs PostgreSQL

/// The OS user the server binaries run as, when different from us (i.e. when we are root).
#[derive(Debug, Clone)]
struct RunAs {
    uid: u32,
    gid: u32,
    name: String,
    home: PathBuf,
}

/// `Ok(None)`: run binaries as ourselves. `Ok(Some)`: we are root, run them as `postgres`.
fn current_run_as() -> Result<Option<RunAs>, ClusterError> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(None);
    }
    let user = nix::unistd::User::from_name(POSTGRES_OS_USER)
        .map_err(ClusterError::UserLookup)?
        .ok_or(ClusterError::NoPostgresUser)?;
    Ok(Some(RunAs { uid: user.uid.as_raw(), gid: user.gid.as_raw(), name: user.name, home: user.dir }))
}

/// Can a process with this uid/primary gid search (`x`) the directory described by `meta`?
fn traversable(meta: &std::fs::Metadata, uid: u32, gid: u32) -> bool {
    if uid == 0 {
        return true;
    }
    let mode = meta.mode();
    if meta.uid() == uid {
        mode & 0o100 != 0
    } else if meta.gid() == gid {
        mode & 0o010 != 0
    } else {
        mode & 0o001 != 0
    }
}

/// Checks that `user` can reach `path` (which need not exist yet): every existing directory
/// on the way must be traversable. Missing components will be created by us with mode 0755.
/// Returns the first blocking directory.
fn find_blocker(path: &Path, user: &RunAs) -> Option<PathBuf> {
    // Deepest existing ancestor (or path itself), canonicalized so symlinks are followed.
    let mut existing = path;
    loop {
        if existing.exists() {
            break;
        }
        existing = existing.parent()?;
    }
    let real = std::fs::canonicalize(existing).ok()?;
    // `path` itself does not need to be traversable when it is a file or when we will chown it;
    // check the ancestors of the canonical existing part, plus that part if it is a strict
    // ancestor of `path`.
    let mut dirs: Vec<&Path> = real.ancestors().skip(1).collect();
    if existing != path {
        dirs.push(&real);
    }
    for dir in dirs.into_iter().rev() {
        match std::fs::metadata(dir) {
            Ok(m) if m.is_dir() && !traversable(&m, user.uid, user.gid) => {
                return Some(dir.to_path_buf());
            }
            _ => {}
        }
    }
    None
}

fn check_reachable(path: &Path, user: Option<&RunAs>) -> Result<(), ClusterError> {
    match user.and_then(|u| find_blocker(path, u)) {
        Some(blocker) => Err(ClusterError::NotReachable { path: path.to_path_buf(), blocker }),
        None => Ok(()),
    }
}

/// Creates missing ancestors of `dir` with mode 0755 (umask-independent).
fn create_parents(dir: &Path) -> Result<(), ClusterError> {
    let Some(parent) = dir.parent() else {
        return Ok(());
    };
    let missing: Vec<&Path> = parent.ancestors().take_while(|p| !p.exists()).collect();
    for p in missing.into_iter().rev() {
        match std::fs::DirBuilder::new().mode(0o755).create(p) {
            Ok(()) => set_mode(p, 0o755)?,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(io_err(format!("could not create directory {}", p.display()))(e));
            }
        }
    }
    Ok(())
}

fn set_mode(p: &Path, mode: u32) -> Result<(), ClusterError> {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).map_err(io_err(format!(
        "could not chmod {:o} {}",
        mode,
        p.display()
    )))
}

fn chown_to(p: &Path, user: Option<&RunAs>) -> Result<(), ClusterError> {
    if let Some(u) = user {
        std::os::unix::fs::chown(p, Some(u.uid), Some(u.gid)).map_err(io_err(format!(
            "could not chown {} to {}",
            p.display(),
            u.name
        )))?;
    }
    Ok(())
}

/// Creates `dir` (and parents) if needed, owned by the server user, with `mode`.
fn prepare_private_dir(dir: &Path, user: Option<&RunAs>, mode: u32) -> Result<(), ClusterError> {
    create_parents(dir)?;
    match std::fs::DirBuilder::new().mode(mode).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => {
            return Err(io_err(format!("could not create directory {}", dir.display()))(e));
        }
    }
    // Only adjust directories that are not already a PostgreSQL cluster we might not own.
    if !dir.join("PG_VERSION").exists() {
        chown_to(dir, user)?;
        set_mode(dir, mode)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Options and cluster

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

    fn absolutized(&self) -> Result<Self, ClusterError> {
        let abs = |p: &Path| std::path::absolute(p).map_err(io_err(format!("invalid path {}", p.display())));
        Ok(ClusterOptions {
            data_dir: abs(&self.data_dir)?,
            socket_dir: abs(&self.socket_dir)?,
            log_file: Some(abs(&self.log_path())?),
            ..self.clone()
        })
    }

    /// Contents of `rowgate.conf`.
    fn conf_text(&self) -> Result<String, ClusterError> {
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
fn conninfo_quote(v: &str) -> String {
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
    /// initdb (superuser "postgres", auth trust, UTF8, locale C) if `data_dir` has no
    /// PG_VERSION, then start it with `pg_ctl -w` unless it is already running (then it is
    /// reused and `started_by_us()` is false).
    pub async fn start(opts: ClusterOptions) -> Result<Cluster, ClusterError> {
        let binaries = PgBinaries::find()?;
        let run_as = current_run_as()?;
        Self::start_with(binaries, run_as, opts).await
    }

    async fn start_with(
        binaries: PgBinaries,
        run_as: Option<RunAs>,
        opts: ClusterOptions,
    ) -> Result<Cluster, ClusterError> {
        let opts = opts.absolutized()?;
        let log_file = opts.log_path();
        check_socket_len(&opts.socket_dir, opts.port())?;
        for p in [&opts.data_dir, &opts.socket_dir, &log_file] {
            check_reachable(p, run_as.as_ref())?;
        }
        let mut cluster = Cluster {
            port: opts.port(),
            socket_dir: opts.socket_dir.clone(),
            binaries,
            options: opts,
            run_as,
            started_by_us: false,
        };
        let data_dir = cluster.options.data_dir.clone();
        prepare_private_dir(&data_dir, cluster.run_as.as_ref(), 0o700)?;
        prepare_private_dir(&cluster.options.socket_dir, cluster.run_as.as_ref(), 0o700)?;

        if !data_dir.join("PG_VERSION").exists() {
            cluster.initdb().await?;
        } else if cluster.is_running().await? {
            cluster.adopt_running();
            info!(data_dir = %data_dir.display(), port = cluster.port, "reusing running PostgreSQL cluster");
            return Ok(cluster);
        }
        cluster.ensure_include()?;
        cluster.write_conf()?;
        cluster.prepare_log_file(&log_file)?;

        match cluster.pg_ctl_start(&log_file).await {
            Ok(()) => {
                cluster.started_by_us = true;
                info!(data_dir = %data_dir.display(), port = cluster.port, "started PostgreSQL cluster");
                Ok(cluster)
            }
            Err(e) => {
                // Someone else (another process) may have started it concurrently.
                if !e.is_port_in_use() && cluster.is_running().await.unwrap_or(false) {
                    cluster.adopt_running();
                    info!(data_dir = %data_dir.display(), "PostgreSQL cluster was started concurrently; reusing it");
                    return Ok(cluster);
                }
                Err(e)
            }
        }
    }

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

    /// `pg_ctl stop -m fast`, only if we started the cluster (otherwise a no-op).
    pub async fn stop(&self) -> Result<(), ClusterError> {
        if !self.started_by_us {
            debug!(data_dir = %self.data_dir().display(), "not stopping PostgreSQL cluster we did not start");
            return Ok(());
        }
        self.force_stop().await
    }

    /// `pg_ctl stop -m fast`, whoever started the cluster. Not running is not an error.
    pub async fn force_stop(&self) -> Result<(), ClusterError> {
        let data_dir = self.data_dir().to_path_buf();
        let wait = START_WAIT_SECS.to_string();
        let out = self
            .run(
                &self.binaries.pg_ctl(),
                &[
                    OsStr::new("stop"),
                    OsStr::new("-D"),
                    data_dir.as_os_str(),
                    OsStr::new("-m"),
                    OsStr::new("fast"),
                    OsStr::new("-w"),
                    OsStr::new("-t"),
                    OsStr::new(&wait),
                ],
            )
            .await?;
        if out.status.success() || !self.is_running().await.unwrap_or(true) {
            info!(data_dir = %data_dir.display(), "stopped PostgreSQL cluster");
            return Ok(());
        }
        Err(ClusterError::Stop { data_dir, status: status_text(out.status), output: condense(&out) })
    }

    /// Spawns a detached reaper (own session, survives us) that waits until the current
    /// process exits for any reason (including kill -9), then stops the cluster with
    /// `pg_ctl stop -m immediate` and removes `remove_dir` (if given).
    pub fn stop_when_process_exits(&self, remove_dir: Option<&Path>) -> Result<(), ClusterError> {
        spawn_reaper(std::process::id(), &self.binaries, self.run_as.as_ref(), self.data_dir(), remove_dir)
    }

    // --- internals ---

    fn adopt_running(&mut self) {
        self.started_by_us = false;
        if let Some((port, socket_dir)) = read_postmaster_pid(self.data_dir()) {
            self.port = port;
            if let Some(dir) = socket_dir {
                self.socket_dir = dir;
            }
        }
    }

    fn command(&self, program: &Path) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(program);
        cmd.current_dir("/")
            .env("LC_ALL", "C")
            .env_remove("PGDATA")
            .env_remove("PGPORT")
            .env_remove("PGHOST")
            .env_remove("PGOPTIONS")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(u) = &self.run_as {
            cmd.uid(u.uid)
                .gid(u.gid)
                .env("HOME", &u.home)
                .env("USER", &u.name)
                .env("LOGNAME", &u.name)
                .env("PGUSER", &u.name);
        }
        cmd
    }

    async fn run(&self, program: &Path, args: &[&OsStr]) -> Result<Output, ClusterError> {
        debug!(program = %program.display(), ?args, "running");
        let child = self.command(program).args(args).output();
        match tokio::time::timeout(COMMAND_TIMEOUT, child).await {
            Ok(Ok(out)) => Ok(out),
            Ok(Err(source)) => Err(ClusterError::Spawn { program: program.to_path_buf(), source }),
            Err(_) => Err(ClusterError::Timeout { program: program.to_path_buf(), secs: COMMAND_TIMEOUT.as_secs() }),
        }
    }

    async fn is_running(&self) -> Result<bool, ClusterError> {
        let out = self
            .run(&self.binaries.pg_ctl(), &[OsStr::new("status"), OsStr::new("-D"), self.data_dir().as_os_str()])
            .await?;
        Ok(out.status.success())
    }

    async fn initdb(&self) -> Result<(), ClusterError> {
        let data_dir = self.data_dir().to_path_buf();
        let non_empty = std::fs::read_dir(&data_dir).map(|mut d| d.next().is_some()).unwrap_or(false);
        if non_empty {
            return Err(ClusterError::NotADataDir(data_dir));
        }
        info!(data_dir = %data_dir.display(), "initializing PostgreSQL cluster (initdb)");
        let mut args: Vec<&OsStr> = vec![
            OsStr::new("-D"),
            data_dir.as_os_str(),
            OsStr::new("-U"),
            OsStr::new("postgres"),
            OsStr::new("--auth=trust"),
            OsStr::new("--encoding=UTF8"),
            OsStr::new("--locale=C"),
        ];
        if self.options.fast {
            args.push(OsStr::new("--no-sync"));
        }
        let out = self.run(&self.binaries.initdb(), &args).await?;
        if !out.status.success() {
            return Err(ClusterError::InitDb { data_dir, status: status_text(out.status), output: condense(&out) });
        }
        Ok(())
    }

    /// Makes postgresql.conf include rowgate.conf (once).
    fn ensure_include(&self) -> Result<(), ClusterError> {
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

    fn write_conf(&self) -> Result<(), ClusterError> {
        let path = self.data_dir().join(CONF_FILE);
        let text = self.options.conf_text()?;
        std::fs::write(&path, text).map_err(io_err(format!("could not write {}", path.display())))?;
        chown_to(&path, self.run_as.as_ref())?;
        set_mode(&path, 0o600)
    }

    fn prepare_log_file(&self, log_file: &Path) -> Result<(), ClusterError> {
        create_parents(log_file)?;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_file)
            .map_err(io_err(format!("could not create log file {}", log_file.display())))?;
        if let Some(u) = &self.run_as {
            let meta = std::fs::metadata(log_file).map_err(io_err(format!("could not stat {}", log_file.display())))?;
            if meta.uid() != u.uid {
                chown_to(log_file, self.run_as.as_ref())?;
            }
        }
        Ok(())
    }

    async fn pg_ctl_start(&self, log_file: &Path) -> Result<(), ClusterError> {
        let wait = START_WAIT_SECS.to_string();
        let start_len = std::fs::metadata(log_file).map(|m| m.len()).unwrap_or(0);
        let out = self
            .run(
                &self.binaries.pg_ctl(),
                &[
                    OsStr::new("start"),
                    OsStr::new("-D"),
                    self.data_dir().as_os_str(),
                    OsStr::new("-w"),
                    OsStr::new("-t"),
                    OsStr::new(&wait),
                    OsStr::new("-l"),
                    log_file.as_os_str(),
                ],
            )
            .await?;
        if out.status.success() {
            return Ok(());
        }
        Err(ClusterError::Start {
            data_dir: self.data_dir().to_path_buf(),
            log_file: log_file.to_path_buf(),
            port: self.port,
            output: condense(&out),
            log_tail: log_tail(log_file, start_len, LOG_TAIL_LINES),
        })
    }
}

fn check_socket_len(socket_dir: &Path, port: u16) -> Result<(), ClusterError> {
    let path = socket_path(socket_dir, port);
    let len = path.as_os_str().len();
    if len > MAX_SOCKET_PATH {
        return Err(ClusterError::SocketPathTooLong { path, len, max: MAX_SOCKET_PATH });
    }
    Ok(())
}

fn socket_path(socket_dir: &Path, port: u16) -> PathBuf {
    socket_dir.join(format!(".s.PGSQL.{port}"))
}

/// Port (line 4) and first socket directory (line 5) of a running cluster.
fn read_postmaster_pid(data_dir: &Path) -> Option<(u16, Option<PathBuf>)> {
    let text = std::fs::read_to_string(data_dir.join("postmaster.pid")).ok()?;
    let lines: Vec<&str> = text.lines().collect();
    let port = lines.get(3)?.trim().parse().ok()?;
    let dir = lines.get(4).map(|l| l.trim()).filter(|l| !l.is_empty()).map(PathBuf::from);
    Some((port, dir))
}

fn status_text(s: ExitStatus) -> String {
    match s.code() {
        Some(c) => format!("exit code {c}"),
        None => format!("{s}"),
    }
}

/// Last few non-empty output lines on one line.
fn condense(out: &Output) -> String {
    let text = format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let start = lines.len().saturating_sub(6);
    let s = lines[start..].join(" | ");
    if s.is_empty() {
        "no output".to_string()
    } else {
        s
    }
}

/// Last `n` lines of the log written since byte offset `from` (or of the whole file if it
/// shrank).
fn log_tail(path: &Path, from: u64, n: usize) -> String {
    let Ok(bytes) = std::fs::read(path) else {
        return format!("(could not read {})", path.display());
    };
    let from = usize::try_from(from).unwrap_or(0);
    let slice = if from < bytes.len() { &bytes[from..] } else { &bytes[..] };
    let text = String::from_utf8_lossy(slice);
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(n);
    let s = lines[start..].join("\n");
    if s.is_empty() {
        "(log is empty)".to_string()
    } else {
        s
    }
}

// ---------------------------------------------------------------------------------------------
// Reaper

const REAPER_SCRIPT: &str = r#"
trap '' HUP INT
W=$1; ST=$2; PGCTL=$3; DATA=$4; RMDIR=$5; RUNAS=$6
alive() {
  if [ -n "$ST" ]; then
    [ -r "/proc/$W/stat" ] || return 1
    set -- $(sed 's/^.*) //' "/proc/$W/stat" 2>/dev/null)
    [ "$1" != Z ] && [ "$1" != X ] && [ "${20}" = "$ST" ]
  else
    kill -0 "$W" 2>/dev/null
  fi
}
while alive; do sleep 1; done
if [ -f "$DATA/postmaster.pid" ]; then
  if [ -n "$RUNAS" ]; then
    runuser -u "$RUNAS" -- "$PGCTL" stop -D "$DATA" -m immediate -w -t 20 >/dev/null 2>&1
  else
    "$PGCTL" stop -D "$DATA" -m immediate -w -t 20 >/dev/null 2>&1
  fi
  if [ -f "$DATA/postmaster.pid" ]; then
    P=$(head -n 1 "$DATA/postmaster.pid")
    case "$P" in
      ''|*[!0-9]*) ;;
      *) kill -QUIT "$P" 2>/dev/null
         i=0; while [ $i -lt 10 ] && kill -0 "$P" 2>/dev/null; do sleep 1; i=$((i+1)); done
         kill -KILL "$P" 2>/dev/null ;;
    esac
  fi
fi
if [ -n "$RMDIR" ]; then rm -rf -- "$RMDIR"; fi
"#;

/// Start time (clock ticks since boot, field 22 of /proc/<pid>/stat) to detect pid reuse.
fn proc_start_time(pid: u32) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(") ")? + 2..];
    rest.split_whitespace().nth(19).map(str::to_string)
}

/// Spawns the detached reaper watching `watch_pid`.
fn spawn_reaper(
    watch_pid: u32,
    binaries: &PgBinaries,
    run_as: Option<&RunAs>,
    data_dir: &Path,
    remove_dir: Option<&Path>,
) -> Result<(), ClusterError> {
    use std::os::unix::process::CommandExt;
    let start_time = proc_start_time(watch_pid).unwrap_or_default();
    let remove = remove_dir.map(|d| std::path::absolute(d).unwrap_or_else(|_| d.to_path_buf()));
    let mut cmd = std::process::Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(REAPER_SCRIPT)
        .arg("rowgate-pg-reaper")
        .arg(watch_pid.to_string())
        .arg(start_time)
        .arg(binaries.pg_ctl())
        .arg(data_dir)
        .arg(remove.as_deref().unwrap_or(Path::new("")))
        .arg(run_as.map(|u| u.name.as_str()).unwrap_or(""))
        .current_dir("/")
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid().map_err(io::Error::from)?;
            Ok(())
        });
    }
    let child = cmd.spawn().map_err(|source| ClusterError::Reaper { data_dir: data_dir.to_path_buf(), source })?;
    debug!(reaper_pid = child.id(), watch_pid, data_dir = %data_dir.display(), "spawned PostgreSQL reaper");
    // Not waited for: it outlives us by design (it is reparented when we exit).
    drop(child);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Throwaway clusters (tests)

static RNG_COUNTER: AtomicU64 = AtomicU64::new(0);

fn random_u64() -> u64 {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
    let c = RNG_COUNTER.fetch_add(1, Ordering::Relaxed);
    // splitmix64
    let mut z = nanos ^ (u64::from(std::process::id()) << 32) ^ c.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn random_port() -> u16 {
    20000 + (random_u64() % 40000) as u16
}

fn port_looks_free(socket_dir: &Path, port: u16, tcp: bool) -> bool {
    let sock = socket_path(socket_dir, port);
    let lock = socket_dir.join(format!(".s.PGSQL.{port}.lock"));
    if sock.exists() || lock.exists() {
        return false;
    }
    !tcp || TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
}

/// Creates a fresh directory `/tmp/<prefix>-<pid>-<random>` with mode 0755.
fn make_temp_dir(prefix: &str) -> Result<PathBuf, ClusterError> {
    let mut last_err = None;
    for _ in 0..16 {
        let dir = PathBuf::from("/tmp").join(format!("{prefix}-{}-{:08x}", std::process::id(), random_u64() as u32));
        match std::fs::DirBuilder::new().mode(0o755).create(&dir) {
            Ok(()) => {
                set_mode(&dir, 0o755)?;
                return Ok(dir);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_err = Some(e),
            Err(e) => return Err(io_err(format!("could not create {}", dir.display()))(e)),
        }
    }
    Err(io_err("could not create a temp dir under /tmp")(
        last_err.unwrap_or_else(|| io::Error::other("too many attempts")),
    ))
}

/// Throwaway cluster for tests: fresh temp dir under /tmp (0755; data and socket dirs owned by
/// postgres when root), random free port in 20000..60000, fast=true, started, and registered
/// with [`Cluster::stop_when_process_exits`] so it is stopped and the temp dir removed when
/// this process exits.
pub async fn start_throwaway() -> Result<Cluster, ClusterError> {
    start_throwaway_with(Vec::new()).await
}

/// [`start_throwaway`] with extra postgresql.conf settings.
pub async fn start_throwaway_with(extra_conf: Vec<(String, String)>) -> Result<Cluster, ClusterError> {
    let binaries = PgBinaries::find()?;
    let run_as = current_run_as()?;
    let base = make_temp_dir("rowgate-pg")?;
    let data_dir = base.join("data");
    let socket_dir = base.join("run");
    // Register the reaper first, so even a kill during initdb/start cleans up.
    spawn_reaper(std::process::id(), &binaries, run_as.as_ref(), &data_dir, Some(&base))?;
    let began = std::time::Instant::now();
    for _attempt in 0..PORT_ATTEMPTS {
        let port = (0..100)
            .map(|_| random_port())
            .find(|&p| port_looks_free(&socket_dir, p, false))
            .ok_or(ClusterError::NoFreePort(100))?;
        let opts = ClusterOptions {
            data_dir: data_dir.clone(),
            socket_dir: socket_dir.clone(),
            tcp_port: None,
            fast: true,
            extra_conf: extra_conf.clone(),
            socket_port: Some(port),
            log_file: Some(base.join("postgres.log")),
        };
        match Cluster::start_with(binaries.clone(), run_as.clone(), opts).await {
            Ok(c) => {
                debug!(elapsed_ms = began.elapsed().as_millis() as u64, port, "throwaway cluster ready");
                return Ok(c);
            }
            Err(e) if e.is_port_in_use() => {
                warn!(port, "port in use, retrying with another one");
            }
            Err(e) => return Err(e),
        }
    }
    Err(ClusterError::NoFreePort(PORT_ATTEMPTS))
}

// ---------------------------------------------------------------------------------------------
// Embedded default cluster

/// Where the embedded cluster lives.
#[derive(Debug, Clone, PartialEq, Eq)]
struct EmbeddedPlan {
    base: PathBuf,
    socket_dir: PathBuf,
    notice: Option<String>,
    /// The socket dir is under a per-user `/tmp/rowgate-<uid>` (non-root, long cwd).
    tmp_socket: bool,
}

/// 64-bit FNV-1a; stable across Rust versions (used in persistent directory names).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// `/root/my proj` -> `root_my_proj-<8 hex>`; at most 40 chars of name plus the hash.
fn sanitize_path_name(p: &Path) -> String {
    let raw = p.to_string_lossy();
    let mut name: String = raw
        .trim_start_matches('/')
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_' { c } else { '_' })
        .collect();
    if name.is_empty() {
        name.push('_');
    }
    if name.len() > 40 {
        // Keep the end: the most specific part of the path.
        name = name[name.len() - 40..].to_string();
    }
    format!("{name}-{:08x}", fnv1a(raw.as_bytes()) as u32)
}

fn plan_embedded(cwd: &Path, run_as: Option<&RunAs>, fallback_root: &Path) -> EmbeddedPlan {
    let base = cwd.join(".rowgate");
    let socket_dir = base.join("run");
    let socket_len = socket_path(&socket_dir, DEFAULT_PORT).as_os_str().len();
    match run_as {
        Some(user) => {
            let reason = if let Some(blocker) = find_blocker(&base, user) {
                Some(format!(
                    "the postgres OS user cannot reach {} (directory {} is not traversable by it)",
                    base.display(),
                    blocker.display()
                ))
            } else if socket_len > MAX_SOCKET_PATH {
                Some(format!(
                    "the unix socket path under {} would be {socket_len} bytes (limit {MAX_SOCKET_PATH})",
                    base.display()
                ))
            } else {
                None
            };
            match reason {
                None => EmbeddedPlan { base, socket_dir, notice: None, tmp_socket: false },
                Some(reason) => {
                    let base = fallback_root.join(sanitize_path_name(cwd));
                    let notice =
                        format!("{reason}; using {} for the embedded PostgreSQL cluster instead", base.display());
                    EmbeddedPlan { socket_dir: base.join("run"), base, notice: Some(notice), tmp_socket: false }
                }
            }
        }
        None if socket_len > MAX_SOCKET_PATH => {
            // Keep the data where it is; only move the socket somewhere short.
            let uid = nix::unistd::getuid().as_raw();
            let socket_dir = PathBuf::from(format!("/tmp/rowgate-{uid}"))
                .join(format!("{:016x}", fnv1a(cwd.as_os_str().as_encoded_bytes())));
            let notice = format!(
                "the unix socket path under {} would be {socket_len} bytes (limit {MAX_SOCKET_PATH}); using socket directory {} instead",
                base.display(),
                socket_dir.display()
            );
            EmbeddedPlan { base, socket_dir, notice: Some(notice), tmp_socket: true }
        }
        None => EmbeddedPlan { base, socket_dir, notice: None, tmp_socket: false },
    }
}

/// Embedded default for `rowgate` without DATABASE_URL: base `<cwd>/.rowgate` (data in
/// `base/pgdata`, socket in `base/run`, log in `base/postgres.log`), persistent and reused
/// when already running. As root, falls back to `/var/lib/rowgate/<sanitized cwd>-<hash>`
/// when the postgres user cannot traverse to the base or the socket path would be too long;
/// the returned notice (to print) says so.
pub async fn start_embedded(cwd: &Path) -> Result<(Cluster, Option<String>), ClusterError> {
    let binaries = PgBinaries::find()?;
    let run_as = current_run_as()?;
    let cwd = std::path::absolute(cwd).map_err(io_err(format!("invalid path {}", cwd.display())))?;
    let plan = plan_embedded(&cwd, run_as.as_ref(), Path::new(ROOT_FALLBACK_BASE));
    if let Some(n) = &plan.notice {
        info!("{n}");
    }
    // Base dir itself: owned by us, 0755 so the postgres user can pass through.
    create_parents(&plan.base.join("x"))?;
    if plan.tmp_socket {
        prepare_user_tmp(&plan.socket_dir)?;
    }
    let opts = ClusterOptions {
        data_dir: plan.base.join("pgdata"),
        socket_dir: plan.socket_dir.clone(),
        tcp_port: None,
        fast: false,
        extra_conf: Vec::new(),
        socket_port: None,
        log_file: Some(plan.base.join("postgres.log")),
    };
    let cluster = Cluster::start_with(binaries, run_as, opts).await?;
    Ok((cluster, plan.notice))
}

/// `/tmp/rowgate-<uid>` must be ours and private.
fn prepare_user_tmp(socket_dir: &Path) -> Result<(), ClusterError> {
    let Some(parent) = socket_dir.parent() else {
        return Ok(());
    };
    match std::fs::DirBuilder::new().mode(0o700).create(parent) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io_err(format!("could not create {}", parent.display()))(e)),
    }
    let meta = std::fs::symlink_metadata(parent).map_err(io_err(format!("could not stat {}", parent.display())))?;
    if !meta.is_dir() || meta.uid() != nix::unistd::getuid().as_raw() {
        return Err(io_err(format!("refusing to use {}", parent.display()))(io::Error::other(
            "not a directory owned by the current user",
        )));
    }
    set_mode(parent, 0o700)
}

// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    async fn connect(conn: &str) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
        let (client, connection) = tokio_postgres::connect(conn, tokio_postgres::NoTls).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(client)
    }

    fn postmaster_pid(data_dir: &Path) -> Option<i32> {
        std::fs::read_to_string(data_dir.join("postmaster.pid")).ok()?.lines().next()?.trim().parse().ok()
    }

    fn pid_alive(pid: i32) -> bool {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
            && proc_state(pid).is_some_and(|s| s != "Z")
    }

    fn proc_state(pid: i32) -> Option<String> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let rest = &text[text.rfind(") ")? + 2..];
        rest.split_whitespace().next().map(str::to_string)
    }

    #[test]
    fn finds_installed_binaries() {
        let b = PgBinaries::find().unwrap();
        assert_eq!(b.dir, PathBuf::from("/usr/lib/postgresql/15/bin"));
        // Versioned search alone finds it too.
        let b = PgBinaries::find_in(&[], &[PathBuf::from(VERSIONED_BIN_ROOT)]).unwrap();
        assert_eq!(b.dir, PathBuf::from("/usr/lib/postgresql/15/bin"));
    }

    #[test]
    fn no_binaries_error_is_one_line() {
        let err = PgBinaries::find_in(&[], &[PathBuf::from("/nonexistent/postgresql")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no PostgreSQL server binaries found (looked for initdb/pg_ctl on PATH and in /nonexistent/postgresql/*/bin); install them, e.g. apt-get install postgresql"
        );
        let err = PgBinaries::find_in(&[], &[]).unwrap_err();
        assert!(matches!(err, ClusterError::NoBinaries { .. }));
        assert!(!err.to_string().contains('\n'));
    }

    #[test]
    fn error_messages() {
        let e = ClusterError::NoPostgresUser.to_string();
        assert!(e.starts_with("as root, PostgreSQL runs as the 'postgres' OS user, which does not exist"));
        let e = ClusterError::NotReachable { path: "/root/x/.rowgate".into(), blocker: "/root".into() }.to_string();
        assert!(
            e.starts_with("the postgres user cannot reach /root/x/.rowgate (directory /root is not traversable by it)")
        );
        assert!(!e.contains('\n'));
    }

    #[test]
    fn conf_and_conninfo_quoting() {
        let mut o = ClusterOptions::new("/d/data", "/d/my run");
        o.fast = true;
        o.socket_port = Some(23456);
        o.extra_conf = vec![("max_connections".into(), "200".into()), ("application_name".into(), "it's".into())];
        let t = o.conf_text().unwrap();
        assert!(t.contains("listen_addresses = ''\n"));
        assert!(t.contains("port = '23456'\n"));
        assert!(t.contains("unix_socket_directories = '/d/my run'\n"));
        assert!(t.contains("fsync = 'off'\n"));
        assert!(t.contains("max_connections = '200'\n"));
        assert!(t.contains("application_name = 'it''s'\n"));
        o.tcp_port = Some(30000);
        assert_eq!(o.port(), 30000);
        assert!(o.conf_text().unwrap().contains("listen_addresses = '127.0.0.1'\n"));
        o.extra_conf = vec![("bad key".into(), "1".into())];
        assert!(matches!(o.conf_text(), Err(ClusterError::BadSetting(_))));
        assert_eq!(conninfo_quote("/a b/c"), "'/a b/c'");
        assert_eq!(conninfo_quote("/tmp/x"), "/tmp/x");
        assert_eq!(o.log_path(), PathBuf::from("/d/postgres.log"));
    }

    #[test]
    fn embedded_plan_fallbacks() {
        let nobody = RunAs { uid: 54321, gid: 54321, name: "postgres".into(), home: "/".into() };
        let fallback = Path::new("/var/lib/rowgate");
        // Traversable cwd: stays put.
        let plan = plan_embedded(Path::new("/tmp/proj"), Some(&nobody), fallback);
        assert_eq!(plan.base, PathBuf::from("/tmp/proj/.rowgate"));
        assert_eq!(plan.notice, None);
        // A 0700 directory blocks the postgres user.
        let tmp = make_temp_dir("rowgate-plan-test").unwrap();
        set_mode(&tmp, 0o700).unwrap();
        let cwd = tmp.join("proj dir");
        let plan = plan_embedded(&cwd, Some(&nobody), fallback);
        assert!(plan.base.starts_with(fallback), "{plan:?}");
        let name = plan.base.file_name().unwrap().to_str().unwrap().to_string();
        assert!(name.contains("plan-test-"), "{name}");
        assert!(name.len() <= 49 && name.contains("_proj_dir-"), "{name}");
        assert!(!name.contains(' '));
        let notice = plan.notice.unwrap();
        assert!(notice.contains(&format!("(directory {} is not traversable by it)", tmp.display())), "{notice}");
        std::fs::remove_dir(&tmp).unwrap();
        // Too long socket path.
        let long = PathBuf::from(format!("/tmp/{}", "x".repeat(90)));
        let plan = plan_embedded(&long, Some(&nobody), fallback);
        assert!(plan.base.starts_with(fallback));
        assert!(plan.notice.unwrap().contains("bytes"));
        assert!(socket_path(&plan.socket_dir, DEFAULT_PORT).as_os_str().len() <= MAX_SOCKET_PATH);
        // Not root, too long: only the socket moves.
        let plan = plan_embedded(&long, None, fallback);
        assert_eq!(plan.base, long.join(".rowgate"));
        assert!(plan.tmp_socket);
        assert!(plan.socket_dir.to_string_lossy().starts_with(&format!("/tmp/rowgate-{}/", nix::unistd::getuid())));
        // Stable names.
        assert_eq!(sanitize_path_name(Path::new("/root/x")), sanitize_path_name(Path::new("/root/x")));
        assert_ne!(sanitize_path_name(Path::new("/a/b_c")), sanitize_path_name(Path::new("/a_b/c")));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn throwaway_connect_and_stop() {
        let t = Instant::now();
        let c = start_throwaway().await.unwrap();
        eprintln!("start_throwaway took {:?}", t.elapsed());
        assert!(c.started_by_us());
        let conn = c.conn_string("postgres", "postgres");
        assert!(conn.starts_with(&format!("host={} port={} ", c.socket_dir().display(), c.port())));
        let client = connect(&conn).await.unwrap();
        let one: i32 = client.query_one("select 1", &[]).await.unwrap().get(0);
        assert_eq!(one, 1);
        let fsync: String = client.query_one("show fsync", &[]).await.unwrap().get(0);
        assert_eq!(fsync, "off");
        let enc: String = client.query_one("show server_encoding", &[]).await.unwrap().get(0);
        assert_eq!(enc, "UTF8");
        drop(client);
        let t = Instant::now();
        c.stop().await.unwrap();
        eprintln!("stop took {:?}", t.elapsed());
        assert!(connect(&conn).await.is_err());
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn second_start_reuses() {
        let c1 = start_throwaway().await.unwrap();
        let version_file = c1.data_dir().join("PG_VERSION");
        let mtime = std::fs::metadata(&version_file).unwrap().modified().unwrap();
        let c2 = Cluster::start(c1.options().clone()).await.unwrap();
        assert!(!c2.started_by_us());
        assert_eq!(c2.port(), c1.port());
        assert_eq!(c2.socket_dir(), c1.socket_dir());
        assert_eq!(std::fs::metadata(&version_file).unwrap().modified().unwrap(), mtime);
        // Stopping a reused cluster is a no-op.
        c2.stop().await.unwrap();
        let client = connect(&c2.conn_string("postgres", "postgres")).await.unwrap();
        client.simple_query("select 1").await.unwrap();
        drop(client);
        c1.stop().await.unwrap();
        assert!(connect(&c1.conn_string("postgres", "postgres")).await.is_err());
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn embedded_start_and_reuse() {
        let cwd = make_temp_dir("rowgate-embedded-test").unwrap();
        let (c1, notice) = start_embedded(&cwd).await.unwrap();
        c1.stop_when_process_exits(Some(&cwd)).unwrap();
        assert_eq!(notice, None);
        assert!(c1.started_by_us());
        assert_eq!(c1.port(), DEFAULT_PORT);
        assert!(cwd.join(".rowgate/pgdata/PG_VERSION").exists());
        assert!(cwd.join(".rowgate/postgres.log").exists());
        assert_eq!(c1.socket_dir(), cwd.join(".rowgate/run"));
        let fsync: String = connect(&c1.conn_string("postgres", "postgres"))
            .await
            .unwrap()
            .query_one("show fsync", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(fsync, "on");
        let (c2, _) = start_embedded(&cwd).await.unwrap();
        assert!(!c2.started_by_us());
        assert_eq!(c2.port(), DEFAULT_PORT);
        c1.stop().await.unwrap();
        assert!(connect(&c1.conn_string("postgres", "postgres")).await.is_err());
        // Persistent: starting again after a stop re-uses the data (no initdb) and starts.
        let (c3, _) = start_embedded(&cwd).await.unwrap();
        assert!(c3.started_by_us());
        c3.stop().await.unwrap();
        std::fs::remove_dir_all(&cwd).unwrap();
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn start_failure_includes_log_tail() {
        let err = start_throwaway_with(vec![("shared_buffers".into(), "lots".into())]).await.unwrap_err();
        let msg = err.to_string();
        eprintln!("{msg}");
        assert!(matches!(err, ClusterError::Start { .. }));
        assert!(msg.starts_with("PostgreSQL failed to start (data directory /tmp/rowgate-pg-"));
        assert!(msg.contains("invalid value for parameter \"shared_buffers\""), "{msg}");
        assert!(!err.is_port_in_use());
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn tcp_and_port_collision() {
        let base = make_temp_dir("rowgate-collision-test").unwrap();
        let port = (0..100).map(|_| random_port()).find(|&p| port_looks_free(&base.join("run"), p, true)).unwrap();
        let mut a = ClusterOptions::new(base.join("a"), base.join("run"));
        a.fast = true;
        a.tcp_port = Some(port);
        let ca = Cluster::start(a).await.unwrap();
        ca.stop_when_process_exits(Some(&base)).unwrap();
        assert_eq!(ca.port(), port);
        let tcp = format!("host=127.0.0.1 port={port} user=postgres dbname=postgres");
        connect(&tcp).await.unwrap().simple_query("select 1").await.unwrap();
        // Second cluster, same socket dir and port: must fail as "port in use".
        let mut b = ClusterOptions::new(base.join("b"), base.join("run"));
        b.fast = true;
        b.socket_port = Some(port);
        let err = Cluster::start(b).await.unwrap_err();
        eprintln!("{err}");
        assert!(err.is_port_in_use(), "{err}");
        ca.stop().await.unwrap();
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn reaper_stops_cluster_and_removes_dir_when_watched_process_exits() {
        let base = make_temp_dir("rowgate-reaper-test").unwrap();
        let mut opts = ClusterOptions::new(base.join("data"), base.join("run"));
        opts.fast = true;
        opts.socket_port = Some(random_port());
        let c = Cluster::start(opts).await.unwrap();
        let pm = postmaster_pid(c.data_dir()).unwrap();
        assert!(pid_alive(pm));
        let mut child = std::process::Command::new("sleep").arg("2").spawn().unwrap();
        spawn_reaper(child.id(), c.binaries(), c.run_as.as_ref(), c.data_dir(), Some(&base)).unwrap();
        // The child is deliberately not waited for: as a zombie it must count as exited.
        let t = Instant::now();
        while (base.exists() || pid_alive(pm)) && t.elapsed() < Duration::from_secs(15) {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        eprintln!("reaper finished after {:?}", t.elapsed());
        assert!(!pid_alive(pm), "postmaster still running");
        assert!(!base.exists(), "dir not removed");
        assert!(t.elapsed() < Duration::from_secs(10));
        child.wait().unwrap();
        assert!(connect(&c.conn_string("postgres", "postgres")).await.is_err());
    }
}

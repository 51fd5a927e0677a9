//! Starting and stopping a cluster: initdb on first use, `pg_ctl start`/`stop` run as the
//! server's OS user with a timeout, adopting a cluster that is already running, and failures
//! reported with the tail of the server log.

use std::ffi::OsStr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Output, Stdio};
use std::time::Duration;

use tracing::{debug, info};

use super::dirs::{
    check_reachable, check_socket_len, chown_to, create_parents, current_run_as, prepare_private_dir, RunAs,
};
use super::error::io_err;
use super::reaper::spawn_reaper;
use super::{Cluster, ClusterError, ClusterOptions, PgBinaries};

const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);
const START_WAIT_SECS: u32 = 60;
const LOG_TAIL_LINES: usize = 20;

impl Cluster {
    /// initdb (superuser "postgres", auth trust, UTF8, locale C) if `data_dir` has no
    /// PG_VERSION, then start it with `pg_ctl -w` unless it is already running (then it is
    /// reused and `started_by_us()` is false).
    pub async fn start(opts: ClusterOptions) -> Result<Cluster, ClusterError> {
        let binaries = PgBinaries::find()?;
        let run_as = current_run_as()?;
        Self::start_with(binaries, run_as, opts).await
    }

    pub(super) async fn start_with(
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

    pub(super) async fn run(&self, program: &Path, args: &[&OsStr]) -> Result<Output, ClusterError> {
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

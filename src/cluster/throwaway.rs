//! Throwaway clusters for the tests: a fresh directory under /tmp, a random free port, no fsync,
//! and a reaper registered before initdb so the cluster and its directory go when the test
//! process does.

use std::io;
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::{debug, warn};

use super::dirs::{current_run_as, set_mode, socket_path};
use super::error::io_err;
use super::reaper::spawn_reaper;
use super::{Cluster, ClusterError, ClusterOptions, PgBinaries};

const PORT_ATTEMPTS: u32 = 8;

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

pub(super) fn random_port() -> u16 {
    20000 + (random_u64() % 40000) as u16
}

pub(super) fn port_looks_free(socket_dir: &Path, port: u16, tcp: bool) -> bool {
    let sock = socket_path(socket_dir, port);
    let lock = socket_dir.join(format!(".s.PGSQL.{port}.lock"));
    if sock.exists() || lock.exists() {
        return false;
    }
    !tcp || TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
}

/// Creates a fresh directory `/tmp/<prefix>-<pid>-<random>` with mode 0755.
pub(super) fn make_temp_dir(prefix: &str) -> Result<PathBuf, ClusterError> {
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
    start_throwaway_on(PgBinaries::find()?, extra_conf, false).await
}

/// [`start_throwaway_with`] on given server binaries (e.g. a PostgreSQL with Citus installed
/// beside the system's), listening on 127.0.0.1 too when `tcp` (Citus nodes reach each other
/// over TCP).
pub async fn start_throwaway_on(
    binaries: PgBinaries,
    extra_conf: Vec<(String, String)>,
    tcp: bool,
) -> Result<Cluster, ClusterError> {
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
            .find(|&p| port_looks_free(&socket_dir, p, tcp))
            .ok_or(ClusterError::NoFreePort(100))?;
        let opts = ClusterOptions {
            data_dir: data_dir.clone(),
            socket_dir: socket_dir.clone(),
            tcp_port: tcp.then_some(port),
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

//! A streaming replica of a throwaway cluster, for the read-replica tests: `pg_basebackup -R`
//! from the primary's socket into a fresh directory, then started on a port of its own, and
//! stopped and removed with the test process like any throwaway cluster.

use std::ffi::OsStr;

use tracing::{debug, warn};

use super::dirs::{current_run_as, prepare_private_dir};
use super::reaper::spawn_reaper;
use super::throwaway::{make_temp_dir, port_looks_free, random_port};
use super::{Cluster, ClusterError, ClusterOptions};

const PORT_ATTEMPTS: u32 = 8;

/// A hot standby of `primary` (streaming, `primary_conninfo` written by `pg_basebackup -R`),
/// with `extra_conf` (e.g. `recovery_min_apply_delay`).
pub async fn start_replica_of(primary: &Cluster, extra_conf: Vec<(String, String)>) -> Result<Cluster, ClusterError> {
    let binaries = primary.binaries().clone();
    let run_as = current_run_as()?;
    let base = make_temp_dir("rowgate-replica")?;
    let data_dir = base.join("data");
    let socket_dir = base.join("run");
    spawn_reaper(std::process::id(), &binaries, run_as.as_ref(), &data_dir, Some(&base))?;
    prepare_private_dir(&data_dir, run_as.as_ref(), 0o700)?;
    let port = primary.port().to_string();
    let out = primary
        .run(
            &binaries.dir.join("pg_basebackup"),
            &[
                OsStr::new("-D"),
                data_dir.as_os_str(),
                OsStr::new("-h"),
                primary.socket_dir().as_os_str(),
                OsStr::new("-p"),
                OsStr::new(&port),
                OsStr::new("-U"),
                OsStr::new("postgres"),
                OsStr::new("-R"),
                OsStr::new("-X"),
                OsStr::new("stream"),
                OsStr::new("-c"),
                OsStr::new("fast"),
            ],
        )
        .await?;
    if !out.status.success() {
        return Err(ClusterError::Replica(String::from_utf8_lossy(&out.stderr).trim().to_string()));
    }
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
                debug!(port, "replica ready");
                return Ok(c);
            }
            Err(e) if e.is_port_in_use() => warn!(port, "port in use, retrying with another one"),
            Err(e) => return Err(e),
        }
    }
    Err(ClusterError::NoFreePort(PORT_ATTEMPTS))
}

//! The reaper: a detached `/bin/sh` in its own session that outlives us, waits until the watched
//! process exits for any reason (kill -9 and panics included), then stops the cluster with
//! `pg_ctl stop -m immediate` and removes its directory. This is what keeps test clusters from
//! piling up.

use std::io;
use std::path::Path;
use std::process::Stdio;

use tracing::debug;

use super::dirs::RunAs;
use super::{ClusterError, PgBinaries};

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
pub(super) fn spawn_reaper(
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

//! CPU time and memory of the processes under test, read from /proc. The load generators are this
//! tool's children, so their CPU comes from getrusage(RUSAGE_CHILDREN) around each run.

use std::fs;

use anyhow::{Context, Result};

/// Clock ticks per second of /proc's utime/stime (USER_HZ; 100 on every Linux we run on).
const TICKS_PER_SECOND: f64 = 100.0;

/// utime + stime of one process (all its threads), in seconds.
pub fn process_cpu(pid: u32) -> Result<f64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).with_context(|| format!("process {pid} is gone"))?;
    let fields = stat_fields(&stat);
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    // Fields after the command: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
    Ok((ticks(11) + ticks(12)) as f64 / TICKS_PER_SECOND)
}

/// The fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses).
fn stat_fields(stat: &str) -> Vec<&str> {
    stat.rfind(')').map(|i| stat[i + 1..].split_whitespace().collect()).unwrap_or_default()
}

/// CPU seconds spent by a PostgreSQL cluster: the postmaster with its reaped children
/// (cutime/cstime: backends that ended), plus every live child. A difference of two readings
/// is the cluster's CPU in between, even when backends come and go.
pub fn cluster_cpu(postmaster: u32) -> Result<f64> {
    let stat = fs::read_to_string(format!("/proc/{postmaster}/stat")).context("the postmaster is gone")?;
    let f = stat_fields(&stat);
    let ticks = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
    let mut total = ticks(11) + ticks(12) + ticks(13) + ticks(14);
    for entry in fs::read_dir("/proc")?.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        let f = stat_fields(&stat);
        if f.get(1).and_then(|p| p.parse::<u32>().ok()) == Some(postmaster) {
            total += f.get(11).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0)
                + f.get(12).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
        }
    }
    Ok(total as f64 / TICKS_PER_SECOND)
}

/// CPU seconds of this tool's waited-for children so far (the load generators).
pub fn children_cpu() -> f64 {
    use nix::sys::resource::{getrusage, UsageWho};
    getrusage(UsageWho::RUSAGE_CHILDREN)
        .map(|u| {
            let t = |tv: nix::sys::time::TimeVal| tv.tv_sec() as f64 + tv.tv_usec() as f64 / 1e6;
            t(u.user_time()) + t(u.system_time())
        })
        .unwrap_or(0.0)
}

/// Resident set size now, in KiB.
pub fn rss_kib(pid: u32) -> Result<u64> {
    status_kib(pid, "VmRSS:")
}

/// The peak resident set size since the last [`reset_peak_rss`] (or the start), in KiB.
pub fn peak_rss_kib(pid: u32) -> Result<u64> {
    status_kib(pid, "VmHWM:")
}

/// Starts a new peak-RSS window (Linux: writing 5 to clear_refs resets VmHWM).
pub fn reset_peak_rss(pid: u32) -> Result<()> {
    fs::write(format!("/proc/{pid}/clear_refs"), "5").with_context(|| format!("reset the peak RSS of {pid}"))
}

fn status_kib(pid: u32, key: &str) -> Result<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).with_context(|| format!("process {pid} is gone"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("no {key} in /proc/{pid}/status"))
}

/// What the machine is: CPU model and count, memory, kernel.
pub fn machine_facts() -> Vec<(String, String)> {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split(':').nth(1)))
        .map(|m| m.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let mem_kib = fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().find_map(|l| l.strip_prefix("MemTotal:").map(|v| v.trim().to_string())))
        .unwrap_or_default();
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_string();
    vec![("CPU".into(), format!("{cpus} × {model}")), ("memory".into(), mem_kib), ("kernel".into(), kernel)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_skip_a_command_with_spaces_and_parentheses() {
        let stat = "42 (postgres: a (b) c) S 7 42 42 0 -1 4194560 1 0 0 0 150 25 3 4 20 0 1 0";
        let f = stat_fields(stat);
        assert_eq!(f[0], "S");
        assert_eq!(f[1], "7");
        assert_eq!((f[11], f[12], f[13], f[14]), ("150", "25", "3", "4"));
    }

    #[test]
    fn this_process_has_cpu_and_memory() {
        let me = std::process::id();
        assert!(process_cpu(me).is_ok());
        assert!(rss_kib(me).unwrap() > 0);
        assert!(peak_rss_kib(me).unwrap() >= rss_kib(me).unwrap() / 2);
    }
}

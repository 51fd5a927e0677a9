//! Where the PostgreSQL server binaries are: `initdb`, `pg_ctl` and `postgres` on PATH, else
//! the newest `/usr/lib/postgresql/<version>/bin` (the Debian layout).

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::ClusterError;

/// Root under which versioned server binaries are looked for (`<root>/<version>/bin`).
pub const VERSIONED_BIN_ROOT: &str = "/usr/lib/postgresql";

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

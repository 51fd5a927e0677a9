//! Who runs PostgreSQL and the directories it needs. As root, the server runs as the `postgres`
//! OS user, so every directory on the way must be traversable by it and the private ones owned by
//! it; the unix socket path must also fit the kernel's limit.

use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::error::io_err;
use super::ClusterError;

/// Longest unix socket path we accept (the kernel limit is 107 bytes plus NUL).
pub const MAX_SOCKET_PATH: usize = 100;
/// OS user that runs PostgreSQL when we are root.
pub const POSTGRES_OS_USER: &str = "postgres";

/// The OS user the server binaries run as, when different from us (i.e. when we are root).
#[derive(Debug, Clone)]
pub(super) struct RunAs {
    pub(super) uid: u32,
    pub(super) gid: u32,
    pub(super) name: String,
    pub(super) home: PathBuf,
}

/// `Ok(None)`: run binaries as ourselves. `Ok(Some)`: we are root, run them as `postgres`.
pub(super) fn current_run_as() -> Result<Option<RunAs>, ClusterError> {
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
pub(super) fn find_blocker(path: &Path, user: &RunAs) -> Option<PathBuf> {
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

pub(super) fn check_reachable(path: &Path, user: Option<&RunAs>) -> Result<(), ClusterError> {
    match user.and_then(|u| find_blocker(path, u)) {
        Some(blocker) => Err(ClusterError::NotReachable { path: path.to_path_buf(), blocker }),
        None => Ok(()),
    }
}

/// Creates missing ancestors of `dir` with mode 0755 (umask-independent).
pub(super) fn create_parents(dir: &Path) -> Result<(), ClusterError> {
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

pub(super) fn set_mode(p: &Path, mode: u32) -> Result<(), ClusterError> {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).map_err(io_err(format!(
        "could not chmod {:o} {}",
        mode,
        p.display()
    )))
}

pub(super) fn chown_to(p: &Path, user: Option<&RunAs>) -> Result<(), ClusterError> {
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
pub(super) fn prepare_private_dir(dir: &Path, user: Option<&RunAs>, mode: u32) -> Result<(), ClusterError> {
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

pub(super) fn check_socket_len(socket_dir: &Path, port: u16) -> Result<(), ClusterError> {
    let path = socket_path(socket_dir, port);
    let len = path.as_os_str().len();
    if len > MAX_SOCKET_PATH {
        return Err(ClusterError::SocketPathTooLong { path, len, max: MAX_SOCKET_PATH });
    }
    Ok(())
}

pub(super) fn socket_path(socket_dir: &Path, port: u16) -> PathBuf {
    socket_dir.join(format!(".s.PGSQL.{port}"))
}

/// `/tmp/rowgate-<uid>` must be ours and private.
pub(super) fn prepare_user_tmp(socket_dir: &Path) -> Result<(), ClusterError> {
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

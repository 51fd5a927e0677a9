//! The embedded default: with no DATABASE_URL, a private PostgreSQL under `./.rowgate/`,
//! migrated and loaded with the demo schema, plus a generated JWT secret kept beside it.
//! Where that cluster goes when the postgres OS user cannot reach `./.rowgate/` or the socket
//! path would be too long is decided here too ([`start_embedded`]).

use std::path::{Path, PathBuf};

use rand::distributions::Alphanumeric;
use rand::Rng;
use tracing::info;

use super::dirs::{create_parents, current_run_as, find_blocker, prepare_user_tmp, socket_path, RunAs};
use super::error::io_err;
use super::{Cluster, ClusterError, ClusterOptions, PgBinaries, DEFAULT_PORT, MAX_SOCKET_PATH};
use crate::db::migrate;

/// Where the generated secret lives: in the working directory's `.rowgate/`.
pub fn secret_path(cwd: &Path) -> PathBuf {
    cwd.join(".rowgate").join("jwt_secret")
}

/// Reads the stored secret, creating a random 48-character one (mode 0600) on first use.
pub fn ensure_secret(cwd: &Path) -> Result<String, String> {
    let path = secret_path(cwd);
    if let Ok(s) = std::fs::read_to_string(&path) {
        let s = s.trim().to_string();
        if s.len() >= 32 {
            return Ok(s);
        }
    }
    let secret = random_secret();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    std::fs::write(&path, &secret).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
    Ok(secret)
}

/// Reads the stored signing key, creating an ES256 one (mode 0600) on first use.
pub fn ensure_signing_key(cwd: &Path) -> Result<String, String> {
    let path = cwd.join(".rowgate").join("signing_key.json");
    if let Ok(s) = std::fs::read_to_string(&path) {
        return Ok(s);
    }
    let jwk = crate::auth::signing::SigningKey::generate_jwk().map_err(|e| e.to_string())?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    std::fs::write(&path, &jwk).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
    Ok(jwk)
}

/// The two keys a Supabase client is configured with, as `supabase start` prints them.
pub struct ApiKeys {
    /// `{"role": "anon"}`: what a browser ships (`createClient(url, anonKey)`).
    pub anon: String,
    /// `{"role": "service_role"}`: for servers and scripts only.
    pub service_role: String,
}

/// Ten-year HS256 keys signed with the embedded secret. They are the same on every start (issued
/// at the secret file's creation), so a client's `.env` keeps working until the secret changes.
/// `None` when the secret is a JWK or a file (`@path`): keys are then the operator's to mint.
pub fn api_keys(cwd: &Path, secret: &str) -> Option<ApiKeys> {
    const TEN_YEARS: u64 = 10 * 365 * 24 * 3600;
    if secret.starts_with('{') || secret.starts_with('@') {
        return None;
    }
    let issued = std::fs::metadata(secret_path(cwd))
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| std::time::SystemTime::now())
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let key = |role: &str| {
        let claims = serde_json::json!({"role": role, "iss": "rowgate", "iat": issued, "exp": issued + TEN_YEARS});
        crate::auth::mint_hs256(secret, &claims)
    };
    Some(ApiKeys { anon: key("anon"), service_role: key("service_role") })
}

/// Writes the anon key to `.rowgate/anon_key`, where the web console's dev server reads it
/// (web/vite.config.js). The anon key is public by design (browsers ship it); mode 0644.
pub fn write_anon_key(cwd: &Path, anon: &str) -> Result<(), String> {
    let path = cwd.join(".rowgate").join("anon_key");
    if std::fs::read_to_string(&path).is_ok_and(|k| k.trim() == anon) {
        return Ok(());
    }
    std::fs::write(&path, anon).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

pub fn random_secret() -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(48).map(char::from).collect()
}

pub struct Embedded {
    pub cluster: Cluster,
    /// Connection string for the gateway (authenticator).
    pub database_url: String,
    /// Connection string for realtime's replication connection.
    pub realtime_db_url: String,
    pub notice: Option<String>,
}

/// Starts (or reuses) the cluster, applies migrations and the demo schema.
pub async fn start(cwd: &Path) -> Result<Embedded, String> {
    let (cluster, notice) = start_embedded(cwd).await.map_err(|e| e.to_string())?;
    prepare_database(&cluster, "postgres").await?;
    Ok(Embedded {
        database_url: cluster.conn_string("authenticator", "postgres"),
        // The replication role of sql/V30, over the same unix socket (trust).
        realtime_db_url: cluster.conn_string("rowgate_replication", "postgres"),
        cluster,
        notice,
    })
}

/// Migrations and the demo schema, as the superuser.
/// Over the cluster's unix socket, where TLS is never offered (hence `NoTls`).
pub async fn prepare_database(cluster: &Cluster, dbname: &str) -> Result<(), String> {
    let (mut client, connection) =
        tokio_postgres::connect(&cluster.conn_string("postgres", dbname), tokio_postgres::NoTls)
            .await
            .map_err(|e| format!("cannot connect to the embedded PostgreSQL: {e}"))?;
    let conn = tokio::spawn(connection);
    migrate::migrate(&mut client).await.map_err(|e| e.to_string())?;
    migrate::load_demo(&client).await.map_err(|e| e.to_string())?;
    drop(client);
    let _ = conn.await;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The embedded cluster's place

/// Fallback base for the embedded cluster when running as root and the cwd is not reachable
/// by the postgres user.
pub const ROOT_FALLBACK_BASE: &str = "/var/lib/rowgate";

/// Where the embedded cluster lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct EmbeddedPlan {
    pub(super) base: PathBuf,
    pub(super) socket_dir: PathBuf,
    pub(super) notice: Option<String>,
    /// The socket dir is under a per-user `/tmp/rowgate-<uid>` (non-root, long cwd).
    pub(super) tmp_socket: bool,
}

/// 64-bit FNV-1a; stable across Rust versions (used in persistent directory names).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// `/root/my proj` -> `root_my_proj-<8 hex>`; at most 40 chars of name plus the hash.
pub(super) fn sanitize_path_name(p: &Path) -> String {
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

pub(super) fn plan_embedded(cwd: &Path, run_as: Option<&RunAs>, fallback_root: &Path) -> EmbeddedPlan {
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
        extra_conf: super::logical_decoding(),
        socket_port: None,
        log_file: Some(plan.base.join("postgres.log")),
    };
    let cluster = Cluster::start_with(binaries, run_as, opts).await?;
    Ok((cluster, plan.notice))
}

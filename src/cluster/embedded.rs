//! The embedded default: with no DATABASE_URL, a private PostgreSQL under `./.rowgate/`,
//! migrated and loaded with the demo schema, plus a generated JWT secret kept beside it.

use std::path::{Path, PathBuf};

use rand::distributions::Alphanumeric;
use rand::Rng;

use crate::cluster::{self, Cluster};
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

pub fn random_secret() -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(48).map(char::from).collect()
}

pub struct Embedded {
    pub cluster: Cluster,
    /// Connection string for the gateway (authenticator).
    pub database_url: String,
    pub notice: Option<String>,
}

/// Starts (or reuses) the cluster, applies migrations and the demo schema.
pub async fn start(cwd: &Path) -> Result<Embedded, String> {
    let (cluster, notice) = cluster::start_embedded(cwd).await.map_err(|e| e.to_string())?;
    prepare_database(&cluster, "postgres").await?;
    Ok(Embedded { database_url: cluster.conn_string("authenticator", "postgres"), cluster, notice })
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

//! The gateways under test, each a child process on its own port: rowgate (the binary this
//! checkout builds) and postrust-server, configured alike (pool, pre-request check, secret).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use tokio::process::{Child, Command};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum System {
    Rowgate,
    /// pgbench replaying rowgate's SQL: the database's own floor.
    Floor,
    Postrust,
    /// A second rowgate (`--variant`): another build or other settings, alternated with the first.
    Variant,
}

impl System {
    pub fn name(self) -> &'static str {
        match self {
            System::Rowgate => "rowgate",
            System::Floor => "pgbench floor",
            System::Postrust => "postrust-server",
            System::Variant => "rowgate variant",
        }
    }
}

/// Settings both gateways get.
#[derive(Debug, Clone)]
pub struct Common {
    /// `postgres://authenticator@127.0.0.1:port/bench`.
    pub database_url: String,
    /// The HS256 secret tokens are signed with.
    pub jwt_secret: String,
    pub pool: usize,
    pub log_dir: PathBuf,
}

pub struct Running {
    pub child: Child,
    pub pid: u32,
    pub base_url: String,
    pub admin_url: Option<String>,
}

impl Running {
    pub async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::Signal::SIGTERM);
        }
        let _ = tokio::time::timeout(Duration::from_secs(20), self.child.wait()).await;
        let _ = self.child.kill().await;
    }
}

/// rowgate as compose deploys it (check_request before every request), with an HS256 signing
/// key so that both gateways accept the same tokens, and the auth endpoints' per-IP limit off
/// (one load generator is one IP).
pub async fn start_rowgate(
    binary: &Path,
    common: &Common,
    port: u16,
    name: &str,
    db_url: Option<&str>,
    extra_env: &[(String, String)],
) -> Result<Running> {
    let key = serde_json::json!({
        "kty": "oct", "kid": "bench", "alg": "HS256",
        "k": URL_SAFE_NO_PAD.encode(common.jwt_secret.as_bytes()),
    });
    let log = std::fs::File::create(common.log_dir.join(format!("{name}.log")))?;
    let mut cmd = Command::new(binary);
    cmd.arg("serve")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL", db_url.unwrap_or(&common.database_url))
        .env("ROWGATE_LISTEN", format!("127.0.0.1:{port}"))
        .env("ROWGATE_ADMIN_LISTEN", format!("127.0.0.1:{}", port + 1))
        .env("ROWGATE_JWT_SIGNING_KEY", key.to_string())
        .env("ROWGATE_DB_POOL", common.pool.to_string())
        .env("ROWGATE_DB_PRE_REQUEST", "internal.check_request")
        .env("ROWGATE_RATE_LIMIT_AUTH", "off")
        .env("ROWGATE_LOG_FORMAT", "json");
    for var in ["ROWGATE_LOG", "TOKIO_WORKER_THREADS"] {
        if let Ok(v) = std::env::var(var) {
            cmd.env(var, v);
        }
    }
    cmd.envs(extra_env.iter().map(|(k, v)| (k, v)));
    let child = cmd.stdout(Stdio::null()).stderr(log).kill_on_drop(true).spawn().context("start rowgate")?;
    let pid = child.id().context("rowgate exited at once")?;
    let running = Running {
        child,
        pid,
        base_url: format!("http://127.0.0.1:{port}"),
        admin_url: Some(format!("http://127.0.0.1:{}", port + 1)),
    };
    wait_ready(&format!("http://127.0.0.1:{}/ready", port + 1), &[200]).await?;
    Ok(running)
}

/// postrust-server in PostgREST compatibility mode, with the same pool and pre-request check.
pub async fn start_postrust(binary: &Path, common: &Common, port: u16) -> Result<Running> {
    let log = std::fs::File::create(common.log_dir.join("postrust.log"))?;
    let child = Command::new(binary)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("PGRST_DB_URI", &common.database_url)
        .env("PGRST_DB_SCHEMAS", "api")
        .env("PGRST_DB_ANON_ROLE", "anon")
        .env("PGRST_DB_EXTRA_SEARCH_PATH", "public")
        .env("PGRST_JWT_SECRET", &common.jwt_secret)
        .env("PGRST_DB_POOL", common.pool.to_string())
        .env("PGRST_DB_PRE_REQUEST", "internal.check_request")
        .env("PGRST_SERVER_HOST", "127.0.0.1")
        .env("PGRST_SERVER_PORT", port.to_string())
        .env("PGRST_COMPAT_MODE", "true")
        .env("PGRST_LOG_LEVEL", "error")
        .envs(std::env::var("TOKIO_WORKER_THREADS").ok().map(|v| ("TOKIO_WORKER_THREADS", v)))
        .stdout(Stdio::null())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .context("start postrust")?;
    let pid = child.id().context("postrust exited at once")?;
    let running = Running { child, pid, base_url: format!("http://127.0.0.1:{port}"), admin_url: None };
    wait_ready(&format!("http://127.0.0.1:{port}/"), &[200]).await?;
    Ok(running)
}

async fn wait_ready(url: &str, ok: &[u16]) -> Result<()> {
    let client = reqwest::Client::new();
    let started = Instant::now();
    loop {
        if let Ok(r) = client.get(url).send().await {
            if ok.contains(&r.status().as_u16()) {
                return Ok(());
            }
        }
        if started.elapsed() > Duration::from_secs(60) {
            bail!("{url} did not become ready within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

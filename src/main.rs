//! Command-line entry point: parses the command and wires the pieces from the library.

use std::process::ExitCode;

use clap::Parser;

// mimalloc: a request's allocations (parse tree, plan, SQL text, headers) cost a third of what
// glibc's malloc takes for them (measured with bench/).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use rowgate::config::{AuditArgs, AuditFormat, Cli, Command, Config, KeysCommand, LogFormat, ServeArgs, TokenArgs};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the async runtime: {e}")),
    };
    let result = match cli.command {
        Some(Command::Audit(args)) => return runtime.block_on(audit(args)),
        None => runtime.block_on(serve(cli.serve)),
        Some(Command::Serve(args)) => runtime.block_on(serve(args)),
        Some(Command::Migrate(args)) => runtime.block_on(migrate(args)),
        Some(Command::Token(args)) => token(args),
        Some(Command::Keys(KeysCommand::Generate { secret: true })) => {
            println!("{}", rowgate::cluster::embedded::random_secret());
            Ok(())
        }
        Some(Command::Keys(KeysCommand::Generate { secret: false })) => {
            rowgate::auth::signing::SigningKey::generate_jwk().map(|jwk| println!("{jwk}")).map_err(|e| e.to_string())
        }
    };
    rowgate::observe::log_writer::flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("rowgate: {message}");
    ExitCode::FAILURE
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn init_logging(config: &Config) {
    let mut filter = tracing_subscriber::EnvFilter::try_new(&config.log).unwrap_or_else(|_| "info".into());
    // tokio-postgres logs every statement's parameters at debug: passwords, refresh tokens and
    // the request headers (bearer tokens) would reach the log at ROWGATE_LOG=debug. Its debug
    // output is never enabled, whatever ROWGATE_LOG says (this directive replaces the user's for
    // the same target). At info it would log the server's NOTICEs, e.g. every "already exists,
    // skipping" of a re-run migration: warnings and errors only.
    filter = filter.add_directive("tokio_postgres=warn".parse().expect("valid directive"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(rowgate::observe::log_writer::BatchedStderr::start());
    // The log goes to standard error: text for a person at a terminal, JSON for a collector.
    let format = config.log_format.unwrap_or_else(|| {
        use std::io::IsTerminal;
        if std::io::stderr().is_terminal() {
            LogFormat::Text
        } else {
            LogFormat::Json
        }
    });
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    let mut config = Config::from_args(&args, &env).map_err(|e| e.to_string())?;
    init_logging(&config);
    let cwd = std::env::current_dir().map_err(|e| format!("cannot read the working directory: {e}"))?;

    let embedded = if config.database_url.is_none() {
        eprintln!("rowgate: DATABASE_URL is not set; starting the embedded PostgreSQL under ./.rowgate/");
        let e = rowgate::cluster::embedded::start(&cwd).await?;
        if let Some(n) = &e.notice {
            eprintln!("rowgate: {n}");
        }
        config.database_url = Some(e.database_url.clone());
        if config.realtime.db_url.is_none() {
            config.realtime.db_url = Some(e.realtime_db_url.clone());
        }
        if config.jwt_secret.is_none() {
            config.jwt_secret = Some(rowgate::cluster::embedded::ensure_secret(&cwd)?);
        }
        if config.jwt_signing_key.is_none() {
            config.jwt_signing_key = Some(rowgate::cluster::embedded::ensure_signing_key(&cwd)?);
        }
        // Logout and disabled users take effect at once (the reference schema's session check).
        if config.pre_request.is_none() {
            config.pre_request = Some(("internal".into(), "check_request".into()));
        }
        Some(e)
    } else {
        None
    };

    let running = rowgate::app::start(config).await.map_err(|e| e.to_string())?;
    eprintln!("rowgate: serving http://{} (admin http://{})", running.api_addr, running.admin_addr);
    if let Some(tls_addr) = running.tls_addr {
        eprintln!("rowgate: serving https://{tls_addr} (certificate reloaded on SIGHUP)");
    }
    if embedded.is_some() {
        eprint!("{}", embedded_banner(&running, &cwd).await);
    }

    shutdown_signal().await;
    eprintln!("rowgate: shutting down");
    running.shutdown().await;
    if let Some(e) = embedded {
        if e.cluster.started_by_us() {
            e.cluster.stop().await.map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// What `supabase start` prints, for the embedded default: the API URL, the two keys a client
/// needs, how to create the first user (only while there is none) and a first request.
async fn embedded_banner(running: &rowgate::app::Running, cwd: &std::path::Path) -> String {
    let api = format!("http://{}", running.api_addr);
    let mut out =
        format!("rowgate: API URL:          {api}   (REST also under {api}/rest/v1, auth under {api}/auth/v1)\n");
    if let Some(keys) =
        running.state.config.jwt_secret.as_deref().and_then(|s| rowgate::cluster::embedded::api_keys(cwd, s))
    {
        out += &format!("rowgate: anon key:         {}\n", keys.anon);
        out += &format!("rowgate: service_role key: {}\n", keys.service_role);
        // The web console's dev server (web/vite.config.js) reads the anon key from this file.
        if let Err(e) = rowgate::cluster::embedded::write_anon_key(cwd, &keys.anon) {
            out += &format!("rowgate: {e}\n");
        }
    }
    if cwd.join("web").join("package.json").is_file() {
        // Vite's dev server proxies /rest/v1, /auth/v1 and /realtime/v1 here (docs/spa.md).
        let env = if running.api_addr.to_string() == "127.0.0.1:3000" {
            String::new()
        } else {
            format!("ROWGATE_URL={api} ")
        };
        out += &format!(
            "rowgate: web console:      (cd web && npm ci && {env}npm run dev), then open http://127.0.0.1:5173 (docs/spa.md)\n"
        );
    }
    let bootstrap_needed = async {
        let client = running.state.pg_target.connect().await.ok()?;
        client.query_one("select auth.bootstrap_needed()", &[]).await.ok()?.try_get::<_, bool>(0).ok()
    };
    // Unknown (the query failed) counts as needed: the hint is harmless, a missing one is not.
    if bootstrap_needed.await.unwrap_or(true) {
        out += &format!(
            "rowgate: create the first super admin (only while there are no users):\n  \
             curl -X POST {api}/auth/v1/bootstrap -H 'Content-Type: application/json' \
             -d '{{\"email\":\"admin@example.com\",\"password\":\"a-long-passphrase\"}}'\n"
        );
    }
    out += &format!(
        "rowgate: try  curl {api}/todos   or, as alice:  curl -H \"Authorization: Bearer $({} token --sub alice)\" {api}/todos\n",
        self_command()
    );
    out
}

/// How to run this binary again from the shell that started it: `cargo run` for a build in a
/// cargo target directory (it is not on PATH), `rowgate` when PATH finds this binary, else its path.
fn self_command() -> String {
    let Ok(exe) = std::env::current_exe() else { return "rowgate".into() };
    let profile_dir = exe.parent();
    let in_target = profile_dir.and_then(|p| p.parent()).and_then(|t| t.file_name()).is_some_and(|n| n == "target");
    match profile_dir.and_then(|p| p.file_name()).and_then(|n| n.to_str()) {
        Some("release") if in_target => return "cargo run --release -q --".into(),
        Some("debug") if in_target => return "cargo run -q --".into(),
        _ => {}
    }
    let on_path = std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| {
            dir.join("rowgate").canonicalize().ok().zip(exe.canonicalize().ok()).is_some_and(|(a, b)| a == b)
        })
    });
    if on_path {
        "rowgate".into()
    } else {
        exe.display().to_string()
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

async fn migrate(args: ServeArgs) -> Result<(), String> {
    let config = Config::from_args(&args, &env).map_err(|e| e.to_string())?;
    let cwd = std::env::current_dir().map_err(|e| e.to_string())?;
    match config.database_url {
        Some(url) => {
            let mut client = connect(&url).await?;
            let report = rowgate::db::migrate::migrate(&mut client).await.map_err(|e| e.to_string())?;
            eprintln!(
                "rowgate: {} migration(s) applied, {} function file(s) and {} policy file(s) re-applied",
                report.migrations_applied, report.function_files, report.policy_files
            );
        }
        None => {
            let e = rowgate::cluster::embedded::start(&cwd).await?;
            eprintln!("rowgate: embedded PostgreSQL migrated");
            if e.cluster.started_by_us() {
                e.cluster.stop().await.map_err(|e| e.to_string())?;
            }
        }
    }
    Ok(())
}

/// One connection from DATABASE_URL, with its sslmode; TLS failures get their own one-line reason.
async fn connect(url: &str) -> Result<tokio_postgres::Client, String> {
    let target = rowgate::tls::PgTarget::from_url(url).map_err(|e| e.to_string())?;
    target.connect().await.map_err(|e| match target.tls_failure(&e) {
        Some(tls) => tls.to_string(),
        None => format!("DATABASE_URL: cannot connect: {e}"),
    })
}

/// Exit 0 clean (warnings allowed), 1 on an error-level finding or a probe leak, 2 when the
/// audit could not run (settings, connection, an option the database contradicts).
async fn audit(args: AuditArgs) -> ExitCode {
    const UNUSABLE: u8 = 2;
    let settings = match rowgate::audit::settings::AuditSettings::from_args(&args, &env) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("rowgate: {e}");
            return ExitCode::from(UNUSABLE);
        }
    };
    let mut client = match connect(&settings.database_url).await {
        Ok(client) => client,
        Err(e) => {
            eprintln!("rowgate: {e}");
            return ExitCode::from(UNUSABLE);
        }
    };
    let audit = match rowgate::audit::run(&mut client, &settings.options, settings.probe.as_ref()).await {
        Ok(a) => a,
        Err(e) => {
            eprintln!("rowgate: {e}");
            return ExitCode::from(UNUSABLE);
        }
    };
    match settings.format {
        AuditFormat::Text => print!("{}", rowgate::audit::report::text(&audit)),
        AuditFormat::Json => println!("{:#}", rowgate::audit::report::json(&audit)),
    }
    if audit.failed() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Signs a token with the configured secret, or the embedded default's stored one.
fn token(args: TokenArgs) -> Result<(), String> {
    let secret = match args.jwt_secret {
        Some(s) => s,
        None => {
            let cwd = std::env::current_dir().map_err(|e| e.to_string())?;
            std::fs::read_to_string(rowgate::cluster::embedded::secret_path(&cwd)).map(|s| s.trim().to_string()).map_err(|_| {
                "ROWGATE_JWT_SECRET: not set, and no embedded default secret in ./.rowgate/jwt_secret (start rowgate once first)"
                    .to_string()
            })?
        }
    };
    if secret.starts_with('{') || secret.starts_with('@') {
        return Err("ROWGATE_JWT_SECRET: `rowgate token` signs only with a plain HS256 secret".into());
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let exp = (now as i64).saturating_add(args.expires_in);
    let mut claims = serde_json::json!({"role": args.role, "iat": now, "exp": exp});
    if let Some(sub) = args.sub {
        claims["sub"] = sub.into();
    }
    for kv in args.claims {
        let (k, v) = kv.split_once('=').ok_or_else(|| format!("--claim {kv}: expected KEY=VALUE"))?;
        claims[k] = serde_json::from_str(v).unwrap_or_else(|_| serde_json::Value::String(v.to_string()));
    }
    println!("{}", rowgate::auth::mint_hs256(&secret, &claims));
    Ok(())
}

//! docker-compose.yml, .env.example and the Dockerfile, without a Docker engine: the compose
//! file is parsed (yaml_serde) and its structure checked (services, a healthcheck on every
//! long-running one, depends_on conditions, volumes, no fixed host port or name on the scalable
//! rowgate service, Caddy finding the replicas by DNS), every variable it reads is in
//! .env.example, every setting of README's table reaches the rowgate containers, and every
//! command it runs is a real one and is run here as compose would run it, against a throwaway
//! PostgreSQL cluster:
//! - postgres' healthcheck (`pg_isready …`) and the `authenticator-password` psql step: here;
//! - `rowgate migrate` (service migrate): here, and tests/it/migrate.rs::the_cli_migrates_and_reports;
//! - `rowgate serve` with the service's environment, then its healthcheck (bash /dev/tcp to
//!   /ready): here; the binary also in tests/it/cli.rs;
//! - `rowgate keys generate [--secret]` (.env.example's instructions): here and tests/it/keys.rs;
//! - Caddy with the service's environment: `caddy adapt` and `caddy validate` here (with the
//!   passive health settings that DNS discovery relies on), and `caddy run` with the service's
//!   healthcheck (wget to the admin API) here; the same Caddyfile serves for real in
//!   tests/it/caddy.rs;
//! - `scripts/backup` (service backup): tests/it/backup.rs.
//!
//! Also the signing-key rotation of docs/operations.md, done with the values .env holds.

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::connect;
use rowgate::cluster;

const BIN: &str = env!("CARGO_BIN_EXE_rowgate");

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(file: &str) -> String {
    std::fs::read_to_string(root().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// docker-compose.yml as JSON, with the `<<` merge keys applied.
fn compose() -> Value {
    let mut yaml: yaml_serde::Value = yaml_serde::from_str(&read("docker-compose.yml")).expect("valid YAML");
    yaml.apply_merge().expect("merge keys");
    serde_json::to_value(&yaml).expect("as JSON")
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|s| s.as_str().expect("string").into())
        .collect()
}

fn is_var_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

/// Compose's interpolation: `$$`, `${NAME}`, `${NAME:-default}`, `${NAME-default}`,
/// `${NAME:?error}`, `${NAME?error}`. Unbraced `$NAME` is refused (this file does not use it).
fn interpolate(text: &str, env: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        if let Some(r) = rest.strip_prefix("$$") {
            out.push('$');
            rest = r;
            continue;
        }
        let Some(r) = rest.strip_prefix("${") else {
            return Err(format!("unbraced variable in {text:?}"));
        };
        let end = r.find('}').ok_or_else(|| format!("unclosed ${{ in {text:?}"))?;
        let expr = &r[..end];
        rest = &r[end + 1..];
        let name_len = expr.find([':', '-', '?']).unwrap_or(expr.len());
        let (name, op) = expr.split_at(name_len);
        let value = env.get(name);
        let set_nonempty = value.is_some_and(|v| !v.is_empty());
        let resolved = if let Some(default) = op.strip_prefix(":-") {
            if set_nonempty {
                value.cloned().unwrap()
            } else {
                default.to_string()
            }
        } else if let Some(default) = op.strip_prefix('-') {
            value.cloned().unwrap_or_else(|| default.to_string())
        } else if let Some(error) = op.strip_prefix(":?") {
            if !set_nonempty {
                return Err(format!("{name}: {error}"));
            }
            value.cloned().unwrap()
        } else if let Some(error) = op.strip_prefix('?') {
            value.cloned().ok_or_else(|| format!("{name}: {error}"))?
        } else if op.is_empty() {
            value.cloned().unwrap_or_default()
        } else {
            return Err(format!("unsupported interpolation ${{{expr}}}"));
        };
        out.push_str(&resolved);
    }
    out.push_str(rest);
    Ok(out)
}

/// Every `${NAME…}` in a text, and whether each is required (`:?` / `?`).
fn variables(text: &str) -> BTreeMap<String, bool> {
    let mut out = BTreeMap::new();
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        rest = &rest[i + 1..];
        if let Some(r) = rest.strip_prefix('$') {
            rest = r;
            continue;
        }
        if let Some(r) = rest.strip_prefix('{') {
            let name: String = r.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            let required = r[name.len()..].starts_with(":?") || r[name.len()..].starts_with('?');
            *out.entry(name).or_insert(false) |= required;
        }
    }
    out
}

/// .env.example: `(assigned, commented)`: `NAME=value` lines, and `# NAME=value` lines.
fn env_example() -> (BTreeMap<String, String>, BTreeSet<String>) {
    let mut assigned = BTreeMap::new();
    let mut commented = BTreeSet::new();
    for line in read(".env.example").lines() {
        let (is_comment, body) = match line.strip_prefix('#') {
            Some(b) => (true, b.trim_start()),
            None => (false, line.trim()),
        };
        let Some((name, value)) = body.split_once('=') else { continue };
        if !is_var_name(name) {
            continue;
        }
        if is_comment {
            commented.insert(name.to_string());
        } else {
            let value = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')).unwrap_or(value);
            assigned.insert(name.to_string(), value.to_string());
        }
    }
    (assigned, commented)
}

/// The variables of README's configuration table.
fn readme_settings() -> Vec<String> {
    let readme = read("README.md");
    let section = readme.split("## Configuration").nth(1).expect("README has a Configuration section");
    let mut out = Vec::new();
    for line in section.lines().skip_while(|l| !l.starts_with('|')).take_while(|l| l.starts_with('|')) {
        let first = line.split('|').nth(1).unwrap_or_default();
        out.extend(first.split('`').skip(1).step_by(2).filter(|s| is_var_name(s)).map(str::to_string));
    }
    assert!(out.len() >= 20, "README's table gave only {out:?}");
    out
}

/// The environment variables `rowgate serve` reads (clap's `[env: NAME…]`).
fn serve_env_names() -> BTreeSet<String> {
    let out = Command::new(BIN).args(["serve", "--help"]).env_clear().output().expect("rowgate serve --help");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout).to_string();
    help.split("[env: ")
        .skip(1)
        .map(|s| s.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect())
        .collect()
}

fn env_map(v: &Value) -> BTreeMap<String, Value> {
    v.as_object().map(|m| m.clone().into_iter().collect()).unwrap_or_default()
}

#[test]
fn the_compose_file_has_the_deployment_shape() {
    let c = compose();
    let services = c["services"].as_object().expect("services");
    let names: BTreeSet<&str> = services.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        BTreeSet::from(["authenticator-password", "backup", "caddy", "migrate", "postgres", "rowgate"]),
        "services"
    );
    let s = |name: &str| &c["services"][name];

    // postgres: the official image, a named volume for its data, pg_isready as healthcheck.
    assert!(s("postgres")["image"].as_str().unwrap().starts_with("postgres:"));
    assert!(strings(&s("postgres")["volumes"]).contains(&"pgdata:/var/lib/postgresql/data".to_string()));
    assert_eq!(s("postgres")["healthcheck"]["test"][1], "pg_isready");

    // migrate: one shot, after postgres is healthy, as the superuser.
    assert_eq!(strings(&s("migrate")["command"]), ["migrate"]);
    assert_eq!(s("migrate")["depends_on"]["postgres"]["condition"], "service_healthy");
    assert_eq!(s("migrate")["restart"], "no");
    assert!(s("migrate")["environment"]["DATABASE_URL"].as_str().unwrap().starts_with("postgres://postgres:"));
    assert_eq!(s("authenticator-password")["depends_on"]["migrate"]["condition"], "service_completed_successfully");

    // rowgate: scalable (no host port, no container name), ready-checked, after the one-shots.
    let rowgate = s("rowgate");
    assert!(rowgate.get("ports").is_none(), "rowgate must not publish host ports (it could not scale)");
    assert!(rowgate.get("container_name").is_none(), "a fixed container name prevents --scale");
    assert_eq!(strings(&rowgate["command"]), ["serve"]);
    assert_eq!(strings(&rowgate["expose"]), ["3000", "3001"]);
    assert!(rowgate["deploy"]["replicas"].as_u64().unwrap() >= 2, "HA by default");
    for dep in ["migrate", "authenticator-password"] {
        assert_eq!(rowgate["depends_on"][dep]["condition"], "service_completed_successfully", "{dep}");
    }
    let check = strings(&rowgate["healthcheck"]["test"]).join(" ");
    assert!(check.contains("/dev/tcp/127.0.0.1/3001") && check.contains("GET /ready"), "{check}");
    let env = &rowgate["environment"];
    assert!(env["DATABASE_URL"].as_str().unwrap().starts_with("postgres://authenticator:"), "not the superuser");
    assert_eq!(env["ROWGATE_LISTEN"], "0.0.0.0:3000");
    assert_eq!(env["ROWGATE_ADMIN_LISTEN"], "0.0.0.0:3001");
    // Realtime: logical decoding on the database, the replication login (not the superuser, not
    // authenticator), no fixed slot name (each replica derives its own).
    let pg_command = strings(&s("postgres")["command"]).join(" ");
    for setting in ["wal_level=logical", "max_replication_slots=", "max_wal_senders=", "max_slot_wal_keep_size="] {
        assert!(pg_command.contains(setting), "postgres lacks {setting}: {pg_command}");
    }
    assert!(env["ROWGATE_REALTIME_DB_URL"].as_str().unwrap().starts_with("postgres://rowgate_replication:"));
    assert!(env["ROWGATE_REALTIME_SLOT"].is_null(), "a fixed slot would be shared by every replica");

    // Every service that keeps running (not a one-shot, not behind a profile) is health checked,
    // so `docker compose ps` and `depends_on: service_healthy` mean something for each.
    for (name, svc) in services {
        let one_shot = svc.get("restart").and_then(Value::as_str) == Some("no") || svc.get("profiles").is_some();
        if !one_shot {
            let test = svc["healthcheck"]["test"].as_array().map(Vec::len).unwrap_or(0);
            assert!(test >= 2, "{name} runs for good but has no healthcheck");
            assert!(svc["healthcheck"]["interval"].is_string(), "{name}: healthcheck interval");
        }
    }

    // caddy: the official (Alpine) image, the committed Caddyfile, 80/443, a data volume (its CA
    // and certificates), every rowgate replica through Docker's DNS name.
    let caddy = s("caddy");
    assert!(caddy["image"].as_str().unwrap().starts_with("caddy:2-alpine"));
    let volumes = strings(&caddy["volumes"]);
    assert!(volumes.contains(&"./Caddyfile:/etc/caddy/Caddyfile:ro".to_string()), "{volumes:?}");
    assert!(volumes.contains(&"caddy_data:/data".to_string()), "{volumes:?}");
    let ports = strings(&caddy["ports"]);
    assert!(ports.iter().any(|p| p.ends_with(":80")) && ports.iter().any(|p| p.ends_with(":443")), "{ports:?}");
    assert_eq!(caddy["environment"]["ROWGATE_DISCOVERY"], "dns");
    assert_eq!(
        caddy["environment"]["ROWGATE_DNS_NAME"], "rowgate",
        "the service name, which resolves to every replica"
    );
    assert_eq!(caddy["environment"]["ROWGATE_PORT"], "3000");
    assert_eq!(caddy["environment"]["ROWGATE_ADMIN_PORT"], "3001");
    assert_eq!(caddy["depends_on"]["rowgate"]["condition"], "service_healthy");
    // Its healthcheck asks Caddy's admin API with what the Alpine image has (busybox wget; no
    // bash, no curl in older tags); the_caddy_healthcheck_runs_against_real_caddy runs it.
    let check = strings(&caddy["healthcheck"]["test"]);
    assert_eq!(check[..2], ["CMD", "wget"], "{check:?}");
    assert!(check.last().unwrap().starts_with("http://127.0.0.1:2019/"), "{check:?}");
    assert!(caddy["environment"].get("CADDY_ADMIN").is_none(), "the healthcheck expects the default admin address");
    assert!(read("Caddyfile").contains("admin {$CADDY_ADMIN:localhost:2019}"));

    // Only Caddy publishes ports; the backup job is not started by `up`.
    for (name, svc) in services {
        if name != "caddy" {
            assert!(svc.get("ports").is_none(), "{name} publishes ports");
        }
    }
    assert_eq!(strings(&s("backup")["profiles"]), ["backup"]);
    assert_eq!(strings(&s("backup")["entrypoint"]), ["/scripts/backup"]);
    assert!(strings(&s("backup")["volumes"]).contains(&"./scripts:/scripts:ro".to_string()));
    assert!(root().join("scripts/backup").is_file());

    // Named volumes are declared.
    let declared: BTreeSet<&str> = c["volumes"].as_object().expect("volumes").keys().map(String::as_str).collect();
    for (name, svc) in services {
        for v in svc.get("volumes").map(strings).unwrap_or_default() {
            let source = v.split(':').next().unwrap();
            if !source.starts_with(['.', '/', '$']) {
                assert!(declared.contains(source), "{name}: volume {source} not declared");
            }
        }
    }
}

#[test]
fn every_variable_is_in_env_example_and_every_setting_reaches_rowgate() {
    let text = read("docker-compose.yml");
    let (assigned, commented) = env_example();
    let listed = |v: &str| assigned.contains_key(v) || commented.contains(v);
    for (var, required) in variables(&text) {
        assert!(listed(&var), "docker-compose.yml reads ${{{var}}}, which .env.example does not list");
        if required {
            assert!(assigned.contains_key(&var), "{var} is required: .env.example must have a `{var}=` line");
        }
    }
    let c = compose();
    let rowgate_env = env_map(&c["services"]["rowgate"]["environment"]);
    // Keys without a value are passed through from .env: they must be listed there too.
    for (k, v) in &rowgate_env {
        if v.is_null() {
            assert!(listed(k), "{k} is passed through but not in .env.example");
        }
    }
    // Every setting of README's table reaches the rowgate containers, and .env.example names it.
    let example = read(".env.example");
    for setting in readme_settings() {
        assert!(rowgate_env.contains_key(&setting), "{setting} (README) is not in rowgate's environment");
        assert!(example.contains(&setting), "{setting} (README) is not mentioned in .env.example");
    }
    // And every rowgate variable used is one rowgate reads.
    let known = serve_env_names();
    let mut used: BTreeSet<String> = rowgate_env.keys().cloned().collect();
    // (.env.example's ROWGATE_* lines, except those compose itself reads, like ROWGATE_IMAGE.)
    let compose_vars = variables(&text);
    used.extend(
        assigned
            .keys()
            .chain(commented.iter())
            .filter(|k| k.starts_with("ROWGATE_") && (rowgate_env.contains_key(*k) || !compose_vars.contains_key(*k)))
            .cloned(),
    );
    used.extend(env_map(&c["services"]["migrate"]["environment"]).into_keys());
    for var in used {
        assert!(known.contains(&var), "{var} is not a setting of `rowgate serve` ({known:?})");
    }
    // The one-shot commands are real subcommands.
    for svc in ["migrate", "rowgate"] {
        let cmd = strings(&c["services"][svc]["command"]);
        let out = Command::new(BIN).args(&cmd).arg("--help").env_clear().output().expect("help");
        assert!(out.status.success(), "`rowgate {cmd:?} --help` failed: {out:?}");
    }
}

#[test]
fn the_dockerfile_is_multi_stage_locked_and_unprivileged() {
    let text = read("Dockerfile");
    // Instructions with their continuation lines joined.
    let joined = text.replace("\\\n", " ");
    let lines: Vec<&str> = joined.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    let froms: Vec<&str> = lines.iter().copied().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(froms.len(), 2, "{froms:?}");
    assert!(froms[0].starts_with("FROM rust:1-bookworm AS "), "{froms:?}");
    assert_eq!(froms[1], "FROM debian:bookworm-slim");
    assert!(joined.contains("cargo build --release --locked"), "a build that honours Cargo.lock");
    let runtime = &lines[lines.iter().position(|l| *l == froms[1]).unwrap()..];
    assert!(runtime.iter().any(|l| l.contains("ca-certificates") && l.contains("--no-install-recommends")));
    assert!(runtime.iter().any(|l| l.starts_with("COPY --from=")), "only the binary comes from the builder");
    let user = runtime.iter().find(|l| l.starts_with("USER ")).expect("a USER in the runtime stage");
    let uid = user["USER ".len()..].split(':').next().unwrap();
    assert!(!["root", "0"].contains(&uid), "{user}");
    assert!(runtime.contains(&"EXPOSE 3000 3001"));
    assert!(runtime.contains(&r#"ENTRYPOINT ["rowgate"]"#) && runtime.contains(&r#"CMD ["serve"]"#));
    // The image's healthcheck is the compose healthcheck.
    let hc = runtime.iter().find(|l| l.starts_with("HEALTHCHECK ")).expect("HEALTHCHECK");
    let exec: Vec<String> = serde_json::from_str(&hc[hc.find("CMD [").unwrap() + 4..]).expect("exec form");
    assert_eq!(
        Value::from(exec),
        Value::from(strings(&compose()["services"]["rowgate"]["healthcheck"]["test"])[1..].to_vec())
    );
    // The image's listen addresses are what compose and Caddy expect.
    assert!(joined.contains("ROWGATE_LISTEN=0.0.0.0:3000") && joined.contains("ROWGATE_ADMIN_LISTEN=0.0.0.0:3001"));
    // The build context never carries secrets or build output.
    let ignore = read(".dockerignore");
    for entry in [".env", "target", ".git", "**/node_modules"] {
        assert!(ignore.lines().any(|l| l.trim() == entry), ".dockerignore lacks {entry}");
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn run_ok(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{what} failed ({}): {text}", out.status);
    text
}

/// The rowgate healthcheck of docker-compose.yml, aimed at `admin_port`: did it pass?
fn healthcheck(test: &[String], admin_port: u16) -> bool {
    assert_eq!(test[..3], ["CMD", "bash", "-c"]);
    let script = test[3].replace("/dev/tcp/127.0.0.1/3001", &format!("/dev/tcp/127.0.0.1/{admin_port}"));
    Command::new("bash").arg("-c").arg(script).stderr(Stdio::null()).status().expect("bash").success()
}

/// What `docker compose up` runs, in order, without Docker: against a fresh cluster, with a .env
/// made from .env.example and the keys its instructions generate.
#[tokio::test(flavor = "multi_thread")]
async fn the_compose_commands_run_as_compose_runs_them() {
    // Its clusters are its own, not the harness's: reqwest's provider is set here.
    crate::harness::install_crypto_provider();
    let c = compose();
    let svc = |name: &str| c["services"][name].clone();
    let db = cluster::start_throwaway().await.expect("cluster");
    connect(&db.conn_string("postgres", "postgres")).await.batch_execute("create database app").await.expect("db");
    let pg_env = [
        ("PGHOST", db.socket_dir().to_string_lossy().to_string()),
        ("PGPORT", db.port().to_string()),
        ("PGUSER", "postgres".to_string()),
    ];

    // .env as an operator makes it from .env.example.
    let (mut dotenv, _) = env_example();
    dotenv.insert("POSTGRES_PASSWORD".into(), "0123456789abcdef0123456789abcdef".into());
    dotenv.insert("AUTHENTICATOR_PASSWORD".into(), "fedcba9876543210fedcba9876543210".into());
    dotenv.insert("REALTIME_REPLICATION_PASSWORD".into(), "00112233445566778899aabbccddeeff".into());
    let generate = |args: &[&str]| run_ok(Command::new(BIN).arg("keys").arg("generate").args(args), "keys generate");
    dotenv.insert("ROWGATE_JWT_SECRET".into(), generate(&["--secret"]).trim().to_string());
    dotenv.insert("ROWGATE_JWT_SIGNING_KEY".into(), generate(&[]).trim().to_string());
    let interp = |v: &Value| interpolate(v.as_str().expect("string"), &dotenv).expect("interpolates");

    // postgres' healthcheck.
    let check: Vec<String> =
        strings(&svc("postgres")["healthcheck"]["test"]).iter().map(|s| interp(&s.clone().into())).collect();
    assert_eq!(check[0], "CMD");
    run_ok(Command::new(&check[1]).args(&check[2..]).envs(pg_env.clone()), "postgres healthcheck");

    // migrate, as the superuser (the URL's host is the compose service; here the socket).
    let migrate_url = interp(&svc("migrate")["environment"]["DATABASE_URL"]);
    assert_eq!(migrate_url, "postgres://postgres:0123456789abcdef0123456789abcdef@postgres:5432/app");
    let out = run_ok(
        Command::new(BIN)
            .args(strings(&svc("migrate")["command"]))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", db.conn_string("postgres", "app")),
        "rowgate migrate",
    );
    assert!(out.contains("migration(s) applied"), "{out}");

    // authenticator-password: its bash -c command with the service's environment.
    let ap = svc("authenticator-password");
    assert_eq!(strings(&ap["entrypoint"]), ["bash", "-c"]);
    let script = interp(&ap["command"][0]);
    let mut env: BTreeMap<String, String> =
        env_map(&ap["environment"]).iter().map(|(k, v)| (k.clone(), interp(v))).collect();
    env.extend(pg_env.iter().map(|(k, v)| (k.to_string(), v.clone())));
    env.insert("PGDATABASE".into(), "app".into());
    env.remove("PGPASSWORD"); // the throwaway cluster trusts local connections
    run_ok(Command::new("bash").arg("-c").arg(&script).envs(&env), "authenticator-password");
    let admin = connect(&db.conn_string("postgres", "app")).await;
    let hash: String = admin
        .query_one("select rolpassword from pg_authid where rolname = 'authenticator'", &[])
        .await
        .expect("authenticator")
        .get(0);
    assert!(hash.starts_with("SCRAM-SHA-256$"), "{hash}");
    let hash: String = admin
        .query_one("select rolpassword from pg_authid where rolname = 'rowgate_replication' and rolreplication", &[])
        .await
        .expect("rowgate_replication, with REPLICATION")
        .get(0);
    assert!(hash.starts_with("SCRAM-SHA-256$"), "{hash}");

    // rowgate serve with the service's environment (only the addresses changed: the database
    // is the socket, the listeners loopback ports).
    let rowgate = svc("rowgate");
    let mut env = BTreeMap::new();
    for (k, v) in env_map(&rowgate["environment"]) {
        match v {
            Value::Null => {
                if let Some(val) = dotenv.get(&k) {
                    env.insert(k, val.clone());
                }
            }
            v => {
                env.insert(k, interp(&v));
            }
        }
    }
    assert_eq!(env["DATABASE_URL"], "postgres://authenticator:fedcba9876543210fedcba9876543210@postgres:5432/app");
    assert_eq!(env["ROWGATE_DB_PRE_REQUEST"], "internal.check_request");
    let (api, admin_port) = (free_port(), free_port());
    env.insert("DATABASE_URL".into(), db.conn_string("authenticator", "app"));
    env.insert("ROWGATE_LISTEN".into(), format!("127.0.0.1:{api}"));
    env.insert("ROWGATE_ADMIN_LISTEN".into(), format!("127.0.0.1:{admin_port}"));
    let test = strings(&rowgate["healthcheck"]["test"]);
    assert!(!healthcheck(&test, admin_port), "healthy before it started");
    let mut child = Command::new(BIN)
        .args(strings(&rowgate["command"]))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(&env)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rowgate serve");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !healthcheck(&test, admin_port) {
        if Instant::now() > deadline || child.try_wait().expect("wait").is_some() {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!("rowgate never became healthy: {}", String::from_utf8_lossy(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let jwks: Value = reqwest::get(format!("http://127.0.0.1:{api}/auth/v1/.well-known/jwks.json"))
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    let key: Value = serde_json::from_str(&dotenv["ROWGATE_JWT_SIGNING_KEY"]).expect("jwk");
    assert_eq!(jwks["keys"][0]["kid"], key["kid"], "the signing key from .env is in use");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM)
        .expect("SIGTERM");
    let status = child.wait().expect("exit");
    assert!(status.success(), "rowgate exits cleanly on SIGTERM (docker compose stop): {status}");
    assert!(!healthcheck(&test, admin_port), "healthy after it stopped");

    // caddy: the Caddyfile with the service's environment adapts to one upstream per replica.
    let caddy_env: BTreeMap<String, String> =
        env_map(&svc("caddy")["environment"]).iter().map(|(k, v)| (k.clone(), interp(v))).collect();
    let out = Command::new("caddy")
        .args(["adapt", "--adapter", "caddyfile", "--config"])
        .arg(root().join("Caddyfile"))
        .envs(&caddy_env)
        .output()
        .expect("caddy adapt (apt-get install caddy)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let config = String::from_utf8_lossy(&out.stdout);
    assert!(config.contains(r#""dynamic_upstreams":{"name":"rowgate","port":"3000""#), "{config}");
    assert!(config.contains(r#""subjects":["localhost"]"#) && config.contains(r#""module":"internal""#), "{config}");
    // No active health checks run on DNS-discovered upstreams, so what protects requests is all
    // in the passive settings: retry elsewhere when an instance cannot be reached, avoid it for
    // a while, and never reuse an idle connection that rowgate may be closing.
    let config: Value = serde_json::from_str(&config).expect("JSON config");
    let (health, proxies): (Vec<&Value>, Vec<&Value>) =
        reverse_proxies(&config).into_iter().partition(|p| p.to_string().contains(r#""port":"3001""#));
    assert_eq!(health.len(), 1, "the public /health asks the admin port: {health:?}");
    assert_eq!(proxies.len(), 3, "/rest/v1, /auth/v1 and /realtime/v1");
    for p in proxies {
        assert!(p["health_checks"].get("active").is_none(), "ignored on dynamic upstreams: {p}");
        assert!(p["health_checks"]["passive"]["fail_duration"].as_u64().unwrap_or(0) > 0, "{p}");
        assert!(p["load_balancing"]["try_duration"].as_u64().unwrap_or(0) > 0, "{p}");
        let keep = &p["transport"]["keep_alive"];
        let idle = Duration::from_nanos(keep["idle_timeout"].as_u64().expect("keepalive set"));
        assert!(idle < rowgate::config::Limits::default().idle_timeout, "Caddy keeps idle connections {idle:?}");
        assert!(keep["max_idle_conns_per_host"].as_u64().unwrap_or(0) >= 32, "{p}");
    }
    // And real Caddy accepts the whole configuration (modules provisioned, not only parsed).
    let scratch = tempfile::tempdir().expect("temp dir");
    let out = Command::new("caddy")
        .args(["validate", "--adapter", "caddyfile", "--config"])
        .arg(root().join("Caddyfile"))
        .envs(&caddy_env)
        .env("HOME", scratch.path())
        .env("XDG_DATA_HOME", scratch.path().join("data"))
        .env("XDG_CONFIG_HOME", scratch.path().join("config"))
        .output()
        .expect("caddy validate");
    assert!(out.status.success(), "caddy validate: {}", String::from_utf8_lossy(&out.stderr));
    db.stop().await.expect("stop cluster");
}

/// Every `reverse_proxy` handler of an adapted Caddy configuration.
fn reverse_proxies(config: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    let mut stack = vec![config];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(m) if m.get("handler").and_then(Value::as_str) == Some("reverse_proxy") => out.push(v),
            Value::Object(m) => stack.extend(m.values()),
            Value::Array(a) => stack.extend(a),
            _ => {}
        }
    }
    out
}

/// Kills the process when dropped, also when the test panics.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The caddy service's healthcheck, run as compose runs it against real Caddy started with the
/// service's environment (only the ports moved off 80/443/2019; GNU wget here, busybox wget in
/// the image, same flags): unhealthy before Caddy runs, healthy while it runs, unhealthy after.
#[test]
fn the_caddy_healthcheck_runs_against_real_caddy() {
    let c = compose();
    let caddy = &c["services"]["caddy"];
    let (dotenv, _) = env_example();
    let mut env: BTreeMap<String, String> = env_map(&caddy["environment"])
        .iter()
        .map(|(k, v)| (k.clone(), interpolate(v.as_str().expect("string"), &dotenv).expect("interpolates")))
        .collect();
    let (http, https, admin) = (free_port(), free_port(), free_port());
    let dir = tempfile::tempdir().expect("temp dir");
    env.insert("SITE_ADDRESS".into(), format!("{}:{https}", env["SITE_ADDRESS"]));
    env.insert("CADDY_HTTP_PORT".into(), http.to_string());
    env.insert("CADDY_HTTPS_PORT".into(), https.to_string());
    // The Caddyfile's default admin host (localhost), on a free port.
    env.insert("CADDY_ADMIN".into(), format!("localhost:{admin}"));
    env.insert("SITE_ROOT".into(), dir.path().to_string_lossy().into());
    let test: Vec<String> = strings(&caddy["healthcheck"]["test"])
        .iter()
        .map(|s| s.replace("127.0.0.1:2019", &format!("127.0.0.1:{admin}")))
        .collect();
    assert_eq!(test[0], "CMD");
    let healthy = || {
        Command::new(&test[1])
            .args(&test[2..])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("wget (Debian package wget)")
            .success()
    };
    assert!(!healthy(), "healthy before Caddy started");
    let mut caddy = KillOnDrop(
        Command::new("caddy")
            .args(["run", "--adapter", "caddyfile", "--config"])
            .arg(root().join("Caddyfile"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", dir.path())
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .envs(&env)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("caddy.log")).expect("log file"))
            .spawn()
            .expect("caddy run (apt-get install caddy)"),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !healthy() {
        if Instant::now() > deadline || caddy.0.try_wait().expect("wait").is_some() {
            let log = std::fs::read_to_string(dir.path().join("caddy.log")).unwrap_or_default();
            panic!("Caddy never became healthy: {log}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(caddy);
    assert!(!healthy(), "healthy after Caddy stopped");
}

#[test]
fn interpolation_follows_compose() {
    let env = BTreeMap::from([("A".to_string(), "x".to_string()), ("E".to_string(), String::new())]);
    assert_eq!(interpolate("${A}-${B:-d}-${E:-d}-${E-d}-$$A", &env).unwrap(), "x-d-d--$A");
    assert!(interpolate("${B:?missing}", &env).unwrap_err().contains("missing"));
    assert!(interpolate("${E:?empty}", &env).is_err());
    assert_eq!(interpolate("${E?set}", &env).unwrap(), "");
    assert!(interpolate("$A", &env).is_err());
    assert_eq!(
        variables("${A:?x} ${B:-y} $${C} ${D}"),
        BTreeMap::from([("A".into(), true), ("B".into(), false), ("D".into(), false)])
    );
}

async fn post(g: &crate::harness::Gateway, path: &str, body: Value) -> crate::harness::Reply {
    g.send(reqwest::Method::POST, path, &[], &body.to_string()).await
}

/// Does `/auth/v1/user` accept the bearer token?
async fn verifies(g: &crate::harness::Gateway, bearer: &str) -> bool {
    g.get_with("/auth/v1/user", &[("authorization", bearer)]).await.status == 200
}

/// docs/operations.md's signing-key rotation, with the values .env would hold: the old and the
/// new key are trusted side by side through ROWGATE_JWT_SECRET as a JWKS (the HS256 secret as an
/// `oct` key next to the public halves), so at every step of a rolling restart a token signed by
/// any instance verifies on every other, and a session started before the rotation refreshes
/// after it: nobody is logged out.
#[tokio::test(flavor = "multi_thread")]
async fn signing_keys_rotate_without_logging_anyone_out() {
    use crate::harness::{config, token, Gateway, TestDb, SECRET};
    use base64::Engine as _;
    use rowgate::auth::signing::SigningKey;

    let db = TestDb::new().await;
    db.admin()
        .await
        .batch_execute("insert into auth.users (email, encrypted_password) values ('rot@example.com', crypt('correct horse', gen_salt('bf', 4)))")
        .await
        .expect("user");
    let (k1, k2) = (SigningKey::generate_jwk().expect("k1"), SigningKey::generate_jwk().expect("k2"));
    let public = |k: &str| SigningKey::parse(k).expect("key").jwks()["keys"][0].clone();
    let oct = serde_json::json!({"kty": "oct", "k": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(SECRET)});
    let jwks = |extra: &str| serde_json::json!({"keys": [oct.clone(), public(extra)]}).to_string();
    // (ROWGATE_JWT_SECRET, ROWGATE_JWT_SIGNING_KEY) of each phase.
    let phases = [
        ("0: before", SECRET.to_string(), k1.clone()),
        ("1: trust the new key", jwks(&k2), k1.clone()),
        ("2: sign with the new key, trust the old", jwks(&k1), k2.clone()),
        ("3: after the access-token lifetime", SECRET.to_string(), k2.clone()),
    ];
    let mut gateways = Vec::new();
    for (name, secret, key) in &phases {
        let cfg = config(&db, |a| {
            a.jwt_secret = Some(secret.clone());
            a.jwt_signing_key = Some(key.clone());
            a.db_pre_request = Some("internal.check_request".into());
        });
        gateways.push((*name, Gateway::start_on(TestDb { name: db.name.clone() }, cfg).await));
    }
    let anon = format!("Bearer {}", token(serde_json::json!({"role": "anon"})));

    // A session from before the rotation (signed with k1).
    let r = post(
        &gateways[0].1,
        "/auth/v1/token?grant_type=password",
        serde_json::json!({"email": "rot@example.com", "password": "correct horse"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let old = r.json();
    let old_bearer = format!("Bearer {}", old["access_token"].as_str().unwrap());

    // Phases 0–2 run side by side during the rolling restarts: a k1 token verifies on all of them.
    for (name, g) in &gateways[..3] {
        assert!(verifies(g, &old_bearer).await, "phase {name} refuses a k1 token");
        assert_eq!(g.get_with("/whoami", &[("authorization", &anon)]).await.status, 200, "phase {name}: anon key");
    }
    // Phase 2 refreshes the old session into a k2 token, which phases 1–3 accept.
    let r = post(
        &gateways[2].1,
        "/auth/v1/token?grant_type=refresh_token",
        serde_json::json!({"refresh_token": old["refresh_token"]}),
    )
    .await;
    assert_eq!(r.status, 200, "the pre-rotation refresh token still works: {}", r.body);
    let new_bearer = format!("Bearer {}", r.json()["access_token"].as_str().unwrap());
    for (name, g) in &gateways[1..] {
        assert!(verifies(g, &new_bearer).await, "phase {name} refuses a k2 token");
    }
    // Phase 0 would not (so phase 1 must be everywhere before phase 2 starts), and phase 3 no
    // longer takes k1 tokens (so it waits until every k1 token has expired: ROWGATE_JWT_EXP).
    assert!(!verifies(&gateways[0].1, &new_bearer).await);
    assert!(!verifies(&gateways[3].1, &old_bearer).await);
    assert_eq!(gateways[3].1.get_with("/whoami", &[("authorization", &anon)]).await.status, 200);
}

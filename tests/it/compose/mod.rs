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
//! Here: the files' shape and variables; `run.rs`: the commands run as compose runs them;
//! `keys.rs`: the key rotation.

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

mod keys;
mod run;

//! scripts/backup and scripts/restore, end to end, as docs/operations.md tells an operator to
//! rehearse them: a populated reference database (orgs, members with passwords, projects, tasks
//! written over HTTP so the audit log fills, an API token, a signed-in session) on one throwaway
//! cluster is backed up, restored into a fresh second cluster, and then
//! - every table's rows (count and digest), every sequence, the roles and their memberships, the
//!   owners, grants, policies and RLS flags (enabled and forced) are the same on both;
//! - the SQL isolation suite (scripts/isolation-suite) passes on the restored copy;
//! - rowgate serves the restored copy: reads through RLS, the old API token, password sign-in.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::{connect, token, SECRET};
use crate::tenants::{MEMBER_A, ORG_A, ORG_B, OWNER_A, OWNER_B, PROJ_A};
use rowgate::app::{self, Running};
use rowgate::cluster::{self, Cluster};
use rowgate::config::{Config, ServeArgs};

const PASSWORD: &str = "correct horse battery";

/// On top of the shared tenant world: 50 more tasks in org B.
const MORE_B_TASKS: &str = r#"
insert into api.tasks (org_id, project_id, title)
  select '0b000000-0000-0000-0000-000000000000', '1b000000-0000-0000-0000-000000000001', 'b task ' || i
    from generate_series(1, 50) i;
"#;

/// Everything a restore must reproduce, as one JSON value: roles and memberships, schemas,
/// relations (owner, RLS enabled/forced, ACL; an ACL equal to the owner's defaults is written out,
/// as pg_dump rightly omits it), policies, functions (owner, ACL, SECURITY
/// DEFINER, settings), default privileges, extensions, triggers, and sequences' positions.
const CATALOG: &str = r#"
select json_build_object(
  'roles', (select json_agg(json_build_object('name', rolname, 'super', rolsuper, 'inherit', rolinherit,
              'login', rolcanlogin, 'bypassrls', rolbypassrls, 'createrole', rolcreaterole,
              'createdb', rolcreatedb, 'password', rolpassword is not null) order by rolname)
            from pg_authid where rolname !~ '^pg_' and rolname <> 'postgres'),
  'members', (select json_agg(m order by m) from (
                select format('%s in %s, admin %s', pg_get_userbyid(member), pg_get_userbyid(roleid), admin_option) m
                  from pg_auth_members where pg_get_userbyid(roleid) !~ '^pg_') x),
  'schemas', (select json_object_agg(nspname, json_build_object('owner', pg_get_userbyid(nspowner), 'acl', coalesce(nspacl, acldefault('n', nspowner))::text))
              from pg_namespace where nspname !~ '^pg_' and nspname <> 'information_schema'),
  'relations', (select json_object_agg(format('%I.%I', n.nspname, c.relname), json_build_object(
                   'kind', c.relkind, 'owner', pg_get_userbyid(c.relowner), 'rls', c.relrowsecurity,
                   'force_rls', c.relforcerowsecurity,
                   'acl', coalesce(c.relacl, acldefault(case c.relkind when 'S' then 's' else 'r' end::"char", c.relowner))::text, 'options', c.reloptions))
                from pg_class c join pg_namespace n on n.oid = c.relnamespace
               where n.nspname !~ '^pg_' and n.nspname <> 'information_schema'
                 and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')),
  'column_acls', (select json_object_agg(format('%s.%I', a.attrelid::regclass, a.attname), a.attacl::text)
                  from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
                 where a.attacl is not null and not a.attisdropped and n.nspname !~ '^pg_'),
  'policies', (select json_agg(p order by schemaname, tablename, policyname) from pg_policies p),
  'functions', (select json_object_agg(p.oid::regprocedure::text, json_build_object(
                   'owner', pg_get_userbyid(p.proowner), 'acl', coalesce(p.proacl, acldefault('f', p.proowner))::text, 'security_definer', p.prosecdef,
                   'config', p.proconfig, 'source', md5(p.prosrc)))
                from pg_proc p join pg_namespace n on n.oid = p.pronamespace
               where n.nspname !~ '^pg_' and n.nspname <> 'information_schema'),
  'default_acls', (select json_agg(d order by d) from (
                     select format('%s %s %s %s', pg_get_userbyid(defaclrole), defaclnamespace::regnamespace,
                                   defaclobjtype, defaclacl) d from pg_default_acl) x),
  'extensions', (select json_agg(extname || ' ' || extversion order by extname) from pg_extension),
  'triggers', (select json_agg(t order by t) from (
                 select pg_get_triggerdef(oid) || ' ' || tgenabled::text t from pg_trigger where not tgisinternal) x),
  'sequences', (select json_object_agg(format('%I.%I', schemaname, sequencename), last_value) from pg_sequences)
)::text
"#;

/// `(table, rows, digest)` of every table outside the system schemas, read as the superuser
/// (no row-level security applies to it).
async fn table_digests(conn: &str) -> Vec<(String, i64, String)> {
    let db = connect(conn).await;
    let tables: Vec<String> = db
        .query(
            "select format('%I.%I', n.nspname, c.relname) from pg_class c join pg_namespace n on n.oid = c.relnamespace
              where c.relkind in ('r', 'p') and n.nspname !~ '^pg_' and n.nspname <> 'information_schema' order by 1",
            &[],
        )
        .await
        .expect("list tables")
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut out = Vec::new();
    for t in tables {
        let q = format!("select count(*), md5(coalesce(string_agg(x::text, E'\\n' order by x::text), '')) from {t} x");
        let row = db.query_one(q.as_str(), &[]).await.unwrap_or_else(|e| panic!("{q}: {e}"));
        out.push((t, row.get(0), row.get(1)));
    }
    out
}

async fn catalog(conn: &str) -> Value {
    let row = connect(conn).await.query_one(CATALOG, &[]).await.expect("catalog snapshot");
    serde_json::from_str(row.get::<_, &str>(0)).expect("json")
}

/// A gateway on `database_url` (the authenticator), with the signing key and the session check.
async fn gateway(database_url: String, signing_key: &str) -> Running {
    let args = ServeArgs {
        database_url: Some(database_url),
        listen: Some("127.0.0.1:0".into()),
        admin_listen: Some("127.0.0.1:0".into()),
        jwt_secret: Some(SECRET.into()),
        jwt_signing_key: Some(signing_key.into()),
        db_pre_request: Some("internal.check_request".into()),
        log: Some("warn".into()),
        ..Default::default()
    };
    let running = app::start(Config::from_args(&args, &|_| None).expect("config")).await.expect("start rowgate");
    assert!(running.wait_ready(Duration::from_secs(10)).await, "schema cache never loaded");
    running
}

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    fn new(running: &Running) -> Api {
        // This test's clusters are its own, not the harness's: reqwest's provider is set here.
        crate::harness::install_crypto_provider();
        Api { http: reqwest::Client::new(), base: format!("http://{}", running.api_addr) }
    }

    async fn call(&self, method: reqwest::Method, path: &str, auth: Option<&str>, body: Option<Value>) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        if let Some(b) = body {
            req = req.header("prefer", "return=representation").json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn get(&self, path: &str, auth: &str) -> Value {
        let (status, body) = self.call(reqwest::Method::GET, path, Some(auth), None).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    async fn sign_in(&self, email: &str) -> String {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                "/auth/v1/token?grant_type=password",
                None,
                Some(json!({"email": email, "password": PASSWORD})),
            )
            .await;
        assert_eq!(status, 200, "sign-in of {email}: {body}");
        format!("Bearer {}", body["access_token"].as_str().expect("access_token"))
    }
}

fn user(sub: &str) -> String {
    format!("Bearer {}", token(json!({"role": "authenticated", "sub": sub})))
}

fn names(rows: &Value, key: &str) -> Vec<String> {
    let mut v: Vec<String> =
        rows.as_array().expect("array").iter().map(|r| r[key].as_str().expect(key).to_string()).collect();
    v.sort();
    v
}

fn script(name: &str, args: &[&str]) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(root.join("scripts").join(name))
        .args(args)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap_or_else(|e| panic!("run scripts/{name}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "scripts/{name} {args:?} failed ({}):\n{stdout}\n{stderr}", out.status);
    eprintln!("scripts/{name}:\n{stderr}");
    stdout.trim().lines().last().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn backup_restore_round_trip_into_a_fresh_cluster() {
    let began = std::time::Instant::now();
    // The source: its own cluster, so its roles are exactly what the reference schema creates.
    let source: Cluster = cluster::start_throwaway().await.expect("source cluster");
    connect(&source.conn_string("postgres", "postgres")).await.batch_execute("create database app").await.expect("db");
    rowgate::cluster::embedded::prepare_database(&source, "app").await.expect("migrate");
    let source_admin = source.conn_string("postgres", "app");
    crate::tenants::seed_with(&connect(&source_admin).await, &[&crate::tenants::passwords(PASSWORD), MORE_B_TASKS])
        .await;

    // Traffic through rowgate: an API token, tasks written by a member (audit log), a session.
    let key = rowgate::auth::signing::SigningKey::generate_jwk().expect("key");
    let running = gateway(source.conn_string("authenticator", "app"), &key).await;
    let api = Api::new(&running);
    let (status, created) = api
        .call(
            reqwest::Method::POST,
            "/rpc/create_api_token",
            Some(&user(OWNER_A)),
            Some(json!({"org": ORG_A, "name": "ci", "role": "member"})),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let api_token = format!("Bearer {}", created["token"].as_str().expect("token"));
    for title in ["launch", "land"] {
        let (status, body) = api
            .call(
                reqwest::Method::POST,
                "/tasks",
                Some(&user(MEMBER_A)),
                Some(json!({"org_id": ORG_A, "project_id": PROJ_A, "title": title})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    api.sign_in("member@a.test").await;
    running.shutdown().await;
    let audit: i64 = connect(&source_admin)
        .await
        .query_one("select count(*) from api.audit_log where org_id = $1::text::uuid", &[&ORG_A])
        .await
        .expect("audit count")
        .get(0);
    assert!(audit >= 2, "the writes left {audit} audit rows");

    // Back up.
    let backups = tempfile::Builder::new().prefix("rowgate-backup-").tempdir().expect("temp dir");
    let dir = script("backup", &["-d", &source_admin, &backups.path().to_string_lossy()]);
    for f in ["db.dump", "roles.sql", "manifest", "SHA256SUMS"] {
        assert!(Path::new(&dir).join(f).is_file(), "{dir}/{f}");
    }
    let roles = std::fs::read_to_string(Path::new(&dir).join("roles.sql")).expect("roles.sql");
    assert!(roles.contains("CREATE ROLE authenticator;") && roles.contains("GRANT anon TO authenticator"), "{roles}");

    // Restore into a fresh cluster, which has nothing but its superuser.
    let target: Cluster = cluster::start_throwaway().await.expect("target cluster");
    // The same kind of URL the backup was given (its database part is not used by restore).
    let restored = script("restore", &["-d", &target.conn_string("postgres", "app"), &dir]);
    assert_eq!(restored, "app");
    let target_admin = target.conn_string("postgres", "app");

    // Identical: rows, roles, grants, owners, policies, RLS flags.
    let (rows_before, rows_after) = (table_digests(&source_admin).await, table_digests(&target_admin).await);
    assert_eq!(rows_before, rows_after);
    let non_empty = rows_before.iter().filter(|(_, n, _)| *n > 0).count();
    assert!(non_empty >= 10, "only {non_empty} tables had rows: {rows_before:?}");
    for t in ["api.audit_log", "auth.api_tokens", "auth.sessions", "auth.refresh_tokens", "api.tasks"] {
        assert!(rows_before.iter().any(|(name, n, _)| name == t && *n > 0), "{t} is empty: {rows_before:?}");
    }
    let (catalog_before, catalog_after) = (catalog(&source_admin).await, catalog(&target_admin).await);
    for (part, value) in catalog_before.as_object().expect("object") {
        assert_eq!(value, &catalog_after[part], "{part} differs after the restore");
    }
    let forced = catalog_after["relations"]
        .as_object()
        .expect("relations")
        .iter()
        .filter(|(name, r)| name.starts_with("api.") && r["kind"] == "r" && r["force_rls"] == true)
        .count();
    assert!(forced >= 9, "only {forced} api tables force RLS after the restore");
    eprintln!(
        "restored: {} tables, {} catalog sections identical",
        rows_after.len(),
        catalog_after.as_object().unwrap().len()
    );

    // A second restore keeps the existing roles and never writes over a database.
    let again = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/restore"))
        .args(["-d", &target.conn_string("postgres", "postgres"), &dir])
        .output()
        .expect("restore again");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"), "{again:?}");
    // Under another name, with the connection as a URL this time (the socket directory as host).
    let url = format!(
        "postgresql://postgres@{}:{}/postgres",
        target.socket_dir().to_string_lossy().replace('/', "%2F"),
        target.port()
    );
    let copy = script("restore", &["-d", &url, &dir, "app_copy"]);
    assert_eq!(copy, "app_copy");
    assert_eq!(table_digests(&target.conn_string("postgres", "app_copy")).await, rows_before);

    // The isolation suite passes on the restored copy.
    let suite = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/isolation-suite"))
        .arg(&target_admin)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run scripts/isolation-suite (pg_prove: Debian libtap-parser-sourcehandler-pgtap-perl)");
    let report = format!("{}{}", String::from_utf8_lossy(&suite.stdout), String::from_utf8_lossy(&suite.stderr));
    assert!(suite.status.success(), "isolation suite on the restored copy:\n{report}");
    let tests: usize = report
        .split("Tests=")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no summary in {report}"));
    assert!(tests >= 2400, "only {tests} tests ran:\n{report}");
    eprintln!("isolation suite on the restored copy: {tests} tests passed");

    // rowgate serves the restored copy.
    let running = gateway(target.conn_string("authenticator", "app"), &key).await;
    let api = Api::new(&running);
    let projects = api.get("/projects?select=name", &user(MEMBER_A)).await;
    assert_eq!(names(&projects, "name"), ["alpha"], "RLS: A's member sees A's projects only");
    let projects = api.get("/projects?select=name", &user(OWNER_B)).await;
    assert_eq!(names(&projects, "name"), ["beta"]);
    let tasks = api.get("/tasks?select=title", &api_token).await;
    assert_eq!(names(&tasks, "title"), ["a-task", "land", "launch"], "the API token minted before the backup");
    let session = api.sign_in("member@a.test").await;
    let tasks = api.get(&format!("/tasks?select=title&org_id=eq.{ORG_B}"), &session).await;
    assert_eq!(tasks, json!([]), "B's 51 tasks stay invisible to A");
    running.shutdown().await;
    // (On a failure the reaper stops both clusters when the test process exits.)
    source.stop().await.expect("stop source cluster");
    target.stop().await.expect("stop target cluster");
    eprintln!("backup round trip took {:?}", began.elapsed());
}

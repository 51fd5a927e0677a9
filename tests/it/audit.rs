//! `rowgate audit` (and `--probe`) run as a user runs them: the real binary against fresh
//! databases migrated like `rowgate migrate` does (the shared template carries test fixtures that
//! break lints on purpose, so it is not used here).

use std::collections::{BTreeMap, BTreeSet};
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};

use rowgate::audit::Level;
use serde_json::Value;

use crate::harness::*;

const BIN: &str = env!("CARGO_BIN_EXE_rowgate");
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A new database with the reference schema and the demo, exactly as `rowgate migrate` plus the
/// embedded default leave it.
async fn reference_database(prefix: &str) -> String {
    let name = format!("{prefix}_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
    let admin = connect(&cluster().conn_string("postgres", "postgres")).await;
    admin.batch_execute(&format!("create database {name}")).await.expect("create database");
    rowgate::cluster::embedded::prepare_database(cluster(), &name).await.expect("migrate");
    name
}

async fn audit(db: &str, user: &str, args: &[&str]) -> Output {
    tokio::process::Command::new(BIN)
        .arg("audit")
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", cluster().conn_string(user, db))
        .output()
        .await
        .expect("run rowgate audit")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", stdout(out), String::from_utf8_lossy(&out.stderr)))
}

/// `rule → objects` of a JSON report.
fn by_rule(report: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in report["findings"].as_array().expect("findings") {
        out.entry(f["rule"].as_str().unwrap().into()).or_default().insert(f["object"].as_str().unwrap().into());
    }
    out
}

#[tokio::test]
async fn the_reference_schema_audits_clean() {
    let db = reference_database("audit_clean").await;
    let out = audit(&db, "postgres", &[]).await;
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        text,
        "rowgate audit: schemas api; request roles anon, authenticated, service_role\n\n0 errors, 0 warnings\n"
    );

    let out = audit(&db, "postgres", &["--format", "json"]).await;
    assert_eq!(out.status.code(), Some(0));
    let report = json_of(&out);
    assert_eq!(report["findings"], serde_json::json!([]), "{report:#}");
    assert_eq!((report["errors"].as_u64(), report["warnings"].as_u64()), (Some(0), Some(0)));

    // Linting needs no privilege: the gateway's own role gets the same answer.
    let out = audit(&db, "authenticator", &["--format", "json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json_of(&out)["findings"], serde_json::json!([]));
}

/// One object per lint, each breaking exactly that lint; `{bypass}` is a role of this process.
const VIOLATIONS: &str = r#"
create table api.lint_no_rls (id int primary key);

create table api.lint_not_forced (id int primary key);
alter table api.lint_not_forced enable row level security;

create table api.lint_no_policy (id int primary key);
alter table api.lint_no_policy enable row level security;
alter table api.lint_no_policy force row level security;
grant select on api.lint_no_policy to authenticated;

create function api.lint_owned() returns int language sql as 'select 1';
alter function api.lint_owned() owner to authenticated;

create role {bypass} nologin bypassrls;

create function api.lint_definer_path() returns int language sql security definer as 'select 1';
revoke execute on function api.lint_definer_path() from public;

create function api.lint_definer_public() returns int language sql security definer set search_path = '' as 'select 1';

create view api.lint_view as select 1 as one;

create table api.lint_truncate (id int primary key);
alter table api.lint_truncate enable row level security;
alter table api.lint_truncate force row level security;
grant truncate on api.lint_truncate to authenticated;

create table api.lint_open_write (id int primary key);
alter table api.lint_open_write enable row level security;
alter table api.lint_open_write force row level security;
create policy lint_open_write_insert on api.lint_open_write for insert to authenticated with check (true);

create schema lint_open;
grant usage, create on schema lint_open to authenticated;

create table api.lint_metadata (id int primary key);
alter table api.lint_metadata enable row level security;
alter table api.lint_metadata force row level security;
create policy lint_metadata_select on api.lint_metadata for select to authenticated
  using ((select current_setting('request.jwt.claims', true)::jsonb -> 'user_metadata' ->> 'role') = 'admin');

create table api.lint_public_policy (id int primary key);
alter table api.lint_public_policy enable row level security;
alter table api.lint_public_policy force row level security;
create policy lint_public_policy_select on api.lint_public_policy for select using (false);

create table api.lint_unwrapped (id int primary key, owner uuid);
alter table api.lint_unwrapped enable row level security;
alter table api.lint_unwrapped force row level security;
create policy lint_unwrapped_select on api.lint_unwrapped for select to authenticated
  using (owner = internal.user_id());

create table api.lint_no_org_index (id int primary key, org_id uuid not null);
alter table api.lint_no_org_index enable row level security;
alter table api.lint_no_org_index force row level security;

create materialized view api.lint_matview as select 1 as one;
grant select on api.lint_matview to authenticated;

create foreign data wrapper lint_fdw;
create server lint_server foreign data wrapper lint_fdw;
create foreign table api.lint_foreign (id int) server lint_server;
grant select on api.lint_foreign to authenticated;
"#;

#[tokio::test]
async fn every_lint_reports_exactly_its_violation() {
    let db = reference_database("audit_lints").await;
    let bypass = format!("lint_bypass_{}", std::process::id());
    let admin = connect(&cluster().conn_string("postgres", &db)).await;
    admin.batch_execute(&VIOLATIONS.replace("{bypass}", &bypass)).await.expect("violations");
    let roles = format!("anon,authenticated,service_role,{bypass}");
    let args = ["--schemas", "api,lint_open", "--request-roles", roles.as_str()];

    let expected: Vec<(&str, Level, String)> = vec![
        ("rls_disabled", Level::Error, "api.lint_no_rls".into()),
        ("rls_not_forced", Level::Error, "api.lint_not_forced".into()),
        ("missing_policy", Level::Error, "api.lint_no_policy".into()),
        ("request_role_owns_object", Level::Error, "api.lint_owned()".into()),
        ("request_role_bypasses_rls", Level::Error, bypass.clone()),
        ("definer_search_path", Level::Error, "api.lint_definer_path()".into()),
        ("definer_public_execute", Level::Error, "api.lint_definer_public()".into()),
        ("view_not_security_invoker", Level::Error, "api.lint_view".into()),
        ("dangerous_grant", Level::Error, "api.lint_truncate".into()),
        ("write_policy_true", Level::Error, "policy lint_open_write_insert on api.lint_open_write".into()),
        ("schema_create_privilege", Level::Error, "lint_open".into()),
        ("policy_trusts_user_metadata", Level::Error, "policy lint_metadata_select on api.lint_metadata".into()),
        ("policy_to_public", Level::Warning, "policy lint_public_policy_select on api.lint_public_policy".into()),
        ("unwrapped_claim_helper", Level::Warning, "policy lint_unwrapped_select on api.lint_unwrapped".into()),
        ("tenant_table_without_org_index", Level::Warning, "api.lint_no_org_index".into()),
        ("materialized_view_exposed", Level::Warning, "api.lint_matview".into()),
        ("foreign_table_exposed", Level::Warning, "api.lint_foreign".into()),
    ];
    // The list covers every rule, with the rule's own level (but citus_restrictive_policy, which
    // needs a Citus cluster: tests/it/citus.rs).
    let rules: Vec<(&str, Level)> = rowgate::audit::rules()
        .into_iter()
        .filter(|(id, _, _)| *id != "citus_restrictive_policy")
        .map(|(id, level, _)| (id, level))
        .collect();
    assert_eq!(rules, expected.iter().map(|(id, level, _)| (*id, *level)).collect::<Vec<_>>());

    let out = audit(&db, "postgres", &[&args[..], &["--format", "json"]].concat()).await;
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let report = json_of(&out);
    let want: BTreeMap<String, BTreeSet<String>> =
        expected.iter().map(|(rule, _, object)| (rule.to_string(), BTreeSet::from([object.clone()]))).collect();
    assert_eq!(by_rule(&report), want, "{report:#}");
    for f in report["findings"].as_array().unwrap() {
        let (rule, level) = rules.iter().find(|(id, _)| *id == f["rule"]).unwrap();
        let level = if *level == Level::Error { "error" } else { "warning" };
        assert_eq!(f["level"], level, "{rule}");
        for key in ["title", "message", "why", "fix"] {
            assert!(f[key].as_str().is_some_and(|s| !s.is_empty()), "{rule}: {key} empty");
        }
    }
    assert_eq!((report["errors"].as_u64(), report["warnings"].as_u64()), (Some(12), Some(5)));

    let out = audit(&db, "postgres", &args).await;
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("\nERROR rls_disabled  api.lint_no_rls — row-level security is disabled\n    why: "),
        "{text}"
    );
    assert!(text.contains("\n    fix: alter table api.lint_no_rls enable row level security;\n"), "{text}");
    assert!(text.contains("\nWARNING foreign_table_exposed  api.lint_foreign — "), "{text}");
    assert!(text.ends_with("\n12 errors, 5 warnings\n"), "{text}");

    // The fixes are real SQL: applying every one without a placeholder clears its finding.
    for f in report["findings"].as_array().unwrap() {
        let fix = f["fix"].as_str().unwrap();
        if !fix.contains('<') {
            admin.batch_execute(fix).await.unwrap_or_else(|e| panic!("{}: {fix}: {e}", f["rule"]));
        }
    }
    let out = audit(&db, "postgres", &[&args[..], &["--format", "json"]].concat()).await;
    let left: BTreeSet<String> = by_rule(&json_of(&out)).into_keys().collect();
    let placeholders: BTreeSet<String> =
        ["missing_policy", "policy_trusts_user_metadata", "unwrapped_claim_helper", "write_policy_true"]
            .map(String::from)
            .into();
    assert_eq!(left, placeholders);
}

/// With the shared tenant world (two active orgs), rows in every tenant table: an invitation in
/// each org, a second project in A.
const TENANT_ROWS: &str = r#"
insert into api.invitations (org_id, email, role, token_hash) values
  ('0a000000-0000-0000-0000-000000000000', 'new@a.test', 'member', 'hash-a'),
  ('0b000000-0000-0000-0000-000000000000', 'new@b.test', 'member', 'hash-b');
insert into api.projects (org_id, id, name) values
  ('0a000000-0000-0000-0000-000000000000', '1a000000-0000-0000-0000-000000000002', 'alpha two');
"#;

/// Every row of every table of the application's schemas, and every policy, as one digest.
async fn fingerprint(db: &str) -> String {
    let c = connect(&cluster().conn_string("postgres", db)).await;
    let tables: Vec<String> = c
        .query(
            "select format('%I.%I', n.nspname, c.relname) from pg_class c join pg_namespace n on n.oid = c.relnamespace \
              where n.nspname in ('api', 'auth', 'internal', 'public') and c.relkind in ('r', 'p') order by 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut out = String::new();
    for t in tables {
        let sql = format!(
            "select count(*)::text || ':' || md5(coalesce(string_agg(t::text, '|' order by t::text), '')) from {t} t"
        );
        let digest: String = c.query_one(sql.as_str(), &[]).await.unwrap().get(0);
        out.push_str(&format!("{t}={digest}\n"));
    }
    let policies: String = c
        .query_one(
            "select md5(string_agg(format('%s %s %s %s %s %s', schemaname, tablename, policyname, roles, qual, with_check), \
                    '|' order by schemaname, tablename, policyname)) from pg_policies",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    out.push_str(&format!("policies={policies}\n"));
    out
}

/// `(table, command)` of every leak, whoever the user.
fn leaks(report: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for t in report["probe"]["tables"].as_array().expect("probe tables") {
        for c in t["checks"].as_array().unwrap() {
            if c["outcome"] == "leak" {
                out.insert((t["table"].as_str().unwrap().to_string(), c["command"].as_str().unwrap().to_string()));
            }
        }
    }
    out
}

#[tokio::test]
async fn the_probe_finds_exactly_the_leaks_and_changes_nothing() {
    let db = reference_database("audit_probe").await;
    let admin = connect(&cluster().conn_string("postgres", &db)).await;
    crate::tenants::seed_with(&admin, &[TENANT_ROWS]).await;

    let before = fingerprint(&db).await;
    let out = audit(&db, "postgres", &["--probe", "--format", "json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let report = json_of(&out);
    let probe = &report["probe"];
    assert_eq!(probe["membership_table"], "api.memberships");
    let users: BTreeSet<&str> =
        probe["users"].as_array().unwrap().iter().map(|u| u["user"].as_str().unwrap()).collect();
    // The owners of the two orgs (owners first: they may write the most).
    assert_eq!(users, BTreeSet::from(["a0000000-0000-0000-0000-000000000001", "b0000000-0000-0000-0000-000000000001"]));
    let tables: BTreeSet<&str> =
        probe["tables"].as_array().unwrap().iter().map(|t| t["table"].as_str().unwrap()).collect();
    assert_eq!(
        tables,
        BTreeSet::from([
            "api.access_report",
            "api.audit_log",
            "api.invitations",
            "api.memberships",
            "api.org_entitlements",
            "api.org_models",
            "api.org_usage",
            "api.projects",
            "api.tasks",
            "api.usage_counters"
        ])
    );
    assert_eq!((probe["leaks"].as_u64(), probe["inconclusive"].as_u64()), (Some(0), Some(0)), "{probe:#}");
    // Every write the role is granted was tried and refused.
    for t in probe["tables"].as_array().unwrap() {
        let checks = t["checks"].as_array().unwrap();
        assert_eq!(
            checks.iter().map(|c| c["command"].as_str().unwrap()).collect::<Vec<_>>(),
            ["read", "update", "delete", "insert"]
        );
        assert_eq!(checks[0]["outcome"], "ok", "{t}");
    }
    assert_eq!(fingerprint(&db).await, before, "the probe changed the database");

    // Mutations (with the restrictive org fences gone): every tenant's tasks readable and
    // updatable, anyone may insert projects, and every invitation deletable — a DELETE policy that
    // only an unfiltered DELETE exposes, since a filter would add the (sound) SELECT policy.
    admin
        .batch_execute(
            "drop policy tasks_org_fence on api.tasks; \
             drop policy projects_org_fence on api.projects; \
             drop policy invitations_org_fence on api.invitations; \
             alter policy tasks_select on api.tasks using (true); \
             alter policy tasks_update on api.tasks using (true) with check (true); \
             create policy projects_insert_any on api.projects for insert to authenticated with check (true); \
             alter policy invitations_delete on api.invitations using (true);",
        )
        .await
        .unwrap();
    let before = fingerprint(&db).await;
    let out = audit(&db, "postgres", &["--probe", "--format", "json", "--membership-table", "api.memberships"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let report = json_of(&out);
    let want: BTreeSet<(String, String)> =
        [("api.invitations", "delete"), ("api.projects", "insert"), ("api.tasks", "read"), ("api.tasks", "update")]
            .map(|(t, c)| (t.to_string(), c.to_string()))
            .into();
    assert_eq!(leaks(&report), want, "{:#}", report["probe"]);
    // Both users leak each of them.
    assert_eq!(report["probe"]["leaks"].as_u64(), Some(8));
    assert_eq!(fingerprint(&db).await, before, "the probe changed the database");

    let out = audit(&db, "postgres", &["--probe"]).await;
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("\napi.tasks\n  as a0000000-0000-0000-0000-000000000001\n    read    LEAK          sees 1 of the 1 rows of other orgs\n"), "{text}");
    assert!(text.ends_with("\nprobe: 8 leaks, 0 inconclusive\n"), "{text}");
    assert_eq!(fingerprint(&db).await, before);
}

/// A schema of the user's own: bigint org ids, a membership table not called memberships, the
/// legacy per-claim setting, an identity column.
const OWN_SCHEMA: &str = r#"
create schema app;
grant usage on schema app to authenticated;
create table app.members (org_id bigint not null, user_id text not null, primary key (org_id, user_id));
create table app.notes (
  org_id bigint not null,
  id bigint generated always as identity,
  body text not null,
  primary key (org_id, id)
);
alter table app.members enable row level security;
alter table app.members force row level security;
alter table app.notes enable row level security;
alter table app.notes force row level security;
grant select on app.members to authenticated;
grant select, insert (org_id, body), update (body), delete on app.notes to authenticated;
create policy members_own on app.members for select to authenticated
  using (user_id = (select current_setting('request.jwt.claim.sub', true)));
create policy notes_member on app.notes for all to authenticated
  using (org_id in (select m.org_id from app.members m where m.user_id = (select current_setting('request.jwt.claim.sub', true))))
  with check (org_id in (select m.org_id from app.members m where m.user_id = (select current_setting('request.jwt.claim.sub', true))));
insert into app.members values (1, 'alice'), (2, 'bob');
insert into app.notes (org_id, body) values (1, 'a1'), (1, 'a2'), (2, 'b1');
"#;

#[tokio::test]
async fn the_probe_works_on_any_schema() {
    let name = format!("audit_own_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
    connect(&cluster().conn_string("postgres", "postgres"))
        .await
        .batch_execute(&format!("create database {name}"))
        .await
        .unwrap();
    let admin = connect(&cluster().conn_string("postgres", &name)).await;
    admin.batch_execute(OWN_SCHEMA).await.expect("own schema");
    let args = ["--schemas", "app", "--request-roles", "authenticated", "--probe", "--format", "json"];

    let out = audit(&name, "postgres", &args).await;
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let report = json_of(&out);
    assert_eq!(report["findings"], serde_json::json!([]), "{report:#}");
    let probe = &report["probe"];
    assert_eq!(probe["membership_table"], "app.members");
    assert_eq!((probe["leaks"].as_u64(), probe["inconclusive"].as_u64()), (Some(0), Some(0)), "{probe:#}");
    let notes = probe["tables"].as_array().unwrap().iter().find(|t| t["table"] == "app.notes" && t["user"] == "alice");
    let outcomes: Vec<(&str, &str)> = notes.unwrap()["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["command"].as_str().unwrap(), c["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(outcomes, [("read", "ok"), ("update", "ok"), ("delete", "ok"), ("insert", "ok")]);

    let rows = || async {
        let c = connect(&cluster().conn_string("postgres", &name)).await;
        let r = c
            .query_one("select string_agg(format('%s/%s/%s', org_id, id, body), ',' order by id) from app.notes", &[])
            .await;
        r.unwrap().get::<_, String>(0)
    };
    let before = rows().await;
    admin
        .batch_execute("create policy notes_peek on app.notes for select to authenticated using (true)")
        .await
        .unwrap();
    let out = audit(&name, "postgres", &args).await;
    assert_eq!(out.status.code(), Some(1));
    let want = BTreeSet::from([("app.notes".to_string(), "read".to_string())]);
    assert_eq!(leaks(&json_of(&out)), want);
    assert_eq!(rows().await, before);
}

#[tokio::test]
async fn the_probe_needs_a_superuser_and_a_membership_table() {
    let db = reference_database("audit_probe_usage").await;
    let out = audit(&db, "authenticator", &["--probe"]).await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("superuser"), "{stderr}");

    let out = audit(&db, "postgres", &["--probe", "--membership-table", "api.todos"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--membership-table"), "{:?}", out);

    // Without data there is nothing to compare, which is said, not counted as a pass or a leak.
    let out = audit(&db, "postgres", &["--probe", "--format", "json"]).await;
    assert_eq!(out.status.code(), Some(0));
    let report = json_of(&out);
    assert!(report["probe"]["note"].as_str().is_some_and(|n| n.contains("fewer than two orgs")), "{report:#}");
}

fn run(args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut cmd = std::process::Command::new(BIN);
    cmd.args(args).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.output().expect("run rowgate")
}

#[test]
fn usage_errors_exit_2_with_one_line() {
    let out = run(&["audit"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("DATABASE_URL"), "{stderr}");

    let out = run(&["audit", "--format", "yaml"], &[("DATABASE_URL", "host=/nonexistent user=x")]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("invalid value 'yaml'") && stderr.contains("--format"), "{stderr}");

    let out = run(&["audit"], &[("DATABASE_URL", "host=/nonexistent user=x")]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("rowgate: DATABASE_URL: cannot connect"), "{stderr}");

    let out = run(&["audit", "--help"], &[]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("--probe") && help.contains("Exit status"), "{help}");
}

#[tokio::test]
async fn unknown_schemas_and_roles_are_usage_errors() {
    let db = reference_database("audit_usage").await;
    let out = audit(&db, "postgres", &["--schemas", "api,nope"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no schema named nope"), "{out:?}");
    let out = audit(&db, "postgres", &["--request-roles", "anon,ghost"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no role named ghost"), "{out:?}");
}

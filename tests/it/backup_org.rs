//! Issue 17 point 10, per-tenant backup: `scripts/backup --org ID` writes one org's rows (every
//! tenant table, the users and catalog rows they name) from one consistent snapshot, and
//! `scripts/restore --org DIR` loads them into another database of the same schema that has
//! tenants of its own. Afterwards the org's rows are exactly as they were, the other tenants are
//! untouched, its people sign in and its API token works there, and isolation holds: the SQL
//! isolation suite passes on the target and each org's users see only their own rows over HTTP.
//! Refused: an org already there, a user whose email is taken under another id, a bad id.

use std::path::Path;
use std::process::{Command, Output};

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::*;
use crate::tenants::{ORG_A, ORG_B, PROJ_A};

const PASSWORD: &str = "backup-org-pw";
const ORG_C: &str = "0e000000-0000-0000-0000-000000000000";
const OWNER_C: &str = "e0000000-0000-0000-0000-0000000000c1";

fn script(name: &str, args: &[&str]) -> Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    Command::new(root.join("scripts").join(name))
        .args(args)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap_or_else(|e| panic!("run scripts/{name}: {e}"))
}

fn ok(out: &Output) -> String {
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "failed ({}):\n{stdout}\n{stderr}", out.status);
    stdout.trim().lines().last().unwrap_or_default().to_string()
}

/// One org's rows in every table that has them (and its users), as JSON, read as the superuser.
async fn org_rows(db: &TestDb, org: &str) -> Value {
    let admin = db.admin().await;
    let mut out = serde_json::Map::new();
    for (table, filter) in [
        ("api.organizations", format!("id = '{org}'")),
        ("api.memberships", format!("org_id = '{org}'")),
        ("api.invitations", format!("org_id = '{org}'")),
        ("api.projects", format!("org_id = '{org}'")),
        ("api.tasks", format!("org_id = '{org}'")),
        ("api.org_entitlements", format!("org_id = '{org}'")),
        ("api.org_models", format!("org_id = '{org}'")),
        ("api.usage_counters", format!("org_id = '{org}'")),
        ("auth.api_tokens", format!("org_id = '{org}'")),
        ("api.audit_log", format!("org_id = '{org}' and not (diff ? 'restored_from_backup')")),
        ("auth.users", format!("id in (select user_id from api.memberships where org_id = '{org}')")),
    ] {
        let q = format!(
            "select coalesce(jsonb_agg(to_jsonb(t) order by to_jsonb(t)::text), '[]') from {table} t where {filter}"
        );
        out.insert(
            table.to_string(),
            admin.query_one(q.as_str(), &[]).await.unwrap_or_else(|e| panic!("{q}: {e}")).get(0),
        );
    }
    Value::Object(out)
}

async fn sign_in(g: &Gateway, email: &str) -> String {
    let r = g
        .send(
            Method::POST,
            "/auth/v1/token?grant_type=password",
            &[],
            &json!({"email": email, "password": PASSWORD}).to_string(),
        )
        .await;
    assert_eq!(r.status, 200, "{email}: {}", r.body);
    format!("Bearer {}", r.json()["access_token"].as_str().unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn one_org_moves_to_another_database_and_isolation_holds_there() {
    // The source: the tenant world, with work done over HTTP (tasks, an API token, sign-ins).
    let key = rowgate::auth::signing::SigningKey::generate_jwk().unwrap();
    let source = Gateway::start_with(|a| {
        a.jwt_signing_key = Some(key.clone());
        a.db_pre_request = Some("internal.check_request".into());
    })
    .await;
    crate::tenants::seed(&source.db, &[&crate::tenants::passwords(PASSWORD)]).await;
    let owner = sign_in(&source, "owner@a.test").await;
    let tasks: Vec<Value> =
        (0..20).map(|i| json!({"org_id": ORG_A, "project_id": PROJ_A, "title": format!("t{i}")})).collect();
    let r = source.send(Method::POST, "/tasks", &[("authorization", &owner)], &Value::Array(tasks).to_string()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = source
        .send(
            Method::POST,
            "/rpc/create_api_token",
            &[("authorization", &owner)],
            &json!({"org": ORG_A, "name": "ci", "role": "member"}).to_string(),
        )
        .await;
    let api_token = format!("Bearer {}", r.json()["token"].as_str().unwrap());
    let a_before = org_rows(&source.db, ORG_A).await;

    // The target: another database of the same schema (the reference schema alone, as
    // `rowgate migrate` leaves it), with an org C of its own.
    let target = TestDb { name: format!("org_target_{}", std::process::id()) };
    let server = connect(&cluster().conn_string("postgres", "postgres")).await;
    server.batch_execute(&format!("drop database if exists {}", target.name)).await.expect("drop a leftover");
    server.batch_execute(&format!("create database {}", target.name)).await.expect("create");
    rowgate::cluster::embedded::prepare_database(cluster(), &target.name).await.expect("migrate");
    target
        .admin()
        .await
        .batch_execute(&format!(
            "insert into auth.users (id, email, encrypted_password) values ('{OWNER_C}', 'owner@c.test', crypt('{PASSWORD}', gen_salt('bf', 4)));
             insert into api.organizations (id, name, status) values ('{ORG_C}', 'Org C', 'active');
             insert into api.memberships (org_id, user_id, role) values ('{ORG_C}', '{OWNER_C}', 'owner');
             insert into api.projects (org_id, name) values ('{ORG_C}', 'gamma');"
        ))
        .await
        .expect("org C");
    let c_before = org_rows(&target, ORG_C).await;

    // Back up org A, restore it into the target.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("org-a");
    let src = cluster().conn_string("postgres", &source.db.name);
    let tgt = cluster().conn_string("postgres", &target.name);
    assert_eq!(
        ok(&script("backup", &["--org", ORG_A, "-d", &src, "-o", out.to_str().unwrap()])),
        out.to_str().unwrap()
    );
    let manifest = std::fs::read_to_string(out.join("manifest")).unwrap();
    assert!(manifest.contains(&format!("org={ORG_A}")) && manifest.contains("name=Org A"), "{manifest}");
    let csv = std::fs::read_to_string(out.join("api.tasks.csv")).unwrap();
    assert!(csv.contains(ORG_A) && !csv.contains(ORG_B), "only org A's tasks");
    assert_eq!(ok(&script("restore", &["--org", "-d", &tgt, out.to_str().unwrap()])), ORG_A);

    assert_eq!(org_rows(&target, ORG_A).await, a_before, "org A's rows are as they were");
    assert_eq!(org_rows(&target, ORG_C).await, c_before, "org C is untouched");
    let admin = target.admin().await;
    let b: i64 = admin
        .query_one(&format!("select count(*) from api.organizations where id = '{ORG_B}'"), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(b, 0, "nothing of org B came along");
    let restored: i64 = admin
        .query_one(
            &format!("select count(*) from api.audit_log where org_id = '{ORG_A}' and diff ? 'restored_from_backup'"),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(restored, 1, "the restore is in org A's log");

    // Refused, changing nothing: the same org again; a bad id; an org that does not exist.
    let again = script("restore", &["--org", "-d", &tgt, out.to_str().unwrap()]);
    assert!(!again.status.success() && String::from_utf8_lossy(&again.stderr).contains("already in this database"));
    assert_eq!(org_rows(&target, ORG_A).await, a_before);
    let bad = script("backup", &["--org", "not-an-id", "-d", &src, "-o", dir.path().join("bad").to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(2), "{}", String::from_utf8_lossy(&bad.stderr));
    let none = script(
        "backup",
        &["--org", "0f000000-0000-0000-0000-000000000000", "-d", &src, "-o", dir.path().join("none").to_str().unwrap()],
    );
    assert_eq!(none.status.code(), Some(1), "{}", String::from_utf8_lossy(&none.stderr));

    // A database where one of org B's users exists under another id refuses it whole.
    let out_b = dir.path().join("org-b");
    ok(&script("backup", &["--org", ORG_B, "-d", &src, "-o", out_b.to_str().unwrap()]));
    admin.batch_execute("insert into auth.users (email) values ('OWNER@b.test')").await.unwrap();
    let clash = script("restore", &["--org", "-d", &tgt, out_b.to_str().unwrap()]);
    assert!(
        !clash.status.success() && String::from_utf8_lossy(&clash.stderr).contains("under another id"),
        "{clash:?}"
    );
    let b: i64 = admin
        .query_one(&format!("select count(*) from api.organizations where id = '{ORG_B}'"), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(b, 0, "nothing of org B was written");

    // Isolation holds on the target: the SQL suite passes, and over HTTP each org sees itself.
    let suite = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/isolation-suite"))
        .arg(&tgt)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run scripts/isolation-suite");
    let report = format!("{}{}", String::from_utf8_lossy(&suite.stdout), String::from_utf8_lossy(&suite.stderr));
    assert!(suite.status.success(), "isolation suite on the target:\n{report}");
    let cfg = config(&target, |a| {
        a.jwt_signing_key = Some(key.clone());
        a.db_pre_request = Some("internal.check_request".into());
    });
    let there = Gateway::start_on(TestDb { name: target.name.clone() }, cfg).await;
    let owner_a = sign_in(&there, "owner@a.test").await;
    let r = there.get_with("/projects?select=org_id", &[("authorization", &owner_a)]).await;
    assert_eq!(r.json(), json!([{"org_id": ORG_A}]), "org A's owner signs in there and sees org A only: {}", r.body);
    let r = there.get_with("/tasks?select=id", &[("authorization", &api_token)]).await;
    assert_eq!(r.json().as_array().map(Vec::len), Some(21), "org A's API token works there: {}", r.body);
    let owner_c = sign_in(&there, "owner@c.test").await;
    let r = there.get_with("/projects?select=org_id,name", &[("authorization", &owner_c)]).await;
    assert_eq!(r.json(), json!([{"org_id": ORG_C, "name": "gamma"}]), "org C's owner sees org C only: {}", r.body);
}

//! The isolation matrix: every exposed table × GET / POST / PATCH / DELETE / upsert × every actor ×
//! {org A's row, org B's row}, each request answered as expected (allowed or denied) and the
//! database checked as the superuser right after every write: a denied write changed nothing, an
//! allowed one changed exactly its target. Allowed writes are then undone (with triggers off, so
//! the undo leaves no audit row); at the end every table is exactly as seeded and the audit log
//! holds exactly one row per allowed write of an audited table, naming the actor. The matrix is
//! also held against the SQL suite's (tests/sql/lib/table_matrix.sql): the two agree cell for cell
//! but for the differences listed in `SQL_DIFFERENCES`.

use std::collections::HashMap;

use futures_util::future::join_all;
use serde_json::Value;

use super::cell::*;
use super::*;

/// Who may do what. One line per table × method, one column per actor. A cell names the rows the
/// actor reaches: `.` none, `A` org A's row, `B` org B's row, `AB` both (for the global tables,
/// platform_settings, models and plans, "org X's row" is the settings row, the model enabled for X,
/// and plan_a or plan_b). `deny` is the denied outcome for signed-in actors: `[]` = 200 with an
/// empty array (the row is hidden, nothing changes), `403` = 403 with code 42501 (no privilege, or
/// WITH CHECK fails), `405` = 405 with code 55000 for every actor (a view PostgreSQL cannot write).
/// Anonymous requests are denied everywhere: 401 with code 42501 (anon has no table privilege).
/// `svc` (service_role) has no privilege on any table either (sql/V3 revokes everything from it
/// and grants nothing back; its policies are the authenticated role's): each of its denials is
/// 403 with code 42501, reads included. Its cells are sent twice: through the gateway as deployed
/// (with the pre-request check) and through one without the check, where the refusal must be
/// PostgreSQL's "permission denied for table <table>" — the grants, not the check, refuse it.
const MATRIX: &str = "
table             method deny | anon ownA admA memA viwA ownB admB memB viwB none super svc tokM tokV
platform_settings GET    []   | .    AB   AB   AB   AB   AB   AB   AB   AB   AB   AB    .   AB   AB
platform_settings POST   403  | .    .    .    .    .    .    .    .    .    .    .     .   .    .
platform_settings PATCH  []   | .    .    .    .    .    .    .    .    .    .    AB    .   .    .
platform_settings DELETE 403  | .    .    .    .    .    .    .    .    .    .    .     .   .    .
platform_settings UPSERT 403  | .    .    .    .    .    .    .    .    .    .    .     .   .    .
organizations     GET    []   | .    A    A    A    A    B    B    B    B    .    AB    .   A    A
organizations     POST   403  | .    .    .    .    .    .    .    .    .    .    .     .   .    .
organizations     PATCH  []   | .    A    A    .    .    B    B    .    .    .    .     .   .    .
organizations     DELETE 403  | .    .    .    .    .    .    .    .    .    .    .     .   .    .
organizations     UPSERT 403  | .    .    .    .    .    .    .    .    .    .    .     .   .    .
memberships       GET    []   | .    A    A    A    A    B    B    B    B    .    AB    .   A    A
memberships       POST   403  | .    A    A    .    .    B    B    .    .    .    .     .   .    .
memberships       PATCH  []   | .    A    A    .    .    B    B    .    .    .    .     .   .    .
memberships       DELETE []   | .    A    A    .    .    B    B    .    .    .    .     .   .    .
memberships       UPSERT 403  | .    A    A    .    .    B    B    .    .    .    .     .   .    .
invitations       GET    []   | .    A    A    .    .    B    B    .    .    .    .     .   .    .
invitations       POST   403  | .    .    .    .    .    .    .    .    .    .    .     .   .    .
invitations       PATCH  403  | .    .    .    .    .    .    .    .    .    .    .     .   .    .
invitations       DELETE []   | .    A    A    .    .    B    B    .    .    .    .     .   .    .
invitations       UPSERT 403  | .    .    .    .    .    .    .    .    .    .    .     .   .    .
projects          GET    []   | .    A    A    A    A    B    B    B    B    .    .     .   A    A
projects          POST   403  | .    A    A    A    .    B    B    B    .    .    .     .   A    .
projects          PATCH  []   | .    A    A    A    .    B    B    B    .    .    .     .   A    .
projects          DELETE []   | .    A    A    A    .    B    B    B    .    .    .     .   A    .
projects          UPSERT 403  | .    A    A    A    .    B    B    B    .    .    .     .   A    .
tasks             GET    []   | .    A    A    A    A    B    B    B    B    .    .     .   A    A
tasks             POST   403  | .    A    A    A    .    B    B    B    .    .    .     .   A    .
tasks             PATCH  []   | .    A    A    A    .    B    B    B    .    .    .     .   A    .
tasks             DELETE []   | .    A    A    A    .    B    B    B    .    .    .     .   A    .
tasks             UPSERT 403  | .    A    A    A    .    B    B    B    .    .    .     .   A    .
models            GET    []   | .    A    A    A    A    B    B    B    B    .    AB    .   A    A
models            POST   403  | .    .    .    .    .    .    .    .    .    .    AB    .   .    .
models            PATCH  []   | .    .    .    .    .    .    .    .    .    .    AB    .   .    .
models            DELETE []   | .    .    .    .    .    .    .    .    .    .    AB    .   .    .
models            UPSERT 403  | .    .    .    .    .    .    .    .    .    .    .     .   .    .
org_models        GET    []   | .    A    A    A    A    B    B    B    B    .    AB    .   A    A
org_models        POST   403  | .    A    A    .    .    B    B    .    .    .    AB    .   .    .
org_models        PATCH  403  | .    .    .    .    .    .    .    .    .    .    .     .   .    .
org_models        DELETE []   | .    A    A    .    .    B    B    .    .    .    AB    .   .    .
org_models        UPSERT 403  | .    .    .    .    .    .    .    .    .    .    .     .   .    .
plans             GET    []   | .    AB   AB   AB   AB   AB   AB   AB   AB   AB   AB    .   AB   AB
plans             POST   403  | .    .    .    .    .    .    .    .    .    .    AB    .   .    .
plans             PATCH  []   | .    .    .    .    .    .    .    .    .    .    AB    .   .    .
plans             DELETE []   | .    .    .    .    .    .    .    .    .    .    AB    .   .    .
plans             UPSERT 403  | .    .    .    .    .    .    .    .    .    .    .     .   .    .
usage_counters    GET    []   | .    A    A    A    A    B    B    B    B    .    AB    .   A    A
usage_counters    POST   403  | .    .    .    .    .    .    .    .    .    .    .     .   .    .
usage_counters    PATCH  403  | .    .    .    .    .    .    .    .    .    .    .     .   .    .
usage_counters    DELETE 403  | .    .    .    .    .    .    .    .    .    .    .     .   .    .
usage_counters    UPSERT 403  | .    .    .    .    .    .    .    .    .    .    .     .   .    .
org_entitlements  GET    []   | .    A    A    A    A    B    B    B    B    .    AB    .   A    A
org_entitlements  POST   403  | .    .    .    .    .    .    .    .    .    .    .     .   .    .
org_entitlements  PATCH  403  | .    .    .    .    .    .    .    .    .    .    .     .   .    .
org_entitlements  DELETE 403  | .    .    .    .    .    .    .    .    .    .    .     .   .    .
org_entitlements  UPSERT 403  | .    .    .    .    .    .    .    .    .    .    .     .   .    .
org_usage         GET    []   | .    A    A    A    A    B    B    B    B    .    AB    .   A    A
org_usage         POST   405  | .    .    .    .    .    .    .    .    .    .    .     .   .    .
org_usage         PATCH  405  | .    .    .    .    .    .    .    .    .    .    .     .   .    .
org_usage         DELETE 405  | .    .    .    .    .    .    .    .    .    .    .     .   .    .
org_usage         UPSERT 405  | .    .    .    .    .    .    .    .    .    .    .     .   .    .
access_report     GET    []   | .    A    A    .    .    B    B    .    .    .    AB    .   .    .
access_report     POST   405  | .    .    .    .    .    .    .    .    .    .    .     .   .    .
access_report     PATCH  405  | .    .    .    .    .    .    .    .    .    .    .     .   .    .
access_report     DELETE 405  | .    .    .    .    .    .    .    .    .    .    .     .   .    .
access_report     UPSERT 405  | .    .    .    .    .    .    .    .    .    .    .     .   .    .
audit_log         GET    []   | .    A    A    .    .    B    B    .    .    .    AB    .   .    .
audit_log         POST   403  | .    .    .    .    .    .    .    .    .    .    .     .   .    .
audit_log         PATCH  403  | .    .    .    .    .    .    .    .    .    .    .     .   .    .
audit_log         DELETE 403  | .    .    .    .    .    .    .    .    .    .    .     .   .    .
audit_log         UPSERT 403  | .    .    .    .    .    .    .    .    .    .    .     .   .    .
";

const METHODS: [&str; 5] = ["GET", "POST", "PATCH", "DELETE", "UPSERT"];

/// Tables checked and restored together: a model's delete cascades to the entitlements and the
/// enabled models; writes of members, projects and tasks move the usage counters (so they run
/// one after the other, and the undo restores the counters too). Each lane runs its cells one
/// after the other; lanes run concurrently. The views' lane only reads (their writes are refused
/// before the database).
const LANES: [&[&str]; 8] = [
    &["platform_settings"],
    &["organizations"],
    &["memberships", "projects", "tasks", "usage_counters"],
    &["invitations"],
    &["models", "org_models", "org_entitlements"],
    &["plans"],
    &["org_usage", "access_report"],
    &["audit_log"],
];

/// Parses `MATRIX`, checking it names every table × method once and every actor in order.
fn parse() -> HashMap<(&'static str, &'static str), Line> {
    let mut lines = MATRIX.lines().map(str::trim).filter(|l| !l.is_empty());
    let header: Vec<&str> = lines.next().expect("a header").split_whitespace().collect();
    let columns: Vec<&str> = Actor::ALL.iter().map(|a| a.column()).collect();
    assert_eq!(header[..4], ["table", "method", "deny", "|"], "matrix header");
    assert_eq!(header[4..], columns[..], "matrix columns must be the actors, in order");
    let mut out = HashMap::new();
    for line in lines {
        let f: Vec<&'static str> = line.split_whitespace().collect();
        assert_eq!(f.len(), 4 + Actor::ALL.len(), "matrix line {line:?}");
        assert!(TABLES.contains(&f[0]) && METHODS.contains(&f[1]) && f[3] == "|", "matrix line {line:?}");
        assert!(["[]", "403", "405"].contains(&f[2]), "deny must be [], 403 or 405: {line:?}");
        for c in &f[4..] {
            assert!([".", "A", "B", "AB"].contains(c), "bad cell {c:?} in {line:?}");
        }
        assert!(f[4] == ".", "anonymous is denied everywhere: {line:?}");
        let cells = Actor::ALL.iter().copied().zip(f[4..].iter().copied()).collect();
        assert!(out.insert((f[0], f[1]), Line { deny: f[2], cells }).is_none(), "duplicate line {line:?}");
    }
    for t in TABLES {
        for m in METHODS {
            assert!(out.contains_key(&(t, m)), "the matrix has no line for {t} {m}");
        }
    }
    out
}

/// Runs one lane's cells in order; returns the failures and the audit rows expected.
async fn run_lane(
    w: &World,
    direct: &Gateway,
    lane: &[&'static str],
    matrix: &HashMap<(&'static str, &'static str), Line>,
    snapshot: &HashMap<&'static str, Vec<Value>>,
) -> (Vec<String>, Vec<(String, String, String, String)>) {
    let mut db = w.g.db.admin().await;
    let mut failures = vec![];
    let mut audit = vec![];
    let audit_lane = lane == ["audit_log"];
    for &table in lane {
        for method in METHODS {
            let line = &matrix[&(table, method)];
            for actor in Actor::ALL {
                let vias: &[Option<&Gateway>] = if actor == Actor::Service { &[None, Some(direct)] } else { &[None] };
                for (org, &via) in [Org::A, Org::B].into_iter().flat_map(|o| vias.iter().map(move |v| (o, v))) {
                    let cell = Cell {
                        table,
                        method,
                        actor,
                        org,
                        allowed: line.cells[&actor].contains(match org {
                            Org::A => "A",
                            Org::B => "B",
                        }),
                        deny: line.deny,
                        snapshot,
                        direct: via,
                    };
                    let r = cell.send(w).await;
                    failures.extend(cell.check_response(&r));
                    audit.extend(cell.audit());
                    if method == "GET" || VIEWS.contains(&table) {
                        continue;
                    }
                    // Check (and undo) under a lock, so nothing else slips in between.
                    let tx = db.transaction().await.expect("begin");
                    let lock = if audit_lane {
                        String::new()
                    } else {
                        let tables: Vec<String> = lane.iter().map(|t| format!("api.{t}")).collect();
                        format!("lock table {} in share row exclusive mode;", tables.join(", "))
                    };
                    tx.batch_execute(&format!("set local session_replication_role = replica; {lock}"))
                        .await
                        .expect("lock the lane");
                    for &t in lane {
                        let filter = audit_lane.then_some("id in (select id from snap.audit_log)");
                        let now = array(&dump_table(&tx, t, filter).await);
                        if !cell.expected(t).holds(&now) {
                            failures.push(format!(
                                "{}: api.{t} afterwards is not as expected (status {} {}): {}",
                                cell.name(),
                                r.status,
                                r.body,
                                Value::Array(now.clone())
                            ));
                        }
                        if !audit_lane && !same_rows(&now, &snapshot[t]) {
                            tx.batch_execute(&format!(
                                "delete from api.{t} t where not exists \
                                   (select 1 from snap.{t} s where to_jsonb(s) = to_jsonb(t)); \
                                 insert into api.{t} select * from snap.{t} s where not exists \
                                   (select 1 from api.{t} t where to_jsonb(t) = to_jsonb(s))"
                            ))
                            .await
                            .expect("undo the write");
                            let undone = array(&dump_table(&tx, t, None).await);
                            assert!(same_rows(&undone, &snapshot[t]), "undoing {} left api.{t} changed", cell.name());
                        }
                    }
                    tx.commit().await.expect("commit the check");
                }
            }
        }
    }
    (failures, audit)
}

#[tokio::test]
async fn isolation_matrix_over_http() {
    let matrix = parse();
    let w = World::new().await;
    let db = w.g.db.admin().await;
    let mut snap = String::from("create schema snap;");
    for t in TABLES {
        snap.push_str(&format!(" create table snap.{t} as select * from api.{t};"));
    }
    db.batch_execute(&snap).await.expect("snapshot the seeded tables");
    let mut snapshot = HashMap::new();
    for t in TABLES {
        snapshot.insert(t, array(&dump_table(&db, t, None).await));
    }
    let before = w.dump().await;

    let direct = w.without_pre_request().await;
    let results = join_all(LANES.iter().map(|lane| run_lane(&w, &direct, lane, &matrix, &snapshot))).await;
    let mut failures: Vec<String> = vec![];
    let mut audit_expected = vec![];
    for (f, a) in results {
        failures.extend(f);
        audit_expected.extend(a);
    }
    let cells = TABLES.len() * METHODS.len() * Actor::ALL.len() * 2;
    // The service_role cells are sent twice (with and without the pre-request check).
    let requests = cells + TABLES.len() * METHODS.len() * 2;
    assert!(
        failures.is_empty(),
        "{} of {requests} requests ({cells} cells) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("isolation matrix over HTTP: {cells} cells, {requests} requests, as expected");

    // Every table as seeded; the audit log as seeded plus exactly the allowed writes.
    let after = w.dump().await;
    for t in TABLES.iter().filter(|t| **t != "audit_log") {
        assert_eq!(after[t], before[t], "api.{t} changed");
    }
    let seeded_audit = dump_table(&db, "audit_log", Some("id in (select id from snap.audit_log)")).await;
    assert_eq!(seeded_audit, before["audit_log"], "the seeded audit rows changed");
    let added = db
        .query(
            "select table_name, action, org_id::text, coalesce(actor_user_id::text, '') from api.audit_log \
              where id not in (select id from snap.audit_log)",
            &[],
        )
        .await
        .expect("added audit rows");
    let mut added: Vec<(String, String, String, String)> =
        added.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect();
    added.sort();
    audit_expected.sort();
    assert_eq!(added, audit_expected, "the audit log must hold one row per allowed write, and nothing else");
}

/// Where the HTTP matrix may differ from the SQL suite's, and why: `(table, method, actor column)`.
const SQL_DIFFERENCES: [(&str, &str, &str, &str); 2] = [
    (
        "models",
        "UPSERT",
        "super",
        "an upsert over HTTP (resolution=merge-duplicates) sets every column of the payload, the key `id` \
         included, and api.models grants UPDATE on `name` only; the SQL suite's upsert sets `name` only",
    ),
    ("plans", "UPSERT", "super", "as for models: api.plans grants UPDATE on its limits and name, not on `id`"),
];

/// The HTTP matrix and the SQL suite's table matrix (tests/sql/lib/table_matrix.sql) say the same
/// for every actor both have, so the two suites cannot drift apart unnoticed.
#[test]
fn the_http_matrix_agrees_with_the_sql_matrix() {
    let http = parse();
    let sql_text = include_str!("../../sql/lib/table_matrix.sql");
    // The column header is the comment line naming the actors, in the order of the cells.
    let header: Vec<&str> = sql_text
        .lines()
        .find(|l| l.trim_start().starts_with("--") && l.contains(" anon ") && l.contains(" service "))
        .expect("table_matrix.sql names its columns in a comment")
        .trim_start()
        .trim_start_matches('-')
        .split_whitespace()
        .collect();
    let mut compared = 0;
    let mut differences = vec![];
    let mut sql_lines = 0;
    for line in sql_text.lines().map(str::trim).filter(|l| l.starts_with("('")) {
        let fields: Vec<&str> = line.split('\'').collect();
        let (table, command, cells) = (fields[1], fields[3], fields[5]);
        let cells: Vec<&str> = cells.split_whitespace().collect();
        assert_eq!(cells.len(), header.len(), "table_matrix.sql: {line}");
        let method = match command {
            "select" => "GET",
            "insert" => "POST",
            "update" => "PATCH",
            "delete" => "DELETE",
            "upsert" => "UPSERT",
            other => panic!("table_matrix.sql: command {other}"),
        };
        sql_lines += 1;
        let ours = &http[&(table, method)];
        for actor in Actor::ALL {
            let Some(name) = actor.sql_name() else { continue };
            let at = header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("no {name} in {header:?}"));
            compared += 1;
            if ours.cells[&actor] != cells[at] {
                differences.push((table, method, actor.column(), ours.cells[&actor], cells[at]));
            }
        }
    }
    assert_eq!(sql_lines, TABLES.len() * METHODS.len(), "table_matrix.sql has a line per table and command");
    let unexplained: Vec<String> = differences
        .iter()
        .filter(|(t, m, a, ..)| !SQL_DIFFERENCES.iter().any(|(dt, dm, da, _)| (dt, dm, da) == (t, m, a)))
        .map(|(t, m, a, h, s)| format!("{t} {m} as {a}: HTTP {h}, SQL {s}"))
        .collect();
    assert!(unexplained.is_empty(), "the HTTP and SQL matrices disagree:\n{}", unexplained.join("\n"));
    for (t, m, a, why) in SQL_DIFFERENCES {
        assert!(
            differences.iter().any(|(dt, dm, da, ..)| (*dt, *dm, *da) == (t, m, a)),
            "{t} {m} as {a} no longer differs ({why}): drop it from SQL_DIFFERENCES"
        );
    }
    assert_eq!(compared, TABLES.len() * METHODS.len() * (Actor::ALL.len() - 1));
}

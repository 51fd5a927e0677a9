//! Pooled connections never carry one request's identity into another: thousands of concurrent
//! requests of different orgs through a pool of 2 connections each see only the caller's org, and
//! a request right after one of A's on the same connection carries no trace of A.

use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use reqwest::Method;
use serde_json::{json, Value};

use super::*;

const TOTAL: usize = 4000;
const IN_FLIGHT: usize = 32;
const CLIENTS: [Actor; 4] = [Actor::MemberA, Actor::MemberB, Actor::Anon, Actor::TokenMemberA];
const KINDS: usize = 8;

/// The org an actor acts in, its task ids and its project ids.
fn own(actor: Actor) -> (&'static str, Vec<&'static str>, Vec<&'static str>) {
    match actor {
        Actor::MemberB => (ORG_B, vec![TASK_B, TASK_B2, TASK_B3], vec![PROJ_B, PROJ2_B]),
        _ => (ORG_A, vec![TASK_A], vec![PROJ_A, PROJ2_A]),
    }
}

/// Method, path, headers, body and the expected JSON of a probe.
type Probe = (Method, String, Vec<(&'static str, &'static str)>, Option<Value>, Value);

/// One request of kind `kind` as `actor`; the failure, if its answer is not exactly the caller's.
async fn probe(w: &World, actor: Actor, kind: usize) -> Option<String> {
    let (org, tasks, projects) = own(actor);
    let other = if org == ORG_A { ORG_B } else { ORG_A };
    let tasks_json = |ids: &[&str]| Value::Array(ids.iter().map(|id| json!({"id": id, "org_id": org})).collect());
    let (method, path, headers, body, want): Probe = match kind {
        0 => (Method::GET, "/tasks?select=id,org_id&order=id".into(), vec![], None, tasks_json(&tasks)),
        1 => {
            let want: Vec<Value> = projects
                .iter()
                .map(|p| {
                    let children: Vec<&str> = if [PROJ_A, PROJ_B].contains(p) { tasks.clone() } else { vec![] };
                    json!({"id": p, "org_id": org, "tasks": tasks_json(&children)})
                })
                .collect();
            (
                Method::GET,
                "/projects?select=id,org_id,tasks(id,org_id)&order=id&tasks.order=id".into(),
                vec![],
                None,
                json!(want),
            )
        }
        2 => (Method::GET, "/whoami?select=role,claims".into(), vec![], None, Value::Null),
        // One row each (concurrent multi-row updates could deadlock), named next to the other org's.
        3 => (
            Method::PATCH,
            format!("/tasks?select=id,org_id&id=in.({TASK_A},{TASK_B})"),
            vec![("prefer", "return=representation")],
            Some(json!({"done": false})),
            tasks_json(&tasks[..1]),
        ),
        4 => (
            Method::POST,
            "/tasks?select=org_id,project_id,title".into(),
            vec![("prefer", "return=representation,tx=rollback")],
            Some(json!({"org_id": org, "project_id": projects[0], "title": "probe"})),
            json!([{"org_id": org, "project_id": projects[0], "title": "probe"}]),
        ),
        5 => (
            Method::POST,
            "/projects".into(),
            vec![("prefer", "return=representation")],
            Some(json!({"org_id": other, "name": "probe"})),
            Value::Null,
        ),
        6 => (
            Method::GET,
            "/memberships?select=org_id&role=eq.viewer".into(),
            vec![],
            None,
            json!([{"org_id": org}, {"org_id": org}]),
        ),
        _ => (Method::HEAD, "/tasks".into(), vec![("prefer", "count=exact")], None, Value::Null),
    };
    let body = body.map(|b| b.to_string());
    let r = w.call(actor, method.clone(), &path, &headers, body.as_deref()).await;
    let got: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
    let ok = match (actor, kind) {
        (Actor::Anon, 2) => {
            r.status == 200 && got == json!([{"role": "anon", "claims": json!({"role": "anon"}).to_string()}])
        }
        (Actor::Anon, 7) => r.status == 401,
        (Actor::Anon, _) => r.status == 401 && got["code"] == "42501",
        (_, 2) => {
            let claims: Value =
                serde_json::from_str(got[0]["claims"].as_str().unwrap_or("null")).unwrap_or(Value::Null);
            let user = actor.user().expect("signed in");
            let token = actor == Actor::TokenMemberA;
            r.status == 200
                && got[0]["role"] == "authenticated"
                && claims["sub"] == user
                && (claims["api_token_org"] == org) == token
                && claims.get("api_token").is_none()
        }
        (_, 5) => r.status == 403 && got["code"] == "42501",
        (_, 7) => {
            r.status == 200 && r.header("content-range") == Some(&format!("0-{}/{}", tasks.len() - 1, tasks.len()))
        }
        (_, 4) => r.status == 201 && got == want,
        _ => r.status == 200 && got == want,
    };
    (!ok)
        .then(|| format!("{} {method} {path}: {} {:?} {}", actor.column(), r.status, r.header("content-range"), r.body))
}

#[tokio::test]
async fn many_clients_of_different_orgs_through_a_pool_of_two() {
    let w = World::with(|a| {
        a.db_pool = Some("2".into());
        a.db_tx_end = Some("commit-allow-override".into());
    })
    .await;
    let before = w.dump().await;
    let started = std::time::Instant::now();
    let w = &w;
    let failures: Vec<String> = stream::iter(0..TOTAL)
        .map(|i| probe(w, CLIENTS[i % CLIENTS.len()], (i / CLIENTS.len()) % KINDS))
        .buffer_unordered(IN_FLIGHT)
        .filter_map(|f| async move { f })
        .collect()
        .await;
    let elapsed = started.elapsed();
    assert!(
        failures.is_empty(),
        "{} of {TOTAL} responses were not exactly the caller's (first 20):\n{}",
        failures.len(),
        failures.iter().take(20).cloned().collect::<Vec<_>>().join("\n")
    );
    assert_eq!(w.dump().await, before, "reads, no-op updates and rolled-back inserts changed nothing");
    // The pool really was 2: the gateway holds no more (besides its LISTEN connection).
    let n = w
        .rows(
            "select count(*) as n from pg_stat_activity where usename = 'authenticator' \
              and datname = current_database() and query not ilike 'listen%'",
        )
        .await;
    assert!(n[0]["n"].as_i64().expect("a count") <= 2, "{n} ({elapsed:?})");
}

/// Request as A, then anonymous on the same pooled connection: nothing of A remains (claims,
/// role, response GUCs, the upsert counter).
#[tokio::test]
async fn a_connection_forgets_the_previous_request() {
    let w = World::with(|a| a.db_pool = Some("2".into())).await;
    let admin = w.g.db.admin().await;
    admin
        .batch_execute(
            "create view api.iso_conn with (security_invoker = true) as \
               select pg_backend_pid() as pid, current_user::text as role, \
                      current_setting('request.jwt.claims', true) as claims, \
                      coalesce(current_setting('response.headers', true), '') as response_headers, \
                      coalesce(current_setting('response.status', true), '') as response_status, \
                      coalesce(current_setting('rowgate.updated', true), '') as updated; \
             grant select on api.iso_conn to anon, authenticated; \
             notify pgrst, 'reload schema'",
        )
        .await
        .expect("create the probe view");
    let mut ready = false;
    for _ in 0..100 {
        if w.get(Actor::Anon, "/iso_conn").await.status == 200 {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready, "the schema cache never saw api.iso_conn");

    let upsert = json!({"org_id": ORG_A, "id": TASK_A, "project_id": PROJ_A, "title": "a-task"}).to_string();
    let into_b = json!({"org_id": ORG_B, "name": "x"});
    let mut same_connection = 0;
    for round in 0..30 {
        // Something of A's on a connection: a read, an upsert (sets rowgate.updated), a response
        // header set from SQL, a refused write, an API token (claims replaced by the check).
        let a = match round % 5 {
            0 => w.get(Actor::MemberA, "/iso_conn").await,
            1 => {
                let prefer = [("prefer", "return=representation,resolution=merge-duplicates")];
                w.call(Actor::MemberA, Method::POST, "/tasks", &prefer, Some(&upsert)).await
            }
            2 => {
                w.rpc(Actor::MemberA, "set_response", &json!({"headers": "[{\"x-a\": \"1\"}]", "status": "202"})).await
            }
            3 => w.write(Actor::MemberA, Method::POST, "/projects", Some(&into_b)).await,
            _ => w.get(Actor::TokenMemberA, "/iso_conn").await,
        };
        assert!(a.status < 500, "round {round}: {} {}", a.status, a.body);
        let pid_a = serde_json::from_str::<Value>(&a.body).ok().map(|v| v[0]["pid"].clone());
        // Two anonymous requests: with two connections, one of them gets the one A just used,
        // whichever order the pool hands them out in.
        for _ in 0..2 {
            let r = w.get(Actor::Anon, "/iso_conn").await;
            assert_eq!(r.status, 200, "{}", r.body);
            let row = &r.json()[0];
            assert_eq!(
                (&row["role"], &row["claims"], &row["response_headers"], &row["response_status"], &row["updated"]),
                (&json!("anon"), &json!(r#"{"role":"anon"}"#), &json!(""), &json!(""), &json!("")),
                "round {round}: anonymous sees something of the previous request: {row}"
            );
            same_connection += usize::from(pid_a.as_ref() == Some(&row["pid"]));
        }
    }
    assert!(same_connection > 0, "the anonymous requests never reused A's connection");
}

/// Finding: a write that must look at its result before ending its transaction (`Prefer:
/// max-affected` with `handling=strict`, or a singular `Accept`) sends BEGIN … main statement, and
/// COMMIT/ROLLBACK only after the result. If the client goes away in between, the handler is
/// dropped and the connection returns to the pool "idle in transaction": the next request on it,
/// whoever sends it, runs inside that transaction and its COMMIT commits the abandoned write (here
/// a PATCH that `max-affected=0` should have rolled back), or, if the abandoned statement failed,
/// it is answered 500 `25P02`. Expected: the abandoned transaction ends on its own (rolled back),
/// and another tenant's request neither commits it nor inherits its failure.
#[tokio::test]
async fn a_cancelled_write_never_hands_its_transaction_to_the_next_request() {
    let w = World::with(|a| a.db_pool = Some("1".into())).await;
    let mut admin = w.g.db.admin().await;
    let titles = format!("select title from api.tasks where org_id = '{ORG_A}'");
    let before = w.rows(&titles).await;
    // Hold A's task so that the PATCH waits, and let the client give up meanwhile.
    let lock = admin.transaction().await.expect("begin");
    lock.batch_execute(&format!("select * from api.tasks where id = '{TASK_A}' for update")).await.expect("lock");
    let impatient = reqwest::Client::builder().timeout(Duration::from_millis(300)).build().expect("client");
    let sent = impatient
        .patch(w.g.url("/tasks"))
        .header("authorization", w.authorization(Actor::MemberA).expect("A's token"))
        .header("prefer", "handling=strict,max-affected=0")
        .header("content-type", "application/json")
        .body(r#"{"title":"over the limit"}"#)
        .send()
        .await;
    assert!(sent.is_err(), "the client was meant to time out: {sent:?}");
    lock.rollback().await.expect("release the lock");
    // Wait for the abandoned statement to finish.
    let busy = "select count(*) as n from pg_stat_activity where usename = 'authenticator' \
                  and datname = current_database() and state = 'active'";
    for _ in 0..100 {
        if w.rows(busy).await[0]["n"] == json!(0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let open = "select count(*) as n from pg_stat_activity where usename = 'authenticator' \
                  and datname = current_database() and state like 'idle in transaction%'";
    let left_open = w.rows(open).await[0]["n"].clone();
    // B's request comes next on the only connection.
    let r = w.get(Actor::MemberB, "/tasks?select=id&order=id").await;
    assert_eq!(r.status, 200, "B's request inherits A's transaction: {}", r.body);
    assert_eq!(w.rows(&titles).await, before, "B's request committed A's abandoned max-affected=0 write");
    assert_eq!(left_open, json!(0), "a pooled connection was left idle in transaction");
}

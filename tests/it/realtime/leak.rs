//! The realtime leak test, in the style of tests/it/isolation/leak.rs: 120 orgs (a user of every
//! tenth org is also a viewer of the next one), 100 subscribers of 100 orgs (a fifth of them with
//! an `org_id=eq.` filter, half on vsn 1.0.0), and 3,000 changes — inserts, updates and deletes
//! of tasks in every org, in transactions of 1 to 8 statements from 4 concurrent writers. Every
//! delivered event is checked against what SQL says the subscriber may see (`internal.user_org_ids()`
//! under the subscriber's claims, the helper the policies use): 0 foreign events, 0 missing.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::Mutex;

use super::*;

const ORGS: usize = 120;
const SUBSCRIBERS: usize = 100;
const WRITERS: usize = 4;
const CHANGES_PER_WRITER: usize = 750;

fn org(i: usize) -> String {
    format!("0e000000-0000-0000-0000-{i:012}")
}
fn user(i: usize) -> String {
    format!("e1000000-0000-0000-0000-{i:012}")
}
fn project(i: usize) -> String {
    format!("1e000000-0000-0000-0000-{i:012}")
}

fn world_sql() -> String {
    let mut sql = String::new();
    for i in 0..ORGS {
        sql += &format!(
            "insert into auth.users (id, email) values ('{u}', 'leak{i}@x.test');
             insert into api.organizations (id, name, status) values ('{o}', 'Leak {i}', 'active');
             insert into api.memberships (org_id, user_id, role) values ('{o}', '{u}', 'owner');
             insert into api.projects (org_id, id, name) values ('{o}', '{p}', 'p{i}');\n",
            u = user(i),
            o = org(i),
            p = project(i)
        );
    }
    for i in (0..ORGS - 1).step_by(10) {
        sql += &format!(
            "insert into api.memberships (org_id, user_id, role) values ('{}', '{}', 'viewer');\n",
            org(i + 1),
            user(i)
        );
    }
    sql
}

/// One delivered or expected event: kind, task id, title.
type Event = (String, String, String);

#[tokio::test]
async fn thousands_of_changes_across_orgs_reach_exactly_who_may_see_them() {
    let g = gateway(world(&[&world_sql()]).await, |_| {}).await;
    let admin = g.db.admin().await;

    // What SQL says each subscriber may see: its orgs, by the policies' own helper under its claims.
    let mut visible_orgs: Vec<HashSet<String>> = Vec::new();
    for s in 0..SUBSCRIBERS {
        let claims = json!({"role": "authenticated", "sub": user(s)}).to_string();
        let rows = admin
            .query(
                "select unnest(internal.user_org_ids())::text from (select set_config('request.jwt.claims', $1, false)) c",
                &[&claims],
            )
            .await
            .unwrap();
        visible_orgs.push(rows.iter().map(|r| r.get::<_, String>(0)).collect());
    }
    assert!(visible_orgs[0].len() == 2 && visible_orgs[1].len() == 1, "{:?}", &visible_orgs[..2]);

    // Subscribers, each collecting what arrives.
    let collected: Arc<Mutex<Vec<Vec<Event>>>> = Arc::new(Mutex::new(vec![Vec::new(); SUBSCRIBERS]));
    let mut readers = Vec::new();
    for s in 0..SUBSCRIBERS {
        let filtered = s % 5 == 0;
        let mut binding = json!({"event": "*", "schema": "api", "table": "tasks"});
        if filtered {
            binding["filter"] = format!("org_id=eq.{}", org(s)).into();
        }
        let mut c = Client::connect(g.running.api_addr, &anon_key(), s % 2 == 0).await;
        let (_, reply) = c.join(&format!("realtime:s{s}"), json!([binding]), Some(&user_token(&user(s), 3600))).await;
        assert_eq!(reply.payload["status"], "ok");
        c.until(Duration::from_secs(10), |f| f.event == "system").await;
        let collected = collected.clone();
        readers.push(tokio::spawn(async move {
            while let Some(f) = c.recv(Duration::from_secs(8)).await {
                if f.event != "postgres_changes" {
                    continue;
                }
                let d = &f.payload["data"];
                let row = if d["type"] == "DELETE" { &d["old_record"] } else { &d["record"] };
                let e = (
                    d["type"].as_str().unwrap_or("").to_string(),
                    row["id"].as_str().unwrap_or("").to_string(),
                    row["title"].as_str().unwrap_or("").to_string(),
                );
                collected.lock().await[s].push(e);
            }
        }));
    }

    // The writes, and what each was: (org, event).
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let client = g.db.admin().await;
        writers.push(tokio::spawn(async move {
            let mut done: Vec<(String, Event)> = Vec::new();
            let mut live: Vec<(String, String, String)> = Vec::new(); // (org, id, title)
            let mut n = 0usize;
            let mut seed = 0x9E37_79B9u64 ^ (w as u64 * 7919);
            let mut rand = move |m: usize| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (seed % m as u64) as usize
            };
            while n < CHANGES_PER_WRITER {
                let stmts = 1 + rand(8);
                let mut sql = String::from("begin;\n");
                let mut pending = Vec::new();
                for _ in 0..stmts {
                    n += 1;
                    let title = format!("w{w}-{n}");
                    match (rand(10), live.is_empty()) {
                        (0..=5, _) | (_, true) => {
                            let o = rand(ORGS);
                            let id = format!("7{w}{n:06}-0000-4000-8000-{o:012}");
                            sql += &format!("insert into api.tasks (org_id, id, project_id, title) values ('{}', '{id}', '{}', '{title}');\n", org(o), project(o));
                            pending.push((org(o), ("INSERT".to_string(), id.clone(), title.clone())));
                            live.push((org(o), id, title));
                        }
                        (6..=7, false) => {
                            let k = rand(live.len());
                            let (o, id, _) = live[k].clone();
                            sql += &format!("update api.tasks set title = '{title}' where id = '{id}';\n");
                            pending.push((o.clone(), ("UPDATE".to_string(), id.clone(), title.clone())));
                            live[k].2 = title;
                        }
                        _ => {
                            let (o, id, title) = live.swap_remove(rand(live.len()));
                            sql += &format!("delete from api.tasks where id = '{id}';\n");
                            pending.push((o, ("DELETE".to_string(), id, title)));
                        }
                    }
                }
                sql += "commit;";
                // Transactions across several orgs can deadlock on the orgs' usage counters
                // (functions/quota.sql); as any client would, the writer retries them. A rolled
                // back attempt publishes nothing.
                let mut attempts = 0;
                while let Err(e) = client.batch_execute(&sql).await {
                    attempts += 1;
                    let deadlock = e.code() == Some(&tokio_postgres::error::SqlState::T_R_DEADLOCK_DETECTED);
                    assert!(deadlock && attempts < 20, "a writer's transaction: {e:?}");
                    client.batch_execute("rollback").await.expect("rollback");
                }
                done.extend(pending);
            }
            done
        }));
    }
    let mut changes: Vec<(String, Event)> = Vec::new();
    for w in writers {
        changes.extend(w.await.expect("writer"));
    }
    assert!(changes.len() >= WRITERS * CHANGES_PER_WRITER);
    let orgs_touched: BTreeSet<&String> = changes.iter().map(|(o, _)| o).collect();
    assert!(orgs_touched.len() >= 100, "only {} orgs written to", orgs_touched.len());

    let mut expected: Vec<BTreeMap<Event, usize>> = vec![BTreeMap::new(); SUBSCRIBERS];
    for s in 0..SUBSCRIBERS {
        for (o, e) in &changes {
            let in_filter = s % 5 != 0 || *o == org(s);
            if visible_orgs[s].contains(o) && in_filter {
                *expected[s].entry(e.clone()).or_default() += 1;
            }
        }
    }
    let total: usize = expected.iter().map(|e| e.values().sum::<usize>()).sum();
    // Wait for the deliveries to settle, then stop the readers.
    for _ in 0..300 {
        let got: usize = collected.lock().await.iter().map(Vec::len).sum();
        if got >= total {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for r in readers {
        r.abort();
    }
    let collected = collected.lock().await;
    let (mut foreign, mut missing) = (Vec::new(), Vec::new());
    for s in 0..SUBSCRIBERS {
        let mut got: BTreeMap<Event, usize> = BTreeMap::new();
        for e in &collected[s] {
            *got.entry(e.clone()).or_default() += 1;
        }
        for (e, n) in &got {
            let want = expected[s].get(e).copied().unwrap_or(0);
            if *n > want {
                foreign.push(format!("subscriber {s} got {e:?} ×{n}, may see ×{want}"));
            }
        }
        for (e, n) in &expected[s] {
            if got.get(e).copied().unwrap_or(0) < *n {
                missing.push(format!("subscriber {s} missed {e:?}"));
            }
        }
    }
    eprintln!(
        "realtime leak test: {} changes, {} expected deliveries, {} delivered",
        changes.len(),
        total,
        collected.iter().map(Vec::len).sum::<usize>()
    );
    assert!(
        foreign.is_empty(),
        "{} foreign events (first 10):\n{}",
        foreign.len(),
        foreign[..foreign.len().min(10)].join("\n")
    );
    assert!(
        missing.is_empty(),
        "{} missing events (first 10):\n{}",
        missing.len(),
        missing[..missing.len().min(10)].join("\n")
    );
    assert!(total > 2000, "the test must deliver thousands: {total}");
    super::drop_slot(&g).await;
}

//! Delivery: committed transactions in, frames to subscribers out, in commit order. A batch is
//! whatever arrived while the previous one was being delivered (so batches grow with load and a
//! quiet system delivers each commit at once). For each batch: candidates from the registry
//! (table, event, start LSN; filters evaluated by PostgreSQL in step 1 of `check.rs`), then one
//! visibility check per distinct identity (step 2), then one frame per channel and change. The
//! cost grows with identities × batches, not with events × subscribers.
//!
//! Nothing is decided here about who may see what: a subscriber receives a change only if its
//! identity's transaction returned that image as visible. A failure of one identity (a policy
//! that raises for its claims) loses nothing for the others; a revoked token closes its channels.

mod check;
mod fanout;
pub mod recheck;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;

use super::capture::pgoutput::{Kind, Transaction};
use super::protocol::join::Events;
use super::registry::{Identity, Out, Subscription};
use crate::db::DbError;
use crate::state::AppState;
pub use check::Verdict;
use check::{FilterGroup, IdentityRequest, TableRequest};

pub use check::{context_of, context_steps, text_array, verdict_of_error};

/// Most transactions taken into one batch.
const MAX_BATCH: usize = 512;
/// How long a full queue may stay full before its client counts as not reading and is cut.
const SLOW_CLIENT_GRACE: Duration = Duration::from_millis(250);

/// Runs until the capture side closes.
pub async fn run(state: Arc<AppState>, mut rx: mpsc::Receiver<Transaction>) {
    let mut batch = Vec::new();
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(t) => batch.push(t),
                Err(_) => break,
            }
        }
        let delivered = state.realtime.delivered();
        // Already delivered before a reconnect re-sent them.
        batch.retain(|t| t.end_lsn > delivered);
        let last = batch.iter().map(|t| t.end_lsn).max().unwrap_or(delivered);
        let mut delay = Duration::from_millis(100);
        loop {
            match deliver(&state, &batch).await {
                Ok(()) => break,
                Err(e) => {
                    // The database is unreachable: the same batch again, once it is back.
                    tracing::warn!(error = %e, retry_ms = delay.as_millis() as u64, "realtime: cannot check a batch; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                    if *state.realtime.stopping().borrow() {
                        return;
                    }
                }
            }
        }
        state.realtime.set_delivered(last);
        batch.clear();
    }
}

/// One change of the batch that someone may receive.
struct Item<'a> {
    tx: &'a Transaction,
    change: usize,
    /// Position of the table in `tables`.
    table: usize,
    /// Positions in the table's images.
    new: Option<usize>,
    old: Option<usize>,
    /// Position among the table's checked images.
    checked: usize,
}

fn event_of(kind: Kind) -> Events {
    match kind {
        Kind::Insert => Events::INSERT,
        Kind::Update => Events::UPDATE,
        Kind::Delete => Events::DELETE,
    }
}

struct TableWork {
    request: TableRequest,
    subs: Arc<Vec<Arc<Subscription>>>,
    /// Positions in `subs` of the subscriptions without a filter (candidates for every change).
    unfiltered: Vec<usize>,
    /// Filter id → positions in `subs` of the subscriptions it stands for.
    by_filter: HashMap<i32, Vec<usize>>,
}

async fn deliver(state: &AppState, batch: &[Transaction]) -> Result<(), DbError> {
    let hub = &state.realtime;
    // Tables with subscribers, their images and filters.
    let mut tables: Vec<TableWork> = Vec::new();
    let mut table_pos: HashMap<u32, usize> = HashMap::new();
    let mut items: Vec<Item> = Vec::new();
    {
        let registry = match hub.registry.read() {
            Ok(r) => r,
            Err(_) => return Ok(()),
        };
        for tx in batch {
            for (ci, c) in tx.changes.iter().enumerate() {
                let ti = match table_pos.get(&c.rel.oid) {
                    Some(&ti) => ti,
                    None => {
                        let Some(subs) = registry.table(c.rel.oid) else { continue };
                        table_pos.insert(c.rel.oid, tables.len());
                        tables.push(new_work(c.rel.oid, subs));
                        tables.len() - 1
                    }
                };
                let w = &mut tables[ti].request;
                let mut push = |img: &Option<String>| {
                    img.as_ref().map(|i| {
                        w.images.push(i.clone());
                        w.images.len() - 1
                    })
                };
                let (new, old) = (push(&c.new), push(&c.old));
                let Some(checked_img) = (if c.kind == Kind::Delete { old } else { new }) else { continue };
                w.checked.push(checked_img);
                items.push(Item { tx, change: ci, table: ti, new, old, checked: w.checked.len() - 1 });
            }
        }
    }
    tracing::debug!(transactions = batch.len(), items = items.len(), tables = tables.len(), "realtime: batch");
    if items.is_empty() {
        return Ok(());
    }
    let requests: Vec<TableRequest> =
        tables.iter_mut().map(|t| std::mem::replace(&mut t.request, TableRequest::empty())).collect();
    let t_describe = std::time::Instant::now();
    let views = check::describe(state, &requests).await?;
    let describe_ms = t_describe.elapsed().as_millis() as u64;

    // Candidates: per identity, per table, the items it may receive if visible.
    let mut identities: HashMap<Arc<Identity>, usize> = HashMap::new();
    let mut candidates: Vec<HashMap<usize, Vec<usize>>> = Vec::new(); // identity → table → item indexes
    let matched: Vec<HashMap<usize, Vec<i32>>> = views
        .iter()
        .map(|v| {
            let mut m: HashMap<usize, Vec<i32>> = HashMap::new();
            if let Ok(v) = v {
                for &(pos, id) in &v.matches {
                    m.entry(pos).or_default().push(id);
                }
            }
            m
        })
        .collect();
    // Per item, the subscriptions that want it (pending the visibility check).
    let mut wanted: Vec<Vec<&Arc<Subscription>>> = Vec::with_capacity(items.len());
    for (ii, item) in items.iter().enumerate() {
        let t = &tables[item.table];
        let mut subs_for_item = Vec::new();
        let Ok(view) = &views[item.table] else {
            wanted.push(subs_for_item);
            continue;
        };
        let kind = item.tx.changes[item.change].kind;
        // Candidates: the unfiltered subscriptions and those whose filter matched this image
        // (looked up by filter id, never a scan of every subscription).
        let hits = matched[item.table].get(&item.checked).map(Vec::as_slice).unwrap_or_default();
        let matching = hits.iter().filter_map(|id| t.by_filter.get(id)).flatten();
        for &si in t.unfiltered.iter().chain(matching) {
            let s = &t.subs[si];
            if !s.events.contains(event_of(kind)) || item.tx.commit_lsn < s.start_lsn {
                continue;
            }
            if view.roles.get(&s.identity.role).is_none_or(|r| r.names.is_empty()) {
                continue;
            }
            let next = identities.len();
            let idx = *identities.entry(s.identity.clone()).or_insert(next);
            if idx == candidates.len() {
                candidates.push(HashMap::new());
            }
            let list = candidates[idx].entry(item.table).or_default();
            if list.last() != Some(&ii) {
                list.push(ii);
            }
            subs_for_item.push(s);
        }
        wanted.push(subs_for_item);
    }
    report_failed(&requests, &views);

    // Step 2: one transaction per identity.
    let mut order: Vec<(Arc<Identity>, usize)> = identities.into_iter().collect();
    order.sort_by_key(|(_, i)| *i);
    let table_ids: Vec<Vec<usize>> = candidates
        .iter()
        .map(|m| {
            let mut k: Vec<usize> = m.keys().copied().collect();
            k.sort_unstable();
            k
        })
        .collect();
    let requests2: Vec<IdentityRequest> = order
        .iter()
        .map(|(identity, i)| IdentityRequest {
            identity: identity.clone(),
            tables: table_ids[*i]
                .iter()
                .filter_map(|ti| {
                    let view = views[*ti].as_ref().ok()?;
                    let sql = view.roles.get(&identity.role)?.sql.as_str();
                    let imgs = candidates[*i][ti]
                        .iter()
                        .map(|&ii| requests[*ti].images[requests[*ti].checked[items[ii].checked]].as_str())
                        .collect();
                    Some((sql, imgs))
                })
                .collect(),
        })
        .collect();
    let t_visible = std::time::Instant::now();
    let verdicts = check::visible(state, &requests2).await?;
    let visible_ms = t_visible.elapsed().as_millis() as u64;
    tracing::debug!(
        identities = requests2.len(),
        candidates = requests2.iter().map(|r| r.tables.iter().map(|t| t.1.len()).sum::<usize>()).sum::<usize>(),
        visible = verdicts
            .iter()
            .map(|v| match v {
                Verdict::Visible(p) => p.iter().map(Vec::len).sum(),
                _ => 0,
            })
            .sum::<usize>(),
        describe_ms,
        visible_ms,
        "realtime: checked"
    );

    // Which (identity, item) pairs are visible.
    let mut visible: HashMap<(usize, usize), ()> = HashMap::new();
    let mut revoked: HashMap<Arc<Identity>, String> = HashMap::new();
    for ((identity, i), verdict) in order.iter().zip(verdicts) {
        match verdict {
            Verdict::Visible(per_table) => {
                for (ti, positions) in table_ids[*i].iter().filter(|ti| views[**ti].is_ok()).zip(per_table) {
                    let list = &candidates[*i][ti];
                    for p in positions {
                        if let Some(&ii) = list.get(p) {
                            visible.insert((*i, ii), ());
                        }
                    }
                }
            }
            Verdict::Revoked(why) => {
                revoked.insert(identity.clone(), why);
            }
            Verdict::Failed(why) | Verdict::Transient(why) => {
                state.metrics.realtime.check_failed();
                tracing::warn!(role = %identity.role, error = %why, "realtime: a subscriber's check failed; it misses this batch");
            }
        }
    }
    let identity_index: HashMap<&Arc<Identity>, usize> = order.iter().map(|(id, i)| (id, *i)).collect();
    let started = std::time::Instant::now();
    let pushed = fan_out(state, &items, &wanted, &views, &visible, &identity_index).await;
    tracing::debug!(pushed, ms = started.elapsed().as_millis() as u64, "realtime: fanned out");
    close_revoked(state, &revoked);
    Ok(())
}

fn new_work(table: u32, subs: Arc<Vec<Arc<Subscription>>>) -> TableWork {
    let mut roles: Vec<Arc<str>> = Vec::new();
    let mut groups: Vec<FilterGroup> = Vec::new();
    let mut value_ids: HashMap<(usize, &str), i32> = HashMap::new();
    let mut unfiltered = Vec::new();
    let mut by_filter: HashMap<i32, Vec<usize>> = HashMap::new();
    for (si, s) in subs.iter().enumerate() {
        if !roles.contains(&s.identity.role) {
            roles.push(s.identity.role.clone());
        }
        let mut ids = Vec::new();
        if let Some(f) = &s.filter {
            let gi = match groups.iter().position(|g| g.column == f.column && g.op == f.op.name()) {
                Some(gi) => gi,
                None => {
                    groups.push(FilterGroup { column: f.column.clone(), op: f.op.name(), ..Default::default() });
                    groups.len() - 1
                }
            };
            for v in &f.values {
                let next = value_ids.len() as i32 + 1;
                let id = *value_ids.entry((gi, v.as_str())).or_insert_with(|| {
                    groups[gi].vals.push(v.clone());
                    groups[gi].ids.push(next);
                    next
                });
                ids.push(id);
            }
        }
        if s.filter.is_none() {
            unfiltered.push(si);
        }
        for id in ids {
            by_filter.entry(id).or_default().push(si);
        }
    }
    // value_ids borrows subs: built ids are copied out before subs moves.
    drop(value_ids);
    TableWork {
        request: TableRequest { table, images: Vec::new(), checked: Vec::new(), roles, filters: groups },
        subs,
        unfiltered,
        by_filter,
    }
}

impl TableRequest {
    fn empty() -> TableRequest {
        TableRequest { table: 0, images: Vec::new(), checked: Vec::new(), roles: Vec::new(), filters: Vec::new() }
    }
}

fn report_failed(tables: &[TableRequest], views: &[Result<check::TableView, String>]) {
    for (t, v) in tables.iter().zip(views) {
        match v {
            Err(e) => {
                tracing::warn!(table = t.table, error = %e, "realtime: cannot describe a batch of this table")
            }
            Ok(v) => {
                for (col, e) in &v.failed_filters {
                    tracing::warn!(table = t.table, column = %col, error = %e, "realtime: a filter could not be evaluated");
                }
            }
        }
    }
}

async fn fan_out(
    state: &AppState,
    items: &[Item<'_>],
    wanted: &[Vec<&Arc<Subscription>>],
    views: &[Result<check::TableView, String>],
    visible: &HashMap<(usize, usize), ()>,
    identity_index: &HashMap<&Arc<Identity>, usize>,
) -> usize {
    let mut pushed = 0;
    let now_us = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64);
    let mut data_cache: HashMap<(Arc<str>, usize), Arc<String>> = HashMap::new();
    let mut timestamps: HashMap<u64, String> = HashMap::new();
    for (ii, item) in items.iter().enumerate() {
        let Ok(view) = &views[item.table] else { continue };
        let change = &item.tx.changes[item.change];
        // Channel → (subscription standing for it, binding ids), in first-seen order.
        let mut per_channel: Vec<(&Arc<Subscription>, Vec<u32>)> = Vec::new();
        for s in &wanted[ii] {
            let Some(&i) = identity_index.get(&s.identity) else { continue };
            if !visible.contains_key(&(i, ii)) {
                continue;
            }
            match per_channel.iter_mut().find(|(c, _)| c.channel == s.channel) {
                Some((_, ids)) => ids.push(s.binding_id),
                None => per_channel.push((s, vec![s.binding_id])),
            }
        }
        if per_channel.is_empty() {
            continue;
        }
        let ts =
            timestamps.entry(item.tx.commit_lsn).or_insert_with(|| fanout::timestamp(item.tx.commit_time_us)).clone();
        for (s, ids) in per_channel {
            let Some(role) = view.roles.get(&s.identity.role) else { continue };
            let data = data_cache
                .entry((s.identity.role.clone(), ii))
                .or_insert_with(|| {
                    let c = fanout::ChangeView {
                        schema: &change.rel.schema,
                        table: &change.rel.name,
                        kind: change.kind,
                        commit_timestamp: &ts,
                        new: item.new.and_then(|p| view.rows.get(p)),
                        old: item.old.and_then(|p| view.rows.get(p)),
                    };
                    Arc::new(fanout::data(&c, &role.columns_json, &role.names))
                })
                .clone();
            let frame = s.outbox.vsn.change(&s.topic_json, &ids, &data);
            if s.outbox.push_within(Out::Text(frame), SLOW_CLIENT_GRACE).await {
                pushed += 1;
                state.metrics.realtime.delivered((now_us - item.tx.commit_time_us).max(0) as u64);
            }
        }
    }
    pushed
}

/// Forgets the channels of revoked identities and tells them why (system error, `phx_close`).
pub(super) fn close_revoked(state: &AppState, revoked: &HashMap<Arc<Identity>, String>) {
    if revoked.is_empty() {
        return;
    }
    let closing: Vec<Arc<Subscription>> = match state.realtime.registry.write() {
        Ok(mut r) => {
            let doomed: Vec<Arc<Subscription>> =
                r.channels().into_iter().filter(|s| revoked.contains_key(&s.identity)).collect();
            for s in &doomed {
                r.remove_channel(s.channel);
            }
            doomed
        }
        Err(_) => return,
    };
    for s in closing {
        let why = revoked.get(&s.identity).cloned().unwrap_or_default();
        s.outbox.push(Out::Close { channel: s.channel, message: Some(why) });
    }
}

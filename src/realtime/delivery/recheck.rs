//! Re-checks every channel's token in SQL every `ROWGATE_REALTIME_RECHECK`: the REST
//! transaction's shape with the pre-request check alone, one group per distinct identity. A
//! token whose session was revoked (logout), whose user was disabled or whose API token was
//! revoked fails there, and its channels close with a system error and `phx_close`. (Deliveries
//! run the same check, so no change reaches a revoked token in between; this closes the channels
//! of subscribers who receive nothing.)

use std::collections::HashMap;
use std::sync::Arc;

use super::check::{context_of, context_steps, verdict_of_error, Verdict};
use crate::db::pool::Lease;
use crate::db::wire::Step;
use crate::realtime::registry::{Identity, Subscription};
use crate::state::AppState;

pub async fn run(state: Arc<AppState>) {
    if state.pre_request_sql.is_none() {
        // Nothing in SQL to consult: tokens are still closed at their expiry by the socket.
        return;
    }
    let mut tick = tokio::time::interval(state.realtime.settings.recheck);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut stop = state.realtime.stopping();
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        if let Err(e) = once(&state).await {
            tracing::debug!(error = %e, "realtime: token re-check skipped");
        }
    }
}

/// One pass over the identities of every channel.
pub async fn once(state: &AppState) -> Result<(), crate::db::DbError> {
    let channels: Vec<Arc<Subscription>> = match state.realtime.registry.read() {
        Ok(r) => r.channels(),
        Err(_) => return Ok(()),
    };
    let mut identities: Vec<Arc<Identity>> = channels.iter().map(|s| s.identity.clone()).collect();
    identities.sort_by(|a, b| (&a.role, &a.claims).cmp(&(&b.role, &b.claims)));
    identities.dedup();
    let mut revoked: HashMap<Arc<Identity>, String> = HashMap::new();
    for chunk in identities.chunks(256) {
        let contexts: Vec<crate::sql::Statement> = chunk.iter().map(|i| context_of(state, i)).collect();
        let groups: Vec<Vec<Step>> = contexts.iter().map(|c| context_steps(state, c)).collect();
        let mut conn = Lease::get(&state.pool).await?;
        let replies = conn.pipeline_groups(&groups).await?;
        for (identity, r) in chunk.iter().zip(replies) {
            if let Some(Verdict::Revoked(why)) = r.error.as_ref().map(verdict_of_error) {
                revoked.insert(identity.clone(), why);
            }
        }
    }
    super::close_revoked(state, &revoked);
    Ok(())
}

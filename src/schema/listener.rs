//! `LISTEN pgrst` on a dedicated connection that reconnects by itself; each relevant
//! notification (and each reconnect, since events may have been missed) asks for a reload.

use std::time::Duration;

use futures_util::{stream, StreamExt};
use tokio::sync::Notify;
use tokio_postgres::AsyncMessage;

use crate::tls::PgTarget;

pub const CHANNEL: &str = "pgrst";
const MAX_BACKOFF: Duration = Duration::from_secs(4);

/// Runs forever; `reload` is notified when the schema should be reloaded.
pub async fn listen(mut target: PgTarget, reload: std::sync::Arc<Notify>) {
    // A peer that vanished without closing (network cut) is noticed within about a minute.
    target
        .config
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(30))
        .keepalives_interval(Duration::from_secs(10));
    target.config.keepalives_retries(3);
    let mut backoff = Duration::from_millis(250);
    loop {
        match target.config.connect(target.tls.clone()).await {
            Ok((client, mut connection)) => {
                let mut messages = stream::poll_fn(move |cx| connection.poll_message(cx));
                let sql = format!("LISTEN {CHANNEL}");
                let mut listen = std::pin::pin!(client.batch_execute(&sql));
                // The connection must be polled for LISTEN to complete.
                let listened = loop {
                    tokio::select! {
                        r = &mut listen => break r.is_ok(),
                        m = messages.next() => if !matches!(m, Some(Ok(_))) { break false },
                    }
                };
                if listened {
                    backoff = Duration::from_millis(250);
                    reload.notify_one();
                    while let Some(msg) = messages.next().await {
                        match msg {
                            Ok(AsyncMessage::Notification(n)) if wants_reload(n.payload()) => reload.notify_one(),
                            Ok(_) => {}
                            Err(_) => break,
                        }
                    }
                    tracing::warn!("schema listener connection lost; reconnecting");
                }
            }
            Err(e) => tracing::debug!(error = %e, "schema listener cannot connect"),
        }
        tokio::time::sleep(backoff).await;
        // Capped low: after an outage the cache should follow the database within seconds.
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// `NOTIFY pgrst` and `NOTIFY pgrst, 'reload schema'` reload; `'reload config'` is not ours.
fn wants_reload(payload: &str) -> bool {
    matches!(payload.trim(), "" | "reload schema")
}

#[cfg(test)]
mod tests {
    #[test]
    fn payloads() {
        assert!(super::wants_reload(""));
        assert!(super::wants_reload("reload schema"));
        assert!(!super::wants_reload("reload config"));
    }
}

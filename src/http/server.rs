//! Accept loop shared by the API, HTTPS and admin listeners, with graceful shutdown (bounded by
//! `ROWGATE_SHUTDOWN_TIMEOUT`) and the per-connection limits of `conn_guard`.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use super::conn_guard::{self, Activity, PeerAddr, Tracked};
use crate::body::Body;
use crate::config::Limits;

/// A slow or silent client gives up its TLS handshake after this long.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `listener` until `shutdown` turns true, then waits for in-flight connections.
pub async fn serve<S, F, Fut>(
    listener: TcpListener,
    state: Arc<S>,
    handler: F,
    limits: Limits,
    shutdown: watch::Receiver<bool>,
) where
    S: Send + Sync + 'static,
    F: Fn(Arc<S>, Request<Incoming>) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    serve_with(listener, None, state, handler, limits, shutdown).await
}

/// [`serve`], with TLS when `tls` is set (the HTTPS listener).
pub async fn serve_with<S, F, Fut>(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    state: Arc<S>,
    handler: F,
    limits: Limits,
    mut shutdown: watch::Receiver<bool>,
) where
    S: Send + Sync + 'static,
    F: Fn(Arc<S>, Request<Incoming>) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    let graceful = GracefulShutdown::new();
    let mut builder = Builder::new(TokioExecutor::new());
    conn_guard::configure(&mut builder, &limits);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors and the like: do not spin.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let state = state.clone();
                let activity = Activity::new();
                let io = Tracked::new(stream, activity.clone());
                let requests = activity.clone();
                let service = service_fn(move |mut req: Request<Incoming>| {
                    let state = state.clone();
                    let in_flight = requests.begin_request();
                    req.extensions_mut().insert(PeerAddr(peer));
                    async move {
                        let _in_flight = in_flight;
                        Ok::<_, Infallible>(handler(state, req).await)
                    }
                });
                let (idle, head) = (limits.idle_timeout, limits.header_read_timeout);
                let (builder, watcher, tls) = (builder.clone(), graceful.watcher(), tls.clone());
                tokio::spawn(async move {
                    let serve = async move {
                        match tls {
                            // The handshake runs in the connection's task, so a slow client never
                            // holds up accept.
                            Some(acceptor) => {
                                let handshake = tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(io));
                                let Ok(Ok(stream)) = handshake.await else {
                                    return;
                                };
                                let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service).into_owned();
                                let _ = watcher.watch(conn).await;
                            }
                            None => {
                                let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), service).into_owned();
                                let _ = watcher.watch(conn).await;
                            }
                        }
                    };
                    tokio::select! {
                        _ = serve => {}
                        why = activity.expired(idle, head) => tracing::debug!(%peer, ?why, "connection closed by the guard"),
                    }
                });
            }
            _ = shutdown.changed() => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(limits.shutdown_timeout, graceful.shutdown()).await.is_err() {
        tracing::warn!(timeout = ?limits.shutdown_timeout, "requests still running at the shutdown timeout; leaving them");
    }
}

//! Per-connection guard: closes a connection that sits idle (no request in flight, nothing
//! received) for `ROWGATE_IDLE_TIMEOUT`, or that takes longer than `ROWGATE_HEADER_READ_TIMEOUT`
//! to deliver a request head once it started sending one (slowloris). hyper's own
//! `header_read_timeout` is not used: it also runs while a keep-alive connection idles, and
//! hyper-util's protocol detection reads the first bytes before it starts.
//!
//! A request in flight is never cut here: its body has its own deadline
//! (`ROWGATE_BODY_READ_TIMEOUT`, 408 and `Connection: close`, in `handler::read_body`), its
//! database work the pool and statement timeouts.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::http::request::Parts;
use hyper_util::rt::TokioExecutor;
use hyper_util::server::conn::auto::Builder;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

use super::error::HttpError;
use crate::config::Limits;

/// The socket peer of a request, set as a request extension by the accept loop.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

/// hyper's default HTTP/1 read buffer limit (8 KiB + 100 × 4 KiB).
const HYPER_DEFAULT_BUF: usize = 8192 + 4096 * 100;

/// The HTTP layer's own header limits, a backstop at least as large as hyper's defaults: beyond
/// them hyper answers a bare 431. Heads between `ROWGATE_MAX_HEADER_BYTES` and the backstop get
/// the PostgREST-shaped 431 of [`head_too_large`], which clients can read.
pub fn configure(builder: &mut Builder<TokioExecutor>, limits: &Limits) {
    let backstop = limits.max_header_bytes.max(HYPER_DEFAULT_BUF);
    builder.http1().max_buf_size(backstop);
    builder.http2().max_header_list_size(u32::try_from(backstop).unwrap_or(u32::MAX));
}

/// 431 `PGRST431` when the request line and headers exceed `limit` bytes (as sent over HTTP/1).
pub fn head_too_large(parts: &Parts, limit: usize) -> Option<HttpError> {
    let target = parts.uri.path_and_query().map_or(1, |p| p.as_str().len());
    // "METHOD target HTTP/1.1\r\n", each "name: value\r\n", the final "\r\n".
    let line = parts.method.as_str().len() + target + 12;
    let headers: usize = parts.headers.iter().map(|(k, v)| k.as_str().len() + v.len() + 4).sum();
    (line + headers + 2 > limit).then_some(HttpError::HeadTooLarge { limit })
}

/// What one connection has been doing; shared by its IO wrapper, its requests and its watchdog.
pub struct Activity {
    start: Instant,
    /// Milliseconds since `start` of the last byte read or written.
    last_io: AtomicU64,
    /// Milliseconds since `start` + 1 when a request head began arriving; 0 when none is pending.
    head_since: AtomicU64,
    in_flight: AtomicUsize,
    first_read: AtomicBool,
    /// HTTP/2 multiplexes control frames between requests: only the idle rule applies.
    h2: AtomicBool,
}

/// Why a connection was closed by the guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expired {
    Idle,
    SlowHead,
}

impl Activity {
    pub fn new() -> Arc<Activity> {
        Arc::new(Activity {
            start: Instant::now(),
            last_io: AtomicU64::new(0),
            head_since: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            first_read: AtomicBool::new(false),
            h2: AtomicBool::new(false),
        })
    }

    fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    /// Marks a request as running until the returned guard drops.
    pub fn begin_request(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.head_since.store(0, Ordering::SeqCst);
        InFlight(self.clone())
    }

    fn on_read(&self, bytes: &[u8]) {
        let now = self.now_ms();
        self.last_io.store(now, Ordering::SeqCst);
        if !self.first_read.swap(true, Ordering::SeqCst) {
            self.h2.store(bytes.starts_with(b"PRI "), Ordering::SeqCst);
        }
        if self.in_flight.load(Ordering::SeqCst) == 0 {
            let _ = self.head_since.compare_exchange(0, now + 1, Ordering::SeqCst, Ordering::SeqCst);
        }
    }

    fn on_write(&self) {
        self.last_io.store(self.now_ms(), Ordering::SeqCst);
    }

    /// Resolves when the connection has broken a rule; never while a request is in flight (a
    /// body that is too slow is answered 408 by the handler, which then closes the connection).
    pub async fn expired(&self, idle: Duration, head: Duration) -> Expired {
        let (idle, head) = (idle.as_millis() as u64, head.as_millis() as u64);
        // Nothing wakes this future when a head starts or a request ends, so it looks again
        // often enough to cut within a quarter of a timeout of the deadline.
        let nap = (idle.min(head) / 4).max(10);
        loop {
            let now = self.now_ms();
            let (at, why) = if self.in_flight.load(Ordering::SeqCst) > 0 {
                (now + idle, None)
            } else {
                let idle_at = self.last_io.load(Ordering::SeqCst) + idle;
                match self.head_since.load(Ordering::SeqCst) {
                    h if h > 0 && !self.h2.load(Ordering::SeqCst) && h - 1 + head < idle_at => {
                        (h - 1 + head, Some(Expired::SlowHead))
                    }
                    _ => (idle_at, Some(Expired::Idle)),
                }
            };
            match why {
                Some(why) if at <= now => return why,
                _ => tokio::time::sleep(Duration::from_millis(at.saturating_sub(now).clamp(1, nap))).await,
            }
        }
    }
}

/// A running request of the connection.
pub struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.last_io.store(self.0.now_ms(), Ordering::SeqCst);
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The connection's byte stream, reporting reads and writes to its [`Activity`].
pub struct Tracked<T> {
    inner: T,
    activity: Arc<Activity>,
}

impl<T> Tracked<T> {
    pub fn new(inner: T, activity: Arc<Activity>) -> Self {
        Tracked { inner, activity }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Tracked<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.on_read(&buf.filled()[before..]);
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Tracked<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.on_write();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.on_write();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDLE: Duration = Duration::from_secs(60);
    const HEAD: Duration = Duration::from_secs(10);

    #[tokio::test(start_paused = true)]
    async fn silent_connection_expires_as_idle() {
        let a = Activity::new();
        let t = Instant::now();
        assert_eq!(a.expired(IDLE, HEAD).await, Expired::Idle);
        assert_eq!(t.elapsed().as_secs(), 60);
    }

    #[tokio::test(start_paused = true)]
    async fn started_head_must_finish_in_time() {
        let a = Activity::new();
        a.on_read(b"GET / HT");
        let t = Instant::now();
        assert_eq!(a.expired(IDLE, HEAD).await, Expired::SlowHead);
        assert_eq!(t.elapsed().as_secs(), 10);
    }

    #[tokio::test(start_paused = true)]
    async fn a_head_starting_while_the_guard_sleeps_is_still_timed() {
        let a = Activity::new();
        let guard = {
            let a = a.clone();
            tokio::spawn(async move { a.expired(IDLE, HEAD).await })
        };
        tokio::time::sleep(Duration::from_secs(30)).await;
        a.on_read(b"G");
        let t = Instant::now();
        assert_eq!(guard.await.unwrap(), Expired::SlowHead);
        assert!(t.elapsed() <= HEAD + HEAD / 4, "{:?}", t.elapsed());
    }

    #[tokio::test(start_paused = true)]
    async fn http2_only_idles() {
        let a = Activity::new();
        a.on_read(b"PRI * HTTP/2.0\r\n");
        assert_eq!(a.expired(IDLE, HEAD).await, Expired::Idle);
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_in_flight_is_never_cut() {
        let a = Activity::new();
        a.on_read(b"GET / HTTP/1.1\r\n\r\n");
        let req = a.begin_request();
        let r = tokio::time::timeout(Duration::from_secs(600), a.expired(IDLE, HEAD)).await;
        assert!(r.is_err(), "cut while a request ran");
        drop(req);
        let t = Instant::now();
        assert_eq!(a.expired(IDLE, HEAD).await, Expired::Idle);
        assert_eq!(t.elapsed().as_secs(), 60, "idle counts from the end of the request");
    }
}

//! Per-request phase timings (for `Server-Timing`) and the role used, kept in a task-local
//! record: the pipeline's stages only wrap their work in [`time`] / [`time_async`] and call
//! [`set_role`], instead of threading a parameter through every function. Outside
//! [`traced`] (unit tests, the admin listener) these are no-ops.

use std::cell::RefCell;
use std::fmt::Write;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

/// The phases PostgREST reports in `Server-Timing`, with its names and order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Verifying the token (or the cache lookup).
    Jwt,
    /// URL, headers and body → the request.
    Parse,
    /// Resolving against the schema cache and rendering the SQL.
    Plan,
    /// Acquiring a connection and the round trip(s) to Postgres.
    Transaction,
    /// Building the response from the result.
    Response,
}

impl Phase {
    const ALL: [Phase; 5] = [Phase::Jwt, Phase::Parse, Phase::Plan, Phase::Transaction, Phase::Response];

    fn name(self) -> &'static str {
        match self {
            Phase::Jwt => "jwt",
            Phase::Parse => "parse",
            Phase::Plan => "plan",
            Phase::Transaction => "transaction",
            Phase::Response => "response",
        }
    }
}

/// What one request recorded about itself.
#[derive(Debug, Default)]
pub struct Trace {
    /// Microseconds per phase (summed if a phase runs twice); `None` if it never ran.
    micros: [Option<u64>; 5],
    /// The Postgres role the request ran as, once authenticated.
    pub role: Option<Arc<str>>,
}

impl Trace {
    pub fn record(&mut self, phase: Phase, micros: u64) {
        let slot = &mut self.micros[phase as usize];
        *slot = Some(slot.unwrap_or(0) + micros);
    }

    /// `jwt;dur=0.120, parse;dur=0.031, …` in milliseconds; `None` when no phase ran.
    pub fn server_timing(&self) -> Option<String> {
        let mut out = String::new();
        for phase in Phase::ALL {
            if let Some(us) = self.micros[phase as usize] {
                if !out.is_empty() {
                    out.push_str(", ");
                }
                let _ = write!(out, "{};dur={}.{:03}", phase.name(), us / 1000, us % 1000);
            }
        }
        (!out.is_empty()).then_some(out)
    }
}

tokio::task_local! {
    static TRACE: RefCell<Trace>;
}

/// Runs `fut` with a fresh [`Trace`] and returns what it recorded.
///
/// This and [`time_async`] wrap `fut` in a plain struct rather than an `async` block: an async
/// block that awaits a future it captured stores it twice, and the request's future (several KB)
/// is then as large and as costly to move as all its wrappers together.
pub fn traced<F: Future>(fut: F) -> impl Future<Output = (F::Output, Trace)> {
    TRACE.scope(RefCell::new(Trace::default()), TakeTrace { fut })
}

pin_project_lite::pin_project! {
    /// `fut`, then the trace it recorded (polled inside the task-local scope).
    struct TakeTrace<F> {
        #[pin]
        fut: F,
    }
}

impl<F: Future> Future for TakeTrace<F> {
    type Output = (F::Output, Trace);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let out = std::task::ready!(self.project().fut.poll(cx));
        Poll::Ready((out, TRACE.with(|t| t.take())))
    }
}

fn record(phase: Phase, started: Instant) {
    let micros = started.elapsed().as_micros() as u64;
    let _ = TRACE.try_with(|t| t.borrow_mut().record(phase, micros));
}

/// Runs `f`, adding its duration to `phase`.
pub fn time<T>(phase: Phase, f: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let out = f();
    record(phase, started);
    out
}

/// Awaits `fut`, adding its duration (from its first poll) to `phase`.
pub fn time_async<F: Future>(phase: Phase, fut: F) -> Timed<F> {
    Timed { fut, phase, started: None }
}

pin_project_lite::pin_project! {
    /// See [`time_async`].
    pub struct Timed<F> {
        #[pin]
        fut: F,
        phase: Phase,
        started: Option<Instant>,
    }
}

impl<F: Future> Future for Timed<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let started = *this.started.get_or_insert_with(Instant::now);
        let out = std::task::ready!(this.fut.poll(cx));
        record(*this.phase, started);
        Poll::Ready(out)
    }
}

/// Notes the role the request runs as (for the access log; an `Arc` clone, no allocation).
pub fn set_role(role: &Arc<str>) {
    let _ = TRACE.try_with(|t| t.borrow_mut().role = Some(role.clone()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_timing_in_postgrest_order_and_milliseconds() {
        let mut t = Trace::default();
        assert_eq!(t.server_timing(), None);
        t.record(Phase::Transaction, 1_300);
        t.record(Phase::Jwt, 120);
        t.record(Phase::Plan, 20);
        t.record(Phase::Plan, 5);
        assert_eq!(t.server_timing().unwrap(), "jwt;dur=0.120, plan;dur=0.025, transaction;dur=1.300");
    }

    #[tokio::test]
    async fn traced_collects_phases_and_role() {
        let role: Arc<str> = "anon".into();
        let (out, trace) = traced(async {
            let n = time(Phase::Parse, || 41);
            let n = time_async(Phase::Transaction, async { n + 1 }).await;
            set_role(&role);
            n
        })
        .await;
        assert_eq!(out, 42);
        assert_eq!(trace.role.as_deref(), Some("anon"));
        let header = trace.server_timing().unwrap();
        assert!(header.starts_with("parse;dur=") && header.contains(", transaction;dur="), "{header}");
        // Outside a traced request nothing is recorded and nothing fails.
        assert_eq!(time(Phase::Jwt, || 1), 1);
        set_role(&role);
    }
}

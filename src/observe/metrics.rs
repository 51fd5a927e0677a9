//! The counters and histograms behind `/metrics`, one [`Metrics`] per running gateway (in
//! `AppState`). Recording is a few relaxed atomic adds into fixed arrays indexed by enum labels:
//! no lock, no allocation, no label set built per request. Gauges that something else already
//! tracks (the pool, the JWT cache) are sampled at scrape time instead (see `scrape.rs`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::Value;

use super::histogram::{self, Histogram};
use super::Kind;

/// Status codes 100..=599, one slot each (a 500-slot array per kind is 4 KB: cheaper than a map).
const FIRST_STATUS: u16 = 100;
pub(super) const STATUS_SLOTS: usize = 500;
const KINDS: usize = Kind::ALL.len();

/// Authentication outcomes worth an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthEvent {
    /// A password sign-in that issued a session.
    Login,
    /// A password sign-in refused (unknown user, wrong password, disabled user).
    LoginFailure,
    /// A refresh token rotated into a new session token.
    TokenRefresh,
    /// A refresh token used twice: the session was revoked (possible token theft).
    RefreshReuse,
    /// A request refused by a rate limit (the SQL sign-in limit or the gateway's limiter).
    RateLimited,
}

impl AuthEvent {
    pub(super) const ALL: [AuthEvent; 5] = [
        AuthEvent::Login,
        AuthEvent::LoginFailure,
        AuthEvent::TokenRefresh,
        AuthEvent::RefreshReuse,
        AuthEvent::RateLimited,
    ];

    pub(super) fn as_str(self) -> &'static str {
        match self {
            AuthEvent::Login => "login",
            AuthEvent::LoginFailure => "login_failure",
            AuthEvent::TokenRefresh => "token_refresh",
            AuthEvent::RefreshReuse => "refresh_reuse",
            AuthEvent::RateLimited => "rate_limited",
        }
    }

    /// The event of a `grant_type=password|refresh_token` call, from the JSON `auth.login` /
    /// `auth.refresh` returned (sql/V5: `{"error": {code, …}}` or a session).
    pub fn of_grant(grant: &str, result: &Value) -> Option<AuthEvent> {
        let error = result.get("error").map(|e| e.get("code").and_then(Value::as_str).unwrap_or(""));
        match (grant, error) {
            (_, Some("over_request_rate_limit")) => Some(AuthEvent::RateLimited),
            ("password", None) => Some(AuthEvent::Login),
            ("password", Some(_)) => Some(AuthEvent::LoginFailure),
            ("refresh_token", None) => Some(AuthEvent::TokenRefresh),
            ("refresh_token", Some("refresh_token_already_used")) => Some(AuthEvent::RefreshReuse),
            _ => None,
        }
    }
}

/// The pool's state at scrape time (deadpool's `Pool::status()`).
#[derive(Debug, Clone, Copy, Default)]
pub struct PoolGauges {
    pub max_size: usize,
    pub size: usize,
    pub available: usize,
    pub waiting: usize,
}

impl From<crate::db::pool::Status> for PoolGauges {
    fn from(s: crate::db::pool::Status) -> Self {
        PoolGauges { max_size: s.max_size, size: s.size, available: s.available, waiting: s.waiting }
    }
}

/// Orgs with one status on one plan, as the tenant gauge last read them
/// (`internal.tenant_gauges()`, refreshed on a timer, not per scrape).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct TenantCount {
    pub status: String,
    pub plan: String,
    pub orgs: u64,
}

/// What became of an email (`mail::Mailer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailOutcome {
    Sent,
    /// Still failing after its retries.
    Failed,
    /// Refused because the queue was full.
    Dropped,
}

impl MailOutcome {
    pub(super) const ALL: [MailOutcome; 3] = [MailOutcome::Sent, MailOutcome::Failed, MailOutcome::Dropped];

    pub(super) fn as_str(self) -> &'static str {
        match self {
            MailOutcome::Sent => "sent",
            MailOutcome::Failed => "failed",
            MailOutcome::Dropped => "dropped",
        }
    }
}

#[derive(Debug)]
pub struct Metrics {
    pub(super) mails: [AtomicU64; MailOutcome::ALL.len()],
    pub(super) requests: [[AtomicU64; STATUS_SLOTS]; KINDS],
    pub(super) latency: [Histogram<14>; KINDS],
    pub(super) denials: [AtomicU64; KINDS],
    pub(super) pool_timeouts: AtomicU64,
    /// `[ok, error]`.
    pub(super) schema_loads: [AtomicU64; 2],
    pub(super) schema_load: Histogram<12>,
    pub(super) schema_last_load_micros: AtomicU64,
    pub(super) auth_events: [AtomicU64; AuthEvent::ALL.len()],
    /// Requests refused by a plan's quota (code `quota_exceeded`), by kind.
    pub(super) quota_rejections: [AtomicU64; KINDS],
    /// The tenant gauge; `None` until first read.
    pub(super) tenants: arc_swap::ArcSwapOption<Vec<TenantCount>>,
    /// When the schema cache last loaded (Unix milliseconds; 0: never).
    schema_loaded_at_ms: AtomicU64,
    /// `/realtime/v1`'s counters and gauges.
    pub realtime: super::realtime::RealtimeMetrics,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

fn zeros<const N: usize>() -> [AtomicU64; N] {
    std::array::from_fn(|_| AtomicU64::new(0))
}

impl Metrics {
    pub fn new() -> Self {
        Metrics {
            requests: std::array::from_fn(|_| zeros()),
            latency: std::array::from_fn(|_| Histogram::new(&histogram::LATENCY)),
            denials: zeros(),
            pool_timeouts: AtomicU64::new(0),
            schema_loads: zeros(),
            schema_load: Histogram::new(&histogram::SCHEMA_LOAD),
            schema_last_load_micros: AtomicU64::new(0),
            auth_events: zeros(),
            mails: zeros(),
            quota_rejections: zeros(),
            tenants: arc_swap::ArcSwapOption::empty(),
            schema_loaded_at_ms: AtomicU64::new(0),
            realtime: Default::default(),
        }
    }

    /// A request refused by a plan's quota (`quota_exceeded`).
    pub fn quota_rejection(&self, kind: Kind) {
        self.quota_rejections[kind.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Replaces the tenant gauge with what the database just counted.
    pub fn set_tenants(&self, counts: Vec<TenantCount>) {
        self.tenants.store(Some(std::sync::Arc::new(counts)));
    }

    /// The tenant gauge as last read.
    pub fn tenants(&self) -> Option<std::sync::Arc<Vec<TenantCount>>> {
        self.tenants.load_full()
    }

    /// How long ago the schema cache last loaded; `None` before its first load.
    pub fn schema_age(&self) -> Option<Duration> {
        let at = self.schema_loaded_at_ms.load(Ordering::Relaxed);
        (at > 0).then(|| Duration::from_millis(unix_ms().saturating_sub(at)))
    }

    /// One answered request: its kind, status and time from first byte read to response built.
    pub fn request(&self, kind: Kind, status: u16, took: Duration) {
        let slot = status.clamp(FIRST_STATUS, FIRST_STATUS + STATUS_SLOTS as u16 - 1) - FIRST_STATUS;
        self.requests[kind.index()][slot as usize].fetch_add(1, Ordering::Relaxed);
        self.latency[kind.index()].observe(took.as_micros() as u64);
    }

    /// A request refused with SQLSTATE 42501 (missing grant or a row-level-security violation).
    pub fn denial(&self, kind: Kind) {
        self.denials[kind.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// No pooled connection within `ROWGATE_DB_POOL_ACQUISITION_TIMEOUT` (PGRST003).
    pub fn pool_timeout(&self) {
        self.pool_timeouts.fetch_add(1, Ordering::Relaxed);
    }

    pub fn schema_loaded(&self, took: Duration) {
        let micros = took.as_micros() as u64;
        self.schema_loads[0].fetch_add(1, Ordering::Relaxed);
        self.schema_load.observe(micros);
        self.schema_last_load_micros.store(micros, Ordering::Relaxed);
        self.schema_loaded_at_ms.store(unix_ms().max(1), Ordering::Relaxed);
    }

    pub fn schema_load_failed(&self) {
        self.schema_loads[1].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an authentication event; the rate limiter calls this with [`AuthEvent::RateLimited`].
    pub fn mail(&self, outcome: MailOutcome) {
        self.mails[outcome as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn auth_event(&self, event: AuthEvent) {
        self.auth_events[event as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn status_of_slot(slot: usize) -> u16 {
        FIRST_STATUS + slot as u16
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn grant_outcomes() {
        let err = |code: &str| json!({"error": {"status": 400, "code": code, "message": "m"}});
        let session = json!({"user": {}, "session_id": "s", "refresh_token": "r"});
        assert_eq!(AuthEvent::of_grant("password", &session), Some(AuthEvent::Login));
        assert_eq!(AuthEvent::of_grant("password", &err("invalid_credentials")), Some(AuthEvent::LoginFailure));
        assert_eq!(AuthEvent::of_grant("password", &err("over_request_rate_limit")), Some(AuthEvent::RateLimited));
        assert_eq!(AuthEvent::of_grant("refresh_token", &session), Some(AuthEvent::TokenRefresh));
        assert_eq!(
            AuthEvent::of_grant("refresh_token", &err("refresh_token_already_used")),
            Some(AuthEvent::RefreshReuse)
        );
        assert_eq!(AuthEvent::of_grant("refresh_token", &err("refresh_token_not_found")), None);
        for (i, e) in AuthEvent::ALL.iter().enumerate() {
            assert_eq!(*e as usize, i);
        }
    }

    #[test]
    fn statuses_map_to_slots() {
        let m = Metrics::new();
        m.request(Kind::Read, 200, Duration::from_micros(300));
        m.request(Kind::Read, 599, Duration::from_micros(300));
        m.request(Kind::Read, 999, Duration::from_micros(300)); // clamped, never out of bounds
        assert_eq!(m.requests[0][100].load(Ordering::Relaxed), 1);
        assert_eq!(m.requests[0][STATUS_SLOTS - 1].load(Ordering::Relaxed), 2);
        assert_eq!(Metrics::status_of_slot(100), 200);
        assert_eq!(m.latency[0].snapshot().count, 3);
    }
}

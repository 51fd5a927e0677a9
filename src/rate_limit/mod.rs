//! Rate limits (GCRA, `governor`): per client IP on every request, per subject (JWT `sub`, else
//! the role) once a request is authenticated, and a stricter per-IP limit on the credential
//! endpoints of `/auth/v1`. Keys are swept periodically, so memory stays bounded by the number of
//! clients active within one refill period.

pub mod client_ip;

use std::hash::Hash;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::borrow::Cow;

use hyper::header::{HeaderName, RETRY_AFTER};
use thiserror::Error;

use crate::auth::Identity;
use crate::config::{Limits, RateSpec};
use crate::error::ClientError;

/// Which limit a request ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Ip,
    Subject,
    Auth,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Ip => "client IP",
            Scope::Subject => "subject",
            Scope::Auth => "client IP on /auth/v1",
        }
    }
}

/// A request over its limit: 429 with `Retry-After`.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
#[error("Too many requests per {}; retry in {retry_after_secs} s", scope.as_str())]
pub struct Limited {
    pub scope: Scope,
    pub retry_after_secs: u64,
}

/// PostgREST's error shape; PostgREST itself has no rate limits, so the code is ours. (On
/// `/auth/v1` the auth service answers in GoTrue's shape instead.)
impl ClientError for Limited {
    fn status(&self) -> u16 {
        429
    }
    fn code(&self) -> Cow<'_, str> {
        "PGRST429".into()
    }
    fn message(&self) -> String {
        "Too many requests".into()
    }
    fn details(&self) -> Option<serde_json::Value> {
        Some(self.to_string().into())
    }
    fn headers(&self) -> Vec<(HeaderName, String)> {
        vec![(RETRY_AFTER, self.retry_after_secs.to_string())]
    }
}

/// Called for every rate-limited request; the place for a metrics counter.
pub fn on_limited(scope: Scope) {
    tracing::debug!(scope = scope.as_str(), "rate limited");
}

/// Paths whose requests cost a password hash or create users.
const CREDENTIAL_PATHS: &[&str] = &[
    "/auth/v1/token",
    "/auth/v1/signup",
    "/auth/v1/bootstrap",
    "/auth/v1/recover",
    "/auth/v1/otp",
    "/auth/v1/magiclink",
    "/auth/v1/verify",
    "/auth/v1/resend",
    // OAuth sign-in: each starts a flow (a row) or calls the provider's token endpoint.
    "/auth/v1/authorize",
    "/auth/v1/callback",
];

pub fn is_credential_path(path: &str) -> bool {
    CREDENTIAL_PATHS.contains(&path.trim_end_matches('/'))
}

/// Sweep a limiter inline every this many checks when it holds more keys than [`MAX_KEYS`].
const CAP_CHECK_EVERY: u64 = 1024;
const MAX_KEYS: usize = 100_000;

struct Keyed<K: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
    checks: AtomicU64,
}

impl<K: Hash + Eq + Clone> Keyed<K> {
    fn new(spec: &RateSpec) -> Self {
        let quota = Quota::with_period(spec.replenish_interval())
            .unwrap_or_else(|| Quota::per_second(spec.count))
            .allow_burst(spec.burst);
        Keyed { limiter: RateLimiter::keyed(quota), checks: AtomicU64::new(0) }
    }

    fn check(&self, key: &K, scope: Scope) -> Result<(), Limited> {
        if self.checks.fetch_add(1, Ordering::Relaxed).is_multiple_of(CAP_CHECK_EVERY) && self.limiter.len() > MAX_KEYS
        {
            self.sweep();
        }
        self.limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.limiter.clock().now());
            on_limited(scope);
            // Whole seconds, rounded up: a client that waits that long gets through.
            Limited { scope, retry_after_secs: (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1) }
        })
    }

    /// Drops keys whose bucket is full again (they behave exactly like unseen keys).
    fn sweep(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

/// The configured limiters of one rowgate.
pub struct RateLimits {
    ip: Option<Keyed<IpAddr>>,
    subject: Option<Keyed<String>>,
    auth: Option<Keyed<IpAddr>>,
}

impl RateLimits {
    pub fn new(limits: &Limits) -> Self {
        RateLimits {
            ip: limits.rate_ip.as_ref().map(Keyed::new),
            subject: limits.rate_subject.as_ref().map(Keyed::new),
            auth: limits.rate_auth.as_ref().map(Keyed::new),
        }
    }

    /// Before anything else of the request: the per-IP limits.
    pub fn check_client(&self, ip: IpAddr, path: &str) -> Result<(), Limited> {
        let key = client_ip::key(ip);
        if let Some(l) = &self.ip {
            l.check(&key, Scope::Ip)?;
        }
        match &self.auth {
            Some(l) if is_credential_path(path) => l.check(&key, Scope::Auth),
            _ => Ok(()),
        }
    }

    /// The auth limiter alone, for an RPC declared `rowgate.rate_limit = 'auth'` (it was not
    /// on a credential path, so `check_client` did not apply it).
    pub fn check_auth(&self, ip: IpAddr) -> Result<(), Limited> {
        match &self.auth {
            Some(l) => l.check(&client_ip::key(ip), Scope::Auth),
            None => Ok(()),
        }
    }

    /// After authentication: the per-subject limit.
    pub fn check_subject(&self, identity: &Identity) -> Result<(), Limited> {
        let Some(l) = &self.subject else { return Ok(()) };
        l.check(&subject_key(identity), Scope::Subject)
    }

    pub fn sweep(&self) {
        self.ip.iter().chain(&self.auth).for_each(Keyed::sweep);
        self.subject.iter().for_each(Keyed::sweep);
    }
}

fn subject_key(identity: &Identity) -> String {
    identity.subject_key()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::limits::rate;
    use std::time::Duration;

    fn limits(ip: &str, subject: &str, auth: &str) -> RateLimits {
        RateLimits::new(&Limits {
            rate_ip: rate("X", ip).unwrap(),
            rate_subject: rate("X", subject).unwrap(),
            rate_auth: rate("X", auth).unwrap(),
            ..Limits::default()
        })
    }

    #[test]
    fn burst_then_limited_with_retry_after() {
        let l = limits("1/min,burst=3", "off", "off");
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(l.check_client(ip, "/items"), Ok(()));
        }
        let e = l.check_client(ip, "/items").unwrap_err();
        assert_eq!(e.scope, Scope::Ip);
        assert!((1..=60).contains(&e.retry_after_secs), "{e:?}");
        // Another client is not affected.
        assert_eq!(l.check_client("192.0.2.2".parse().unwrap(), "/items"), Ok(()));
        let api = crate::error::ApiError::from(e);
        assert_eq!((api.status, api.code.as_str()), (429, "PGRST429"));
        assert_eq!(api.headers, vec![(hyper::header::RETRY_AFTER, e.retry_after_secs.to_string())]);
    }

    #[test]
    fn auth_limit_only_on_credential_paths() {
        let l = limits("off", "off", "1/h,burst=1");
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(l.check_client(ip, "/auth/v1/token").is_ok());
        assert_eq!(l.check_client(ip, "/auth/v1/signup").unwrap_err().scope, Scope::Auth);
        assert!(l.check_client(ip, "/auth/v1/user").is_ok());
        assert!(l.check_client(ip, "/items").is_ok());
        assert!(is_credential_path("/auth/v1/authorize") && is_credential_path("/auth/v1/callback"));
    }

    #[test]
    fn subjects_by_sub_else_role() {
        let id = |claims: &str, role: &str| Identity { role: role.into(), claims: claims.into(), has_token: true };
        assert_eq!(subject_key(&id(r#"{"sub":"alice","role":"authenticated"}"#, "authenticated")), "sub:alice");
        assert_eq!(subject_key(&id(r#"{"role":"anon"}"#, "anon")), "role:anon");
        let l = limits("off", "1/h,burst=1", "off");
        assert!(l.check_subject(&id(r#"{"sub":"alice"}"#, "authenticated")).is_ok());
        assert!(l.check_subject(&id(r#"{"sub":"alice"}"#, "authenticated")).is_err());
        assert!(l.check_subject(&id(r#"{"sub":"bob"}"#, "authenticated")).is_ok());
    }

    #[test]
    fn sweep_forgets_refilled_keys() {
        let l = limits("1000/s", "off", "off");
        for i in 0..200u32 {
            l.check_client(IpAddr::from(i.to_be_bytes()), "/").unwrap();
        }
        assert_eq!(l.ip.as_ref().map(|k| k.limiter.len()), Some(200));
        std::thread::sleep(Duration::from_millis(50));
        l.sweep();
        assert_eq!(l.ip.as_ref().map(|k| k.limiter.len()), Some(0));
    }
}

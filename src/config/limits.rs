//! Connection limits and rate limits: header size, header/body/idle/shutdown timeouts, quotas such as
//! `100/s,burst=200`, and the proxies whose `X-Forwarded-For` is believed.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use ipnet::IpNet;

use super::parse::{duration, err};
use super::{ConfigError, ServeArgs};

/// hyper's smallest read buffer; a header limit below it cannot be enforced.
pub const MIN_HEADER_BYTES: usize = 8192;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest request head (request line + headers) in bytes; 431 beyond.
    pub max_header_bytes: usize,
    /// Once a request starts arriving, its head must be complete within this.
    pub header_read_timeout: Duration,
    /// Once a request head is complete, its body must have arrived whole within this (408 beyond).
    pub body_read_timeout: Duration,
    /// A connection with no request in flight and nothing received for this long is closed.
    pub idle_timeout: Duration,
    /// How long SIGTERM waits for in-flight requests before exiting anyway.
    pub shutdown_timeout: Duration,
    /// Per client IP, every API and `/auth/v1` request.
    pub rate_ip: Option<RateSpec>,
    /// Per JWT `sub` (or role when there is none), every API request.
    pub rate_subject: Option<RateSpec>,
    /// Per client IP, the credential endpoints of `/auth/v1` (token, signup, bootstrap, recover…).
    pub rate_auth: Option<RateSpec>,
    pub trusted_proxies: TrustedProxies,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_header_bytes: 32 * 1024,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            shutdown_timeout: Duration::from_secs(20),
            rate_ip: None,
            rate_subject: None,
            rate_auth: Some(DEFAULT_AUTH_RATE),
            trusted_proxies: TrustedProxies::default(),
        }
    }
}

/// `60/min,burst=30`: a person signing in never notices; a password-guessing or sign-up flood does.
const DEFAULT_AUTH_RATE: RateSpec = RateSpec {
    count: NonZeroU32::new(60).expect("nonzero"),
    per: Duration::from_secs(60),
    burst: NonZeroU32::new(30).expect("nonzero"),
};

/// `count` requests per `per`, with bursts of up to `burst` (default `count`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateSpec {
    pub count: NonZeroU32,
    pub per: Duration,
    pub burst: NonZeroU32,
}

impl RateSpec {
    /// Time to earn back one request.
    pub fn replenish_interval(&self) -> Duration {
        (self.per / self.count.get()).max(Duration::from_nanos(1))
    }
}

/// CIDR blocks of reverse proxies allowed to tell the client address in `X-Forwarded-For`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(pub Vec<IpNet>);

impl TrustedProxies {
    pub fn contains(&self, ip: &IpAddr) -> bool {
        let ip = canonical(*ip);
        self.0.iter().any(|net| net.contains(&ip))
    }
}

/// An IPv4-mapped IPv6 address (`::ffff:1.2.3.4`, from dual-stack sockets) as plain IPv4.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

pub(super) fn resolve(a: &ServeArgs) -> Result<Limits, ConfigError> {
    let d = Limits::default();
    let timeout = |var: &'static str, raw: &Option<String>, default: Duration| match raw {
        None => Ok(default),
        Some(v) => match duration(var, v)? {
            t if t.is_zero() => Err(err(var, format!("must be longer than zero, got {v:?}"))),
            t => Ok(t),
        },
    };
    let max_header_bytes = match &a.max_header_bytes {
        None => d.max_header_bytes,
        Some(v) => match v.trim().parse::<usize>() {
            Ok(n) if n >= MIN_HEADER_BYTES => n,
            _ => {
                return Err(err(
                    "ROWGATE_MAX_HEADER_BYTES",
                    format!("expected a number of bytes of at least {MIN_HEADER_BYTES}, got {v:?}"),
                ))
            }
        },
    };
    Ok(Limits {
        max_header_bytes,
        header_read_timeout: timeout("ROWGATE_HEADER_READ_TIMEOUT", &a.header_read_timeout, d.header_read_timeout)?,
        body_read_timeout: timeout("ROWGATE_BODY_READ_TIMEOUT", &a.body_read_timeout, d.body_read_timeout)?,
        idle_timeout: timeout("ROWGATE_IDLE_TIMEOUT", &a.idle_timeout, d.idle_timeout)?,
        shutdown_timeout: timeout("ROWGATE_SHUTDOWN_TIMEOUT", &a.shutdown_timeout, d.shutdown_timeout)?,
        rate_ip: rate_or("ROWGATE_RATE_LIMIT_IP", &a.rate_limit_ip, d.rate_ip)?,
        rate_subject: rate_or("ROWGATE_RATE_LIMIT_SUBJECT", &a.rate_limit_subject, d.rate_subject)?,
        rate_auth: rate_or("ROWGATE_RATE_LIMIT_AUTH", &a.rate_limit_auth, d.rate_auth)?,
        trusted_proxies: match &a.trusted_proxies {
            None => d.trusted_proxies,
            Some(v) => trusted_proxies("ROWGATE_TRUSTED_PROXIES", v)?,
        },
    })
}

fn rate_or(
    var: &'static str,
    raw: &Option<String>,
    default: Option<RateSpec>,
) -> Result<Option<RateSpec>, ConfigError> {
    match raw {
        None => Ok(default),
        Some(v) => rate(var, v),
    }
}

/// `off`, or `N/s`, `N/min`, `N/h`, optionally followed by `,burst=M`.
pub fn rate(var: &'static str, v: &str) -> Result<Option<RateSpec>, ConfigError> {
    let t = v.trim();
    if matches!(t.to_ascii_lowercase().as_str(), "off" | "none" | "0" | "") {
        return Ok(None);
    }
    let bad = || err(var, format!("expected off or a rate such as 100/s, 600/min or 100/s,burst=200, got {v:?}"));
    let mut parts = t.split(',').map(str::trim);
    let (count, unit) = parts.next().and_then(|r| r.split_once('/')).ok_or_else(bad)?;
    let count: NonZeroU32 = count.trim().parse().map_err(|_| bad())?;
    let per = match unit.trim() {
        "s" | "sec" | "second" => Duration::from_secs(1),
        "m" | "min" | "minute" => Duration::from_secs(60),
        "h" | "hour" => Duration::from_secs(3600),
        _ => return Err(bad()),
    };
    let mut burst = count;
    for extra in parts {
        match extra.split_once('=') {
            Some((k, n)) if k.trim() == "burst" => burst = n.trim().parse().map_err(|_| bad())?,
            _ => return Err(bad()),
        }
    }
    Ok(Some(RateSpec { count, per, burst }))
}

/// Comma-separated CIDR blocks or single addresses (`10.0.0.0/8, 127.0.0.1, ::1`).
pub fn trusted_proxies(var: &'static str, v: &str) -> Result<TrustedProxies, ConfigError> {
    let mut nets = Vec::new();
    for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let net = item
            .parse::<IpNet>()
            .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
            .map_err(|_| err(var, format!("expected CIDR blocks such as 10.0.0.0/8,::1, got {item:?}")))?;
        nets.push(net);
    }
    Ok(TrustedProxies(nets))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates() {
        let r = rate("X", "100/s,burst=200").unwrap().unwrap();
        assert_eq!((r.count.get(), r.per, r.burst.get()), (100, Duration::from_secs(1), 200));
        assert_eq!(r.replenish_interval(), Duration::from_millis(10));
        let r = rate("X", " 600/min ").unwrap().unwrap();
        assert_eq!((r.count.get(), r.per, r.burst.get()), (600, Duration::from_secs(60), 600));
        assert_eq!(rate("X", "off").unwrap(), None);
        for bad in ["100", "0/s", "10/day", "10/s,burst=0", "10/s,bust=3", "-1/s"] {
            let e = rate("ROWGATE_RATE_LIMIT_IP", bad).unwrap_err().to_string();
            assert!(e.starts_with("ROWGATE_RATE_LIMIT_IP: ") && !e.contains('\n'), "{bad}: {e}");
        }
    }

    #[test]
    fn proxies() {
        let p = trusted_proxies("X", "10.0.0.0/8, 127.0.0.1,::1").unwrap();
        assert!(p.contains(&"10.1.2.3".parse().unwrap()));
        assert!(p.contains(&"127.0.0.1".parse().unwrap()));
        assert!(p.contains(&"::ffff:127.0.0.1".parse().unwrap()), "v4-mapped peers count as v4");
        assert!(p.contains(&"::1".parse().unwrap()));
        assert!(!p.contains(&"11.0.0.1".parse().unwrap()));
        assert!(trusted_proxies("ROWGATE_TRUSTED_PROXIES", "10.0.0.0/33")
            .unwrap_err()
            .to_string()
            .starts_with("ROWGATE_TRUSTED_PROXIES: "));
    }

    #[test]
    fn limits_resolve() {
        let l = resolve(&ServeArgs::default()).unwrap();
        assert_eq!(l, Limits::default());
        assert_eq!(l.rate_auth, Some(DEFAULT_AUTH_RATE));
        let a = ServeArgs { max_header_bytes: Some("4096".into()), ..Default::default() };
        assert!(resolve(&a).unwrap_err().to_string().starts_with("ROWGATE_MAX_HEADER_BYTES: "));
        let a =
            ServeArgs { idle_timeout: Some("0s".into()), rate_limit_auth: Some("off".into()), ..Default::default() };
        assert!(resolve(&a).unwrap_err().to_string().starts_with("ROWGATE_IDLE_TIMEOUT: "));
        let a = ServeArgs {
            header_read_timeout: Some("500ms".into()),
            rate_limit_auth: Some("off".into()),
            ..Default::default()
        };
        let l = resolve(&a).unwrap();
        assert_eq!((l.header_read_timeout, l.rate_auth), (Duration::from_millis(500), None));
        assert_eq!(l.body_read_timeout, Duration::from_secs(10));
        let a = ServeArgs { body_read_timeout: Some("1500ms".into()), ..Default::default() };
        assert_eq!(resolve(&a).unwrap().body_read_timeout, Duration::from_millis(1500));
        for bad in ["0", "soon", "10 hours"] {
            let a = ServeArgs { body_read_timeout: Some(bad.into()), ..Default::default() };
            let e = resolve(&a).unwrap_err().to_string();
            assert!(e.starts_with("ROWGATE_BODY_READ_TIMEOUT: ") && !e.contains('\n'), "{bad}: {e}");
        }
    }
}

//! The client address of a request: the socket peer, or the right-most `X-Forwarded-For` hop
//! that is not a trusted proxy when (and only when) the peer itself is one.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use hyper::HeaderMap;

use crate::config::limits::canonical;
use crate::config::TrustedProxies;

/// The resolved client address, stored as a request extension by the router.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// The client address: `peer`, or behind trusted proxies the first hop they do not vouch for.
pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let mut client = canonical(peer);
    if !trusted.contains(&client) {
        return client;
    }
    // Each proxy appends the address it received from; walk back from the nearest hop and stop
    // at the first one no trusted proxy vouches for. Anything left of it is client-supplied.
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .collect();
    for hop in hops.iter().rev() {
        // An unreadable hop ends the walk at the last address a trusted proxy wrote.
        let Some(ip) = parse_hop(hop) else { return client };
        client = ip;
        if !trusted.contains(&ip) {
            return ip;
        }
    }
    client
}

/// `1.2.3.4`, `2001:db8::1`, `1.2.3.4:5678` or `[2001:db8::1]:5678`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let ip = hop.parse::<IpAddr>().ok().or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))?;
    Some(canonical(ip))
}

/// The rate-limit key of an address: IPv6 clients by their /64, which one host usually holds whole.
pub fn key(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & (u128::MAX << 64))),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::limits::trusted_proxies;

    fn with_xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn untrusted_peer_is_the_client_whatever_it_forwards() {
        let t = trusted_proxies("X", "10.0.0.0/8").unwrap();
        assert_eq!(resolve(ip("203.0.113.9"), &with_xff(&["1.1.1.1"]), &t), ip("203.0.113.9"));
        let none = TrustedProxies::default();
        assert_eq!(resolve(ip("127.0.0.1"), &with_xff(&["1.1.1.1"]), &none), ip("127.0.0.1"));
    }

    #[test]
    fn trusted_peer_gives_the_rightmost_untrusted_hop() {
        let t = trusted_proxies("X", "10.0.0.0/8, 127.0.0.1").unwrap();
        // The client forged the first hop; the proxies appended the real one and their own.
        let h = with_xff(&["6.6.6.6, 198.51.100.7", "10.0.0.2"]);
        assert_eq!(resolve(ip("127.0.0.1"), &h, &t), ip("198.51.100.7"));
        assert_eq!(resolve(ip("::ffff:10.0.0.1"), &with_xff(&["198.51.100.7:4711"]), &t), ip("198.51.100.7"));
        // Only proxies: the left-most proxy is as far as anyone vouches.
        assert_eq!(resolve(ip("10.0.0.1"), &with_xff(&["10.0.0.3, 10.0.0.2"]), &t), ip("10.0.0.3"));
        // No header: the proxy itself.
        assert_eq!(resolve(ip("10.0.0.1"), &HeaderMap::new(), &t), ip("10.0.0.1"));
        // Junk stops the walk at the last trusted address.
        assert_eq!(resolve(ip("10.0.0.1"), &with_xff(&["6.6.6.6, unknown, 10.0.0.2"]), &t), ip("10.0.0.2"));
    }

    #[test]
    fn ipv6_keys_by_slash_64() {
        assert_eq!(key(ip("2001:db8:1:2:aaaa::1")), key(ip("2001:db8:1:2:bbbb::2")));
        assert_ne!(key(ip("2001:db8:1:2::1")), key(ip("2001:db8:1:3::1")));
        assert_eq!(key(ip("192.0.2.1")), ip("192.0.2.1"));
    }
}

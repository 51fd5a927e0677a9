//! Where an email link may send the browser: GoTrue's rule. Back to the site (`ROWGATE_SITE_URL`:
//! same scheme, host and port; any port on a loopback host), or to a URL matching an entry of
//! `ROWGATE_URI_ALLOW_LIST`, exactly or as a glob (`*` within a host label or path segment, `**`
//! across them, `?` one character). Unlike GoTrue, which falls back to the site silently, a URL
//! outside the list is refused, so a misconfigured app learns it at once.

use hyper::Uri;

use crate::config::AuthFlows;

/// The redirect of a link: the one asked for when allowed, else the site URL when none was asked.
pub(super) fn target(flows: &AuthFlows, asked: Option<&str>) -> Option<String> {
    match asked.map(str::trim).filter(|s| !s.is_empty()) {
        None => Some(flows.site_url.clone()),
        Some(url) if allowed(flows, url) => Some(url.to_string()),
        Some(_) => None,
    }
}

pub(super) fn allowed(flows: &AuthFlows, url: &str) -> bool {
    let (Ok(site), Ok(asked)) = (flows.site_url.parse::<Uri>(), url.parse::<Uri>()) else { return false };
    let (Some(host), Some(scheme)) = (asked.host(), asked.scheme_str()) else { return false };
    let loopback = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
    if site.host() == Some(host)
        && site.scheme_str() == Some(scheme)
        && (site.port_u16() == asked.port_u16() || loopback)
    {
        return true;
    }
    if !host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._[]:".contains(&b)) {
        return false;
    }
    let without_fragment = url.split('#').next().unwrap_or(url);
    flows.uri_allow_list.iter().any(|pattern| glob(pattern.as_bytes(), without_fragment.as_bytes()))
}

/// `*` matches a run without `.` or `/`, `**` any run, `?` one character other than those.
fn glob(p: &[u8], s: &[u8]) -> bool {
    match p {
        [] => s.is_empty(),
        [b'*', b'*', rest @ ..] => (0..=s.len()).any(|i| glob(rest, &s[i..])),
        [b'*', rest @ ..] => {
            let run = s.iter().position(|c| *c == b'.' || *c == b'/').unwrap_or(s.len());
            (0..=run).any(|i| glob(rest, &s[i..]))
        }
        [b'?', rest @ ..] => matches!(s.first(), Some(c) if *c != b'.' && *c != b'/') && glob(rest, &s[1..]),
        [c, rest @ ..] => s.first() == Some(c) && glob(rest, &s[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AuthFlowArgs, Config};

    fn flows(site: &str, list: &str) -> AuthFlows {
        let args =
            AuthFlowArgs { site_url: Some(site.into()), uri_allow_list: Some(list.into()), ..Default::default() };
        let a = crate::config::ServeArgs { auth_flows: args, ..Default::default() };
        Config::from_args(&a, &|_| None).unwrap().auth_flows
    }

    #[test]
    fn site_exact_and_glob_entries_are_allowed_and_nothing_else() {
        let f = flows(
            "https://app.example.com",
            "https://*.example.org/welcome,myapp://callback,http://preview-**.test/**",
        );
        for ok in [
            "https://app.example.com/after",
            "https://a.example.org/welcome",
            "myapp://callback",
            "http://preview-1.pr.test/x/y",
            "https://a.example.org/welcome#frag",
        ] {
            assert!(allowed(&f, ok), "{ok}");
        }
        for bad in [
            "https://evil.com/",
            "http://app.example.com/",
            "https://app.example.com:444/",
            "https://a.b.example.org/welcome",
            "https://a.example.org/welcome/more",
            "https://app.example.com.evil.com/",
            "javascript:alert(1)",
            "",
        ] {
            assert!(!allowed(&f, bad), "{bad}");
        }
        let local = flows("http://localhost:3000", "");
        assert!(allowed(&local, "http://localhost:5173/cb"));
        assert_eq!(target(&local, None).as_deref(), Some("http://localhost:3000"));
        assert_eq!(target(&local, Some("https://evil.com")), None);
    }
}

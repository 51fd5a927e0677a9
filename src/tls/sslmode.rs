//! `sslmode` and `sslrootcert` of `DATABASE_URL`, read here because tokio-postgres knows only
//! `disable`/`prefer`/`require` and rejects `sslrootcert`. Both are cut out of the string (URL
//! or `key=value` form) and everything else goes to tokio-postgres untouched.

use std::path::PathBuf;

use super::TlsError;

const VAR: &str = "DATABASE_URL";

/// libpq's modes; unset means `Prefer`, as in libpq.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub fn parse(v: &str) -> Result<SslMode, TlsError> {
        match v {
            "disable" => Ok(SslMode::Disable),
            "prefer" | "allow" => Ok(SslMode::Prefer),
            "require" => Ok(SslMode::Require),
            "verify-ca" => Ok(SslMode::VerifyCa),
            "verify-full" => Ok(SslMode::VerifyFull),
            other => Err(TlsError::new(
                VAR,
                format!("sslmode must be disable, prefer, require, verify-ca or verify-full, got {other:?}"),
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// Where the trusted CAs come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootCert {
    /// `sslrootcert=<path>`: a PEM file of CA certificates.
    File(PathBuf),
    /// `sslrootcert=system`, or no `sslrootcert`: the operating system's store.
    System,
}

/// A connection string split into what tokio-postgres reads and the TLS settings.
#[derive(Debug, Clone)]
pub struct DbUrl {
    pub config: tokio_postgres::Config,
    pub mode: SslMode,
    /// `Some` only when `sslrootcert` was given.
    pub root_cert: Option<RootCert>,
}

impl DbUrl {
    pub fn parse(url: &str) -> Result<DbUrl, TlsError> {
        let (rest, params) = split_ssl_params(url)?;
        let mut mode = SslMode::Prefer;
        let mut root_cert = None;
        for (key, value) in params {
            match (key.as_str(), value.as_str()) {
                ("sslmode", v) => mode = SslMode::parse(v)?,
                (_, "system") => root_cert = Some(RootCert::System),
                (_, "") => return Err(TlsError::new(VAR, "sslrootcert is empty")),
                (_, path) => root_cert = Some(RootCert::File(PathBuf::from(path))),
            }
        }
        let config = rest.parse::<tokio_postgres::Config>().map_err(|e| {
            // tokio-postgres keeps the useful part ("unknown option `sslcert`") in the source.
            let why = std::error::Error::source(&e).map(|s| s.to_string()).unwrap_or_else(|| e.to_string());
            TlsError::new(VAR, format!("not a valid PostgreSQL connection string ({why})"))
        })?;
        Ok(DbUrl { config, mode, root_cert })
    }
}

type Params = Vec<(String, String)>;

/// Removes `sslmode` and `sslrootcert` from a connection string, returning the rest and them.
fn split_ssl_params(url: &str) -> Result<(String, Params), TlsError> {
    let is_url = url.starts_with("postgres://") || url.starts_with("postgresql://");
    if is_url {
        Ok(split_url(url))
    } else {
        split_keywords(url)
    }
}

fn is_ours(key: &str) -> bool {
    key == "sslmode" || key == "sslrootcert"
}

/// URL form: the query string after the first `?` past the credentials (as tokio-postgres reads it).
fn split_url(url: &str) -> (String, Params) {
    let after_creds = url.find('@').map(|i| i + 1).unwrap_or(0);
    let Some(q) = url[after_creds..].find('?').map(|i| i + after_creds) else {
        return (url.to_string(), Vec::new());
    };
    let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
    let mut kept = Vec::new();
    let mut ours = Vec::new();
    for pair in url[q + 1..].split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let key = decode(k);
        if is_ours(&key) {
            ours.push((key, decode(v)));
        } else {
            kept.push(pair);
        }
    }
    let mut rest = url[..q].to_string();
    if !kept.is_empty() {
        rest.push('?');
        rest.push_str(&kept.join("&"));
    }
    (rest, ours)
}

/// `key = value` form with libpq's quoting (`'…'`, backslash escapes).
fn split_keywords(s: &str) -> Result<(String, Params), TlsError> {
    let mut rest = String::with_capacity(s.len());
    let mut ours = Vec::new();
    let mut chars = s.char_indices().peekable();
    let mut copied_to = 0;
    loop {
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let Some(&(start, _)) = chars.peek() else { break };
        let mut key = String::new();
        while let Some((_, c)) = chars.next_if(|(_, c)| !c.is_whitespace() && *c != '=') {
            key.push(c);
        }
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        if chars.next_if(|(_, c)| *c == '=').is_none() {
            // Malformed: leave it to tokio-postgres, which names the problem.
            return Ok((s.to_string(), ours));
        }
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let quoted = chars.next_if(|(_, c)| *c == '\'').is_some();
        let mut value = String::new();
        loop {
            match chars.next() {
                None if quoted => return Err(TlsError::new(VAR, "unterminated quoted value")),
                None => break,
                Some((_, '\'')) if quoted => break,
                Some((_, c)) if !quoted && c.is_whitespace() => break,
                Some((_, '\\')) => value.extend(chars.next().map(|(_, c)| c)),
                Some((_, c)) => value.push(c),
            }
        }
        let end = chars.peek().map(|&(i, _)| i).unwrap_or(s.len());
        if is_ours(&key) {
            rest.push_str(&s[copied_to..start]);
            copied_to = end;
            ours.push((key, value));
        }
    }
    rest.push_str(&s[copied_to..]);
    Ok((rest, ours))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> DbUrl {
        DbUrl::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"))
    }

    #[test]
    fn modes() {
        for (v, m) in [
            ("disable", SslMode::Disable),
            ("prefer", SslMode::Prefer),
            ("allow", SslMode::Prefer),
            ("require", SslMode::Require),
            ("verify-ca", SslMode::VerifyCa),
            ("verify-full", SslMode::VerifyFull),
        ] {
            assert_eq!(SslMode::parse(v).unwrap(), m);
        }
        let e = SslMode::parse("verify_full").unwrap_err().to_string();
        assert!(e.starts_with("DATABASE_URL: sslmode must be"), "{e}");
    }

    #[test]
    fn unset_is_prefer() {
        let u = parse("postgres://a@db/app");
        assert_eq!(u.mode, SslMode::Prefer);
        assert_eq!(u.root_cert, None);
        assert_eq!(parse("host=db user=a").mode, SslMode::Prefer);
    }

    #[test]
    fn url_form_keeps_other_parameters() {
        let u =
            parse("postgres://a:p%3Fw@db:6432/app?application_name=x&sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem");
        assert_eq!(u.mode, SslMode::VerifyFull);
        assert_eq!(u.root_cert, Some(RootCert::File("/etc/ca.pem".into())));
        assert_eq!(u.config.get_application_name(), Some("x"));
        assert_eq!(u.config.get_dbname(), Some("app"));
        assert_eq!(u.config.get_ports(), [6432]);
        assert_eq!(u.config.get_password(), Some(&b"p?w"[..]));
    }

    #[test]
    fn url_form_with_only_our_parameters() {
        let u = parse("postgresql://a@db/app?sslmode=verify-ca&sslrootcert=system");
        assert_eq!(u.mode, SslMode::VerifyCa);
        assert_eq!(u.root_cert, Some(RootCert::System));
        assert_eq!(u.config.get_dbname(), Some("app"));
    }

    #[test]
    fn keyword_form_with_quotes() {
        let u = parse(r"host=db sslmode = require user=a sslrootcert='/my certs/it\'s.pem' dbname=app");
        assert_eq!(u.mode, SslMode::Require);
        assert_eq!(u.root_cert, Some(RootCert::File("/my certs/it's.pem".into())));
        assert_eq!(u.config.get_user(), Some("a"));
        assert_eq!(u.config.get_dbname(), Some("app"));
    }

    #[test]
    fn bad_values_name_the_variable() {
        for bad in [
            "postgres://a@db/app?sslmode=sometimes",
            "host=db sslmode=verify",
            "host=db sslrootcert='/unterminated",
            "postgres://a@db/app?sslrootcert=",
        ] {
            let e = DbUrl::parse(bad).unwrap_err().to_string();
            assert!(e.starts_with("DATABASE_URL: "), "{bad}: {e}");
        }
        let e = DbUrl::parse("postgres://[bad").unwrap_err().to_string();
        assert!(e.starts_with("DATABASE_URL: not a valid"), "{e}");
        let e = DbUrl::parse("postgres://a@db/app?sslcert=/c.pem").unwrap_err().to_string();
        assert!(e.contains("sslcert"), "{e}");
    }
}

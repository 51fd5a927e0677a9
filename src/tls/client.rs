//! TLS to PostgreSQL for every connection rowgate opens from `DATABASE_URL` (pool, schema
//! listener, `migrate`, `audit`): [`PgTarget`] pairs the tokio-postgres config with a rustls
//! connector chosen from `sslmode`/`sslrootcert`.

use std::sync::Arc;

use rustls::client::danger::ServerCertVerifier;
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{CertificateError, ClientConfig, RootCertStore};
use tokio_postgres::config::{Host, SslMode as PgSslMode};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::sslmode::{DbUrl, RootCert, SslMode};
use super::verify::{AcceptAny, ChainOnly};
use super::{provider, TlsError};

const VAR: &str = "DATABASE_URL";
pub const DEFAULT_PORT: u16 = 5432;

/// `host:port`, or the socket file of a unix-socket host.
pub fn describe_host(host: &Host, port: u16) -> String {
    match host {
        Host::Tcp(h) => format!("{h}:{port}"),
        Host::Unix(p) => format!("{}/.s.PGSQL.{port}", p.display()),
    }
}

/// What a connection does about TLS, after applying the local-socket rules to `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// No TLS: `disable`, unix sockets, and `prefer` on loopback.
    Plain,
    /// `prefer` on a remote host: TLS without verification when the server offers it.
    Opportunistic,
    /// `require`: TLS, certificate not checked.
    Encrypted,
    /// `verify-ca` (or `require` with `sslrootcert`, as libpq): trusted chain, any host name.
    VerifyCa,
    /// `verify-full`: trusted chain and the host name.
    VerifyFull,
}

/// A parsed `DATABASE_URL` ready to connect.
#[derive(Clone)]
pub struct PgTarget {
    pub config: tokio_postgres::Config,
    pub tls: MakeRustlsConnect,
    /// The same rustls configuration, for connections that negotiate TLS themselves (db::wire).
    pub rustls: Arc<ClientConfig>,
    pub policy: Policy,
    mode: SslMode,
    roots: String,
}

impl PgTarget {
    /// Parses the URL and loads the root certificates it needs (a file or the system store).
    pub fn from_url(url: &str) -> Result<PgTarget, TlsError> {
        let DbUrl { mut config, mode, root_cert } = DbUrl::parse(url)?;
        let policy = policy(mode, root_cert.is_some(), &config);
        config.ssl_mode(match policy {
            Policy::Plain => PgSslMode::Disable,
            Policy::Opportunistic => PgSslMode::Prefer,
            _ => PgSslMode::Require,
        });
        let roots = match &root_cert {
            Some(RootCert::File(p)) => format!("sslrootcert={}", p.display()),
            _ => "the system's root certificates".to_string(),
        };
        let verifier: Arc<dyn ServerCertVerifier> = match policy {
            Policy::Plain | Policy::Opportunistic | Policy::Encrypted => Arc::new(AcceptAny(provider())),
            Policy::VerifyCa => Arc::new(ChainOnly(webpki(root_cert.as_ref())?)),
            Policy::VerifyFull => webpki(root_cert.as_ref())?,
        };
        let tls = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::new(VAR, format!("TLS set-up failed: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(PgTarget { config, tls: MakeRustlsConnect::new(tls.clone()), rustls: Arc::new(tls), policy, mode, roots })
    }

    /// Where connections go, for log lines: `host:port (database d, user u)`, every host listed.
    pub fn describe(&self) -> String {
        let ports = self.config.get_ports();
        let hosts: Vec<String> = self
            .config
            .get_hosts()
            .iter()
            .enumerate()
            .map(|(i, host)| describe_host(host, ports.get(i).or(ports.first()).copied().unwrap_or(DEFAULT_PORT)))
            .collect();
        let user = self.config.get_user().unwrap_or("(default)");
        let dbname = self.config.get_dbname().unwrap_or(user);
        format!("{} (database {dbname}, user {user})", hosts.join(","))
    }

    /// Connects once; the connection task is spawned.
    pub async fn connect(&self) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
        let (client, connection) = self.config.connect(self.tls.clone()).await?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "PostgreSQL connection closed");
            }
        });
        Ok(client)
    }

    /// When TLS is required, connects once so that a certificate or `sslmode` mistake stops
    /// start-up with one line; an unreachable server is left to the pool's retries.
    pub async fn check(&self) -> Result<(), TlsError> {
        if matches!(self.policy, Policy::Plain | Policy::Opportunistic) {
            return Ok(());
        }
        match tokio::time::timeout(std::time::Duration::from_secs(10), self.connect()).await {
            Ok(Ok(_client)) => Ok(()),
            Ok(Err(e)) => match self.tls_failure(&e) {
                Some(t) => Err(t),
                None => {
                    tracing::warn!(error = %e, "PostgreSQL not reachable at start-up; will retry");
                    Ok(())
                }
            },
            Err(_) => Ok(()),
        }
    }

    /// One line on why a connection failed when TLS is the cause: a setting to fix, not an
    /// outage to wait out. `None` for every other failure.
    pub fn tls_failure(&self, e: &tokio_postgres::Error) -> Option<TlsError> {
        let mode = self.mode.name();
        let problem = match tls_cause(e)? {
            Cause::NotOffered => {
                format!("sslmode={mode} but the server does not offer TLS (turn ssl on, or use sslmode=prefer)")
            }
            Cause::Rustls(rustls::Error::InvalidCertificate(c)) => match c {
                CertificateError::NotValidForNameContext { expected, presented } => format!(
                    "sslmode={mode}: the server's certificate is for {}, not {:?} (connect by a name it lists, or use sslmode=verify-ca)",
                    presented.iter().map(|n| bare_name(n)).collect::<Vec<_>>().join(", "),
                    expected.to_str()
                ),
                CertificateError::NotValidForName => format!(
                    "sslmode={mode}: the server's certificate is not valid for the host name (connect by a name it lists, or use sslmode=verify-ca)"
                ),
                CertificateError::UnknownIssuer => format!(
                    "sslmode={mode}: the server's certificate is not signed by a CA in {} ({})",
                    self.roots,
                    if self.roots.starts_with("sslrootcert") {
                        "is it the CA that issued the server's certificate?"
                    } else {
                        "set sslrootcert=<CA file>"
                    }
                ),
                other => format!("sslmode={mode}: the server's certificate was rejected ({other:?})"),
            },
            Cause::Rustls(other) => format!("sslmode={mode}: TLS handshake failed ({other})"),
        };
        Some(TlsError::new(VAR, problem))
    }
}

/// rustls lists a certificate's names as `DnsName("db")` / `IpAddress(10.0.0.1)`; the name alone.
fn bare_name(name: &str) -> &str {
    name.split_once('(').and_then(|(_, rest)| rest.strip_suffix(')')).map(|n| n.trim_matches('"')).unwrap_or(name)
}

/// The libpq rules, plus: no TLS on unix sockets (servers never offer it there) and no
/// opportunistic TLS on loopback (what rowgate always did; say `require` to encrypt there).
fn policy(mode: SslMode, has_root_cert: bool, config: &tokio_postgres::Config) -> Policy {
    let hosts = config.get_hosts();
    let unix_only = hosts.iter().all(|h| matches!(h, Host::Unix(_)));
    let local = unix_only || hosts.iter().all(is_local);
    match mode {
        _ if unix_only => Policy::Plain,
        SslMode::Disable => Policy::Plain,
        SslMode::Prefer if local => Policy::Plain,
        SslMode::Prefer => Policy::Opportunistic,
        SslMode::Require if has_root_cert => Policy::VerifyCa,
        SslMode::Require => Policy::Encrypted,
        SslMode::VerifyCa => Policy::VerifyCa,
        SslMode::VerifyFull => Policy::VerifyFull,
    }
}

fn is_local(host: &Host) -> bool {
    match host {
        Host::Unix(_) => true,
        Host::Tcp(name) => {
            let name = name.trim_start_matches('[').trim_end_matches(']');
            name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
        }
    }
}

fn webpki(root: Option<&RootCert>) -> Result<Arc<WebPkiServerVerifier>, TlsError> {
    let roots = Arc::new(root_store(root)?);
    WebPkiServerVerifier::builder_with_provider(roots, provider())
        .build()
        .map_err(|e| TlsError::new(VAR, format!("cannot use the root certificates: {e}")))
}

fn root_store(root: Option<&RootCert>) -> Result<RootCertStore, TlsError> {
    let mut store = RootCertStore::empty();
    match root {
        Some(RootCert::File(path)) => {
            let bad = |problem: String| TlsError::new(VAR, format!("sslrootcert {}: {problem}", path.display()));
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| bad(format!("cannot read ({e})")))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| bad(format!("not PEM certificates ({e})")))?;
            if certs.is_empty() {
                return Err(bad("no certificate in the file".into()));
            }
            for cert in certs {
                store.add(cert).map_err(|e| bad(format!("unusable CA certificate ({e})")))?;
            }
        }
        None | Some(RootCert::System) => {
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
            if store.is_empty() {
                return Err(TlsError::new(
                    VAR,
                    "no system root certificates found for sslmode verification (set sslrootcert=<CA file>)",
                ));
            }
        }
    }
    Ok(store)
}

enum Cause<'a> {
    NotOffered,
    Rustls(&'a rustls::Error),
}

/// Walks the error's causes; tokio-rustls hides the rustls error inside an `io::Error`, whose
/// `source()` skips it, so `get_ref()` is checked too.
fn tls_cause(e: &tokio_postgres::Error) -> Option<Cause<'_>> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(err) = next {
        if let Some(r) = err.downcast_ref::<rustls::Error>() {
            return Some(Cause::Rustls(r));
        }
        if let Some(inner) = err.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            if let Some(r) = inner.downcast_ref::<rustls::Error>() {
                return Some(Cause::Rustls(r));
            }
        }
        // tokio-postgres reports a server that answers the SSL request with "N" as plain text.
        if err.to_string() == "server does not support TLS" {
            return Some(Cause::NotOffered);
        }
        next = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy_of(url: &str) -> Policy {
        PgTarget::from_url(url).unwrap_or_else(|e| panic!("{url}: {e}")).policy
    }

    #[test]
    fn policies() {
        assert_eq!(policy_of("postgres://a@db.example/app"), Policy::Opportunistic);
        assert_eq!(policy_of("postgres://a@db.example/app?sslmode=prefer"), Policy::Opportunistic);
        assert_eq!(policy_of("postgres://a@localhost/app"), Policy::Plain);
        assert_eq!(policy_of("postgres://a@127.0.0.1/app?sslmode=prefer"), Policy::Plain);
        assert_eq!(policy_of("postgres://a@[::1]/app"), Policy::Plain);
        assert_eq!(policy_of("host=/run/postgresql user=a sslmode=require"), Policy::Plain);
        assert_eq!(policy_of("postgres://a@db.example/app?sslmode=disable"), Policy::Plain);
        assert_eq!(policy_of("postgres://a@127.0.0.1/app?sslmode=require"), Policy::Encrypted);
        assert_eq!(policy_of("postgres://a@db.example/app?sslmode=require"), Policy::Encrypted);
    }

    /// A server that answers the SSL request with "N", as PostgreSQL with ssl=off does.
    async fn server_without_tls() -> u16 {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let mut request = [0u8; 8];
                if s.read_exact(&mut request).await.is_ok() {
                    let _ = s.write_all(b"N").await;
                }
            }
        });
        port
    }

    #[tokio::test]
    async fn require_against_a_server_without_tls_is_a_setting_to_fix() {
        let port = server_without_tls().await;
        let target = PgTarget::from_url(&format!("postgres://a@127.0.0.1:{port}/db?sslmode=require")).unwrap();
        let e = target.check().await.unwrap_err().to_string();
        assert_eq!(
            e,
            "DATABASE_URL: sslmode=require but the server does not offer TLS (turn ssl on, or use sslmode=prefer)"
        );
    }

    #[tokio::test]
    async fn an_unreachable_server_does_not_stop_start_up() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let target = PgTarget::from_url(&format!("postgres://a@127.0.0.1:{port}/db?sslmode=require")).unwrap();
        assert_eq!(target.check().await, Ok(()));
    }

    #[test]
    fn certificate_names_without_their_kind() {
        assert_eq!(bare_name("DnsName(\"localhost\")"), "localhost");
        assert_eq!(bare_name("IpAddress(10.0.0.1)"), "10.0.0.1");
        assert_eq!(bare_name("db"), "db");
    }

    #[test]
    fn require_with_a_root_certificate_checks_the_chain() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, test_ca()).unwrap();
        let url = format!("postgres://a@db/app?sslmode=require&sslrootcert={}", ca.display());
        assert_eq!(policy_of(&url), Policy::VerifyCa);
        let url = format!("postgres://a@db/app?sslmode=verify-full&sslrootcert={}", ca.display());
        assert_eq!(policy_of(&url), Policy::VerifyFull);
    }

    #[test]
    fn unusable_root_files_name_the_variable() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        for path in [dir.path().join("missing.pem"), empty] {
            let url = format!("postgres://a@db/app?sslmode=verify-full&sslrootcert={}", path.display());
            let e = PgTarget::from_url(&url).err().expect("refused").to_string();
            assert!(e.starts_with("DATABASE_URL: sslrootcert "), "{e}");
            assert!(!e.contains('\n'), "{e}");
        }
    }

    /// A self-signed CA, made for the test.
    fn test_ca() -> String {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.self_signed(&key).unwrap().pem()
    }
}

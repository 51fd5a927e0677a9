//! The HTTPS listener's certificate: loaded from `ROWGATE_TLS_CERT`/`ROWGATE_TLS_KEY`, served
//! from an `ArcSwap` by a `ResolvesServerCert`, and swapped on SIGHUP. Handshakes in progress
//! and open connections keep the certificate they started with; a bad file keeps the old one.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio_rustls::TlsAcceptor;

use super::{provider, TlsError};

const CERT_VAR: &str = "ROWGATE_TLS_CERT";
const KEY_VAR: &str = "ROWGATE_TLS_KEY";
const LISTEN_VAR: &str = "ROWGATE_TLS_LISTEN";

/// The current certificate and where it came from.
pub struct CertStore {
    cert_path: PathBuf,
    key_path: PathBuf,
    current: ArcSwap<CertifiedKey>,
}

impl fmt::Debug for CertStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertStore").field("cert", &self.cert_path).field("key", &self.key_path).finish()
    }
}

impl CertStore {
    /// Reads both files; any problem is a start-up error naming the variable.
    pub fn load(cert_path: &Path, key_path: &Path) -> Result<Arc<CertStore>, TlsError> {
        let key = read(cert_path, key_path)?;
        Ok(Arc::new(CertStore {
            cert_path: cert_path.to_path_buf(),
            key_path: key_path.to_path_buf(),
            current: ArcSwap::from_pointee(key),
        }))
    }

    /// Re-reads both files; on error the certificate in use stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let key = read(&self.cert_path, &self.key_path)?;
        self.current.store(Arc::new(key));
        Ok(())
    }

    /// The leaf certificate being served now.
    pub fn current_leaf(&self) -> CertificateDer<'static> {
        self.current.load().cert[0].clone()
    }

    /// An acceptor offering HTTP/2 and HTTP/1.1 (the listener's hyper builder speaks both).
    pub fn acceptor(self: &Arc<Self>) -> Result<TlsAcceptor, TlsError> {
        let mut config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::new(CERT_VAR, format!("TLS set-up failed: {e}")))?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

/// A bound HTTPS listener with its certificate and SIGHUP stream.
pub struct Https {
    pub listener: TcpListener,
    pub addr: SocketAddr,
    pub acceptor: TlsAcceptor,
    pub store: Arc<CertStore>,
    pub sighup: Signal,
}

/// The HTTPS listener (`ROWGATE_TLS_*`); files are read by `tls::CertStore` at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    pub listen: SocketAddr,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Loads the certificate and binds; SIGHUP is registered here, before serving, so an early
/// one reloads instead of terminating the process.
pub async fn bind(settings: &TlsSettings) -> Result<Https, TlsError> {
    let store = CertStore::load(&settings.cert, &settings.key)?;
    let acceptor = store.acceptor()?;
    let listen_err =
        |e: std::io::Error| TlsError::new(LISTEN_VAR, format!("cannot listen on {}: {e}", settings.listen));
    let listener = TcpListener::bind(settings.listen).await.map_err(listen_err)?;
    let addr = listener.local_addr().map_err(listen_err)?;
    let sighup = signal(SignalKind::hangup())
        .map_err(|e| TlsError::new(CERT_VAR, format!("cannot handle SIGHUP for reloads: {e}")))?;
    Ok(Https { listener, addr, acceptor, store, sighup })
}

/// Reloads on every SIGHUP, logging one line either way.
pub async fn reload_on_sighup(mut sighup: Signal, store: Arc<CertStore>) {
    while sighup.recv().await.is_some() {
        match store.reload() {
            Ok(()) => tracing::info!(cert = %store.cert_path.display(), "TLS certificate reloaded"),
            Err(e) => tracing::error!(error = %e, "TLS certificate reload failed; keeping the current certificate"),
        }
    }
}

fn read(cert_path: &Path, key_path: &Path) -> Result<CertifiedKey, TlsError> {
    let cert_err = |p: String| TlsError::new(CERT_VAR, format!("{}: {p}", cert_path.display()));
    let key_err = |p: String| TlsError::new(KEY_VAR, format!("{}: {p}", key_path.display()));
    let chain = CertificateDer::pem_file_iter(cert_path)
        .map_err(|e| cert_err(format!("cannot read ({e})")))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| cert_err(format!("not PEM certificates ({e})")))?;
    if chain.is_empty() {
        return Err(cert_err("no certificate in the file".into()));
    }
    let key =
        PrivateKeyDer::from_pem_file(key_path).map_err(|e| key_err(format!("no usable PEM private key ({e})")))?;
    CertifiedKey::from_der(chain, key, &provider()).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => {
            key_err(format!("does not match the certificate in {}", cert_path.display()))
        }
        other => key_err(format!("unusable private key ({other})")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_pair(dir: &Path, name: &str) -> (PathBuf, PathBuf, Vec<u8>) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec![name.to_string()]).unwrap().self_signed(&key).unwrap();
        let (c, k) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&c, cert.pem()).unwrap();
        std::fs::write(&k, key.serialize_pem()).unwrap();
        (c, k, cert.der().to_vec())
    }

    #[test]
    fn reload_swaps_and_a_bad_file_keeps_the_old_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let (c, k, first) = write_pair(dir.path(), "one.test");
        let store = CertStore::load(&c, &k).unwrap();
        assert_eq!(store.current_leaf().as_ref(), first);

        let (_, _, second) = write_pair(dir.path(), "two.test");
        store.reload().unwrap();
        assert_eq!(store.current_leaf().as_ref(), second);

        std::fs::write(&c, "garbage").unwrap();
        let e = store.reload().unwrap_err().to_string();
        assert!(e.starts_with("ROWGATE_TLS_CERT: "), "{e}");
        assert_eq!(store.current_leaf().as_ref(), second);
    }

    #[test]
    fn problems_name_the_variable() {
        let dir = tempfile::tempdir().unwrap();
        let (c, k, _) = write_pair(dir.path(), "one.test");
        let missing = dir.path().join("missing.pem");
        assert!(CertStore::load(&missing, &k).unwrap_err().to_string().starts_with("ROWGATE_TLS_CERT: "));
        assert!(CertStore::load(&c, &missing).unwrap_err().to_string().starts_with("ROWGATE_TLS_KEY: "));
        // A key of another certificate.
        let other = tempfile::tempdir().unwrap();
        let (_, other_key, _) = write_pair(other.path(), "two.test");
        let e = CertStore::load(&c, &other_key).unwrap_err().to_string();
        assert!(e.starts_with("ROWGATE_TLS_KEY: ") && e.contains("does not match"), "{e}");
    }
}

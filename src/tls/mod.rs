//! TLS with rustls, one crypto provider (aws-lc-rs, which jsonwebtoken already links, so the
//! binary carries one C crypto library): the HTTPS listener's certificate (`server`) and the
//! connections to PostgreSQL (`client`, `sslmode` parsing in `sslmode`, verifiers in `verify`).

pub mod client;
pub mod server;
pub mod sslmode;
mod verify;

use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use thiserror::Error;

pub use client::{PgTarget, Policy};
pub use server::CertStore;
pub use sslmode::{DbUrl, SslMode};

/// A TLS problem, on one line that starts with the setting to fix.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("{var}: {problem}")]
pub struct TlsError {
    pub var: &'static str,
    pub problem: String,
}

impl TlsError {
    pub fn new(var: &'static str, problem: impl Into<String>) -> Self {
        TlsError { var, problem: problem.into() }
    }
}

/// The provider every rustls config in rowgate is built with, passed explicitly so nothing
/// depends on a process-wide default being installed.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

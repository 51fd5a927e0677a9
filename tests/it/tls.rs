//! TLS end to end: `DATABASE_URL` sslmodes against a cluster with `ssl=on` and a hostssl-only
//! pg_hba (`postgres`), and the HTTPS listener: HTTP/2 and HTTP/1.1 with a client trusting a test
//! CA, SIGHUP reloads in the real binary (`https`). Certificates are made by `pki` with rcgen.

mod https;
pub mod pki;
mod postgres;

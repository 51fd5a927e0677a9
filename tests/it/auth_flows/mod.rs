//! The account lifecycle of `/auth/v1` (issue 18): token and session lifetimes, email delivery
//! through a real SMTP server (`tests/clients/smtp_sink.py`, aiosmtpd from PyPI, started here on
//! loopback), and the emailed flows driven by the real `@supabase/supabase-js`.

mod delivery;
mod lifetimes;
mod supabase;
mod tls;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::*;

/// A free loopback port (bound, then released for the server to take).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The SMTP server: every message it accepts lands in `dir` as `<n>.json`.
pub struct SmtpSink {
    pub port: u16,
    pub dir: PathBuf,
    /// `[implicit|starttls, cert.pem, key.pem]` for a TLS server.
    tls: Vec<String>,
    child: Option<Child>,
    _tmp: Option<tempfile::TempDir>,
}

impl SmtpSink {
    pub fn start() -> SmtpSink {
        let tmp = tempfile::tempdir().unwrap();
        let mut sink = SmtpSink {
            port: free_port(),
            dir: tmp.path().to_path_buf(),
            tls: Vec::new(),
            child: None,
            _tmp: Some(tmp),
        };
        sink.resume();
        sink
    }

    /// A server speaking TLS (`implicit` or `starttls`) with this certificate and key (PEM files).
    pub fn start_tls(mode: &str, cert: &Path, key: &Path) -> SmtpSink {
        let mut sink = SmtpSink::stopped();
        sink.tls = vec![mode.to_string(), cert.display().to_string(), key.display().to_string()];
        sink.resume();
        sink
    }

    /// A sink that does not listen yet (an outage), on a port reserved for it.
    pub fn stopped() -> SmtpSink {
        let tmp = tempfile::tempdir().unwrap();
        SmtpSink { port: free_port(), dir: tmp.path().to_path_buf(), tls: Vec::new(), child: None, _tmp: Some(tmp) }
    }

    pub fn resume(&mut self) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/smtp_sink.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(self.port.to_string())
            .arg(&self.dir)
            .args(&self.tls)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 tests/clients/smtp_sink.py (scripts/test installs aiosmtpd)");
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
        assert_eq!(line.trim(), "ready", "the SMTP sink did not start (pip install aiosmtpd)");
        self.child = Some(child);
    }

    /// Every message received so far, oldest first.
    pub fn messages(&self) -> Vec<Value> {
        let mut names: Vec<_> = std::fs::read_dir(&self.dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        names.sort();
        names.iter().map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()).collect()
    }

    /// The `n`-th message to `to` (1-based), waiting up to 15 s for it.
    pub async fn wait_for(&self, to: &str, n: usize) -> Value {
        let start = Instant::now();
        loop {
            let found: Vec<Value> = self
                .messages()
                .into_iter()
                .filter(|m| m["rcpt_tos"].as_array().unwrap().iter().any(|r| r == to))
                .collect();
            if found.len() >= n {
                return found[n - 1].clone();
            }
            assert!(start.elapsed() < Duration::from_secs(15), "no email #{n} to {to}; got {:?}", self.messages());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The 6-digit code of an email's body.
pub fn code_of(mail: &Value) -> String {
    let body = mail["body"].as_str().unwrap();
    let at = body.find("code: ").map(|i| i + 6).expect("a code in the email");
    body[at..at + 6].to_string()
}

/// The link of an email's body (the `href`, HTML entities undone).
pub fn link_of(mail: &Value) -> String {
    let body = mail["body"].as_str().unwrap();
    let start = body.find("href=\"").expect("a link in the email") + 6;
    let end = start + body[start..].find('"').unwrap();
    body[start..end].replace("&amp;", "&")
}

/// Settings for a gateway that sends email through `sink`, with confirmation required.
pub fn mail_config(
    db: &TestDb,
    sink: &SmtpSink,
    tweak: impl FnOnce(&mut rowgate::config::ServeArgs),
) -> rowgate::config::Config {
    config(db, |a| {
        a.jwt_signing_key = Some(rowgate::auth::signing::SigningKey::generate_jwk().unwrap());
        let f = &mut a.auth_flows;
        f.smtp_host = Some("127.0.0.1".into());
        f.smtp_port = Some(sink.port.to_string());
        f.smtp_tls = Some("opportunistic".into());
        f.smtp_admin_email = Some("noreply@rowgate.test".into());
        f.smtp_sender_name = Some("Rowgate".into());
        f.mailer_autoconfirm = Some("false".into());
        f.site_url = Some("http://app.test:8080".into());
        f.uri_allow_list = Some("http://app.test:8080/**,myapp://*".into());
        tweak(a)
    })
}

//! Email delivery for `/auth/v1`: a bounded queue drained by one task that speaks SMTP through
//! `lettre` (implicit TLS or STARTTLS over rustls), so no request waits for a mail server.
//! A send that still fails after its retries is logged and counted, and marks the server as down:
//! until a probe (an SMTP `NOOP` conversation) succeeds again, the endpoints that send answer 500
//! before anything is written, so the user can simply retry.

pub mod templates;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::mpsc;

pub use templates::{Template, Templates, Vars};

use crate::config::{SmtpSettings, SmtpTls};
use crate::observe::{MailOutcome, Metrics};

/// Emails waiting to be sent; beyond this the sending endpoints answer 500 (retry later).
const QUEUE: usize = 1000;
/// Attempts per email, and the pause after each failed one but the last.
const BACKOFF: [Duration; 3] = [Duration::from_millis(500), Duration::from_secs(2), Duration::ZERO];

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("no SMTP server is configured (ROWGATE_SMTP_HOST)")]
    NotConfigured,
    #[error("the SMTP server does not answer: {0}")]
    Unavailable(String),
    #[error("the email queue is full")]
    QueueFull,
    #[error("invalid address: {0}")]
    Address(String),
    #[error("{0}")]
    Setup(String),
}

pub struct Mailer {
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Option<Mailbox>,
    templates: Templates,
    queue: mpsc::Sender<Message>,
    /// Known to accept mail: set by a delivered email or a probe, cleared by a failed delivery.
    healthy: AtomicBool,
    metrics: Arc<Metrics>,
}

impl Mailer {
    /// The mailer and the receiving end its `deliver` task drains.
    pub fn new(
        smtp: Option<&SmtpSettings>,
        templates: Templates,
        metrics: Arc<Metrics>,
    ) -> Result<(Arc<Mailer>, mpsc::Receiver<Message>), MailError> {
        let (transport, from) = match smtp {
            None => (None, None),
            Some(s) => {
                let name = s.sender_name.clone();
                let address =
                    s.admin_email.parse().map_err(|e| MailError::Address(format!("{}: {e}", s.admin_email)))?;
                (Some(transport(s)?), Some(Mailbox::new(name, address)))
            }
        };
        let (queue, rx) = mpsc::channel(QUEUE);
        let mailer = Mailer { transport, from, templates, queue, healthy: AtomicBool::new(false), metrics };
        Ok((Arc::new(mailer), rx))
    }

    /// Whether an email can be accepted now: the server is known to work, or a probe says so.
    pub async fn ready(&self) -> Result<(), MailError> {
        let transport = self.transport.as_ref().ok_or(MailError::NotConfigured)?;
        if self.healthy.load(Ordering::Relaxed) {
            return Ok(());
        }
        match tokio::time::timeout(Duration::from_secs(5), transport.test_connection()).await {
            Ok(Ok(true)) => {
                self.healthy.store(true, Ordering::Relaxed);
                Ok(())
            }
            Ok(Ok(false)) => Err(MailError::Unavailable("the server refused the probe".into())),
            Ok(Err(e)) => Err(MailError::Unavailable(e.to_string())),
            Err(_) => Err(MailError::Unavailable("no answer within 5 s".into())),
        }
    }

    /// Renders and queues one email; the request does not wait for the SMTP conversation.
    pub fn send(&self, template: Template, to: &str, vars: &Vars) -> Result<(), MailError> {
        let from = self.from.clone().ok_or(MailError::NotConfigured)?;
        let to: Mailbox = to.parse().map_err(|e| MailError::Address(format!("{to}: {e}")))?;
        let (subject, html) = self.templates.render(template, vars);
        let message = Message::builder()
            .from(from)
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_HTML)
            .body(html)
            .map_err(|e| MailError::Setup(e.to_string()))?;
        self.queue.try_send(message).map_err(|_| {
            self.metrics.mail(MailOutcome::Dropped);
            MailError::QueueFull
        })
    }

    /// Drains the queue for as long as the gateway runs: each email is tried up to three times.
    pub async fn deliver(self: Arc<Self>, mut rx: mpsc::Receiver<Message>) {
        let Some(transport) = self.transport.clone() else { return };
        while let Some(message) = rx.recv().await {
            let mut last_error = String::new();
            let mut sent = false;
            for (attempt, pause) in BACKOFF.iter().enumerate() {
                match transport.send(message.clone()).await {
                    Ok(_) => {
                        sent = true;
                        break;
                    }
                    Err(e) => {
                        last_error = e.to_string();
                        if attempt + 1 < BACKOFF.len() {
                            tracing::warn!(error = %last_error, "email send failed; retrying");
                            tokio::time::sleep(*pause).await;
                        }
                    }
                }
            }
            if sent {
                self.healthy.store(true, Ordering::Relaxed);
                self.metrics.mail(MailOutcome::Sent);
            } else {
                self.healthy.store(false, Ordering::Relaxed);
                self.metrics.mail(MailOutcome::Failed);
                let to = message.envelope().to().iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
                tracing::error!(error = %last_error, %to, "email not sent after 3 attempts; the user may ask again");
            }
        }
    }
}

fn transport(s: &SmtpSettings) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailError> {
    let setup = |e: lettre::transport::smtp::Error| MailError::Setup(e.to_string());
    let extra = match &s.ca_file {
        None => None,
        Some(path) => Some(
            std::fs::read(path)
                .map_err(|e| MailError::Setup(format!("ROWGATE_SMTP_CA_FILE {}: {e}", path.display())))?,
        ),
    };
    let params = || {
        let builder = TlsParameters::builder(s.host.clone());
        let builder = match &extra {
            Some(pem) => builder.add_root_certificate(
                Certificate::from_pem(pem).map_err(|e| MailError::Setup(format!("ROWGATE_SMTP_CA_FILE: {e}")))?,
            ),
            None => builder,
        };
        builder.build_rustls().map_err(setup)
    };
    let builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host).port(s.port);
    let builder = match s.tls {
        SmtpTls::Implicit => builder.tls(Tls::Wrapper(params()?)),
        SmtpTls::StartTls => builder.tls(Tls::Required(params()?)),
        SmtpTls::Opportunistic => builder.tls(Tls::Opportunistic(params()?)),
        SmtpTls::None => builder.tls(Tls::None),
    };
    let builder = match (&s.user, &s.pass) {
        (Some(user), Some(pass)) => builder.credentials(Credentials::new(user.clone(), pass.clone())),
        _ => builder,
    };
    Ok(builder.timeout(Some(Duration::from_secs(10))).build())
}

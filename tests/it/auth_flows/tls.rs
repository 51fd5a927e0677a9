//! Point 2's transport security: rowgate sends through an SMTP server that speaks TLS from the
//! first byte (`ROWGATE_SMTP_TLS=implicit`) and one that requires STARTTLS (`starttls`), both over
//! rustls, trusting a private CA through `ROWGATE_SMTP_CA_FILE`; without that CA the server's
//! certificate is refused and nothing is sent.

use serde_json::json;

use super::{mail_config, SmtpSink};
use crate::harness::*;
use crate::tls::pki::Ca;

async fn recover(g: &Gateway) -> u16 {
    g.http
        .post(g.url("/auth/v1/recover"))
        .json(&json!({"email": "tls@example.com"}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn email_goes_out_over_implicit_tls_and_starttls_with_a_trusted_ca_only() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("smtp test ca");
    let leaf = ca.leaf(&["localhost"], 7);
    let (cert, key, ca_file) = (dir.path().join("cert.pem"), dir.path().join("key.pem"), dir.path().join("ca.pem"));
    std::fs::write(&cert, &leaf.cert_pem).unwrap();
    std::fs::write(&key, &leaf.key_pem).unwrap();
    std::fs::write(&ca_file, ca.pem()).unwrap();

    for mode in ["implicit", "starttls"] {
        let sink = SmtpSink::start_tls(mode, &cert, &key);
        for trusted in [true, false] {
            let db = TestDb::new().await;
            db.admin().await.batch_execute("insert into auth.users (email) values ('tls@example.com')").await.unwrap();
            let cfg = mail_config(&db, &sink, |a| {
                a.auth_flows.smtp_host = Some("localhost".into());
                a.auth_flows.smtp_tls = Some(mode.into());
                a.auth_flows.smtp_max_frequency = Some("0".into());
                a.auth_flows.smtp_ca_file = trusted.then(|| ca_file.display().to_string());
            });
            let g = Gateway::start_on(db, cfg).await;
            if trusted {
                assert_eq!(recover(&g).await, 200, "{mode}");
                let mail = sink.wait_for("tls@example.com", 1).await;
                assert_eq!(mail["subject"], "Reset your password", "{mode}");
            } else {
                // The probe's TLS handshake fails: the endpoint refuses, nothing is sent.
                assert_eq!(recover(&g).await, 500, "{mode} without the CA");
            }
        }
        assert_eq!(sink.messages().len(), 1, "{mode}");
    }
}

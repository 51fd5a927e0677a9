//! Points 2, 3, 4 and 8 over HTTP against the real SMTP sink: an outage refuses only the sending
//! endpoints and a retry succeeds, templates come from files, sent emails are counted, the email
//! and verify limits answer alike for known and unknown addresses, an email invitation to an org
//! signs the invitee up and joins them in one step, and `/reauthenticate` guards a password change.

use serde_json::{json, Value};

use super::{code_of, link_of, mail_config, SmtpSink};
use crate::harness::*;

const SETUP: &str = "
insert into auth.users (email, encrypted_password) values
  ('known@example.com', crypt('correct horse', gen_salt('bf', 4))),
  ('owner@example.com', crypt('correct horse', gen_salt('bf', 4))),
  ('stranger@example.com', crypt('correct horse', gen_salt('bf', 4)));
update api.platform_settings set auto_activate_new_orgs = true;
";

async fn post(g: &Gateway, path: &str, bearer: Option<&str>, body: Value) -> (u16, Value) {
    let mut req = g.http.post(g.url(path)).json(&body);
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn sign_in(g: &Gateway, email: &str) -> String {
    let (status, s) =
        post(g, "/auth/v1/token?grant_type=password", None, json!({"email": email, "password": "correct horse"})).await;
    assert_eq!(status, 200, "{s}");
    s["access_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn an_smtp_outage_refuses_only_the_sending_endpoints_and_a_retry_succeeds() {
    let mut sink = SmtpSink::stopped();
    let templates = tempfile::tempdir().unwrap();
    std::fs::write(
        templates.path().join("recovery.html"),
        "<p>Custom reset: <a href=\"{{ .ConfirmationURL }}\">go</a> code: {{ .Token }}</p>",
    )
    .unwrap();
    std::fs::write(templates.path().join("recovery.subject"), "Reset for {{ .Email }}").unwrap();
    let db = TestDb::new().await;
    db.admin().await.batch_execute(SETUP).await.unwrap();
    let cfg = mail_config(&db, &sink, |a| {
        a.auth_flows.mailer_templates_dir = Some(templates.path().display().to_string());
        a.auth_flows.smtp_max_frequency = Some("0".into());
    });
    let g = Gateway::start_on(db, cfg).await;

    let (status, body) = post(&g, "/auth/v1/recover", None, json!({"email": "known@example.com"})).await;
    assert_eq!(
        (status, &body["error_code"], &body["msg"]),
        (500, &json!("unexpected_failure"), &json!("Error sending recovery email"))
    );
    // Nothing was written: no token waits for an email nobody received.
    let tokens: i64 =
        g.db.admin().await.query_one("select count(*) from auth.one_time_tokens", &[]).await.unwrap().get(0);
    assert_eq!(tokens, 0);
    // Signing in does not need the mail server.
    sign_in(&g, "known@example.com").await;

    sink.resume();
    let (status, body) = post(&g, "/auth/v1/recover", None, json!({"email": "known@example.com"})).await;
    assert_eq!((status, body), (200, json!({})));
    let mail = sink.wait_for("known@example.com", 1).await;
    assert_eq!(mail["subject"], "Reset for known@example.com");
    assert_eq!(mail["mail_from"], "noreply@rowgate.test");
    assert!(mail["body"].as_str().unwrap().starts_with("<p>Custom reset: "), "{mail}");
    assert!(link_of(&mail).starts_with(&format!("{}/auth/v1/verify?token=", g.url(""))), "{mail}");
    let (status, s) = post(
        &g,
        "/auth/v1/verify",
        None,
        json!({"type": "recovery", "email": "known@example.com", "token": code_of(&mail)}),
    )
    .await;
    assert_eq!(status, 200, "{s}");
    assert!(s["access_token"].is_string());

    let metrics = g.http.get(g.admin_url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("rowgate_auth_emails_total{outcome=\"sent\"} 1"), "{metrics}");

    // A message the server refuses is tried three times, then logged and counted as failed; the
    // next request probes the server again and goes through.
    g.db.admin().await.execute("insert into auth.users (email) values ('reject@example.com')", &[]).await.unwrap();
    let (status, _) = post(&g, "/auth/v1/recover", None, json!({"email": "reject@example.com"})).await;
    assert_eq!(status, 200);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let metrics = g.http.get(g.admin_url("/metrics")).send().await.unwrap().text().await.unwrap();
        if metrics.contains("rowgate_auth_emails_total{outcome=\"failed\"} 1") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no failed email counted: {metrics}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let (status, _) = post(&g, "/auth/v1/recover", None, json!({"email": "known@example.com"})).await;
    assert_eq!(status, 200);
    sink.wait_for("known@example.com", 2).await;
}

#[tokio::test]
async fn email_and_verify_limits_answer_alike_for_known_and_unknown_addresses() {
    let sink = SmtpSink::start();
    let db = TestDb::new().await;
    db.admin().await.batch_execute(SETUP).await.unwrap();
    let cfg = mail_config(&db, &sink, |a| a.auth_flows.rate_limit_verify = Some("3".into()));
    let g = Gateway::start_on(db, cfg).await;

    for email in ["known@example.com", "nobody@example.com"] {
        let (status, body) = post(&g, "/auth/v1/recover", None, json!({"email": email})).await;
        assert_eq!((status, body), (200, json!({})), "{email}");
        let (status, body) = post(&g, "/auth/v1/recover", None, json!({"email": email})).await;
        assert_eq!(status, 429, "{email}: {body}");
        assert_eq!(body["error_code"], "over_email_send_rate_limit");
        assert!(
            body["msg"].as_str().unwrap().starts_with("For security purposes, you can only request this after"),
            "{body}"
        );
    }
    sink.wait_for("known@example.com", 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(sink.messages().len(), 1, "only the known address gets an email");

    // Forged link tokens: 403 otp_expired, then the per-IP verify limit.
    for _ in 0..3 {
        let (status, body) = post(&g, "/auth/v1/verify", None, json!({"type": "signup", "token_hash": "00ff"})).await;
        assert_eq!((status, &body["error_code"]), (403, &json!("otp_expired")), "{body}");
    }
    let (status, body) = post(&g, "/auth/v1/verify", None, json!({"type": "signup", "token_hash": "00ff"})).await;
    assert_eq!((status, &body["error_code"]), (429, &json!("over_request_rate_limit")), "{body}");
    // Malformed requests are refused before any lookup.
    let (status, body) = post(&g, "/auth/v1/verify", None, json!({"token_hash": "00ff"})).await;
    assert_eq!((status, &body["error_code"]), (400, &json!("validation_failed")), "{body}");
    let (status, _) =
        post(&g, "/auth/v1/resend", None, json!({"type": "recovery", "email": "known@example.com"})).await;
    assert_eq!(status, 400);
    // The admin API's bad input: GoTrue-shaped 4xx, never a 500.
    let service = token(json!({"role": "service_role"}));
    for query in ["per_page=0", "page=abc", "page=99999999999", "per_page=5000"] {
        let r = g.http.get(g.url(&format!("/auth/v1/admin/users?{query}"))).bearer_auth(&service).send().await.unwrap();
        assert_eq!(r.status(), 400, "{query}");
    }
    for body in [
        json!({"email": "a@example.com", "ban_duration": "forever"}),
        json!({"email": "not-an-email"}),
        json!({"email": "b@example.com", "password": "short"}),
    ] {
        let (status, answer) = post(&g, "/auth/v1/admin/users", Some(&service), body.clone()).await;
        assert!(status == 400 || status == 422, "{body}: {status} {answer}");
        assert!(answer["error_code"].is_string(), "{body}: {answer}");
    }
    // A non-boolean email_confirm does not confirm.
    let (status, user) =
        post(&g, "/auth/v1/admin/users", Some(&service), json!({"email": "c@example.com", "email_confirm": "maybe"}))
            .await;
    assert_eq!((status, &user["email_confirmed_at"]), (200, &Value::Null), "{user}");
    let (status, body) =
        post(&g, "/auth/v1/admin/generate_link", Some(&service), json!({"type": "nope", "email": "known@example.com"}))
            .await;
    assert_eq!((status, &body["error_code"]), (400, &json!("validation_failed")), "{body}");
    let (status, body) = post(
        &g,
        "/auth/v1/admin/generate_link",
        Some(&service),
        json!({"type": "recovery", "email": "ghost@example.com"}),
    )
    .await;
    assert_eq!((status, &body["error_code"]), (404, &json!("user_not_found")), "{body}");
}

#[tokio::test]
async fn an_org_invitation_by_email_signs_the_invitee_up_and_joins_them() {
    let sink = SmtpSink::start();
    let db = TestDb::new().await;
    db.admin().await.batch_execute(SETUP).await.unwrap();
    let cfg = mail_config(&db, &sink, |_| {});
    let g = Gateway::start_on(db, cfg).await;
    let owner = sign_in(&g, "owner@example.com").await;
    let (status, org) = post(&g, "/rpc/create_organization", Some(&owner), json!({"name": "Acme"})).await;
    assert_eq!(status, 200, "{org}");
    let org_id = org["org_id"].as_str().unwrap().to_string();

    // Someone who is not the org's owner or admin, and a plain user without an org, are refused.
    let stranger = sign_in(&g, "stranger@example.com").await;
    let invite = json!({"email": "invitee@example.com", "data": {"org_id": org_id, "role": "member"}});
    let (status, body) = post(&g, "/auth/v1/invite", Some(&stranger), invite.clone()).await;
    assert_eq!((status, &body["error_code"]), (403, &json!("not_admin")), "{body}");
    let (status, body) = post(&g, "/auth/v1/invite", Some(&stranger), json!({"email": "x@example.com"})).await;
    assert_eq!((status, &body["error_code"]), (403, &json!("not_admin")), "{body}");
    let bad_role = json!({"email": "invitee@example.com", "data": {"org_id": org_id, "role": "emperor"}});
    let (status, body) = post(&g, "/auth/v1/invite", Some(&owner), bad_role).await;
    assert_eq!((status, &body["error_code"]), (400, &json!("validation_failed")), "{body}");

    let (status, user) =
        post(&g, "/auth/v1/invite?redirect_to=http://app.test:8080/joined", Some(&owner), invite).await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["email"], "invitee@example.com");
    assert!(user["invited_at"].is_string());
    let mail = sink.wait_for("invitee@example.com", 1).await;
    let link = link_of(&mail);
    assert!(link.contains("type=invite"), "{link}");

    // A link whose redirect is outside the allow-list is refused.
    let evil =
        link.replace("redirect_to=http%3A%2F%2Fapp.test%3A8080%2Fjoined", "redirect_to=https%3A%2F%2Fevil.example%2F");
    assert_ne!(evil, link);
    let no_follow = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = no_follow.get(&evil).send().await.unwrap();
    assert_eq!(r.status(), 400);

    let r = no_follow.get(&link).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("http://app.test:8080/joined#access_token="), "{location}");
    let fragment: Vec<(String, String)> =
        form_urlencoded::parse(location.split('#').nth(1).unwrap().as_bytes()).into_owned().collect();
    let access = &fragment.iter().find(|(k, _)| k == "access_token").unwrap().1;
    assert!(fragment.contains(&("type".into(), "invite".into())), "{fragment:?}");
    let me: Value = g.http.get(g.url("/auth/v1/user")).bearer_auth(access).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["email"], "invitee@example.com");
    assert!(me["email_confirmed_at"].is_string(), "{me}");
    let role: String =
        g.db.admin()
            .await
            .query_one(
                "select m.role from api.memberships m join auth.users u on u.id = m.user_id
              where u.email = 'invitee@example.com' and m.org_id = $1::text::uuid",
                &[&org_id],
            )
            .await
            .unwrap()
            .get(0);
    assert_eq!(role, "member");

    // The link is single use: a second click lands on the redirect with GoTrue's error.
    let r = no_follow.get(&link).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap();
    assert!(location.contains("error_code=otp_expired"), "{location}");
}

#[tokio::test]
async fn a_password_change_needs_the_emailed_nonce_once_the_session_is_a_day_old() {
    let sink = SmtpSink::start();
    let db = TestDb::new().await;
    db.admin().await.batch_execute(SETUP).await.unwrap();
    let cfg = mail_config(&db, &sink, |a| {
        a.auth_flows.security_update_password_require_reauthentication = Some("true".into());
    });
    let g = Gateway::start_on(db, cfg).await;
    let token = sign_in(&g, "known@example.com").await;
    let put = |body: Value| {
        let req = g.http.put(g.url("/auth/v1/user")).bearer_auth(&token).json(&body);
        async move {
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    // A session signed in within the day changes its password without a nonce (GoTrue's rule).
    assert_eq!(put(json!({"password": "second password"})).await.0, 200);
    g.db.admin().await.execute("update auth.sessions set created_at = now() - interval '25 hours'", &[]).await.unwrap();
    let (status, body) = put(json!({"password": "third password"})).await;
    assert_eq!((status, &body["error_code"]), (400, &json!("reauthentication_needed")), "{body}");

    let r = g.http.get(g.url("/auth/v1/reauthenticate")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let mail = sink.wait_for("known@example.com", 1).await;
    assert_eq!(mail["subject"], "Confirm it is you");
    let nonce = code_of(&mail);
    let wrong = if nonce == "123456" { "654321" } else { "123456" };
    let (status, body) = put(json!({"password": "third password", "nonce": wrong})).await;
    assert_eq!((status, &body["error_code"]), (422, &json!("reauthentication_not_valid")), "{body}");
    let (status, body) = put(json!({"password": "third password", "nonce": nonce})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = put(json!({"password": "fourth password", "nonce": nonce})).await;
    assert_eq!(
        (status, &body["error_code"]),
        (422, &json!("reauthentication_not_valid")),
        "the nonce is single use: {body}"
    );
}

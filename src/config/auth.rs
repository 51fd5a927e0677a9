//! The account lifecycle of `/auth/v1`: token and session lifetimes, email delivery (SMTP),
//! templates, the site URL and the redirect allow-list, and the per-endpoint-class limits.
//! GoTrue's `GOTRUE_*` names are read when the `ROWGATE_*` one is unset, as `PGRST_*` are.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use super::parse::err;
use super::ConfigError;

/// Raw strings, validated in `resolve`.
#[derive(Debug, Args, Default, Clone)]
pub struct AuthFlowArgs {
    /// Access-token lifetime in seconds (GOTRUE_JWT_EXP; default 3600).
    #[arg(long, env = "ROWGATE_JWT_EXP")]
    pub jwt_exp: Option<String>,
    /// Refresh-token lifetime in seconds (default 604800, 7 days).
    #[arg(long, env = "ROWGATE_REFRESH_TOKEN_LIFETIME")]
    pub refresh_token_lifetime: Option<String>,
    /// Sessions end this many seconds after sign-in, whatever their use (0: never; GOTRUE_SESSIONS_TIMEBOX).
    #[arg(long, env = "ROWGATE_SESSIONS_TIMEBOX")]
    pub sessions_timebox: Option<String>,
    /// Sessions end after this many seconds without a refresh (0: never; GOTRUE_SESSIONS_INACTIVITY_TIMEOUT).
    #[arg(long, env = "ROWGATE_SESSIONS_INACTIVITY_TIMEOUT")]
    pub sessions_inactivity_timeout: Option<String>,
    /// Where the app lives: the default redirect of email links (GOTRUE_SITE_URL).
    #[arg(long, env = "ROWGATE_SITE_URL")]
    pub site_url: Option<String>,
    /// Further allowed redirect URLs, comma-separated, exact or glob (GOTRUE_URI_ALLOW_LIST).
    #[arg(long, env = "ROWGATE_URI_ALLOW_LIST")]
    pub uri_allow_list: Option<String>,
    /// rowgate's public base URL, for links in emails (API_EXTERNAL_URL; default the listen address).
    #[arg(long, env = "ROWGATE_API_EXTERNAL_URL")]
    pub api_external_url: Option<String>,
    /// Confirm sign-ups at once (true, default) or by an emailed link (GOTRUE_MAILER_AUTOCONFIRM).
    #[arg(long, env = "ROWGATE_MAILER_AUTOCONFIRM")]
    pub mailer_autoconfirm: Option<String>,
    /// Lifetime of emailed links and codes in seconds (GOTRUE_MAILER_OTP_EXP; default 3600).
    #[arg(long, env = "ROWGATE_MAILER_OTP_EXP")]
    pub mailer_otp_exp: Option<String>,
    /// A folder whose confirmation/recovery/magic_link/invite/email_change .html (and .subject) files replace the built-in templates.
    #[arg(long, env = "ROWGATE_MAILER_TEMPLATES_DIR")]
    pub mailer_templates_dir: Option<String>,
    /// SMTP server (GOTRUE_SMTP_HOST); unset: no email is sent and the send endpoints answer 500.
    #[arg(long, env = "ROWGATE_SMTP_HOST")]
    pub smtp_host: Option<String>,
    /// SMTP port (GOTRUE_SMTP_PORT; default 587; 465 means implicit TLS).
    #[arg(long, env = "ROWGATE_SMTP_PORT")]
    pub smtp_port: Option<String>,
    /// SMTP user name (GOTRUE_SMTP_USER).
    #[arg(long, env = "ROWGATE_SMTP_USER")]
    pub smtp_user: Option<String>,
    /// SMTP password (GOTRUE_SMTP_PASS).
    #[arg(long, env = "ROWGATE_SMTP_PASS", hide_env_values = true)]
    pub smtp_pass: Option<String>,
    /// The sender address (GOTRUE_SMTP_ADMIN_EMAIL).
    #[arg(long, env = "ROWGATE_SMTP_ADMIN_EMAIL")]
    pub smtp_admin_email: Option<String>,
    /// The sender's display name (GOTRUE_SMTP_SENDER_NAME).
    #[arg(long, env = "ROWGATE_SMTP_SENDER_NAME")]
    pub smtp_sender_name: Option<String>,
    /// implicit, starttls (required), opportunistic or none (default: implicit on port 465, else starttls).
    #[arg(long, env = "ROWGATE_SMTP_TLS")]
    pub smtp_tls: Option<String>,
    /// Extra root certificates (PEM) the SMTP server's certificate may chain to, besides the system's.
    #[arg(long, env = "ROWGATE_SMTP_CA_FILE")]
    pub smtp_ca_file: Option<String>,
    /// Minimum seconds between two emails to one address (GOTRUE_SMTP_MAX_FREQUENCY; default 60).
    #[arg(long, env = "ROWGATE_SMTP_MAX_FREQUENCY")]
    pub smtp_max_frequency: Option<String>,
    /// Emails sent per hour by the whole instance (GOTRUE_RATE_LIMIT_EMAIL_SENT; default 30).
    #[arg(long, env = "ROWGATE_RATE_LIMIT_EMAIL_SENT")]
    pub rate_limit_email_sent: Option<String>,
    /// /verify requests per client IP per 5 minutes (GOTRUE_RATE_LIMIT_VERIFY; default 30).
    #[arg(long, env = "ROWGATE_RATE_LIMIT_VERIFY")]
    pub rate_limit_verify: Option<String>,
    /// A new password needs the emailed nonce (GET /reauthenticate) once the session is a day old
    /// (GOTRUE_SECURITY_UPDATE_PASSWORD_REQUIRE_REAUTHENTICATION; default false).
    #[arg(long, env = "ROWGATE_SECURITY_UPDATE_PASSWORD_REQUIRE_REAUTHENTICATION")]
    pub security_update_password_require_reauthentication: Option<String>,
    /// /otp requests per client IP per 5 minutes (GOTRUE_RATE_LIMIT_OTP; default 30).
    #[arg(long, env = "ROWGATE_RATE_LIMIT_OTP")]
    pub rate_limit_otp: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    Implicit,
    StartTls,
    Opportunistic,
    None,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub user: Option<String>,
    pub pass: Option<String>,
    pub admin_email: String,
    pub sender_name: Option<String>,
    pub tls: SmtpTls,
    /// `ROWGATE_SMTP_CA_FILE`: trusted besides the system's roots.
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthFlows {
    pub jwt_exp: u64,
    pub refresh_token_lifetime: u64,
    pub sessions_timebox: u64,
    pub sessions_inactivity_timeout: u64,
    pub site_url: String,
    pub uri_allow_list: Vec<String>,
    pub api_external_url: Option<String>,
    pub autoconfirm: bool,
    pub otp_exp: u64,
    pub templates_dir: Option<PathBuf>,
    pub smtp: Option<SmtpSettings>,
    pub max_frequency: u64,
    pub rate_email_sent: u64,
    pub rate_verify: u64,
    pub rate_otp: u64,
    pub reauthentication: bool,
    /// `[("rowgate.auth", <the rules SQL applies, as JSON>)]`: bound in each `/auth/v1` transaction.
    pub sql_settings: Vec<(String, String)>,
}

pub(super) fn resolve(a: &AuthFlowArgs, env: &dyn Fn(&str) -> Option<String>) -> Result<AuthFlows, ConfigError> {
    let pick =
        |own: &Option<String>, gotrue: &str| own.clone().or_else(|| env(gotrue)).filter(|s| !s.trim().is_empty());
    let number = |var: &'static str, v: Option<String>, default: u64| -> Result<u64, ConfigError> {
        match v {
            None => Ok(default),
            Some(s) => s.trim().parse().map_err(|_| err(var, format!("expected a whole number, got {s:?}"))),
        }
    };
    let jwt_exp = number("ROWGATE_JWT_EXP", pick(&a.jwt_exp, "GOTRUE_JWT_EXP"), 3600)?;
    if jwt_exp == 0 {
        return Err(err("ROWGATE_JWT_EXP", "must be at least 1 second"));
    }
    let refresh_token_lifetime = number("ROWGATE_REFRESH_TOKEN_LIFETIME", a.refresh_token_lifetime.clone(), 604_800)?;
    let sessions_timebox = number("ROWGATE_SESSIONS_TIMEBOX", pick(&a.sessions_timebox, "GOTRUE_SESSIONS_TIMEBOX"), 0)?;
    let sessions_inactivity_timeout = number(
        "ROWGATE_SESSIONS_INACTIVITY_TIMEOUT",
        pick(&a.sessions_inactivity_timeout, "GOTRUE_SESSIONS_INACTIVITY_TIMEOUT"),
        0,
    )?;
    let site_url = pick(&a.site_url, "GOTRUE_SITE_URL").unwrap_or_else(|| "http://localhost:3000".into());
    if !(site_url.starts_with("http://") || site_url.starts_with("https://")) {
        return Err(err("ROWGATE_SITE_URL", format!("expected an http(s) URL, got {site_url:?}")));
    }
    let uri_allow_list = pick(&a.uri_allow_list, "GOTRUE_URI_ALLOW_LIST")
        .map(|s| s.split(',').map(str::trim).filter(|p| !p.is_empty()).map(str::to_string).collect())
        .unwrap_or_default();
    let api_external_url = pick(&a.api_external_url, "API_EXTERNAL_URL").map(|s| s.trim_end_matches('/').to_string());
    let autoconfirm = match pick(&a.mailer_autoconfirm, "GOTRUE_MAILER_AUTOCONFIRM") {
        None => true,
        Some(v) => flag("ROWGATE_MAILER_AUTOCONFIRM", &v)?,
    };
    let otp_exp = number("ROWGATE_MAILER_OTP_EXP", pick(&a.mailer_otp_exp, "GOTRUE_MAILER_OTP_EXP"), 3600)?;
    let smtp = match pick(&a.smtp_host, "GOTRUE_SMTP_HOST") {
        None => None,
        Some(host) => {
            let port = number("ROWGATE_SMTP_PORT", pick(&a.smtp_port, "GOTRUE_SMTP_PORT"), 587)?;
            let port = u16::try_from(port).map_err(|_| err("ROWGATE_SMTP_PORT", "expected a port number"))?;
            let tls = match a.smtp_tls.as_deref().map(str::trim) {
                None | Some("") if port == 465 => SmtpTls::Implicit,
                None | Some("") | Some("starttls") => SmtpTls::StartTls,
                Some("implicit") => SmtpTls::Implicit,
                Some("opportunistic") => SmtpTls::Opportunistic,
                Some("none") => SmtpTls::None,
                Some(v) => {
                    return Err(err(
                        "ROWGATE_SMTP_TLS",
                        format!("expected implicit, starttls, opportunistic or none, got {v:?}"),
                    ))
                }
            };
            let admin_email = pick(&a.smtp_admin_email, "GOTRUE_SMTP_ADMIN_EMAIL").ok_or_else(|| {
                err("ROWGATE_SMTP_ADMIN_EMAIL", "the sender address is required with ROWGATE_SMTP_HOST")
            })?;
            if !admin_email.contains('@') {
                return Err(err("ROWGATE_SMTP_ADMIN_EMAIL", format!("expected an email address, got {admin_email:?}")));
            }
            Some(SmtpSettings {
                host,
                port,
                user: pick(&a.smtp_user, "GOTRUE_SMTP_USER"),
                pass: pick(&a.smtp_pass, "GOTRUE_SMTP_PASS"),
                admin_email,
                sender_name: pick(&a.smtp_sender_name, "GOTRUE_SMTP_SENDER_NAME"),
                tls,
                ca_file: a.smtp_ca_file.as_ref().filter(|s| !s.trim().is_empty()).map(PathBuf::from),
            })
        }
    };
    let max_frequency =
        number("ROWGATE_SMTP_MAX_FREQUENCY", pick(&a.smtp_max_frequency, "GOTRUE_SMTP_MAX_FREQUENCY"), 60)?;
    let rate_email_sent =
        number("ROWGATE_RATE_LIMIT_EMAIL_SENT", pick(&a.rate_limit_email_sent, "GOTRUE_RATE_LIMIT_EMAIL_SENT"), 30)?;
    let rate_verify = number("ROWGATE_RATE_LIMIT_VERIFY", pick(&a.rate_limit_verify, "GOTRUE_RATE_LIMIT_VERIFY"), 30)?;
    let rate_otp = number("ROWGATE_RATE_LIMIT_OTP", pick(&a.rate_limit_otp, "GOTRUE_RATE_LIMIT_OTP"), 30)?;
    let reauthentication = match pick(
        &a.security_update_password_require_reauthentication,
        "GOTRUE_SECURITY_UPDATE_PASSWORD_REQUIRE_REAUTHENTICATION",
    ) {
        None => false,
        Some(v) => flag("ROWGATE_SECURITY_UPDATE_PASSWORD_REQUIRE_REAUTHENTICATION", &v)?,
    };
    let rules = json!({
        "reauth_required": reauthentication,
        "refresh_token_lifetime": refresh_token_lifetime,
        "sessions_timebox": sessions_timebox,
        "sessions_inactivity_timeout": sessions_inactivity_timeout,
        "autoconfirm": autoconfirm,
        "otp_exp": otp_exp,
        "max_frequency": max_frequency,
        "rate_email_sent": rate_email_sent,
        "rate_verify": rate_verify,
        "rate_otp": rate_otp,
    });
    Ok(AuthFlows {
        jwt_exp,
        refresh_token_lifetime,
        sessions_timebox,
        sessions_inactivity_timeout,
        site_url: site_url.trim_end_matches('/').to_string(),
        uri_allow_list,
        api_external_url,
        autoconfirm,
        otp_exp,
        templates_dir: a.mailer_templates_dir.as_ref().filter(|s| !s.trim().is_empty()).map(PathBuf::from),
        smtp,
        max_frequency,
        rate_email_sent,
        rate_verify,
        rate_otp,
        reauthentication,
        sql_settings: vec![("rowgate.auth".into(), rules.to_string())],
    })
}

fn flag(var: &'static str, v: &str) -> Result<bool, ConfigError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        other => Err(err(var, format!("expected true or false, got {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gotrue_names_are_read_when_rowgate_names_are_unset() {
        let env = |k: &str| match k {
            "GOTRUE_JWT_EXP" => Some("900".to_string()),
            "GOTRUE_SMTP_HOST" => Some("mail.example.com".to_string()),
            "GOTRUE_SMTP_PORT" => Some("465".to_string()),
            "GOTRUE_SMTP_ADMIN_EMAIL" => Some("noreply@example.com".to_string()),
            "GOTRUE_MAILER_AUTOCONFIRM" => Some("false".to_string()),
            _ => None,
        };
        let f = resolve(&AuthFlowArgs::default(), &env).unwrap();
        assert_eq!(f.jwt_exp, 900);
        assert!(!f.autoconfirm);
        let smtp = f.smtp.unwrap();
        assert_eq!((smtp.port, smtp.tls), (465, SmtpTls::Implicit));
        let own = AuthFlowArgs { jwt_exp: Some("60".into()), ..Default::default() };
        assert_eq!(resolve(&own, &env).unwrap().jwt_exp, 60);
        let defaults = resolve(&AuthFlowArgs::default(), &|_| None).unwrap();
        assert_eq!((defaults.jwt_exp, defaults.autoconfirm, defaults.smtp), (3600, true, None));
    }

    #[test]
    fn bad_values_name_the_variable() {
        let bad = AuthFlowArgs { smtp_host: Some("h".into()), ..Default::default() };
        assert_eq!(resolve(&bad, &|_| None).unwrap_err().var, "ROWGATE_SMTP_ADMIN_EMAIL");
        let bad = AuthFlowArgs { jwt_exp: Some("soon".into()), ..Default::default() };
        assert_eq!(resolve(&bad, &|_| None).unwrap_err().var, "ROWGATE_JWT_EXP");
        let bad = AuthFlowArgs { site_url: Some("ftp://x".into()), ..Default::default() };
        assert_eq!(resolve(&bad, &|_| None).unwrap_err().var, "ROWGATE_SITE_URL");
    }
}

//! The six emails of the account lifecycle, with GoTrue's template variables
//! (`{{ .ConfirmationURL }}`, `{{ .Token }}`, `{{ .TokenHash }}`, `{{ .SiteURL }}`, `{{ .Email }}`,
//! `{{ .NewEmail }}`, `{{ .RedirectTo }}`) so templates written for Supabase keep working. A folder
//! (`ROWGATE_MAILER_TEMPLATES_DIR`) may replace any of them: `<name>.html`, `<name>.subject`.

use std::path::Path;

/// Which email.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    Confirmation,
    Recovery,
    MagicLink,
    Invite,
    EmailChange,
    Reauthentication,
}

impl Template {
    pub const ALL: [Template; 6] = [
        Template::Confirmation,
        Template::Recovery,
        Template::MagicLink,
        Template::Invite,
        Template::EmailChange,
        Template::Reauthentication,
    ];

    /// The file name stem in the templates folder.
    pub fn name(self) -> &'static str {
        match self {
            Template::Confirmation => "confirmation",
            Template::Recovery => "recovery",
            Template::MagicLink => "magic_link",
            Template::Invite => "invite",
            Template::EmailChange => "email_change",
            Template::Reauthentication => "reauthentication",
        }
    }

    /// The template of a one-time token's type (`/verify`'s `type`).
    pub fn of_type(kind: &str) -> Option<Template> {
        Some(match kind {
            "signup" => Template::Confirmation,
            "recovery" => Template::Recovery,
            "magiclink" => Template::MagicLink,
            "invite" => Template::Invite,
            "email_change" => Template::EmailChange,
            "reauthentication" => Template::Reauthentication,
            _ => return None,
        })
    }

    fn default_subject(self) -> &'static str {
        match self {
            Template::Confirmation => "Confirm your sign-up",
            Template::Recovery => "Reset your password",
            Template::MagicLink => "Your sign-in link",
            Template::Invite => "You have been invited",
            Template::EmailChange => "Confirm your new email address",
            Template::Reauthentication => "Confirm it is you",
        }
    }

    fn default_body(self) -> &'static str {
        match self {
            Template::Confirmation => {
                "<h2>Confirm your sign-up</h2>\n<p><a href=\"{{ .ConfirmationURL }}\">Confirm your email address</a></p>\n<p>Or enter this code: {{ .Token }}</p>\n"
            }
            Template::Recovery => {
                "<h2>Reset your password</h2>\n<p><a href=\"{{ .ConfirmationURL }}\">Choose a new password</a></p>\n<p>Or enter this code: {{ .Token }}</p>\n"
            }
            Template::MagicLink => {
                "<h2>Sign in</h2>\n<p><a href=\"{{ .ConfirmationURL }}\">Sign in</a></p>\n<p>Or enter this code: {{ .Token }}</p>\n"
            }
            Template::Invite => {
                "<h2>You have been invited</h2>\n<p>You have been invited to {{ .SiteURL }}.</p>\n<p><a href=\"{{ .ConfirmationURL }}\">Accept the invitation</a></p>\n"
            }
            Template::Reauthentication => "<h2>Confirm it is you</h2>\n<p>Enter this code: {{ .Token }}</p>\n",
            Template::EmailChange => {
                "<h2>Confirm your new email address</h2>\n<p>Confirm the change from {{ .Email }} to {{ .NewEmail }}:</p>\n<p><a href=\"{{ .ConfirmationURL }}\">Confirm</a></p>\n<p>Or enter this code: {{ .Token }}</p>\n"
            }
        }
    }
}

/// The values a template may use.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    pub confirmation_url: String,
    pub token: String,
    pub token_hash: String,
    pub site_url: String,
    pub email: String,
    pub new_email: String,
    pub redirect_to: String,
}

impl Vars {
    fn get(&self, name: &str) -> Option<&str> {
        Some(match name {
            "ConfirmationURL" => &self.confirmation_url,
            "Token" => &self.token,
            "TokenHash" => &self.token_hash,
            "SiteURL" => &self.site_url,
            "Email" => &self.email,
            "NewEmail" => &self.new_email,
            "RedirectTo" => &self.redirect_to,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Templates {
    /// `(subject, html)` per template, in `Template::ALL` order.
    texts: Vec<(String, String)>,
}

impl Templates {
    /// The built-in texts, each replaced by a file of `dir` where one exists.
    pub fn load(dir: Option<&Path>) -> std::io::Result<Templates> {
        let mut texts = Vec::new();
        for t in Template::ALL {
            let read = |ext: &str| -> std::io::Result<Option<String>> {
                let Some(dir) = dir else { return Ok(None) };
                match std::fs::read_to_string(dir.join(format!("{}.{ext}", t.name()))) {
                    Ok(s) => Ok(Some(s)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(e),
                }
            };
            let subject = read("subject")?.map(|s| s.trim().to_string()).unwrap_or_else(|| t.default_subject().into());
            let body = read("html")?.unwrap_or_else(|| t.default_body().into());
            texts.push((subject, body));
        }
        Ok(Templates { texts })
    }

    /// `(subject, html)`: the subject as plain text, every value HTML-escaped in the body.
    pub fn render(&self, t: Template, vars: &Vars) -> (String, String) {
        let (subject, body) = &self.texts[t as usize];
        (fill(subject, vars, false), fill(body, vars, true))
    }
}

/// Replaces each `{{ .Name }}`; unknown names are left as written.
fn fill(text: &str, vars: &Vars, html: bool) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let name = after[..end].trim().trim_start_matches('.');
        match vars.get(name) {
            Some(v) if html => out.push_str(&escape(v)),
            Some(v) => out.push_str(v),
            None => out.push_str(&rest[start..start + 2 + end + 2]),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_filled_and_escaped() {
        let t = Templates::load(None).unwrap();
        let vars = Vars {
            confirmation_url: "https://x.test/verify?token=a&type=signup".into(),
            token: "123456".into(),
            ..Default::default()
        };
        let (subject, body) = t.render(Template::Confirmation, &vars);
        assert_eq!(subject, "Confirm your sign-up");
        assert!(body.contains("href=\"https://x.test/verify?token=a&amp;type=signup\""), "{body}");
        assert!(body.contains("123456"));
        assert_eq!(
            fill("{{.Email}} {{ .Nope }} {{", &Vars { email: "<a>".into(), ..Default::default() }, true),
            "&lt;a&gt; {{ .Nope }} {{"
        );
    }

    #[test]
    fn a_folder_replaces_single_templates() {
        let dir = std::env::temp_dir().join(format!("rowgate-templates-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("recovery.html"), "<p>reset: {{ .Token }}</p>").unwrap();
        std::fs::write(dir.join("recovery.subject"), "Reset at {{ .SiteURL }}\n").unwrap();
        let t = Templates::load(Some(&dir)).unwrap();
        let vars = Vars { token: "654321".into(), site_url: "https://app.test".into(), ..Default::default() };
        assert_eq!(
            t.render(Template::Recovery, &vars),
            ("Reset at https://app.test".into(), "<p>reset: 654321</p>".into())
        );
        assert_eq!(t.render(Template::MagicLink, &vars).0, "Your sign-in link");
        std::fs::remove_dir_all(dir).unwrap();
    }
}

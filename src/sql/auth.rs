//! The statements of `/auth/v1`. Each calls one function of schema `auth`, where every rule
//! lives, and returns its JSON answer as text; the text is fixed and every value a parameter.

use std::borrow::Cow;

use super::builder::Statement;

/// What `/auth/v1` asks of the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthCall {
    Login {
        email: String,
        password: String,
        ip: String,
    },
    Refresh {
        token: String,
    },
    Bootstrap {
        email: String,
        password: String,
    },
    GetUser,
    UpdateUser {
        changes: String,
    },
    Logout {
        scope: String,
    },
    AdminDeleteUser {
        id: String,
    },
    BootstrapNeeded,
    /// Sign-up with metadata (`data`, a JSON object), under the confirmation setting.
    SignUp {
        email: String,
        password: String,
        data: String,
    },
    /// `/verify`: a link token, or an email and its code (empty strings stand for none).
    Verify {
        kind: String,
        link: String,
        email: String,
        code: String,
    },
    /// `/otp` (`otp`), `/recover` (`recovery`), `/resend` (`signup`, `email_change`).
    SendLink {
        kind: String,
        email: String,
        data: String,
        create_user: bool,
    },
    Invite {
        email: String,
        data: String,
    },
    AdminUsersPage {
        page: i64,
        per_page: i64,
    },
    AdminGetUser {
        id: String,
    },
    AdminCreate {
        attrs: String,
    },
    AdminUpdate {
        id: String,
        attrs: String,
    },
    AdminGenerateLink {
        attrs: String,
    },
    Reauthenticate,
    /// MFA (TOTP): `/factors` (`super::auth_mfa`).
    Mfa(super::auth_mfa::MfaCall),
    /// OAuth / OIDC sign-in (`super::auth_oauth`).
    Oauth(super::auth_oauth::OauthCall),
}

impl AuthCall {
    pub fn statement(self) -> Statement {
        // Answers that may open a session go through auth.session_answer (functions/auth_mfa.sql:
        // the session's aal and amr, the user's factors and identities); the user's own record
        // through auth.user_extras.
        let (sql, params): (&'static str, Vec<String>) = match self {
            AuthCall::Mfa(call) => return call.statement(),
            AuthCall::Oauth(call) => return call.statement(),
            AuthCall::Login { email, password, ip } => {
                ("select auth.session_answer(auth.login($1, $2, $3), 'password')::text", vec![email, password, ip])
            }
            AuthCall::Refresh { token } => ("select auth.session_answer(auth.refresh($1), null)::text", vec![token]),
            AuthCall::Bootstrap { email, password } => {
                ("select auth.session_answer(auth.bootstrap($1, $2), 'password')::text", vec![email, password])
            }
            AuthCall::GetUser => ("select auth.user_extras(auth.get_user())::text", vec![]),
            AuthCall::UpdateUser { changes } => {
                ("select auth.user_extras(auth.update_user($1::jsonb))::text", vec![changes])
            }
            AuthCall::Logout { scope } => ("select auth.logout($1)::text", vec![scope]),
            AuthCall::AdminDeleteUser { id } => ("select auth.admin_delete_user($1::uuid)::text", vec![id]),
            AuthCall::BootstrapNeeded => ("select auth.bootstrap_needed()::text", vec![]),
            AuthCall::SignUp { email, password, data } => {
                ("select auth.session_answer(auth.sign_up($1, $2, $3::jsonb), 'password')::text", vec![email, password, data])
            }
            AuthCall::Verify { kind, link, email, code } => (
                "select auth.session_answer(auth.verify($1, nullif($2, ''), nullif($3, ''), nullif($4, '')), \
                 case $1 when 'signup' then 'email/signup' when 'magiclink' then 'magiclink' when 'recovery' then 'recovery' \
                 when 'invite' then 'invite' when 'email_change' then 'email_change' else 'otp' end)::text",
                vec![kind, link, email, code],
            ),
            AuthCall::SendLink { kind, email, data, create_user } => (
                "select auth.send_link($1, $2, $3::jsonb, $4::boolean)::text",
                vec![kind, email, data, create_user.to_string()],
            ),
            AuthCall::Invite { email, data } => ("select auth.invite($1, $2::jsonb)::text", vec![email, data]),
            AuthCall::AdminUsersPage { page, per_page } => (
                "select auth.admin_users_page($1::integer, $2::integer)::text",
                vec![page.to_string(), per_page.to_string()],
            ),
            AuthCall::AdminGetUser { id } => ("select auth.admin_get_user($1::uuid)::text", vec![id]),
            AuthCall::AdminCreate { attrs } => ("select auth.admin_create($1::jsonb)::text", vec![attrs]),
            AuthCall::AdminUpdate { id, attrs } => {
                ("select auth.admin_update($1::uuid, $2::jsonb)::text", vec![id, attrs])
            }
            AuthCall::Reauthenticate => ("select auth.reauthenticate()::text", vec![]),
            AuthCall::AdminGenerateLink { attrs } => ("select auth.admin_generate_link($1::jsonb)::text", vec![attrs]),
        };
        Statement { sql: Cow::Borrowed(sql), params }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_statements_have_fixed_text_and_bind_every_value() {
        let st =
            AuthCall::Login { email: "a@b.co".into(), password: "x' or 1=1".into(), ip: "10.0.0.1".into() }.statement();
        assert_eq!(st.sql, "select auth.session_answer(auth.login($1, $2, $3), 'password')::text");
        assert_eq!(st.params, vec!["a@b.co", "x' or 1=1", "10.0.0.1"]);
        let st =
            AuthCall::Verify { kind: "signup".into(), link: String::new(), email: "a@b.co".into(), code: "1".into() }
                .statement();
        assert_eq!(
            st.sql,
            "select auth.session_answer(auth.verify($1, nullif($2, ''), nullif($3, ''), nullif($4, '')), case $1 \
             when 'signup' then 'email/signup' when 'magiclink' then 'magiclink' when 'recovery' then 'recovery' \
             when 'invite' then 'invite' when 'email_change' then 'email_change' else 'otp' end)::text"
        );
        assert_eq!(st.params, vec!["signup", "", "a@b.co", "1"]);
        assert_eq!(AuthCall::GetUser.statement().sql, "select auth.user_extras(auth.get_user())::text");
        let st = AuthCall::AdminDeleteUser { id: "u".into() }.statement();
        assert_eq!(
            (st.sql.as_ref(), st.params),
            ("select auth.admin_delete_user($1::uuid)::text", vec!["u".to_string()])
        );
        assert!(AuthCall::GetUser.statement().params.is_empty());
    }
}

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
    Signup {
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
    AdminListUsers,
    AdminCreateUser {
        email: String,
        password: String,
        super_admin: bool,
    },
    AdminSetDisabled {
        id: String,
        disabled: bool,
    },
    AdminDeleteUser {
        id: String,
    },
    BootstrapNeeded,
    /// MFA (TOTP): `/factors` (`super::auth_mfa`).
    Mfa(super::auth_mfa::MfaCall),
    /// OAuth / OIDC sign-in (`super::auth_oauth`).
    Oauth(super::auth_oauth::OauthCall),
}

impl AuthCall {
    pub fn statement(self) -> Statement {
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
            AuthCall::Signup { email, password } => {
                ("select auth.session_answer(auth.signup($1, $2), 'password')::text", vec![email, password])
            }
            AuthCall::GetUser => ("select auth.user_extras(auth.get_user())::text", vec![]),
            AuthCall::UpdateUser { changes } => {
                ("select auth.user_extras(auth.update_user($1::jsonb))::text", vec![changes])
            }
            AuthCall::Logout { scope } => ("select auth.logout($1)::text", vec![scope]),
            AuthCall::AdminListUsers => ("select auth.admin_list_users()::text", vec![]),
            AuthCall::AdminCreateUser { email, password, super_admin } => (
                "select auth.admin_create_user($1, $2, $3::boolean)::text",
                vec![email, password, super_admin.to_string()],
            ),
            AuthCall::AdminSetDisabled { id, disabled } => {
                ("select auth.admin_set_disabled($1::uuid, $2::boolean)::text", vec![id, disabled.to_string()])
            }
            AuthCall::AdminDeleteUser { id } => ("select auth.admin_delete_user($1::uuid)::text", vec![id]),
            AuthCall::BootstrapNeeded => ("select auth.bootstrap_needed()::text", vec![]),
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
        let st = AuthCall::AdminSetDisabled { id: "u".into(), disabled: true }.statement();
        assert_eq!(st.sql, "select auth.admin_set_disabled($1::uuid, $2::boolean)::text");
        assert_eq!(st.params, vec!["u", "true"]);
        assert_eq!(AuthCall::GetUser.statement().sql, "select auth.user_extras(auth.get_user())::text");
        let st = AuthCall::AdminDeleteUser { id: "u".into() }.statement();
        assert_eq!(
            (st.sql.as_ref(), st.params),
            ("select auth.admin_delete_user($1::uuid)::text", vec!["u".to_string()])
        );
        assert!(AuthCall::GetUser.statement().params.is_empty());
    }
}

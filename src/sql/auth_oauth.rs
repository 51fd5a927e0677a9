//! The statements of OAuth / OIDC sign-in (`/authorize`, `/callback`, `grant_type=pkce`): each
//! calls one function of schema `auth` (functions/auth_oauth.sql) with fixed text.

use std::borrow::Cow;

use super::builder::Statement;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OauthCall {
    Begin { provider: String, redirect_to: String, code_challenge: String, code_challenge_method: String },
    State { state: String },
    Complete { state: String, claims: String, signup_enabled: bool },
    Pkce { auth_code: String, code_verifier: String },
}

impl OauthCall {
    pub fn statement(self) -> Statement {
        let (sql, params): (&'static str, Vec<String>) = match self {
            OauthCall::Begin { provider, redirect_to, code_challenge, code_challenge_method } => (
                "select auth.oauth_begin($1, $2, $3, $4)::text",
                vec![provider, redirect_to, code_challenge, code_challenge_method],
            ),
            OauthCall::State { state } => ("select auth.oauth_state($1::uuid)::text", vec![state]),
            OauthCall::Complete { state, claims, signup_enabled } => (
                "select auth.oauth_complete($1::uuid, $2::jsonb, $3::boolean)::text",
                vec![state, claims, signup_enabled.to_string()],
            ),
            // A new session signed in by OAuth (`amr` method `oauth`, as GoTrue's).
            OauthCall::Pkce { auth_code, code_verifier } => {
                ("select auth.session_answer(auth.oauth_pkce($1, $2), 'oauth')::text", vec![auth_code, code_verifier])
            }
        };
        Statement { sql: Cow::Borrowed(sql), params }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oauth_statements_bind_every_value() {
        let st = OauthCall::Pkce { auth_code: "c".into(), code_verifier: "v'--".into() }.statement();
        assert_eq!(st.sql, "select auth.session_answer(auth.oauth_pkce($1, $2), 'oauth')::text");
        assert_eq!(st.params, vec!["c", "v'--"]);
        let st = OauthCall::Complete { state: "s".into(), claims: "{}".into(), signup_enabled: false }.statement();
        assert_eq!(st.params, vec!["s", "{}", "false"]);
    }
}

//! The statements of `/auth/v1/factors` (MFA with TOTP): each calls one function of schema `auth`
//! (functions/auth_mfa.sql) with fixed text; every value, the MFA key included, is a parameter.

use std::borrow::Cow;

use super::builder::Statement;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MfaCall {
    Enroll { key: String, factor_type: String, friendly_name: String },
    Challenge { factor: String, ip: String },
    Verify { key: String, factor: String, challenge: String, code: String, ip: String },
    Unenroll { factor: String },
}

impl MfaCall {
    pub fn statement(self) -> Statement {
        let (sql, params): (&'static str, Vec<String>) = match self {
            MfaCall::Enroll { key, factor_type, friendly_name } => {
                ("select auth.mfa_enroll($1, $2, $3)::text", vec![key, factor_type, friendly_name])
            }
            MfaCall::Challenge { factor, ip } => ("select auth.mfa_challenge($1::uuid, $2)::text", vec![factor, ip]),
            MfaCall::Verify { key, factor, challenge, code, ip } => {
                ("select auth.mfa_verify($1, $2::uuid, $3::uuid, $4, $5)::text", vec![key, factor, challenge, code, ip])
            }
            MfaCall::Unenroll { factor } => ("select auth.mfa_unenroll($1::uuid)::text", vec![factor]),
        };
        Statement { sql: Cow::Borrowed(sql), params }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mfa_statements_bind_every_value() {
        let st = MfaCall::Verify {
            key: "k".into(),
            factor: "f".into(),
            challenge: "c".into(),
            code: "1' or '1".into(),
            ip: "::1".into(),
        }
        .statement();
        assert_eq!(st.sql, "select auth.mfa_verify($1, $2::uuid, $3::uuid, $4, $5)::text");
        assert_eq!(st.params, vec!["k", "f", "c", "1' or '1", "::1"]);
        assert_eq!(MfaCall::Unenroll { factor: "f".into() }.statement().params, vec!["f"]);
    }
}

//! Settings of `rowgate audit`: the same DATABASE_URL and exposed schemas as serve (with their
//! `PGRST_*` fallbacks), but DATABASE_URL is required: there is no embedded default to audit.

use super::probe::ProbeOptions;
use super::AuditOptions;
use crate::config::parse::{database_url, err, list, schemas};
use crate::config::{AuditArgs, AuditFormat, ConfigError};

#[derive(Debug, Clone)]
pub struct AuditSettings {
    pub database_url: String,
    pub options: AuditOptions,
    pub format: AuditFormat,
    pub probe: Option<ProbeOptions>,
}

impl AuditSettings {
    /// `env` looks up the fallback variables (`PGRST_DB_URI`, `PGRST_DB_SCHEMAS`).
    pub fn from_args(a: &AuditArgs, env: &dyn Fn(&str) -> Option<String>) -> Result<AuditSettings, ConfigError> {
        let database_url = database_url(a.database_url.clone().or_else(|| env("PGRST_DB_URI")))?.ok_or_else(|| {
            err("DATABASE_URL", "not set: rowgate audit inspects an existing database (pass --database-url or set it)")
        })?;
        let schemas = schemas(a.schemas.clone().or_else(|| env("PGRST_DB_SCHEMAS")))?;
        let request_roles = match &a.request_roles {
            None => None,
            Some(raw) => {
                let roles = list(raw);
                if roles.is_empty() {
                    return Err(err("--request-roles", "must name at least one role, e.g. anon,authenticated"));
                }
                Some(roles)
            }
        };
        let probe = if a.probe {
            let role = a.probe_role.trim();
            if role.is_empty() {
                return Err(err("--probe-role", "must name a role, e.g. authenticated"));
            }
            let membership_table = a.membership_table.as_deref().map(table_name).transpose()?;
            Some(ProbeOptions { role: role.to_string(), membership_table })
        } else {
            None
        };
        Ok(AuditSettings { database_url, options: AuditOptions { schemas, request_roles }, format: a.format, probe })
    }
}

/// `schema.table`, or `table` (looked up in the exposed schemas and public).
fn table_name(v: &str) -> Result<(Option<String>, String), ConfigError> {
    let parts: Vec<&str> = v.trim().split('.').collect();
    match parts.as_slice() {
        [t] if !t.is_empty() => Ok((None, t.to_string())),
        [s, t] if !s.is_empty() && !t.is_empty() => Ok((Some(s.to_string()), t.to_string())),
        _ => Err(err("--membership-table", format!("expected schema.table, got {v:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> AuditArgs {
        AuditArgs {
            database_url: Some("postgres://postgres@localhost/db".into()),
            schemas: None,
            request_roles: None,
            format: AuditFormat::Text,
            probe: false,
            probe_role: "authenticated".into(),
            membership_table: None,
        }
    }

    #[test]
    fn database_url_is_required() {
        let a = AuditArgs { database_url: None, ..args() };
        let e = AuditSettings::from_args(&a, &|_| None).unwrap_err();
        assert_eq!(e.var, "DATABASE_URL");
        let fallback = |k: &str| (k == "PGRST_DB_URI").then(|| "postgres://x@localhost/db".to_string());
        assert!(AuditSettings::from_args(&a, &fallback).is_ok());
    }

    #[test]
    fn schemas_fall_back_like_serve() {
        assert_eq!(AuditSettings::from_args(&args(), &|_| None).unwrap().options.schemas, vec!["api"]);
        let env = |k: &str| (k == "PGRST_DB_SCHEMAS").then(|| "v1, v2".to_string());
        assert_eq!(AuditSettings::from_args(&args(), &env).unwrap().options.schemas, vec!["v1", "v2"]);
        let own = AuditArgs { schemas: Some("api".into()), ..args() };
        assert_eq!(AuditSettings::from_args(&own, &env).unwrap().options.schemas, vec!["api"]);
    }

    #[test]
    fn roles_and_membership_table() {
        let a = AuditArgs {
            request_roles: Some("anon, authenticated".into()),
            probe: true,
            membership_table: Some("api.memberships".into()),
            ..args()
        };
        let s = AuditSettings::from_args(&a, &|_| None).unwrap();
        assert_eq!(s.options.request_roles, Some(vec!["anon".to_string(), "authenticated".to_string()]));
        let p = s.probe.unwrap();
        assert_eq!(p.membership_table, Some((Some("api".to_string()), "memberships".to_string())));
        assert_eq!(p.role, "authenticated");
        let bad = AuditArgs { request_roles: Some(" , ".into()), ..args() };
        assert_eq!(AuditSettings::from_args(&bad, &|_| None).unwrap_err().var, "--request-roles");
        let bad = AuditArgs { probe: true, membership_table: Some("a.b.c".into()), ..args() };
        assert_eq!(AuditSettings::from_args(&bad, &|_| None).unwrap_err().var, "--membership-table");
    }
}

//! The tenancy kit over HTTP (issue 17): export and erasure, org lifecycle and the maintenance
//! job, plans and quotas, platform-controlled entitlements, the audit trail, super-admin
//! operations, registration limits and the operations surface — with access tokens from
//! `/auth/v1` password sign-in, API tokens and a `service_role` JWT, the allowed and the denied
//! case, and the database checked as the superuser.

mod audit_trail;
mod entitlements;
mod erasure;
mod export;
mod lifecycle;
mod operations;
mod platform;
mod quotas;
mod registration;

use reqwest::Method;
use rowgate::config::ServeArgs;
use serde_json::{json, Value};

use crate::harness::*;
pub use crate::tenants::{
    ADMIN_A, LONER, MEMBER_A, MODEL_A, MODEL_B, ORG_A, ORG_B, ORG_P, ORG_S, OWNER_A, OWNER_B, PROJ_A, SUPER, TASK_A,
    VIEWER_A,
};

pub const PASSWORD: &str = "kit-password";

/// The shared tenant world (orgs A, B, S suspended, P pending, every user with [`PASSWORD`]) on
/// a gateway that signs `/auth/v1` tokens and runs the pre-request check.
pub struct Kit {
    pub g: Gateway,
}

impl Kit {
    pub async fn new() -> Kit {
        Kit::with(|_| {}).await
    }

    pub async fn with(tweak: impl FnOnce(&mut ServeArgs)) -> Kit {
        let key = rowgate::auth::signing::SigningKey::generate_jwk().expect("a signing key");
        let g = Gateway::start_with(|a| {
            a.jwt_signing_key = Some(key);
            a.db_pre_request = Some("internal.check_request".into());
            a.maintenance_interval = Some("off".into());
            tweak(a);
        })
        .await;
        crate::tenants::seed(&g.db, &[crate::tenants::STATUS_ORGS, &crate::tenants::passwords(PASSWORD)]).await;
        Kit { g }
    }

    /// A session of `email` (password sign-in): the `Authorization` value and the whole answer.
    pub async fn session(&self, email: &str) -> (String, Value) {
        let body = json!({"email": email, "password": PASSWORD}).to_string();
        let r = self.g.send(Method::POST, "/auth/v1/token?grant_type=password", &[], &body).await;
        assert_eq!(r.status, 200, "sign-in of {email}: {}", r.body);
        let v = r.json();
        (format!("Bearer {}", v["access_token"].as_str().expect("an access token")), v)
    }

    pub async fn sign_in(&self, email: &str) -> String {
        self.session(email).await.0
    }

    /// A request with `authorization` (None: anonymous) and an optional JSON body.
    pub async fn call(&self, authorization: Option<&str>, method: Method, path: &str, body: Option<Value>) -> Reply {
        let mut headers = vec![("prefer", "return=representation")];
        if let Some(a) = authorization {
            headers.push(("authorization", a));
        }
        match body {
            Some(b) => self.g.send(method, path, &headers, &b.to_string()).await,
            None => self.g.request(method, path, &headers).await,
        }
    }

    pub async fn rpc(&self, authorization: Option<&str>, function: &str, args: Value) -> Reply {
        self.call(authorization, Method::POST, &format!("/rpc/{function}"), Some(args)).await
    }

    /// The rows of `sql`, read as the superuser, as one JSON array.
    pub async fn rows(&self, sql: &str) -> Value {
        crate::isolation::rows_of(&self.g.db.admin().await, sql).await
    }

    /// The single value of `sql`, read as the superuser.
    pub async fn scalar(&self, sql: &str) -> Value {
        let rows = self.rows(sql).await;
        rows[0].as_object().and_then(|o| o.values().next().cloned()).unwrap_or_else(|| panic!("{sql}: {rows}"))
    }

    /// Runs `sql` as the superuser.
    pub async fn exec(&self, sql: &str) {
        self.g.db.admin().await.batch_execute(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

/// A `service_role` JWT, as an operator mints one for automation.
pub fn service() -> String {
    bearer(json!({"role": "service_role", "exp": now() + 3600}))
}

/// The `code` and `hint` of an error body.
pub fn code_hint(r: &Reply) -> (String, String) {
    let v: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
    (v["code"].as_str().unwrap_or_default().to_string(), v["hint"].as_str().unwrap_or_default().to_string())
}

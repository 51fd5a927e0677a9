//! JWT authentication (PostgREST v16 compatible, with strict key pinning).
//!
//! * [`Authenticator::new`] turns an [`AuthConfig`] into verification keys
//!   (plain HS256 secret, JWK or JWKS, optionally read from `@file`).
//! * [`Authenticator::authenticate`] maps an `Authorization` header value to
//!   an [`Identity`] (role + claims) or an [`AuthError`] (PGRST300..303).
//!
//! Each key is pinned to exactly one algorithm; the token header only selects
//! among keys (by `kid` and `alg`), it never chooses how a key is used.
//! Signature verification is done by `jsonwebtoken`; every claim check
//! (`exp`/`nbf`/`iat` with 30 s leeway, `aud`, role) is done here.
//! Successfully verified tokens are kept in a bounded cache; a cache hit
//! skips the signature check but always re-runs the time checks.
//!
//! A bearer value starting with `rg_` is an API token, not a JWT: it is passed
//! to the database unverified as role `authenticated` with the claims
//! `{"role":"authenticated","api_token":"rg_…"}`, where the pre-request check
//! `internal.check_request()` looks it up (sql/V6). It is never cached.

mod claims;
mod error;
mod keys;
pub mod signing;
mod token;

#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use quick_cache::sync::Cache;
use serde_json::Value;

pub use claims::{RolePath, LEEWAY_SECS};
pub use error::{AuthError, KeyError};
pub use keys::MIN_SECRET_CHARS;

use claims::TimeClaims;
use keys::VerifyKey;

/// Default role claim path.
pub const DEFAULT_ROLE_CLAIM: &str = "role";
/// Default number of cached verified tokens.
pub const DEFAULT_CACHE_MAX_ENTRIES: usize = 1000;

/// Authentication settings (already read from the environment).
#[derive(Clone)]
pub struct AuthConfig {
    /// `ROWGATE_JWT_SECRET`: plain HS256 secret (>= 32 chars), JWK, JWKS, or
    /// `@/path/to/file` containing one of those. `None` or empty: no secret.
    pub secret: Option<String>,
    /// `ROWGATE_JWT_AUD`: expected audience. `None` or empty: accept any.
    pub audience: Option<String>,
    /// `ROWGATE_JWT_ROLE_CLAIM`: JSON path of the role claim (default `role`).
    pub role_claim: String,
    /// Role for requests without a token. `None` or empty: anonymous access
    /// is disabled.
    pub anon_role: Option<String>,
    /// Capacity of the verified-token cache; 0 disables the cache.
    pub cache_max_entries: usize,
    /// Extra JWKS documents to trust (the public half of `ROWGATE_JWT_SIGNING_KEY`).
    pub trusted_jwks: Vec<String>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            secret: None,
            audience: None,
            role_claim: DEFAULT_ROLE_CLAIM.to_owned(),
            anon_role: None,
            cache_max_entries: DEFAULT_CACHE_MAX_ENTRIES,
            trusted_jwks: Vec::new(),
        }
    }
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret itself.
        f.debug_struct("AuthConfig")
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("audience", &self.audience)
            .field("role_claim", &self.role_claim)
            .field("anon_role", &self.anon_role)
            .field("cache_max_entries", &self.cache_max_entries)
            .field("trusted_jwks", &self.trusted_jwks.len())
            .finish()
    }
}

/// The authenticated (or anonymous) identity of a request.
#[derive(Clone, Debug)]
pub struct Identity {
    /// Postgres role to switch to.
    pub role: Arc<str>,
    /// Claims JSON text with top-level `"role"` set to [`Identity::role`]
    /// (the value for `request.jwt.claims`).
    pub claims: Arc<str>,
    /// Whether the request runs as someone other than the anonymous role: a token with a role
    /// claim (decides 403 vs 401 for insufficient privilege, as PostgREST).
    pub has_token: bool,
}

impl Identity {
    /// Who the request counts as, for the per-subject rate limit and read-your-writes:
    /// `sub:<sub>` for a token with a subject, `api_token:<its first characters>` for an API
    /// token, else `role:<role>` (anonymous requests share one).
    pub fn subject_key(&self) -> String {
        let claims = serde_json::from_str::<Value>(&self.claims).ok();
        let claim = |k: &str| claims.as_ref().and_then(|c| c.get(k)).and_then(Value::as_str);
        match (claim("sub"), claim("api_token")) {
            (Some(s), _) => format!("sub:{s}"),
            (None, Some(t)) => format!("api_token:{}", t.get(..16).unwrap_or(t)),
            (None, None) => format!("role:{}", self.role),
        }
    }
}

/// A signature-verified token, as stored in the cache.
#[derive(Clone, Debug)]
struct Verified {
    role: Arc<str>,
    claims: Arc<str>,
    times: TimeClaims,
}

/// Verifies `Authorization` headers; cheap to share between threads.
pub struct Authenticator {
    /// `None`: no secret configured (tokens are answered with PGRST300).
    keys: Option<Vec<VerifyKey>>,
    audience: Option<String>,
    role_path: RolePath,
    /// Identity for requests without a token; `None` if anonymous is disabled.
    anonymous: Option<Identity>,
    cache: Option<Cache<String, Verified>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("keys", &self.keys)
            .field("audience", &self.audience)
            .field("role_path", &self.role_path)
            .field("anonymous", &self.anonymous.as_ref().map(|i| &i.role))
            .field("cache_enabled", &self.cache.is_some())
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    /// Builds the authenticator, loading and validating all keys.
    pub fn new(cfg: AuthConfig) -> Result<Self, KeyError> {
        let mut keys = match cfg.secret.as_deref() {
            None => None,
            Some(secret) => keys::load(secret)?,
        };
        // Public halves of our own signing keys are trusted too.
        for jwks in &cfg.trusted_jwks {
            if let Some(more) = keys::load(jwks)? {
                keys.get_or_insert_with(Vec::new).extend(more);
            }
        }
        let role_path = RolePath::parse(&cfg.role_claim)
            .map_err(|reason| KeyError::InvalidRoleClaim { path: cfg.role_claim.clone(), reason })?;
        let anonymous = cfg.anon_role.filter(|r| !r.is_empty()).map(|role| Identity {
            claims: serde_json::json!({ "role": role }).to_string().into(),
            role: role.into(),
            has_token: false,
        });
        let cache = (cfg.cache_max_entries > 0).then(|| Cache::new(cfg.cache_max_entries));
        Ok(Authenticator {
            keys,
            audience: cfg.audience.filter(|a| !a.is_empty()),
            role_path,
            anonymous,
            cache,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        })
    }

    /// Whether a JWT secret / key set is configured.
    pub fn has_secret(&self) -> bool {
        self.keys.is_some()
    }

    /// Authenticates a request. `authorization` is the raw `Authorization`
    /// header value, if any; `now` is the current time in unix seconds.
    pub fn authenticate(&self, authorization: Option<&[u8]>, now: u64) -> Result<Identity, AuthError> {
        let Some(raw) = token::bearer_token(authorization) else {
            return self.anonymous.clone().ok_or(AuthError::AnonDisabled);
        };
        if raw.is_empty() {
            // Reported before PGRST300: an empty token is not a token.
            return Err(AuthError::invalid_token("Empty JWT is sent in Authorization header"));
        }
        if let Some(identity) = token::api_token_identity(raw)? {
            // Not a JWT: the database's pre-request check decides (never cached, never logged).
            return Ok(identity);
        }
        let Some(keys) = &self.keys else {
            return Err(AuthError::SecretMissing);
        };
        let token = token::check_shape(raw)?;

        if let Some(cache) = &self.cache {
            if let Some(hit) = cache.get(token) {
                self.hits.fetch_add(1, Ordering::Relaxed);
                hit.times.check(now)?;
                return Ok(self.identity(&hit));
            }
            self.misses.fetch_add(1, Ordering::Relaxed);
        }

        let verified = self.verify(token, keys)?;
        if let Some(cache) = &self.cache {
            cache.insert(token.to_owned(), verified.clone());
        }
        verified.times.check(now)?;
        Ok(self.identity(&verified))
    }

    /// A verified token's identity. Running as the anonymous role (no role claim, or that role
    /// named) counts as anonymous for 42501: 401, not 403, as PostgREST decides by the role.
    fn identity(&self, v: &Verified) -> Identity {
        let anonymous = self.anonymous.as_ref().is_some_and(|a| a.role == v.role);
        Identity { role: v.role.clone(), claims: v.claims.clone(), has_token: !anonymous }
    }

    /// `(hits, misses)` of the verified-token cache since startup.
    pub fn cache_stats(&self) -> (u64, u64) {
        (self.hits.load(Ordering::Relaxed), self.misses.load(Ordering::Relaxed))
    }

    /// Verifies the signature and all time-independent claim rules.
    fn verify(&self, token: &str, keys: &[VerifyKey]) -> Result<Verified, AuthError> {
        let header = token::parse_header(token)?;
        let mut candidates = keys
            .iter()
            // A token's kid must match a key that has one; keys without a kid (a plain
            // secret) stay candidates, so Supabase-style tokens carrying a kid still verify.
            .filter(|k| match (&header.kid, &k.kid) {
                (Some(want), Some(have)) => want == have,
                _ => true,
            })
            .filter(|k| k.alg == header.alg)
            .peekable();
        if candidates.peek().is_none() {
            return Err(AuthError::invalid_token("No suitable key or wrong key type"));
        }

        let mut claims = None;
        for key in candidates {
            match jsonwebtoken::decode::<Value>(token, &key.key, &key.validation) {
                Ok(data) => {
                    claims = Some(data.claims);
                    break;
                }
                // The header and signature encodings were checked before, so
                // decoding errors here concern the (signature-verified) payload.
                Err(e) if matches!(e.kind(), ErrorKind::Json(_) | ErrorKind::Base64(_) | ErrorKind::Utf8(_)) => {
                    return Err(AuthError::claims_invalid("Parsing claims failed"));
                }
                Err(_) => continue,
            }
        }
        let Some(claims) = claims else {
            return Err(AuthError::invalid_token("JWT cryptographic operation failed"));
        };
        let Value::Object(mut obj) = claims else {
            return Err(AuthError::claims_invalid("Parsing claims failed"));
        };

        let times = TimeClaims::extract(&obj)?;
        claims::check_audience(&obj, self.audience.as_deref())?;

        let role: Arc<str> = match self.role_path.lookup_in(&obj) {
            Some(Value::String(r)) if !r.is_empty() => r.as_str().into(),
            _ => match &self.anonymous {
                Some(anon) => anon.role.clone(),
                None => return Err(AuthError::AnonDisabled),
            },
        };
        obj.insert("role".to_owned(), Value::String(role.to_string()));
        Ok(Verified { role, claims: Value::Object(obj).to_string().into(), times })
    }
}

/// Mints an HS256 token for `claims` (used by `rowgate token` and tests).
pub fn mint_hs256(secret: &str, claims: &Value) -> String {
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(secret.as_bytes()))
        .expect("HS256 signing of a JSON value cannot fail")
}

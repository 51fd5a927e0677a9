//! Error types of the authentication module.
//!
//! Neither error type ever contains the presented token or the configured
//! secret / key material.

use std::borrow::Cow;

use crate::error::ClientError;

/// A request-time authentication failure, mapped to a PostgREST error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// PGRST300: a JWT was sent but the server has no JWT secret configured.
    #[error("Server lacks JWT secret")]
    SecretMissing,
    /// PGRST301: the token is malformed, uses an unsupported algorithm, has
    /// no matching key or its signature does not verify.
    #[error("{0}")]
    InvalidToken(Cow<'static, str>),
    /// PGRST302: no token was sent and anonymous access is disabled (or the
    /// token carries no role and there is no anonymous role to fall back to).
    #[error("Anonymous access is disabled")]
    AnonDisabled,
    /// PGRST303: the signature is valid but the claims are not acceptable
    /// (expired, not yet valid, wrong audience, malformed).
    #[error("{0}")]
    ClaimsInvalid(Cow<'static, str>),
}

/// 500 for a missing server secret, 401 otherwise; the message never contains the token or
/// the secret.
impl ClientError for AuthError {
    fn status(&self) -> u16 {
        match self {
            AuthError::SecretMissing => 500,
            _ => 401,
        }
    }

    fn code(&self) -> Cow<'_, str> {
        Cow::Borrowed(match self {
            AuthError::SecretMissing => "PGRST300",
            AuthError::InvalidToken(_) => "PGRST301",
            AuthError::AnonDisabled => "PGRST302",
            AuthError::ClaimsInvalid(_) => "PGRST303",
        })
    }

    fn headers(&self) -> Vec<(hyper::header::HeaderName, String)> {
        self.www_authenticate().map(|w| (hyper::header::WWW_AUTHENTICATE, w)).into_iter().collect()
    }
}

impl AuthError {
    /// Value for the `WWW-Authenticate` response header, if one must be sent.
    pub fn www_authenticate(&self) -> Option<String> {
        match self {
            AuthError::SecretMissing => None,
            AuthError::AnonDisabled => Some("Bearer".to_owned()),
            AuthError::InvalidToken(msg) | AuthError::ClaimsInvalid(msg) => {
                Some(format!("Bearer error=\"invalid_token\", error_description=\"{}\"", escape_quoted(msg)))
            }
        }
    }

    pub(crate) fn invalid_token(msg: &'static str) -> Self {
        AuthError::InvalidToken(Cow::Borrowed(msg))
    }

    pub(crate) fn claims_invalid(msg: &'static str) -> Self {
        AuthError::ClaimsInvalid(Cow::Borrowed(msg))
    }
}

/// Escapes `"` and `\` for use inside an RFC 7230 quoted-string.
fn escape_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A startup configuration error. Its `Display` is a single line naming the
/// offending environment variable, what is wrong and how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// `@path` was given but the file cannot be read.
    #[error(
        "ROWGATE_JWT_SECRET points to file {path:?} which cannot be read ({reason}); \
         fix the path after '@' or the file permissions"
    )]
    SecretFileUnreadable { path: String, reason: String },

    /// `@path` was given but the file is empty (after trimming).
    #[error(
        "ROWGATE_JWT_SECRET points to file {path:?} which is empty; put an HS256 secret \
         (at least 32 characters), a JWK or a JWKS into that file"
    )]
    SecretFileEmpty { path: String },

    /// A plain HS256 secret shorter than 32 characters.
    #[error(
        "ROWGATE_JWT_SECRET{origin} is too short ({len} characters); an HS256 secret must be \
         at least 32 characters, use a longer random value (e.g. `openssl rand -base64 48`)"
    )]
    SecretTooShort { len: usize, origin: String },

    /// The secret starts with `{` but is not valid JSON.
    #[error(
        "ROWGATE_JWT_SECRET{origin} starts with '{{' but is not valid JSON (syntax error at \
         line {line}, column {column}); provide a valid JWK or JWKS object, or a plain secret \
         of at least 32 characters"
    )]
    InvalidJson { line: usize, column: usize, origin: String },

    /// A JWK (or a JWKS entry) is malformed or unsupported.
    #[error(
        "ROWGATE_JWT_SECRET{origin} contains an unusable {what}: {reason}; fix the key \
         (supported: kty oct with HS256/HS384/HS512, kty RSA with RS*/PS*, kty EC with \
         P-256/ES256 or P-384/ES384)"
    )]
    InvalidJwk { what: String, reason: String, origin: String },

    /// A JWKS without a single usable signature-verification key.
    #[error(
        "ROWGATE_JWT_SECRET{origin} is a JWKS without any usable signing key; add at least one \
         key with kty oct (HS256), RSA (RS256) or EC P-256 (ES256) and use \"sig\""
    )]
    NoUsableKeys { origin: String },

    /// `ROWGATE_JWT_SIGNING_KEY` cannot be used.
    #[error("ROWGATE_JWT_SIGNING_KEY is not usable: {reason}; generate one with `rowgate keys generate`")]
    InvalidSigningKey { reason: String },

    /// The role claim path cannot be parsed.
    #[error(
        "ROWGATE_JWT_ROLE_CLAIM {path:?} is not a valid role claim path ({reason}); use a path \
         like `role`, `.role`, `$.app.role` or `$.roles[0]`"
    )]
    InvalidRoleClaim { path: String, reason: String },
}

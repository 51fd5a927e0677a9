//! Extraction of the bearer token and inspection of the JOSE header.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::Algorithm;
use serde_json::Value;

use super::error::AuthError;
use super::keys::parse_alg;

/// Returns the bearer token of an `Authorization` header value, or `None`
/// when there is no header or it uses another scheme (e.g. `Basic`).
///
/// The scheme is matched case-insensitively. The returned token may be empty.
pub(crate) fn bearer_token(authorization: Option<&[u8]>) -> Option<&[u8]> {
    let value = authorization?.trim_ascii();
    let (scheme, rest) = match value.iter().position(|b| *b == b' ' || *b == b'\t') {
        Some(i) => (&value[..i], &value[i..]),
        None => (value, &[][..]),
    };
    if scheme.eq_ignore_ascii_case(b"bearer") {
        Some(rest.trim_ascii())
    } else {
        None
    }
}

/// Prefix of API tokens (`rg_` + 64 hex characters, minted by `api.create_api_token`).
pub(crate) const API_TOKEN_PREFIX: &[u8] = b"rg_";

/// The identity of an API token (`rg_…`), or `None` when `token` is not one. The value is not
/// checked here beyond being printable ASCII: the database's pre-request check decides.
pub(crate) fn api_token_identity(token: &[u8]) -> Result<Option<super::Identity>, AuthError> {
    if !token.starts_with(API_TOKEN_PREFIX) {
        return Ok(None);
    }
    if !token.iter().all(u8::is_ascii_graphic) {
        return Err(AuthError::invalid_token("Invalid API token"));
    }
    let token = std::str::from_utf8(token).map_err(|_| AuthError::invalid_token("Invalid API token"))?;
    let claims = serde_json::json!({ "role": "authenticated", "api_token": token });
    Ok(Some(super::Identity { role: "authenticated".into(), claims: claims.to_string().into(), has_token: true }))
}

/// Checks the token's overall shape: non-empty, three dot-separated parts,
/// valid UTF-8. Returns the token as `&str`.
pub(crate) fn check_shape(token: &[u8]) -> Result<&str, AuthError> {
    if token.is_empty() {
        return Err(AuthError::invalid_token("Empty JWT is sent in Authorization header"));
    }
    let parts = token.split(|b| *b == b'.').count();
    if parts != 3 {
        return Err(AuthError::InvalidToken(format!("Expected 3 parts in JWT; got {parts}").into()));
    }
    std::str::from_utf8(token).map_err(|_| AuthError::invalid_token("Invalid JWT encoding"))
}

/// The header fields relevant for key selection.
#[derive(Debug)]
pub(crate) struct JoseHeader {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<String>,
}

/// Parses and validates the JOSE header of a token already checked by
/// [`check_shape`]. Also checks that the signature part is valid base64url
/// so that later decoding errors can only concern the payload.
pub(crate) fn parse_header(token: &str) -> Result<JoseHeader, AuthError> {
    let mut parts = token.split('.');
    let (Some(header_b64), Some(_payload), Some(signature_b64)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(AuthError::invalid_token("Invalid JWT header"));
    };

    let invalid_header = || AuthError::invalid_token("Invalid JWT header");
    let bytes = URL_SAFE_NO_PAD.decode(header_b64).map_err(|_| invalid_header())?;
    let Ok(Value::Object(header)) = serde_json::from_slice::<Value>(&bytes) else {
        return Err(invalid_header());
    };

    let alg = match header.get("alg") {
        Some(Value::String(name)) => {
            parse_alg(name).ok_or_else(|| AuthError::invalid_token("Wrong or unsupported encoding algorithm"))?
        }
        _ => return Err(AuthError::invalid_token("Wrong or unsupported encoding algorithm")),
    };
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return Err(invalid_header()),
    };
    // RFC 7515 4.1.11: we understand no extensions, so any "crit" is fatal.
    if header.contains_key("crit") {
        return Err(AuthError::invalid_token("Unsupported critical JWT header parameter"));
    }
    // The verification library must be able to read the header as well.
    if jsonwebtoken::decode_header(token).is_err() {
        return Err(invalid_header());
    }
    if URL_SAFE_NO_PAD.decode(signature_b64).is_err() {
        return Err(AuthError::invalid_token("JWT cryptographic operation failed"));
    }
    Ok(JoseHeader { alg, kid })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ClientError;

    #[test]
    fn bearer_scheme_parsing() {
        assert_eq!(bearer_token(None), None);
        assert_eq!(bearer_token(Some(b"")), None);
        assert_eq!(bearer_token(Some(b"Bearer abc")), Some(&b"abc"[..]));
        assert_eq!(bearer_token(Some(b"bEaReR   abc  ")), Some(&b"abc"[..]));
        assert_eq!(bearer_token(Some(b"Bearer")), Some(&b""[..]));
        assert_eq!(bearer_token(Some(b"Bearer ")), Some(&b""[..]));
        assert_eq!(bearer_token(Some(b"Basic dXNlcjpwYXNz")), None);
        assert_eq!(bearer_token(Some(b"Bearerabc")), None);
    }

    #[test]
    fn api_tokens_are_passed_on_unverified() {
        assert!(api_token_identity(b"a.b.c").unwrap().is_none());
        let id = api_token_identity(b"rg_abc\"x").unwrap().unwrap();
        assert_eq!(&*id.role, "authenticated");
        assert!(id.has_token);
        let claims: Value = serde_json::from_str(&id.claims).unwrap();
        assert_eq!(claims, serde_json::json!({"role": "authenticated", "api_token": "rg_abc\"x"}));
        assert_eq!(api_token_identity(b"rg_a\xffb").unwrap_err().code(), "PGRST301");
    }

    #[test]
    fn shape_checks() {
        assert_eq!(check_shape(b"").unwrap_err().message(), "Empty JWT is sent in Authorization header");
        assert_eq!(check_shape(b"a.b").unwrap_err().message(), "Expected 3 parts in JWT; got 2");
        assert_eq!(check_shape(b"a.b.c.d").unwrap_err().message(), "Expected 3 parts in JWT; got 4");
        assert_eq!(check_shape(b"a.b.c").unwrap(), "a.b.c");
        assert_eq!(check_shape(b"a.\xff.c").unwrap_err().code(), "PGRST301");
    }
}

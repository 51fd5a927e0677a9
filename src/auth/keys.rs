//! Parsing of `ROWGATE_JWT_SECRET` into a set of verification keys.
//!
//! Every key is pinned to exactly one algorithm; the token header can only
//! select among keys, never change the algorithm a key is used with.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use super::error::KeyError;

/// Minimum length (in characters) of a plain HS256 secret.
pub const MIN_SECRET_CHARS: usize = 32;

/// One verification key with its pinned algorithm.
pub(crate) struct VerifyKey {
    pub(crate) kid: Option<String>,
    pub(crate) alg: Algorithm,
    pub(crate) key: DecodingKey,
    /// Signature-only validation for `alg` (all claim checks are ours).
    pub(crate) validation: Validation,
}

impl std::fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("VerifyKey").field("kid", &self.kid).field("alg", &self.alg).finish_non_exhaustive()
    }
}

impl VerifyKey {
    fn new(kid: Option<String>, alg: Algorithm, key: DecodingKey) -> Self {
        let mut validation = Validation::new(alg);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        validation.leeway = 0;
        VerifyKey { kid, alg, key, validation }
    }
}

/// Maps a JWS `alg` name to a supported signature algorithm.
///
/// `none`, `EdDSA` and anything unknown yield `None`.
pub(crate) fn parse_alg(name: &str) -> Option<Algorithm> {
    Some(match name {
        "HS256" => Algorithm::HS256,
        "HS384" => Algorithm::HS384,
        "HS512" => Algorithm::HS512,
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        _ => return None,
    })
}

/// Loads the keys described by the raw `ROWGATE_JWT_SECRET` value.
///
/// Returns `Ok(None)` when the value is empty (treated like "not set").
pub(crate) fn load(secret: &str) -> Result<Option<Vec<VerifyKey>>, KeyError> {
    if secret.is_empty() {
        return Ok(None);
    }
    if let Some(path) = secret.strip_prefix('@') {
        let path = path.trim();
        let text = std::fs::read_to_string(path)
            .map_err(|e| KeyError::SecretFileUnreadable { path: path.to_owned(), reason: e.to_string() })?;
        let content = text.trim();
        if content.is_empty() {
            return Err(KeyError::SecretFileEmpty { path: path.to_owned() });
        }
        let origin = format!(" (read from file {path:?})");
        parse_secret(content, &origin).map(Some)
    } else {
        parse_secret(secret, "").map(Some)
    }
}

/// Applies the secret forms (plain / JWK / JWKS) to `text`.
fn parse_secret(text: &str, origin: &str) -> Result<Vec<VerifyKey>, KeyError> {
    if !text.trim_start().starts_with('{') {
        let len = text.chars().count();
        if len < MIN_SECRET_CHARS {
            return Err(KeyError::SecretTooShort { len, origin: origin.to_owned() });
        }
        let key = DecodingKey::from_secret(text.as_bytes());
        return Ok(vec![VerifyKey::new(None, Algorithm::HS256, key)]);
    }

    // Only report the position of a syntax error: serde_json messages for
    // other error classes could quote parts of the (secret) input.
    let value: Value = serde_json::from_str(text).map_err(|e| KeyError::InvalidJson {
        line: e.line(),
        column: e.column(),
        origin: origin.to_owned(),
    })?;
    let Value::Object(obj) = value else {
        // Unreachable for text starting with '{', kept for robustness.
        return Err(KeyError::InvalidJwk {
            what: "JWK".to_owned(),
            reason: "not a JSON object".to_owned(),
            origin: origin.to_owned(),
        });
    };

    if let Some(keys) = obj.get("keys") {
        let Value::Array(entries) = keys else {
            return Err(KeyError::InvalidJwk {
                what: "JWKS".to_owned(),
                reason: "\"keys\" is not an array".to_owned(),
                origin: origin.to_owned(),
            });
        };
        let mut out = Vec::with_capacity(entries.len());
        for (i, entry) in entries.iter().enumerate() {
            let what = || format!("JWKS entry #{}", i + 1);
            let Value::Object(jwk) = entry else {
                return Err(KeyError::InvalidJwk {
                    what: what(),
                    reason: "not a JSON object".to_owned(),
                    origin: origin.to_owned(),
                });
            };
            match parse_jwk(jwk) {
                Ok(Jwk::Key(k)) => out.push(*k),
                // A JWKS may legitimately contain keys we do not use
                // (encryption keys, other curves, ...): skip those.
                Ok(Jwk::Skip(_)) => {}
                Err(reason) => return Err(KeyError::InvalidJwk { what: what(), reason, origin: origin.to_owned() }),
            }
        }
        if out.is_empty() {
            return Err(KeyError::NoUsableKeys { origin: origin.to_owned() });
        }
        Ok(out)
    } else {
        match parse_jwk(&obj) {
            Ok(Jwk::Key(k)) => Ok(vec![*k]),
            Ok(Jwk::Skip(reason)) | Err(reason) => {
                Err(KeyError::InvalidJwk { what: "JWK".to_owned(), reason, origin: origin.to_owned() })
            }
        }
    }
}

/// Outcome of parsing one JWK.
enum Jwk {
    Key(Box<VerifyKey>),
    /// Well-formed but not usable for JWT signature verification.
    Skip(String),
}

fn opt_str<'a>(jwk: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, String> {
    match jwk.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("\"{name}\" is not a string")),
    }
}

fn req_b64(jwk: &Map<String, Value>, name: &str) -> Result<Vec<u8>, String> {
    let s = opt_str(jwk, name)?.ok_or_else(|| format!("missing \"{name}\""))?;
    let bytes =
        URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).map_err(|_| format!("\"{name}\" is not valid base64url"))?;
    if bytes.is_empty() {
        return Err(format!("\"{name}\" is empty"));
    }
    Ok(bytes)
}

fn parse_jwk(jwk: &Map<String, Value>) -> Result<Jwk, String> {
    let kty = opt_str(jwk, "kty")?.ok_or("missing \"kty\"")?;
    let kid = opt_str(jwk, "kid")?.map(str::to_owned);

    if let Some(usage) = opt_str(jwk, "use")? {
        if usage != "sig" {
            return Ok(Jwk::Skip(format!("key use is {usage:?}, not \"sig\"")));
        }
    }
    if let Some(ops) = jwk.get("key_ops") {
        let Value::Array(ops) = ops else {
            return Err("\"key_ops\" is not an array".to_owned());
        };
        if !ops.iter().any(|op| op.as_str() == Some("verify")) {
            return Ok(Jwk::Skip("\"key_ops\" does not allow \"verify\"".to_owned()));
        }
    }
    let declared_alg = match opt_str(jwk, "alg")? {
        None => None,
        Some(name) => match parse_alg(name) {
            Some(alg) => Some(alg),
            None => {
                return Ok(Jwk::Skip(format!("unsupported \"alg\" {name:?} (not a supported JWS signature algorithm)")))
            }
        },
    };
    let check_alg = |allowed: &[Algorithm], default: Algorithm| -> Result<Algorithm, String> {
        match declared_alg {
            None => Ok(default),
            Some(alg) if allowed.contains(&alg) => Ok(alg),
            Some(alg) => Err(format!(
                "\"alg\" {alg:?} is inconsistent with \"kty\" {kty:?}{}",
                jwk.get("crv").and_then(Value::as_str).map(|c| format!(" / \"crv\" {c:?}")).unwrap_or_default()
            )),
        }
    };

    match kty {
        "oct" => {
            let alg = check_alg(&[Algorithm::HS256, Algorithm::HS384, Algorithm::HS512], Algorithm::HS256)?;
            let secret = req_b64(jwk, "k")?;
            // RFC 7518 3.2: the key must be at least as long as the hash output.
            let min = match alg {
                Algorithm::HS384 => 48,
                Algorithm::HS512 => 64,
                _ => 32,
            };
            if secret.len() < min {
                return Err(format!("\"k\" is {} bytes but {alg:?} needs at least {min} bytes", secret.len()));
            }
            Ok(Jwk::Key(Box::new(VerifyKey::new(kid, alg, DecodingKey::from_secret(&secret)))))
        }
        "RSA" => {
            let alg = check_alg(
                &[
                    Algorithm::RS256,
                    Algorithm::RS384,
                    Algorithm::RS512,
                    Algorithm::PS256,
                    Algorithm::PS384,
                    Algorithm::PS512,
                ],
                Algorithm::RS256,
            )?;
            let n = req_b64(jwk, "n")?;
            let e = req_b64(jwk, "e")?;
            let bits = significant_bits(&n);
            if !(2048..=8192).contains(&bits) {
                return Err(format!("RSA modulus is {bits} bits; 2048 to 8192 bits are supported"));
            }
            Ok(Jwk::Key(Box::new(VerifyKey::new(kid, alg, DecodingKey::from_rsa_raw_components(&n, &e)))))
        }
        "EC" => {
            let crv = opt_str(jwk, "crv")?.ok_or("missing \"crv\"")?;
            let (alg, coord_len) = match crv {
                "P-256" => (check_alg(&[Algorithm::ES256], Algorithm::ES256)?, 32),
                "P-384" => (check_alg(&[Algorithm::ES384], Algorithm::ES384)?, 48),
                other => return Ok(Jwk::Skip(format!("unsupported EC curve {other:?}"))),
            };
            let x = req_b64(jwk, "x")?;
            let y = req_b64(jwk, "y")?;
            if x.len() != coord_len || y.len() != coord_len {
                return Err(format!("\"x\"/\"y\" must be {coord_len} bytes each for curve {crv}"));
            }
            let key = DecodingKey::from_ec_components(&URL_SAFE_NO_PAD.encode(&x), &URL_SAFE_NO_PAD.encode(&y))
                .map_err(|_| "invalid EC coordinates".to_owned())?;
            Ok(Jwk::Key(Box::new(VerifyKey::new(kid, alg, key))))
        }
        other => Ok(Jwk::Skip(format!("unsupported \"kty\" {other:?} (supported: oct, RSA, EC)"))),
    }
}

/// Bit length of a big-endian unsigned integer.
fn significant_bits(be: &[u8]) -> usize {
    match be.iter().position(|&b| b != 0) {
        None => 0,
        Some(i) => (be.len() - i - 1) * 8 + (8 - be[i].leading_zeros() as usize),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn significant_bits_counts_leading_zeros() {
        assert_eq!(significant_bits(&[]), 0);
        assert_eq!(significant_bits(&[0, 0]), 0);
        assert_eq!(significant_bits(&[0, 1]), 1);
        assert_eq!(significant_bits(&[0x80, 0]), 16);
        assert_eq!(significant_bits(&[0, 0x7f, 0xff]), 15);
    }

    #[test]
    fn alg_names() {
        assert_eq!(parse_alg("HS256"), Some(Algorithm::HS256));
        assert_eq!(parse_alg("ES256"), Some(Algorithm::ES256));
        assert_eq!(parse_alg("none"), None);
        assert_eq!(parse_alg("hs256"), None);
        assert_eq!(parse_alg("EdDSA"), None);
    }
}

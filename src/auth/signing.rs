//! The key `/auth/v1` signs access tokens with (`ROWGATE_JWT_SIGNING_KEY`): an ES256 private JWK
//! with a `kid` (as `rowgate keys generate` prints), an EC P-256 or RSA PKCS#8 PEM (ES256, RS256),
//! or an `oct` JWK (HS256). Its public half (none for HS256) is trusted and published as the JWKS.

use aws_lc_rs::encoding::AsBigEndian;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use super::error::KeyError;

pub struct SigningKey {
    /// In every token's header; `None` for `ROWGATE_JWT_SECRET` used as the signing key.
    pub kid: Option<String>,
    alg: Algorithm,
    encoding: EncodingKey,
    /// `{"kty":"EC","crv":"P-256","x":..,"y":..,"kid":..,"alg":"ES256","use":"sig"}` (or RSA);
    /// for HS256 the secret itself, never published.
    pub public_jwk: Value,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("kid", &self.kid).finish_non_exhaustive()
    }
}

fn bad(reason: impl Into<String>) -> KeyError {
    KeyError::InvalidSigningKey { reason: reason.into() }
}

impl SigningKey {
    /// Parses a private JWK (EC P-256 with `d`), a PKCS#8 PEM, or `@path` to either.
    pub fn parse(text: &str) -> Result<SigningKey, KeyError> {
        let text = match text.strip_prefix('@') {
            Some(path) => std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read {path}: {e}")))?,
            None => text.to_string(),
        };
        let text = text.trim();
        let (pair, kid) = if text.starts_with('{') {
            let jwk: Value = serde_json::from_str(text).map_err(|e| bad(format!("invalid JSON: {e}")))?;
            if jwk["kty"] == "oct" {
                return Self::hs256(&jwk);
            }
            if jwk["kty"] != "EC" || jwk["crv"] != "P-256" {
                return Err(bad("only EC P-256 (ES256) private JWKs are supported"));
            }
            let b64 = |k: &str| -> Result<Vec<u8>, KeyError> {
                let s = jwk[k].as_str().ok_or_else(|| bad(format!("missing \"{k}\"")))?;
                URL_SAFE_NO_PAD.decode(s).map_err(|_| bad(format!("\"{k}\" is not base64url")))
            };
            let (d, x, y) = (b64("d")?, b64("x")?, b64("y")?);
            let mut public = vec![4u8];
            public.extend_from_slice(&x);
            public.extend_from_slice(&y);
            let pair = EcdsaKeyPair::from_private_key_and_public_key(&ECDSA_P256_SHA256_FIXED_SIGNING, &d, &public)
                .map_err(|_| bad("the private and public parts do not form a P-256 key"))?;
            (pair, jwk["kid"].as_str().map(str::to_string))
        } else if text.contains("BEGIN PRIVATE KEY") {
            let der = pem_body(text)?;
            match EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der) {
                Ok(pair) => (pair, None),
                Err(_) => return Self::rs256(text, &der),
            }
        } else {
            return Err(bad("expected a private JWK or a PKCS#8 PEM; generate one with `rowgate keys generate`"));
        };
        Self::from_pair(pair, kid)
    }

    fn from_pair(pair: EcdsaKeyPair, kid: Option<String>) -> Result<SigningKey, KeyError> {
        let public = pair.public_key().as_ref().to_vec();
        if public.len() != 65 {
            return Err(bad("unexpected public key encoding"));
        }
        let (x, y) = (URL_SAFE_NO_PAD.encode(&public[1..33]), URL_SAFE_NO_PAD.encode(&public[33..65]));
        // Without a kid, name the key by its RFC 7638 thumbprint.
        let kid = kid.unwrap_or_else(|| thumbprint(&x, &y));
        let der = pair.to_pkcs8v1().map_err(|_| bad("cannot encode the key"))?;
        let encoding = EncodingKey::from_ec_der(der.as_ref());
        let public_jwk = json!({"kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": kid, "alg": "ES256", "use": "sig"});
        Ok(SigningKey { kid: Some(kid), alg: Algorithm::ES256, encoding, public_jwk })
    }

    /// An RSA PKCS#8 PEM: RS256, named by the thumbprint of its public key.
    fn rs256(pem: &str, der: &[u8]) -> Result<SigningKey, KeyError> {
        let pair = aws_lc_rs::rsa::KeyPair::from_pkcs8(der)
            .map_err(|_| bad("the PEM is neither an EC P-256 nor an RSA PKCS#8 private key"))?;
        let components: aws_lc_rs::rsa::PublicKeyComponents<Vec<u8>> = pair.public_key().into();
        let (n, e) = (URL_SAFE_NO_PAD.encode(&components.n), URL_SAFE_NO_PAD.encode(&components.e));
        let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes());
        let kid = URL_SAFE_NO_PAD.encode(&digest.as_ref()[..16]);
        let encoding = EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| bad(format!("unusable RSA key: {e}")))?;
        let public_jwk = json!({"kty": "RSA", "n": n, "e": e, "kid": kid, "alg": "RS256", "use": "sig"});
        Ok(SigningKey { kid: Some(kid), alg: Algorithm::RS256, encoding, public_jwk })
    }

    /// `{"kty":"oct","k":..,"kid":..}`: HS256 with a secret of at least 32 bytes.
    fn hs256(jwk: &Value) -> Result<SigningKey, KeyError> {
        let k = jwk["k"].as_str().ok_or_else(|| bad("missing \"k\""))?;
        let secret = URL_SAFE_NO_PAD.decode(k).map_err(|_| bad("\"k\" is not base64url"))?;
        if secret.len() < 32 {
            return Err(bad("an HS256 secret must be at least 32 bytes"));
        }
        let kid = jwk["kid"].as_str().ok_or_else(|| bad("an oct key needs a \"kid\""))?.to_string();
        let public_jwk = json!({"kty": "oct", "k": k, "kid": kid, "alg": "HS256", "use": "sig"});
        Ok(SigningKey {
            kid: Some(kid),
            alg: Algorithm::HS256,
            encoding: EncodingKey::from_secret(&secret),
            public_jwk,
        })
    }

    /// `ROWGATE_JWT_SECRET` as the signing key when it is a plain HS256 secret (or `@path` to
    /// one), as GoTrue signs with its JWT secret; `None` for a JWK or JWKS, which verification
    /// may hold only the public half of. The gateway already trusts the secret, so the key's
    /// `verification_jwks` is not needed for it.
    pub fn from_shared_secret(secret: &str) -> Option<SigningKey> {
        let text = match secret.trim().strip_prefix('@') {
            Some(path) => std::fs::read_to_string(path).ok()?,
            None => secret.to_string(),
        };
        let text = text.trim();
        if text.is_empty() || text.starts_with('{') {
            return None;
        }
        let public_jwk = json!({"kty": "oct", "k": URL_SAFE_NO_PAD.encode(text), "alg": "HS256", "use": "sig"});
        Some(SigningKey {
            kid: None,
            alg: Algorithm::HS256,
            encoding: EncodingKey::from_secret(text.as_bytes()),
            public_jwk,
        })
    }

    /// A new ES256 key as the private JWK text `ROWGATE_JWT_SIGNING_KEY` accepts.
    pub fn generate_jwk() -> Result<String, KeyError> {
        let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
            .map_err(|_| bad("key generation failed"))?;
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, doc.as_ref())
            .map_err(|_| bad("key generation failed"))?;
        let d = pair.private_key().as_be_bytes().map_err(|_| bad("key generation failed"))?;
        let key = Self::from_pair(pair, None)?;
        let mut jwk = key.public_jwk.clone();
        jwk["d"] = Value::String(URL_SAFE_NO_PAD.encode(d.as_ref()));
        Ok(jwk.to_string())
    }

    /// Signs `claims` with this key (`alg` ES256, `kid` in the header).
    pub fn sign(&self, claims: &Value) -> Result<String, KeyError> {
        let mut header = Header::new(self.alg);
        header.kid = self.kid.clone();
        jsonwebtoken::encode(&header, claims, &self.encoding).map_err(|e| bad(format!("signing failed: {e}")))
    }

    /// `{"keys":[<public JWK>]}` for `/.well-known/jwks.json`; empty for a shared secret.
    pub fn jwks(&self) -> Value {
        if self.alg == Algorithm::HS256 {
            return json!({ "keys": [] });
        }
        json!({ "keys": [self.public_jwk] })
    }

    /// What verification trusts: the public key, or for HS256 the secret itself.
    pub fn verification_jwks(&self) -> Value {
        json!({ "keys": [self.public_jwk] })
    }
}

fn pem_body(text: &str) -> Result<Vec<u8>, KeyError> {
    let b64: String = text.lines().filter(|l| !l.starts_with("-----")).collect::<Vec<_>>().join("");
    base64::engine::general_purpose::STANDARD.decode(b64.trim()).map_err(|_| bad("the PEM body is not base64"))
}

fn thumbprint(x: &str, y: &str) -> String {
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest.as_ref()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_round_trip_and_sign_verifiable_tokens() {
        let jwk_text = SigningKey::generate_jwk().unwrap();
        let jwk: Value = serde_json::from_str(&jwk_text).unwrap();
        assert_eq!((jwk["kty"].as_str(), jwk["alg"].as_str()), (Some("EC"), Some("ES256")));
        assert!(jwk["d"].is_string() && jwk["kid"].is_string());
        let key = SigningKey::parse(&jwk_text).unwrap();
        assert_eq!(key.kid.as_deref(), jwk["kid"].as_str());
        assert!(key.public_jwk.get("d").is_none(), "the public JWK must not carry the private part");
        let token = key.sign(&json!({"role": "authenticated", "sub": "u1"})).unwrap();
        // Verified by the same code path the gateway uses, through the published JWKS.
        let auth = crate::auth::Authenticator::new(crate::auth::AuthConfig {
            secret: Some(key.jwks().to_string()),
            ..Default::default()
        })
        .unwrap();
        let id = auth.authenticate(Some(format!("Bearer {token}").as_bytes()), 0).unwrap();
        assert_eq!(&*id.role, "authenticated");
    }

    fn verifies(key: &SigningKey) -> bool {
        let token = key.sign(&json!({"role": "authenticated"})).unwrap();
        let auth = crate::auth::Authenticator::new(crate::auth::AuthConfig {
            trusted_jwks: vec![key.verification_jwks().to_string()],
            ..Default::default()
        })
        .unwrap();
        auth.authenticate(Some(format!("Bearer {token}").as_bytes()), 0).is_ok()
    }

    #[test]
    fn rs256_and_hs256_keys_sign_too() {
        let rsa = SigningKey::parse(include_str!("testdata/rsa1_private.pem")).unwrap();
        assert_eq!(rsa.public_jwk["alg"], "RS256");
        assert!(rsa.public_jwk.get("d").is_none());
        assert!(verifies(&rsa));
        let k = URL_SAFE_NO_PAD.encode([7u8; 32]);
        let hs = SigningKey::parse(&json!({"kty": "oct", "k": k, "kid": "hs1"}).to_string()).unwrap();
        assert!(verifies(&hs));
        assert_eq!(hs.jwks(), json!({"keys": []}), "a shared secret is never published");
        let short = URL_SAFE_NO_PAD.encode([7u8; 8]);
        assert!(SigningKey::parse(&json!({"kty": "oct", "k": short, "kid": "x"}).to_string()).is_err());
    }

    #[test]
    fn a_plain_shared_secret_signs_without_a_kid_and_a_jwks_cannot() {
        let secret = "reallyreallyreallyreallyverysafe-rowgate";
        let key = SigningKey::from_shared_secret(secret).expect("a plain secret signs");
        assert_eq!(key.kid, None);
        let token = key.sign(&json!({"role": "authenticated"})).unwrap();
        let auth = crate::auth::Authenticator::new(crate::auth::AuthConfig {
            secret: Some(secret.into()),
            ..Default::default()
        })
        .unwrap();
        assert!(auth.authenticate(Some(format!("Bearer {token}").as_bytes()), 0).is_ok());
        assert_eq!(key.jwks(), json!({"keys": []}), "a shared secret is never published");
        let jwks = json!({"keys": [{"kty": "EC", "crv": "P-256", "x": "a", "y": "b"}]}).to_string();
        assert!(SigningKey::from_shared_secret(&jwks).is_none());
        assert!(SigningKey::from_shared_secret("@/nonexistent/secret").is_none());
    }

    #[test]
    fn pem_keys_get_a_thumbprint_kid() {
        let pem = include_str!("testdata/ec_private.pem");
        let key = SigningKey::parse(pem).unwrap();
        assert_eq!(key.kid.as_deref().map(str::len), Some(22));
        assert_eq!(SigningKey::parse(pem).unwrap().kid, key.kid, "stable");
    }

    #[test]
    fn bad_keys_are_refused_with_a_reason() {
        for bad in [
            "",
            "{}",
            "{\"kty\":\"RSA\"}",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
            "@/nonexistent",
        ] {
            let e = SigningKey::parse(bad).unwrap_err().to_string();
            assert!(e.contains("ROWGATE_JWT_SIGNING_KEY"), "{e}");
        }
    }
}

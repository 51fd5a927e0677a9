//! OpenID Connect relying party for `/auth/v1` sign-in with external providers: providers named
//! in `ROWGATE_EXTERNAL_PROVIDERS` (issuer, client id and secret), discovery of their endpoints
//! and keys (`/.well-known/openid-configuration`, then the JWKS; cached ten minutes, refetched
//! when a token names an unknown key), the authorization URL, the code exchange and the ID
//! token's signature, issuer, audience and expiry. Written on reqwest (already in the tree for
//! the tests) and jsonwebtoken's JWK support rather than the `openidconnect` crate, which would
//! bring oauth2, a second JOSE stack and its own HTTP client features for these three requests.
//! The nonce and every account decision are SQL's (functions/auth_oauth.sql).

mod error;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;

pub use error::OidcError;

/// One provider as configured.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// What `/authorize?provider=` names, and the identities' `provider`.
    pub name: String,
    /// The issuer URL; discovery reads `<issuer>/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// rowgate's `/auth/v1/callback` as registered at the provider; default: from the request.
    #[serde(default)]
    pub redirect_uri: Option<String>,
    /// Space-separated scopes; default `openid email profile`.
    #[serde(default)]
    pub scopes: Option<String>,
}

/// Parses `ROWGATE_EXTERNAL_PROVIDERS`: a JSON array of providers, or `@path` to a file of one.
pub fn parse_providers(text: &str) -> Result<Vec<ProviderConfig>, String> {
    let text = match text.trim().strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?,
        None => text.to_string(),
    };
    let providers: Vec<ProviderConfig> = serde_json::from_str(&text)
        .map_err(|e| format!("a JSON array of {{name, issuer, client_id, client_secret}} is expected: {e}"))?;
    for (i, p) in providers.iter().enumerate() {
        if p.name.is_empty()
            || !p.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        {
            return Err(format!("provider name {:?}: lowercase letters, digits, '-' and '_' only", p.name));
        }
        if providers[..i].iter().any(|q| q.name == p.name) {
            return Err(format!("provider {:?} is listed twice", p.name));
        }
        if !(p.issuer.starts_with("https://") || p.issuer.starts_with("http://")) {
            return Err(format!("provider {:?}: the issuer must be an http(s) URL", p.name));
        }
        if p.client_id.is_empty() {
            return Err(format!("provider {:?}: client_id is empty", p.name));
        }
    }
    Ok(providers)
}

/// What discovery found.
#[derive(Debug)]
pub struct Discovered {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    jwks: JwkSet,
    fetched: Instant,
}

#[derive(Deserialize)]
struct Metadata {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

const CACHE_FOR: Duration = Duration::from_secs(600);

fn cache() -> &'static Mutex<HashMap<String, Arc<Discovered>>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Discovered>>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

fn client() -> Result<&'static reqwest::Client, OidcError> {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    if let Some(c) = CLIENT.get() {
        return Ok(c);
    }
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    let tls = rustls::ClientConfig::builder_with_provider(crate::tls::provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| OidcError::Setup(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let c = reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| OidcError::Setup(e.to_string()))?;
    Ok(CLIENT.get_or_init(|| c))
}

async fn get_json<T: serde::de::DeserializeOwned>(url: &str) -> Result<T, OidcError> {
    let resp = client()?.get(url).send().await.map_err(|e| OidcError::Unreachable(format!("{url}: {e}")))?;
    if !resp.status().is_success() {
        return Err(OidcError::Unreachable(format!("{url}: HTTP {}", resp.status())));
    }
    resp.json().await.map_err(|e| OidcError::Unreachable(format!("{url}: {e}")))
}

/// The provider's endpoints and keys, from the cache unless `refresh` or stale.
pub async fn discover(p: &ProviderConfig, refresh: bool) -> Result<Arc<Discovered>, OidcError> {
    if !refresh {
        let cached = cache().lock().ok().and_then(|c| c.get(&p.issuer).cloned());
        if let Some(d) = cached.filter(|d| d.fetched.elapsed() < CACHE_FOR) {
            return Ok(d);
        }
    }
    let base = p.issuer.trim_end_matches('/');
    let meta: Metadata = get_json(&format!("{base}/.well-known/openid-configuration")).await?;
    if meta.issuer.trim_end_matches('/') != base {
        return Err(OidcError::Unreachable(format!("discovery names issuer {:?}, not {:?}", meta.issuer, p.issuer)));
    }
    let jwks: JwkSet = get_json(&meta.jwks_uri).await?;
    let d = Arc::new(Discovered {
        issuer: meta.issuer,
        authorization_endpoint: meta.authorization_endpoint,
        token_endpoint: meta.token_endpoint,
        jwks,
        fetched: Instant::now(),
    });
    if let Ok(mut c) = cache().lock() {
        c.insert(p.issuer.clone(), d.clone());
    }
    Ok(d)
}

/// Where the browser goes: the provider's authorization endpoint with our client, callback,
/// state, nonce and PKCE challenge, plus the caller's extra parameters (`login_hint`, …).
pub fn authorization_url(d: &Discovered, p: &ProviderConfig, a: &AuthorizationRequest<'_>) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in a.extra {
        q.append_pair(k, v);
    }
    q.append_pair("response_type", "code")
        .append_pair("client_id", &p.client_id)
        .append_pair("redirect_uri", a.redirect_uri)
        .append_pair("scope", a.scopes)
        .append_pair("state", a.state)
        .append_pair("nonce", a.nonce)
        .append_pair("code_challenge", &s256(a.verifier))
        .append_pair("code_challenge_method", "S256");
    let sep = if d.authorization_endpoint.contains('?') { '&' } else { '?' };
    format!("{}{sep}{}", d.authorization_endpoint, q.finish())
}

pub struct AuthorizationRequest<'a> {
    pub redirect_uri: &'a str,
    pub scopes: &'a str,
    pub state: &'a str,
    pub nonce: &'a str,
    pub verifier: &'a str,
    /// Query parameters of `/authorize` passed on, the ones above excluded by the caller.
    pub extra: &'a [(String, String)],
}

/// The parameters a caller may not pass on to the provider (rowgate sets them).
pub const RESERVED: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "response_mode",
    "request",
    "request_uri",
];

fn s256(verifier: &str) -> String {
    use base64::Engine;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref())
}

#[derive(Deserialize)]
struct TokenAnswer {
    id_token: Option<String>,
}

/// Exchanges the provider's code (client_secret_basic, with our PKCE verifier) and verifies the
/// ID token it answers; its claims.
pub async fn exchange(p: &ProviderConfig, code: &str, redirect_uri: &str, verifier: &str) -> Result<Value, OidcError> {
    let d = discover(p, false).await?;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("code_verifier", verifier),
    ];
    // RFC 6749 §2.3.1: the id and secret are form-urlencoded before Basic encoding.
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let resp = client()?
        .post(&d.token_endpoint)
        .basic_auth(enc(&p.client_id), Some(enc(&p.client_secret)))
        .form(&form)
        .send()
        .await
        .map_err(|e| OidcError::Unreachable(format!("{}: {e}", d.token_endpoint)))?;
    let status = resp.status();
    if !status.is_success() {
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        let why = body.get("error_description").or(body.get("error")).and_then(Value::as_str).unwrap_or("");
        return Err(OidcError::CodeRefused(format!("HTTP {status} {why}")));
    }
    let answer: TokenAnswer = resp.json().await.map_err(|e| OidcError::CodeRefused(e.to_string()))?;
    let token = answer.id_token.ok_or_else(|| OidcError::IdToken("the provider answered no id_token".into()))?;
    match verify_id_token(&d, p, &token) {
        Err(OidcError::UnknownKey) => verify_id_token(&*discover(p, true).await?, p, &token),
        other => other,
    }
}

/// Signature by a key of the provider's JWKS (asymmetric algorithms only), issuer, audience
/// (our client id) and expiry, with a minute of leeway.
pub fn verify_id_token(d: &Discovered, p: &ProviderConfig, token: &str) -> Result<Value, OidcError> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| OidcError::IdToken(e.to_string()))?;
    let asymmetric = [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ];
    if !asymmetric.contains(&header.alg) {
        return Err(OidcError::IdToken(format!("algorithm {:?} is not accepted", header.alg)));
    }
    let jwk = match &header.kid {
        Some(kid) => d.jwks.find(kid).ok_or(OidcError::UnknownKey)?,
        None if d.jwks.keys.len() == 1 => &d.jwks.keys[0],
        None => return Err(OidcError::IdToken("the token names no key and the JWKS has several".into())),
    };
    let key = DecodingKey::from_jwk(jwk).map_err(|e| OidcError::IdToken(e.to_string()))?;
    let mut v = Validation::new(header.alg);
    v.set_issuer(&[&d.issuer]);
    v.set_audience(&[&p.client_id]);
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    v.leeway = 60;
    let data = jsonwebtoken::decode::<Value>(token, &key, &v).map_err(|e| OidcError::IdToken(e.to_string()))?;
    Ok(data.claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_parse_and_bad_ones_are_refused() {
        let ok = r#"[{"name":"corp","issuer":"https://id.example.com","client_id":"c","client_secret":"s"}]"#;
        assert_eq!(parse_providers(ok).unwrap()[0].name, "corp");
        for bad in [
            "{}",
            r#"[{"name":"Corp","issuer":"https://x","client_id":"c","client_secret":"s"}]"#,
            r#"[{"name":"c","issuer":"ftp://x","client_id":"c","client_secret":"s"}]"#,
            r#"[{"name":"c","issuer":"https://x","client_id":"","client_secret":"s"}]"#,
            r#"[{"name":"c","issuer":"https://x","client_id":"c","client_secret":"s","extra":1}]"#,
            r#"[{"name":"c","issuer":"https://x","client_id":"c","client_secret":"s"},
                {"name":"c","issuer":"https://y","client_id":"c","client_secret":"s"}]"#,
        ] {
            assert!(parse_providers(bad).is_err(), "{bad}");
        }
    }

    fn provider_and_keys() -> (ProviderConfig, Discovered, crate::auth::signing::SigningKey) {
        use crate::auth::signing::SigningKey;
        let key = SigningKey::parse(&SigningKey::generate_jwk().unwrap()).unwrap();
        let jwks: JwkSet = serde_json::from_value(serde_json::json!({ "keys": [key.public_jwk] })).unwrap();
        let p = parse_providers(r#"[{"name":"c","issuer":"https://id.test","client_id":"me","client_secret":"s"}]"#)
            .unwrap()
            .remove(0);
        let d = Discovered {
            issuer: "https://id.test".into(),
            authorization_endpoint: "https://id.test/auth".into(),
            token_endpoint: "https://id.test/token".into(),
            jwks,
            fetched: Instant::now(),
        };
        (p, d, key)
    }

    #[test]
    fn id_tokens_are_checked_for_key_issuer_audience_expiry_and_algorithm() {
        let (p, d, key) = provider_and_keys();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let claims = |iss: &str, aud: &str, exp: u64| serde_json::json!({"iss": iss, "aud": aud, "sub": "u1", "exp": exp, "iat": now, "nonce": "n"});
        let good = key.sign(&claims("https://id.test", "me", now + 300)).unwrap();
        assert_eq!(verify_id_token(&d, &p, &good).unwrap()["sub"], "u1");
        for bad in [
            claims("https://other.test", "me", now + 300),
            claims("https://id.test", "someone-else", now + 300),
            claims("https://id.test", "me", now - 600),
        ] {
            let token = key.sign(&bad).unwrap();
            assert!(matches!(verify_id_token(&d, &p, &token), Err(OidcError::IdToken(_))), "{bad}");
        }
        // Signed by a key the provider does not publish.
        let (_, _, stranger) = provider_and_keys();
        let token = stranger.sign(&claims("https://id.test", "me", now + 300)).unwrap();
        assert!(matches!(verify_id_token(&d, &p, &token), Err(OidcError::UnknownKey)));
        // A symmetric algorithm is never accepted (no HS256 with the public key as secret).
        let hs = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(Algorithm::HS256),
            &claims("https://id.test", "me", now + 300),
            &jsonwebtoken::EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef"),
        )
        .unwrap();
        assert!(matches!(verify_id_token(&d, &p, &hs), Err(OidcError::IdToken(_))));
    }

    #[test]
    fn s256_is_rfc_7636s_example() {
        assert_eq!(s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }
}

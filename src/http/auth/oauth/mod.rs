//! OAuth / OpenID Connect sign-in, GoTrue's way with PKCE: `GET /authorize?provider=…` starts a
//! flow (SQL records it, the browser goes to the provider), `GET /callback` takes the provider's
//! code back (exchanged and the ID token verified in `crate::oidc`, the account decided in SQL)
//! and sends the browser to `redirect_to?code=…`, which the client exchanges at
//! `POST /token?grant_type=pkce` (in the parent module) for a session.

mod error;

use bytes::Bytes;
use hyper::header::{HeaderValue, HOST, LOCATION};
use hyper::http::request::Parts;
use hyper::{Response, StatusCode};
use serde_json::Value;

pub use error::OauthError;

use super::{call_auth, checked};
use crate::body::{full, Body};
use crate::error::{ApiError, ClientError};
use crate::oidc::{self, AuthorizationRequest, ProviderConfig};
use crate::sql::auth::AuthCall;
use crate::sql::auth_oauth::OauthCall;
use crate::state::AppState;

/// `GET /authorize`: a 302 to the provider, or a GoTrue error body.
pub(super) async fn authorize(state: &AppState, parts: &Parts) -> Response<Body> {
    begin(state, parts).await.unwrap_or_else(|e| ApiError::from(e).into_response())
}

/// `GET /callback`: always a 302, to `redirect_to?code=…` or with the error in the URL.
pub(super) async fn callback(state: &AppState, parts: &Parts, _body: &Bytes) -> Response<Body> {
    let query = query_of(parts);
    let mut back = state.config.auth_flows.site_url.clone();
    match finish(state, parts, &query, &mut back).await {
        Ok(location) => redirect(&location),
        Err(e) => redirect(&error_url(&back, &e)),
    }
}

fn query_of(parts: &Parts) -> Vec<(String, String)> {
    form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn provider<'a>(state: &'a AppState, name: &str) -> Result<&'a ProviderConfig, OauthError> {
    state
        .config
        .external_providers
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| OauthError::UnsupportedProvider(name.into()))
}

/// Where sign-in returns: `redirect_to` when the redirect allow-list accepts it (the site URL,
/// `ROWGATE_URI_ALLOW_LIST`: `super::redirect`), else the site URL, as GoTrue does for OAuth.
fn return_to(state: &AppState, redirect_to: Option<&str>) -> String {
    let flows = &state.config.auth_flows;
    super::redirect::target(flows, redirect_to).unwrap_or_else(|| flows.site_url.clone())
}

/// rowgate's callback as the provider knows it: the configured one, or this request's origin.
fn callback_uri(p: &ProviderConfig, parts: &Parts) -> String {
    if let Some(uri) = &p.redirect_uri {
        return uri.clone();
    }
    let host = parts.headers.get(HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let https = parts.headers.get("x-forwarded-proto").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
    format!("{}://{host}/auth/v1/callback", if https { "https" } else { "http" })
}

async fn begin(state: &AppState, parts: &Parts) -> Result<Response<Body>, OauthError> {
    let query = query_of(parts);
    let p = provider(state, param(&query, "provider").unwrap_or(""))?;
    let redirect_to = return_to(state, param(&query, "redirect_to"));
    let call = OauthCall::Begin {
        provider: p.name.clone(),
        redirect_to,
        code_challenge: param(&query, "code_challenge").unwrap_or("").to_string(),
        code_challenge_method: param(&query, "code_challenge_method").unwrap_or("").to_string(),
    };
    let flow = checked(call_auth(state, parts, None, AuthCall::Oauth(call)).await?)?;
    let d = oidc::discover(p, false).await?;
    let mine = ["provider", "redirect_to", "scopes", "code_challenge", "code_challenge_method", "skip_http_redirect"];
    let extra: Vec<(String, String)> = query
        .iter()
        .filter(|(k, _)| {
            let k = k.to_ascii_lowercase();
            !mine.contains(&k.as_str()) && !oidc::RESERVED.contains(&k.as_str())
        })
        .cloned()
        .collect();
    let mut scopes = p.scopes.clone().unwrap_or_else(|| "openid email profile".into());
    if let Some(more) = param(&query, "scopes").filter(|s| !s.trim().is_empty()) {
        scopes = format!("{scopes} {}", more.trim());
    }
    let text = |k: &str| flow[k].as_str().unwrap_or("").to_string();
    let (flow_state, nonce, verifier) = (text("state"), text("nonce"), text("provider_verifier"));
    let url = oidc::authorization_url(
        &d,
        p,
        &AuthorizationRequest {
            redirect_uri: &callback_uri(p, parts),
            scopes: &scopes,
            state: &flow_state,
            nonce: &nonce,
            verifier: &verifier,
            extra: &extra,
        },
    );
    Ok(redirect(&url))
}

/// The callback's work; `back` becomes the flow's `redirect_to` once the state is known.
async fn finish(
    state: &AppState,
    parts: &Parts,
    query: &[(String, String)],
    back: &mut String,
) -> Result<String, OauthError> {
    let flow_state = param(query, "state").ok_or(OauthError::StateMissing)?;
    if !super::is_uuid(flow_state) {
        return Err(OauthError::StateInvalid);
    }
    let flow = call_auth(state, parts, None, AuthCall::Oauth(OauthCall::State { state: flow_state.into() })).await?;
    if let Some(r) = flow.get("redirect_to").and_then(Value::as_str) {
        *back = r.to_string();
    }
    let flow = checked(flow)?;
    if let Some(error) = param(query, "error") {
        let description = param(query, "error_description").unwrap_or(error).to_string();
        return Err(OauthError::Provider { error: error.to_string(), description });
    }
    let code = param(query, "code").filter(|c| !c.is_empty()).ok_or(OauthError::CodeMissing)?;
    let p = provider(state, flow["provider"].as_str().unwrap_or(""))?;
    let verifier = flow["provider_verifier"].as_str().unwrap_or("");
    let claims = oidc::exchange(p, code, &callback_uri(p, parts), verifier).await?;
    let complete = OauthCall::Complete {
        state: flow_state.into(),
        claims: claims.to_string(),
        signup_enabled: state.config.auth_signup_enabled,
    };
    let done = checked(call_auth(state, parts, None, AuthCall::Oauth(complete)).await?)?;
    Ok(with_params(back, &[("code", done["auth_code"].as_str().unwrap_or(""))], false))
}

/// `url` with `params` added to its query (or, for `fragment`, its fragment).
fn with_params(url: &str, params: &[(&str, &str)], fragment: bool) -> String {
    let (base, frag) = url.split_once('#').map_or((url, None), |(b, f)| (b, Some(f)));
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        q.append_pair(k, v);
    }
    let added = q.finish();
    if fragment {
        return format!("{base}#{added}");
    }
    let sep = if base.contains('?') { '&' } else { '?' };
    match frag {
        Some(f) => format!("{base}{sep}{added}#{f}"),
        None => format!("{base}{sep}{added}"),
    }
}

/// GoTrue's error redirect: the error in the query and again in the fragment.
fn error_url(back: &str, e: &OauthError) -> String {
    let (oauth, code, description) = (e.oauth_error(), e.code().into_owned(), e.message());
    let mut params = vec![("error", oauth.as_str()), ("error_description", description.as_str())];
    if !matches!(e, OauthError::Provider { .. }) {
        params.push(("error_code", code.as_str()));
    }
    let url = with_params(back.split('#').next().unwrap_or(""), &params, false);
    with_params(&url, &params, true)
}

fn redirect(location: &str) -> Response<Body> {
    let mut resp = Response::new(full(""));
    *resp.status_mut() = StatusCode::FOUND;
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(LOCATION, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_errors_go_into_the_url() {
        assert_eq!(with_params("https://a.io/cb?x=1#f", &[("code", "c d")], false), "https://a.io/cb?x=1&code=c+d#f");
        let url = error_url("https://a.io/", &OauthError::StateInvalid);
        assert_eq!(
            url,
            "https://a.io/?error=invalid_request&error_description=OAuth+state+parameter+is+invalid&error_code=bad_oauth_state\
             #error=invalid_request&error_description=OAuth+state+parameter+is+invalid&error_code=bad_oauth_state"
        );
    }
}

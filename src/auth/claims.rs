//! Claim checks (time, audience) and the role claim JSON path.

use serde_json::{Map, Value};

use super::error::AuthError;

/// Clock skew tolerated for `exp`, `nbf` and `iat`, in seconds.
pub const LEEWAY_SECS: f64 = 30.0;

/// The time-related claims of a token (each optional).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct TimeClaims {
    pub(crate) exp: Option<f64>,
    pub(crate) nbf: Option<f64>,
    pub(crate) iat: Option<f64>,
}

impl TimeClaims {
    /// Extracts `exp`, `nbf` and `iat`; each must be a JSON number if present.
    pub(crate) fn extract(claims: &Map<String, Value>) -> Result<Self, AuthError> {
        Ok(TimeClaims { exp: numeric(claims, "exp")?, nbf: numeric(claims, "nbf")?, iat: numeric(claims, "iat")? })
    }

    /// Checks the claims against `now` (unix seconds) with [`LEEWAY_SECS`].
    pub(crate) fn check(&self, now: u64) -> Result<(), AuthError> {
        let now = now as f64;
        if let Some(exp) = self.exp {
            if now > exp + LEEWAY_SECS {
                return Err(AuthError::claims_invalid("JWT expired"));
            }
        }
        if let Some(nbf) = self.nbf {
            if now + LEEWAY_SECS < nbf {
                return Err(AuthError::claims_invalid("JWT not yet valid"));
            }
        }
        if let Some(iat) = self.iat {
            if now + LEEWAY_SECS < iat {
                return Err(AuthError::claims_invalid("JWT issued at future"));
            }
        }
        Ok(())
    }
}

fn numeric(claims: &Map<String, Value>, name: &'static str) -> Result<Option<f64>, AuthError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(v) if v.is_finite() => Ok(Some(v)),
            _ => Err(not_a_number(name)),
        },
        Some(_) => Err(not_a_number(name)),
    }
}

fn not_a_number(name: &'static str) -> AuthError {
    AuthError::claims_invalid(match name {
        "exp" => "JWT claim 'exp' must be a number",
        "nbf" => "JWT claim 'nbf' must be a number",
        _ => "JWT claim 'iat' must be a number",
    })
}

/// Audience rule: with a configured audience, an `aud` claim that is missing,
/// `null` or `[]` is accepted; a string must equal it; an array of strings
/// must contain it; anything else is rejected.
pub(crate) fn check_audience(claims: &Map<String, Value>, audience: Option<&str>) -> Result<(), AuthError> {
    let Some(expected) = audience else {
        return Ok(());
    };
    let ok = match claims.get("aud") {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s == expected,
        Some(Value::Array(items)) => {
            items.is_empty()
                || (items.iter().all(Value::is_string) && items.iter().any(|v| v.as_str() == Some(expected)))
        }
        Some(_) => false,
    };
    if ok {
        Ok(())
    } else {
        Err(AuthError::claims_invalid("JWT not in audience"))
    }
}

/// One step of a role claim path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// A parsed `ROWGATE_JWT_ROLE_CLAIM` path such as `role`, `.role`,
/// `$.app.role`, `$.roles[0]` or `$."https://example.com/role"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolePath {
    steps: Vec<Step>,
}

impl RolePath {
    /// Parses a role claim path; the error is a human-readable reason.
    pub fn parse(path: &str) -> Result<Self, String> {
        let s = path.trim();
        if s.is_empty() {
            return Err("the path is empty".to_owned());
        }
        let mut chars = s.chars().peekable();
        let mut steps = Vec::new();

        if chars.peek() == Some(&'$') {
            chars.next();
            match chars.peek() {
                None => return Err("'$' alone selects the whole claims object".to_owned()),
                Some('.') | Some('[') => {}
                Some(_) => return Err("'$' must be followed by '.' or '['".to_owned()),
            }
        } else if !matches!(chars.peek(), Some('.') | Some('[')) {
            // Leading bare key without a dot: `role`, `app.role`.
            steps.push(Step::Key(bare_key(&mut chars)?));
        }

        while let Some(c) = chars.next() {
            match c {
                '.' => {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        steps.push(Step::Key(quoted_key(&mut chars)?));
                    } else {
                        steps.push(Step::Key(bare_key(&mut chars)?));
                    }
                }
                '[' => {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        steps.push(Step::Key(quoted_key(&mut chars)?));
                    } else {
                        let mut digits = String::new();
                        while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                            digits.push(d);
                            chars.next();
                        }
                        let index =
                            digits.parse::<usize>().map_err(|_| "expected an array index like [0]".to_owned())?;
                        steps.push(Step::Index(index));
                    }
                    if chars.next() != Some(']') {
                        return Err("missing ']'".to_owned());
                    }
                }
                other => return Err(format!("unexpected character {other:?}")),
            }
        }
        Ok(RolePath { steps })
    }

    /// Follows the path through `claims`.
    pub fn lookup<'a>(&self, claims: &'a Value) -> Option<&'a Value> {
        follow(&self.steps, claims)
    }

    /// Follows the path through a claims object.
    pub fn lookup_in<'a>(&self, claims: &'a Map<String, Value>) -> Option<&'a Value> {
        match self.steps.split_first()? {
            (Step::Key(k), rest) => follow(rest, claims.get(k)?),
            (Step::Index(_), _) => None,
        }
    }
}

fn follow<'a>(steps: &[Step], start: &'a Value) -> Option<&'a Value> {
    steps.iter().try_fold(start, |v, step| match step {
        Step::Key(k) => v.as_object()?.get(k),
        Step::Index(i) => v.as_array()?.get(*i),
    })
}

fn bare_key(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<String, String> {
    let mut key = String::new();
    while let Some(&c) = chars.peek() {
        match c {
            '.' | '[' => break,
            ']' | '"' | '$' => return Err(format!("unexpected character {c:?} in key")),
            _ => {
                key.push(c);
                chars.next();
            }
        }
    }
    if key.is_empty() {
        Err("empty key (e.g. '..' or a trailing '.')".to_owned())
    } else {
        Ok(key)
    }
}

/// Reads a key after an opening `"` up to the closing `"`; `\"` and `\\`
/// are the only escapes.
fn quoted_key(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<String, String> {
    let mut key = String::new();
    loop {
        match chars.next() {
            None => return Err("unterminated quoted key".to_owned()),
            Some('"') => return Ok(key),
            Some('\\') => match chars.next() {
                Some(c @ ('"' | '\\')) => key.push(c),
                _ => return Err("invalid escape in quoted key".to_owned()),
            },
            Some(c) => key.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ClientError;
    use serde_json::json;

    fn steps(p: &str) -> Vec<Step> {
        RolePath::parse(p).unwrap().steps
    }

    #[test]
    fn parses_path_forms() {
        let role = vec![Step::Key("role".into())];
        assert_eq!(steps("role"), role);
        assert_eq!(steps(".role"), role);
        assert_eq!(steps("$.role"), role);
        assert_eq!(steps(" $.role "), role);
        assert_eq!(steps("$.a.b"), vec![Step::Key("a".into()), Step::Key("b".into())]);
        assert_eq!(steps("a.b"), vec![Step::Key("a".into()), Step::Key("b".into())]);
        assert_eq!(steps("$.roles[0]"), vec![Step::Key("roles".into()), Step::Index(0)]);
        assert_eq!(steps(".roles[12]"), vec![Step::Key("roles".into()), Step::Index(12)]);
        assert_eq!(steps("$.\"https://x.io/ro\\\"le\""), vec![Step::Key("https://x.io/ro\"le".into())]);
        assert_eq!(steps("$[\"a.b\"].c"), vec![Step::Key("a.b".into()), Step::Key("c".into())]);
    }

    #[test]
    fn rejects_bad_paths() {
        for p in ["", "$", "$role", "a..b", "a.", "[x]", "roles[0", "$.\"open", "a]", "[-1]"] {
            assert!(RolePath::parse(p).is_err(), "{p:?} should be rejected");
        }
    }

    #[test]
    fn lookup_follows_path() {
        let claims = json!({"role": "r", "app": {"role": "nested"}, "roles": ["first", "second"]});
        let get = |p: &str| {
            let path = RolePath::parse(p).unwrap();
            let via_map = path.lookup_in(claims.as_object().unwrap()).cloned();
            let via_value = path.lookup(&claims).cloned();
            assert_eq!(via_map, via_value);
            via_value
        };
        assert_eq!(get("role"), Some(json!("r")));
        assert_eq!(get("$.app.role"), Some(json!("nested")));
        assert_eq!(get(".roles[1]"), Some(json!("second")));
        assert_eq!(get(".roles[2]"), None);
        assert_eq!(get("$.app[0]"), None);
        assert_eq!(get("$.role.x"), None);
        assert_eq!(get("$[0]"), None);
    }

    #[test]
    fn time_checks_use_30s_leeway() {
        let now = 1_000_000u64;
        let t = |exp, nbf, iat| TimeClaims { exp, nbf, iat }.check(now);
        let n = now as f64;
        assert!(t(Some(n - 30.0), None, None).is_ok());
        assert!(t(Some(n - 30.5), None, None).is_err());
        assert!(t(None, Some(n + 30.0), None).is_ok());
        assert!(t(None, Some(n + 30.5), None).is_err());
        assert!(t(None, None, Some(n + 30.0)).is_ok());
        assert!(t(None, None, Some(n + 30.5)).is_err());
        assert!(t(None, None, None).is_ok());
    }

    #[test]
    fn numeric_claims_must_be_numbers() {
        let obj = |v: Value| v.as_object().unwrap().clone();
        assert!(TimeClaims::extract(&obj(json!({"exp": 1.5, "nbf": 2, "iat": 3}))).is_ok());
        for (claim, bad) in [("exp", json!("1")), ("nbf", json!(null)), ("iat", json!([1]))] {
            let err = TimeClaims::extract(&obj(json!({ claim: bad }))).unwrap_err();
            assert_eq!(err.message(), format!("JWT claim '{claim}' must be a number"));
            assert_eq!(err.code(), "PGRST303");
        }
    }
}

//! A binding's `filter` (realtime-js's classic seven: `eq neq lt lte gt gte in`), as
//! `column=op.value` or `column=in.(a,b,"c, d")`. Only the syntax is checked here; whether the
//! column exists, may be read by the subscriber and the values are of its type is checked by
//! PostgreSQL at join time (`realtime.subscribe`), and the comparison itself runs in PostgreSQL
//! with the column's own type (`realtime.filter_matches`).

/// At most this many values in one `in.(…)`, as Supabase.
pub const MAX_IN_VALUES: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Eq,
    Neq,
    Lt,
    Lte,
    Gt,
    Gte,
    In,
}

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::Neq => "neq",
            Op::Lt => "lt",
            Op::Lte => "lte",
            Op::Gt => "gt",
            Op::Gte => "gte",
            Op::In => "in",
        }
    }

    fn from_name(name: &str) -> Option<Op> {
        Some(match name {
            "eq" => Op::Eq,
            "neq" => Op::Neq,
            "lt" => Op::Lt,
            "lte" => Op::Lte,
            "gt" => Op::Gt,
            "gte" => Op::Gte,
            "in" => Op::In,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Filter {
    pub column: String,
    pub op: Op,
    /// One value, or the values of `in`.
    pub values: Vec<String>,
}

/// `Ok(None)` for an absent or blank filter; `Err` with the reason realtime-js users see in the
/// `postgres_changes` system error.
pub fn parse(raw: &str) -> Result<Option<Filter>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let fail = |why: &str| Err(format!("Error parsing `filter` params: {raw:?}: {why}"));
    let Some((column, rest)) = raw.split_once('=') else { return fail("expected column=operator.value") };
    let column = column.trim();
    if column.is_empty() {
        return fail("the column is empty");
    }
    let Some((op_name, value)) = rest.split_once('.') else { return fail("expected column=operator.value") };
    if op_name == "not" {
        return fail("`not.` is not supported (operators: eq, neq, lt, lte, gt, gte, in)");
    }
    let Some(op) = Op::from_name(op_name) else {
        return fail(&format!("unknown operator {op_name:?} (operators: eq, neq, lt, lte, gt, gte, in)"));
    };
    let values = if op == Op::In {
        let Some(inner) = value.strip_prefix('(').and_then(|v| v.strip_suffix(')')) else {
            return fail("`in` needs a parenthesised list: in.(a,b)");
        };
        let items = split_list(inner).or_else(|why| fail(&why).map(|_: Option<Filter>| Vec::new()))?;
        if items.is_empty() {
            return fail("`in` needs at least one value");
        }
        if items.len() > MAX_IN_VALUES {
            return fail(&format!("`in` takes at most {MAX_IN_VALUES} values"));
        }
        items
    } else {
        if !value.starts_with('"') && value.split(',').skip(1).any(looks_like_condition) {
            return fail("one condition per filter (conditions joined with commas are not supported)");
        }
        vec![unquote(value).or_else(|why| fail(&why).map(|_: Option<Filter>| String::new()))?]
    };
    Ok(Some(Filter { column: column.to_string(), op, values }))
}

/// `col=op.` after a comma: a second condition.
fn looks_like_condition(part: &str) -> bool {
    part.split_once('=').is_some_and(|(c, rest)| {
        !c.is_empty()
            && c.chars().all(|ch| ch.is_alphanumeric() || ch == '_')
            && rest.split_once('.').is_some_and(|(op, _)| Op::from_name(op).is_some() || op == "not")
    })
}

/// A value, unquoted when in double quotes (`\` escapes the next character).
fn unquote(v: &str) -> Result<String, String> {
    let Some(inner) = v.strip_prefix('"') else { return Ok(v.to_string()) };
    let Some(inner) = inner.strip_suffix('"') else { return Err("unterminated quoted value".into()) };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next().ok_or("a value ends in a backslash")?),
            '"' => return Err("a quote inside a quoted value must be escaped".into()),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// The items of `a, b,"c, d"`: split on commas outside double quotes, unquoted items trimmed.
fn split_list(inner: &str) -> Result<Vec<String>, String> {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in inner.chars() {
        match c {
            _ if escaped => {
                current.push(c);
                escaped = false;
            }
            '\\' if quoted => {
                current.push(c);
                escaped = true;
            }
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            ',' if !quoted => items.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    if quoted {
        return Err("unterminated quoted value".into());
    }
    items.push(current);
    items.into_iter().map(|i| unquote(i.trim())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(column: &str, op: Op, values: &[&str]) -> Option<Filter> {
        Some(Filter { column: column.into(), op, values: values.iter().map(|v| v.to_string()).collect() })
    }

    #[test]
    fn classic_operators() {
        assert_eq!(parse("org_id=eq.42").unwrap(), f("org_id", Op::Eq, &["42"]));
        assert_eq!(parse(" total=gte.100 ").unwrap(), f("total", Op::Gte, &["100"]));
        assert_eq!(parse("t=neq.a.b").unwrap(), f("t", Op::Neq, &["a.b"]), "only the first dot separates");
        assert_eq!(parse("t=eq.").unwrap(), f("t", Op::Eq, &[""]));
        assert_eq!(parse("name=eq.\"Smith, J\"").unwrap(), f("name", Op::Eq, &["Smith, J"]));
        assert_eq!(parse("").unwrap(), None);
        assert_eq!(parse("   ").unwrap(), None);
    }

    #[test]
    fn in_lists() {
        assert_eq!(parse("s=in.(open,paid)").unwrap(), f("s", Op::In, &["open", "paid"]));
        assert_eq!(parse("s=in.(red, blue , yellow)").unwrap(), f("s", Op::In, &["red", "blue", "yellow"]));
        assert_eq!(parse(r#"s=in.("a,b",c,"q\"x")"#).unwrap(), f("s", Op::In, &["a,b", "c", "q\"x"]));
        let many = format!("n=in.({})", (0..101).map(|i| i.to_string()).collect::<Vec<_>>().join(","));
        assert!(parse(&many).unwrap_err().contains("at most 100"));
    }

    #[test]
    fn refused() {
        for bad in ["total=foo.1", "s=in.a,b", "=eq.1", "noequals", "t=eq", "t=not.eq.1", "a=eq.1,b=eq.2", "s=in.(\"x)"]
        {
            let e = parse(bad).unwrap_err();
            assert!(e.starts_with("Error parsing `filter` params"), "{bad}: {e}");
        }
    }
}

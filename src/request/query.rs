//! Splits a query string into its parameters by purpose and parses each.

use super::ast::{DeferredParam, LogicOp, QueryParams, SelectItem};
use super::error::RequestError;
use super::filter::{parse_filter, parse_logic};
use super::order::parse_order;
use super::select::parse_select;
use crate::request::ast::Condition;

/// Parsed query parameters plus the raw `limit`/`offset` values (range handling needs them signed).
#[derive(Debug, Default)]
pub struct ParsedQuery {
    pub params: QueryParams,
    pub root_limit: Option<i64>,
    pub root_offset: Option<i64>,
}

pub fn parse_query(pairs: &[(String, String)]) -> Result<ParsedQuery, RequestError> {
    parse_query_with(pairs, false)
}

/// With `defer_plain`, undotted non-reserved keys are kept raw for the RPC planner.
pub fn parse_query_with(pairs: &[(String, String)], defer_plain: bool) -> Result<ParsedQuery, RequestError> {
    let mut out = ParsedQuery::default();
    let mut select: Option<Vec<SelectItem>> = None;
    for (key, value) in pairs {
        match key.as_str() {
            "select" => select = Some(parse_select(value)?),
            "columns" => out.params.columns = Some(name_list(value)),
            "on_conflict" => out.params.on_conflict = Some(name_list(value)),
            "order" | "limit" | "offset" | "and" | "or" => classify(&mut out, key, value)?,
            // Parsed as a filter now, whether or not it will be one: the planner only chooses.
            _ if defer_plain && !key.contains('.') => out.params.deferred.push(DeferredParam {
                key: key.clone(),
                value: value.clone(),
                filter: parse_filter(key, value).map(Condition::Filter),
            }),
            _ => classify(&mut out, key, value)?,
        }
    }
    out.params.select = select.unwrap_or_else(|| vec![SelectItem::Star]);
    Ok(out)
}

/// `a,b` or `"a","b,c"` (clients quote every name); quotes are removed, `\"` unescaped.
fn name_list(value: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => quoted = !quoted,
            '\\' if quoted => current.extend(chars.next()),
            ',' if !quoted => names.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    names.push(current);
    names.into_iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()
}

/// `[embed.]order|limit|offset|[not.]and|[not.]or`, otherwise `[embed.]column` filters.
fn classify(out: &mut ParsedQuery, key: &str, value: &str) -> Result<(), RequestError> {
    let segments: Vec<&str> = split_key(key);
    let (last, before) = match segments.split_last() {
        Some((l, b)) => (*l, b),
        None => return Ok(()),
    };
    let path = |n: usize| before[..n].iter().map(|s| s.to_string()).collect::<Vec<_>>();
    match last {
        "order" => out.params.order.push((path(before.len()), parse_order(value)?)),
        "limit" | "offset" => {
            let name = if last == "limit" { "limit" } else { "offset" };
            let n = super::range::parse_limit(name, value)?;
            let p = path(before.len());
            if p.is_empty() {
                if last == "limit" {
                    out.root_limit = Some(n);
                } else {
                    out.root_offset = Some(n);
                }
            }
            let v = n.max(0) as u64;
            if last == "limit" {
                out.params.limit.push((p, v));
            } else {
                out.params.offset.push((p, v));
            }
        }
        "and" | "or" => {
            let op = if last == "and" { LogicOp::And } else { LogicOp::Or };
            let negated = before.last() == Some(&"not");
            let n = before.len() - usize::from(negated);
            out.params.conditions.push((path(n), parse_logic(op, negated, value)?));
        }
        field => {
            let filter = parse_filter(field, value)?;
            out.params.conditions.push((path(before.len()), Condition::Filter(filter)));
        }
    }
    Ok(())
}

/// Splits on `.` outside double quotes.
fn split_key(key: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (i, c) in key.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '.' if !quoted => {
                parts.push(&key[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&key[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::ast::Condition;

    fn q(pairs: &[(&str, &str)]) -> Result<ParsedQuery, RequestError> {
        let owned: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        parse_query(&owned)
    }

    #[test]
    fn classifies_parameters() {
        let p = q(&[
            ("select", "id"),
            ("id", "eq.1"),
            ("or", "(a.eq.1,b.eq.2)"),
            ("not.and", "(a.eq.1)"),
            ("actors.order", "name"),
            ("limit", "5"),
            ("offset", "2"),
            ("actors.limit", "1"),
        ])
        .unwrap();
        assert_eq!(p.params.conditions.len(), 3);
        assert!(matches!(&p.params.conditions[2].1, Condition::Group { negated: true, .. }));
        assert_eq!(p.params.order[0].0, vec!["actors".to_string()]);
        assert_eq!((p.root_limit, p.root_offset), (Some(5), Some(2)));
        assert_eq!(p.params.limit.len(), 2);
    }

    #[test]
    fn quoted_column_lists() {
        assert_eq!(name_list("\"slug\",\"title\""), vec!["slug", "title"]);
        assert_eq!(name_list("a, b"), vec!["a", "b"]);
        assert_eq!(name_list("\"x,y\",z"), vec!["x,y", "z"]);
    }

    #[test]
    fn default_select_is_star() {
        assert_eq!(q(&[]).unwrap().params.select, vec![SelectItem::Star]);
    }

    #[test]
    fn bad_limit_is_pgrst100() {
        assert!(matches!(q(&[("limit", "x")]), Err(RequestError::InvalidParam { .. })));
    }

    #[test]
    fn embedded_filters_carry_their_path() {
        let p = q(&[("actors.name", "eq.x")]).unwrap();
        assert_eq!(p.params.conditions[0].0, vec!["actors".to_string()]);
    }
}

//! Horizontal filters: `col=[not.]op[(mod)].value` and `and`/`or` logic trees.

use super::ast::{Condition, Filter, FtsOperator, IsValue, LogicOp, Operation, Operator, Quantifier};
use super::cursor::Cursor;
use super::error::RequestError;
use super::field::parse_field;

const OPERATORS: &str = "expecting an operator (eq, neq, gt, gte, lt, lte, like, ilike, match, imatch, in, is, isdistinct, fts, plfts, phfts, wfts, cs, cd, ov, sl, sr, nxr, nxl, adj)";

/// Parses the value side of `col=...` for a top-level filter. The value runs to the end.
pub fn parse_filter(field_text: &str, value: &str) -> Result<Filter, RequestError> {
    let mut fc = Cursor::new(field_text, "filter");
    let field = parse_field(&mut fc)?;
    if !fc.at_end() {
        return Err(fc.error("expecting end of column name"));
    }
    let mut c = Cursor::new(value, "filter");
    let (negated, operation) = parse_operation(&mut c, false)?;
    Ok(Filter { field, negated, operation })
}

/// Parses `(cond,cond,...)` of an `and=`/`or=` parameter.
pub fn parse_logic(op: LogicOp, negated: bool, value: &str) -> Result<Condition, RequestError> {
    let mut c = Cursor::new(value, "logic tree");
    let children = logic_children(&mut c)?;
    if !c.at_end() {
        return Err(c.error("expecting end of input"));
    }
    Ok(Condition::Group { op, negated, children })
}

fn logic_children(c: &mut Cursor) -> Result<Vec<Condition>, RequestError> {
    c.expect("(")?;
    c.descend()?;
    let mut children = Vec::new();
    loop {
        children.push(logic_condition(c)?);
        c.skip_spaces();
        if c.eat(",") {
            continue;
        }
        c.expect(")")?;
        c.ascend();
        return Ok(children);
    }
}

fn logic_condition(c: &mut Cursor) -> Result<Condition, RequestError> {
    c.skip_spaces();
    let negated = c.eat("not.");
    for (kw, op) in [("and(", LogicOp::And), ("or(", LogicOp::Or)] {
        if c.starts_with(kw) {
            c.eat(&kw[..kw.len() - 1]);
            let children = logic_children(c)?;
            return Ok(Condition::Group { op, negated, children });
        }
    }
    if negated {
        return Err(c.error("expecting \"and(\" or \"or(\" after \"not.\""));
    }
    let field = parse_field(c)?;
    c.expect(".")?;
    let (negated, operation) = parse_operation(c, true)?;
    Ok(Condition::Filter(Filter { field, negated, operation }))
}

/// `[not.]op...`; inside logic trees values end at `,` or `)` unless quoted.
fn parse_operation(c: &mut Cursor, nested: bool) -> Result<(bool, Operation), RequestError> {
    let negated = c.eat("not.");
    let op_start = c.pos();
    let op_name = c.until_any(&['.', '(', ',', ')']);
    let operation = match op_name {
        "in" => {
            c.expect(".")?;
            Operation::In(in_list(c)?)
        }
        "is" => {
            c.expect(".")?;
            let raw = value(c, nested)?;
            let v = match raw.to_ascii_lowercase().as_str() {
                "null" => IsValue::Null,
                "not_null" => IsValue::NotNull,
                "true" => IsValue::True,
                "false" => IsValue::False,
                "unknown" => IsValue::Unknown,
                _ => return Err(c.error("expecting null, not_null, true, false or unknown")),
            };
            Operation::Is(v)
        }
        "fts" | "plfts" | "phfts" | "wfts" => {
            let op = match op_name {
                "fts" => FtsOperator::Fts,
                "plfts" => FtsOperator::Plain,
                "phfts" => FtsOperator::Phrase,
                _ => FtsOperator::Websearch,
            };
            let language = if c.eat("(") {
                let lang = c.until_any(&[')']).to_string();
                c.expect(")")?;
                Some(lang)
            } else {
                None
            };
            c.expect(".")?;
            Operation::Fts { op, language, value: value(c, nested)? }
        }
        name => {
            let Some(op) = Operator::from_name(name) else {
                return Err(c.error_at(op_start, OPERATORS));
            };
            let quantifier = if c.eat("(any)") {
                Some(Quantifier::Any)
            } else if c.eat("(all)") {
                Some(Quantifier::All)
            } else {
                None
            };
            if quantifier.is_some() && !op.takes_quantifier() {
                return Err(c.error("(any)/(all) is only valid on eq, like, ilike, gt, gte, lt, lte, match, imatch"));
            }
            c.expect(".")?;
            Operation::Compare { op, quantifier, value: value(c, nested)? }
        }
    };
    Ok((negated, operation))
}

fn value(c: &mut Cursor, nested: bool) -> Result<String, RequestError> {
    if !nested {
        let all = c.rest().to_string();
        c.skip_to_end();
        return Ok(all);
    }
    if c.peek() == Some('"') {
        return c.quoted();
    }
    // Braces group `{a,b}` (arrays, (any) lists) and parentheses group ranges.
    let start_rest = c.rest();
    let mut depth = 0i32;
    let mut len = 0;
    for ch in start_rest.chars() {
        match ch {
            '{' | '[' => depth += 1,
            '}' | ']' => depth -= 1,
            '(' if depth > 0 => depth += 1,
            ',' | ')' if depth <= 0 => break,
            ')' => depth -= 1,
            _ => {}
        }
        len += ch.len_utf8();
    }
    c.advance(len);
    Ok(start_rest[..len].to_string())
}

/// `(a,"b,c",d)` → items; `\"` and `\\` escape inside quotes.
fn in_list(c: &mut Cursor) -> Result<Vec<String>, RequestError> {
    c.expect("(")?;
    let mut items = Vec::new();
    if c.eat(")") {
        return Ok(items);
    }
    loop {
        if c.peek() == Some('"') {
            items.push(c.quoted()?);
        } else {
            items.push(c.until_any(&[',', ')']).to_string());
        }
        if c.eat(",") {
            continue;
        }
        c.expect(")")?;
        return Ok(items);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::ast::{Field, JsonKey, JsonStep};

    fn cmp(op: Operator, q: Option<Quantifier>, v: &str) -> Operation {
        Operation::Compare { op, quantifier: q, value: v.into() }
    }

    #[test]
    fn simple_operators() {
        let f = parse_filter("age", "gte.18").unwrap();
        assert_eq!(f.field, Field::plain("age"));
        assert!(!f.negated);
        assert_eq!(f.operation, cmp(Operator::Gte, None, "18"));
        let f = parse_filter("name", "not.like.*a.b,c*").unwrap();
        assert!(f.negated);
        assert_eq!(f.operation, cmp(Operator::Like, None, "*a.b,c*"));
    }

    #[test]
    fn quantifiers() {
        let f = parse_filter("name", "like(any).{O*,P*}").unwrap();
        assert_eq!(f.operation, cmp(Operator::Like, Some(Quantifier::Any), "{O*,P*}"));
        assert!(parse_filter("r", "adj(any).{1}").is_err());
    }

    #[test]
    fn in_lists_bind_items_unquoted() {
        let f = parse_filter("id", "in.(1,\"a,b\",\"q\\\"x\")").unwrap();
        assert_eq!(f.operation, Operation::In(vec!["1".into(), "a,b".into(), "q\"x".into()]));
        assert_eq!(parse_filter("id", "in.()").unwrap().operation, Operation::In(vec![]));
        assert!(parse_filter("id", "in.(1,2").is_err());
    }

    #[test]
    fn is_values_case_insensitive() {
        assert_eq!(parse_filter("a", "is.NULL").unwrap().operation, Operation::Is(IsValue::Null));
        assert_eq!(parse_filter("a", "not.is.not_null").unwrap().operation, Operation::Is(IsValue::NotNull));
        assert!(parse_filter("a", "is.maybe").is_err());
    }

    #[test]
    fn fts_with_language() {
        let f = parse_filter("doc", "fts(french).amusant").unwrap();
        assert_eq!(
            f.operation,
            Operation::Fts { op: FtsOperator::Fts, language: Some("french".into()), value: "amusant".into() }
        );
        let f = parse_filter("doc", "wfts.a b").unwrap();
        assert_eq!(f.operation, Operation::Fts { op: FtsOperator::Websearch, language: None, value: "a b".into() });
    }

    #[test]
    fn json_path_fields() {
        let f = parse_filter("data->phones->0->>number", "eq.1").unwrap();
        assert_eq!(f.field.name, "data");
        assert_eq!(
            f.field.json_path,
            vec![
                JsonStep::Arrow(JsonKey::Key("phones".into())),
                JsonStep::Arrow(JsonKey::Index("0".into())),
                JsonStep::DoubleArrow(JsonKey::Key("number".into())),
            ]
        );
    }

    #[test]
    fn unknown_operator_is_pgrst100_with_column() {
        match parse_filter("a", "foo.1") {
            Err(RequestError::Parse { column, details, .. }) => {
                assert_eq!(column, 1);
                assert!(details.contains("expecting an operator"), "{details}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn logic_trees_nest_and_negate() {
        let c = parse_logic(LogicOp::Or, false, "(age.lt.18,not.and(age.gte.11,age.lte.17),name.eq.\"a,b)\")").unwrap();
        let Condition::Group { op: LogicOp::Or, negated: false, children } = c else { panic!() };
        assert_eq!(children.len(), 3);
        assert!(
            matches!(&children[1], Condition::Group { op: LogicOp::And, negated: true, children } if children.len() == 2)
        );
        let Condition::Filter(f) = &children[2] else { panic!() };
        assert_eq!(f.operation, cmp(Operator::Eq, None, "a,b)"));
    }

    #[test]
    fn logic_values_keep_braces_and_ranges() {
        let c = parse_logic(LogicOp::And, false, "(tags.cs.{a,b},r.ov.[1,5),x.in.(1,2))").unwrap();
        let Condition::Group { children, .. } = c else { panic!() };
        let values: Vec<_> = children
            .iter()
            .map(|c| match c {
                Condition::Filter(f) => f.operation.clone(),
                _ => panic!(),
            })
            .collect();
        assert_eq!(values[0], cmp(Operator::Cs, None, "{a,b}"));
        assert_eq!(values[1], cmp(Operator::Ov, None, "[1,5)"));
        assert_eq!(values[2], Operation::In(vec!["1".into(), "2".into()]));
    }

    #[test]
    fn deep_nesting_is_refused_not_a_stack_overflow() {
        let deep = format!("{}a.eq.1{}", "(or".repeat(5000), ")".repeat(5000));
        assert!(matches!(parse_logic(LogicOp::Or, false, &deep[2..]), Err(RequestError::Parse { .. })));
        let ok = format!("({}a.eq.1{})", "or(".repeat(30), ")".repeat(30));
        assert!(parse_logic(LogicOp::Or, false, &ok).is_ok());
    }

    #[test]
    fn malformed_logic_trees_fail() {
        for bad in ["", "(", "()", "(a.eq.1", "(a.eq.1))", "a.eq.1", "(not.a.eq.1)", "(a)"] {
            assert!(parse_logic(LogicOp::And, false, bad).is_err(), "{bad}");
        }
    }
}

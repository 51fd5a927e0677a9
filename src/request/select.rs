//! `select=alias:col->path::cast,rel!hint!inner(...),...rel(...)`

use super::ast::{AggregateFn, Embed, JoinType, SelectItem};
use super::cursor::Cursor;
use super::error::RequestError;
use super::field::parse_field;

pub fn parse_select(input: &str) -> Result<Vec<SelectItem>, RequestError> {
    let mut c = Cursor::new(input, "select parameter");
    let items = item_list(&mut c)?;
    if !c.at_end() {
        return Err(c.error("expecting \",\" or end of input"));
    }
    Ok(items)
}

fn item_list(c: &mut Cursor) -> Result<Vec<SelectItem>, RequestError> {
    let mut items = Vec::new();
    loop {
        c.skip_spaces();
        if c.at_end() || c.peek() == Some(')') {
            // `rel()` is an empty embed; a trailing comma is an error.
            if !items.is_empty() {
                return Err(c.error("expecting a column, \"*\" or an embedding"));
            }
            return Ok(items);
        }
        items.push(item(c)?);
        c.skip_spaces();
        if !c.eat(",") {
            return Ok(items);
        }
    }
}

fn item(c: &mut Cursor) -> Result<SelectItem, RequestError> {
    if c.eat("*") {
        return Ok(SelectItem::Star);
    }
    if c.eat("...") {
        let name = c.name()?;
        let mut e = embed_after_name(c, name, None)?;
        e.spread = true;
        return Ok(SelectItem::Embed(e));
    }
    let alias = alias(c)?;
    let start = c.pos();
    let name = c.name()?;
    if name == "count" && c.eat("()") {
        let cast = cast(c)?;
        return Ok(SelectItem::Aggregate { func: AggregateFn::Count, field: None, alias, cast });
    }
    if matches!(c.peek(), Some('!') | Some('(')) {
        return Ok(SelectItem::Embed(embed_after_name(c, name, alias)?));
    }
    // Not an embed: re-read as a field with a JSON path.
    *c = c.at(start);
    let field = parse_field(c)?;
    if let Some(func) = aggregate_suffix(c) {
        let cast = cast(c)?;
        return Ok(SelectItem::Aggregate { func, field: Some(field), alias, cast });
    }
    let cast = cast(c)?;
    Ok(SelectItem::Column { field, alias, cast })
}

/// `.sum()` and friends after a column.
fn aggregate_suffix(c: &mut Cursor) -> Option<AggregateFn> {
    let rest = c.rest().strip_prefix('.')?;
    let (name, after) = rest.split_once("()")?;
    let func = AggregateFn::from_name(name)?;
    c.advance(c.rest().len() - after.len());
    Some(func)
}

fn cast(c: &mut Cursor) -> Result<Option<String>, RequestError> {
    if !c.eat("::") {
        return Ok(None);
    }
    let t = c.until_any(&[',', ')']).trim();
    if t.is_empty() {
        return Err(c.error("expecting a type name"));
    }
    Ok(Some(t.to_string()))
}

/// `alias:` (but not `col::cast`).
fn alias(c: &mut Cursor) -> Result<Option<String>, RequestError> {
    let start = c.pos();
    let Ok(name) = c.name() else {
        *c = c.at(start);
        return Ok(None);
    };
    if c.starts_with(":") && !c.starts_with("::") {
        c.eat(":");
        return Ok(Some(name));
    }
    *c = c.at(start);
    Ok(None)
}

fn embed_after_name(c: &mut Cursor, name: String, alias: Option<String>) -> Result<Embed, RequestError> {
    let mut hint = None;
    let mut join = None;
    while c.eat("!") {
        let word = c.name()?;
        match word.as_str() {
            "inner" => join = Some(JoinType::Inner),
            "left" => join = Some(JoinType::Left),
            _ if hint.is_none() => hint = Some(word),
            _ => return Err(c.error("expecting only one hint")),
        }
    }
    c.expect("(")?;
    c.descend()?;
    let select = item_list(c)?;
    c.expect(")")?;
    c.ascend();
    Ok(Embed { name, alias, hint, join, spread: false, select })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::ast::{Field, JsonKey, JsonStep};

    fn col(name: &str, alias: Option<&str>, cast: Option<&str>) -> SelectItem {
        SelectItem::Column { field: Field::plain(name), alias: alias.map(Into::into), cast: cast.map(Into::into) }
    }

    #[test]
    fn columns_aliases_casts() {
        assert_eq!(
            parse_select("id,fullName:full_name,salary::text,*").unwrap(),
            vec![
                col("id", None, None),
                col("full_name", Some("fullName"), None),
                col("salary", None, Some("text")),
                SelectItem::Star
            ]
        );
        assert_eq!(parse_select("a:b::int").unwrap(), vec![col("b", Some("a"), Some("int"))]);
    }

    #[test]
    fn json_paths() {
        let items = parse_select("data->phones->0->>number").unwrap();
        let SelectItem::Column { field, .. } = &items[0] else { panic!() };
        assert_eq!(field.output_name(), "number");
        assert_eq!(field.json_path[1], JsonStep::Arrow(JsonKey::Index("0".into())));
    }

    #[test]
    fn embeds_with_hints_and_spread() {
        let items =
            parse_select("title,director:directors!fk_dir!inner(id,last_name),...studio(name),actors()").unwrap();
        let SelectItem::Embed(e) = &items[1] else { panic!() };
        assert_eq!(
            (e.name.as_str(), e.alias.as_deref(), e.hint.as_deref(), e.join),
            ("directors", Some("director"), Some("fk_dir"), Some(JoinType::Inner))
        );
        let SelectItem::Embed(s) = &items[2] else { panic!() };
        assert!(s.spread);
        let SelectItem::Embed(a) = &items[3] else { panic!() };
        assert!(a.select.is_empty());
    }

    #[test]
    fn aggregates() {
        let items = parse_select("total:amount.sum()::int,status,count(),id.count()").unwrap();
        assert_eq!(
            items[0],
            SelectItem::Aggregate {
                func: AggregateFn::Sum,
                field: Some(crate::request::ast::Field::plain("amount")),
                alias: Some("total".into()),
                cast: Some("int".into())
            }
        );
        assert_eq!(items[2], SelectItem::Aggregate { func: AggregateFn::Count, field: None, alias: None, cast: None });
        assert!(matches!(&items[3], SelectItem::Aggregate { func: AggregateFn::Count, field: Some(_), .. }));
        assert!(parse_select("amount.median()").is_err());
    }

    #[test]
    fn quoted_names() {
        assert_eq!(parse_select("\"a,b\"").unwrap(), vec![col("a,b", None, None)]);
    }

    #[test]
    fn deep_embedding_is_refused() {
        let deep = format!("id,{}id{}", "items(".repeat(500), ")".repeat(500));
        assert!(matches!(parse_select(&deep), Err(RequestError::Parse { .. })));
        let spread = format!("{}id{}", "...items(".repeat(500), ")".repeat(500));
        assert!(parse_select(&spread).is_err());
    }

    #[test]
    fn malformed() {
        for bad in ["id,", ",id", "a(", "a::", "id)", "a!b!c!d()", "\"open"] {
            assert!(parse_select(bad).is_err(), "{bad}");
        }
    }
}

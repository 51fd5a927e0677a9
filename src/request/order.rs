//! `order=col->path.desc.nullslast,other`

use super::ast::{Direction, Nulls, OrderTerm};
use super::cursor::Cursor;
use super::error::RequestError;
use super::field::parse_field;

pub fn parse_order(input: &str) -> Result<Vec<OrderTerm>, RequestError> {
    let mut c = Cursor::new(input, "order");
    let mut terms = Vec::new();
    loop {
        let mut field = parse_field(&mut c)?;
        let mut relation = None;
        if field.json_path.is_empty() && c.eat("(") {
            relation = Some(std::mem::take(&mut field.name));
            field = parse_field(&mut c)?;
            c.expect(")")?;
        }
        let mut direction = None;
        let mut nulls = None;
        while c.eat(".") {
            let word_start = c.pos();
            match c.until_any(&['.', ',']) {
                "asc" if direction.is_none() && nulls.is_none() => direction = Some(Direction::Asc),
                "desc" if direction.is_none() && nulls.is_none() => direction = Some(Direction::Desc),
                "nullsfirst" if nulls.is_none() => nulls = Some(Nulls::First),
                "nullslast" if nulls.is_none() => nulls = Some(Nulls::Last),
                _ => return Err(c.error_at(word_start, "expecting asc, desc, nullsfirst or nullslast")),
            }
        }
        terms.push(OrderTerm { relation, field, direction, nulls });
        if c.at_end() {
            return Ok(terms);
        }
        c.expect(",")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directions_and_nulls() {
        let t = parse_order("age.desc.nullslast,name,data->>k.asc").unwrap();
        assert_eq!(t.len(), 3);
        assert_eq!((t[0].direction, t[0].nulls), (Some(Direction::Desc), Some(Nulls::Last)));
        assert_eq!((t[1].direction, t[1].nulls), (None, None));
        assert_eq!(t[2].field.output_name(), "k");
        let t = parse_order("a.nullsfirst").unwrap();
        assert_eq!(t[0].nulls, Some(Nulls::First));
    }

    #[test]
    fn related_order() {
        let t = parse_order("directors(last_name).desc,id").unwrap();
        assert_eq!(t[0].relation.as_deref(), Some("directors"));
        assert_eq!(t[0].field.name, "last_name");
        assert_eq!(t[0].direction, Some(Direction::Desc));
        assert_eq!(t[1].relation, None);
        assert!(parse_order("directors(last_name.desc").is_err());
    }

    #[test]
    fn malformed() {
        for bad in ["", "a.up", "a.desc.asc", "a,", "a.nullsfirst.desc"] {
            assert!(parse_order(bad).is_err(), "{bad}");
        }
    }
}

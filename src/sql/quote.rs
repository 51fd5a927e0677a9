//! The one place identifiers are quoted.

/// Appends `"name"` with embedded quotes doubled. Callers pass names from the schema cache
/// (or aliases the planner checked for NUL).
pub fn push_ident(sql: &mut String, name: &str) {
    sql.push('"');
    for c in name.chars() {
        if c == '"' {
            sql.push('"');
        }
        sql.push(c);
    }
    sql.push('"');
}

pub fn quote_ident(name: &str) -> String {
    let mut s = String::with_capacity(name.len() + 2);
    push_ident(&mut s, name);
    s
}

/// `"schema"."name"`
pub fn push_qualified(sql: &mut String, schema: &str, name: &str) {
    push_ident(sql, schema);
    sql.push('.');
    push_ident(sql, name);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_quotes() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_ident("x; drop table t"), "\"x; drop table t\"");
        let mut s = String::new();
        push_qualified(&mut s, "api", "Order Items");
        assert_eq!(s, "\"api\".\"Order Items\"");
    }
}

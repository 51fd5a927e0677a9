//! Parameters are sent in text format and typed by Postgres from context, so one string can
//! bind to any column type (PostgREST's `unknown`-typed parameters).

use bytes::BytesMut;
use postgres_types::{Format, IsNull, ToSql, Type};

#[derive(Debug)]
pub struct TextParam<'a>(pub &'a str);

impl ToSql for TextParam<'_> {
    fn to_sql(&self, _ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.extend_from_slice(self.0.as_bytes());
        Ok(IsNull::No)
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    fn encode_format(&self, _ty: &Type) -> Format {
        Format::Text
    }

    postgres_types::to_sql_checked!();
}

pub fn text_params(values: &[String]) -> Vec<TextParam<'_>> {
    values.iter().map(|v| TextParam(v)).collect()
}

pub fn as_refs<'a>(params: &'a [TextParam<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

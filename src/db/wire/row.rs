//! A result row in text format, kept as the DataRow message it arrived in: columns are read in
//! place and the body column can go to the HTTP response without a copy.

use std::ops::Range;

use bytes::Bytes;
use fallible_iterator::FallibleIterator;
use postgres_protocol::message::backend::DataRowBody;

use crate::db::DbError;

#[derive(Debug, Clone)]
pub struct Row {
    storage: Bytes,
    ranges: Vec<Option<Range<usize>>>,
}

impl Row {
    pub fn new(body: DataRowBody) -> Result<Row, DbError> {
        let ranges = body.ranges().collect().map_err(|e| DbError::Shape(format!("malformed DataRow: {e}")))?;
        Ok(Row { storage: body.buffer_bytes().clone(), ranges })
    }

    /// A row of text values, for tests.
    pub fn from_texts(values: &[Option<&str>]) -> Row {
        let mut storage = Vec::new();
        let mut ranges = Vec::new();
        for v in values {
            ranges.push(v.map(|v| {
                let start = storage.len();
                storage.extend_from_slice(v.as_bytes());
                start..storage.len()
            }));
        }
        Row { storage: Bytes::from(storage), ranges }
    }

    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    fn raw(&self, i: usize) -> Result<Option<&[u8]>, DbError> {
        match self.ranges.get(i) {
            Some(r) => Ok(r.clone().map(|r| &self.storage[r])),
            None => Err(DbError::Shape(format!("the result has {} columns, not {}", self.len(), i + 1))),
        }
    }

    /// Column `i` as text; `None` for NULL.
    pub fn text(&self, i: usize) -> Result<Option<&str>, DbError> {
        self.raw(i)?
            .map(|b| std::str::from_utf8(b).map_err(|_| DbError::Shape(format!("column {} is not UTF-8", i + 1))))
            .transpose()
    }

    /// Column `i` as text; NULL is an error.
    pub fn required_text(&self, i: usize) -> Result<&str, DbError> {
        self.text(i)?.ok_or_else(|| DbError::Shape(format!("column {} is NULL", i + 1)))
    }

    /// Column `i` as an integer (`bigint` in text format); `None` for NULL.
    pub fn int(&self, i: usize) -> Result<Option<i64>, DbError> {
        self.text(i)?
            .map(|t| t.parse::<i64>().map_err(|_| DbError::Shape(format!("column {} is not an integer: {t}", i + 1))))
            .transpose()
    }

    /// Column `i` as a required integer.
    pub fn required_int(&self, i: usize) -> Result<i64, DbError> {
        self.int(i)?.ok_or_else(|| DbError::Shape(format!("column {} is NULL", i + 1)))
    }

    /// Column `i`'s bytes, sharing the row's buffer; `None` for NULL.
    pub fn bytes(&self, i: usize) -> Result<Option<Bytes>, DbError> {
        Ok(match self.ranges.get(i) {
            Some(Some(r)) => Some(self.storage.slice(r.clone())),
            Some(None) => None,
            None => return Err(DbError::Shape(format!("the result has {} columns, not {}", self.len(), i + 1))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_by_type() {
        let row = Row::from_texts(&[Some("42"), None, Some("[1]"), Some("x")]);
        assert_eq!(row.int(0).unwrap(), Some(42));
        assert_eq!(row.required_int(0).unwrap(), 42);
        assert_eq!(row.int(1).unwrap(), None);
        assert!(row.required_text(1).is_err());
        assert_eq!(row.text(2).unwrap(), Some("[1]"));
        assert_eq!(row.bytes(2).unwrap().as_deref(), Some(&b"[1]"[..]));
        assert!(row.int(3).is_err(), "not an integer");
        assert!(row.text(4).is_err(), "no such column");
        assert_eq!(row.len(), 4);
    }
}

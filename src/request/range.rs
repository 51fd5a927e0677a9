//! The `Range` header combined with `limit`/`offset` (PostgREST's item ranges).

use super::error::RequestError;

/// Rows `offset ..= offset + limit - 1`; `limit: None` means unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowRange {
    pub offset: u64,
    pub limit: Option<u64>,
}

impl RowRange {
    pub const ALL: RowRange = RowRange { offset: 0, limit: None };

    fn upper(&self) -> Option<u64> {
        self.limit.map(|l| self.offset.saturating_add(l).saturating_sub(1))
    }

    fn from_bounds(lower: u64, upper: Option<u64>) -> Option<RowRange> {
        match upper {
            Some(u) if u < lower => None,
            Some(u) => Some(RowRange { offset: lower, limit: Some((u - lower).saturating_add(1)) }),
            None => Some(RowRange { offset: lower, limit: None }),
        }
    }

    /// Applies `db-max-rows`: at most `max` rows from the same offset.
    pub fn capped(self, max: Option<u64>) -> RowRange {
        match max {
            Some(m) => RowRange { offset: self.offset, limit: Some(self.limit.map_or(m, |l| l.min(m))) },
            None => self,
        }
    }
}

/// `Range: 0-19`, `Range: 10-` (optionally `items=`). Malformed headers are ignored like PostgREST does.
pub fn parse_range_header(value: &str) -> Result<RowRange, RequestError> {
    let v = value.trim();
    let v = v.strip_prefix("items=").unwrap_or(v);
    let Some((lo, hi)) = v.split_once('-') else {
        return Ok(RowRange::ALL);
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(lo) || !(hi.is_empty() || digits(hi)) {
        return Ok(RowRange::ALL);
    }
    // Postgres LIMIT/OFFSET are bigint: larger bounds are treated like a malformed header.
    let bigint = |s: &str| s.parse::<u64>().ok().filter(|n| *n <= i64::MAX as u64);
    let (Some(lower), upper) = (bigint(lo), bigint(hi)) else {
        return Ok(RowRange::ALL);
    };
    if !hi.is_empty() && upper.is_none() {
        return Ok(RowRange::ALL);
    }
    RowRange::from_bounds(lower, upper).ok_or_else(|| RequestError::InvalidRange {
        details: "The lower boundary must be lower than or equal to the upper boundary in the Range header.".into(),
    })
}

/// `limit=`/`offset=` values: integers; a negative limit is PGRST103, garbage is PGRST100.
pub fn parse_limit(name: &'static str, value: &str) -> Result<i64, RequestError> {
    value.trim().parse::<i64>().map_err(|_| RequestError::InvalidParam {
        message: format!("\"failed to parse {name} parameter ({value})\" (line 1, column 1)"),
        details: format!("unexpected \"{value}\" expecting an integer"),
    })
}

/// Intersects the header range with `offset`/`limit` from the query string.
pub fn effective_range(header: RowRange, limit: Option<i64>, offset: Option<i64>) -> Result<RowRange, RequestError> {
    if let Some(l) = limit.filter(|l| *l < 0) {
        let _ = l;
        return Err(RequestError::InvalidRange { details: "Limit should be greater than or equal to zero.".into() });
    }
    let offset = offset.unwrap_or(0).max(0) as u64;
    if limit == Some(0) {
        return Ok(RowRange { offset, limit: Some(0) });
    }
    let query = RowRange { offset, limit: limit.map(|l| l as u64) };
    let lower = header.offset.max(query.offset);
    let upper = match (header.upper(), query.upper()) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    RowRange::from_bounds(lower, upper).ok_or_else(|| RequestError::InvalidRange {
        details: "The lower boundary must be lower than or equal to the upper boundary in the Range header.".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_forms() {
        assert_eq!(parse_range_header("0-19").unwrap(), RowRange { offset: 0, limit: Some(20) });
        assert_eq!(parse_range_header("items=5-").unwrap(), RowRange { offset: 5, limit: None });
        assert_eq!(parse_range_header("garbage").unwrap(), RowRange::ALL);
        assert!(matches!(parse_range_header("3-1"), Err(RequestError::InvalidRange { .. })));
    }

    #[test]
    fn intersects_with_limit_offset() {
        let h = parse_range_header("0-2").unwrap();
        assert_eq!(effective_range(h, Some(5), Some(1)).unwrap(), RowRange { offset: 1, limit: Some(2) });
        assert_eq!(effective_range(RowRange::ALL, None, Some(3)).unwrap(), RowRange { offset: 3, limit: None });
        assert_eq!(effective_range(RowRange::ALL, Some(0), None).unwrap(), RowRange { offset: 0, limit: Some(0) });
        assert!(effective_range(RowRange::ALL, Some(-1), None).is_err());
        assert!(effective_range(h, None, Some(10)).is_err());
    }

    #[test]
    fn huge_bounds_do_not_overflow() {
        assert_eq!(parse_range_header("0-18446744073709551615").unwrap(), RowRange::ALL);
        assert_eq!(parse_range_header("9223372036854775807-9223372036854775807").unwrap().limit, Some(1));
        let r = parse_range_header("9223372036854775807-").unwrap();
        assert_eq!(effective_range(r, None, None).unwrap().offset, i64::MAX as u64);
    }

    #[test]
    fn max_rows_caps() {
        assert_eq!(RowRange::ALL.capped(Some(10)), RowRange { offset: 0, limit: Some(10) });
        assert_eq!(RowRange { offset: 2, limit: Some(3) }.capped(Some(10)).limit, Some(3));
    }
}

//! Plan stage: resolves a parsed request against the schema cache. Unknown tables, columns and
//! relationships are rejected here; the result holds only names the cache vouched for.
//! Pure: no I/O.

mod casts;
mod embed;
pub mod error;
pub mod media;
pub mod read;
pub mod rpc;
pub mod select;
pub mod write;

pub use error::PlanError;

/// `{"a","b\"c"}`: a Postgres array literal; one parameter whatever the list length.
pub fn array_literal(items: &[String]) -> String {
    let mut s = String::from("{");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push('"');
        for c in item.chars() {
            if c == '"' || c == '\\' {
                s.push('\\');
            }
            s.push(c);
        }
        s.push('"');
    }
    s.push('}');
    s
}

/// PGRST123 unless `ROWGATE_DB_AGGREGATES_ENABLED`.
pub fn check_aggregates(select: &[crate::request::ast::SelectItem], enabled: bool) -> Result<(), PlanError> {
    if !enabled && crate::request::ast::uses_aggregates(select) {
        return Err(PlanError::AggregatesDisabled);
    }
    Ok(())
}
pub use media::Handler;
pub use read::{plan_read, CountPlan, ReadPlan};
pub use select::{ColumnRef, EmbedPlan, OutputColumn, PlannedCondition, PlannedOrder, SelectTree};
pub use write::{plan_write, Check, WriteOp, WritePlan};

#[cfg(test)]
mod tests;

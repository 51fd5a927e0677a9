//! Plan stage: resolves a parsed request against the schema cache. Unknown tables, columns and
//! relationships are rejected here; the result holds only names the cache vouched for.
//! Pure: no I/O.

mod casts;
mod embed;
pub mod error;
pub mod read;
pub mod rpc;
pub mod select;
pub mod write;

pub use error::PlanError;

/// PGRST123 unless `ROWGATE_DB_AGGREGATES_ENABLED`.
pub fn check_aggregates(select: &[crate::request::ast::SelectItem], enabled: bool) -> Result<(), PlanError> {
    if !enabled && crate::request::ast::uses_aggregates(select) {
        return Err(PlanError::AggregatesDisabled);
    }
    Ok(())
}
pub use read::{plan_read, CountPlan, ReadPlan};
pub use select::{ColumnRef, EmbedPlan, OutputColumn, PlannedCondition, PlannedOrder, SelectTree};
pub use write::{plan_write, Check, WriteOp, WritePlan};

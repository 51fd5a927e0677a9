//! Errors of the plan stage: the request names things the schema cache does not have.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum PlanError {
    /// PGRST205
    #[error("Could not find the table '{schema}.{name}' in the schema cache")]
    RelationNotFound { schema: String, name: String, hint: Option<String> },
    /// 42703, as Postgres would report it.
    #[error("column {relation}.{column} does not exist")]
    ColumnNotFound { relation: String, column: String },
    /// PGRST200
    #[error("Could not find a relationship between '{parent}' and '{child}' in the schema cache")]
    RelationshipNotFound { parent: String, child: String, schema: String },
    /// PGRST201
    #[error("Could not embed because more than one relationship was found for '{parent}' and '{child}'")]
    AmbiguousRelationship { parent: String, child: String, details: Vec<serde_json::Value>, hint: String },
    /// PGRST120
    #[error("Bad operator on the '{0}' embedded resource")]
    UnacceptableEmbedFilter(String),
    /// PGRST118
    #[error("A related order on '{target}' is not possible")]
    RelatedOrderNotToOne { origin: String, target: String },
    /// PGRST108
    #[error("'{0}' is not an embedded resource in this request")]
    NotEmbedded(String),
    /// PGRST100: a cast to a type outside the allow-list.
    #[error("\"failed to parse select parameter\" (cast to unsupported type '{0}')")]
    UnsupportedCast(String),
    /// PGRST100: an alias or key Postgres could not carry (NUL byte).
    #[error("invalid name in query string")]
    InvalidName,
    /// PGRST127
    #[error("Feature not implemented")]
    NotImplemented(String),
    /// PGRST102
    #[error("{0}")]
    InvalidBody(String),
    /// PGRST204
    #[error("Could not find the '{column}' column of '{relation}' in the schema cache")]
    UnknownPayloadColumn { relation: String, column: String },
    /// PGRST105
    #[error("Filters must include all and only primary key columns with 'eq' operators")]
    InvalidPut,
    /// PGRST114
    #[error("limit/offset querystring parameters are not allowed for PUT")]
    PutWithLimit,
    /// PGRST115
    #[error("Payload values do not match URL in primary key column(s)")]
    PutKeyMismatch,
    /// PGRST202
    #[error("Could not find the function {schema}.{name}({args}) in the schema cache")]
    FunctionNotFound { schema: String, name: String, args: String, hint: Option<String> },
    /// PGRST203
    #[error("Could not choose the best candidate function between: {0}")]
    AmbiguousFunction(String),
    /// A filter on a function that returns no columns.
    #[error("'{0}' returns a scalar value; filters do not apply")]
    FilterOnScalar(String),
    /// PGRST123
    #[error("Use of aggregate functions is not allowed")]
    AggregatesDisabled,
    /// PGRST125
    #[error("Invalid path specified in request URL")]
    InvalidPath,
}

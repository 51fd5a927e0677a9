//! Errors of the plan stage: the request names things the schema cache does not have.

use std::borrow::Cow;

use thiserror::Error;

use crate::error::ClientError;
use crate::request::RequestError;

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
    RelationshipNotFound {
        parent: String,
        child: String,
        schema: String,
        embed_hint: Option<String>,
        hint: Option<String>,
    },
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
    /// 406 PGRST107: no handler for any media type the client accepts.
    #[error("None of these media types are available: {0}")]
    UnacceptableMedia(String),
    /// PGRST128
    #[error("Function must return SETOF or TABLE when max-affected preference is used with handling=strict")]
    MaxAffectedOnSingle,
    /// 55000 (PostgreSQL's own code and words) answered 405 rather than PostgREST's 500: a write
    /// to a view PostgreSQL cannot write (not automatically updatable, no INSTEAD OF trigger).
    #[error("cannot {verb} view \"{view}\"")]
    ReadOnlyView { verb: &'static str, view: String },
    /// A `GET /rpc/fn` parameter that is not an argument of the function, and not a filter either.
    #[error("{0}")]
    Request(#[from] RequestError),
}

impl ClientError for PlanError {
    fn status(&self) -> u16 {
        match self {
            PlanError::AmbiguousRelationship { .. } | PlanError::AmbiguousFunction(_) => 300,
            PlanError::RelationNotFound { .. } | PlanError::FunctionNotFound { .. } | PlanError::InvalidPath => 404,
            PlanError::InvalidPut | PlanError::ReadOnlyView { .. } => 405,
            PlanError::UnacceptableMedia(_) => 406,
            PlanError::Request(e) => e.status(),
            _ => 400,
        }
    }

    fn code(&self) -> Cow<'_, str> {
        Cow::Borrowed(match self {
            PlanError::RelationNotFound { .. } => "PGRST205",
            PlanError::ColumnNotFound { .. } => "42703",
            PlanError::RelationshipNotFound { .. } => "PGRST200",
            PlanError::AmbiguousRelationship { .. } => "PGRST201",
            PlanError::UnacceptableEmbedFilter(_) => "PGRST120",
            PlanError::RelatedOrderNotToOne { .. } => "PGRST118",
            PlanError::NotEmbedded(_) => "PGRST108",
            PlanError::UnsupportedCast(_) | PlanError::InvalidName | PlanError::FilterOnScalar(_) => "PGRST100",
            PlanError::NotImplemented(_) => "PGRST127",
            PlanError::InvalidPath => "PGRST125",
            PlanError::UnacceptableMedia(_) => "PGRST107",
            PlanError::MaxAffectedOnSingle => "PGRST128",
            PlanError::AggregatesDisabled => "PGRST123",
            PlanError::FunctionNotFound { .. } => "PGRST202",
            PlanError::AmbiguousFunction(_) => "PGRST203",
            PlanError::InvalidBody(_) => "PGRST102",
            PlanError::UnknownPayloadColumn { .. } => "PGRST204",
            PlanError::InvalidPut => "PGRST105",
            PlanError::ReadOnlyView { .. } => "55000",
            PlanError::PutWithLimit => "PGRST114",
            PlanError::PutKeyMismatch => "PGRST115",
            PlanError::Request(e) => return e.code(),
        })
    }

    fn details(&self) -> Option<serde_json::Value> {
        let text = match self {
            PlanError::RelationshipNotFound { parent, child, schema, embed_hint, .. } => format!(
                "Searched for a foreign key relationship between '{parent}' and '{child}'{} in the schema '{schema}', but no matches were found.",
                embed_hint.as_ref().map(|h| format!(" using the hint '{h}'")).unwrap_or_default()
            ),
            PlanError::AmbiguousRelationship { details, .. } => return Some(serde_json::Value::Array(details.clone())),
            PlanError::UnacceptableEmbedFilter(_) => {
                "Only is null or not is null filters are allowed on embedded resources".into()
            }
            PlanError::RelatedOrderNotToOne { origin, target } => {
                format!("'{origin}' and '{target}' do not form a many-to-one or one-to-one relationship")
            }
            PlanError::NotImplemented(what) => what.clone(),
            PlanError::Request(e) => return e.details(),
            _ => return None,
        };
        Some(text.into())
    }

    fn hint(&self) -> Option<String> {
        match self {
            PlanError::RelationNotFound { hint, .. }
            | PlanError::FunctionNotFound { hint, .. }
            | PlanError::RelationshipNotFound { hint, .. } => hint.clone(),
            PlanError::AmbiguousRelationship { hint, .. } => Some(hint.clone()),
            PlanError::NotEmbedded(_) => Some("Verify that the resource is included in the 'select' query parameter.".into()),
            PlanError::AmbiguousFunction(_) => Some(
                "Try renaming the parameters or the function itself in the database so function overloading can be resolved"
                    .into(),
            ),
            _ => None,
        }
    }
}

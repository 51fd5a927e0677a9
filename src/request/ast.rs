//! The parsed form of a PostgREST query string. Pure data: no schema knowledge yet.

use super::error::RequestError;

/// A column reference with an optional JSON path: `data->phones->0->>number`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub json_path: Vec<JsonStep>,
}

impl Field {
    pub fn plain(name: &str) -> Self {
        Field { name: name.to_string(), json_path: Vec::new() }
    }

    /// The key PostgREST gives the output column: the last path element, else the name.
    pub fn output_name(&self) -> &str {
        match self.json_path.last() {
            Some(JsonStep::Arrow(k)) | Some(JsonStep::DoubleArrow(k)) => match k {
                JsonKey::Key(s) => s,
                JsonKey::Index(s) => s,
            },
            None => &self.name,
        }
    }
}

/// One `->` (json) or `->>` (text) step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonStep {
    Arrow(JsonKey),
    DoubleArrow(JsonKey),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonKey {
    Key(String),
    /// An array index, kept as its digits (optionally negative).
    Index(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectItem {
    /// `*`
    Star,
    Column {
        field: Field,
        alias: Option<String>,
        cast: Option<String>,
    },
    /// `alias:rel!hint!inner(...)`, `...rel(...)`; planned in a later stage.
    Embed(Embed),
    /// `amount.sum()`, `count()`, `id.count()`: the other selected columns group.
    Aggregate {
        func: AggregateFn,
        field: Option<Field>,
        alias: Option<String>,
        cast: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggregateFn {
    Count,
    Sum,
    Avg,
    Min,
    Max,
}

impl AggregateFn {
    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "count" => Self::Count,
            "sum" => Self::Sum,
            "avg" => Self::Avg,
            "min" => Self::Min,
            "max" => Self::Max,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Count => "count",
            Self::Sum => "sum",
            Self::Avg => "avg",
            Self::Min => "min",
            Self::Max => "max",
        }
    }
}

/// Whether a select (at any depth) uses aggregates.
pub fn uses_aggregates(items: &[SelectItem]) -> bool {
    items.iter().any(|i| match i {
        SelectItem::Aggregate { .. } => true,
        SelectItem::Embed(e) => uses_aggregates(&e.select),
        _ => false,
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Embed {
    pub name: String,
    pub alias: Option<String>,
    pub hint: Option<String>,
    pub join: Option<JoinType>,
    pub spread: bool,
    pub select: Vec<SelectItem>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinType {
    Inner,
    Left,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Asc,
    Desc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nulls {
    First,
    Last,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderTerm {
    /// `order=directors(last_name)`: the to-one embed whose column orders the parent.
    pub relation: Option<String>,
    pub field: Field,
    pub direction: Option<Direction>,
    pub nulls: Option<Nulls>,
}

/// Operators compared against one value (or a list with a quantifier).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
    Like,
    Ilike,
    Match,
    Imatch,
    IsDistinct,
    Cs,
    Cd,
    Ov,
    Sl,
    Sr,
    Nxr,
    Nxl,
    Adj,
}

impl Operator {
    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "eq" => Self::Eq,
            "neq" => Self::Neq,
            "gt" => Self::Gt,
            "gte" => Self::Gte,
            "lt" => Self::Lt,
            "lte" => Self::Lte,
            "like" => Self::Like,
            "ilike" => Self::Ilike,
            "match" => Self::Match,
            "imatch" => Self::Imatch,
            "isdistinct" => Self::IsDistinct,
            "cs" => Self::Cs,
            "cd" => Self::Cd,
            "ov" => Self::Ov,
            "sl" => Self::Sl,
            "sr" => Self::Sr,
            "nxr" => Self::Nxr,
            "nxl" => Self::Nxl,
            "adj" => Self::Adj,
            _ => return None,
        })
    }

    /// `(any)`/`(all)` are valid only on these.
    pub fn takes_quantifier(self) -> bool {
        matches!(
            self,
            Self::Eq
                | Self::Like
                | Self::Ilike
                | Self::Gt
                | Self::Gte
                | Self::Lt
                | Self::Lte
                | Self::Match
                | Self::Imatch
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantifier {
    Any,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsValue {
    Null,
    NotNull,
    True,
    False,
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FtsOperator {
    Fts,
    Plain,
    Phrase,
    Websearch,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    Compare {
        op: Operator,
        quantifier: Option<Quantifier>,
        value: String,
    },
    /// `in.(a,b)`: the items, unquoted.
    In(Vec<String>),
    Is(IsValue),
    Fts {
        op: FtsOperator,
        language: Option<String>,
        value: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub field: Field,
    pub negated: bool,
    pub operation: Operation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogicOp {
    And,
    Or,
}

/// A filter or a (possibly negated) `and`/`or` group of conditions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    Filter(Filter),
    Group { op: LogicOp, negated: bool, children: Vec<Condition> },
}

/// Where a parameter applies: the root resource (empty) or an embed path like `actors.roles`.
pub type EmbedPath = Vec<String>;

/// Everything the query string said, by purpose.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryParams {
    pub select: Vec<SelectItem>,
    pub conditions: Vec<(EmbedPath, Condition)>,
    pub order: Vec<(EmbedPath, Vec<OrderTerm>)>,
    pub limit: Vec<(EmbedPath, u64)>,
    pub offset: Vec<(EmbedPath, u64)>,
    pub columns: Option<Vec<String>>,
    pub on_conflict: Option<Vec<String>>,
    /// `GET /rpc/fn`: plain `key=value` pairs that are arguments or filters, decided by the
    /// planner once it knows the function's parameters (`plan::rpc`).
    pub deferred: Vec<DeferredParam>,
}

/// A `key=value` pair of `GET /rpc/fn`: an argument if the function has a parameter `key`,
/// otherwise a root filter, already parsed (or why it is not one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeferredParam {
    pub key: String,
    pub value: String,
    pub filter: Result<Condition, RequestError>,
}

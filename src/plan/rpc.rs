//! Plans `/rpc/fn`: picks the overload by argument names (for GET, which `key=value` pairs are
//! arguments and which are filters), binds argument values, and decides how the result is
//! shaped (rows, a scalar, a set of scalars, or nothing).

use serde_json::Value;

use crate::request::body::Payload;
use crate::request::{Action, ApiRequest, MediaType, RowRange};
use crate::schema::{Function, Relation, SchemaCache};

use super::error::PlanError;
use super::media::{negotiate, Handler, Subject};
use super::read::{count_plan, CountPlan};
use super::select::{plan_tree_with, SelectTree};
use super::write::Check;
use crate::request::ast::Condition;

/// One argument in the call: `"name" := $n::type`, or the whole body for unnamed parameters.
#[derive(Debug, PartialEq, Eq)]
pub struct CallArg<'a> {
    /// Empty for a positional (unnamed) parameter.
    pub name: &'a str,
    pub data_type: &'a str,
    pub value: Option<String>,
    pub variadic: bool,
}

#[derive(Debug)]
pub enum RpcResult<'a> {
    /// Table-valued: select, filters, order, range and embedding apply.
    Rows(SelectTree<'a>),
    Scalar {
        set: bool,
    },
    /// `rowgate.stream = 'json'`: the rows' text, concatenated, streamed as the body.
    Stream,
    Void,
}

#[derive(Debug)]
pub struct RpcPlan<'a> {
    pub function: &'a Function,
    pub args: Vec<CallArg<'a>>,
    pub result: RpcResult<'a>,
    /// GET always; POST for STABLE/IMMUTABLE.
    pub read_only: bool,
    /// A non-set composite result is one object.
    pub single_row: bool,
    pub range: RowRange,
    pub count: CountPlan,
    pub media: MediaType,
    /// A body not built by a builtin aggregate (a media type handler, GeoJSON).
    pub handler: Option<Handler<'a>>,
    pub headers_only: bool,
    /// What decides COMMIT or ROLLBACK: singular responses the client asked for, `max-affected`.
    pub checks: Vec<Check>,
}

/// The overload the request calls, chosen by the names of the arguments it passes.
fn find_function<'a>(
    cache: &'a SchemaCache,
    req: &ApiRequest,
    name: &str,
    arg_names: &[String],
) -> Result<&'a Function, PlanError> {
    let overloads = cache.functions(&req.schema, name);
    let unnamed_body = matches!(req.payload, Some(Payload::Raw { .. }))
        || matches!(&req.payload, Some(Payload::Json(v)) if !v.is_object());
    let candidates: Vec<&Function> = overloads
        .iter()
        .filter(|f| {
            let inputs: Vec<_> = f.input_args().collect();
            if unnamed_body {
                return inputs.len() == 1 && inputs[0].name.is_empty();
            }
            arg_names.iter().all(|a| inputs.iter().any(|i| &i.name == a))
                && f.required_args().all(|r| arg_names.contains(&r.name))
        })
        .collect();
    match candidates.as_slice() {
        [one] => Ok(one),
        [] => {
            // A single unnamed json/jsonb parameter takes a JSON object body too.
            if let Some(f) = overloads.iter().find(|f| {
                let inputs: Vec<_> = f.input_args().collect();
                inputs.len() == 1
                    && inputs[0].name.is_empty()
                    && matches!(inputs[0].data_type.as_str(), "json" | "jsonb")
            }) {
                if matches!(req.payload, Some(Payload::Json(_))) {
                    return Ok(f);
                }
            }
            Err(PlanError::FunctionNotFound {
                schema: req.schema.clone(),
                name: name.to_string(),
                args: arg_names.join(", "),
                hint: closest_function(cache, &req.schema, name),
            })
        }
        many => Err(PlanError::AmbiguousFunction(many.iter().map(|f| signature(f)).collect::<Vec<_>>().join(", "))),
    }
}

fn signature(f: &Function) -> String {
    let args: Vec<String> = f.input_args().map(|a| format!("{} => {}", a.name, a.data_type)).collect();
    format!("{}.{}({})", f.schema, f.name, args.join(", "))
}

fn closest_function(cache: &SchemaCache, schema: &str, name: &str) -> Option<String> {
    cache
        .functions_in(schema)
        .map(|f| (strsim::jaro_winkler(&f.name, name), f))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, f)| format!("Perhaps you meant to call the function {}.{}", f.schema, f.name))
}

/// Argument names a request passes: body keys for POST, query keys that are arguments for GET.
fn argument_names(req: &ApiRequest, get_args: &[(String, String)]) -> Vec<String> {
    match (&req.action, &req.payload) {
        (Action::Read { .. }, _) => {
            let mut names: Vec<String> = get_args.iter().map(|(k, _)| k.clone()).collect();
            names.dedup();
            names
        }
        (_, Some(Payload::Json(Value::Object(o)))) => o.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// Plans a call of `name` in the request's schema.
pub fn plan_rpc<'a>(
    req: &'a ApiRequest,
    cache: &'a SchemaCache,
    name: &str,
    max_rows: Option<u64>,
) -> Result<RpcPlan<'a>, PlanError> {
    let overloads = cache.functions(&req.schema, name);
    // A GET's plain pairs: arguments when some overload has a parameter of that name (they then
    // choose among the overloads), root filters otherwise. An unknown function is 404 before
    // any pair could be mistaken for a filter.
    let is_arg = |k: &str| overloads.iter().any(|f| f.input_args().any(|a| a.name == k));
    let mut get_args = Vec::new();
    let mut filters: Vec<&'a Condition> = Vec::new();
    // A value that is no filter (`?x=5`) is an argument too, as in PostgREST: when no overload
    // takes it, the call is 404 PGRST202 like any other unknown argument.
    for d in &req.query.deferred {
        match &d.filter {
            Ok(filter) if !is_arg(&d.key) && !overloads.is_empty() => filters.push(filter),
            _ => get_args.push((d.key.clone(), d.value.clone())),
        }
    }
    let function = find_function(cache, req, name, &argument_names(req, &get_args))?;
    let args = call_args(req, function, &get_args)?;
    let result = if function.is_void() {
        RpcResult::Void
    } else if let Some(relation) = result_relation(cache, function) {
        RpcResult::Rows(plan_tree_with(cache, relation, &req.query.select, &req.query, &filters)?)
    } else {
        let first_path = req.query.conditions.first().map(|(path, _)| path.first());
        match (first_path, filters.is_empty()) {
            (Some(Some(embed)), _) => return Err(PlanError::NotEmbedded(embed.clone())),
            (Some(None), _) | (None, false) => return Err(PlanError::FilterOnScalar(function.name.clone())),
            (None, true) if function.streams_json() => RpcResult::Stream,
            (None, true) => RpcResult::Scalar { set: function.returns_set },
        }
    };
    let headers_only = matches!(req.action, Action::Read { headers_only: true });
    let single_row = !function.returns_set && matches!(result, RpcResult::Rows(_));
    let subject = match &result {
        RpcResult::Rows(tree) => Subject::Rows { schema: &tree.relation.schema, name: &tree.relation.name, tree },
        _ => Subject::Value { schema: &function.schema, name: &function.name },
    };
    let (negotiated, handler) = negotiate(req, cache, subject)?;
    let mut checks = Vec::new();
    if let MediaType::SingleObject { .. } = negotiated {
        checks.push(Check::ExactlyOne);
    }
    if let (Some(n), true) = (req.prefer.max_affected, req.prefer.strict) {
        // Only a set can be counted against the limit (PGRST128 otherwise, as PostgREST).
        if !function.returns_set {
            return Err(PlanError::MaxAffectedOnSingle);
        }
        checks.push(Check::AtMost(n));
    }
    // A function returning one composite value answers with one object.
    let media = match (single_row, negotiated) {
        (true, MediaType::Json) if handler.is_none() => MediaType::SingleObject { strip_nulls: false },
        (_, m) => m,
    };
    Ok(RpcPlan {
        function,
        args,
        single_row,
        result,
        read_only: matches!(req.action, Action::Read { .. }) || !function.is_volatile(),
        range: req.range.capped(max_rows),
        count: count_plan(req.prefer.count, max_rows),
        media,
        handler,
        headers_only,
        checks,
    })
}

fn result_relation<'a>(cache: &'a SchemaCache, f: &'a Function) -> Option<&'a Relation> {
    match (&f.return_rel_schema, &f.return_rel_name) {
        (Some(s), Some(n)) => cache.relation(s, n),
        _ => f.out_relation.as_ref(),
    }
}

fn call_args<'a>(
    req: &ApiRequest,
    f: &'a Function,
    get_args: &[(String, String)],
) -> Result<Vec<CallArg<'a>>, PlanError> {
    let inputs: Vec<_> = f.input_args().collect();
    // One unnamed parameter: the whole body (json/jsonb, text, bytea, xml).
    if inputs.len() == 1 && inputs[0].name.is_empty() {
        let value = match &req.payload {
            Some(Payload::Json(v)) => v.to_string(),
            Some(Payload::Raw { bytes, .. }) if inputs[0].data_type == "bytea" => {
                let mut hex = String::with_capacity(2 + bytes.len() * 2);
                hex.push_str("\\x");
                for b in bytes.iter() {
                    hex.push_str(&format!("{b:02x}"));
                }
                hex
            }
            Some(Payload::Raw { bytes, .. }) => String::from_utf8(bytes.to_vec())
                .map_err(|_| PlanError::InvalidBody("the body is not valid UTF-8".into()))?,
            None => return Err(PlanError::InvalidBody("this function takes the request body".into())),
        };
        return Ok(vec![CallArg { name: "", data_type: &inputs[0].data_type, value: Some(value), variadic: false }]);
    }
    let mut out = Vec::new();
    for arg in inputs {
        let variadic = arg.mode == "v";
        let value = match (&req.action, &req.payload) {
            (Action::Read { .. }, _) => {
                let values: Vec<&str> =
                    get_args.iter().filter(|(k, _)| k == &arg.name).map(|(_, v)| v.as_str()).collect();
                match (values.as_slice(), variadic) {
                    ([], _) => continue,
                    // `?v=1&v=2` → an array; one value already in `{..}` form is kept.
                    ([one], true) if one.starts_with('{') => Some(one.to_string()),
                    (many, true) => Some(array_literal(many.iter().map(|v| v.to_string()))),
                    ([one], false) => Some(one.to_string()),
                    (many, false) => Some(many[many.len() - 1].to_string()),
                }
            }
            (_, Some(Payload::Json(Value::Object(o)))) => match o.get(&arg.name) {
                None => continue,
                Some(v) => json_argument(v, &arg.data_type),
            },
            _ => continue,
        };
        out.push(CallArg { name: &arg.name, data_type: &arg.data_type, value, variadic });
    }
    Ok(out)
}

/// A JSON value as the text Postgres parses for the parameter type; null is SQL NULL.
fn json_argument(v: &Value, data_type: &str) -> Option<String> {
    match v {
        Value::Null => None,
        _ if matches!(data_type, "json" | "jsonb") => Some(v.to_string()),
        Value::String(s) => Some(s.clone()),
        Value::Array(items) if data_type.ends_with("[]") => Some(array_literal(items.iter().map(|i| match i {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }))),
        other => Some(other.to_string()),
    }
}

fn array_literal(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    super::array_literal(&items)
}

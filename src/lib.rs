//! rowgate: a PostgREST-compatible gateway. Modules follow the request pipeline:
//! http → auth → request → plan → sql → db → response.

pub mod plan;
pub mod request;
pub mod schema;
pub mod sql;

//! rowgate: a PostgREST-compatible gateway. Modules follow the request pipeline:
//! http → auth → request → plan → sql → db → response.

pub mod request;

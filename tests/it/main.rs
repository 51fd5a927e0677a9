//! Integration tests over HTTP against a real PostgreSQL (see `harness`).

#![allow(dead_code)]

mod harness;

mod aggregates;
mod api_tokens;
mod audit;
mod auth;
mod auth_admin;
mod auth_logs;
mod auth_service;
mod backup;
mod caddy;
mod cli;
mod clients;
mod compose;
mod context;
mod cors;
mod embed;
mod errors;
mod hostile;
mod isolation;
mod isolation_sql;
mod keys;
mod migrate;
mod openapi;
mod operators;
mod plans;
mod reads;
mod registration;
mod rpc;
mod shapes;
mod supabase_js;
mod tenancy;
mod writes;

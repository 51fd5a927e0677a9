//! Integration tests over HTTP against a real PostgreSQL (see `harness`).

#![allow(dead_code)]

mod harness;

mod access_log;
mod aggregates;
mod api_tokens;
mod audit;
mod auth;
mod auth_admin;
mod auth_logs;
mod auth_service;
mod auth_sessions;
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
mod metrics;
mod migrate;
mod openapi;
mod operators;
mod plans;
mod private_cluster;
mod rate_limit;
mod reads;
mod realtime;
mod registration;
mod resilience;
mod rpc;
mod shapes;
mod supabase_js;
mod tenancy;
mod tenants;
mod tls;
mod wire;
mod writes;

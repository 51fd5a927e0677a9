//! Integration tests over HTTP against a real PostgreSQL (see `harness`).

#![allow(dead_code)]

mod harness;

mod access_log;
mod aggregates;
mod api_tokens;
mod audit;
mod auth;
mod auth_admin;
mod auth_flows;
mod auth_logs;
mod auth_mfa;
mod auth_oauth;
mod auth_service;
mod auth_sessions;
mod backup;
mod backup_org;
mod caddy;
mod citus;
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
mod parity;
mod plans;
mod private_cluster;
mod rate_limit;
mod reads;
mod realtime;
mod registration;
mod replicas;
mod resilience;
mod rpc;
mod shapes;
mod supabase_js;
mod tenancy;
mod tenancy_kit;
mod tenants;
mod tls;
mod web_console;
mod wire;
mod writes;

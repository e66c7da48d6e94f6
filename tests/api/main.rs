//! The integration tests, one binary (zero-to-production style): one link instead of one per
//! file, and the helpers in `common` (a `TestApp` with a method per endpoint) and
//! `feeds_support` compiled once. `tests/logs.rs` stays a binary of its own: it installs a
//! global debug-level subscriber, which here would capture every other test's logs.

mod common;
mod feeds_support;

mod audit_trail;
mod cli_train_score;
mod connections;
mod consent_bounds;
mod consent_lifecycle;
mod console;
mod console_browser;
mod console_browser_models;
mod console_models;
mod console_monitoring;
mod console_operations;
mod demo;
mod feeds_http;
mod feeds_import;
mod feeds_staging;
mod governance;
mod http_foundation;
mod lifecycle;
mod metrics;
mod no_oracle;
mod openapi;
mod partner_keys;
mod pii_at_rest;
mod pii_rotation;
mod purge;
mod rate_limits;
mod read_model;
mod reidentification;
mod reliability;
mod revocation_timing;
mod roles;
mod scores_api;
mod simulator;
mod storage;

//! creditbridge: credit scoring for bank–tax interaction (银税互动) and farmer credit ratings
//! (农户信用评价). The binary in `main.rs` is a thin launcher over this library.

pub mod app;
pub mod audit;
pub mod cli;
pub mod clock;
pub mod consent;
pub mod console;
pub mod demo;
pub mod disputes;
pub mod domain;
pub mod features;
pub mod feeds;
pub mod http;
pub mod lifecycle;
pub mod partners;
pub mod pii;
pub mod pii_custody;
pub mod rate_limit;
pub mod scoring;
pub mod settings;
pub mod simulator;
pub mod startup;
pub mod storage;
pub mod telemetry;
pub mod users;

#[cfg(test)]
mod layering_tests;

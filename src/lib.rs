//! twinform: declarative configuration for AI agent platforms.
//!
//! Data flows one way (ARCHITECTURE.md has the picture): manifests are
//! loaded by the [`engine`] into each [`providers`]' desired state; each
//! provider reads live state and diffs it (purely) into one
//! [`engine::plan::Plan`], which is rendered or executed by the engine's DAG
//! executor. [`commands`] orchestrate; `main` parses arguments and exits.

// Problems carry a source snippet and span; they are rare and boxing them buys nothing.
#![allow(clippy::result_large_err)]

pub mod cli;
pub mod commands;
pub mod engine;
pub mod providers;

pub use commands::run;

/// Version with the git commit it was built from, when known.
pub const VERSION: &str = env!("TWINFORM_VERSION");

//! twinform: a declarative reconciler for Twin AI agents.
//!
//! Data flows one way (see `../shared/style.md` in the project notes):
//! manifests are loaded into a [`manifest::Desired`], the Twin API is read into a
//! [`live::Live`], [`plan::diff`] compares the two into a [`plan::Plan`], and the
//! plan is either rendered or executed by [`apply`].

// Problems carry a source snippet and span; they are rare and boxing them buys nothing.
#![allow(clippy::result_large_err)]

pub mod apply;
pub mod cli;
pub mod commands;
pub mod emulator;
pub mod live;
pub mod manifest;
pub mod output;
pub mod plan;
pub mod redact;
pub mod rules;
pub mod twin;

pub use commands::run;

//! twinform: a declarative reconciler for Twin AI agents.
//!
//! Data flows one way (see `../shared/style.md` in the project notes):
//! manifests are loaded into a [`manifest::Desired`], the Twin API is read into a
//! [`live::Live`], [`plan::diff`] compares the two into a [`plan::Plan`], and the
//! plan is either rendered or executed by [`apply`].

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

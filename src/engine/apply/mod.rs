//! Applying a plan: the [`executor`], the [`secrets`] sink, the [`journal`],
//! [`signals`] and the [`report`] of an apply.

pub mod executor;
pub mod journal;
pub mod report;
pub mod secrets;
pub mod signals;

pub use executor::{execute, Context, Finished, Status, Target, NOT_STARTED};

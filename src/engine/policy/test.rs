//! `twinform policy test`: every `test_*` rule of every package, evaluated
//! as `opa test` does (a test passes when it is true; undefined or false
//! fails; an error is an error), each alone and without input (tests give
//! their own with `with input as …`).

use std::time::Duration;

use super::{run, PolicySet};
use crate::engine::manifest::Problem;

/// How one test ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    /// Undefined or not true.
    Fail,
    /// It could not be evaluated (the message says why).
    Error(String),
}

/// One test's result.
#[derive(Debug, Clone)]
pub struct TestResult {
    /// Index into the set's rules.
    pub rule: usize,
    pub outcome: Outcome,
    pub duration: Duration,
    /// What `print` wrote while it ran.
    pub prints: Vec<String>,
}

/// Run every test of `set`, in the order the rules are defined. A test that
/// outruns the deadline stops the run (a problem at that test).
pub fn run_all(set: &PolicySet) -> Result<Vec<TestResult>, Problem> {
    let tests: Vec<usize> = (0..set.rules.len())
        .filter(|&i| set.rules[i].name.starts_with("test_"))
        .collect();
    let results = run::rules(set, None, tests.clone(), false).map_err(|e| e.problem(set))?;
    Ok(tests
        .into_iter()
        .zip(results)
        .map(|(rule, r)| match r {
            Ok(e) => TestResult {
                rule,
                outcome: if e.value == Some(serde_json::Value::Bool(true)) {
                    Outcome::Pass
                } else {
                    Outcome::Fail
                },
                duration: e.duration,
                prints: e.prints,
            },
            Err(message) => TestResult {
                rule,
                outcome: Outcome::Error(
                    message
                        .lines()
                        .rev()
                        .find_map(|l| l.trim().strip_prefix("error: "))
                        .unwrap_or(message.trim())
                        .to_string(),
                ),
                duration: Duration::ZERO,
                prints: Vec::new(),
            },
        })
        .collect())
}

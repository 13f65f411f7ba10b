//! Bounded evaluation: rules are evaluated one after the other on a thread
//! of their own. regorus checks the time left as it works (its execution
//! timer), and the caller stops waiting at the same deadline in any case (a
//! single builtin that never yields): a policy can make a command fail, never
//! hang. A panic inside the interpreter ends the thread, not the command.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use regorus::utils::limits::ExecutionTimerConfig;

use super::PolicySet;
use crate::engine::manifest::Problem;

/// Stack of the evaluation thread: deeply nested input or comprehensions
/// recurse in the interpreter.
const STACK_BYTES: usize = 64 * 1024 * 1024;

/// How many units of work regorus does between two looks at the clock.
const CHECK_EVERY: NonZeroU32 = NonZeroU32::new(16).unwrap();

/// What one rule evaluated to.
#[derive(Debug, Clone)]
pub(super) struct Evaluated {
    /// `None`: undefined.
    pub value: Option<serde_json::Value>,
    /// What `print` wrote while it was evaluated.
    pub prints: Vec<String>,
    pub duration: Duration,
}

/// Why an evaluation stopped before its end.
#[derive(Debug)]
pub(super) enum Stopped {
    /// The deadline passed while rule `at` (an index into the set's rules) ran.
    Deadline { at: Option<usize>, after: Duration },
    /// Rule `at` could not be evaluated.
    Failed { at: usize, message: String },
    /// The interpreter panicked while rule `at` ran.
    Crashed { at: Option<usize> },
    /// The input is not a document regorus reads, or no thread could start.
    Input(String),
}

impl Stopped {
    /// The problem to report: at the rule that was running.
    pub(super) fn problem(&self, set: &PolicySet) -> Problem {
        let at_rule = |at: Option<usize>, message: String| match at.and_then(|i| set.rules.get(i)) {
            Some(rule) => set
                .problem_at(rule, message)
                .label(format!("while evaluating {}", rule.qualified())),
            None => Problem::file(
                set.files.first().map_or("policy", |f| f.name.as_str()),
                message,
            ),
        };
        match self {
            Stopped::Deadline { at, after } => at_rule(
                *at,
                format!(
                    "policy evaluation stopped after {:.1} s (--policy-timeout): a rule takes too long",
                    after.as_secs_f64()
                ),
            )
            .help("look for iterations over large ranges or nested comprehensions; raise --policy-timeout if the work is real"),
            Stopped::Failed { at, message } => {
                let rule = set.rules.get(*at);
                let fallback = rule.map_or_else(String::new, |r| set.location(r));
                let p = super::rego_problem(&set.files, &fallback, message);
                match rule {
                    Some(_) if p.span.is_none() => at_rule(Some(*at), p.message),
                    Some(r) => p.label(format!("while evaluating {}", r.qualified())),
                    None => p,
                }
            }
            Stopped::Crashed { at } => at_rule(
                *at,
                "the Rego interpreter failed while evaluating this rule (a bug in regorus)".into(),
            ),
            Stopped::Input(e) => Problem::file("policy input", format!("cannot evaluate policies: {e}")),
        }
    }
}

/// Evaluate `rules` (indices into the set's rules) in order with `input`
/// (JSON; `None`: no input). `stop_on_error`: the first rule that fails
/// stops everything (a finding rule); otherwise each result says (a test).
pub(super) fn rules(
    set: &PolicySet,
    input: Option<&str>,
    rules: Vec<usize>,
    stop_on_error: bool,
) -> Result<Vec<Result<Evaluated, String>>, Stopped> {
    let started = Instant::now();
    let deadline = started + set.timeout;
    let current = Arc::new(AtomicUsize::new(usize::MAX));
    let (tx, rx) = mpsc::channel();
    let mut engine = set.engine.clone();
    let paths: Vec<(usize, String)> = rules.iter().map(|&i| (i, set.rules[i].path())).collect();
    let input = input.map(str::to_string);
    let running = current.clone();
    let spawned = std::thread::Builder::new()
        .name("policy".into())
        .stack_size(STACK_BYTES)
        .spawn(move || {
            let result = (|| {
                if let Some(json) = &input {
                    engine
                        .set_input_json(json)
                        .map_err(|e| Stopped::Input(e.to_string()))?;
                }
                engine.set_gather_prints(true);
                let mut out = Vec::with_capacity(paths.len());
                for (rule, path) in paths {
                    running.store(rule, Ordering::Relaxed);
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(Stopped::Deadline {
                            at: Some(rule),
                            after: started.elapsed(),
                        });
                    }
                    engine.set_execution_timer_config(ExecutionTimerConfig {
                        limit: left,
                        check_interval: CHECK_EVERY,
                    });
                    let t0 = Instant::now();
                    let value = engine.eval_rule(path);
                    let prints = engine.take_prints().unwrap_or_default();
                    match value {
                        Ok(v) => out.push(Ok(Evaluated {
                            value: (v != regorus::Value::Undefined)
                                .then(|| serde_json::to_value(&v).unwrap_or_default()),
                            prints,
                            duration: t0.elapsed(),
                        })),
                        // The execution timer ran out.
                        Err(e)
                            if e.downcast_ref::<regorus::LimitError>().is_some()
                                || e.to_string().contains("time limit") =>
                        {
                            return Err(Stopped::Deadline {
                                at: Some(rule),
                                after: started.elapsed(),
                            })
                        }
                        Err(e) if stop_on_error => {
                            return Err(Stopped::Failed {
                                at: rule,
                                message: e.to_string(),
                            })
                        }
                        Err(e) => out.push(Err(e.to_string())),
                    }
                }
                Ok(out)
            })();
            let _ = tx.send(result);
        });
    if let Err(e) = spawned {
        return Err(Stopped::Input(format!("cannot start the evaluation: {e}")));
    }
    let which = || Some(current.load(Ordering::Relaxed)).filter(|&i| i != usize::MAX);
    match rx.recv_timeout(set.timeout + Duration::from_millis(250)) {
        Ok(result) => result,
        Err(mpsc::RecvTimeoutError::Timeout) => Err(Stopped::Deadline {
            at: which(),
            after: started.elapsed(),
        }),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(Stopped::Crashed { at: which() }),
    }
}

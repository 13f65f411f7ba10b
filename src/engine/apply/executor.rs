//! Executing a plan: a DAG scheduler. Changes run as soon as what they depend
//! on has applied, concurrently up to the parallelism; a failure skips only
//! what depends on it; a signal starts nothing new. Each operation of a
//! change is handed to its provider ([`DynProvider::execute`]) and journaled.

use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;

use super::journal::Journal;
use super::secrets::SecretSink;
use crate::engine::http::WAITED;
use crate::engine::plan::{Action, Change, Plan};
use crate::engine::provider::{DynProvider, OpContext};

/// Why a change was skipped after a signal.
pub const NOT_STARTED: &str = "interrupted before it started";

/// What happened to one change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Applied,
    /// The API refused it (message includes the problem detail).
    Failed(String),
    /// Refused for a reason the user must act on (e.g. an undeployed agent).
    Blocked(String),
    /// Not attempted: something it depends on failed, or apply was interrupted.
    Skipped(String),
    /// The API cannot apply it: left for a person to do.
    Manual(String),
}

/// A finished change, reported as it finishes.
#[derive(Debug, Clone)]
pub struct Finished {
    pub address: String,
    pub action: Action,
    pub status: Status,
    pub duration: Duration,
    /// Of `duration`, the time spent waiting for a rate limit (queueing
    /// behind the pacer), not working.
    pub waited: Duration,
    /// Something the user must act on although the change applied (a
    /// `--secrets-command` that failed after the secret was stored).
    pub warning: Option<String>,
}

/// One provider as an apply uses it: its API client and its apply state.
pub struct Target {
    pub provider: Arc<dyn DynProvider>,
    pub api: Arc<dyn Any + Send + Sync>,
    pub state: Box<dyn Any + Send + Sync>,
}

/// Everything the executor needs besides the plan.
pub struct Context {
    /// By provider name.
    pub targets: HashMap<&'static str, Target>,
    pub parallelism: usize,
    /// Git commit of the manifests, sent where a platform records a source.
    pub source_id: Option<String>,
    pub secrets: Arc<SecretSink>,
    pub journal: Arc<Journal>,
    /// Set by a signal: start nothing new.
    pub interrupted: Arc<AtomicBool>,
}

/// Shared state while executing.
struct Run {
    ctx: Context,
    /// Ids of objects created during this apply, by key.
    created: Mutex<HashMap<String, String>>,
}

/// Execute every change of `plan`; each finished change is sent to `report`.
pub async fn execute(
    plan: &Plan,
    ctx: Context,
    report: mpsc::UnboundedSender<Finished>,
) -> Vec<Finished> {
    let index: HashMap<&str, usize> = plan
        .changes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.address.as_str(), i))
        .collect();
    let deps: Vec<Vec<usize>> = plan
        .changes
        .iter()
        .map(|c| {
            c.depends_on
                .iter()
                .filter_map(|d| index.get(d.as_str()).copied())
                .collect()
        })
        .collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); plan.changes.len()];
    for (i, ds) in deps.iter().enumerate() {
        for &d in ds {
            dependents[d].push(i);
        }
    }
    let mut waiting: Vec<usize> = deps.iter().map(Vec::len).collect();
    let mut done: Vec<Option<Finished>> = vec![None; plan.changes.len()];
    let run = Arc::new(Run {
        ctx,
        created: Mutex::new(HashMap::new()),
    });
    let limit = Arc::new(Semaphore::new(run.ctx.parallelism.max(1)));
    let mut tasks: JoinSet<Finished> = JoinSet::new();
    let mut running: HashMap<tokio::task::Id, usize> = HashMap::new();
    let mut ready: Vec<usize> = (0..plan.changes.len())
        .filter(|&i| waiting[i] == 0)
        .rev()
        .collect();

    loop {
        while let Some(i) = ready.pop() {
            let change = &plan.changes[i];
            if run.ctx.interrupted.load(Ordering::SeqCst) {
                finish(
                    i,
                    change,
                    Status::Skipped(NOT_STARTED.into()),
                    &mut done,
                    &report,
                );
                continue;
            }
            if change.action == Action::Manual {
                let why = change.reason.clone().unwrap_or_default();
                finish(i, change, Status::Manual(why), &mut done, &report);
                release(i, &dependents, &mut waiting, &done, &mut ready);
                continue;
            }
            let change = change.clone();
            let (run, limit) = (run.clone(), limit.clone());
            let handle = tasks.spawn(async move {
                let _permit = limit.acquire_owned().await;
                let started = Instant::now();
                let ((status, warning), waited) = if run.ctx.interrupted.load(Ordering::SeqCst) {
                    ((Status::Skipped(NOT_STARTED.into()), None), Duration::ZERO)
                } else {
                    // Rate-limit waits of this change's requests, counted
                    // apart from its own time.
                    WAITED
                        .scope(std::cell::Cell::new(Duration::ZERO), async {
                            let r = apply_change(&run, &change).await;
                            (r, WAITED.with(std::cell::Cell::get))
                        })
                        .await
                };
                Finished {
                    address: change.address.clone(),
                    action: change.action,
                    status,
                    duration: started.elapsed(),
                    waited,
                    warning,
                }
            });
            running.insert(handle.id(), i);
        }
        let Some(joined) = tasks.join_next_with_id().await else {
            break;
        };
        let (i, finished) = match joined {
            Ok((id, f)) => (running.remove(&id), f),
            // A panicked change is a failed change, with its message.
            Err(e) => {
                let i = running.remove(&e.id());
                let why = panic_message(e);
                let Some(i) = i else { continue };
                let c = &plan.changes[i];
                (
                    Some(i),
                    Finished {
                        address: c.address.clone(),
                        action: c.action,
                        status: Status::Failed(format!("internal error: {why}")),
                        duration: Duration::ZERO,
                        waited: Duration::ZERO,
                        warning: None,
                    },
                )
            }
        };
        let Some(i) = i else { continue };
        let ok = finished.status == Status::Applied;
        let _ = report.send(finished.clone());
        done[i] = Some(finished);
        if ok {
            release(i, &dependents, &mut waiting, &done, &mut ready);
        } else {
            let why = format!(
                "depends on {}, which did not apply",
                plan.changes[i].address
            );
            let mut stack = dependents[i].clone();
            while let Some(d) = stack.pop() {
                if done[d].is_none() {
                    finish(
                        d,
                        &plan.changes[d],
                        Status::Skipped(why.clone()),
                        &mut done,
                        &report,
                    );
                    stack.extend(dependents[d].iter().copied());
                }
            }
        }
    }
    for (i, c) in plan.changes.iter().enumerate() {
        if done[i].is_none() {
            finish(
                i,
                c,
                Status::Skipped("not reached".into()),
                &mut done,
                &report,
            );
        }
    }
    if !run.ctx.interrupted.load(Ordering::SeqCst) {
        for t in run.ctx.targets.values() {
            t.provider
                .finish_apply(t.api.as_ref(), t.state.as_ref(), &run.ctx.journal)
                .await;
        }
    }
    done.into_iter().flatten().collect()
}

/// The dependents of `i` whose dependencies have all applied become ready.
fn release(
    i: usize,
    dependents: &[Vec<usize>],
    waiting: &mut [usize],
    done: &[Option<Finished>],
    ready: &mut Vec<usize>,
) {
    for &d in &dependents[i] {
        waiting[d] -= 1;
        if waiting[d] == 0 && done[d].is_none() {
            ready.push(d);
        }
    }
}

fn panic_message(e: tokio::task::JoinError) -> String {
    if !e.is_panic() {
        return "the change was cancelled".into();
    }
    let payload = e.into_panic();
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    format!("the change panicked: {text}")
}

fn finish(
    i: usize,
    change: &Change,
    status: Status,
    done: &mut [Option<Finished>],
    report: &mpsc::UnboundedSender<Finished>,
) {
    let f = Finished {
        address: change.address.clone(),
        action: change.action,
        status,
        duration: Duration::ZERO,
        waited: Duration::ZERO,
        warning: None,
    };
    let _ = report.send(f.clone());
    done[i] = Some(f);
}

async fn apply_change(run: &Run, change: &Change) -> (Status, Option<String>) {
    let Some(target) = run.ctx.targets.get(change.provider) else {
        return (
            Status::Failed(format!(
                "internal error: no provider `{}` in this apply",
                change.provider
            )),
            None,
        );
    };
    let mut previous = None;
    let mut warning = None;
    for op in &change.ops {
        let name = target.provider.op_name(op);
        if target.provider.yields_secret(op) {
            run.ctx.journal.record_secret_start(&change.address, name);
        } else {
            run.ctx.journal.record(&change.address, name, "start", None);
        }
        let mut ctx = OpContext {
            address: &change.address,
            journal: &run.ctx.journal,
            secrets: &run.ctx.secrets,
            created: &run.created,
            previous: &mut previous,
            warning: &mut warning,
            source_id: run.ctx.source_id.as_deref(),
        };
        match target
            .provider
            .execute(target.api.as_ref(), target.state.as_ref(), op, &mut ctx)
            .await
        {
            Ok(()) => run.ctx.journal.record(&change.address, name, "done", None),
            Err(e) => {
                run.ctx
                    .journal
                    .record(&change.address, name, "failed", Some(&e.message));
                let status = if e.blocked {
                    Status::Blocked(e.message)
                } else {
                    Status::Failed(e.message)
                };
                return (status, warning);
            }
        }
    }
    (Status::Applied, warning)
}

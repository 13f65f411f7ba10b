//! Executing a plan: changes run as soon as what they depend on has applied,
//! concurrently up to the parallelism; a failure skips only what depends on
//! it. Each operation is one API call (creates read back after an ambiguous
//! failure, so nothing is made twice).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;

use super::journal::Journal;
use super::secrets::{SecretRecord, SecretSink, StoreError};
use crate::plan::{Change, Op, Plan, WorkspaceRef};
use crate::twin::types::{CreateAgent, PutInstructions};
use crate::twin::{ApiError, Client};

/// The `source_type` twinform writes instructions with.
pub const SOURCE_TYPE: &str = "twinform";

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
}

/// A finished change, reported as it finishes.
#[derive(Debug, Clone)]
pub struct Finished {
    pub address: String,
    pub action: crate::plan::Action,
    pub status: Status,
    pub duration: Duration,
    /// Something the user must act on although the change applied (a
    /// `--secrets-command` that failed after the secret was stored).
    pub warning: Option<String>,
}

/// Everything the executor needs besides the plan.
pub struct Context {
    pub client: Client,
    pub parallelism: usize,
    /// Git commit of the manifests, sent as `source_id`.
    pub source_id: Option<String>,
    pub secrets: Arc<SecretSink>,
    pub journal: Arc<Journal>,
    /// Set by SIGINT: start nothing new.
    pub interrupted: Arc<AtomicBool>,
    /// Workspace ids that existed when the plan was made.
    pub known_workspaces: HashSet<String>,
    /// Webhook ids per agent that existed when the plan was made.
    pub known_webhooks: HashMap<String, HashSet<String>>,
}

impl Context {
    /// A context for applying a plan made from `live`: parallelism 16, no
    /// journal, no `source_id`, not interrupted. Callers adjust the fields.
    pub fn new(client: Client, live: &crate::live::Live, secrets: Arc<SecretSink>) -> Self {
        Context {
            client,
            parallelism: 16,
            source_id: None,
            secrets,
            journal: Arc::new(Journal::none()),
            interrupted: Arc::new(AtomicBool::new(false)),
            known_workspaces: live.workspace_ids(),
            known_webhooks: live.webhook_ids(),
        }
    }
}

/// Shared state while executing.
struct Run {
    ctx: Context,
    /// Names of workspaces created during this apply → their ids.
    created_workspaces: Mutex<HashMap<String, String>>,
    /// Warnings by change address (see [`Finished::warning`]).
    warnings: Mutex<HashMap<String, String>>,
    /// Webhooks whose create had an ambiguous attempt, to sweep at the end.
    sweeps: Mutex<Vec<Sweep>>,
}

/// A webhook create that timed out before it succeeded: its earlier request
/// may commit late on a slow server, leaving a webhook with a secret nobody
/// has. At the end of the apply, once the earlier request can no longer be
/// pending, every new same-URL webhook but the kept one is deleted.
struct Sweep {
    address: String,
    agent_id: String,
    url: String,
    kept: String,
    known: HashSet<String>,
    not_before: Instant,
}

/// How long after an ambiguous create the sweep waits, in request timeouts
/// (a request the server is still working on has had this long to commit).
const SWEEP_AFTER_TIMEOUTS: u32 = 2;
/// The longest an apply waits for a sweep.
const SWEEP_WAIT_CAP: Duration = Duration::from_secs(30);

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
        created_workspaces: Mutex::new(HashMap::new()),
        warnings: Mutex::new(HashMap::new()),
        sweeps: Mutex::new(Vec::new()),
    });
    let limit = Arc::new(Semaphore::new(run.ctx.parallelism.max(1)));
    let mut tasks: JoinSet<(usize, Finished)> = JoinSet::new();
    let mut ready: Vec<usize> = (0..plan.changes.len())
        .filter(|&i| waiting[i] == 0)
        .rev()
        .collect();

    loop {
        while let Some(i) = ready.pop() {
            if run.ctx.interrupted.load(Ordering::SeqCst) {
                finish_skipped(i, &plan.changes, NOT_STARTED, &mut done, &report);
                continue;
            }
            let change = plan.changes[i].clone();
            let (run, limit) = (run.clone(), limit.clone());
            tasks.spawn(async move {
                let _permit = limit.acquire_owned().await;
                if run.ctx.interrupted.load(Ordering::SeqCst) {
                    let f = Finished {
                        address: change.address.clone(),
                        action: change.action,
                        status: Status::Skipped(NOT_STARTED.into()),
                        duration: Duration::ZERO,
                        warning: None,
                    };
                    return (i, f);
                }
                let started = Instant::now();
                let status = apply_change(&run, &change).await;
                let warning = run
                    .warnings
                    .lock()
                    .ok()
                    .and_then(|mut w| w.remove(&change.address));
                (
                    i,
                    Finished {
                        address: change.address.clone(),
                        action: change.action,
                        status,
                        duration: started.elapsed(),
                        warning,
                    },
                )
            });
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        let Ok((i, finished)) = joined else { continue };
        let ok = finished.status == Status::Applied;
        let _ = report.send(finished.clone());
        done[i] = Some(finished);
        if ok {
            for &d in &dependents[i] {
                waiting[d] -= 1;
                if waiting[d] == 0 && done[d].is_none() {
                    ready.push(d);
                }
            }
        } else {
            let why = format!(
                "depends on {}, which did not apply",
                plan.changes[i].address
            );
            skip_dependents(i, &dependents, &plan.changes, &why, &mut done, &report);
        }
    }
    for i in 0..plan.changes.len() {
        if done[i].is_none() {
            finish_skipped(i, &plan.changes, "not reached", &mut done, &report);
        }
    }
    sweep(&run).await;
    done.into_iter().flatten().collect()
}

/// Delete the late commits of timed-out webhook creates (see [`Sweep`]).
async fn sweep(run: &Run) {
    let sweeps = run
        .sweeps
        .lock()
        .map(|mut s| std::mem::take(&mut *s))
        .unwrap_or_default();
    for s in sweeps {
        if run.ctx.interrupted.load(Ordering::SeqCst) {
            return;
        }
        let deadline = s.not_before.min(Instant::now() + SWEEP_WAIT_CAP);
        tokio::time::sleep_until(deadline.into()).await;
        let result = run
            .ctx
            .client
            .sweep_webhooks(&s.agent_id, &s.url, &s.kept, &s.known)
            .await;
        let message = match result {
            Ok(n) => format!("{n} late duplicate(s) deleted"),
            Err(e) => format!("sweep failed (the next plan deletes duplicates): {e}"),
        };
        run.ctx
            .journal
            .record(&s.address, "sweep_webhooks", "done", Some(&message));
    }
}

fn finish_skipped(
    i: usize,
    changes: &[Change],
    why: &str,
    done: &mut [Option<Finished>],
    report: &mpsc::UnboundedSender<Finished>,
) {
    let f = Finished {
        address: changes[i].address.clone(),
        action: changes[i].action,
        status: Status::Skipped(why.into()),
        duration: Duration::ZERO,
        warning: None,
    };
    let _ = report.send(f.clone());
    done[i] = Some(f);
}

fn skip_dependents(
    i: usize,
    dependents: &[Vec<usize>],
    changes: &[Change],
    why: &str,
    done: &mut [Option<Finished>],
    report: &mpsc::UnboundedSender<Finished>,
) {
    let mut stack = dependents[i].clone();
    while let Some(d) = stack.pop() {
        if done[d].is_none() {
            finish_skipped(d, changes, why, done, report);
            stack.extend(dependents[d].iter().copied());
        }
    }
}

async fn apply_change(run: &Run, change: &Change) -> Status {
    let mut created_webhook: Option<String> = None;
    for op in &change.ops {
        let name = op_name(op);
        run.ctx.journal.record(&change.address, name, "start", None);
        match apply_op(run, &change.address, op, &mut created_webhook).await {
            Ok(()) => run.ctx.journal.record(&change.address, name, "done", None),
            Err(e) => {
                let status = classify(op, &e);
                let message = match &status {
                    Status::Failed(m) | Status::Blocked(m) | Status::Skipped(m) => m.clone(),
                    Status::Applied => String::new(),
                };
                run.ctx
                    .journal
                    .record(&change.address, name, "failed", Some(&message));
                return status;
            }
        }
    }
    Status::Applied
}

/// A schedule refused because the agent is not deployed is blocked, not a crash.
fn classify(op: &Op, e: &ApiError) -> Status {
    if let (Op::PutSchedule { agent_id, .. }, Some(409)) = (op, e.status()) {
        return Status::Blocked(format!(
            "{e}. Twin requires a deployed agent for schedules: deploy `{agent_id}` (run a build in Twin), then apply again"
        ));
    }
    Status::Failed(e.to_string())
}

fn op_name(op: &Op) -> &'static str {
    match op {
        Op::CreateWorkspace { .. } => "create_workspace",
        Op::UpdateWorkspace { .. } => "update_workspace",
        Op::CreateAgent { .. } => "create_agent",
        Op::DeleteAgent { .. } => "delete_agent",
        Op::MoveAgent { .. } => "move_agent",
        Op::PutInstructions { .. } => "put_instructions",
        Op::PutSchedule { .. } => "put_schedule",
        Op::PauseSchedule { .. } => "pause_schedule",
        Op::ResumeSchedule { .. } => "resume_schedule",
        Op::DeleteSchedule { .. } => "delete_schedule",
        Op::CreateWebhook { .. } => "create_webhook",
        Op::PatchWebhook { .. } => "patch_webhook",
        Op::DeleteWebhook { .. } => "delete_webhook",
    }
}

impl Run {
    fn workspace_id(&self, r: &WorkspaceRef) -> Result<String, ApiError> {
        match r {
            WorkspaceRef::Id(id) => Ok(id.clone()),
            WorkspaceRef::New(name) => self
                .created_workspaces
                .lock()
                .ok()
                .and_then(|m| m.get(name).cloned())
                .ok_or_else(|| ApiError::Config(format!("workspace `{name}` was not created"))),
        }
    }
}

/// A delete of something already gone succeeded.
fn gone_ok(r: Result<(), ApiError>) -> Result<(), ApiError> {
    match r {
        Err(e) if e.is_not_found() => Ok(()),
        other => other,
    }
}

async fn apply_op(
    run: &Run,
    address: &str,
    op: &Op,
    created_webhook: &mut Option<String>,
) -> Result<(), ApiError> {
    let client = &run.ctx.client;
    match op {
        Op::CreateWorkspace { name } => {
            let w = client
                .ensure_workspace(name, &run.ctx.known_workspaces)
                .await?;
            if let Ok(mut m) = run.created_workspaces.lock() {
                m.insert(name.clone(), w.workspace_id);
            }
            Ok(())
        }
        Op::UpdateWorkspace {
            workspace,
            name,
            icon,
        } => {
            let id = run.workspace_id(workspace)?;
            client
                .update_workspace(&id, name, icon.as_deref())
                .await
                .map(drop)
        }
        Op::CreateAgent {
            agent_id,
            workspace,
            subagent,
            derived_from,
        } => {
            let body = CreateAgent {
                workspace_id: Some(run.workspace_id(workspace)?),
                is_subagent: *subagent,
                derived_from_agent_id: derived_from.clone(),
                agent_id: Some(agent_id.clone()),
                owner_user_id: None,
            };
            client.ensure_agent(&body).await.map(drop)
        }
        Op::DeleteAgent { agent_id } => gone_ok(client.delete_agent(agent_id).await),
        Op::MoveAgent {
            agent_id,
            workspace,
        } => {
            let id = run.workspace_id(workspace)?;
            client.move_agent(agent_id, &id).await
        }
        Op::PutInstructions { agent_id, content } => {
            let body = PutInstructions {
                content: content.clone(),
                source_type: Some(SOURCE_TYPE.into()),
                source_id: run.ctx.source_id.clone(),
            };
            client.set_instructions(agent_id, &body).await
        }
        Op::PutSchedule { agent_id, cron } => client.put_schedule(agent_id, cron).await,
        Op::PauseSchedule { agent_id } => client.pause_schedule(agent_id).await,
        Op::ResumeSchedule { agent_id } => client.resume_schedule(agent_id).await,
        Op::DeleteSchedule { agent_id } => gone_ok(client.delete_schedule(agent_id).await),
        Op::CreateWebhook {
            agent_id,
            url,
            url_shown,
            events,
        } => {
            let known = run
                .ctx
                .known_webhooks
                .get(agent_id)
                .cloned()
                .unwrap_or_default();
            let created = client
                .create_webhook_once(agent_id, url, events, &known)
                .await?;
            let hook = created.webhook;
            if let Some(secret) = &hook.signing_secret {
                // Before anything else: the secret exists nowhere but here.
                let record = SecretRecord {
                    agent_id: agent_id.clone(),
                    url: url.clone(),
                    url_shown: url_shown.clone(),
                    webhook_id: hook.webhook_id.clone(),
                    signing_secret: secret.clone(),
                };
                let stored = run.ctx.secrets.store(record).await;
                if !matches!(stored, Err(StoreError::Lost(_))) {
                    // The secret is safe: a kill from here on loses nothing.
                    run.ctx
                        .journal
                        .record(address, "create_webhook", "stored", None);
                }
                match stored {
                    Ok(()) => {}
                    Err(e @ StoreError::Command { .. }) => {
                        if let Ok(mut w) = run.warnings.lock() {
                            w.insert(address.to_string(), e.to_string());
                        }
                    }
                    Err(StoreError::Lost(e)) => {
                        // A webhook whose secret nobody has must not live on.
                        let undone =
                            gone_ok(client.delete_webhook(agent_id, &hook.webhook_id).await);
                        let fate = match undone {
                            Ok(()) => {
                                "it was deleted again; run apply once the secrets destination works"
                                    .to_string()
                            }
                            Err(d) => format!(
                                "deleting it again failed too ({d}); the next plan replaces it"
                            ),
                        };
                        return Err(ApiError::Config(format!(
                            "webhook {} was created but its signing secret could not be stored ({e}): {fate}",
                            hook.webhook_id
                        )));
                    }
                }
            }
            // Another applier may have created the same webhook at the same time.
            let kept = client.settle_webhook_race(agent_id, &hook, &known).await?;
            if kept != hook.webhook_id {
                run.ctx
                    .secrets
                    .forget(agent_id, &hook.webhook_id)
                    .await
                    .map_err(|e| ApiError::Config(e.to_string()))?;
            }
            if let Some(at) = created.ambiguous_at {
                if let Ok(mut sweeps) = run.sweeps.lock() {
                    sweeps.push(Sweep {
                        address: address.to_string(),
                        agent_id: agent_id.clone(),
                        url: url.clone(),
                        kept: kept.clone(),
                        known,
                        not_before: at + client.timeout * SWEEP_AFTER_TIMEOUTS,
                    });
                }
            }
            *created_webhook = Some(kept);
            Ok(())
        }
        Op::PatchWebhook {
            agent_id,
            webhook_id,
            patch,
        } => {
            let id = webhook_id
                .clone()
                .or_else(|| created_webhook.clone())
                .ok_or_else(|| ApiError::Config("no webhook to update".into()))?;
            client.patch_webhook(agent_id, &id, patch).await.map(drop)
        }
        Op::DeleteWebhook {
            agent_id,
            webhook_id,
        } => gone_ok(client.delete_webhook(agent_id, webhook_id).await),
    }
}

//! Twin's operations: what a change asks of the API, and how each one is
//! carried out (creates exactly once, signing secrets stored before anything
//! else, races settled, late commits swept at the end).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::api::TwinApi;
use super::read::Live;
use super::wire::{CreateAgent, PatchWebhook, PutInstructions};
use crate::engine::apply::journal::Journal;
use crate::engine::apply::secrets::{SecretRecord, StoreError};
use crate::engine::http::ApiError;
use crate::engine::provider::{OpContext, OpError};

/// The `source_type` twinform writes instructions with.
pub const SOURCE_TYPE: &str = "twinform";

/// A workspace an operation targets: known, or created earlier in the same apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WorkspaceRef {
    Id(String),
    /// Created by the change `workspace["name"]`; its id is known only after.
    New(String),
}

/// One API call (or, for a few, a short fixed sequence) of a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    CreateWorkspace {
        name: String,
    },
    UpdateWorkspace {
        workspace: WorkspaceRef,
        name: String,
        icon: Option<String>,
    },
    CreateAgent {
        agent_id: String,
        workspace: WorkspaceRef,
        subagent: Option<bool>,
        derived_from: Option<String>,
    },
    DeleteAgent {
        agent_id: String,
    },
    MoveAgent {
        agent_id: String,
        workspace: WorkspaceRef,
    },
    PutInstructions {
        agent_id: String,
        content: String,
    },
    PutSchedule {
        agent_id: String,
        cron: String,
    },
    PauseSchedule {
        agent_id: String,
    },
    ResumeSchedule {
        agent_id: String,
    },
    DeleteSchedule {
        agent_id: String,
    },
    CreateWebhook {
        agent_id: String,
        url: String,
        events: Vec<String>,
    },
    /// `webhook_id: None` patches the webhook the same change just created.
    PatchWebhook {
        agent_id: String,
        webhook_id: Option<String>,
        patch: PatchWebhook,
    },
    DeleteWebhook {
        agent_id: String,
        webhook_id: String,
    },
}

impl Op {
    /// The name the journal records.
    pub fn name(&self) -> &'static str {
        match self {
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
}

/// What an apply keeps between operations.
pub struct ApplyState {
    /// Workspace ids that existed when the plan was made.
    pub known_workspaces: HashSet<String>,
    /// Webhook ids per agent that existed when the plan was made.
    pub known_webhooks: HashMap<String, HashSet<String>>,
    /// Webhook creates that timed out before they succeeded, swept at the end.
    sweeps: Mutex<Vec<Sweep>>,
}

impl ApplyState {
    pub fn new(live: &Live) -> Self {
        ApplyState {
            known_workspaces: live.workspace_ids(),
            known_webhooks: live.webhook_ids(),
            sweeps: Mutex::new(Vec::new()),
        }
    }
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

/// A delete of something already gone succeeded.
fn gone_ok(r: Result<(), ApiError>) -> Result<(), ApiError> {
    match r {
        Err(e) if e.is_not_found() => Ok(()),
        other => other,
    }
}

fn workspace_id(ctx: &OpContext<'_>, r: &WorkspaceRef) -> Result<String, OpError> {
    match r {
        WorkspaceRef::Id(id) => Ok(id.clone()),
        WorkspaceRef::New(name) => ctx
            .recall(&format!("workspace:{name}"))
            .ok_or_else(|| OpError::failed(format!("workspace `{name}` was not created"))),
    }
}

/// Carry out one operation.
pub async fn execute(
    api: &TwinApi,
    state: &ApplyState,
    op: &Op,
    ctx: &mut OpContext<'_>,
) -> Result<(), OpError> {
    match op {
        Op::CreateWorkspace { name } => {
            let w = api.ensure_workspace(name, &state.known_workspaces).await?;
            ctx.remember(format!("workspace:{name}"), w.workspace_id);
            Ok(())
        }
        Op::UpdateWorkspace {
            workspace,
            name,
            icon,
        } => {
            let id = workspace_id(ctx, workspace)?;
            Ok(api.update_workspace(&id, name, icon.as_deref()).await.map(drop)?)
        }
        Op::CreateAgent {
            agent_id,
            workspace,
            subagent,
            derived_from,
        } => {
            let body = CreateAgent {
                workspace_id: Some(workspace_id(ctx, workspace)?),
                is_subagent: *subagent,
                derived_from_agent_id: derived_from.clone(),
                agent_id: Some(agent_id.clone()),
                owner_user_id: None,
            };
            Ok(api.ensure_agent(&body).await.map(drop)?)
        }
        Op::DeleteAgent { agent_id } => Ok(gone_ok(api.delete_agent(agent_id).await)?),
        Op::MoveAgent {
            agent_id,
            workspace,
        } => {
            let id = workspace_id(ctx, workspace)?;
            Ok(api.move_agent(agent_id, &id).await?)
        }
        Op::PutInstructions { agent_id, content } => {
            let body = PutInstructions {
                content: content.clone(),
                source_type: Some(SOURCE_TYPE.into()),
                source_id: ctx.source_id.map(str::to_string),
            };
            Ok(api.set_instructions(agent_id, &body).await?)
        }
        Op::PutSchedule { agent_id, cron } => match api.put_schedule(agent_id, cron).await {
            Err(e) if e.status() == Some(409) => Err(OpError::blocked(format!(
                "{e}. Twin requires a deployed agent for schedules: deploy `{agent_id}` (run a build in Twin), then apply again"
            ))),
            other => Ok(other?),
        },
        Op::PauseSchedule { agent_id } => Ok(api.pause_schedule(agent_id).await?),
        Op::ResumeSchedule { agent_id } => Ok(api.resume_schedule(agent_id).await?),
        Op::DeleteSchedule { agent_id } => Ok(gone_ok(api.delete_schedule(agent_id).await)?),
        Op::CreateWebhook {
            agent_id,
            url,
            events,
        } => create_webhook(api, state, ctx, agent_id, url, events).await,
        Op::PatchWebhook {
            agent_id,
            webhook_id,
            patch,
        } => {
            let id = webhook_id
                .clone()
                .or_else(|| ctx.previous.clone())
                .ok_or_else(|| OpError::failed("no webhook to update"))?;
            Ok(api.patch_webhook(agent_id, &id, patch).await.map(drop)?)
        }
        Op::DeleteWebhook {
            agent_id,
            webhook_id,
        } => Ok(gone_ok(api.delete_webhook(agent_id, webhook_id).await)?),
    }
}

/// Create a webhook, store its signing secret before anything else, settle
/// a race with other appliers, and remember to sweep late commits.
async fn create_webhook(
    api: &TwinApi,
    state: &ApplyState,
    ctx: &mut OpContext<'_>,
    agent_id: &str,
    url: &str,
    events: &[String],
) -> Result<(), OpError> {
    let known = state
        .known_webhooks
        .get(agent_id)
        .cloned()
        .unwrap_or_default();
    let created = api
        .create_webhook_once(agent_id, url, events, &known)
        .await?;
    let hook = created.webhook;
    if let Some(secret) = &hook.signing_secret {
        let record = SecretRecord {
            agent_id: agent_id.to_string(),
            url: url.to_string(),
            webhook_id: hook.webhook_id.clone(),
            signing_secret: secret.clone(),
        };
        if let Err(StoreError::Lost(e)) = ctx.store_secret(record).await {
            // A webhook whose secret nobody has must not live on.
            let fate = match gone_ok(api.delete_webhook(agent_id, &hook.webhook_id).await) {
                Ok(()) => {
                    "it was deleted again; run apply once the secrets destination works".to_string()
                }
                Err(d) => format!("deleting it again failed too ({d}); the next plan replaces it"),
            };
            return Err(OpError::failed(format!(
                "webhook {} was created but its signing secret could not be stored ({e}): {fate}",
                hook.webhook_id
            )));
        }
    }
    // Another applier may have created the same webhook at the same time.
    let kept = api.settle_webhook_race(agent_id, &hook, &known).await?;
    if kept != hook.webhook_id {
        ctx.secrets
            .forget(agent_id, &hook.webhook_id)
            .await
            .map_err(|e| OpError::failed(format!("cannot update the secrets file: {e}")))?;
    }
    if let Some(at) = created.ambiguous_at {
        if let Ok(mut sweeps) = state.sweeps.lock() {
            sweeps.push(Sweep {
                address: ctx.address.to_string(),
                agent_id: agent_id.to_string(),
                url: url.to_string(),
                kept: kept.clone(),
                known,
                not_before: at + api.client.timeout * SWEEP_AFTER_TIMEOUTS,
            });
        }
    }
    *ctx.previous = Some(kept);
    Ok(())
}

/// Delete the late commits of timed-out webhook creates (see [`Sweep`]).
pub async fn sweep(api: &TwinApi, state: &ApplyState, journal: &Journal) {
    let sweeps = state
        .sweeps
        .lock()
        .map(|mut s| std::mem::take(&mut *s))
        .unwrap_or_default();
    for s in sweeps {
        let deadline = s.not_before.min(Instant::now() + SWEEP_WAIT_CAP);
        tokio::time::sleep_until(deadline.into()).await;
        let message = match api
            .sweep_webhooks(&s.agent_id, &s.url, &s.kept, &s.known)
            .await
        {
            Ok(n) => format!("{n} late duplicate(s) deleted"),
            Err(e) => format!("sweep failed (the next plan deletes duplicates): {e}"),
        };
        journal.record(&s.address, "sweep_webhooks", "done", Some(&message));
    }
}

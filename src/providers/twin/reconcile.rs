//! Twin's reconciliation policy on top of its endpoints: create exactly
//! once, and settle the races of concurrent appliers. A creating `POST` is
//! never blindly retried: after an ambiguous failure these read back before
//! they create again, so nothing is created twice.

use std::collections::HashSet;

use serde_json::Value;

use super::api::{missing, seg, Result, TwinApi, CREATE_ATTEMPTS};
use super::rules::url_key;
use super::wire::*;
use crate::engine::http::{ApiError, Idempotency};

impl TwinApi {
    /// Set instructions exactly once: every PUT adds a history version, so
    /// after an ambiguous failure the current text is read back and the PUT
    /// is repeated only if it did not land.
    pub async fn set_instructions(&self, agent_id: &str, body: &PutInstructions) -> Result<()> {
        let path = format!("/v1/agents/{}/instructions", seg(agent_id));
        let mut last = None;
        for _ in 0..CREATE_ATTEMPTS {
            match self
                .client
                .send(reqwest::Method::PUT, &path, Some(body), Idempotency::Create)
                .await
            {
                Ok(_) => return Ok(()),
                Err(e) if e.is_ambiguous() => {
                    if self
                        .get_instructions(agent_id)
                        .await?
                        .is_some_and(|i| i.content == body.content)
                    {
                        return Ok(());
                    }
                    last = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| missing("PUT", &path, "answer")))
    }

    // ---- create safely ----

    /// Create an agent with an explicit id, exactly once. Returns the agent and
    /// whether this call created it: a 409 (someone else made it) or an
    /// ambiguous failure followed by a successful read-back means "already there".
    pub async fn ensure_agent(&self, body: &CreateAgent) -> Result<(Agent, bool)> {
        let id = body.agent_id.clone().unwrap_or_default();
        let mut last = None;
        for _ in 0..CREATE_ATTEMPTS {
            match self.create_agent(body).await {
                Ok(a) => return Ok((a, true)),
                // 409: someone else made it; ambiguous or a 2xx without the agent: it may exist.
                Err(e)
                    if e.status() == Some(409)
                        || ((e.is_ambiguous() || matches!(e, ApiError::Decode { .. }))
                            && !id.is_empty()) =>
                {
                    if let Some(a) = self.get_agent(&id).await? {
                        return Ok((a, e.status() != Some(409)));
                    }
                    if e.status() == Some(409) {
                        return Err(e);
                    }
                    last = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| missing("POST", "/v1/agents", "agent")))
    }

    /// Create a workspace exactly once. Names are not unique on the server, so:
    /// re-read first (another applier may have made it since the plan); after an
    /// ambiguous failure, a workspace with this name not in `known_ids` is ours;
    /// and after creating, if another applier raced us, the earliest-created
    /// workspace with the name wins and ours (still empty) is deleted.
    pub async fn ensure_workspace(
        &self,
        name: &str,
        known_ids: &HashSet<String>,
    ) -> Result<Workspace> {
        if let Some(w) = earliest(
            self.list_workspaces()
                .await?
                .into_iter()
                .filter(|w| w.name == name),
        ) {
            return Ok(w);
        }
        let mut last = None;
        for _ in 0..CREATE_ATTEMPTS {
            match self.create_workspace(name).await {
                Ok(w) => return self.settle_workspace_race(w).await,
                Err(e) if e.is_ambiguous() => {
                    let found = self.list_workspaces().await?;
                    if let Some(w) = found
                        .into_iter()
                        .find(|w| w.name == name && !known_ids.contains(&w.workspace_id))
                    {
                        return Ok(w);
                    }
                    last = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| missing("POST", "/v1/workspaces", "workspace")))
    }

    async fn settle_workspace_race(&self, ours: Workspace) -> Result<Workspace> {
        let same = self
            .list_workspaces()
            .await?
            .into_iter()
            .filter(|w| w.name == ours.name);
        match earliest(same) {
            Some(winner) if winner.workspace_id != ours.workspace_id => {
                match self.delete_workspace(&ours.workspace_id).await {
                    Err(e) if !e.is_not_found() => Err(e),
                    _ => Ok(winner),
                }
            }
            _ => Ok(ours),
        }
    }

    /// After creating webhook `ours`: if other appliers created webhooks with
    /// the same URL at the same time, exactly one must remain. The winner is
    /// the earliest by (creation time, list position), and whoever lists
    /// deletes every other new one, not only its own: timestamps may have
    /// one-second resolution and ids may be random, so two appliers can
    /// disagree on the winner, but the last of them to list sees every
    /// candidate and leaves exactly one. `known_ids` are webhooks that
    /// existed before the plan (never touched here). Returns the id that stays.
    pub async fn settle_webhook_race(
        &self,
        agent_id: &str,
        ours: &Webhook,
        known_ids: &HashSet<String>,
    ) -> Result<String> {
        let listed = self.list_webhooks(agent_id).await?;
        let same: Vec<(usize, &Webhook)> = listed
            .iter()
            .enumerate()
            .filter(|(_, w)| {
                url_key(&w.url) == url_key(&ours.url) && !known_ids.contains(&w.webhook_id)
            })
            .collect();
        let Some(&(_, winner)) = same
            .iter()
            .min_by_key(|(i, w)| created_key(&w.created_at, *i))
        else {
            // Ours is not listed (yet): nothing to settle against.
            return Ok(ours.webhook_id.clone());
        };
        for (_, loser) in same
            .iter()
            .filter(|(_, w)| w.webhook_id != winner.webhook_id)
        {
            match self.delete_webhook(agent_id, &loser.webhook_id).await {
                Err(e) if !e.is_not_found() => return Err(e),
                _ => {}
            }
        }
        Ok(winner.webhook_id.clone())
    }

    /// Create a webhook and get its signing secret, exactly once. The secret is
    /// returned only by the create call, so a webhook made by a request whose
    /// answer was lost (one with this URL not in `known_ids`) is deleted and
    /// made again: it would otherwise live on with a secret nobody has.
    pub async fn create_webhook_once(
        &self,
        agent_id: &str,
        url: &str,
        events: &[String],
        known_ids: &HashSet<String>,
    ) -> Result<CreatedWebhook> {
        let mut last = None;
        let mut ambiguous_at = None;
        for _ in 0..CREATE_ATTEMPTS {
            match self.create_webhook(agent_id, url, events).await {
                Ok(webhook) => {
                    return Ok(CreatedWebhook {
                        webhook,
                        ambiguous_at,
                    })
                }
                Err(e) if e.is_ambiguous() => {
                    ambiguous_at = Some(std::time::Instant::now());
                    for w in self.list_webhooks(agent_id).await? {
                        if url_key(&w.url) == url_key(url) && !known_ids.contains(&w.webhook_id) {
                            match self.delete_webhook(agent_id, &w.webhook_id).await {
                                Err(e) if !e.is_not_found() => return Err(e),
                                _ => {}
                            }
                        }
                    }
                    last = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| missing("POST", "/v1/agents/…/webhooks", "webhook")))
    }
}

/// A webhook made by [`TwinApi::create_webhook_once`].
#[derive(Debug)]
pub struct CreatedWebhook {
    /// With its signing secret.
    pub webhook: Webhook,
    /// When an earlier attempt failed ambiguously: that request may still
    /// commit later on a slow server, leaving a webhook whose secret nobody
    /// has (see [`TwinApi::sweep_webhooks`]).
    pub ambiguous_at: Option<std::time::Instant>,
}

impl TwinApi {
    /// Delete every webhook of `agent_id` with `url` that is neither `kept`
    /// nor among `known_ids` (those that existed before the plan): the late
    /// commits of requests that timed out. Returns how many were deleted.
    pub async fn sweep_webhooks(
        &self,
        agent_id: &str,
        url: &str,
        kept: &str,
        known_ids: &HashSet<String>,
    ) -> Result<usize> {
        let mut deleted = 0;
        for w in self.list_webhooks(agent_id).await? {
            if url_key(&w.url) == url_key(url)
                && w.webhook_id != kept
                && !known_ids.contains(&w.webhook_id)
            {
                match self.delete_webhook(agent_id, &w.webhook_id).await {
                    Err(e) if !e.is_not_found() => return Err(e),
                    _ => deleted += 1,
                }
            }
        }
        Ok(deleted)
    }
}

/// Order by creation time, then by list position (creation order on servers
/// that append), never by id (ids may be random). Times are compared as
/// instants when they parse, so `…:05Z` and `…:05.120Z` order correctly.
fn created_key(created_at: &Option<Value>, position: usize) -> (Option<i64>, String, usize) {
    let text = created_at
        .as_ref()
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
        .unwrap_or_default();
    let instant = chrono::DateTime::parse_from_rfc3339(&text)
        .ok()
        .and_then(|t| t.timestamp_nanos_opt());
    (instant, text, position)
}

/// The workspace created first: by time, then display position (new
/// workspaces are appended), then list order.
fn earliest(ws: impl Iterator<Item = Workspace>) -> Option<Workspace> {
    ws.enumerate()
        .min_by_key(|(i, w)| {
            let (t, text, _) = created_key(&w.created_at, *i);
            (t, text, w.position.unwrap_or(i64::MAX), *i)
        })
        .map(|(_, w)| w)
}

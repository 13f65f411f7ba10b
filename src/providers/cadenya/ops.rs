//! Cadenya's operations. Almost every one is a [`Write`]: a method, a path
//! whose segments may name objects created earlier in the same apply, a
//! body into which such ids are filled, and for creates the key the new id
//! is remembered under and the externalId to look for after a lost answer.
//! Actions (`:publish`, `:pause`, `:unarchive`…) are writes with an action
//! verb: `POST <path>:<verb>`, no body.

use std::collections::BTreeSet;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::api::{seg, ws_path, CadenyaApi};
use super::wire;
use crate::engine::http::ApiError;
use crate::engine::provider::{OpContext, OpError};

/// A path segment or an id in a body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Seg {
    /// Written as is (`agents`).
    Lit(String),
    /// A canonical id known when planning.
    Id(String),
    /// The id an earlier create of this apply remembered under this key.
    New(String),
}

/// What an operation writes (for journal names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum What {
    Workspace,
    Agent,
    Variation,
    Schedule,
    ToolSet,
    Tool,
    SetSecret,
    Layer,
    Entry,
    Secret,
}

/// A create, an update (`PATCH` with an `updateMask`), a delete, or an
/// action (`POST <resource>:<verb>`, no body).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verb {
    Create,
    Update,
    Delete,
    /// `:publish` (agents, `agents.py:212`).
    Publish,
    /// `:unpublish` (agents, `agents.py:238`).
    Unpublish,
    /// `:unarchive` (agents `agents.py:225`, tool sets `tool_sets.py:138`).
    Unarchive,
    /// `:pause` (schedules, `agent_schedules.py:137`).
    Pause,
    /// `:resume` (schedules, `agent_schedules.py:151`).
    Resume,
}

impl Verb {
    /// The custom method an action calls.
    pub fn action(self) -> Option<&'static str> {
        Some(match self {
            Verb::Publish => "publish",
            Verb::Unpublish => "unpublish",
            Verb::Unarchive => "unarchive",
            Verb::Pause => "pause",
            Verb::Resume => "resume",
            Verb::Create | Verb::Update | Verb::Delete => return None,
        })
    }
}

/// One request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Write {
    pub what: What,
    pub verb: Verb,
    pub method: String,
    pub path: Vec<Seg>,
    pub body: Option<Value>,
    /// JSON pointers in `body` to fill with ids.
    pub fill: Vec<(String, Seg)>,
    /// Remember the created id under this key.
    pub remember: Option<String>,
    /// The externalId to look for after a lost create answer.
    pub ext: Option<String>,
    /// A 409 means what it creates is there already.
    pub conflict_ok: bool,
}

/// One operation of a change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Op {
    Write(Write),
    /// Enable exactly `enabled` (`provider/family`) among the workspace's
    /// models: a list, then one `:enable` or `:disable` per model that
    /// differs (`models.py:114-138`).
    SetModels {
        workspace: Seg,
        enabled: BTreeSet<String>,
    },
}

impl Op {
    pub fn name(&self) -> &'static str {
        let Op::Write(w) = self else {
            return "set_models";
        };
        use Verb::*;
        use What::*;
        match (w.what, w.verb) {
            (Agent, Publish) => "publish_agent",
            (Agent, Unpublish) => "unpublish_agent",
            (Agent, Unarchive) => "unarchive_agent",
            (ToolSet, Unarchive) => "unarchive_tool_set",
            (Schedule, Pause) => "pause_schedule",
            (Schedule, Resume) => "resume_schedule",
            (what, verb) => {
                const NAMES: [[&str; 3]; 10] = [
                    ["create_workspace", "update_workspace", "delete_workspace"],
                    ["create_agent", "update_agent", "delete_agent"],
                    ["create_variation", "update_variation", "delete_variation"],
                    ["create_schedule", "update_schedule", "delete_schedule"],
                    ["create_tool_set", "update_tool_set", "delete_tool_set"],
                    ["create_tool", "update_tool", "delete_tool"],
                    [
                        "create_tool_set_secret",
                        "update_tool_set_secret",
                        "delete_tool_set_secret",
                    ],
                    [
                        "create_memory_layer",
                        "update_memory_layer",
                        "delete_memory_layer",
                    ],
                    [
                        "create_memory_entry",
                        "update_memory_entry",
                        "delete_memory_entry",
                    ],
                    ["create_secret", "update_secret", "delete_secret"],
                ];
                let v = match verb {
                    Create => 0,
                    Update => 1,
                    _ => 2,
                };
                NAMES[what as usize][v]
            }
        }
    }
}

/// A model's `provider/family` (`types.py:2734 ModelSpec`).
pub fn model_key(m: &wire::Resource) -> String {
    let provider = m.spec_str("/provider").unwrap_or_default();
    let family = m.spec_str("/family").unwrap_or_default();
    if provider.is_empty() {
        m.metadata.name.clone()
    } else {
        format!("{provider}/{family}")
    }
}

/// A model's output-only `state` (`types.py:2654`).
pub fn model_enabled(m: &wire::Resource) -> bool {
    m.state() == "STATE_ENABLED"
}

fn resolve(ctx: &OpContext<'_>, s: &Seg) -> Result<String, OpError> {
    match s {
        Seg::Lit(l) => Ok(l.clone()),
        Seg::Id(id) => Ok(id.clone()),
        Seg::New(key) => ctx
            .recall(key)
            .ok_or_else(|| OpError::failed(format!("{key} was not created"))),
    }
}

fn path(ctx: &OpContext<'_>, segs: &[Seg]) -> Result<String, OpError> {
    let mut out = String::new();
    for s in segs {
        out.push('/');
        match s {
            Seg::Lit(l) => out.push_str(l),
            other => out.push_str(&seg(&resolve(ctx, other)?)),
        }
    }
    Ok(out)
}

/// Show field violations with the request they concern.
fn failed(e: ApiError) -> OpError {
    OpError::from(e)
}

/// Carry out one operation.
pub async fn execute(api: &CadenyaApi, op: &Op, ctx: &mut OpContext<'_>) -> Result<(), OpError> {
    match op {
        Op::Write(w) => write(api, w, ctx).await,
        Op::SetModels { workspace, enabled } => {
            let base = ws_path(&resolve(ctx, workspace)?);
            let models = api
                .list(&format!("{base}/models"), "")
                .await
                .map_err(failed)?;
            let known: BTreeSet<String> = models.iter().map(model_key).collect();
            let missing: Vec<&String> = enabled.iter().filter(|m| !known.contains(*m)).collect();
            if !missing.is_empty() {
                return Err(OpError::failed(format!(
                    "the workspace offers no model {} (it offers {})",
                    missing
                        .iter()
                        .map(|m| format!("`{m}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    known.iter().cloned().collect::<Vec<_>>().join(", ")
                )));
            }
            for m in &models {
                let want = enabled.contains(&model_key(m));
                if want != model_enabled(m) {
                    let verb = if want { "enable" } else { "disable" };
                    let p = format!("{base}/models/{}", seg(m.id()));
                    api.action(&p, verb).await.map_err(failed)?;
                }
            }
            Ok(())
        }
    }
}

async fn write(api: &CadenyaApi, w: &Write, ctx: &mut OpContext<'_>) -> Result<(), OpError> {
    let p = path(ctx, &w.path)?;
    let mut body = w.body.clone();
    if let Some(b) = body.as_mut() {
        for (pointer, s) in &w.fill {
            let id = resolve(ctx, s)?;
            if let Some(slot) = b.pointer_mut(pointer) {
                *slot = Value::String(id);
            }
        }
    }
    if let Some(verb) = w.verb.action() {
        return api.action(&p, verb).await.map_err(failed);
    }
    let method =
        Method::from_bytes(w.method.as_bytes()).map_err(|e| OpError::failed(e.to_string()))?;
    if method != Method::POST {
        return api.write(method, &p, body.as_ref()).await.map_err(failed);
    }
    let body = body.unwrap_or_else(|| json!({}));
    let created = match api.create(&p, &body, w.ext.as_deref()).await {
        Ok(r) => Some(r),
        Err(e) if e.status() == Some(409) && w.conflict_ok => None,
        // Created by an earlier request whose answer was lost (or by a
        // concurrent apply): it is there; take it.
        Err(e) if e.status() == Some(409) && w.ext.is_some() => {
            let ext = w.ext.as_deref().unwrap_or_default();
            match api.find(&p, ext).await.map_err(failed)? {
                Some(r) => Some(r),
                None => return Err(failed(e)),
            }
        }
        Err(e) => return Err(failed(e)),
    };
    if let (Some(key), Some(r)) = (&w.remember, created) {
        ctx.remember(key.clone(), r.metadata.id.clone());
        *ctx.previous = Some(r.metadata.id);
    }
    Ok(())
}

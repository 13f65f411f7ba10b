//! Cadenya's operations. Almost every one is a [`Write`]: a method, a path
//! whose segments may name objects created earlier in the same apply, a
//! body into which such ids are filled, and for creates the key the new id
//! is remembered under and the externalId to look for after a lost answer.

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
    Assignment,
    LayerAssignment,
    Schedule,
    ToolSet,
    Tool,
    Layer,
    Entry,
    Secret,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verb {
    Create,
    Update,
    Delete,
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
    /// A 409 means what it creates is there already (an assignment).
    pub conflict_ok: bool,
}

/// One operation of a change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Op {
    Write(Write),
    /// Enable exactly `enabled` (`provider/family`) among the workspace's
    /// models: a list, then one status write per model that differs.
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
        const NAMES: [[&str; 3]; 11] = [
            ["create_workspace", "update_workspace", "delete_workspace"],
            ["create_agent", "update_agent", "delete_agent"],
            ["create_variation", "update_variation", "delete_variation"],
            ["add_assignment", "update_assignment", "remove_assignment"],
            [
                "attach_memory_layer",
                "move_memory_layer",
                "detach_memory_layer",
            ],
            ["create_schedule", "update_schedule", "delete_schedule"],
            ["create_tool_set", "update_tool_set", "delete_tool_set"],
            ["create_tool", "update_tool", "delete_tool"],
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
        NAMES[w.what as usize][w.verb as usize]
    }
}

/// A model's `provider/family`.
pub fn model_key(m: &wire::Resource) -> String {
    let provider = m.spec_str("/provider").unwrap_or_default();
    let family = m.spec_str("/family").unwrap_or_default();
    if provider.is_empty() {
        m.metadata.name.clone()
    } else {
        format!("{provider}/{family}")
    }
}

pub fn model_enabled(m: &wire::Resource) -> bool {
    m.spec_str("/status")
        .is_some_and(|s| wire::short(s, "MODEL_STATUS_") == "enabled")
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
                    let status = if want {
                        "MODEL_STATUS_ENABLED"
                    } else {
                        "MODEL_STATUS_DISABLED"
                    };
                    let p = format!("{base}/models/{}/status", seg(m.id()));
                    api.write(Method::PUT, &p, Some(&json!({"status": status})))
                        .await
                        .map_err(failed)?;
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

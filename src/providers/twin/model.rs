//! Twin's desired state, validated: what the manifests declare, with each
//! field's nature in its type (`Option`: absent is unmanaged; [`Text`]:
//! possibly sensitive; [`CreateOnly`]: a change means replace).

use std::path::PathBuf;

use crate::engine::manifest::edit::Origin;
use crate::engine::manifest::Text;
use crate::engine::model::CreateOnly;

/// Everything Twin documents declare.
#[derive(Debug, Clone, Default)]
pub struct Desired {
    /// The manifest root (for `source_id`: the git commit of the manifests).
    pub root: PathBuf,
    pub workspaces: Vec<WorkspaceSpec>,
    pub agents: Vec<AgentSpec>,
}

/// A declared workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceSpec {
    pub name: String,
    /// Pinned workspace id: match by id, so the name can change.
    pub id: Option<String>,
    /// `icon_config`; `None` is not managed.
    pub icon: Option<Text>,
    pub prune: bool,
    /// Its document (for `pull`).
    pub origin: Origin,
}

/// A declared agent. `None` on a field means "not managed".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentSpec {
    pub id: String,
    /// Workspace name (an agent in another workspace is moved).
    pub workspace: String,
    pub subagent: CreateOnly<bool>,
    pub derived_from: CreateOnly<String>,
    /// `derived_from` was written as is (not with `${var.NAME}`): `pull`
    /// may rewrite it.
    pub derived_from_literal: bool,
    /// Instructions text, CRLF turned into LF.
    pub instructions: Option<Text>,
    /// `Some(None)`: make sure there is no schedule.
    pub schedule: Option<Option<ScheduleSpec>>,
    /// `Some(vec![])`: make sure there are no webhooks.
    pub webhooks: Option<Vec<WebhookSpec>>,
    /// `file:line` of the document, for messages.
    pub source: String,
    /// Its document (for `pull`).
    pub origin: Origin,
}

/// A declared schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleSpec {
    pub cron: Text,
    /// `None`: not managed.
    pub paused: Option<bool>,
}

/// A declared webhook (identified by URL within its agent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSpec {
    /// Sensitive when interpolated or marked `sensitive: true`.
    pub url: Text,
    /// Sorted, without duplicates.
    pub events: Vec<String>,
    pub enabled: bool,
}

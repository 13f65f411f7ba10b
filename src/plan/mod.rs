//! The plan: plain data describing every change, its address, its
//! dependencies and the API operations that carry it out.
//!
//! [`diff`] builds it (a pure function of desired and live state), the
//! renderers in [`render`] show it, and `apply` executes its operations.
//! Operations hold real values (an interpolated URL, say) and are never
//! serialized for people; the displayed `before`/`after`/`diff` are redacted.

pub mod diff;
pub mod render;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::twin::types::PatchWebhook;

pub use diff::{diff, diff_scoped, PlanError};

/// The version of the JSON plan format (`-o json`, `--out`).
pub const FORMAT_VERSION: &str = "1";

/// What a change does to its resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Move,
    Replace,
    Delete,
}

impl Action {
    /// What an applied change did, for progress lines.
    pub fn past(self) -> &'static str {
        match self {
            Action::Create => "created",
            Action::Update => "updated",
            Action::Move => "moved",
            Action::Replace => "replaced",
            Action::Delete => "deleted",
        }
    }

    /// Terraform-style symbol.
    pub fn symbol(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update => "~",
            Action::Move => "→",
            Action::Replace => "-/+",
            Action::Delete => "-",
        }
    }
}

/// The kind of resource a change touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Resource {
    Workspace,
    Agent,
    Instructions,
    Schedule,
    Webhook,
}

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
    /// `url_shown` is the redacted form, for messages.
    CreateWebhook {
        agent_id: String,
        url: String,
        url_shown: String,
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

/// Who last changed drifted instructions, from the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drift {
    pub source_type: Option<String>,
    pub at: Option<String>,
    pub user: Option<String>,
    /// True when the last change was not made by twinform.
    pub outside_git: bool,
}

/// One change of the plan.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Change {
    /// Stable address, e.g. `agent["daily-digest"].webhook["https://…"]`.
    pub address: String,
    pub resource: Resource,
    pub action: Action,
    /// The agent the change belongs to (for grouping), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// Displayable state before and after (redacted).
    pub before: Value,
    pub after: Value,
    pub destructive: bool,
    pub depends_on: Vec<String>,
    /// Why (a replace's cause, an auto-paused schedule…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Unified diff of instructions (redacted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift: Option<Drift>,
    /// The API calls, in order. Never shown: they hold real values.
    #[serde(skip)]
    pub ops: Vec<Op>,
}

/// Counts for the summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
}

/// The whole plan.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Plan {
    pub changes: Vec<Change>,
    /// Addresses of live agents in declared workspaces that no manifest declares.
    pub unmanaged: Vec<String>,
    pub warnings: Vec<String>,
    /// Counts of what was managed, for the header line.
    #[serde(skip)]
    pub managed_workspaces: usize,
    #[serde(skip)]
    pub managed_agents: usize,
}

impl Plan {
    /// A replace counts as one add and one destroy; a move counts as a change.
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c.action {
                Action::Create => s.add += 1,
                Action::Update | Action::Move => s.change += 1,
                Action::Delete => s.destroy += 1,
                Action::Replace => {
                    s.add += 1;
                    s.destroy += 1;
                }
            }
        }
        s
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The destructive changes, for warnings and `--max-destroy`.
    pub fn destructive(&self) -> Vec<&Change> {
        self.changes.iter().filter(|c| c.destructive).collect()
    }

    /// The full address a `--target` names: an address as written, or a bare
    /// agent id.
    pub fn target_address(target: &str) -> String {
        if target.contains('[') {
            target.to_string()
        } else {
            diff::agent_address(target)
        }
    }

    /// Keep only changes matching a target (an address, a prefix of one, or a
    /// bare agent id), plus everything they depend on. (`--workspace` narrows
    /// earlier, in the read and the diff.)
    pub fn narrow(&mut self, targets: &[String]) {
        if targets.is_empty() {
            return;
        }
        let targets: Vec<String> = targets.iter().map(|t| Self::target_address(t)).collect();
        let matches = |c: &Change| {
            targets
                .iter()
                .any(|t| c.address == *t || c.address.starts_with(&format!("{t}.")))
        };
        let mut keep: BTreeSet<String> = self
            .changes
            .iter()
            .filter(|c| matches(c))
            .map(|c| c.address.clone())
            .collect();
        loop {
            let before = keep.len();
            for c in &self.changes {
                if keep.contains(&c.address) {
                    keep.extend(c.depends_on.iter().cloned());
                }
            }
            if keep.len() == before {
                break;
            }
        }
        self.changes.retain(|c| keep.contains(&c.address));
        self.unmanaged.retain(|u| targets.iter().any(|t| u == t));
    }
}

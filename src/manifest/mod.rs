//! The manifest language: raw YAML documents ([`model`]), loading with
//! positions ([`load`]), `${VAR}` interpolation ([`interpolate`]) and the
//! checks that turn documents into a validated [`Desired`] ([`validate`]).

pub mod diagnostic;
pub mod interpolate;
pub mod load;
pub mod model;
pub mod node;
pub mod validate;

use std::path::{Path, PathBuf};

pub use diagnostic::{Problem, SourceFile};

/// A string from a manifest, with what may be shown of it.
///
/// Invariant: when `sensitive` is false, `shown == value`; when it is true,
/// `shown` has `(sensitive)` where interpolated values were, and `secrets`
/// holds those values so every output can scrub them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    pub value: String,
    pub shown: String,
    pub sensitive: bool,
    pub secrets: Vec<String>,
}

impl Text {
    pub fn plain(s: &str) -> Self {
        Text {
            value: s.to_string(),
            shown: s.to_string(),
            sensitive: false,
            secrets: Vec::new(),
        }
    }
}

/// Everything the manifests declare, validated.
#[derive(Debug, Clone, Default)]
pub struct Desired {
    /// The manifest root (a directory).
    pub root: PathBuf,
    pub workspaces: Vec<WorkspaceSpec>,
    pub agents: Vec<AgentSpec>,
    /// Every interpolated value, to be scrubbed from all output.
    pub secrets: Vec<String>,
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
}

/// A declared agent. `None` on a field means "not managed".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentSpec {
    pub id: String,
    /// Workspace name.
    pub workspace: String,
    pub subagent: Option<bool>,
    pub derived_from: Option<String>,
    /// Instructions text, CRLF turned into LF.
    pub instructions: Option<Text>,
    /// `Some(None)`: make sure there is no schedule.
    pub schedule: Option<Option<ScheduleSpec>>,
    /// `Some(vec![])`: make sure there are no webhooks.
    pub webhooks: Option<Vec<WebhookSpec>>,
    /// `file:line` of the document, for messages.
    pub source: String,
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
    pub url: Text,
    /// Sorted, without duplicates.
    pub events: Vec<String>,
    pub enabled: bool,
}

/// The outcome of loading: the model when there were no errors, and every problem.
pub struct Validated {
    pub desired: Option<Desired>,
    pub problems: Vec<Problem>,
}

/// Load and validate the manifests under `path`, taking variables from the
/// process environment.
pub fn load(path: &Path) -> Validated {
    load_with(path, &|name| std::env::var(name).ok())
}

/// [`load`] with an explicit variable lookup (tests).
pub fn load_with(path: &Path, env: &dyn Fn(&str) -> Option<String>) -> Validated {
    let mut problems = Vec::new();
    let loaded = load::load(path, &mut problems);
    let desired = validate::validate(&loaded, env, &mut problems);
    let has_errors = problems.iter().any(Problem::is_error);
    Validated {
        desired: (!has_errors).then_some(desired),
        problems,
    }
}

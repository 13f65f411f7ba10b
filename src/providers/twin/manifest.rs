//! Twin's documents as written in YAML: the raw document types.
//!
//! These types are both what the loader deserializes and what `twinform schema`
//! derives the JSON Schema from, so the editor schema can never disagree with
//! the loader. Values that diagnostics must point at are wrapped in
//! [`Spanned`] (line, column, byte offset); the schema sees through the wrapper.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::engine::manifest::Identities;

use crate::engine::manifest::schema::{schema_of, KindSchema};
use crate::engine::manifest::{present, TextSource};

/// `kind: Workspace` (or `TwinWorkspace` in trees that mix providers).
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
pub enum WorkspaceKind {
    Workspace,
    TwinWorkspace,
}

/// `kind: Agent` (or `TwinAgent`).
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
pub enum AgentKind {
    Agent,
    TwinAgent,
}

/// The names `kind:` takes for each of Twin's document types.
pub const WORKSPACE_KINDS: &[&str] = &["Workspace", "TwinWorkspace"];
pub const AGENT_KINDS: &[&str] = &["Agent", "TwinAgent"];

/// Twin's kinds and their schemas.
pub fn kinds() -> Vec<KindSchema> {
    vec![
        KindSchema {
            names: WORKSPACE_KINDS,
            definition: "WorkspaceDoc",
            schema: schema_of::<WorkspaceDoc>(),
        },
        KindSchema {
            names: AGENT_KINDS,
            definition: "AgentDoc",
            schema: schema_of::<AgentDoc>(),
        },
    ]
}

/// A workspace (a folder of agents).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceDoc {
    pub kind: WorkspaceKind,
    /// The workspace name; its identity unless `id` is given.
    #[schemars(with = "String", length(min = 1))]
    pub name: Spanned<String>,
    /// Pin an existing workspace by id, so that `name` can be renamed.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub id: Option<Spanned<String>>,
    /// The workspace's `icon_config`: a JSON document in a string, sent as written.
    /// Absent: not managed.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub icon: Option<Spanned<String>>,
    /// Delete live agents in this workspace that no manifest declares.
    #[serde(default)]
    pub prune: bool,
}

/// An agent, its instructions, schedule and webhooks.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentDoc {
    pub kind: AgentKind,
    /// The agent_id (`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`), also sent at creation.
    #[schemars(with = "String", regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"))]
    pub id: Spanned<String>,
    /// The name of the workspace the agent lives in (declared in a manifest or existing live).
    #[schemars(with = "String", length(min = 1))]
    pub workspace: Spanned<String>,
    /// Whether the agent is a subagent. Set only at creation: a change replaces the agent.
    #[serde(default)]
    pub subagent: Option<bool>,
    /// The agent this one derives from. Set only at creation: a change replaces the agent.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub derived_from: Option<Spanned<String>>,
    /// The agent's instructions: inline text, or `{file: path}` relative to this manifest.
    /// Absent: not managed. (`null` is refused: Twin cannot remove instructions.)
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "TextSource")]
    pub instructions: Option<Spanned<Option<TextSource>>>,
    /// The cron schedule. Absent: not managed; `null`: make sure there is none.
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Option<ScheduleSpec>")]
    pub schedule: Option<Spanned<Option<ScheduleSpec>>>,
    /// The complete list of webhooks. Absent: not managed; `[]` or `null`: none.
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Option<Vec<WebhookSpec>>")]
    pub webhooks: Option<Spanned<Option<Vec<WebhookSpec>>>>,
}

/// A cron schedule.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSpec {
    /// Seven fields: `sec min hour day month day-of-week year`.
    #[schemars(with = "String", regex(pattern = r"^\s*\S+(\s+\S+){6}\s*$"))]
    pub cron: Spanned<String>,
    /// Whether the schedule is paused. Absent: not managed.
    #[serde(default)]
    pub paused: Option<bool>,
}

/// A webhook, identified by its URL within its agent.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookSpec {
    /// http(s) URL with a host.
    #[schemars(
        with = "String",
        regex(pattern = r"^[Hh][Tt][Tt][Pp][Ss]?://[^/?#\s]+[^\s]*$")
    )]
    pub url: Spanned<String>,
    /// A non-empty subset of run.started, run.completed, run.failed, run.stopped, run.paused.
    #[schemars(with = "Vec<EventName>", length(min = 1), extend("uniqueItems" = true))]
    pub events: Spanned<Vec<Spanned<String>>>,
    /// Deliveries on (`active`) or off (`disabled`). Default true.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// The URL itself is a secret (a Slack-style hook URL): shown only up to
    /// its host in every output. Interpolated URLs are sensitive anyway.
    #[serde(default)]
    pub sensitive: bool,
}

/// The webhook event names Twin knows.
#[derive(Debug, JsonSchema)]
#[allow(dead_code)]
pub enum EventName {
    #[serde(rename = "run.started")]
    RunStarted,
    #[serde(rename = "run.completed")]
    RunCompleted,
    #[serde(rename = "run.failed")]
    RunFailed,
    #[serde(rename = "run.stopped")]
    RunStopped,
    #[serde(rename = "run.paused")]
    RunPaused,
}

/// The event names, for validation.
pub const EVENTS: [&str; 5] = [
    "run.started",
    "run.completed",
    "run.failed",
    "run.stopped",
    "run.paused",
];

impl Identities for WorkspaceDoc {
    fn identities(&mut self) -> Vec<&mut Spanned<String>> {
        let mut out = vec![&mut self.name];
        out.extend(self.id.as_mut());
        out
    }
}

impl Identities for AgentDoc {
    fn identities(&mut self) -> Vec<&mut Spanned<String>> {
        let mut out = vec![&mut self.id, &mut self.workspace];
        out.extend(self.derived_from.as_mut());
        out
    }
}

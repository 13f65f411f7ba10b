//! The manifest language as written in YAML: the raw document types.
//!
//! These types are both what the loader deserializes and what `twinform schema`
//! derives the JSON Schema from, so the editor schema can never disagree with
//! the loader. Values that diagnostics must point at are wrapped in
//! [`Spanned`] (line, column, byte offset); the schema sees through the wrapper.

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};
use serde_saphyr::Spanned;

/// Only the `kind` of a document, read to choose the concrete type (the
/// concrete types are read on their own, which keeps their spans exact).
#[derive(Debug, Deserialize)]
pub struct KindOnly {
    pub kind: Spanned<String>,
}

/// `kind: Workspace`.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
pub enum WorkspaceKind {
    Workspace,
}

/// `kind: Agent`.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
pub enum AgentKind {
    Agent,
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
    #[schemars(with = "InstructionsSpec")]
    pub instructions: Option<Spanned<Option<InstructionsSpec>>>,
    /// The cron schedule. Absent: not managed; `null`: make sure there is none.
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Option<ScheduleSpec>")]
    pub schedule: Option<Spanned<Option<ScheduleSpec>>>,
    /// The complete list of webhooks. Absent: not managed; `[]` or `null`: none.
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Option<Vec<WebhookSpec>>")]
    pub webhooks: Option<Spanned<Option<Vec<WebhookSpec>>>>,
}

/// Instructions inline or from a file.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum InstructionsSpec {
    /// The instructions text itself.
    Inline(String),
    /// A file holding the instructions, relative to the manifest that names it.
    File(InstructionsFile),
}

/// `{file: prompts/x.md}`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InstructionsFile {
    /// Path relative to this manifest; must stay inside the manifest root.
    pub file: String,
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

/// Deserialize a field that is present (even as `null`) into `Some`, so that
/// "absent" (`None`, via `#[serde(default)]`) and "null" stay distinct.
fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// The manifest kinds, in the order `validate` lists them.
pub const KINDS: &[&str] = &["Workspace", "Agent"];

/// Every field name of every kind, at any depth (for "did you mean" on
/// a field that belongs somewhere else).
pub fn schema_of<T: JsonSchema>() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft07().into_generator();
    serde_json::to_value(generator.into_root_schema_for::<T>()).unwrap_or_default()
}

/// The JSON Schema of one kind's document, `None` for an unknown kind.
pub fn kind_schema(kind: &str) -> Option<serde_json::Value> {
    match kind {
        "Workspace" => Some(schema_of::<WorkspaceDoc>()),
        "Agent" => Some(schema_of::<AgentDoc>()),
        _ => None,
    }
}

/// The JSON Schema (draft-07, which yaml-language-server supports) of a
/// manifest document, discriminated by `kind`: an editor reports a mistake
/// against the document's own kind, not against every kind at once.
pub fn json_schema() -> serde_json::Value {
    assemble(&[
        (&["Workspace"], "WorkspaceDoc", schema_of::<WorkspaceDoc>()),
        (&["Agent"], "AgentDoc", schema_of::<AgentDoc>()),
    ])
}

/// One schema from per-kind schemas: `kind` must be one of the kinds, and an
/// `if kind is K then K's schema` branch per kind.
pub fn assemble(kinds: &[(&[&str], &str, serde_json::Value)]) -> serde_json::Value {
    use serde_json::{json, Map, Value};
    let mut definitions = Map::new();
    let mut names = Vec::new();
    let mut branches = Vec::new();
    for (kind_names, definition, schema) in kinds {
        let mut own = schema.as_object().cloned().unwrap_or_default();
        if let Some(Value::Object(defs)) = own.remove("definitions") {
            definitions.extend(defs);
        }
        own.remove("$schema");
        own.remove("title");
        definitions.insert(definition.to_string(), Value::Object(own));
        names.extend(kind_names.iter().copied());
        branches.push(json!({
            "if": {"properties": {"kind": {"enum": kind_names}}, "required": ["kind"]},
            "then": {"$ref": format!("#/definitions/{definition}")}
        }));
    }
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "twinform manifest document",
        "type": "object",
        "required": ["kind"],
        "properties": {"kind": {"description": "What the document declares.", "enum": names}},
        "allOf": branches,
        "definitions": definitions,
    })
}

//! Cadenya's desired state, validated. `Option`: absent is unmanaged;
//! [`Text`]: possibly sensitive (interpolated).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::engine::manifest::Text;

/// Everything Cadenya documents declare.
#[derive(Debug, Clone, Default)]
pub struct Desired {
    pub workspaces: Vec<WorkspaceSpec>,
    pub agents: Vec<AgentSpec>,
    pub tool_sets: Vec<ToolSetSpec>,
    pub layers: Vec<LayerSpec>,
    pub secrets: Vec<SecretSpec>,
}

impl Desired {
    pub fn workspace(&self, id: &str) -> Option<&WorkspaceSpec> {
        self.workspaces.iter().find(|w| w.id == id)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct WorkspaceSpec {
    pub id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub owner: Option<String>,
    pub prune: bool,
    /// `provider/family` of every model to enable (others are disabled).
    pub models: Option<Vec<String>>,
}

/// `draft` or `published`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Draft,
    Published,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AgentSpec {
    pub workspace: String,
    pub id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub status: Option<Status>,
    /// `random` or `weighted`.
    pub selection: Option<String>,
    pub webhook_url: Option<Text>,
    pub input_schema: Option<Value>,
    pub output_definition: Option<Value>,
    /// Complete when present.
    pub variations: Option<Vec<VariationSpec>>,
    /// Complete when present.
    pub schedules: Option<Vec<ScheduleSpec>>,
    /// `file:line`, for messages.
    pub source: String,
    /// Its document (for `pull`).
    pub origin: crate::engine::manifest::edit::Origin,
}

/// What a variation's `tools` entry points at (externalIds).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ToolRef {
    ToolSet(String),
    Tool(String, String),
    Agent(String),
}

impl ToolRef {
    /// As written in a manifest.
    pub fn written(&self) -> String {
        match self {
            ToolRef::ToolSet(t) => format!("tool_set:{t}"),
            ToolRef::Tool(s, t) => format!("tool:{s}/{t}"),
            ToolRef::Agent(a) => format!("agent:{a}"),
        }
    }

    /// Parse `tool_set:x`, `tool:x/y`, `agent:x`.
    pub fn parse(s: &str) -> Option<ToolRef> {
        let (kind, target) = s.split_once(':')?;
        let ok = |x: &str| !x.is_empty() && !x.contains(char::is_whitespace);
        match kind {
            "tool_set" if ok(target) && !target.contains('/') => {
                Some(ToolRef::ToolSet(target.into()))
            }
            "agent" if ok(target) && !target.contains('/') => Some(ToolRef::Agent(target.into())),
            "tool" => {
                let (set, tool) = target.split_once('/')?;
                (ok(set) && ok(tool) && !tool.contains('/'))
                    .then(|| ToolRef::Tool(set.into(), tool.into()))
            }
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct VariationSpec {
    pub id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub prompt: Option<Text>,
    pub model: Option<String>,
    pub temperature: Option<f64>,
    pub weight: Option<u64>,
    /// A set.
    pub tools: Option<Vec<ToolRef>>,
    /// Layer ids, bottom first.
    pub memory: Option<Vec<String>>,
}

/// When a schedule fires, compiled to the wire's form.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// From a cron: calendars (normalized ranges), and the cron as written.
    Cron { text: String, calendars: Vec<Value> },
    /// From `every`: seconds, and the text as written.
    Every { text: String, seconds: u64 },
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleSpec {
    pub id: String,
    pub name: Option<String>,
    pub rule: Rule,
    pub timezone: String,
    pub message: Text,
    /// `skip` or `allow`.
    pub overlap: Option<String>,
    pub paused: Option<bool>,
    /// A variation's id.
    pub variation: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Adapter {
    /// URLs take `${VAR}` like headers (a token in a URL is a credential).
    Http {
        base_url: Text,
        headers: Option<BTreeMap<String, Text>>,
    },
    Mcp {
        url: Text,
        headers: Option<BTreeMap<String, Text>>,
    },
    OpenApi {
        url: Text,
        base_url: Option<Text>,
        headers: Option<BTreeMap<String, Text>>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct ToolSetSpec {
    pub workspace: String,
    pub id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub adapter: Option<Adapter>,
    pub tools: Option<Vec<ToolSpec>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    pub id: String,
    pub name: Option<String>,
    pub description: String,
    pub parameters: Value,
    /// Method and path.
    pub http: Option<(String, Option<String>)>,
    pub requires_approval: Option<bool>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LayerSpec {
    pub workspace: String,
    pub id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    /// `skills` or `episodic`.
    pub layer_type: String,
    pub entries: Option<Vec<EntrySpec>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EntrySpec {
    pub id: String,
    pub key: String,
    pub description: Option<String>,
    pub content: Text,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SecretSpec {
    pub workspace: String,
    pub id: String,
    pub name: String,
    /// Always sensitive.
    pub value: Text,
}

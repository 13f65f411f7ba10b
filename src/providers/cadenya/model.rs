//! Cadenya's desired state, validated: each document's and child's values
//! as its table read them ([`Values`]: absent is unmanaged), plus what the
//! structural fields resolve to (assignment references, memory stacks,
//! schedule rules, adapters, secrets).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::engine::manifest::edit::Origin;
use crate::engine::manifest::Text;
use crate::engine::resource::Values;

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

/// The display name a resource is created with: its `name` (or `title`),
/// else its id.
pub fn display_name(values: &Values, key: &str, id: &str) -> String {
    values.str(key).unwrap_or(id).to_string()
}

#[derive(Debug, Clone)]
pub struct WorkspaceSpec {
    pub id: String,
    pub values: Values,
    pub owner: Option<String>,
    pub prune: bool,
    /// `provider/family` of every model to enable (others are disabled).
    pub models: Option<Vec<String>>,
    pub origin: Origin,
}

/// `draft` or `published`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Draft,
    Published,
}

#[derive(Debug, Clone)]
pub struct AgentSpec {
    pub workspace: String,
    pub id: String,
    pub values: Values,
    pub status: Option<Status>,
    /// Complete when present.
    pub variations: Option<Vec<VariationSpec>>,
    /// Complete when present.
    pub schedules: Option<Vec<ScheduleSpec>>,
    /// `file:line`, for messages.
    pub source: String,
    /// Its document (for `pull`).
    pub origin: Origin,
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

#[derive(Debug, Clone)]
pub struct VariationSpec {
    pub id: String,
    pub values: Values,
    /// A set.
    pub tools: Option<Vec<ToolRef>>,
    /// Layer ids, bottom first (the last is consulted first).
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

#[derive(Debug, Clone)]
pub struct ScheduleSpec {
    pub id: String,
    pub values: Values,
    pub rule: Rule,
    pub timezone: String,
    /// A variation's id.
    pub variation: Option<String>,
}

impl ScheduleSpec {
    pub fn paused(&self) -> bool {
        self.values.bool("paused") == Some(true)
    }
}

/// Header values take `${VAR}` (then never shown).
pub type Headers = Option<BTreeMap<String, Text>>;

#[derive(Debug, Clone, PartialEq)]
pub enum Adapter {
    /// URLs take `${VAR}` like headers (a token in a URL is a credential).
    Http {
        base_url: Text,
        headers: Headers,
    },
    Mcp {
        url: Text,
        headers: Headers,
    },
    OpenApi {
        url: Text,
        base_url: Option<Text>,
        headers: Headers,
    },
    Bare {
        content_timeout: Option<i64>,
    },
}

impl Adapter {
    /// Its variant's name on the wire (the union's `type` tag).
    pub fn tag(&self) -> &'static str {
        match self {
            Adapter::Http { .. } => "http",
            Adapter::Mcp { .. } => "mcp",
            Adapter::OpenApi { .. } => "openapi",
            Adapter::Bare { .. } => "bare",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ToolSetSpec {
    pub workspace: String,
    pub id: String,
    pub values: Values,
    pub adapter: Option<Adapter>,
    /// Write-only secrets by name (always sensitive); complete when present.
    pub secrets: Option<BTreeMap<String, Text>>,
    pub tools: Option<Vec<ToolSpec>>,
    pub origin: Origin,
}

#[derive(Debug, Clone)]
pub struct ToolSpec {
    pub id: String,
    pub values: Values,
}

#[derive(Debug, Clone)]
pub struct LayerSpec {
    pub workspace: String,
    pub id: String,
    pub values: Values,
    pub entries: Option<Vec<EntrySpec>>,
    pub origin: Origin,
}

#[derive(Debug, Clone)]
pub struct EntrySpec {
    pub id: String,
    /// `key` (default: the id).
    pub key: String,
    pub values: Values,
}

#[derive(Debug, Clone)]
pub struct SecretSpec {
    pub workspace: String,
    pub id: String,
    pub values: Values,
    pub name: String,
    /// Always sensitive.
    pub value: Text,
    pub origin: Origin,
}

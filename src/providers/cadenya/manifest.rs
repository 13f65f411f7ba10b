//! Cadenya's documents as written in YAML (snake_case; the wire is
//! camelCase), and their schema.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::engine::manifest::schema::{schema_of, KindSchema};
use crate::engine::manifest::{Identities, TextSource};

macro_rules! kind {
    ($name:ident, $variant:ident) => {
        #[doc = concat!("`kind: ", stringify!($variant), "`.")]
        #[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
        pub enum $name {
            $variant,
        }
    };
}

kind!(WorkspaceKind, CadenyaWorkspace);
kind!(AgentKind, CadenyaAgent);
kind!(ToolSetKind, CadenyaToolSet);
kind!(MemoryLayerKind, CadenyaMemoryLayer);
kind!(SecretKind, CadenyaSecret);

/// A workspace: where every other Cadenya document lives.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceDoc {
    pub kind: WorkspaceKind,
    /// Its externalId (or canonical id). Created when absent.
    #[schemars(with = "String", length(min = 1))]
    pub id: Spanned<String>,
    /// Display name (default: the id).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub name: Option<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub description: Option<Spanned<String>>,
    /// Stamped on everything twinform writes in this workspace (label
    /// `twinform.io/owner` and `bundleKey`); prune deletes only what carries it.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub owner: Option<Spanned<String>>,
    /// Delete owned agents, tool sets, memory layers and secrets that no
    /// manifest declares (needs `owner`).
    #[serde(default)]
    pub prune: bool,
    /// Exactly these models enabled (`provider/family`); others disabled.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub models: Option<Spanned<Vec<Spanned<String>>>>,
}

/// An agent, its variations and its schedules.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentDoc {
    pub kind: AgentKind,
    /// The workspace's `id`.
    #[schemars(with = "String")]
    pub workspace: Spanned<String>,
    /// The agent's externalId: its identity (`name` may change freely).
    #[schemars(with = "String", length(min = 1))]
    pub id: Spanned<String>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub name: Option<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub description: Option<Spanned<String>>,
    /// draft or published.
    #[serde(default)]
    #[schemars(with = "Option<AgentStatus>")]
    pub status: Option<Spanned<String>>,
    /// How a variation is picked: random or weighted.
    #[serde(default)]
    #[schemars(with = "Option<Selection>")]
    pub selection: Option<Spanned<String>>,
    /// Where Cadenya posts objective events (takes `${VAR}`, never shown then).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub webhook_url: Option<Spanned<String>>,
    /// JSON Schema of the agent's input.
    #[serde(default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub input_schema: Option<Spanned<serde_json::Value>>,
    /// What the agent's objectives produce (Cadenya's `outputDefinition`).
    #[serde(default)]
    #[schemars(with = "Option<serde_json::Map<String, serde_json::Value>>")]
    pub output_definition: Option<Spanned<serde_json::Value>>,
    /// Complete when present, keyed by externalId.
    #[serde(default)]
    #[schemars(with = "Option<BTreeMap<String, VariationDoc>>")]
    pub variations: Option<Spanned<BTreeMap<String, VariationDoc>>>,
    /// Complete when present, keyed by externalId.
    #[serde(default)]
    #[schemars(with = "Option<BTreeMap<String, ScheduleDoc>>")]
    pub schedules: Option<Spanned<BTreeMap<String, ScheduleDoc>>>,
}

/// One variation of an agent's behaviour.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VariationDoc {
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub name: Option<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub description: Option<Spanned<String>>,
    /// The system prompt: inline text, or `{file: path}`.
    #[serde(default)]
    #[schemars(with = "Option<TextSource>")]
    pub prompt: Option<Spanned<TextSource>>,
    /// `family/model`, e.g. `anthropic/claude-sonnet-4.6`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub model: Option<Spanned<String>>,
    /// 0 to 1.
    #[serde(default)]
    #[schemars(with = "Option<f64>", range(min = 0.0, max = 1.0))]
    pub temperature: Option<Spanned<f64>>,
    /// Its share when the agent picks by weight (0: never picked automatically).
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub weight: Option<Spanned<u64>>,
    /// `tool_set:<id>`, `tool:<tool-set>/<tool>`, `agent:<id>`: a set.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub tools: Option<Spanned<Vec<Spanned<String>>>>,
    /// Memory layer ids, bottom of the stack first (at most 10).
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub memory: Option<Spanned<Vec<Spanned<String>>>>,
}

/// A schedule: `cron` (7 fields, as for Twin) or `every` (`15m`, `2h`, `1d`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleDoc {
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub name: Option<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub cron: Option<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub every: Option<Spanned<String>>,
    /// IANA time zone (default UTC).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub timezone: Option<Spanned<String>>,
    /// The first message of each objective it starts.
    #[schemars(with = "String")]
    pub message: Spanned<String>,
    /// skip (default) or allow a run while the previous one is going.
    #[serde(default)]
    #[schemars(with = "Option<Overlap>")]
    pub overlap: Option<Spanned<String>>,
    #[serde(default)]
    pub paused: Option<bool>,
    /// Always run this variation (its id) instead of the agent's selection.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub variation: Option<Spanned<String>>,
}

/// A tool set and its tools.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolSetDoc {
    pub kind: ToolSetKind,
    #[schemars(with = "String")]
    pub workspace: Spanned<String>,
    #[schemars(with = "String", length(min = 1))]
    pub id: Spanned<String>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub name: Option<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub description: Option<Spanned<String>>,
    #[serde(default)]
    pub adapter: Option<AdapterDoc>,
    /// Complete when present, keyed by externalId.
    #[serde(default)]
    #[schemars(with = "Option<BTreeMap<String, ToolDoc>>")]
    pub tools: Option<Spanned<BTreeMap<String, ToolDoc>>>,
}

/// Where a tool set's tools come from: exactly one of `http`, `mcp`, `openapi`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdapterDoc {
    #[serde(default)]
    pub http: Option<HttpAdapterDoc>,
    #[serde(default)]
    pub mcp: Option<McpAdapterDoc>,
    #[serde(default)]
    pub openapi: Option<OpenApiAdapterDoc>,
}

/// Header values take `${VAR}` (then never shown).
pub type Headers = BTreeMap<String, Spanned<String>>;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpAdapterDoc {
    #[schemars(with = "String")]
    pub base_url: Spanned<String>,
    #[serde(default)]
    #[schemars(with = "Option<BTreeMap<String, String>>")]
    pub headers: Option<Headers>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct McpAdapterDoc {
    #[schemars(with = "String")]
    pub url: Spanned<String>,
    #[serde(default)]
    #[schemars(with = "Option<BTreeMap<String, String>>")]
    pub headers: Option<Headers>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenApiAdapterDoc {
    #[schemars(with = "String")]
    pub url: Spanned<String>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub base_url: Option<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Option<BTreeMap<String, String>>")]
    pub headers: Option<Headers>,
}

/// One tool of a tool set.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolDoc {
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub name: Option<Spanned<String>>,
    #[schemars(with = "String")]
    pub description: Spanned<String>,
    /// JSON Schema of its arguments (default `{type: object}`).
    #[serde(default)]
    pub parameters: Option<serde_json::Value>,
    #[serde(default)]
    pub http: Option<ToolHttpDoc>,
    #[serde(default)]
    pub requires_approval: Option<bool>,
}

/// How an HTTP tool calls its tool set's base URL.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolHttpDoc {
    /// GET, POST, PUT, PATCH or DELETE.
    #[schemars(with = "String")]
    pub method: Spanned<String>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub path: Option<Spanned<String>>,
}

/// A memory layer and its entries.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemoryLayerDoc {
    pub kind: MemoryLayerKind,
    #[schemars(with = "String")]
    pub workspace: Spanned<String>,
    #[schemars(with = "String", length(min = 1))]
    pub id: Spanned<String>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub name: Option<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub description: Option<Spanned<String>>,
    /// skills or episodic; set at creation only.
    #[schemars(with = "LayerType")]
    #[serde(rename = "type")]
    pub layer_type: Spanned<String>,
    /// Complete when present, keyed by externalId.
    #[serde(default)]
    #[schemars(with = "Option<BTreeMap<String, EntryDoc>>")]
    pub entries: Option<Spanned<BTreeMap<String, EntryDoc>>>,
}

/// One memory entry.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryDoc {
    /// Its key in the layer (default: the entry's id).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub key: Option<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub description: Option<Spanned<String>>,
    /// Inline text, or `{file: path}`.
    #[schemars(with = "TextSource")]
    pub content: Spanned<TextSource>,
}

/// A workspace secret: write-only, never read back, never printed.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretDoc {
    pub kind: SecretKind,
    #[schemars(with = "String")]
    pub workspace: Spanned<String>,
    #[schemars(with = "String", length(min = 1))]
    pub id: Spanned<String>,
    /// The name references use (`${NAME}` in tool headers); default: the id.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub name: Option<Spanned<String>>,
    /// Normally `${VAR}`.
    #[schemars(with = "String")]
    pub value: Spanned<String>,
}

#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum AgentStatus {
    Draft,
    Published,
}

#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum Selection {
    Random,
    Weighted,
}

#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum Overlap {
    Skip,
    Allow,
}

#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum LayerType {
    Skills,
    Episodic,
}

/// Cadenya's kinds and their schemas.
pub fn kinds() -> Vec<KindSchema> {
    vec![
        KindSchema {
            names: &["CadenyaWorkspace"],
            definition: "CadenyaWorkspaceDoc",
            schema: schema_of::<WorkspaceDoc>(),
        },
        KindSchema {
            names: &["CadenyaAgent"],
            definition: "CadenyaAgentDoc",
            schema: schema_of::<AgentDoc>(),
        },
        KindSchema {
            names: &["CadenyaToolSet"],
            definition: "CadenyaToolSetDoc",
            schema: schema_of::<ToolSetDoc>(),
        },
        KindSchema {
            names: &["CadenyaMemoryLayer"],
            definition: "CadenyaMemoryLayerDoc",
            schema: schema_of::<MemoryLayerDoc>(),
        },
        KindSchema {
            names: &["CadenyaSecret"],
            definition: "CadenyaSecretDoc",
            schema: schema_of::<SecretDoc>(),
        },
    ]
}

impl Identities for WorkspaceDoc {
    fn identities(&mut self) -> Vec<&mut Spanned<String>> {
        let mut out = vec![&mut self.id];
        out.extend(self.name.as_mut());
        out
    }
}

/// Workspace-scoped documents: the workspace, the id and the display name.
macro_rules! scoped_identities {
    ($($doc:ty),*) => {$(
        impl Identities for $doc {
            fn identities(&mut self) -> Vec<&mut Spanned<String>> {
                let mut out = vec![&mut self.workspace, &mut self.id];
                out.extend(self.name.as_mut());
                out
            }
        }
    )*};
}
scoped_identities!(AgentDoc, ToolSetDoc, MemoryLayerDoc, SecretDoc);

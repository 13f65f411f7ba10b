//! Cadenya's resources as tables (the API of the official Python SDK
//! `cadenya` 1.8.0): each field declared once, with its manifest key, its
//! wire place (read, write and the narrowest update mask), its type, its
//! nature and the server's default. Reading (every unknown field at any
//! depth reported from the same description), the schema, field diffs and
//! update masks, create bodies, export and pull all derive from these.
//!
//! Structure a table cannot say stays in `diff/` and is marked
//! `structural` here (read and described by the table, compared by hand):
//! a variation's assignment set (`tools`) and memory stack (`memory`), a
//! schedule's rule (`cron`/`every`/`timezone` compile to calendars and
//! intervals) and pinned `variation`, a tool set's adapter (a tagged union
//! whose headers merge by name) and its write-only secrets, a workspace's
//! `owner`, `prune` and `models`, and children maps. Fields with
//! [`Nature::action`] (an agent's `status`, a schedule's `paused`) are
//! compared by the table and written by actions (`:publish`, `:pause`…).
//!
//! Wire shapes cite the SDK: `types.py:618 AgentSpec`, `:695
//! AgentVariationSpec` (`:758 ModelConfig`, `:741 Constraints`, `:724
//! CompactionConfig`, `:785 ProgressiveDiscovery`), `:576
//! AgentScheduleSpec`, `:4942 ToolSetSpec`, `:4993 ToolSpec`, `:2599
//! MemoryLayerSpec`, `:2476`/`:2540` memory entry specs, `:2493
//! MemoryEntryDetail.content`, `:3782 ResourceMetadata`.

use crate::engine::resource::{Field, Nature, Table, Ty, Wire};

const STRUCTURAL: Nature = Nature::STRUCTURAL;

/// `name` (the resource's display name, `metadata.name`): takes `${var.NAME}`.
const fn name(doc: &'static str) -> Field {
    Field::new("name", Ty::Str, Wire::at("metadata.name"), doc).nature(Nature::VARS)
}

const fn workspace_ref() -> Field {
    Field::new(
        "workspace",
        Ty::Str,
        Wire::NONE,
        "The workspace's `id` (a `CadenyaWorkspace` document).",
    )
    .nature(Nature::IDENTITY)
}

const fn id(doc: &'static str) -> Field {
    Field::new("id", Ty::Str, Wire::at("metadata.externalId"), doc).nature(Nature::IDENTITY)
}

const fn description() -> Field {
    Field::new(
        "description",
        Ty::Str,
        Wire::at("spec.description"),
        "What it is for.",
    )
}

const COUNT: Ty = Ty::Int {
    min: 0,
    max: i32::MAX as i64,
};

// ---- workspaces ----

/// `CadenyaWorkspace`.
pub static WORKSPACE: Table = Table {
    name: "CadenyaWorkspaceDoc",
    doc: "A workspace: where every other Cadenya document lives.",
    fields: &[
        id("Its externalId (or canonical id `ws_…`). Created when absent."),
        name("Display name (default: the id)."),
        description(),
        Field::new(
            "owner",
            Ty::Str,
            Wire::NONE,
            "Stamped on everything twinform writes in this workspace (the label `twinform.io/owner`); prune deletes only what carries it. A label value: 1 to 63 letters, digits, `-`, `_` or `.`.",
        )
        .nature(STRUCTURAL),
        Field::new(
            "prune",
            Ty::Bool,
            Wire::NONE,
            "Delete owned agents, tool sets, memory layers and secrets that no manifest declares (needs `owner`).",
        )
        .nature(STRUCTURAL),
        Field::new(
            "models",
            Ty::List { set: true },
            Wire::NONE,
            "Exactly these models enabled (`provider/family`, e.g. `anthropic/claude-sonnet-4.6`); the workspace's others disabled.",
        )
        .nature(STRUCTURAL),
    ],
};

// ---- agents ----

static EPISODIC: Table = Table {
    name: "CadenyaEpisodicMemory",
    doc: "Episodic memory: objectives then need an episodic key, and the runtime keeps a system-managed layer per (agent, key).",
    fields: &[
        Field::new(
            "enabled",
            Ty::Bool,
            Wire::at("spec.enableEpisodicMemory"),
            "Turn episodic memory on.",
        )
        .label("episodic_memory.enabled")
        .default("false"),
        Field::new(
            "ttl",
            COUNT,
            Wire::at("spec.episodicMemoryTtl"),
            "Sliding retention, as the API takes it (`episodicMemoryTtl`; its unit is undocumented). Absent: kept indefinitely.",
        )
        .label("episodic_memory.ttl"),
        Field::new(
            "include_subject_memories",
            Ty::Bool,
            Wire::at("spec.alwaysIncludeSubjectMemories"),
            "Always include the subject's memories (`alwaysIncludeSubjectMemories`).",
        )
        .label("episodic_memory.include_subject_memories")
        .default("false"),
    ],
};

/// `CadenyaAgent`.
pub static AGENT: Table = Table {
    name: "CadenyaAgentDoc",
    doc: "An agent, its variations and its schedules.",
    fields: &[
        workspace_ref(),
        id("The agent's externalId: its identity (`name` may change freely)."),
        name("Display name (default: the id)."),
        description(),
        Field::new(
            "status",
            Ty::Enum(&[("draft", "STATE_DRAFT"), ("published", "STATE_PUBLISHED")]),
            Wire::at("state"),
            "draft or published (`:publish` once its variations exist, `:unpublish`). An archived agent is unarchived first.",
        )
        .nature(Nature::ACTION),
        Field::new(
            "selection",
            Ty::Enum(&[
                ("random", "VARIATION_SELECTION_MODE_RANDOM"),
                ("weighted", "VARIATION_SELECTION_MODE_WEIGHTED"),
            ]),
            Wire::at("spec.variationSelectionMode"),
            "How a variation is picked: random (the default), or weighted by the variations' feedback scores.",
        )
        .default("\"VARIATION_SELECTION_MODE_RANDOM\""),
        Field::new(
            "webhook_url",
            Ty::Text,
            Wire::at("spec.webhookEventsUrl"),
            "Where Cadenya posts the events of the agent's objectives (takes `${VAR}`, never shown then).",
        ),
        Field::new(
            "input_schema",
            Ty::Json,
            Wire::at("spec.systemPromptDataSchema"),
            "JSON Schema of the data objectives give the system prompt (Cadenya's `systemPromptDataSchema`; also the tool input when the agent is a sub-agent).",
        )
        .aliases(&["system_prompt_data_schema"]),
        Field::new(
            "output_definition",
            Ty::Json,
            Wire::at("spec.outputDefinition"),
            "What the agent's objectives produce (Cadenya's `outputDefinition`).",
        ),
        Field::new(
            "episodic_memory",
            Ty::Group(&EPISODIC),
            Wire::NONE,
            "Episodic memory settings: `{enabled, ttl, include_subject_memories}`.",
        ),
        Field::new(
            "variations",
            Ty::Children(&VARIATION),
            Wire::NONE,
            "Complete when present, keyed by externalId.",
        )
        .nature(STRUCTURAL),
        Field::new(
            "schedules",
            Ty::Children(&SCHEDULE),
            Wire::NONE,
            "Complete when present, keyed by externalId.",
        )
        .nature(STRUCTURAL),
    ],
};

// ---- variations ----

static CONSTRAINTS: Table = Table {
    name: "CadenyaConstraints",
    doc: "Limits of one objective.",
    fields: &[
        Field::new(
            "max_tool_calls",
            COUNT,
            Wire::at("spec.constraints.maxToolCalls"),
            "Tool calls per objective (0: no limit).",
        )
        .label("constraints.max_tool_calls"),
        Field::new(
            "max_sub_objectives",
            COUNT,
            Wire::at("spec.constraints.maxSubObjectives"),
            "Sub-objectives per objective (0: no limit).",
        )
        .label("constraints.max_sub_objectives"),
        Field::new(
            "inactivity_timeout",
            Ty::Duration,
            Wire::at("spec.constraints.inactivityTimeout"),
            "How long an objective may wait idle: 1m to 24h (`90m`, `2h`).",
        )
        .label("constraints.inactivity_timeout"),
    ],
};

static COMPACTION: Table = Table {
    name: "CadenyaCompaction",
    doc: "How a long objective's context is compacted (tool results cleared, then summarized).",
    fields: &[
        Field::new(
            "threshold",
            Ty::Float { min: 0.0, max: 1.0 },
            Wire::at("spec.compactionConfig.triggerThreshold"),
            "The share of the context window that starts compaction (default 0.75).",
        )
        .label("compaction.threshold")
        .default("0.75"),
        Field::new(
            "instructions",
            Ty::Text,
            Wire::at("spec.compactionConfig.summarization.instructions"),
            "Instructions for the summary.",
        )
        .label("compaction.instructions"),
        Field::new(
            "keep_tool_results",
            COUNT,
            Wire::at("spec.compactionConfig.toolResultClearing.preserveRecentResults"),
            "Clear old tool results, keeping this many recent ones.",
        )
        .label("compaction.keep_tool_results"),
    ],
};

static DISCOVERY: Table = Table {
    name: "CadenyaProgressiveDiscovery",
    doc: "Progressive tool discovery (`tool_search`).",
    fields: &[
        Field::new(
            "max_tools",
            COUNT,
            Wire::at("spec.progressiveDiscovery.maxTools"),
            "Tools per `tool_search` call.",
        )
        .label("progressive_discovery.max_tools"),
        Field::new(
            "hints",
            Ty::List { set: false },
            Wire::at("spec.progressiveDiscovery.hints"),
            "Hints added to the prompt.",
        )
        .label("progressive_discovery.hints"),
    ],
};

/// One variation of an agent (`variations.<id>`).
pub static VARIATION: Table = Table {
    name: "CadenyaVariation",
    doc: "One variation of an agent's behaviour.",
    fields: &[
        name("Display name (default: the id)."),
        description(),
        Field::new(
            "prompt",
            Ty::LongText,
            Wire::at("spec.systemPromptTemplate"),
            "The system prompt (a Liquid template, rendered with the objective's data): inline text, `{file: path}` or `{template: path}`.",
        )
        .aliases(&["system_prompt_template"]),
        Field::new(
            "first_user_message",
            Ty::LongText,
            Wire::at("spec.firstUserMessageTemplate"),
            "The first user message (a Liquid template), when an objective gives none.",
        ),
        Field::new(
            "model",
            Ty::Str,
            Wire::at("spec.modelConfig.modelId"),
            "The model: `<AI provider key>.<model>` (e.g. `getting-started-key.anthropic-claude-sonnet-4-6`) or a `model_…` id.",
        ),
        Field::new(
            "temperature",
            Ty::Float { min: 0.0, max: 2.0 },
            Wire::at("spec.modelConfig.temperature"),
            "0 to 2 (needs `model`).",
        ),
        Field::new(
            "top_p",
            Ty::Float { min: 0.0, max: 1.0 },
            Wire::at("spec.modelConfig.topP"),
            "Nucleus sampling, 0 to 1 (needs `model`).",
        ),
        Field::new(
            "top_k",
            COUNT,
            Wire::at("spec.modelConfig.topK"),
            "Top-k sampling (needs `model`).",
        ),
        Field::new(
            "max_output_tokens",
            Ty::Int {
                min: 1,
                max: i32::MAX as i64,
            },
            Wire::at("spec.modelConfig.maxOutputTokens"),
            "The longest answer, in tokens (needs `model`).",
        ),
        Field::new(
            "stop_sequences",
            Ty::List { set: false },
            Wire::at("spec.modelConfig.stopSequences"),
            "Texts that end an answer (needs `model`).",
        ),
        Field::new(
            "reasoning_effort",
            Ty::Enum(&[
                ("none", "REASONING_EFFORT_NONE"),
                ("low", "REASONING_EFFORT_LOW"),
                ("medium", "REASONING_EFFORT_MEDIUM"),
                ("high", "REASONING_EFFORT_HIGH"),
            ]),
            Wire::at("spec.modelConfig.reasoningEffort"),
            "none, low, medium or high (needs `model`).",
        ),
        Field::new(
            "caching",
            Ty::Bool,
            Wire::at("spec.modelConfig.cachingEnabled"),
            "Prompt caching (absent: on when the model can; needs `model`).",
        ),
        Field::new(
            "constraints",
            Ty::Group(&CONSTRAINTS),
            Wire::NONE,
            "`{max_tool_calls, max_sub_objectives, inactivity_timeout}`.",
        ),
        Field::new(
            "compaction",
            Ty::Group(&COMPACTION),
            Wire::NONE,
            "`{threshold, instructions, keep_tool_results}`.",
        ),
        Field::new(
            "progressive_discovery",
            Ty::Group(&DISCOVERY),
            Wire::NONE,
            "`{max_tools, hints}`.",
        ),
        Field::new(
            "tools",
            Ty::List { set: true },
            Wire::NONE,
            "`tool_set:<id>`, `tool:<tool-set>/<tool>`, `agent:<id>`: a set (agent pool assignments made elsewhere are kept).",
        )
        .nature(STRUCTURAL),
        Field::new(
            "memory",
            Ty::List { set: false },
            Wire::NONE,
            "Memory layer ids, bottom of the stack first: the last is on top, the most specific, consulted first (at most 10).",
        )
        .nature(STRUCTURAL),
        Field::new(
            "weight",
            Ty::Removed {
                why: "weighted selection now uses the variations' feedback scores (Cadenya's `info.score`), not a weight per variation: remove `weight`, and keep `selection: weighted` on the agent",
            },
            Wire::NONE,
            "",
        ),
    ],
};

// ---- schedules ----

/// One schedule of an agent (`schedules.<id>`).
pub static SCHEDULE: Table = Table {
    name: "CadenyaSchedule",
    doc: "A schedule: `cron` (7 fields, as for Twin) or `every` (`15m`, `2h`, `1d`).",
    fields: &[
        name("Display name (default: the id)."),
        Field::new(
            "cron",
            Ty::Str,
            Wire::NONE,
            "7 fields (`sec min hour day-of-month month day-of-week year`), compiled to a calendar.",
        )
        .nature(STRUCTURAL),
        Field::new(
            "every",
            Ty::Str,
            Wire::NONE,
            "An interval: `15m`, `2h`, `1d`.",
        )
        .nature(STRUCTURAL),
        Field::new(
            "timezone",
            Ty::Str,
            Wire::NONE,
            "IANA time zone (default UTC).",
        )
        .nature(STRUCTURAL),
        Field::new(
            "message",
            Ty::Text,
            Wire::at("spec.firstUserMessage"),
            "The first user message of each objective it starts (absent: the variation's `first_user_message`).",
        ),
        Field::new(
            "overlap",
            Ty::Enum(&[("skip", "OVERLAP_POLICY_SKIP"), ("allow", "OVERLAP_POLICY_ALLOW")]),
            Wire::at("spec.overlapPolicy"),
            "skip (the default) or allow a run while the previous one is going.",
        )
        .default("\"OVERLAP_POLICY_SKIP\""),
        Field::new(
            "paused",
            Ty::Flag {
                on: "STATE_PAUSED",
                off: "STATE_ACTIVE",
            },
            Wire::at("state"),
            "Paused (`:pause` right after it is created; `:resume`).",
        )
        .nature(Nature::ACTION),
        Field::new(
            "variation",
            Ty::Str,
            Wire::NONE,
            "Always run this variation (its id) instead of the agent's selection.",
        )
        .nature(STRUCTURAL),
        Field::new(
            "prompt_data",
            Ty::Json,
            Wire::at("spec.systemPromptData"),
            "Data rendered into the system prompt (must satisfy the agent's `input_schema`).",
        ),
        Field::new(
            "message_data",
            Ty::Json,
            Wire::at("spec.firstUserMessageData"),
            "Data rendered into the variation's `first_user_message`.",
        ),
    ],
};

// ---- tool sets ----

const fn headers() -> Field {
    Field::new(
        "headers",
        Ty::TextMap,
        Wire::NONE,
        "Header values take `${VAR}` (then never shown); headers the manifest does not declare are kept.",
    )
    .nature(STRUCTURAL)
}

static HTTP_ADAPTER: Table = Table {
    name: "CadenyaHttpAdapter",
    doc: "Tools called over HTTP under a base URL (each declared in `tools`).",
    fields: &[
        Field::new("base_url", Ty::Text, Wire::NONE, "Takes `${VAR}`.").nature(Nature {
            required: true,
            structural: true,
            ..Nature::NONE
        }),
        headers(),
    ],
};

static MCP_ADAPTER: Table = Table {
    name: "CadenyaMcpAdapter",
    doc: "An MCP server: Cadenya syncs its tools.",
    fields: &[
        Field::new("url", Ty::Text, Wire::NONE, "Takes `${VAR}`.").nature(Nature {
            required: true,
            structural: true,
            ..Nature::NONE
        }),
        headers(),
    ],
};

static OPENAPI_ADAPTER: Table = Table {
    name: "CadenyaOpenApiAdapter",
    doc: "An OpenAPI document by URL: Cadenya syncs its operations as tools.",
    fields: &[
        Field::new(
            "url",
            Ty::Text,
            Wire::NONE,
            "The document's URL (takes `${VAR}`).",
        )
        .nature(Nature {
            required: true,
            structural: true,
            ..Nature::NONE
        }),
        Field::new(
            "base_url",
            Ty::Text,
            Wire::NONE,
            "The API's base URL, when not the document's.",
        )
        .nature(STRUCTURAL),
        headers(),
    ],
};

static BARE_ADAPTER: Table = Table {
    name: "CadenyaBareAdapter",
    doc: "Tools with no call of their own (each declared in `tools`).",
    fields: &[Field::new(
        "content_timeout",
        COUNT,
        Wire::NONE,
        "As the API takes it (`contentTimeout`).",
    )
    .nature(STRUCTURAL)],
};

static ADAPTER: Table = Table {
    name: "CadenyaAdapter",
    doc: "Where a tool set's tools come from: exactly one of `http`, `mcp`, `openapi`, `bare`.",
    fields: &[
        Field::new("http", Ty::Group(&HTTP_ADAPTER), Wire::NONE, "An HTTP API.").nature(STRUCTURAL),
        Field::new("mcp", Ty::Group(&MCP_ADAPTER), Wire::NONE, "An MCP server.").nature(STRUCTURAL),
        Field::new(
            "openapi",
            Ty::Group(&OPENAPI_ADAPTER),
            Wire::NONE,
            "An OpenAPI document.",
        )
        .nature(STRUCTURAL),
        Field::new(
            "bare",
            Ty::Group(&BARE_ADAPTER),
            Wire::NONE,
            "No calls: tools the agent answers itself.",
        )
        .nature(STRUCTURAL),
    ],
};

/// `CadenyaToolSet`.
pub static TOOL_SET: Table = Table {
    name: "CadenyaToolSetDoc",
    doc: "A tool set, its tools and its secrets.",
    fields: &[
        workspace_ref(),
        id("The tool set's externalId."),
        name("Display name (default: the id)."),
        description(),
        Field::new(
            "adapter",
            Ty::Group(&ADAPTER),
            Wire::NONE,
            "Exactly one of `http`, `mcp`, `openapi`, `bare`.",
        )
        .nature(STRUCTURAL),
        Field::new(
            "secrets",
            Ty::TextMap,
            Wire::NONE,
            "Secrets of this tool set by name (referenced as `{{ secrets.NAME }}` in its headers and tools): write-only, normally `${VAR}`, compared by a keyed fingerprint; complete when present.",
        )
        .nature(Nature {
            structural: true,
            write_only: true,
            sensitive: true,
            ..Nature::NONE
        }),
        Field::new(
            "tools",
            Ty::Children(&TOOL),
            Wire::NONE,
            "Complete when present, keyed by externalId (only under `http` and `bare` adapters; the others sync their tools).",
        )
        .nature(STRUCTURAL),
    ],
};

static TOOL_HTTP: Table = Table {
    name: "CadenyaToolHttp",
    doc: "How an HTTP tool calls its tool set's base URL (the rest of the live call, such as headers, is kept).",
    fields: &[
        Field::new(
            "method",
            Ty::Enum(&[
                ("GET", "GET"),
                ("POST", "POST"),
                ("PUT", "PUT"),
                ("PATCH", "PATCH"),
                ("DELETE", "DELETE"),
            ]),
            Wire::at("spec.config.http.requestMethod"),
            "GET, POST, PUT, PATCH or DELETE.",
        )
        .label("http.method")
        .nature(Nature::REQUIRED),
        Field::new(
            "path",
            Ty::Str,
            Wire::at("spec.config.http.path"),
            "Under the base URL (`/forms/{id}`).",
        )
        .label("http.path"),
        Field::new(
            "query",
            Ty::Str,
            Wire::at("spec.config.http.query"),
            "The query string it sends (`HTTPConfig.query`).",
        )
        .label("http.query"),
        Field::new(
            "body_template",
            Ty::LongText,
            Wire::at("spec.config.http.requestBodyTemplate"),
            "The request body, a template of the call's arguments: inline, `{file: path}` or `{template: path}`.",
        )
        .label("http.body_template"),
        Field::new(
            "body_content_type",
            Ty::Str,
            Wire::at("spec.config.http.requestBodyContentType"),
            "The body's content type (`application/json`).",
        )
        .label("http.body_content_type"),
    ],
};

/// One tool of a tool set (`tools.<id>`).
pub static TOOL: Table = Table {
    name: "CadenyaTool",
    doc: "One tool of a tool set.",
    fields: &[
        name("Display name (default: the id)."),
        Field::new(
            "description",
            Ty::Str,
            Wire::at("spec.description"),
            "What it does (the model reads it).",
        )
        .nature(Nature::REQUIRED),
        Field::new(
            "parameters",
            Ty::Json,
            Wire::at("spec.parameters"),
            "JSON Schema of its arguments (default `{type: object}`).",
        ),
        Field::new(
            "http",
            Ty::Group(&TOOL_HTTP),
            Wire::NONE,
            "`{method, path}`: required under an `http` tool set.",
        ),
        Field::new(
            "requires_approval",
            Ty::Bool,
            Wire::at("spec.requiresApproval"),
            "A person approves each call.",
        )
        .default("false"),
        Field::new(
            "llm_tool_name",
            Ty::Str,
            Wire::at("spec.llmToolName"),
            "The name the model sees (default: Cadenya's).",
        ),
    ],
};

// ---- memory ----

/// `CadenyaMemoryLayer`.
pub static LAYER: Table = Table {
    name: "CadenyaMemoryLayerDoc",
    doc: "A memory layer and its entries.",
    fields: &[
        workspace_ref(),
        id("The layer's externalId."),
        name("Display name (default: the id)."),
        description(),
        Field::new(
            "type",
            Ty::Enum(&[
                ("skills", "MEMORY_LAYER_TYPE_SKILLS"),
                ("episodic", "MEMORY_LAYER_TYPE_EPISODIC"),
            ]),
            Wire::at("spec.type"),
            "skills (the default), set at creation only. Episodic layers are the runtime's (see the agent's `episodic_memory`).",
        )
        .nature(Nature::CREATE_ONLY)
        .default("\"MEMORY_LAYER_TYPE_SKILLS\""),
        Field::new(
            "entries",
            Ty::Children(&ENTRY),
            Wire::NONE,
            "Complete when present, keyed by externalId.",
        )
        .nature(STRUCTURAL),
    ],
};

/// One memory entry (`entries.<id>`). Update masks name its fields bare
/// (`key`, `content`; the loader's `updateMask`), and its content is at the
/// top level of the answer (`types.py:2493 MemoryEntryDetail.content`).
pub static ENTRY: Table = Table {
    name: "CadenyaMemoryEntry",
    doc: "One memory entry.",
    fields: &[
        Field::new(
            "title",
            Ty::Str,
            Wire::at("metadata.name"),
            "Its title (Cadenya's `metadata.name`; default: the entry's id).",
        )
        .nature(Nature::VARS)
        .aliases(&["name"]),
        Field::new(
            "key",
            Ty::Str,
            Wire::at("spec.key").mask("key"),
            "Its key in the layer (default: the entry's id).",
        ),
        Field::new(
            "description",
            Ty::Str,
            Wire::at("spec.description").mask("description"),
            "When to use it.",
        )
        .default("\"\""),
        Field::new(
            "content",
            Ty::LongText,
            Wire::split("content", "spec.content")
                .mask("content")
                .unlisted(),
            "Inline text, `{file: path}` or `{template: path}`.",
        )
        .nature(Nature::REQUIRED),
    ],
};

// ---- secrets ----

/// `CadenyaSecret`.
pub static SECRET: Table = Table {
    name: "CadenyaSecretDoc",
    doc: "A workspace secret: write-only, never read back, never printed.",
    fields: &[
        workspace_ref(),
        id("The secret's externalId."),
        name("The name references use; default: the id."),
        Field::new(
            "value",
            Ty::Text,
            Wire::NONE,
            "Normally `${VAR}`. Compared by a keyed fingerprint (`--sync-secrets` writes it anyway).",
        )
        .nature(Nature {
            required: true,
            structural: true,
            write_only: true,
            sensitive: true,
            ..Nature::NONE
        }),
    ],
};

/// Every table of a document kind and its children, for the property test
/// and the docs.
pub static ALL: &[&Table] = &[
    &WORKSPACE, &AGENT, &VARIATION, &SCHEDULE, &TOOL_SET, &TOOL, &LAYER, &ENTRY, &SECRET,
];

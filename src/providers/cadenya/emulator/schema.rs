//! The request messages of Cadenya's API as the official Python SDK
//! (`cadenya` 1.8.0, `types.py`) defines them: every field a write may
//! carry, its type, whether it is required, and the tagged unions (an
//! object whose `type` names the one variant it carries). [`check`]
//! validates a body against a message, the way the API's JSON transcoder
//! does: an unknown field, a wrong type or a missing required field is a
//! 400 naming the field. [`mask_path`] and [`apply_path`] implement update
//! masks on the same descriptions.

use serde_json::{Map, Value};

use super::error::{violation, Problem};

/// A field's type on the wire.
#[derive(Clone, Copy)]
pub enum Ty {
    Str,
    Bool,
    /// An integer (a JSON number, or a string holding one: int64).
    Int,
    /// A JSON number.
    Num,
    /// A free-form JSON object (`google.protobuf.Struct`).
    Struct,
    /// A map of strings to strings.
    StrMap,
    /// A protobuf Duration in its canonical JSON form, `"<seconds>s"`.
    Duration,
    Enum(&'static [&'static str]),
    List(&'static Ty),
    Msg(&'static Msg),
}

/// One field of a message.
pub struct F {
    pub name: &'static str,
    pub ty: Ty,
    pub required: bool,
    /// Output only: accepted on writes and ignored (the SDK drops these).
    pub output: bool,
}

/// A message: its fields and, for a tagged union, which of them are the
/// variants selected by `type`.
pub struct Msg {
    pub fields: &'static [F],
    pub oneof: &'static [&'static str],
    pub oneof_required: bool,
}

const fn f(name: &'static str, ty: Ty) -> F {
    F {
        name,
        ty,
        required: false,
        output: false,
    }
}

const fn req(name: &'static str, ty: Ty) -> F {
    F {
        name,
        ty,
        required: true,
        output: false,
    }
}

const fn out(name: &'static str, ty: Ty) -> F {
    F {
        name,
        ty,
        required: false,
        output: true,
    }
}

const fn msg(fields: &'static [F]) -> Msg {
    Msg {
        fields,
        oneof: &[],
        oneof_required: false,
    }
}

const fn union(fields: &'static [F], oneof: &'static [&'static str]) -> Msg {
    Msg {
        fields,
        oneof,
        oneof_required: true,
    }
}

const STRS: Ty = Ty::List(&Ty::Str);

// ---- enums ----

pub const SELECTION_MODES: &[&str] = &[
    "VARIATION_SELECTION_MODE_UNSPECIFIED",
    "VARIATION_SELECTION_MODE_RANDOM",
    "VARIATION_SELECTION_MODE_WEIGHTED",
];
const REASONING_EFFORTS: &[&str] = &[
    "REASONING_EFFORT_UNSPECIFIED",
    "REASONING_EFFORT_NONE",
    "REASONING_EFFORT_LOW",
    "REASONING_EFFORT_MEDIUM",
    "REASONING_EFFORT_HIGH",
];
const OVERLAP_POLICIES: &[&str] = &[
    "OVERLAP_POLICY_UNSPECIFIED",
    "OVERLAP_POLICY_ALLOW",
    "OVERLAP_POLICY_SKIP",
];
const OPERATORS: &[&str] = &["OPERATOR_UNSPECIFIED", "OPERATOR_AND", "OPERATOR_OR"];
const ATTRIBUTES: &[&str] = &[
    "ATTRIBUTE_UNSPECIFIED",
    "ATTRIBUTE_NAME",
    "ATTRIBUTE_TITLE",
    "ATTRIBUTE_DESCRIPTION",
    "ATTRIBUTE_LLM_TOOL_NAME",
];
const HTTP_METHODS: &[&str] = &[
    "HTTP_METHOD_UNSPECIFIED",
    "GET",
    "POST",
    "PUT",
    "PATCH",
    "DELETE",
];
pub const LAYER_TYPES: &[&str] = &[
    "MEMORY_LAYER_TYPE_UNSPECIFIED",
    "MEMORY_LAYER_TYPE_EPISODIC",
    "MEMORY_LAYER_TYPE_SKILLS",
];
const ON_MISSING: &[&str] = &[
    "ON_MISSING_UNSPECIFIED",
    "ON_MISSING_FAIL",
    "ON_MISSING_SKIP",
];
const ON_ERROR: &[&str] = &[
    "ON_ERROR_UNSPECIFIED",
    "ON_ERROR_RAW_CONTENT",
    "ON_ERROR_FAIL",
];
const PASSING_MODES: &[&str] = &[
    "PASSING_MODE_UNSPECIFIED",
    "PASSING_MODE_ALL",
    "PASSING_MODE_NONE",
    "PASSING_MODE_MOST",
];

// ---- metadata ----

/// `CreateResourceMetadata` and `UpdateResourceMetadata` (the same three
/// fields; `name` required whenever metadata is sent).
pub static METADATA: Msg = msg(&[
    req("name", Ty::Str),
    f("externalId", Ty::Str),
    f("labels", Ty::StrMap),
]);

// ---- agents ----

pub static AGENT_SPEC: Msg = msg(&[
    f("description", Ty::Str),
    f("webhookEventsUrl", Ty::Str),
    f("variationSelectionMode", Ty::Enum(SELECTION_MODES)),
    f("systemPromptDataSchema", Ty::Struct),
    f("outputDefinition", Ty::Struct),
    f("enableEpisodicMemory", Ty::Bool),
    f("episodicMemoryTtl", Ty::Int),
    f("alwaysIncludeSubjectMemories", Ty::Bool),
]);

// ---- variations ----

static MODEL_CONFIG: Msg = msg(&[
    req("modelId", Ty::Str),
    f("temperature", Ty::Num),
    f("topP", Ty::Num),
    f("topK", Ty::Int),
    f("stopSequences", STRS),
    f("maxOutputTokens", Ty::Int),
    f("reasoningEffort", Ty::Enum(REASONING_EFFORTS)),
    f("cachingEnabled", Ty::Bool),
]);
static CONSTRAINTS: Msg = msg(&[
    f("maxToolCalls", Ty::Int),
    f("maxSubObjectives", Ty::Int),
    f("inactivityTimeout", Ty::Duration),
]);
static SUMMARIZATION: Msg = msg(&[f("instructions", Ty::Str)]);
static TOOL_RESULT_CLEARING: Msg = msg(&[f("preserveRecentResults", Ty::Int)]);
static COMPACTION: Msg = msg(&[
    f("triggerThreshold", Ty::Num),
    f("summarization", Ty::Msg(&SUMMARIZATION)),
    f("toolResultClearing", Ty::Msg(&TOOL_RESULT_CLEARING)),
]);
static DISCOVERY: Msg = msg(&[f("maxTools", Ty::Int), f("hints", STRS)]);
/// `VariationAssignment` and the `:addAssignment` / `:removeAssignment` bodies.
pub static ASSIGNMENT: Msg = union(
    &[
        f("toolId", Ty::Str),
        f("toolSetId", Ty::Str),
        f("subAgentId", Ty::Str),
        f("agentPoolId", Ty::Str),
        // Server-owned, dropped by the SDK's encoders.
        out("agentId", Ty::Str),
        out("variationId", Ty::Str),
        out("workspaceId", Ty::Str),
    ],
    &["toolId", "toolSetId", "subAgentId", "agentPoolId"],
);
static LAYER_ASSIGNMENT: Msg = msg(&[req("memoryLayerId", Ty::Str), req("position", Ty::Int)]);
static ASSIGNMENTS: Ty = Ty::List(&Ty::Msg(&ASSIGNMENT));
static LAYER_ASSIGNMENTS: Ty = Ty::List(&Ty::Msg(&LAYER_ASSIGNMENT));

pub static VARIATION_SPEC: Msg = msg(&[
    f("systemPromptTemplate", Ty::Str),
    f("firstUserMessageTemplate", Ty::Str),
    f("description", Ty::Str),
    f("modelConfig", Ty::Msg(&MODEL_CONFIG)),
    f("constraints", Ty::Msg(&CONSTRAINTS)),
    f("compactionConfig", Ty::Msg(&COMPACTION)),
    f("progressiveDiscovery", Ty::Msg(&DISCOVERY)),
    f("assignments", ASSIGNMENTS),
    f("memoryLayerAssignments", LAYER_ASSIGNMENTS),
]);

/// `:addMemoryLayer`.
pub static ADD_LAYER: Msg = msg(&[
    req("memoryLayerId", Ty::Str),
    f("position", Ty::Int),
    out("agentId", Ty::Str),
    out("variationId", Ty::Str),
    out("workspaceId", Ty::Str),
]);
/// `:updateMemoryLayer`.
pub static MOVE_LAYER: Msg = msg(&[
    req("memoryLayerId", Ty::Str),
    req("position", Ty::Int),
    out("agentId", Ty::Str),
    out("variationId", Ty::Str),
    out("workspaceId", Ty::Str),
]);
/// `:removeMemoryLayer`.
pub static REMOVE_LAYER: Msg = msg(&[
    req("memoryLayerId", Ty::Str),
    out("agentId", Ty::Str),
    out("variationId", Ty::Str),
    out("workspaceId", Ty::Str),
]);

// ---- schedules ----

static RANGE: Msg = msg(&[f("start", Ty::Int), f("end", Ty::Int), f("step", Ty::Int)]);
static RANGES: Ty = Ty::List(&Ty::Msg(&RANGE));
pub static CALENDAR: Msg = msg(&[
    f("second", RANGES),
    f("minute", RANGES),
    f("hour", RANGES),
    f("dayOfMonth", RANGES),
    f("month", RANGES),
    f("dayOfWeek", RANGES),
    f("comment", Ty::Str),
]);
static INTERVAL: Msg = msg(&[req("every", Ty::Duration), f("offset", Ty::Duration)]);
static SCHEDULE: Msg = msg(&[
    f("calendars", Ty::List(&Ty::Msg(&CALENDAR))),
    f("intervals", Ty::List(&Ty::Msg(&INTERVAL))),
    f("timezone", Ty::Str),
]);
pub static SCHEDULE_SPEC: Msg = msg(&[
    req("schedule", Ty::Msg(&SCHEDULE)),
    f("overlapPolicy", Ty::Enum(OVERLAP_POLICIES)),
    f("firstUserMessage", Ty::Str),
    f("variationId", Ty::Str),
    f("systemPromptData", Ty::Struct),
    f("firstUserMessageData", Ty::Struct),
]);

// ---- tool sets ----

static MATCHER: Msg = Msg {
    fields: &[
        f("exact", Ty::Str),
        f("startsWith", Ty::Str),
        f("endsWith", Ty::Str),
        f("contains", Ty::Str),
        f("regex", Ty::Str),
        f("caseSensitive", Ty::Bool),
    ],
    oneof: &["exact", "startsWith", "endsWith", "contains", "regex"],
    oneof_required: false,
};
static ATTRIBUTE_FILTER: Msg = msg(&[
    req("attribute", Ty::Enum(ATTRIBUTES)),
    f("matcher", Ty::Msg(&MATCHER)),
]);
static TOOL_FILTER: Msg = msg(&[
    req("operator", Ty::Enum(OPERATORS)),
    f("filters", Ty::List(&Ty::Msg(&ATTRIBUTE_FILTER))),
]);
static APPROVALS: Msg = union(
    &[f("always", Ty::Bool), f("only", Ty::Msg(&TOOL_FILTER))],
    &["always", "only"],
);
static JUST_IN_TIME: Msg = msg(&[
    f("enabled", Ty::Bool),
    f("failObjectiveOnToolListError", Ty::Bool),
]);
static ADAPTER_HTTP: Msg = msg(&[f("baseUrl", Ty::Str), f("headers", Ty::StrMap)]);
static ADAPTER_MCP: Msg = msg(&[
    f("url", Ty::Str),
    f("headers", Ty::StrMap),
    f("includeTools", Ty::Msg(&TOOL_FILTER)),
    f("excludeTools", Ty::Msg(&TOOL_FILTER)),
    f("toolApprovals", Ty::Msg(&APPROVALS)),
    f("justInTime", Ty::Msg(&JUST_IN_TIME)),
]);
static ADAPTER_OPENAPI: Msg = union(
    &[
        f("url", Ty::Str),
        f("uploadId", Ty::Str),
        f("headers", Ty::StrMap),
        f("includeTools", Ty::Msg(&TOOL_FILTER)),
        f("excludeTools", Ty::Msg(&TOOL_FILTER)),
        f("toolApprovals", Ty::Msg(&APPROVALS)),
        f("baseUrl", Ty::Str),
        f("serverName", Ty::Str),
    ],
    &["url", "uploadId"],
);
static ADAPTER_BARE: Msg = msg(&[f("contentTimeout", Ty::Int)]);
static ADAPTER: Msg = union(
    &[
        f("http", Ty::Msg(&ADAPTER_HTTP)),
        f("mcp", Ty::Msg(&ADAPTER_MCP)),
        f("openapi", Ty::Msg(&ADAPTER_OPENAPI)),
        f("bare", Ty::Msg(&ADAPTER_BARE)),
    ],
    &["http", "mcp", "openapi", "bare"],
);
static PARAMETER_PATH: Msg = msg(&[req("path", Ty::Str)]);
static TOOL_NAMES: Msg = msg(&[f("names", STRS)]);
static CONDITION: Msg = union(
    &[
        f("attribute", Ty::Msg(&ATTRIBUTE_FILTER)),
        f("hasParameter", Ty::Msg(&PARAMETER_PATH)),
        f("tools", Ty::Msg(&TOOL_NAMES)),
    ],
    &["attribute", "hasParameter", "tools"],
);
static SELECTOR: Msg = msg(&[
    f("conditions", Ty::List(&Ty::Msg(&CONDITION))),
    req("operator", Ty::Enum(OPERATORS)),
]);
static ACTION_REMOVE: Msg = msg(&[req("path", Ty::Str)]);
static ACTION_SET: Msg = msg(&[req("path", Ty::Str), req("valueTemplate", Ty::Str)]);
static ACTION_PIN: Msg = msg(&[
    req("path", Ty::Str),
    req("pinnedParameter", Ty::Str),
    req("onMissing", Ty::Enum(ON_MISSING)),
]);
static PARAMETER_ACTION: Msg = union(
    &[
        f("remove", Ty::Msg(&ACTION_REMOVE)),
        f("set", Ty::Msg(&ACTION_SET)),
        f("pin", Ty::Msg(&ACTION_PIN)),
    ],
    &["remove", "set", "pin"],
);
static TRANSFORM: Msg = msg(&[
    req("contentTemplate", Ty::Str),
    req("onError", Ty::Enum(ON_ERROR)),
    req("expectJson", Ty::Bool),
]);
static RESULT_ACTION: Msg = union(&[f("transform", Ty::Msg(&TRANSFORM))], &["transform"]);
static EXPOSURE: Msg = msg(&[req("enabled", Ty::Bool)]);
static QUESTION: Msg = msg(&[req("question", Ty::Str), req("threshold", Ty::Num)]);
static AUTO_MODE: Msg = msg(&[
    req("questions", Ty::List(&Ty::Msg(&QUESTION))),
    req("passingMode", Ty::Enum(PASSING_MODES)),
    f("failureMessage", Ty::Str),
]);
static OVERLAY: Msg = msg(&[
    req("key", Ty::Str),
    req("selector", Ty::Msg(&SELECTOR)),
    f("parameterActions", Ty::List(&Ty::Msg(&PARAMETER_ACTION))),
    f("resultActions", Ty::List(&Ty::Msg(&RESULT_ACTION))),
    req("disabled", Ty::Bool),
    f("widgetArgumentExposure", Ty::Msg(&EXPOSURE)),
    f("autoMode", Ty::Msg(&AUTO_MODE)),
]);
static SET_SECRET: Msg = msg(&[req("name", Ty::Str), f("value", Ty::Str)]);

pub static TOOL_SET_SPEC: Msg = msg(&[
    f("description", Ty::Str),
    req("adapter", Ty::Msg(&ADAPTER)),
    f("overlays", Ty::List(&Ty::Msg(&OVERLAY))),
    f("secrets", Ty::List(&Ty::Msg(&SET_SECRET))),
]);

// ---- tools ----

static CONFIG_HTTP: Msg = msg(&[
    req("requestMethod", Ty::Enum(HTTP_METHODS)),
    f("path", Ty::Str),
    f("query", Ty::Str),
    f("headers", Ty::StrMap),
    f("requestBodyTemplate", Ty::Str),
    f("requestBodyContentType", Ty::Str),
]);
static ANNOTATIONS: Msg = msg(&[
    f("title", Ty::Str),
    f("readOnlyHint", Ty::Bool),
    f("destructiveHint", Ty::Bool),
    f("idempotentHint", Ty::Bool),
    f("openWorldHint", Ty::Bool),
]);
static CONFIG_MCP: Msg = msg(&[f("annotations", Ty::Msg(&ANNOTATIONS))]);
static CONFIG_OPENAPI: Msg = msg(&[
    f("path", Ty::Str),
    f("method", Ty::Str),
    out("serverUrl", Ty::Str),
]);
static CONFIG_BARE: Msg = msg(&[f("alwaysSetResult", Ty::Str)]);
static TOOL_CONFIG: Msg = union(
    &[
        f("http", Ty::Msg(&CONFIG_HTTP)),
        f("mcp", Ty::Msg(&CONFIG_MCP)),
        f("openapi", Ty::Msg(&CONFIG_OPENAPI)),
        f("bare", Ty::Msg(&CONFIG_BARE)),
    ],
    &["http", "mcp", "openapi", "bare"],
);
pub static TOOL_SPEC: Msg = msg(&[
    req("description", Ty::Str),
    req("requiresApproval", Ty::Bool),
    req("parameters", Ty::Struct),
    req("config", Ty::Msg(&TOOL_CONFIG)),
    f("llmToolName", Ty::Str),
]);

// ---- memory ----

pub static LAYER_SPEC: Msg = msg(&[
    req("type", Ty::Enum(LAYER_TYPES)),
    f("description", Ty::Str),
    out("systemManaged", Ty::Bool),
    out("agentId", Ty::Str),
    out("episodicKey", Ty::Str),
    out("expiresAt", Ty::Str),
    out("tenantId", Ty::Str),
    out("subjectId", Ty::Str),
]);
/// `TenantAssertion` / `SubjectAssertion` (memory layer create).
pub static ASSERTION: Msg = msg(&[req("id", Ty::Str), f("name", Ty::Str)]);

/// `MemoryEntryCreateSpec`: tagged, flat.
pub static ENTRY_CREATE_SPEC: Msg = union(
    &[
        f("content", Ty::Str),
        f("uploadId", Ty::Str),
        req("key", Ty::Str),
        f("description", Ty::Str),
    ],
    &["content", "uploadId"],
);
/// `MemoryEntryUpdateSpec`: flat, untagged.
pub static ENTRY_UPDATE_SPEC: Msg = msg(&[
    f("key", Ty::Str),
    f("description", Ty::Str),
    f("content", Ty::Str),
    f("uploadId", Ty::Str),
]);
/// What an entry holds after an update (its spec plus the body).
pub static ENTRY_STATE: Msg = msg(&[
    req("key", Ty::Str),
    f("description", Ty::Str),
    f("content", Ty::Str),
    f("uploadId", Ty::Str),
]);

// ---- secrets, workspaces ----

pub static SECRET_SPEC: Msg = msg(&[f("value", Ty::Str)]);
pub static WORKSPACE_SPEC: Msg = msg(&[f("description", Ty::Str)]);

// ---- validation ----

/// What an old field became: said in the 400, so a client of the previous
/// API generation learns what to send instead.
fn hint(field: &str) -> &'static str {
    match field {
        "bundleKey" => "the API has no bundleKey any more: ownership is by metadata.labels",
        "status" => "the API has no spec.status any more: state is output only, changed by actions (:publish, :pause, :omit, :enable, ...)",
        "prompt" => "the API has no spec.prompt any more: use spec.systemPromptTemplate",
        "weight" => "the API has no per-variation weight any more: weighted selection uses the variations' feedback scores (info.score)",
        "inputDataSchema" => "the API has no spec.inputDataSchema any more: use spec.systemPromptDataSchema",
        "initialMessage" => "the API has no spec.initialMessage any more: use spec.firstUserMessage",
        "data" => "the API has no spec.data any more: use spec.systemPromptData",
        "rerankThreshold" => "the API has no progressiveDiscovery.rerankThreshold any more",
        "enableEpisodicMemory" | "episodicMemoryTtl" => {
            "episodic memory is set on the agent's spec, not the variation's"
        }
        _ => "unknown field",
    }
}

/// `snake_case` → `camelCase` (the API accepts both spellings of a field).
pub fn camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut up = false;
    for c in name.chars() {
        if c == '_' {
            up = true;
        } else if up {
            out.extend(c.to_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

fn is_duration(s: &str) -> bool {
    let Some(n) = s.strip_suffix('s') else {
        return false;
    };
    let (whole, frac) = match n.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (n, None),
    };
    !whole.is_empty()
        && whole.len() <= 12
        && whole.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| (1..=9).contains(&f.len()) && f.bytes().all(|b| b.is_ascii_digit()))
}

/// Seconds of a duration checked by [`is_duration`].
pub fn duration_secs(s: &str) -> f64 {
    s.trim_end_matches('s').parse().unwrap_or(0.0)
}

/// An integer field's value, as a number or an int64 string.
pub fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn check_ty(ty: Ty, v: &Value, path: &str, required: bool) -> Result<Value, Problem> {
    let bad = |what: &str| Err(violation(path, &format!("must be {what}")));
    match ty {
        Ty::Str if v.is_string() => Ok(v.clone()),
        Ty::Str => bad("a string"),
        Ty::Bool if v.is_boolean() => Ok(v.clone()),
        Ty::Bool => bad("true or false"),
        Ty::Int if int(v).is_some() => Ok(v.clone()),
        Ty::Int => bad("an integer"),
        Ty::Num if v.is_number() => Ok(v.clone()),
        Ty::Num => bad("a number"),
        Ty::Struct if v.is_object() => Ok(v.clone()),
        Ty::Struct => bad("an object"),
        Ty::StrMap => match v.as_object() {
            Some(m) => match m.iter().find(|(_, x)| !x.is_string()) {
                Some((k, _)) => Err(violation(&join(path, k), "must be a string")),
                None => Ok(v.clone()),
            },
            None => bad("an object of strings"),
        },
        Ty::Duration if v.as_str().is_some_and(is_duration) => Ok(v.clone()),
        Ty::Duration => bad("a duration in seconds such as \"3600s\""),
        Ty::Enum(values) => match v.as_str() {
            Some(s) if values.contains(&s) => Ok(v.clone()),
            _ => bad(&format!("one of {}", values.join(", "))),
        },
        Ty::List(item) => match v.as_array() {
            Some(items) => items
                .iter()
                .enumerate()
                .map(|(i, x)| check_ty(*item, x, &format!("{path}[{i}]"), required))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            None => bad("a list"),
        },
        Ty::Msg(m) => check(m, v, path, required),
    }
}

/// Validate `v` against `m` (`path` names it in errors; `required`: also
/// check required fields and unions). Returns the value normalised:
/// camelCase keys, no nulls, no output-only fields.
pub fn check(m: &Msg, v: &Value, path: &str, required: bool) -> Result<Value, Problem> {
    let obj = v.as_object().ok_or_else(|| {
        violation(
            if path.is_empty() { "body" } else { path },
            "must be an object",
        )
    })?;
    let mut outm = Map::new();
    // The tag first: an unknown variant is named as such.
    let mut tag: Option<&str> = None;
    if !m.oneof.is_empty() {
        match obj.get("type") {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s.is_empty() => {}
            Some(Value::String(s)) if m.oneof.contains(&s.as_str()) => tag = Some(s),
            Some(_) => {
                return Err(violation(
                    &join(path, "type"),
                    &format!("must be one of {}", m.oneof.join(", ")),
                ))
            }
        }
    }
    for (k, x) in obj {
        if k == "type" && !m.oneof.is_empty() {
            continue;
        }
        let name = if m.fields.iter().any(|f| f.name == k) {
            k.clone()
        } else {
            camel(k)
        };
        let Some(field) = m.fields.iter().find(|f| f.name == name) else {
            return Err(violation(&join(path, k), hint(&name)));
        };
        if x.is_null() || field.output {
            continue;
        }
        if outm.contains_key(&name) {
            return Err(violation(
                &join(path, &name),
                "given twice (camelCase and snake_case)",
            ));
        }
        let checked = check_ty(field.ty, x, &join(path, &name), required)?;
        outm.insert(name, checked);
    }
    if !m.oneof.is_empty() {
        let set: Vec<&str> = m
            .oneof
            .iter()
            .copied()
            .filter(|v| outm.contains_key(*v))
            .collect();
        match tag {
            Some(t) => {
                if !outm.contains_key(t) {
                    return Err(violation(&join(path, t), &format!("required: type is {t}")));
                }
                if let Some(other) = set.iter().find(|v| **v != t) {
                    return Err(violation(
                        &join(path, other),
                        &format!("only the variant named by type ({t}) may be set"),
                    ));
                }
                outm.insert("type".into(), Value::String(t.to_string()));
            }
            None if !set.is_empty() => {
                return Err(violation(
                    &join(path, "type"),
                    &format!(
                        "required: the tag of the union, one of {}",
                        m.oneof.join(", ")
                    ),
                ))
            }
            None if required && m.oneof_required => {
                return Err(violation(
                    &join(path, "type"),
                    &format!("required: one of {}", m.oneof.join(", ")),
                ))
            }
            None => {}
        }
    }
    if required {
        if let Some(missing) = m
            .fields
            .iter()
            .find(|f| f.required && !outm.contains_key(f.name))
        {
            return Err(violation(&join(path, missing.name), "required"));
        }
    }
    Ok(Value::Object(outm))
}

// ---- update masks ----

/// A mask path resolved against a message: its camelCase segments. Every
/// segment but the last names a message-typed field.
pub fn mask_path(root: &Msg, segs: &[&str]) -> Option<Vec<String>> {
    let mut m = root;
    let mut out = Vec::new();
    for (i, seg) in segs.iter().enumerate() {
        let name = camel(seg);
        let field = m.fields.iter().find(|f| f.name == name && !f.output)?;
        out.push(name);
        if i + 1 < segs.len() {
            match field.ty {
                Ty::Msg(inner) => m = inner,
                _ => return None,
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Apply one resolved mask path: copy the value at `segs` from `source` into
/// `target` (creating parents), or clear it there when the source lacks it.
/// Setting a union's variant selects it (its `type` tag, the other variants
/// cleared), as protobuf does for a oneof.
pub fn apply_path(
    m: &Msg,
    target: &mut Map<String, Value>,
    source: Option<&Map<String, Value>>,
    segs: &[String],
) {
    let Some((first, rest)) = segs.split_first() else {
        return;
    };
    let variant = m.oneof.contains(&first.as_str());
    let select = |t: &mut Map<String, Value>| {
        if variant {
            for v in m.oneof {
                if *v != first.as_str() {
                    t.remove(*v);
                }
            }
            t.insert("type".into(), Value::String(first.clone()));
        }
    };
    if rest.is_empty() {
        match source.and_then(|s| s.get(first)).filter(|v| !v.is_null()) {
            Some(v) => {
                target.insert(first.clone(), v.clone());
                select(target);
            }
            None => {
                target.remove(first);
                if variant && target.get("type").and_then(Value::as_str) == Some(first) {
                    target.remove("type");
                }
            }
        }
        return;
    }
    let Some(field) = m.fields.iter().find(|f| f.name == first) else {
        return;
    };
    let Ty::Msg(inner) = field.ty else {
        return;
    };
    let sub_source = source.and_then(|s| s.get(first)).and_then(Value::as_object);
    if sub_source.is_none() && !target.contains_key(first) {
        // Clearing inside something absent: nothing to do.
        return;
    }
    if !target.get(first).is_some_and(Value::is_object) {
        target.insert(first.clone(), Value::Object(Map::new()));
    }
    if let Some(Value::Object(sub)) = target.get_mut(first) {
        apply_path(inner, sub, sub_source, rest);
    }
    if sub_source.is_some() {
        select(target);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_and_durations() {
        assert_eq!(camel("model_config"), "modelConfig");
        assert_eq!(camel("modelConfig"), "modelConfig");
        assert_eq!(camel("max_output_tokens"), "maxOutputTokens");
        for ok in ["60s", "7200s", "1.5s", "0s"] {
            assert!(is_duration(ok), "{ok}");
        }
        for bad in ["2h", "s", "-1s", "1.s", "1.1234567890s", "60", ""] {
            assert!(!is_duration(bad), "{bad}");
        }
    }

    #[test]
    fn unions_need_their_tag_and_one_variant() {
        let ok = check(
            &ADAPTER,
            &json!({"type": "http", "http": {"base_url": "u"}}),
            "a",
            true,
        )
        .unwrap();
        assert_eq!(
            ok,
            json!({"type": "http", "http": {"baseUrl": "u"}}),
            "snake_case normalised"
        );
        let err = |v: Value| {
            check(&ADAPTER, &v, "a", true).unwrap_err().violations[0]
                .0
                .clone()
        };
        assert_eq!(err(json!({"http": {}})), "a.type");
        assert_eq!(err(json!({"type": "http"})), "a.http");
        assert_eq!(err(json!({"type": "http", "http": {}, "mcp": {}})), "a.mcp");
        assert_eq!(err(json!({"type": "ftp", "ftp": {}})), "a.type");
        assert_eq!(err(json!({})), "a.type");
        assert!(
            check(&ADAPTER, &json!({}), "a", false).is_ok(),
            "a partial body"
        );
        let e = check(
            &METADATA,
            &json!({"name": "n", "external_id": "a", "externalId": "b"}),
            "m",
            true,
        );
        assert_eq!(e.unwrap_err().violations[0].0, "m.externalId");
    }

    #[test]
    fn masks_resolve_and_apply_at_the_leaf() {
        assert_eq!(
            mask_path(&VARIATION_SPEC, &["model_config", "temperature"]),
            Some(vec!["modelConfig".to_string(), "temperature".to_string()])
        );
        assert_eq!(mask_path(&VARIATION_SPEC, &["assignments", "toolId"]), None);
        assert_eq!(mask_path(&VARIATION_SPEC, &["weight"]), None);
        assert_eq!(
            mask_path(&LAYER_SPEC, &["systemManaged"]),
            None,
            "output only"
        );
        let mut target =
            json!({"adapter": {"type": "mcp", "mcp": {"url": "m"}}, "description": "d"});
        let source = json!({"adapter": {"type": "http", "http": {"baseUrl": "h"}}});
        let path = mask_path(&TOOL_SET_SPEC, &["adapter", "http", "baseUrl"]).unwrap();
        apply_path(
            &TOOL_SET_SPEC,
            target.as_object_mut().unwrap(),
            source.as_object(),
            &path,
        );
        assert_eq!(
            target,
            json!({"adapter": {"type": "http", "http": {"baseUrl": "h"}}, "description": "d"}),
            "setting a variant's leaf selects the variant"
        );
        let path = mask_path(&TOOL_SET_SPEC, &["description"]).unwrap();
        apply_path(&TOOL_SET_SPEC, target.as_object_mut().unwrap(), None, &path);
        assert!(
            target.get("description").is_none(),
            "masked and absent: cleared"
        );
        let path = mask_path(&VARIATION_SPEC, &["modelConfig", "temperature"]).unwrap();
        let mut empty = serde_json::Map::new();
        apply_path(&VARIATION_SPEC, &mut empty, None, &path);
        assert!(empty.is_empty(), "clearing inside nothing creates nothing");
    }
}

//! The emulated account: workspaces and, per workspace, collections of
//! `{metadata, spec, info}` resources keyed by their parent's path
//! (`ws_1/agents`, `ws_1/agents/agent_1/variations`). The rules the API
//! imposes are enforced here: unknown fields, required fields and enums,
//! unique externalIds, update masks, publishing only with a variation,
//! never deleting the last variation of a published agent, memory stack
//! positions that never collide (at most 10 layers), no deleting what an
//! assignment points at or a layer in use.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// An error as google.rpc Status: HTTP status, gRPC code, message, field violations.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub status: u16,
    pub code: u32,
    pub message: String,
    pub violations: Vec<(String, String)>,
}

pub type Answer = Result<(u16, Value), Problem>;

fn invalid(message: impl Into<String>) -> Problem {
    Problem {
        status: 400,
        code: 3,
        message: message.into(),
        violations: Vec::new(),
    }
}

fn violation(field: &str, why: &str) -> Problem {
    Problem {
        status: 400,
        code: 3,
        message: "invalid argument".into(),
        violations: vec![(field.into(), why.into())],
    }
}

fn precondition(message: impl Into<String>) -> Problem {
    Problem {
        status: 400,
        code: 9,
        message: message.into(),
        violations: Vec::new(),
    }
}

fn conflict(message: impl Into<String>) -> Problem {
    Problem {
        status: 409,
        code: 6,
        message: message.into(),
        violations: Vec::new(),
    }
}

pub fn not_found(what: &str) -> Problem {
    Problem {
        status: 404,
        code: 5,
        message: format!("{what} not found"),
        violations: Vec::new(),
    }
}

/// What a collection holds and allows.
pub struct Kind {
    pub prefix: &'static str,
    /// Spec fields it takes (and, after `:`, nothing else is checked inside).
    pub fields: &'static [&'static str],
    pub required: &'static [&'static str],
    /// PUT instead of PATCH for updates.
    pub put: bool,
    /// Child collections.
    pub children: &'static [&'static str],
}

pub fn kind(collection: &str) -> Option<&'static Kind> {
    const AGENT: Kind = Kind {
        prefix: "agent",
        fields: &[
            "status",
            "variationSelectionMode",
            "description",
            "inputDataSchema",
            "outputDefinition",
            "webhookEventsUrl",
        ],
        required: &["status", "variationSelectionMode"],
        put: false,
        children: &["variations", "schedules"],
    };
    const VARIATION: Kind = Kind {
        prefix: "av",
        fields: &[
            "prompt",
            "description",
            "modelConfig",
            "weight",
            "constraints",
            "compactionConfig",
            "progressiveDiscovery",
            "enableEpisodicMemory",
            "episodicMemoryTtl",
        ],
        required: &[],
        put: false,
        children: &["assignments", "memory_layer_assignments"],
    };
    const SCHEDULE: Kind = Kind {
        prefix: "sched",
        fields: &[
            "initialMessage",
            "schedule",
            "data",
            "overlapPolicy",
            "status",
            "variationId",
        ],
        required: &["initialMessage", "schedule"],
        put: false,
        children: &[],
    };
    const TOOL_SET: Kind = Kind {
        prefix: "ts",
        fields: &["description", "adapter"],
        required: &[],
        put: true,
        children: &["tools"],
    };
    const TOOL: Kind = Kind {
        prefix: "tool",
        fields: &[
            "description",
            "parameters",
            "config",
            "status",
            "requiresApproval",
        ],
        required: &["description", "parameters", "config", "status"],
        put: true,
        children: &[],
    };
    const LAYER: Kind = Kind {
        prefix: "memlyr",
        fields: &["type", "description"],
        required: &["type"],
        put: false,
        children: &["entries"],
    };
    const ENTRY: Kind = Kind {
        prefix: "mem",
        fields: &["key", "description", "content", "uploadId"],
        required: &["key"],
        put: false,
        children: &[],
    };
    const SECRET: Kind = Kind {
        prefix: "sec",
        fields: &["value"],
        required: &["value"],
        put: false,
        children: &[],
    };
    const MODEL: Kind = Kind {
        prefix: "model",
        fields: &[],
        required: &[],
        put: false,
        children: &[],
    };
    Some(match collection {
        "agents" => &AGENT,
        "variations" => &VARIATION,
        "schedules" => &SCHEDULE,
        "tool_sets" => &TOOL_SET,
        "tools" => &TOOL,
        "memory_layers" => &LAYER,
        "entries" => &ENTRY,
        "workspace_secrets" => &SECRET,
        "models" => &MODEL,
        _ => return None,
    })
}

const METADATA_FIELDS: &[&str] = &["name", "externalId", "labels", "bundleKey"];
const MAX_LAYERS: usize = 10;

/// The account.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Store {
    pub workspaces: Vec<Value>,
    /// Collection path → resources in creation order.
    pub items: BTreeMap<String, Vec<Value>>,
    next_id: u64,
}

fn id_of(v: &Value) -> &str {
    v.pointer("/metadata/id")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn ext_of(v: &Value) -> Option<&str> {
    v.pointer("/metadata/externalId")
        .and_then(Value::as_str)
        .filter(|e| !e.is_empty())
}

fn now() -> Value {
    json!(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

const MODELS: &[(&str, &str, bool)] = &[
    ("anthropic", "claude-sonnet-4.6", true),
    ("anthropic", "claude-opus-4.6", false),
    ("openai", "gpt-5", true),
    ("openai", "gpt-4.1", false),
];

/// Whether metadata has a non-empty name.
fn named(meta: &Map<String, Value>) -> bool {
    meta.get("name")
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_empty())
}

/// Check `obj`'s keys against `allowed`.
fn only(obj: &Map<String, Value>, allowed: &[&str], at: &str) -> Result<(), Problem> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(violation(&format!("{at}{k}"), "unknown field")),
        None => Ok(()),
    }
}

fn enum_value(v: Option<&Value>, allowed: &[&str], field: &str) -> Result<(), Problem> {
    match v {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(s)) if allowed.contains(&s.as_str()) => Ok(()),
        Some(_) => Err(violation(
            field,
            &format!("must be one of {}", allowed.join(", ")),
        )),
    }
}

/// The rules of one kind's spec, beyond known fields.
fn check_spec(collection: &str, spec: &Map<String, Value>) -> Result<(), Problem> {
    match collection {
        "agents" => {
            enum_value(
                spec.get("status"),
                &[
                    "AGENT_STATUS_DRAFT",
                    "AGENT_STATUS_PUBLISHED",
                    "AGENT_STATUS_ARCHIVED",
                ],
                "spec.status",
            )?;
            enum_value(
                spec.get("variationSelectionMode"),
                &[
                    "VARIATION_SELECTION_MODE_RANDOM",
                    "VARIATION_SELECTION_MODE_WEIGHTED",
                ],
                "spec.variationSelectionMode",
            )?;
        }
        "variations" => {
            if let Some(m) = spec.get("modelConfig") {
                let m = m
                    .as_object()
                    .ok_or_else(|| violation("spec.modelConfig", "must be an object"))?;
                only(m, &["modelId", "temperature"], "spec.modelConfig.")?;
                if let Some(t) = m.get("temperature") {
                    if !t.as_f64().is_some_and(|t| (0.0..=1.0).contains(&t)) {
                        return Err(violation(
                            "spec.modelConfig.temperature",
                            "must be between 0 and 1",
                        ));
                    }
                }
            }
            if let Some(w) = spec.get("weight") {
                if w.as_u64().is_none() {
                    return Err(violation("spec.weight", "must be a non-negative integer"));
                }
            }
        }
        "schedules" => {
            let s = spec
                .get("schedule")
                .and_then(Value::as_object)
                .ok_or_else(|| violation("spec.schedule", "must be an object"))?;
            only(s, &["timezone", "calendars", "intervals"], "spec.schedule.")?;
            let tz = s
                .get("timezone")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if tz.parse::<chrono_tz::Tz>().is_err() {
                return Err(violation(
                    "spec.schedule.timezone",
                    "must be an IANA time zone",
                ));
            }
            let rules = ["calendars", "intervals"]
                .iter()
                .map(|k| s.get(*k).and_then(Value::as_array).map_or(0, Vec::len))
                .sum::<usize>();
            if rules == 0 {
                return Err(violation(
                    "spec.schedule",
                    "needs at least one calendar or interval",
                ));
            }
            for c in s
                .get("calendars")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let c = c
                    .as_object()
                    .ok_or_else(|| violation("spec.schedule.calendars", "must be objects"))?;
                only(
                    c,
                    &[
                        "second",
                        "minute",
                        "hour",
                        "dayOfMonth",
                        "month",
                        "dayOfWeek",
                        "comment",
                    ],
                    "spec.schedule.calendars.",
                )?;
            }
            enum_value(
                spec.get("overlapPolicy"),
                &["OVERLAP_POLICY_ALLOW", "OVERLAP_POLICY_SKIP"],
                "spec.overlapPolicy",
            )?;
            enum_value(
                spec.get("status"),
                &[
                    "AGENT_SCHEDULE_STATUS_ACTIVE",
                    "AGENT_SCHEDULE_STATUS_PAUSED",
                    "AGENT_SCHEDULE_STATUS_ARCHIVED",
                ],
                "spec.status",
            )?;
        }
        "tool_sets" => {
            if let Some(a) = spec.get("adapter") {
                let a = a
                    .as_object()
                    .ok_or_else(|| violation("spec.adapter", "must be an object"))?;
                if a.len() != 1 {
                    return Err(violation(
                        "spec.adapter",
                        "exactly one of http, mcp, openapi",
                    ));
                }
                only(a, &["http", "mcp", "openapi"], "spec.adapter.")?;
            }
        }
        "tools" => {
            enum_value(
                spec.get("status"),
                &[
                    "TOOL_STATUS_AVAILABLE",
                    "TOOL_STATUS_OMITTED",
                    "TOOL_STATUS_ARCHIVED",
                ],
                "spec.status",
            )?;
            if let Some(c) = spec.get("config").and_then(Value::as_object) {
                only(c, &["http", "mcp", "openapi"], "spec.config.")?;
                if let Some(h) = c.get("http").and_then(Value::as_object) {
                    only(
                        h,
                        &[
                            "requestMethod",
                            "path",
                            "query",
                            "headers",
                            "requestBodyContentType",
                            "requestBodyTemplate",
                            "toolName",
                        ],
                        "spec.config.http.",
                    )?;
                    enum_value(
                        h.get("requestMethod"),
                        &["GET", "POST", "PUT", "PATCH", "DELETE"],
                        "spec.config.http.requestMethod",
                    )?;
                }
            }
        }
        "memory_layers" => {
            enum_value(
                spec.get("type"),
                &["MEMORY_LAYER_TYPE_SKILLS", "MEMORY_LAYER_TYPE_EPISODIC"],
                "spec.type",
            )?;
        }
        "entries" if spec.contains_key("content") && spec.contains_key("uploadId") => {
            return Err(violation("spec", "exactly one of content and uploadId"));
        }
        _ => {}
    }
    Ok(())
}

impl Store {
    /// A fresh account with one workspace, `default`.
    pub fn seeded() -> Self {
        let mut s = Store::default();
        let _ =
            s.create_workspace(&json!({"metadata": {"name": "Default", "externalId": "default"}}));
        s
    }

    fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!(
            "{prefix}_{:08X}{:06X}",
            self.next_id,
            rand::random::<u32>() & 0xFF_FFFF
        )
    }

    pub fn list_workspaces(&self) -> Vec<Value> {
        self.workspaces.clone()
    }

    /// A workspace by id or `external_id:`.
    pub fn workspace(&self, seg: &str) -> Result<&Value, Problem> {
        let found = match seg.strip_prefix("external_id:") {
            Some(ext) => self.workspaces.iter().find(|w| ext_of(w) == Some(ext)),
            None => self
                .workspaces
                .iter()
                .find(|w| id_of(w) == seg || ext_of(w) == Some(seg)),
        };
        found.ok_or_else(|| not_found("workspace"))
    }

    pub fn create_workspace(&mut self, body: &Value) -> Answer {
        let b = body
            .as_object()
            .ok_or_else(|| invalid("the body must be an object"))?;
        only(b, &["metadata", "spec"], "")?;
        let meta = b
            .get("metadata")
            .and_then(Value::as_object)
            .ok_or_else(|| violation("metadata", "required"))?;
        only(meta, &["name", "externalId", "labels"], "metadata.")?;
        if !named(meta) {
            return Err(violation("metadata.name", "required"));
        }
        if let Some(ext) = meta.get("externalId").and_then(Value::as_str) {
            if self.workspaces.iter().any(|w| ext_of(w) == Some(ext)) {
                return Err(conflict(format!(
                    "a workspace with externalId {ext} exists"
                )));
            }
        }
        let id = self.id("ws");
        let mut metadata = meta.clone();
        metadata.insert("id".into(), json!(id));
        metadata.insert("accountId".into(), json!("acct_EMULATOR"));
        let spec = b.get("spec").cloned().unwrap_or_else(|| json!({}));
        let w = json!({"metadata": metadata, "spec": spec, "status": "STATUS_ENABLED"});
        self.workspaces.push(w.clone());
        let models: Vec<Value> = MODELS
            .iter()
            .map(|(p, f, on)| {
                let mid = self.id("model");
                json!({"metadata": {"id": mid, "name": format!("{p}/{f}"), "workspaceId": id},
                       "spec": {"provider": p, "family": f, "status": if *on {"MODEL_STATUS_ENABLED"} else {"MODEL_STATUS_DISABLED"}}})
            })
            .collect();
        self.items.insert(format!("{id}/models"), models);
        Ok((200, w))
    }

    pub fn update_workspace(&mut self, seg: &str, body: &Value) -> Answer {
        let id = id_of(self.workspace(seg)?).to_string();
        let i = self
            .workspaces
            .iter()
            .position(|w| id_of(w) == id)
            .ok_or_else(|| not_found("workspace"))?;
        let mut w = self.workspaces[i].clone();
        apply_update(&mut w, body, &["description"])?;
        self.workspaces[i] = w.clone();
        Ok((200, w))
    }

    /// The canonical id of `seg` (an id or `external_id:x`) in `collection`.
    pub fn resolve(&self, collection: &str, seg: &str) -> Result<String, Problem> {
        let items = self
            .items
            .get(collection)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let found = match seg.strip_prefix("external_id:") {
            Some(ext) => items.iter().find(|r| ext_of(r) == Some(ext)),
            None => items.iter().find(|r| id_of(r) == seg),
        };
        found
            .map(|r| id_of(r).to_string())
            .ok_or_else(|| not_found(collection))
    }

    fn get_mut(&mut self, collection: &str, id: &str) -> Option<&mut Value> {
        self.items
            .get_mut(collection)?
            .iter_mut()
            .find(|r| id_of(r) == id)
    }

    pub fn get(&self, collection: &str, id: &str) -> Option<&Value> {
        self.items.get(collection)?.iter().find(|r| id_of(r) == id)
    }

    /// A page of `collection` (`cursor` is an offset), without `info`
    /// unless asked for.
    pub fn list(
        &self,
        collection: &str,
        limit: Option<&str>,
        cursor: Option<&str>,
        info: bool,
    ) -> Answer {
        let limit = match limit {
            None => 50,
            Some(l) => l
                .parse::<usize>()
                .ok()
                .filter(|l| (1..=100).contains(l))
                .ok_or_else(|| violation("limit", "must be 1 to 100"))?,
        };
        let start = match cursor {
            None | Some("") => 0,
            Some(c) => c
                .strip_prefix('c')
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| violation("cursor", "unknown cursor"))?,
        };
        let items = self
            .items
            .get(collection)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let page: Vec<Value> = items
            .iter()
            .skip(start)
            .take(limit)
            .map(|r| {
                let mut r = r.clone();
                if !info {
                    if let Some(m) = r.as_object_mut() {
                        m.remove("info");
                    }
                }
                r
            })
            .collect();
        let next = if start + page.len() < items.len() {
            format!("c{}", start + page.len())
        } else {
            String::new()
        };
        Ok((
            200,
            json!({"items": page, "pagination": {"nextCursor": next}}),
        ))
    }

    /// Create in `collection` (whose last segment names the kind).
    pub fn create(&mut self, collection: &str, body: &Value) -> Answer {
        let name = collection.rsplit('/').next().unwrap_or_default();
        let k = kind(name).ok_or_else(|| not_found("collection"))?;
        if name == "models" {
            return Err(Problem {
                status: 405,
                code: 12,
                message: "models cannot be created".into(),
                violations: Vec::new(),
            });
        }
        let b = body
            .as_object()
            .ok_or_else(|| invalid("the body must be an object"))?;
        only(b, &["metadata", "spec"], "")?;
        let meta = b
            .get("metadata")
            .and_then(Value::as_object)
            .ok_or_else(|| violation("metadata", "required"))?;
        only(meta, METADATA_FIELDS, "metadata.")?;
        if !named(meta) {
            return Err(violation("metadata.name", "required"));
        }
        let spec = b.get("spec").cloned().unwrap_or_else(|| json!({}));
        let spec_obj = spec
            .as_object()
            .ok_or_else(|| violation("spec", "must be an object"))?;
        only(spec_obj, k.fields, "spec.")?;
        if let Some(missing) = k.required.iter().find(|f| !spec_obj.contains_key(**f)) {
            return Err(violation(&format!("spec.{missing}"), "required"));
        }
        check_spec(name, spec_obj)?;
        if let Some(ext) = meta.get("externalId").and_then(Value::as_str) {
            if self
                .items
                .get(collection)
                .into_iter()
                .flatten()
                .any(|r| ext_of(r) == Some(ext))
            {
                return Err(conflict(format!("externalId {ext} is taken in {name}")));
            }
        }
        if name == "agents"
            && spec_obj.get("status").and_then(Value::as_str) == Some("AGENT_STATUS_PUBLISHED")
        {
            return Err(precondition(
                "an agent cannot be published without a variation",
            ));
        }
        if name == "entries" {
            let key = spec_obj
                .get("key")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if self
                .items
                .get(collection)
                .into_iter()
                .flatten()
                .any(|r| r.pointer("/spec/key").and_then(Value::as_str) == Some(key))
            {
                return Err(conflict(format!("key {key} is taken in this layer")));
            }
        }
        let id = self.id(k.prefix);
        let mut metadata = meta.clone();
        metadata.insert("id".into(), json!(id));
        metadata.insert("createdAt".into(), now());
        let mut r = json!({"metadata": metadata, "spec": spec, "info": {}});
        if name == "variations" {
            r["info"] = json!({"assignments": [], "memoryLayerAssignments": []});
        }
        self.items
            .entry(collection.to_string())
            .or_default()
            .push(r.clone());
        Ok((200, r))
    }

    pub fn update(&mut self, collection: &str, id: &str, body: &Value, put: bool) -> Answer {
        let name = collection.rsplit('/').next().unwrap_or_default();
        let k = kind(name).ok_or_else(|| not_found("collection"))?;
        if k.put != put {
            return Err(Problem {
                status: 405,
                code: 12,
                message: format!(
                    "{name} are updated with {}",
                    if k.put { "PUT" } else { "PATCH" }
                ),
                violations: Vec::new(),
            });
        }
        let mut r = self
            .get(collection, id)
            .cloned()
            .ok_or_else(|| not_found(name))?;
        apply_update(&mut r, body, k.fields)?;
        let spec = r
            .get("spec")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        check_spec(name, &spec)?;
        if let Some(ext) = ext_of(&r) {
            if self
                .items
                .get(collection)
                .into_iter()
                .flatten()
                .any(|o| ext_of(o) == Some(ext) && id_of(o) != id)
            {
                return Err(conflict(format!("externalId {ext} is taken in {name}")));
            }
        }
        if name == "agents"
            && spec.get("status").and_then(Value::as_str) == Some("AGENT_STATUS_PUBLISHED")
        {
            let vars = self
                .items
                .get(&format!("{collection}/{id}/variations"))
                .map_or(0, Vec::len);
            if vars == 0 {
                return Err(precondition(
                    "an agent cannot be published without a variation",
                ));
            }
        }
        if let Some(slot) = self.get_mut(collection, id) {
            *slot = r.clone();
        }
        Ok((200, r))
    }

    /// Whether any variation of the workspace assigns `target` (tools,
    /// tool sets, sub-agents) or stacks it (memory layers).
    fn in_use(&self, ws: &str, target: &str) -> bool {
        self.items
            .iter()
            .filter(|(k, _)| k.starts_with(ws) && k.ends_with("/variations"))
            .flat_map(|(_, v)| v)
            .any(|v| {
                let assigned = v
                    .pointer("/info/assignments")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .any(|a| {
                        ["toolId", "toolSetId", "subAgentId"]
                            .iter()
                            .any(|f| a.get(*f).and_then(Value::as_str) == Some(target))
                    });
                let stacked = v
                    .pointer("/info/memoryLayerAssignments")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .any(|a| a.get("memoryLayerId").and_then(Value::as_str) == Some(target));
                assigned || stacked
            })
    }

    pub fn delete(&mut self, ws: &str, collection: &str, id: &str) -> Answer {
        let name = collection.rsplit('/').next().unwrap_or_default();
        if self.get(collection, id).is_none() {
            return Err(not_found(name));
        }
        if self.in_use(ws, id) {
            return Err(precondition(format!(
                "{id} is in use by a variation: remove the assignment first"
            )));
        }
        if name == "tool_sets" {
            let tools = self
                .items
                .get(&format!("{collection}/{id}/tools"))
                .cloned()
                .unwrap_or_default();
            if let Some(t) = tools.iter().find(|t| self.in_use(ws, id_of(t))) {
                return Err(precondition(format!(
                    "tool {} of this tool set is in use by a variation",
                    id_of(t)
                )));
            }
        }
        if name == "variations" {
            let agent_path = collection.trim_end_matches("/variations");
            let (agents, agent_id) = agent_path.rsplit_once('/').unwrap_or_default();
            let published = self
                .get(agents, agent_id)
                .and_then(|a| a.pointer("/spec/status"))
                .and_then(Value::as_str)
                == Some("AGENT_STATUS_PUBLISHED");
            if published && self.items.get(collection).map_or(0, Vec::len) <= 1 {
                return Err(precondition(
                    "the last variation of a published agent cannot be deleted",
                ));
            }
        }
        if let Some(list) = self.items.get_mut(collection) {
            list.retain(|r| id_of(r) != id);
        }
        // Children go with their parent.
        let prefix = format!("{collection}/{id}/");
        self.items.retain(|k, _| !k.starts_with(&prefix));
        Ok((204, Value::Null))
    }

    /// `POST …/variations/{v}/assignments`.
    pub fn add_assignment(
        &mut self,
        ws: &str,
        variations: &str,
        variation: &str,
        body: &Value,
    ) -> Answer {
        let b = body
            .as_object()
            .ok_or_else(|| invalid("the body must be an object"))?;
        only(b, &["toolId", "toolSetId", "subAgentId"], "")?;
        if b.len() != 1 {
            return Err(invalid("exactly one of toolId, toolSetId, subAgentId"));
        }
        let (field, target) = b
            .iter()
            .next()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .unwrap_or_default();
        let exists = match field.as_str() {
            "toolSetId" => self.get(&format!("{ws}/tool_sets"), &target).is_some(),
            "subAgentId" => self.get(&format!("{ws}/agents"), &target).is_some(),
            _ => self
                .items
                .iter()
                .filter(|(k, _)| k.starts_with(ws) && k.ends_with("/tools"))
                .any(|(_, v)| v.iter().any(|t| id_of(t) == target)),
        };
        if !exists {
            return Err(violation(&field, &format!("{target} does not exist")));
        }
        let row = self.id("asg");
        let v = self
            .get_mut(variations, variation)
            .ok_or_else(|| not_found("variation"))?;
        let list = v
            .pointer_mut("/info/assignments")
            .and_then(Value::as_array_mut)
            .ok_or_else(|| not_found("variation"))?;
        if list
            .iter()
            .any(|a| a.get(&field).and_then(Value::as_str) == Some(target.as_str()))
        {
            return Err(conflict("already assigned"));
        }
        let object = match field.as_str() {
            "toolId" => "tool",
            "toolSetId" => "toolSet",
            _ => "agent",
        };
        let a = json!({"id": row, field.clone(): target, object: {"id": target}});
        list.push(a.clone());
        Ok((200, a))
    }

    pub fn remove_assignment(
        &mut self,
        variations: &str,
        variation: &str,
        row: &str,
        field: &str,
    ) -> Answer {
        let v = self
            .get_mut(variations, variation)
            .ok_or_else(|| not_found("variation"))?;
        let path = format!("/info/{field}");
        let list = v
            .pointer_mut(&path)
            .and_then(Value::as_array_mut)
            .ok_or_else(|| not_found("variation"))?;
        let before = list.len();
        list.retain(|a| a.get("id").and_then(Value::as_str) != Some(row));
        if list.len() == before {
            return Err(not_found("assignment"));
        }
        Ok((204, Value::Null))
    }

    /// `POST …/memory_layer_assignments`: positions never collide.
    pub fn attach_layer(
        &mut self,
        ws: &str,
        variations: &str,
        variation: &str,
        body: &Value,
    ) -> Answer {
        let b = body
            .as_object()
            .ok_or_else(|| invalid("the body must be an object"))?;
        only(b, &["memoryLayerId", "position"], "")?;
        let seg = b
            .get("memoryLayerId")
            .and_then(Value::as_str)
            .ok_or_else(|| violation("memoryLayerId", "required"))?;
        let layer = self
            .resolve(&format!("{ws}/memory_layers"), seg)
            .map_err(|_| violation("memoryLayerId", "no such memory layer"))?;
        let row = self.id("mla");
        let v = self
            .get_mut(variations, variation)
            .ok_or_else(|| not_found("variation"))?;
        let list = v
            .pointer_mut("/info/memoryLayerAssignments")
            .and_then(Value::as_array_mut)
            .ok_or_else(|| not_found("variation"))?;
        if list
            .iter()
            .any(|a| a.get("memoryLayerId").and_then(Value::as_str) == Some(layer.as_str()))
        {
            return Err(conflict("the layer is already in this variation's stack"));
        }
        if list.len() >= MAX_LAYERS {
            return Err(violation(
                "memoryLayerId",
                "a variation stacks at most 10 memory layers",
            ));
        }
        let max = list
            .iter()
            .filter_map(|a| a.get("position").and_then(Value::as_i64))
            .max()
            .unwrap_or(0);
        let position = b.get("position").and_then(Value::as_i64).unwrap_or(max + 1);
        if list
            .iter()
            .any(|a| a.get("position").and_then(Value::as_i64) == Some(position))
        {
            return Err(violation("position", "another layer holds this position"));
        }
        let a = json!({"id": row, "memoryLayerId": layer, "memoryLayer": {"id": layer}, "position": position});
        list.push(a.clone());
        Ok((200, a))
    }

    pub fn move_layer(
        &mut self,
        variations: &str,
        variation: &str,
        row: &str,
        body: &Value,
    ) -> Answer {
        let b = body
            .as_object()
            .ok_or_else(|| invalid("the body must be an object"))?;
        only(b, &["position", "updateMask"], "")?;
        let position = b
            .get("position")
            .and_then(Value::as_i64)
            .ok_or_else(|| violation("position", "required"))?;
        let v = self
            .get_mut(variations, variation)
            .ok_or_else(|| not_found("variation"))?;
        let list = v
            .pointer_mut("/info/memoryLayerAssignments")
            .and_then(Value::as_array_mut)
            .ok_or_else(|| not_found("variation"))?;
        if list.iter().any(|a| {
            a.get("position").and_then(Value::as_i64) == Some(position)
                && a.get("id").and_then(Value::as_str) != Some(row)
        }) {
            return Err(violation("position", "another layer holds this position"));
        }
        let a = list
            .iter_mut()
            .find(|a| a.get("id").and_then(Value::as_str) == Some(row))
            .ok_or_else(|| not_found("assignment"))?;
        a["position"] = json!(position);
        Ok((200, a.clone()))
    }

    pub fn set_model_status(&mut self, collection: &str, id: &str, body: &Value) -> Answer {
        let status = body
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        enum_value(
            Some(&json!(status)),
            &["MODEL_STATUS_ENABLED", "MODEL_STATUS_DISABLED"],
            "status",
        )?;
        let m = self
            .get_mut(collection, id)
            .ok_or_else(|| not_found("model"))?;
        m["spec"]["status"] = json!(status);
        Ok((200, m.clone()))
    }
}

/// An update body `{metadata?, spec?, updateMask?}`: masked fields are
/// replaced whole (absent from the body: cleared); without a mask, the
/// fields present are replaced.
fn apply_update(r: &mut Value, body: &Value, spec_fields: &[&str]) -> Result<(), Problem> {
    let b = body
        .as_object()
        .ok_or_else(|| invalid("the body must be an object"))?;
    only(b, &["metadata", "spec", "updateMask"], "")?;
    let meta = b
        .get("metadata")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    only(&meta, METADATA_FIELDS, "metadata.")?;
    if b.contains_key("metadata") && !named(&meta) {
        return Err(violation("metadata.name", "required when metadata is sent"));
    }
    let spec = b
        .get("spec")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    only(&spec, spec_fields, "spec.")?;
    let mask: Vec<String> = match b.get("updateMask").and_then(Value::as_str) {
        Some(m) if !m.trim().is_empty() => m.split(',').map(|p| p.trim().to_string()).collect(),
        _ => {
            let mut paths: Vec<String> = meta.keys().map(|k| format!("metadata.{k}")).collect();
            paths.extend(spec.keys().map(|k| format!("spec.{k}")));
            paths
        }
    };
    for path in mask {
        let (section, field) = match path.split_once('.') {
            Some((s, f)) => (s.to_string(), f.to_string()),
            // Bare names (memory entries) are spec fields.
            None => ("spec".to_string(), path.clone()),
        };
        let (source, allowed) = match section.as_str() {
            "metadata" => (&meta, METADATA_FIELDS),
            "spec" => (&spec, spec_fields),
            _ => return Err(violation("updateMask", &format!("unknown path {path}"))),
        };
        let top = field.split('.').next().unwrap_or_default();
        if !allowed.contains(&top) {
            return Err(violation("updateMask", &format!("unknown path {path}")));
        }
        let target = r
            .get_mut(&section)
            .and_then(Value::as_object_mut)
            .ok_or_else(|| invalid("corrupt resource"))?;
        match source.get(top) {
            Some(v) => {
                target.insert(top.to_string(), v.clone());
            }
            None => {
                target.remove(top);
            }
        }
    }
    Ok(())
}

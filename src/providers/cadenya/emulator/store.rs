//! The emulated account and the semantics of every endpoint.
//!
//! State: the workspaces, and per workspace, collections of records keyed by
//! their parent's path (`ws_1/agents`, `ws_1/agents/agent_1/variations`,
//! `ws_1/tool_sets/ts_1/secrets`), each record `{metadata, spec, state?}`
//! as the API answers it, plus what the answer never shows (a secret's
//! value inside `spec`, an entry's `content`, a model's provider key).
//! [`Store::render`] builds the answer: computed `info`, secrets without
//! their value, the variation's assignment lists always present.
//!
//! Rules enforced (the SDK's docstrings; where it is silent, the choices
//! listed in ARCHITECTURE.md): unknown fields and wrong types are 400 naming
//! the field; unique externalIds per kind and parent (409); label syntax;
//! state changes only by actions; no publishing without a variation; never
//! deleting the last variation of a published agent, a variation a
//! schedule pins, a published agent, or a memory layer a variation stacks;
//! a deleted tool, tool set or agent drops out of every assignment; memory
//! stacks of at most 10 layers at unique positions; system-managed layers
//! never assigned or changed; update masks applied at the leaf.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

pub use super::error::*;
use super::schema::{self, Msg};

pub const ACCOUNT_ID: &str = "acct_EMULATOR";
pub const PROFILE_ID: &str = "prof_EMULATOR";
/// A variation stacks at most this many memory layers.
pub const MAX_LAYERS: usize = 10;
/// Page sizes (undocumented by Cadenya: twinform's choice).
pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 100;

/// The kinds of workspace resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Agent,
    Variation,
    Schedule,
    ToolSet,
    Tool,
    SetSecret,
    Layer,
    Entry,
    Secret,
    Model,
    ProviderKey,
    Pool,
}

impl Kind {
    /// A top-level collection of a workspace.
    pub fn top(name: &str) -> Option<Kind> {
        Some(match name {
            "agents" => Kind::Agent,
            "tool_sets" => Kind::ToolSet,
            "memory_layers" => Kind::Layer,
            "workspace_secrets" => Kind::Secret,
            "models" => Kind::Model,
            "ai_provider_keys" => Kind::ProviderKey,
            _ => return None,
        })
    }

    /// A child collection of a resource of this kind.
    pub fn child(self, name: &str) -> Option<Kind> {
        Some(match (self, name) {
            (Kind::Agent, "variations") => Kind::Variation,
            (Kind::Agent, "schedules") => Kind::Schedule,
            (Kind::ToolSet, "tools") => Kind::Tool,
            (Kind::ToolSet, "secrets") => Kind::SetSecret,
            (Kind::Layer, "entries") => Kind::Entry,
            _ => return None,
        })
    }

    pub fn prefix(self) -> &'static str {
        match self {
            Kind::Agent => "agent",
            Kind::Variation => "agentvar",
            Kind::Schedule => "as",
            Kind::ToolSet => "ts",
            Kind::Tool => "tool",
            Kind::SetSecret => "tssec",
            Kind::Layer => "memlyr",
            Kind::Entry => "mement",
            Kind::Secret => "wssec",
            Kind::Model => "model",
            Kind::ProviderKey => "aipk",
            Kind::Pool => "agentpool",
        }
    }

    pub fn noun(self) -> &'static str {
        match self {
            Kind::Agent => "agent",
            Kind::Variation => "variation",
            Kind::Schedule => "schedule",
            Kind::ToolSet => "tool set",
            Kind::Tool => "tool",
            Kind::SetSecret => "tool set secret",
            Kind::Layer => "memory layer",
            Kind::Entry => "memory entry",
            Kind::Secret => "workspace secret",
            Kind::Model => "model",
            Kind::ProviderKey => "AI provider key",
            Kind::Pool => "agent pool",
        }
    }

    /// The actions (`POST …/{id}:verb`) of this kind.
    pub fn verbs(self) -> &'static [&'static str] {
        match self {
            Kind::Agent => &["publish", "unpublish", "archive", "unarchive"],
            Kind::Variation => &[
                "addAssignment",
                "removeAssignment",
                "addMemoryLayer",
                "updateMemoryLayer",
                "removeMemoryLayer",
            ],
            Kind::Schedule => &["pause", "resume", "archive"],
            Kind::ToolSet => &["archive", "unarchive"],
            Kind::Tool => &["omit", "restore"],
            Kind::Model => &["enable", "disable"],
            _ => &[],
        }
    }
}

/// Every verb any kind has: a raw `:` before one of these ends an id.
pub const VERBS: &[&str] = &[
    "publish",
    "unpublish",
    "archive",
    "unarchive",
    "addAssignment",
    "removeAssignment",
    "addMemoryLayer",
    "updateMemoryLayer",
    "removeMemoryLayer",
    "pause",
    "resume",
    "omit",
    "restore",
    "enable",
    "disable",
    "swapModelOnVariations",
];

/// Where a request points: a collection (and, for an item, its id).
#[derive(Debug, Clone)]
pub struct Loc {
    /// The workspace's canonical id.
    pub ws: String,
    pub kind: Kind,
    /// The collection's key in [`Store::items`].
    pub coll: String,
    /// The parent's canonical id (children only).
    pub parent: Option<String>,
    /// The item's canonical id (item paths only).
    pub id: Option<String>,
}

/// A request's query parameters, repeated keys kept.
#[derive(Debug, Default, Clone)]
pub struct Query(pub Vec<(String, String)>);

impl Query {
    pub fn parse(raw: Option<&str>) -> Query {
        Query(
            raw.map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default(),
        )
    }

    /// A single-valued parameter (given twice: 400).
    pub fn one(&self, key: &str) -> Result<Option<&str>, Problem> {
        let mut found = self.0.iter().filter(|(k, _)| k == key).map(|(_, v)| v);
        let first = found.next();
        if found.next().is_some() {
            return Err(violation(key, "given more than once"));
        }
        Ok(first.map(String::as_str).filter(|v| !v.is_empty()))
    }

    /// A repeated parameter (`states=A&states=B`).
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub(super) fn flag(&self, key: &str) -> Result<Option<bool>, Problem> {
        match self.one(key)? {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(_) => Err(violation(key, "must be true or false")),
        }
    }

    pub(super) fn only(&self, allowed: &[&str]) -> Result<(), Problem> {
        const COMMON: &[&str] = &["limit", "cursor"];
        match self
            .0
            .iter()
            .find(|(k, _)| !COMMON.contains(&k.as_str()) && !allowed.contains(&k.as_str()))
        {
            Some((k, _)) => Err(violation(k, "unknown query parameter for this list")),
            None => Ok(()),
        }
    }

    /// A fingerprint of every parameter but the cursor: a next page must be
    /// asked with the same ones.
    fn fingerprint(&self, route: &str) -> String {
        let mut pairs: Vec<&(String, String)> =
            self.0.iter().filter(|(k, _)| k != "cursor").collect();
        pairs.sort();
        let mut h = Sha256::new();
        h.update(route.as_bytes());
        for (k, v) in pairs {
            h.update([0]);
            h.update(k.as_bytes());
            h.update([1]);
            h.update(v.as_bytes());
        }
        hex::encode(&h.finalize()[..8])
    }
}

// ---- small helpers on records ----

pub fn id_of(v: &Value) -> &str {
    v.pointer("/metadata/id")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

pub(super) fn ext_of(v: &Value) -> Option<&str> {
    v.pointer("/metadata/externalId")
        .and_then(Value::as_str)
        .filter(|e| !e.is_empty())
}

pub(super) fn name_of(v: &Value) -> &str {
    v.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

pub(super) fn state_of(v: &Value) -> &str {
    v.get("state").and_then(Value::as_str).unwrap_or_default()
}

/// The union tag of an adapter or tool config.
pub(super) fn tag_of<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(|a| a.get("type"))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

pub(super) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub(super) fn obj(v: &Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

/// The body of a write: a JSON object whose keys are all in `allowed`.
pub(super) fn body_obj<'a>(
    body: &'a Value,
    allowed: &[&str],
) -> Result<&'a Map<String, Value>, Problem> {
    let b = body
        .as_object()
        .ok_or_else(|| invalid("the request body must be a JSON object"))?;
    if let Some(k) = b.keys().find(|k| !allowed.contains(&k.as_str())) {
        let why = match k.as_str() {
            "bundleKey" => "the API has no bundleKey any more: ownership is by metadata.labels",
            "status" | "state" => "state is output only: change it with the resource's actions",
            _ => "unknown field",
        };
        return Err(violation(k, why));
    }
    Ok(b)
}

/// A label key or value name: 1 to 63 characters, alphanumeric at both
/// ends, `-`, `_`, `.` inside.
fn label_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// A DNS subdomain (a label key's optional prefix).
fn dns_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            let b = l.as_bytes();
            !b.is_empty()
                && b.len() <= 63
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        })
}

fn check_labels(labels: &Map<String, Value>, path: &str) -> Result<(), Problem> {
    for (k, v) in labels {
        let (prefix, name) = match k.rsplit_once('/') {
            Some((p, n)) => (Some(p), n),
            None => (None, k.as_str()),
        };
        if prefix.is_some_and(|p| !dns_subdomain(p)) || !label_name(name) {
            return Err(violation(
                &format!("{path}.labels"),
                &format!("invalid label key {k:?}: a name of 1 to 63 alphanumeric characters with '-', '_' or '.' between, after an optional DNS subdomain prefix and '/'"),
            ));
        }
        let value = v.as_str().unwrap_or_default();
        if !value.is_empty() && !label_name(value) {
            return Err(violation(
                &format!("{path}.labels"),
                &format!("invalid value {value:?} of label {k}: 0 to 63 alphanumeric characters with '-', '_' or '.' between"),
            ));
        }
    }
    Ok(())
}

/// Validate metadata (create, or update when sent): normalised.
pub(super) fn check_metadata(v: &Value, path: &str) -> Result<Map<String, Value>, Problem> {
    let m = obj(&schema::check(&schema::METADATA, v, path, true)?);
    finish_metadata(&m, path)?;
    Ok(m)
}

pub(super) fn finish_metadata(m: &Map<String, Value>, path: &str) -> Result<(), Problem> {
    if m.get("name")
        .and_then(Value::as_str)
        .is_none_or(|n| n.trim().is_empty())
    {
        return Err(violation(&format!("{path}.name"), "required"));
    }
    if let Some(labels) = m.get("labels").and_then(Value::as_object) {
        check_labels(labels, path)?;
    }
    if m.get("externalId")
        .and_then(Value::as_str)
        .is_some_and(|e| e.len() > 255)
    {
        return Err(violation(
            &format!("{path}.externalId"),
            "at most 255 characters",
        ));
    }
    Ok(())
}

/// Whether an `external_id:` reference or a canonical id names `v`.
fn names(v: &Value, seg: &str) -> bool {
    match seg.strip_prefix("external_id:") {
        Some(ext) => ext_of(v) == Some(ext),
        None => id_of(v) == seg,
    }
}

/// A memory entry's key: `^[A-Za-z0-9!_.*'()/-]+$`, no leading or trailing
/// `/`, no `//`, not under `cadenya/` or `system/`.
pub(super) fn check_entry_key(key: &str) -> Result<(), Problem> {
    let ok = !key.is_empty()
        && key.len() <= 1024
        && key
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"!_.*'()/-".contains(&c))
        && !key.starts_with('/')
        && !key.ends_with('/')
        && !key.contains("//");
    if !ok {
        return Err(violation(
            "spec.key",
            "letters, digits and !_.*'()/- only, no leading or trailing '/', no '//'",
        ));
    }
    if key.starts_with("cadenya/") || key.starts_with("system/") {
        return Err(violation(
            "spec.key",
            "keys under cadenya/ and system/ are reserved",
        ));
    }
    Ok(())
}

/// The seeded catalog: (provider, family, model externalId, provider model
/// id, enabled, reasoning).
const MODELS: &[(&str, &str, &str, &str, bool, bool)] = &[
    (
        "anthropic",
        "claude-sonnet-4.6",
        "anthropic-claude-sonnet-4-6",
        "claude-sonnet-4-6",
        true,
        true,
    ),
    (
        "anthropic",
        "claude-opus-4.6",
        "anthropic-claude-opus-4-6",
        "claude-opus-4-6",
        false,
        true,
    ),
    ("openai", "gpt-5", "openai-gpt-5", "gpt-5", true, true),
    (
        "openai",
        "gpt-4.1",
        "openai-gpt-4-1",
        "gpt-4.1",
        true,
        false,
    ),
];
/// Every account's provider key.
pub const PROVIDER_KEY: &str = "getting-started-key";

/// The account.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Store {
    pub workspaces: Vec<Value>,
    /// Collection path → records in creation order.
    pub items: BTreeMap<String, Vec<Value>>,
    #[serde(default)]
    next_id: u64,
}

/// Account-scoped metadata (workspaces, profiles).
fn account_meta(m: &Value) -> Value {
    let mut out = obj(m);
    out.remove("workspaceId");
    Value::Object(out)
}

impl Store {
    /// A fresh account with one workspace, `default`.
    pub fn seeded() -> Self {
        let mut s = Store::default();
        let _ = s.create_workspace(
            &json!({"metadata": {"name": "Default", "externalId": "default"}, "spec": {}}),
        );
        s
    }

    fn new_id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!(
            "{prefix}_{:08X}{:06X}",
            self.next_id,
            rand::random::<u32>() & 0xFF_FFFF
        )
    }

    /// Full metadata for a new resource of workspace `ws`.
    pub(super) fn new_metadata(&mut self, prefix: &str, ws: &str, m: &Map<String, Value>) -> Value {
        let id = self.new_id(prefix);
        let at = now();
        json!({
            "id": id,
            "accountId": ACCOUNT_ID,
            "workspaceId": ws,
            "name": m.get("name").cloned().unwrap_or(json!("")),
            "externalId": m.get("externalId").cloned().unwrap_or(json!("")),
            "labels": m.get("labels").cloned().unwrap_or(json!({})),
            "profileId": PROFILE_ID,
            "createdAt": at,
            "updatedAt": at,
        })
    }

    // ---- workspaces and identity ----

    /// A workspace's canonical id, from an id or `external_id:x`.
    pub fn workspace_id(&self, seg: &str) -> Result<String, Problem> {
        self.workspaces
            .iter()
            .find(|w| names(w, seg))
            .map(|w| id_of(w).to_string())
            .ok_or_else(|| not_found("workspace"))
    }

    fn workspace_index(&self, seg: &str) -> Result<usize, Problem> {
        self.workspaces
            .iter()
            .position(|w| names(w, seg))
            .ok_or_else(|| not_found("workspace"))
    }

    pub fn workspace_archived(&self, ws: &str) -> bool {
        self.workspaces.iter().any(|w| {
            id_of(w) == ws && w.get("status").and_then(Value::as_str) == Some("STATUS_ARCHIVED")
        })
    }

    fn render_workspace(&self, w: &Value) -> Value {
        let ws = id_of(w);
        let count = |suffix: &str| -> usize {
            self.items
                .iter()
                .filter(|(k, _)| k.starts_with(&format!("{ws}/")) && k.ends_with(suffix))
                .map(|(_, v)| v.len())
                .sum()
        };
        let tools: usize = self
            .items
            .iter()
            .filter(|(k, _)| k.starts_with(&format!("{ws}/")) && k.ends_with("/tools"))
            .flat_map(|(_, v)| v)
            .filter(|t| state_of(t) == "STATE_AVAILABLE")
            .count();
        json!({
            "metadata": account_meta(&w["metadata"]),
            "spec": w.get("spec").cloned().unwrap_or(json!({})),
            "status": w.get("status").cloned().unwrap_or(json!("STATUS_ENABLED")),
            "info": {
                "totalAvailableTools": tools,
                "totalMemoryEntries": count("/entries"),
                "totalAgents": self.items.get(&format!("{ws}/agents")).map_or(0, Vec::len),
                "totalAgentVariations": count("/variations"),
            },
        })
    }

    /// `GET /v1/workspaces` (`account`: false) or `GET /v1/account/workspaces`.
    pub fn list_workspaces(&self, q: &Query, account: bool) -> Answer {
        let allowed: &[&str] = if account {
            &["includeArchived", "labels"]
        } else {
            &["sortOrder", "includeInfo", "labels"]
        };
        q.only(allowed)?;
        let archived = if account {
            q.flag("includeArchived")?.unwrap_or(false)
        } else {
            q.flag("includeInfo")?;
            false
        };
        let labels = parse_labels(q)?;
        let items: Vec<&Value> = self
            .workspaces
            .iter()
            .filter(|w| {
                archived || w.get("status").and_then(Value::as_str) != Some("STATUS_ARCHIVED")
            })
            .filter(|w| labels_match(w, &labels))
            .collect();
        let route = if account {
            "account/workspaces"
        } else {
            "workspaces"
        };
        paginate(items, q, route, |w| self.render_workspace(w))
    }

    pub fn get_workspace(&self, seg: &str) -> Answer {
        let i = self.workspace_index(seg)?;
        Ok((200, self.render_workspace(&self.workspaces[i])))
    }

    pub fn create_workspace(&mut self, body: &Value) -> Answer {
        let b = body_obj(body, &["metadata", "spec"])?;
        let meta = check_metadata(b.get("metadata").unwrap_or(&Value::Null), "metadata")?;
        let spec = schema::check(
            &schema::WORKSPACE_SPEC,
            b.get("spec").unwrap_or(&json!({})),
            "spec",
            true,
        )?;
        if let Some(ext) = meta
            .get("externalId")
            .and_then(Value::as_str)
            .filter(|e| !e.is_empty())
        {
            if self.workspaces.iter().any(|w| ext_of(w) == Some(ext)) {
                return Err(conflict(format!(
                    "a workspace with externalId {ext} exists"
                )));
            }
        }
        let mut metadata = self.new_metadata("ws", "", &meta);
        let ws = metadata["id"].as_str().unwrap_or_default().to_string();
        if let Some(m) = metadata.as_object_mut() {
            m.remove("workspaceId");
        }
        let w = json!({"metadata": metadata, "spec": spec, "status": "STATUS_ENABLED"});
        self.workspaces.push(w.clone());
        self.seed_models(&ws);
        Ok((200, self.render_workspace(&w)))
    }

    /// Every workspace has the provider key `getting-started-key` and its models.
    fn seed_models(&mut self, ws: &str) {
        let key_meta = self.new_metadata(
            Kind::ProviderKey.prefix(),
            ws,
            &obj(&json!({"name": "Getting started", "externalId": PROVIDER_KEY})),
        );
        let key_id = key_meta["id"].as_str().unwrap_or_default().to_string();
        self.items.insert(
            format!("{ws}/ai_provider_keys"),
            vec![json!({"metadata": key_meta, "spec": {"provider": "AI_PROVIDER_OPENROUTER"}})],
        );
        let mut models = Vec::new();
        for (provider, family, ext, provider_model, enabled, reasoning) in MODELS {
            let meta = self.new_metadata(
                Kind::Model.prefix(),
                ws,
                &obj(&json!({"name": format!("{provider}/{family}"), "externalId": ext})),
            );
            let mut caps = vec![
                json!({"type": "temperature", "temperature": {}}),
                json!({"type": "topP", "topP": {}}),
                json!({"type": "stopSequences", "stopSequences": {"limit": 4}}),
                json!({"type": "maxOutputTokens", "maxOutputTokens": {}}),
                json!({"type": "caching", "caching": {}}),
            ];
            if *provider == "anthropic" {
                caps.push(json!({"type": "topK", "topK": {}}));
            }
            if *reasoning {
                caps.push(json!({"type": "reasoning", "reasoning": {"mode": "MODE_ADAPTIVE"}}));
            }
            models.push(json!({
                "metadata": meta,
                "spec": {
                    "provider": provider,
                    "family": family,
                    "maxInputTokens": 200000,
                    "maxOutputTokens": 32000,
                    "inputPricePerMillionTokens": "300",
                    "outputPricePerMillionTokens": "1500",
                    "cachedInputPricePerMillionTokens": "30",
                    "capabilities": caps,
                    "providerModelId": provider_model,
                },
                "state": if *enabled { "STATE_ENABLED" } else { "STATE_DISABLED" },
                "provenance": "PROVENANCE_SYNCED_FROM_PROVIDER",
                "basePricing": {
                    "inputPricePerMillionTokens": "300",
                    "outputPricePerMillionTokens": "1500",
                    "cachedInputPricePerMillionTokens": "30",
                },
                "aiProviderKeyId": key_id,
            }));
        }
        self.items.insert(format!("{ws}/models"), models);
    }

    pub fn update_workspace(&mut self, seg: &str, body: &Value) -> Answer {
        let i = self.workspace_index(seg)?;
        let mut w = self.workspaces[i].clone();
        let b = body_obj(body, &["metadata", "spec", "updateMask"])?;
        let (meta, spec) = update_sources(b, &schema::WORKSPACE_SPEC)?;
        let mask = mask_of(b)?;
        let mut m = obj(&w["metadata"]);
        let mut s = obj(&w["spec"]);
        apply_mask(
            &mask,
            &mut m,
            &mut s,
            meta.as_ref(),
            spec.as_ref(),
            &schema::WORKSPACE_SPEC,
            false,
        )?;
        finish_metadata(&m, "metadata")?;
        if let Some(ext) = m
            .get("externalId")
            .and_then(Value::as_str)
            .filter(|e| !e.is_empty())
        {
            if self
                .workspaces
                .iter()
                .enumerate()
                .any(|(j, o)| j != i && ext_of(o) == Some(ext))
            {
                return Err(conflict(format!(
                    "a workspace with externalId {ext} exists"
                )));
            }
        }
        m.insert("updatedAt".into(), json!(now()));
        w["metadata"] = Value::Object(m);
        w["spec"] = schema::check(&schema::WORKSPACE_SPEC, &Value::Object(s), "spec", true)?;
        self.workspaces[i] = w.clone();
        Ok((200, self.render_workspace(&w)))
    }

    /// `DELETE /v1/account/workspaces/{id}`: archives it.
    pub fn archive_workspace(&mut self, seg: &str) -> Answer {
        let i = self.workspace_index(seg)?;
        self.workspaces[i]["status"] = json!("STATUS_ARCHIVED");
        Ok((204, Value::Null))
    }

    fn profile(&self) -> Value {
        json!({
            "metadata": {
                "id": PROFILE_ID, "accountId": ACCOUNT_ID, "name": "Emulator",
                "externalId": "", "labels": {}, "profileId": PROFILE_ID,
                "createdAt": "2026-01-01T00:00:00Z",
            },
            "spec": {"email": "emulator@twinform.invalid", "name": "Emulator", "type": "PROFILE_TYPE_API_KEY"},
        })
    }

    /// `GET /v1/whoami`.
    pub fn whoami(&self) -> Answer {
        let mut out = json!({"profile": self.profile()});
        if let Some(w) = self
            .workspaces
            .iter()
            .find(|w| w.get("status").and_then(Value::as_str) != Some("STATUS_ARCHIVED"))
        {
            out["defaultWorkspace"] = account_meta(&w["metadata"]);
        }
        Ok((200, out))
    }

    // ---- lookups ----

    pub fn records(&self, coll: &str) -> &[Value] {
        self.items.get(coll).map(Vec::as_slice).unwrap_or_default()
    }

    /// The canonical id of `seg` (an id or `external_id:x`) in `coll`.
    pub fn resolve(&self, coll: &str, seg: &str, kind: Kind) -> Result<String, Problem> {
        self.records(coll)
            .iter()
            .find(|r| names(r, seg))
            .map(|r| id_of(r).to_string())
            .ok_or_else(|| not_found(kind.noun()))
    }

    pub fn get(&self, coll: &str, id: &str) -> Option<&Value> {
        self.records(coll).iter().find(|r| id_of(r) == id)
    }

    pub(super) fn get_mut(&mut self, coll: &str, id: &str) -> Option<&mut Value> {
        self.items
            .get_mut(coll)?
            .iter_mut()
            .find(|r| id_of(r) == id)
    }

    /// Every collection of a kind of child in workspace `ws` (`/tools`, `/variations`).
    pub(super) fn children<'a>(
        &'a self,
        ws: &str,
        suffix: &'static str,
    ) -> impl Iterator<Item = (&'a String, &'a Value)> + 'a {
        let prefix = format!("{ws}/");
        self.items
            .iter()
            .filter(move |(k, _)| k.starts_with(&prefix) && k.ends_with(suffix))
            .flat_map(|(k, v)| v.iter().map(move |r| (k, r)))
    }

    pub(super) fn find_tool(&self, ws: &str, id: &str) -> Option<(&String, &Value)> {
        self.children(ws, "/tools").find(|(_, t)| id_of(t) == id)
    }

    /// A model by reference: `<provider key externalId>.<model externalId>`
    /// or a canonical `model_…` id.
    pub(super) fn resolve_model(&self, ws: &str, reference: &str) -> Result<&Value, String> {
        let models = self.records(&format!("{ws}/models"));
        if reference.starts_with("model_") {
            return models
                .iter()
                .find(|m| id_of(m) == reference)
                .ok_or_else(|| format!("no model {reference} in this workspace"));
        }
        let parts = reference.split_once('.').filter(|(k, m)| {
            !k.is_empty() && !m.is_empty() && !k.contains(':') && !m.contains('.')
        });
        let Some((key, model)) = parts else {
            return Err(format!(
                "{reference:?} must be a reference key <ai provider key>.<model> (e.g. {PROVIDER_KEY}.openai-gpt-4-1) or a model_ id"
            ));
        };
        let key_id = self
            .records(&format!("{ws}/ai_provider_keys"))
            .iter()
            .find(|k| ext_of(k) == Some(key))
            .map(id_of)
            .ok_or_else(|| format!("no AI provider key {key:?} in this workspace"))?;
        models
            .iter()
            .find(|m| {
                ext_of(m) == Some(model)
                    && m.get("aiProviderKeyId").and_then(Value::as_str) == Some(key_id)
            })
            .ok_or_else(|| format!("no model {model:?} under the AI provider key {key:?}"))
    }

    /// Whether `id` is taken as externalId in `coll` by another than `except`.
    fn ext_taken(&self, coll: &str, ext: Option<&str>, except: &str) -> Option<String> {
        let ext = ext.filter(|e| !e.is_empty())?;
        self.records(coll)
            .iter()
            .any(|r| ext_of(r) == Some(ext) && id_of(r) != except)
            .then(|| ext.to_string())
    }

    pub(super) fn unique_ext(
        &self,
        loc: &Loc,
        meta: &Map<String, Value>,
        except: &str,
    ) -> Result<(), Problem> {
        match self.ext_taken(
            &loc.coll,
            meta.get("externalId").and_then(Value::as_str),
            except,
        ) {
            Some(ext) => Err(conflict(format!(
                "a {} with externalId {ext} already exists here",
                loc.kind.noun()
            ))),
            None => Ok(()),
        }
    }

    /// Names must be unique among tools of a set and among secrets.
    pub(super) fn unique_name(
        &self,
        loc: &Loc,
        meta: &Map<String, Value>,
        except: &str,
    ) -> Result<(), Problem> {
        if !matches!(loc.kind, Kind::Tool | Kind::SetSecret | Kind::Secret) {
            return Ok(());
        }
        let name = meta.get("name").and_then(Value::as_str).unwrap_or_default();
        if self
            .records(&loc.coll)
            .iter()
            .any(|r| name_of(r) == name && id_of(r) != except)
        {
            return Err(conflict(format!(
                "a {} named {name} already exists here",
                loc.kind.noun()
            )));
        }
        Ok(())
    }
}

// ---- labels filter and paging ----

/// `labels=k=v,k2=v2`: every pair must match (AND).
pub(super) fn parse_labels(q: &Query) -> Result<Vec<(String, String)>, Problem> {
    let Some(raw) = q.one("labels")? else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                Ok((k.trim().to_string(), v.trim().to_string()))
            }
            _ => Err(violation(
                "labels",
                "must be comma-separated key=value pairs",
            )),
        })
        .collect()
}

pub(super) fn labels_match(r: &Value, want: &[(String, String)]) -> bool {
    want.iter().all(|(k, v)| {
        r.pointer("/metadata/labels")
            .and_then(|l| l.get(k))
            .and_then(Value::as_str)
            == Some(v.as_str())
    })
}

/// One page of `items` (already filtered, in order) for `q`, each rendered.
pub(super) fn paginate<'a>(
    mut items: Vec<&'a Value>,
    q: &Query,
    route: &str,
    render: impl Fn(&'a Value) -> Value,
) -> Answer {
    let limit = match q.one("limit")? {
        None => DEFAULT_LIMIT,
        Some(l) => match l.parse::<i64>() {
            Ok(0) => DEFAULT_LIMIT,
            Ok(n) if (1..=MAX_LIMIT as i64).contains(&n) => n as usize,
            _ => {
                return Err(violation(
                    "limit",
                    &format!("must be between 1 and {MAX_LIMIT}"),
                ))
            }
        },
    };
    match q.one("sortOrder")?.map(str::to_ascii_lowercase).as_deref() {
        None | Some("asc") => {}
        Some("desc") => items.reverse(),
        Some(_) => return Err(violation("sortOrder", "must be asc or desc")),
    }
    let fingerprint = q.fingerprint(route);
    let start = match q.one("cursor")? {
        None => 0,
        Some(c) => {
            let cur: Value = hex::decode(c)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .ok_or_else(|| violation("cursor", "not a cursor this server issued"))?;
            if cur.get("q").and_then(Value::as_str) != Some(fingerprint.as_str()) {
                return Err(violation(
                    "cursor",
                    "a next page must be asked with the same parameters as the first",
                ));
            }
            let after = cur.get("after").and_then(Value::as_str).unwrap_or_default();
            let at = cur.get("at").and_then(Value::as_u64).unwrap_or(0) as usize;
            // After the last item seen; where it was, if it is gone.
            match items.iter().position(|r| id_of(r) == after) {
                Some(i) => i + 1,
                None => at.min(items.len()),
            }
        }
    };
    let page: Vec<&Value> = items.iter().skip(start).take(limit).copied().collect();
    let end = start + page.len();
    let next = match page.last() {
        Some(last) if end < items.len() => {
            hex::encode(json!({"after": id_of(last), "at": end, "q": fingerprint}).to_string())
        }
        _ => String::new(),
    };
    let rendered: Vec<Value> = page.into_iter().map(render).collect();
    Ok((
        200,
        json!({"items": rendered, "pagination": {"nextCursor": next}}),
    ))
}

// ---- update masks ----

/// A JSON object's fields.
pub type Fields = Map<String, Value>;

/// `metadata` and `spec` of an update body, normalised (not yet merged).
pub(super) fn update_sources(
    b: &Map<String, Value>,
    spec_msg: &Msg,
) -> Result<(Option<Fields>, Option<Fields>), Problem> {
    let meta = match b.get("metadata").filter(|v| !v.is_null()) {
        Some(m) => Some(check_metadata(m, "metadata")?),
        None => None,
    };
    let spec = match b.get("spec").filter(|v| !v.is_null()) {
        Some(s) => Some(obj(&schema::check(spec_msg, s, "spec", false)?)),
        None => None,
    };
    Ok((meta, spec))
}

/// The mask's paths (trimmed, empty ones dropped).
pub(super) fn mask_of(b: &Map<String, Value>) -> Result<Vec<String>, Problem> {
    match b.get("updateMask") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(s
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(String::from)
            .collect()),
        Some(Value::Object(o)) => match o.get("paths").and_then(Value::as_array) {
            Some(paths) => Ok(paths
                .iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()),
            None => Err(violation(
                "updateMask",
                "must be a comma-separated string of paths",
            )),
        },
        Some(_) => Err(violation(
            "updateMask",
            "must be a comma-separated string of paths",
        )),
    }
}

/// Apply an update mask. Paths: `metadata.<field>`, `spec.<field>[.<leaf>…]`
/// (camelCase or snake_case), `metadata`, `spec`, `*`; memory entries take
/// bare spec names (`key,content`). A masked field absent from the body is
/// cleared; lists and maps are replaced whole. Without a mask, every field
/// present in the body is replaced.
#[allow(clippy::too_many_arguments)]
pub(super) fn apply_mask(
    mask: &[String],
    meta: &mut Map<String, Value>,
    spec: &mut Map<String, Value>,
    meta_src: Option<&Map<String, Value>>,
    spec_src: Option<&Map<String, Value>>,
    spec_msg: &Msg,
    bare: bool,
) -> Result<(), Problem> {
    let mut paths: Vec<String> = mask.to_vec();
    if paths.is_empty() {
        paths.extend(
            meta_src
                .into_iter()
                .flat_map(|m| m.keys().map(|k| format!("metadata.{k}"))),
        );
        paths.extend(
            spec_src
                .into_iter()
                .flat_map(|s| s.keys().map(|k| format!("spec.{k}"))),
        );
    }
    let unknown = |p: &str| violation("updateMask", &format!("unknown path {p:?}"));
    for path in &paths {
        let segs: Vec<&str> = path.split('.').collect();
        match segs.as_slice() {
            ["*"] => {
                for f in ["name", "externalId", "labels"] {
                    set_or_clear(meta, meta_src, f);
                }
                *spec = spec_src.cloned().unwrap_or_default();
            }
            ["metadata"] => {
                for f in ["name", "externalId", "labels"] {
                    set_or_clear(meta, meta_src, f);
                }
            }
            ["spec"] => *spec = spec_src.cloned().unwrap_or_default(),
            ["metadata", rest @ ..] => {
                let resolved =
                    schema::mask_path(&schema::METADATA, rest).ok_or_else(|| unknown(path))?;
                schema::apply_path(&schema::METADATA, meta, meta_src, &resolved);
            }
            ["spec", rest @ ..] => {
                let resolved = schema::mask_path(spec_msg, rest).ok_or_else(|| unknown(path))?;
                schema::apply_path(spec_msg, spec, spec_src, &resolved);
            }
            _ if bare => {
                let resolved = schema::mask_path(spec_msg, &segs).ok_or_else(|| unknown(path))?;
                schema::apply_path(spec_msg, spec, spec_src, &resolved);
            }
            _ => return Err(unknown(path)),
        }
    }
    Ok(())
}

fn set_or_clear(target: &mut Map<String, Value>, source: Option<&Map<String, Value>>, field: &str) {
    match source.and_then(|s| s.get(field)) {
        Some(v) => {
            target.insert(field.into(), v.clone());
        }
        None => {
            target.remove(field);
        }
    }
}

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
use super::schema;

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
    pub(super) fn fingerprint(&self, route: &str) -> String {
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
pub(super) fn names(v: &Value, seg: &str) -> bool {
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
pub(super) const MODELS: &[(&str, &str, &str, &str, bool, bool)] = &[
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
pub(super) fn account_meta(m: &Value) -> Value {
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

//! `twinform export --provider cadenya`: manifests describing what exists,
//! so that planning them right away shows no change.
//!
//! Layout under `--out DIR`, per workspace `W` (its externalId):
//! `cadenya/W/workspace.yaml`, `cadenya/W/agents/<id>.yaml` with prompts in
//! `cadenya/W/prompts/<agent>.<variation>.md`, `cadenya/W/tool-sets/<id>.yaml`,
//! `cadenya/W/memory/<layer>.yaml` with entries in
//! `cadenya/W/memory/<layer>/<entry>.md`, and `cadenya/W/secrets.yaml`.
//! An object whose externalId no manifest can hold (`../../x`) is left out
//! and named; the ids left are made file-safe ([`file_name`]: `..` is a
//! valid id), so every path stays one plain name inside `--out`.
//!
//! - Secrets are written as `${CADENYA_SECRET_<ID>}` placeholders: set those
//!   variables to plan. Their values are never read.
//! - A tool set whose headers look like credentials keeps its adapter
//!   unmanaged (a note); a tool whose call is more than a method and a path
//!   keeps `http` unmanaged.
//! - A resource without an externalId cannot be named by a manifest: it is
//!   left out (export exits 1).
//! - `owner` is written when every exported resource carries one owner's label.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::api::{ws_path, CadenyaApi};
use super::ops::{model_enabled, model_key};
use super::validate::valid_id;
use super::wire::{self, Resource, OWNER_LABEL};
use crate::engine::http::ApiError;
use crate::engine::manifest::to_yaml;
use crate::engine::provider::{file_name, Export, ExportFilter};

/// Everything read of one workspace.
#[derive(Default)]
struct Read {
    workspace: Resource,
    agents: Vec<Resource>,
    variations: HashMap<String, Vec<Resource>>,
    schedules: HashMap<String, Vec<Resource>>,
    tool_sets: Vec<Resource>,
    tools: HashMap<String, Vec<Resource>>,
    layers: Vec<Resource>,
    entries: HashMap<String, Vec<Resource>>,
    secrets: Vec<Resource>,
    models: Vec<Resource>,
}

enum Part {
    Variations(String, Vec<Resource>),
    Schedules(String, Vec<Resource>),
    Tools(String, Vec<Resource>),
    Entries(String, Vec<Resource>),
}

async fn read(api: &CadenyaApi, workspace: Resource, parallelism: usize) -> Result<Read, ApiError> {
    let base = ws_path(workspace.id());
    let paths = [
        "agents",
        "tool_sets",
        "memory_layers",
        "workspace_secrets",
        "models",
    ]
    .map(|c| format!("{base}/{c}"));
    let (agents, tool_sets, layers, secrets, models) = tokio::try_join!(
        api.list(&paths[0], ""),
        api.list(&paths[1], ""),
        api.list(&paths[2], ""),
        api.list(&paths[3], ""),
        api.list(&paths[4], ""),
    )?;
    let limit = Arc::new(Semaphore::new(parallelism.max(1)));
    let mut tasks: JoinSet<Result<Part, ApiError>> = JoinSet::new();
    let list = |tasks: &mut JoinSet<Result<Part, ApiError>>,
                path: String,
                query: &'static str,
                make: fn(String, Vec<Resource>) -> Part,
                id: String| {
        let (api, limit) = (api.clone(), limit.clone());
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            Ok(make(id, api.list(&path, query).await?))
        });
    };
    for a in &agents {
        list(
            &mut tasks,
            format!("{base}/agents/{}/variations", a.id()),
            "includeInfo=true",
            Part::Variations,
            a.id().into(),
        );
        list(
            &mut tasks,
            format!("{base}/agents/{}/schedules", a.id()),
            "",
            Part::Schedules,
            a.id().into(),
        );
    }
    for t in &tool_sets {
        list(
            &mut tasks,
            format!("{base}/tool_sets/{}/tools", t.id()),
            "",
            Part::Tools,
            t.id().into(),
        );
    }
    for l in &layers {
        let (api, limit, path, id) = (
            api.clone(),
            limit.clone(),
            format!("{base}/memory_layers/{}/entries", l.id()),
            l.id().to_string(),
        );
        tasks.spawn(async move {
            Ok(Part::Entries(
                id,
                super::read::entries(&api, &path, &limit, |_| true).await?,
            ))
        });
    }
    let mut r = Read {
        workspace,
        agents,
        tool_sets,
        layers,
        secrets,
        models,
        ..Read::default()
    };
    while let Some(joined) = tasks.join_next().await {
        match joined.map_err(|e| ApiError::Task(e.to_string()))?? {
            Part::Variations(id, v) => {
                r.variations.insert(id, v);
            }
            Part::Schedules(id, v) => {
                r.schedules.insert(id, v);
            }
            Part::Tools(id, v) => {
                r.tools.insert(id, v);
            }
            Part::Entries(id, v) => {
                r.entries.insert(id, v);
            }
        }
    }
    Ok(r)
}

/// Read what exists live and describe it as manifests.
pub async fn export(
    api: &CadenyaApi,
    filter: &ExportFilter,
    parallelism: usize,
) -> Result<Export, ApiError> {
    let all = api.list("/v1/workspaces", "").await?;
    let mut e = Export::default();
    let id_of = |w: &Resource| w.metadata.ext().unwrap_or(w.id()).to_string();
    e.known = all.iter().map(id_of).collect();
    e.known.extend(all.iter().map(|w| w.metadata.name.clone()));
    let mut counts = [0usize; 3];
    for w in all {
        let ws = id_of(&w);
        if !filter.workspaces.is_empty()
            && !filter.workspaces.contains(&ws)
            && !filter.workspaces.contains(&w.metadata.name)
        {
            continue;
        }
        if w.metadata.ext().is_some_and(|x| !valid_id(x)) {
            e.skipped.push(unnameable("workspace", &ws, "the account"));
            continue;
        }
        let mut r = read(api, w, parallelism).await?;
        let incomplete = drop_unnameable(&mut r, &ws, &mut e);
        e.known.extend(
            r.agents
                .iter()
                .filter_map(|a| a.metadata.ext().map(str::to_string)),
        );
        let rendered = render(&ws, &r, filter, &incomplete, &mut e);
        for (i, n) in rendered.into_iter().enumerate() {
            counts[i] += n;
        }
    }
    e.counts = vec![
        ("workspace", counts[0]),
        ("agent", counts[1]),
        ("secret", counts[2]),
    ];
    Ok(e)
}

/// Why a live object whose externalId no manifest can hold (and no file
/// name should come from) is left out.
fn unnameable(what: &str, id: &str, place: &str) -> String {
    format!("{what} `{id}` in {place}: its externalId is not one a manifest can hold (letters, digits, `-`, `_` and `.`, at most 128)")
}

/// Leave out every object of `r` whose externalId a manifest cannot hold
/// (`../../x`, an absolute path), naming each: its children go with it.
fn drop_unnameable(r: &mut Read, ws: &str, e: &mut Export) -> HashSet<(&'static str, String)> {
    let mut incomplete = HashSet::new();
    let place = format!("`{ws}`");
    let mut keep = |what: &str, list: &mut Vec<Resource>| {
        list.retain(|x| match x.metadata.ext() {
            Some(id) if !valid_id(id) => {
                e.skipped.push(unnameable(what, id, &place));
                false
            }
            _ => true,
        })
    };
    keep("agent", &mut r.agents);
    keep("tool set", &mut r.tool_sets);
    keep("memory layer", &mut r.layers);
    keep("secret", &mut r.secrets);
    for (what, children) in [
        ("variation", &mut r.variations),
        ("schedule", &mut r.schedules),
        ("tool", &mut r.tools),
        ("memory entry", &mut r.entries),
    ] {
        for (parent, list) in children.iter_mut() {
            let before = list.len();
            keep(what, list);
            if list.len() != before {
                incomplete.insert((what, parent.clone()));
            }
        }
    }
    incomplete
}

/// A live string where a manifest interpolates.
fn literal(s: &str) -> String {
    s.replace("${", "$${")
}

fn literal_json(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(literal(s)),
        Value::Array(a) => Value::Array(a.iter().map(literal_json).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), literal_json(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[derive(Serialize)]
struct FileRef {
    file: String,
}

#[derive(Serialize)]
struct WorkspaceOut {
    kind: &'static str,
    id: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<String>,
    models: Vec<String>,
}

#[derive(Serialize)]
struct VariationOut {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt: Option<FileRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    weight: u64,
    tools: Vec<String>,
    memory: Vec<String>,
}

#[derive(Serialize)]
struct ScheduleOut {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    cron: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    every: Option<String>,
    timezone: String,
    message: String,
    overlap: String,
    paused: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    variation: Option<String>,
}

#[derive(Serialize)]
struct AgentOut {
    kind: &'static str,
    workspace: String,
    id: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    status: String,
    selection: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    webhook_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    input_schema: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_definition: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    variations: Option<BTreeMap<String, VariationOut>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    schedules: Option<BTreeMap<String, ScheduleOut>>,
}

#[derive(Serialize)]
struct ToolHttpOut {
    method: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
}

#[derive(Serialize)]
struct ToolOut {
    name: String,
    description: String,
    parameters: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    http: Option<ToolHttpOut>,
    requires_approval: bool,
}

#[derive(Serialize)]
struct ToolSetOut {
    kind: &'static str,
    workspace: String,
    id: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    adapter: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tools: Option<BTreeMap<String, ToolOut>>,
}

#[derive(Serialize)]
struct EntryOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    content: FileRef,
}

#[derive(Serialize)]
struct LayerOut {
    kind: &'static str,
    workspace: String,
    id: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(rename = "type")]
    layer_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    entries: Option<BTreeMap<String, EntryOut>>,
}

#[derive(Serialize)]
struct SecretOut {
    kind: &'static str,
    workspace: String,
    id: String,
    name: String,
    value: String,
}

/// The variable a secret's placeholder names.
pub fn secret_var(id: &str) -> String {
    let up: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("CADENYA_SECRET_{up}")
}

/// A calendar back to a 7-field cron, when it is one.
pub fn calendar_cron(cal: &Value) -> Option<String> {
    let fields = [
        ("second", 0i64, 0, 59),
        ("minute", 0, 0, 59),
        ("hour", 0, 0, 23),
        ("dayOfMonth", 0, 1, 31),
        ("month", 0, 1, 12),
        ("dayOfWeek", 1, 0, 6),
    ];
    let norm = super::cron::normalize(cal);
    let mut parts = Vec::new();
    for (name, shift, min, max) in fields {
        let ranges = norm.get(name).and_then(Value::as_array);
        let Some(ranges) = ranges else {
            // Empty: 0 for time fields, any for date fields.
            parts.push(if matches!(name, "second" | "minute" | "hour") {
                "0".to_string()
            } else if name == "dayOfWeek" {
                "?".to_string()
            } else {
                "*".to_string()
            });
            continue;
        };
        let mut items = Vec::new();
        for r in ranges {
            let s = r.get("start")?.as_i64()?;
            let e = r.get("end")?.as_i64()?;
            let st = r.get("step")?.as_i64()?;
            if s < min || e > max {
                return None;
            }
            let (s2, e2) = (s + shift, e + shift);
            let mut item = if s == min && e == max && name != "dayOfWeek" {
                "*".to_string()
            } else if s == e {
                s2.to_string()
            } else {
                format!("{s2}-{e2}")
            };
            if st != 1 {
                if s == e {
                    return None;
                }
                item = format!("{item}/{st}");
            }
            items.push(item);
        }
        parts.push(items.join(","));
    }
    parts.push("*".into());
    let text = parts.join(" ");
    // Only if it compiles back to the same calendar.
    let again = super::cron::calendar(&text).ok()?;
    (super::cron::normalize(&again) == norm).then_some(text)
}

/// Seconds as the shortest `every` text.
fn every_text(secs: u64) -> String {
    for (unit, n) in [("d", 86_400), ("h", 3600), ("m", 60)] {
        if secs.is_multiple_of(n) {
            return format!("{}{unit}", secs / n);
        }
    }
    format!("{secs}s")
}

/// `dir/stem.ext`, unique among the export's files (a name that differs
/// only by case from one already written gets a numbered suffix).
fn unique_path(e: &mut Export, dir: PathBuf, stem: &str, ext: &str, source: &str) -> PathBuf {
    let base = dir.join(format!("{stem}.{ext}")).display().to_string();
    let claimed = e.names.claim(base, source, |b, n| {
        format!("{}-{n}.{ext}", b.trim_end_matches(&format!(".{ext}")))
    });
    PathBuf::from(claimed)
}

/// The manifests for one workspace; (workspaces, agents, secrets) exported.
/// A map of children written only when every child could be: a partial
/// map would delete the missing ones once the export is applied.
fn complete<T>(
    map: BTreeMap<String, T>,
    dropped: bool,
    what: &str,
    e: &mut Export,
) -> Option<BTreeMap<String, T>> {
    if dropped {
        e.notes.push(format!(
            "{what}: some could not be exported, so they are left unmanaged"
        ));
        None
    } else {
        Some(map)
    }
}

fn render(
    ws: &str,
    r: &Read,
    filter: &ExportFilter,
    incomplete: &HashSet<(&'static str, String)>,
    e: &mut Export,
) -> [usize; 3] {
    // Every file name below comes from a live id: made file-safe.
    let dir = PathBuf::from("cadenya").join(file_name(ws));
    let only_agents = !filter.agents.is_empty();
    let ext = |x: &Resource| x.metadata.ext().map(str::to_string);
    let mut owners: BTreeSet<Option<String>> = BTreeSet::new();
    let mut note_owner = |x: &Resource| {
        owners.insert(x.metadata.labels.get(OWNER_LABEL).cloned());
    };
    // Canonical id → reference text, for variation tools and memory.
    let mut refs: HashMap<String, String> = HashMap::new();
    for t in &r.tool_sets {
        if let Some(x) = ext(t) {
            refs.insert(t.id().into(), format!("tool_set:{x}"));
            for tool in r.tools.get(t.id()).into_iter().flatten() {
                if let Some(y) = ext(tool) {
                    refs.insert(tool.id().into(), format!("tool:{x}/{y}"));
                }
            }
        }
    }
    for a in &r.agents {
        if let Some(x) = ext(a) {
            refs.insert(a.id().into(), format!("agent:{x}"));
        }
    }
    let layer_ext: HashMap<&str, String> = r
        .layers
        .iter()
        .filter_map(|l| Some((l.id(), ext(l)?)))
        .collect();
    let mut agents = 0;
    for a in &r.agents {
        let Some(id) = ext(a) else {
            e.skipped.push(format!(
                "agent {} in `{ws}` has no externalId: a manifest cannot name it",
                a.id()
            ));
            continue;
        };
        if only_agents && !filter.agents.contains(&id) {
            continue;
        }
        note_owner(a);
        let mut variations = BTreeMap::new();
        let live_vars = r.variations.get(a.id()).cloned().unwrap_or_default();
        let var_ext: HashMap<&str, String> = live_vars
            .iter()
            .filter_map(|v| Some((v.id(), ext(v)?)))
            .collect();
        let mut dropped_vars = incomplete.contains(&("variation", a.id().to_string()));
        for v in &live_vars {
            let Some(vid) = ext(v) else {
                e.skipped.push(format!(
                    "a variation of agent `{id}` ({}) has no externalId",
                    v.id()
                ));
                dropped_vars = true;
                continue;
            };
            let prompt = v.spec_str("/prompt").map(|p| {
                let file = e.names.claim(
                    format!(
                        "{}/prompts/{}.{}.md",
                        dir.display(),
                        file_name(&id),
                        file_name(&vid)
                    ),
                    &format!("the prompt of variation `{vid}` of agent `{id}`"),
                    |b, n| format!("{}-{n}.md", b.trim_end_matches(".md")),
                );
                let file = file.rsplit('/').next().unwrap_or(&file).to_string();
                e.files
                    .insert(dir.join("prompts").join(&file), p.to_string());
                FileRef {
                    file: format!("../prompts/{file}"),
                }
            });
            let mut tools = Vec::new();
            for asg in wire::assignments(v) {
                match refs.get(&asg.target) {
                    Some(t) => tools.push(t.clone()),
                    None => e.notes.push(format!("agent `{id}` variation `{vid}`: assignment to {} cannot be named (no externalId); left out", asg.target)),
                }
            }
            tools.sort();
            let memory = wire::layer_assignments(v)
                .iter()
                .filter_map(|l| layer_ext.get(l.layer.as_str()).cloned())
                .collect();
            variations.insert(
                vid,
                VariationOut {
                    name: v.metadata.name.clone(),
                    description: v.spec_str("/description").map(str::to_string),
                    prompt,
                    model: v.spec_str("/modelConfig/modelId").map(str::to_string),
                    temperature: v.spec("/modelConfig/temperature").and_then(Value::as_f64),
                    weight: v.spec("/weight").and_then(Value::as_u64).unwrap_or(0),
                    tools,
                    memory,
                },
            );
        }
        let mut schedules = BTreeMap::new();
        let mut dropped_schedules = incomplete.contains(&("schedule", a.id().to_string()));
        for s in r.schedules.get(a.id()).into_iter().flatten() {
            let Some(sid) = ext(s) else {
                e.skipped.push(format!(
                    "a schedule of agent `{id}` ({}) has no externalId",
                    s.id()
                ));
                dropped_schedules = true;
                continue;
            };
            let rule = s.spec("/schedule").cloned().unwrap_or(Value::Null);
            let cals = rule
                .get("calendars")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let ints = rule
                .get("intervals")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let (cron, every) = match (cals.as_slice(), ints.as_slice()) {
                ([c], []) => (calendar_cron(c), None),
                ([], [i])
                    if i.get("offset")
                        .and_then(super::cron::wire_seconds)
                        .unwrap_or(0.0)
                        == 0.0 =>
                {
                    (
                        None,
                        i.get("every")
                            .and_then(super::cron::wire_seconds)
                            .map(|s| every_text(s as u64)),
                    )
                }
                _ => (None, None),
            };
            if cron.is_none() && every.is_none() {
                e.skipped.push(format!("schedule `{sid}` of agent `{id}`: its calendars and intervals are not one cron or one interval"));
                dropped_schedules = true;
                continue;
            }
            schedules.insert(
                sid,
                ScheduleOut {
                    name: s.metadata.name.clone(),
                    cron,
                    every,
                    timezone: rule
                        .get("timezone")
                        .and_then(Value::as_str)
                        .unwrap_or("UTC")
                        .to_string(),
                    message: literal(s.spec_str("/initialMessage").unwrap_or_default()),
                    overlap: s
                        .spec_str("/overlapPolicy")
                        .map_or_else(|| "skip".into(), |o| wire::short(o, "OVERLAP_POLICY_")),
                    paused: s
                        .spec_str("/status")
                        .is_some_and(|x| wire::short(x, "AGENT_SCHEDULE_STATUS_") == "paused"),
                    variation: s
                        .spec_str("/variationId")
                        .and_then(|v| var_ext.get(v).cloned()),
                },
            );
        }
        let doc = AgentOut {
            kind: "CadenyaAgent",
            workspace: ws.into(),
            id: id.clone(),
            name: a.metadata.name.clone(),
            description: a.spec_str("/description").map(str::to_string),
            status: a
                .spec_str("/status")
                .map_or_else(|| "draft".into(), |s| wire::short(s, "AGENT_STATUS_")),
            selection: a.spec_str("/variationSelectionMode").map_or_else(
                || "random".into(),
                |s| wire::short(s, "VARIATION_SELECTION_MODE_"),
            ),
            webhook_url: a.spec_str("/webhookEventsUrl").map(|u| {
                // A URL carrying a credential is never written: a
                // placeholder variable takes its place.
                if crate::engine::credentials::in_string(u).is_none() {
                    return literal(u);
                }
                let var = e.names.claim(
                    secret_var(&id).replacen("CADENYA_SECRET_", "CADENYA_WEBHOOK_URL_", 1),
                    &format!("the webhook URL of agent `{id}`"),
                    |b, n| format!("{b}_{n}"),
                );
                e.notes.push(format!(
                    "agent `{id}`: its webhook_url holds a credential: it is written as ${{{var}}}; set {var} to it before planning"
                ));
                format!("${{{var}}}")
            }),
            input_schema: a.spec("/inputDataSchema").cloned(),
            output_definition: a.spec("/outputDefinition").cloned(),
            variations: complete(variations, dropped_vars, &format!("the variations of agent `{id}`"), e),
            schedules: complete(schedules, dropped_schedules, &format!("the schedules of agent `{id}`"), e),
        };
        let path = unique_path(
            e,
            dir.join("agents"),
            &file_name(&id),
            "yaml",
            &format!("agent `{id}`"),
        );
        e.files.insert(path, to_yaml(&doc));
        agents += 1;
    }
    if only_agents {
        return [0, agents, 0];
    }
    for t in &r.tool_sets {
        let Some(id) = ext(t) else {
            e.skipped
                .push(format!("tool set {} in `{ws}` has no externalId", t.id()));
            continue;
        };
        note_owner(t);
        let adapter = t.spec("/adapter").cloned();
        // A credential anywhere in it (a header, a URL's userinfo or token)
        // is never written: the adapter is left unmanaged.
        let credentials = adapter
            .as_ref()
            .is_some_and(crate::engine::credentials::has_any);
        let adapter = if credentials {
            e.notes.push(format!(
                "tool set `{id}`: its adapter holds credentials; it is left unmanaged"
            ));
            None
        } else {
            adapter.map(|a| snake_adapter(&a))
        };
        let is_http = t.spec("/adapter/http").is_some();
        let mut dropped_tools = incomplete.contains(&("tool", t.id().to_string()));
        let tools = is_http.then(|| {
            let mut out = BTreeMap::new();
            for tool in r.tools.get(t.id()).into_iter().flatten() {
                let Some(tid) = ext(tool) else {
                    e.skipped.push(format!("a tool of tool set `{id}` ({}) has no externalId", tool.id()));
                    dropped_tools = true;
                    continue;
                };
                let http = tool.spec("/config/http").and_then(Value::as_object);
                let simple = http.is_some_and(|h| h.keys().all(|k| k == "requestMethod" || k == "path"));
                if http.is_some() && !simple {
                    e.notes.push(format!("tool `{id}/{tid}`: its call has more than a method and a path; `http` is left unmanaged"));
                }
                out.insert(
                    tid,
                    ToolOut {
                        name: tool.metadata.name.clone(),
                        description: tool.spec_str("/description").unwrap_or_default().to_string(),
                        parameters: tool.spec("/parameters").cloned().unwrap_or_else(|| serde_json::json!({"type": "object"})),
                        http: http.filter(|_| simple).map(|h| ToolHttpOut {
                            method: h.get("requestMethod").and_then(Value::as_str).unwrap_or("GET").to_string(),
                            path: h.get("path").and_then(Value::as_str).map(str::to_string),
                        }),
                        requires_approval: tool.spec("/requiresApproval").and_then(Value::as_bool).unwrap_or(false),
                    },
                );
            }
            out
        });
        let doc = ToolSetOut {
            kind: "CadenyaToolSet",
            workspace: ws.into(),
            id: id.clone(),
            name: t.metadata.name.clone(),
            description: t.spec_str("/description").map(str::to_string),
            adapter,
            tools: tools.and_then(|t| {
                complete(
                    t,
                    dropped_tools,
                    &format!("the tools of tool set `{id}`"),
                    e,
                )
            }),
        };
        let path = unique_path(
            e,
            dir.join("tool-sets"),
            &file_name(&id),
            "yaml",
            &format!("tool set `{id}`"),
        );
        e.files.insert(path, to_yaml(&doc));
    }
    for l in &r.layers {
        let Some(id) = ext(l) else {
            e.skipped.push(format!(
                "memory layer {} in `{ws}` has no externalId",
                l.id()
            ));
            continue;
        };
        if l.spec("/systemManaged").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        note_owner(l);
        let mut entries = BTreeMap::new();
        let mut dropped_entries = incomplete.contains(&("memory entry", l.id().to_string()));
        for en in r.entries.get(l.id()).into_iter().flatten() {
            let Some(eid) = ext(en) else {
                e.skipped.push(format!(
                    "an entry of memory layer `{id}` ({}) has no externalId",
                    en.id()
                ));
                dropped_entries = true;
                continue;
            };
            let path = unique_path(
                e,
                dir.join("memory").join(file_name(&id)),
                &file_name(&eid),
                "md",
                &format!("entry `{eid}` of memory layer `{id}`"),
            );
            let file = path
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            e.files.insert(
                path,
                en.spec_str("/content").unwrap_or_default().to_string(),
            );
            let key = en
                .spec_str("/key")
                .filter(|k| *k != eid)
                .map(str::to_string);
            entries.insert(
                eid,
                EntryOut {
                    key,
                    description: en.spec_str("/description").map(str::to_string),
                    content: FileRef {
                        file: format!("{}/{file}", file_name(&id)),
                    },
                },
            );
        }
        let doc = LayerOut {
            kind: "CadenyaMemoryLayer",
            workspace: ws.into(),
            id: id.clone(),
            name: l.metadata.name.clone(),
            description: l.spec_str("/description").map(str::to_string),
            layer_type: l
                .spec_str("/type")
                .map_or_else(|| "skills".into(), |t| wire::short(t, "MEMORY_LAYER_TYPE_")),
            entries: complete(
                entries,
                dropped_entries,
                &format!("the entries of memory layer `{id}`"),
                e,
            ),
        };
        let path = unique_path(
            e,
            dir.join("memory"),
            &file_name(&id),
            "yaml",
            &format!("memory layer `{id}`"),
        );
        e.files.insert(path, to_yaml(&doc));
    }
    let mut secrets = Vec::new();
    for s in &r.secrets {
        let Some(id) = ext(s) else {
            e.skipped
                .push(format!("secret {} in `{ws}` has no externalId", s.id()));
            continue;
        };
        note_owner(s);
        let var = e.names.claim(
            secret_var(&id),
            &format!("secret `{id}` of workspace `{ws}`"),
            |b, n| format!("{b}_{n}"),
        );
        e.notes.push(format!(
            "secret `{id}`: set {var} to its value before planning (values are never read)"
        ));
        secrets.push(to_yaml(&SecretOut {
            kind: "CadenyaSecret",
            workspace: ws.into(),
            id,
            name: s.metadata.name.clone(),
            value: format!("${{{var}}}"),
        }));
    }
    let secret_count = secrets.len();
    if !secrets.is_empty() {
        e.files
            .insert(dir.join("secrets.yaml"), secrets.join("---\n"));
    }
    let owner = match owners.iter().collect::<Vec<_>>().as_slice() {
        [Some(o)] => Some(o.clone()),
        _ => None,
    };
    let models: Vec<String> = r
        .models
        .iter()
        .filter(|m| model_enabled(m))
        .map(model_key)
        .collect();
    let doc = WorkspaceOut {
        kind: "CadenyaWorkspace",
        id: ws.into(),
        name: r.workspace.metadata.name.clone(),
        description: r.workspace.spec_str("/description").map(str::to_string),
        owner,
        models,
    };
    e.files.insert(dir.join("workspace.yaml"), to_yaml(&doc));
    [1, agents, secret_count]
}

/// The wire's adapter in the manifest's snake_case (header names as they are).
fn snake_adapter(a: &Value) -> Value {
    let Some((kind, inner)) = a.as_object().and_then(|m| m.iter().next()) else {
        return a.clone();
    };
    let mut out = serde_json::Map::new();
    if let Some(m) = inner.as_object() {
        for (k, v) in m {
            let key = match k.as_str() {
                "baseUrl" => "base_url".to_string(),
                other => other.to_string(),
            };
            out.insert(key, literal_json(v));
        }
    }
    serde_json::json!({kind: out})
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn calendars_become_crons_again_when_they_are_one() {
        for cron in ["0 0 2 * * ? *", "0 */15 9-17 ? * 2-6 *", "30 0 0 1 1,7 ? *"] {
            let cal = super::super::cron::calendar(cron).unwrap();
            let back = calendar_cron(&cal).unwrap();
            assert_eq!(
                super::super::cron::calendar(&back).unwrap(),
                cal,
                "{cron} → {back}"
            );
        }
        assert_eq!(every_text(900), "15m");
        assert_eq!(every_text(5400), "90m");
        assert!(calendar_cron(&json!({"hour": [{"start": 99}]})).is_none());
    }

    #[test]
    fn secrets_become_placeholders() {
        assert_eq!(secret_var("crm-token"), "CADENYA_SECRET_CRM_TOKEN");
    }
}

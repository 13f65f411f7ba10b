//! Reading Cadenya's live state: only the kinds a workspace's manifests
//! touch, children only of managed parents, concurrently.
//!
//! Read-call formula (asserted in tests against the emulator's counter);
//! `pages(n)` = 1 when `n <= 100`, else `2 · ceil(n / 100)` (cursors are
//! opaque, so a list of several pages is read until two reads agree: the
//! engine's `read_cursor_list`; more while the list changes, at most 5 reads):
//!
//! ```text
//! reads = pages(workspaces)                           GET /v1/workspaces
//!   for each declared workspace that exists:
//!   + pages(agents)           when it declares an agent, or prunes
//!   + pages(archived agents)  when a declared agent is not in that list,
//!                             or it prunes (lists hide archived agents)
//!   + pages(tool sets)        when it declares or references one, or prunes
//!   + pages(archived tool sets)  likewise
//!   + pages(memory layers)    when it declares or references one, or prunes
//!   + pages(secrets)          when it declares one, or prunes
//!   + pages(models)           when it declares `models`
//!   + per declared agent that exists:
//!       pages(variations)     when it declares `variations`
//!       pages(schedules)      when it declares `schedules`
//!   + per tool set that exists and declares `tools` or is named by `tool:`:
//!       pages(tools)
//!   + per declared tool set that exists and declares `secrets`:
//!       pages(its secrets)
//!   + per declared memory layer that exists and declares `entries`:
//!       pages(entries) + one GET per declared entry that exists (the list
//!       omits the content, `MemoryEntry` vs `MemoryEntryDetail`)
//! ```
//!
//! Variations carry their assignments and memory stack in `spec` (the SDK:
//! "Reads always populate both assignment lists"), so no `includeInfo`.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::api::{ws_path, CadenyaApi};
use super::model::{Desired, ToolRef, WorkspaceSpec};
use super::wire::Resource;
use crate::engine::http::{ApiError, Bounded, Limit};

/// What was read of one declared workspace. `None`: not read (not needed).
#[derive(Debug, Clone, Default)]
pub struct Space {
    pub workspace: Resource,
    /// The default list, and archived ones when they were read.
    pub agents: Option<Vec<Resource>>,
    pub tool_sets: Option<Vec<Resource>>,
    pub layers: Option<Vec<Resource>>,
    pub secrets: Option<Vec<Resource>>,
    pub models: Option<Vec<Resource>>,
    /// By agent id.
    pub variations: HashMap<String, Vec<Resource>>,
    pub schedules: HashMap<String, Vec<Resource>>,
    /// By tool set id.
    pub tools: HashMap<String, Vec<Resource>>,
    pub set_secrets: HashMap<String, Vec<Resource>>,
    /// By layer id; declared entries with their content.
    pub entries: HashMap<String, Vec<Resource>>,
}

/// What the API said.
#[derive(Debug, Clone, Default)]
pub struct Live {
    /// By declared workspace id; absent when the workspace does not exist.
    pub spaces: BTreeMap<String, Space>,
    /// The keyed fingerprint each declared secret's value would have, by
    /// (workspace, secret id); tool-set secrets by (workspace, tool set id,
    /// name). See `diff/secret.rs`.
    pub secret_digests: HashMap<(String, String), String>,
    pub set_secret_digests: HashMap<(String, String, String), String>,
}

/// The live workspace a declared one is: by externalId, else by id.
pub fn find_workspace<'a>(all: &'a [Resource], spec: &WorkspaceSpec) -> Option<&'a Resource> {
    all.iter()
        .find(|w| w.metadata.ext() == Some(spec.id.as_str()))
        .or_else(|| all.iter().find(|w| w.metadata.id == spec.id))
}

/// The live resource with externalId `ext`.
pub fn by_ext_in<'a>(items: &'a [Resource], ext: &str) -> Option<&'a Resource> {
    items.iter().find(|r| r.metadata.ext() == Some(ext))
}

/// What one workspace's manifests need read.
struct Needs {
    prune: bool,
    agents: bool,
    tool_sets: bool,
    layers: bool,
    secrets: bool,
    models: bool,
    /// Declared agents and declared or referenced tool sets, by externalId.
    agent_ids: HashSet<String>,
    tool_set_ids: HashSet<String>,
    /// Tool sets named by `tool:` references.
    tools_of: HashSet<String>,
}

fn needs(d: &Desired, w: &WorkspaceSpec) -> Needs {
    let here = |ws: &str| ws == w.id;
    let refs = || {
        d.agents
            .iter()
            .filter(|a| here(&a.workspace))
            .flat_map(|a| a.variations.iter().flatten())
            .flat_map(|v| v.tools.iter().flatten())
    };
    let tools_of: HashSet<String> = refs()
        .filter_map(|r| match r {
            ToolRef::Tool(s, _) => Some(s.clone()),
            _ => None,
        })
        .collect();
    let mut tool_set_ids: HashSet<String> = refs()
        .filter_map(|r| match r {
            ToolRef::Tool(s, _) | ToolRef::ToolSet(s) => Some(s.clone()),
            ToolRef::Agent(_) => None,
        })
        .collect();
    tool_set_ids.extend(
        d.tool_sets
            .iter()
            .filter(|t| here(&t.workspace))
            .map(|t| t.id.clone()),
    );
    let memory_refs = d
        .agents
        .iter()
        .filter(|a| here(&a.workspace))
        .flat_map(|a| a.variations.iter().flatten())
        .any(|v| v.memory.as_ref().is_some_and(|m| !m.is_empty()));
    let agent_ids: HashSet<String> = d
        .agents
        .iter()
        .filter(|a| here(&a.workspace))
        .map(|a| a.id.clone())
        .collect();
    Needs {
        prune: w.prune,
        agents: w.prune || !agent_ids.is_empty(),
        tool_sets: w.prune || !tool_set_ids.is_empty(),
        layers: w.prune || memory_refs || d.layers.iter().any(|l| here(&l.workspace)),
        secrets: w.prune || d.secrets.iter().any(|s| here(&s.workspace)),
        models: w.models.is_some(),
        agent_ids,
        tool_set_ids,
        tools_of,
    }
}

async fn maybe(
    api: &CadenyaApi,
    on: bool,
    path: String,
    query: &str,
) -> Result<Option<Vec<Resource>>, ApiError> {
    if on {
        api.list(&path, query).await.map(Some)
    } else {
        Ok(None)
    }
}

/// A kind whose default list hides archived resources (agents, tool sets:
/// the loader's "The default list filters hide archived resources"): its
/// archived ones are read too when a declared one is missing, or on prune.
async fn with_archived(
    api: &CadenyaApi,
    on: bool,
    path: String,
    declared: &HashSet<String>,
    prune: bool,
) -> Result<Option<Vec<Resource>>, ApiError> {
    let Some(mut listed) = maybe(api, on, path.clone(), "").await? else {
        return Ok(None);
    };
    let missing = declared.iter().any(|x| by_ext_in(&listed, x).is_none());
    if prune || missing {
        let archived = api.list(&path, "state=STATE_ARCHIVED").await?;
        for a in archived {
            if !listed.iter().any(|l| l.id() == a.id()) {
                listed.push(a);
            }
        }
    }
    Ok(Some(listed))
}

/// Read what `desired` manages.
pub async fn read(
    api: &CadenyaApi,
    desired: &Desired,
    parallelism: usize,
) -> Result<Live, ApiError> {
    let all = api.list("/v1/workspaces", "").await?;
    let limit = Limit::new(parallelism);
    let mut live = Live::default();
    for spec in &desired.workspaces {
        let Some(ws) = find_workspace(&all, spec) else {
            continue;
        };
        let space = read_space(api, desired, spec, ws.clone(), &limit).await?;
        live.spaces.insert(spec.id.clone(), space);
    }
    for s in &desired.secrets {
        live.secret_digests.insert(
            (s.workspace.clone(), s.id.clone()),
            api.keyed_digest(&[&s.workspace, &s.id, s.value.expose()]),
        );
    }
    for t in &desired.tool_sets {
        for (name, value) in t.secrets.iter().flatten() {
            live.set_secret_digests.insert(
                (t.workspace.clone(), t.id.clone(), name.clone()),
                api.keyed_digest(&[&t.workspace, &t.id, name, value.expose()]),
            );
        }
    }
    Ok(live)
}

/// A layer's entries at `path`, those `keep` selects read in full (the
/// list omits content), `limit` requests at a time. The list and the GETs
/// take their permits one by one: a task holding one while waiting for
/// another would deadlock at parallelism 1.
pub async fn entries(
    api: &CadenyaApi,
    path: &str,
    limit: &Limit,
    keep: impl Fn(&Resource) -> bool,
) -> Result<Vec<Resource>, ApiError> {
    let listed = limit.run(api.list(path, "")).await?;
    let mut full = Bounded::new(limit);
    let mut out = Vec::new();
    for e in listed {
        if !keep(&e) {
            // Listed only: enough to delete it, or to name it.
            out.push(e);
            continue;
        }
        let (api, url) = (api.clone(), format!("{path}/{}", super::api::seg(e.id())));
        full.spawn(async move { Ok(api.get(&url).await?.unwrap_or(e)) });
    }
    out.extend(full.all().await?);
    Ok(out)
}

enum Child {
    Variations(String, Vec<Resource>),
    Schedules(String, Vec<Resource>),
    Tools(String, Vec<Resource>),
    SetSecrets(String, Vec<Resource>),
    Entries(String, Vec<Resource>),
}

type Task = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Child, ApiError>> + Send>>;

async fn read_space(
    api: &CadenyaApi,
    desired: &Desired,
    spec: &WorkspaceSpec,
    workspace: Resource,
    limit: &Limit,
) -> Result<Space, ApiError> {
    let n = needs(desired, spec);
    let base = ws_path(workspace.id());
    let (agents, tool_sets, layers, secrets, models) = tokio::try_join!(
        with_archived(
            api,
            n.agents,
            format!("{base}/agents"),
            &n.agent_ids,
            n.prune
        ),
        with_archived(
            api,
            n.tool_sets,
            format!("{base}/tool_sets"),
            &n.tool_set_ids,
            n.prune
        ),
        maybe(api, n.layers, format!("{base}/memory_layers"), ""),
        maybe(api, n.secrets, format!("{base}/workspace_secrets"), ""),
        maybe(api, n.models, format!("{base}/models"), ""),
    )?;
    let mut tasks: Bounded<Child> = Bounded::new(limit);
    let spawn = |tasks: &mut Bounded<Child>, fut: Task| tasks.spawn(fut);
    let list = |path: String, make: fn(String, Vec<Resource>) -> Child, id: String| -> Task {
        let api = api.clone();
        Box::pin(async move { Ok(make(id, api.list(&path, "").await?)) })
    };
    for a in desired.agents.iter().filter(|a| a.workspace == spec.id) {
        let Some(found) = agents.as_deref().and_then(|all| by_ext_in(all, &a.id)) else {
            continue;
        };
        let path = format!("{base}/agents/{}", super::api::seg(found.id()));
        if a.variations.is_some() {
            let t = list(
                format!("{path}/variations"),
                Child::Variations,
                found.id().into(),
            );
            spawn(&mut tasks, t);
        }
        if a.schedules.is_some() {
            let t = list(
                format!("{path}/schedules"),
                Child::Schedules,
                found.id().into(),
            );
            spawn(&mut tasks, t);
        }
    }
    let mut tool_sets_needing_tools: HashSet<String> = n.tools_of.clone();
    for t in desired.tool_sets.iter().filter(|t| t.workspace == spec.id) {
        if t.tools.is_some() {
            tool_sets_needing_tools.insert(t.id.clone());
        }
        if t.secrets.is_some() {
            if let Some(found) = tool_sets.as_deref().and_then(|all| by_ext_in(all, &t.id)) {
                let path = format!("{base}/tool_sets/{}/secrets", super::api::seg(found.id()));
                spawn(&mut tasks, list(path, Child::SetSecrets, found.id().into()));
            }
        }
    }
    for ext in tool_sets_needing_tools {
        let Some(found) = tool_sets.as_deref().and_then(|all| by_ext_in(all, &ext)) else {
            continue;
        };
        let path = format!("{base}/tool_sets/{}/tools", super::api::seg(found.id()));
        spawn(&mut tasks, list(path, Child::Tools, found.id().into()));
    }
    for l in desired.layers.iter().filter(|l| l.workspace == spec.id) {
        let (Some(declared_entries), Some(found)) = (
            &l.entries,
            layers.as_deref().and_then(|all| by_ext_in(all, &l.id)),
        ) else {
            continue;
        };
        let declared: HashSet<String> = declared_entries.iter().map(|e| e.id.clone()).collect();
        let (api, id) = (api.clone(), found.id().to_string());
        let path = format!("{base}/memory_layers/{}/entries", super::api::seg(&id));
        tasks.spawn_driver(|limit| async move {
            let keep = |e: &Resource| e.metadata.ext().is_some_and(|x| declared.contains(x));
            Ok(Child::Entries(
                id,
                entries(&api, &path, &limit, keep).await?,
            ))
        });
    }
    let mut space = Space {
        workspace,
        agents,
        tool_sets,
        layers,
        secrets,
        models,
        ..Space::default()
    };
    while let Some(child) = tasks.next().await {
        match child? {
            Child::Variations(id, v) => {
                space.variations.insert(id, v);
            }
            Child::Schedules(id, v) => {
                space.schedules.insert(id, v);
            }
            Child::Tools(id, v) => {
                space.tools.insert(id, v);
            }
            Child::SetSecrets(id, v) => {
                space.set_secrets.insert(id, v);
            }
            Child::Entries(id, v) => {
                space.entries.insert(id, v);
            }
        }
    }
    Ok(space)
}

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

/// Which listed resources' children are read: all of them (export), or
/// those with these externalIds.
#[derive(Debug, Clone)]
pub enum Pick<T = ()> {
    All,
    Only(HashMap<String, T>),
}

impl<T> Pick<T> {
    fn of(&self, r: &Resource) -> Option<Option<&T>> {
        match self {
            Pick::All => Some(None),
            Pick::Only(m) => m.get(r.metadata.ext()?).map(Some),
        }
    }
}

fn only(ids: impl IntoIterator<Item = String>) -> Pick {
    Pick::Only(ids.into_iter().map(|i| (i, ())).collect())
}

/// What to read of one workspace: what its manifests need ([`needs`]), or
/// everything ([`Needs::everything`], what export renders).
pub struct Needs {
    prune: bool,
    agents: bool,
    tool_sets: bool,
    layers: bool,
    secrets: bool,
    models: bool,
    /// Declared agents and declared or referenced tool sets, by externalId.
    agent_ids: HashSet<String>,
    tool_set_ids: HashSet<String>,
    variations: Pick,
    schedules: Pick,
    tools: Pick,
    set_secrets: Pick,
    /// Layers whose entries are read, each with the entries read in full
    /// (by externalId; with `All`, every entry of every layer the runtime
    /// does not manage).
    entries: Pick<HashSet<String>>,
}

impl Needs {
    /// Every resource of the workspace and every child (archived agents and
    /// tool sets aside, which the default lists hide).
    pub fn everything() -> Self {
        Needs {
            prune: false,
            agents: true,
            tool_sets: true,
            layers: true,
            secrets: true,
            models: true,
            agent_ids: HashSet::new(),
            tool_set_ids: HashSet::new(),
            variations: Pick::All,
            schedules: Pick::All,
            tools: Pick::All,
            set_secrets: Pick::All,
            entries: Pick::All,
        }
    }
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
    let agents = || d.agents.iter().filter(|a| here(&a.workspace));
    let sets = || d.tool_sets.iter().filter(|t| here(&t.workspace));
    let mut with_tools = tools_of;
    with_tools.extend(sets().filter(|t| t.tools.is_some()).map(|t| t.id.clone()));
    Needs {
        prune: w.prune,
        agents: w.prune || !agent_ids.is_empty(),
        tool_sets: w.prune || !tool_set_ids.is_empty(),
        layers: w.prune || memory_refs || d.layers.iter().any(|l| here(&l.workspace)),
        secrets: w.prune || d.secrets.iter().any(|s| here(&s.workspace)),
        models: w.models.is_some(),
        agent_ids,
        tool_set_ids,
        variations: only(
            agents()
                .filter(|a| a.variations.is_some())
                .map(|a| a.id.clone()),
        ),
        schedules: only(
            agents()
                .filter(|a| a.schedules.is_some())
                .map(|a| a.id.clone()),
        ),
        tools: only(with_tools),
        set_secrets: only(sets().filter(|t| t.secrets.is_some()).map(|t| t.id.clone())),
        entries: Pick::Only(
            d.layers
                .iter()
                .filter(|l| here(&l.workspace))
                .filter_map(|l| {
                    let declared = l.entries.as_ref()?.iter().map(|e| e.id.clone()).collect();
                    Some((l.id.clone(), declared))
                })
                .collect(),
        ),
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
        let space = read_space(api, &needs(desired, spec), ws.clone(), &limit).await?;
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

/// Read one workspace: what `n` asks for.
pub async fn read_space(
    api: &CadenyaApi,
    n: &Needs,
    workspace: Resource,
    limit: &Limit,
) -> Result<Space, ApiError> {
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
    let mut list =
        |r: &Resource, under: &str, what: &str, make: fn(String, Vec<Resource>) -> Child| {
            let (api, id) = (api.clone(), r.id().to_string());
            let path = format!("{base}/{under}/{}/{what}", super::api::seg(&id));
            tasks.spawn(async move { Ok(make(id, api.list(&path, "").await?)) });
        };
    for a in agents.iter().flatten() {
        if n.variations.of(a).is_some() {
            list(a, "agents", "variations", Child::Variations);
        }
        if n.schedules.of(a).is_some() {
            list(a, "agents", "schedules", Child::Schedules);
        }
    }
    for t in tool_sets.iter().flatten() {
        if n.set_secrets.of(t).is_some() {
            list(t, "tool_sets", "secrets", Child::SetSecrets);
        }
        if n.tools.of(t).is_some() {
            list(t, "tool_sets", "tools", Child::Tools);
        }
    }
    for l in layers.iter().flatten().filter(|l| !l.system_managed()) {
        let Some(declared) = n.entries.of(l) else {
            continue;
        };
        let declared = declared.cloned();
        let (api, id) = (api.clone(), l.id().to_string());
        let path = format!("{base}/memory_layers/{}/entries", super::api::seg(&id));
        tasks.spawn_driver(|limit| async move {
            // Declared entries are read in full (the list omits content);
            // with everything asked for, all are.
            let keep = |e: &Resource| match &declared {
                None => true,
                Some(d) => e.metadata.ext().is_some_and(|x| d.contains(x)),
            };
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

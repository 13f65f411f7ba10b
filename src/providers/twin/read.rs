//! Reading live state: only what the manifests manage, with as few calls as
//! the API allows, concurrently.
//!
//! Read-call formula (asserted in tests against the emulator's counter):
//!
//! ```text
//! reads = 1                          GET /v1/workspaces
//!       + max(1, ceil(L / 200))      GET /v1/agents, L = live agents (page limit 200)
//!       + S                          GET /v1/schedules, S = 1 if any agent manages `schedule`, else 0
//!       + I                          GET …/instructions per live managed agent that manages `instructions`
//!       + W                          GET …/webhooks per live managed agent that manages `webhooks`
//! ```
//!
//! A page's cursor names its last agent, so one read of the list is
//! consistent (the engine's `read_cursor_list`; were the cursor opaque, the
//! list would be read until two reads agree). Agents that do not exist yet
//! cost nothing. Drift attribution adds one
//! `GET …/instructions/history?limit=1` per agent whose instructions drifted.
//!
//! Narrowed with `--workspace`, the agents are listed per selected workspace:
//!
//! ```text
//! reads = 1 + Σ max(1, ceil(Lw / 200)) over selected live workspaces w
//!       + G                          GET /v1/agents/{id} per agent declared there but listed elsewhere
//!       + S + I + W                  as above, for the agents declared in the selected workspaces
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde_json::json;

use super::api::TwinApi;
use super::model::Desired;
use super::tables;
use super::wire::{Agent, Instructions, Schedule, Webhook, Workspace};
use crate::engine::http::{ApiError, Bounded, Limit};
use crate::engine::provider::Scope;
use crate::engine::resource;
use crate::engine::sha256_hex as content_hash;

/// What the API said, for the objects the manifests manage.
#[derive(Debug, Clone, Default)]
pub struct Live {
    pub workspaces: Vec<Workspace>,
    pub agents: BTreeMap<String, Agent>,
    /// Every schedule, by agent id (read when any agent manages its schedule).
    pub schedules: HashMap<String, Schedule>,
    /// Instructions of managed agents that manage them (`None`: the agent has none).
    pub instructions: HashMap<String, Option<Instructions>>,
    /// Webhooks of managed agents that manage them.
    pub webhooks: HashMap<String, Vec<Webhook>>,
    /// Addresses of webhooks whose create was in flight when an apply was
    /// killed (from the journal): whatever exists there has a signing secret
    /// nobody stored, so the plan replaces it.
    pub unstored_secrets: BTreeSet<String>,
}

enum Detail {
    Instructions(String, Option<Instructions>),
    Webhooks(String, Vec<Webhook>),
    Schedule(String, Option<Schedule>),
}

type Reads = Bounded<Detail>;

/// What a read fetches of one listed agent.
#[derive(Debug, Clone, Copy, Default)]
pub struct Wants {
    pub instructions: bool,
    pub webhooks: bool,
    pub schedule: bool,
}

/// Which agents a read fetches the details of: those a tree declares
/// ([`read`]), or every listed agent a filter keeps ([`read_all`], what
/// export renders).
struct Which<'a> {
    wants: &'a (dyn Fn(&Agent) -> Option<Wants> + Sync),
    /// Whether the schedule list is read at all.
    schedules: bool,
    /// Declared agents fetched one by one when a scoped list misses them.
    declared: Vec<&'a str>,
    desired: Option<&'a Desired>,
}

/// Read the live state the manifests in `desired` manage, limited to
/// `scope`. Per-agent reads start as soon as the page listing the agent
/// arrives. With `--workspace`, agents are listed per selected workspace
/// (`GET /v1/agents?workspace_id=`), and each agent declared there but not
/// listed there is fetched on its own (it may live elsewhere and be moved
/// in). Only in-scope agents get per-agent reads.
pub async fn read(
    client: &TwinApi,
    desired: &Desired,
    parallelism: usize,
    scope: &Scope,
) -> Result<Live, ApiError> {
    let in_scope = || {
        desired
            .agents
            .iter()
            .filter(|a| scope.has_workspace(&a.workspace))
    };
    let managed: HashMap<&str, Wants> = in_scope()
        .map(|a| {
            let wants = Wants {
                instructions: a.instructions.is_some(),
                webhooks: a.webhooks.is_some(),
                schedule: a.schedule.is_some(),
            };
            (a.id.as_str(), wants)
        })
        .collect();
    let wants = |a: &Agent| managed.get(a.agent_id.as_str()).copied();
    let which = Which {
        wants: &wants,
        schedules: in_scope().any(|a| a.schedule.is_some()),
        declared: managed.keys().copied().collect(),
        desired: Some(desired),
    };
    read_with(client, &which, parallelism, scope).await
}

/// Every agent `keep` keeps, with its instructions, webhooks and schedule
/// (and every workspace): the same read as a plan's, asked for everything.
pub async fn read_all(
    client: &TwinApi,
    keep: &(dyn Fn(&Agent) -> bool + Sync),
    parallelism: usize,
) -> Result<Live, ApiError> {
    let all = Wants {
        instructions: true,
        webhooks: true,
        schedule: true,
    };
    let wants = |a: &Agent| keep(a).then_some(all);
    let which = Which {
        wants: &wants,
        schedules: true,
        declared: Vec::new(),
        desired: None,
    };
    read_with(client, &which, parallelism, &Scope::default()).await
}

async fn read_with(
    client: &TwinApi,
    which: &Which<'_>,
    parallelism: usize,
    scope: &Scope,
) -> Result<Live, ApiError> {
    let mut tasks: Reads = Bounded::new(&Limit::new(parallelism));
    let mut agents: BTreeMap<String, Agent> = BTreeMap::new();
    // Unscoped, the workspace list is read alongside the agents; scoped, it
    // is needed first, to know which workspace ids to list agents of.
    let known = match &scope.workspaces {
        Some(_) => Some(client.list_workspaces().await?),
        None => None,
    };
    let list = async {
        let workspaces = match &scope.workspaces {
            None => vec![None],
            Some(names) => selected_ids(known.as_deref().unwrap_or_default(), which.desired, names)
                .into_iter()
                .map(Some)
                .collect(),
        };
        for id in &workspaces {
            let mut seen = Vec::new();
            let listed = client
                .list_agents_as_they_come(id.as_deref(), |agent| {
                    seen.push(agent.agent_id.clone());
                    let page = std::slice::from_ref(agent);
                    details(client, &mut tasks, which.wants, &mut agents, page)
                })
                .await?;
            // Seen by a read of the list that did not count: not live.
            let listed: HashSet<&str> = listed.iter().map(|a| a.agent_id.as_str()).collect();
            for gone in seen.iter().filter(|id| !listed.contains(id.as_str())) {
                agents.remove(gone);
            }
        }
        if scope.workspaces.is_none() {
            return Ok(());
        }
        // Declared here but living elsewhere (or nowhere yet).
        let missing: Vec<&str> = which
            .declared
            .iter()
            .filter(|id| !agents.contains_key(**id))
            .copied()
            .collect();
        for id in missing {
            if let Some(agent) = client.get_agent(id).await? {
                details(client, &mut tasks, which.wants, &mut agents, &[agent]);
            }
        }
        Ok(())
    };
    let (workspaces, (), schedules) = tokio::try_join!(
        async {
            match &known {
                Some(w) => Ok(w.clone()),
                None => client.list_workspaces().await,
            }
        },
        list,
        async {
            if which.schedules {
                client.list_schedules().await
            } else {
                Ok(Vec::new())
            }
        }
    )?;
    let mut live = Live {
        workspaces,
        agents,
        ..Live::default()
    };

    if schedules.iter().any(|s| s.agent_id.is_none()) {
        // A list that does not say whose schedule is whose: ask each managed agent instead.
        let scheduled = live
            .agents
            .values()
            .filter(|a| (which.wants)(a).is_some_and(|w| w.schedule));
        for a in scheduled {
            let (client, id) = (client.clone(), a.agent_id.clone());
            tasks.spawn(async move {
                client
                    .get_schedule(&id)
                    .await
                    .map(|s| Detail::Schedule(id, s))
            });
        }
    } else {
        live.schedules = schedules
            .into_iter()
            .filter_map(|s| Some((s.agent_id.clone()?, s)))
            .collect();
    }
    while let Some(detail) = tasks.next().await {
        let detail = detail?;
        match detail {
            Detail::Instructions(id, i) => {
                live.instructions.insert(id, i);
            }
            Detail::Webhooks(id, w) => {
                live.webhooks.insert(id, w);
            }
            Detail::Schedule(id, s) => {
                if let Some(s) = s {
                    live.schedules.insert(id, s);
                }
            }
        }
    }
    Ok(live)
}

/// Record agents of a page, and start the per-agent reads of the managed ones.
fn details(
    client: &TwinApi,
    tasks: &mut Reads,
    wants: &(dyn Fn(&Agent) -> Option<Wants> + Sync),
    agents: &mut BTreeMap<String, Agent>,
    page: &[Agent],
) {
    for agent in page {
        agents.insert(agent.agent_id.clone(), agent.clone());
        let Some(a) = wants(agent) else {
            continue;
        };
        if a.instructions {
            let (client, id) = (client.clone(), agent.agent_id.clone());
            tasks.spawn(async move {
                client
                    .get_instructions(&id)
                    .await
                    .map(|i| Detail::Instructions(id, i))
            });
        }
        if a.webhooks {
            let (client, id) = (client.clone(), agent.agent_id.clone());
            tasks.spawn(async move {
                client
                    .list_webhooks(&id)
                    .await
                    .map(|w| Detail::Webhooks(id, w))
            });
        }
    }
}

/// Ids of the live workspaces selected by name: by their live name, or by
/// the pinned id of a declared workspace of that name (a rename in progress).
fn selected_ids(
    workspaces: &[Workspace],
    desired: Option<&Desired>,
    names: &BTreeSet<String>,
) -> Vec<String> {
    let pinned: HashMap<&str, &str> = desired
        .iter()
        .flat_map(|d| &d.workspaces)
        .filter_map(|w| Some((w.id.as_deref()?, w.name.as_str())))
        .collect();
    workspaces
        .iter()
        .filter(|w| {
            names.contains(&w.name)
                || pinned
                    .get(w.workspace_id.as_str())
                    .is_some_and(|n| names.contains(*n))
        })
        .map(|w| w.workspace_id.clone())
        .collect()
}

impl Live {
    /// Ids of the workspaces that existed when the state was read: a create's
    /// read-back only takes a workspace that is not among them.
    pub fn workspace_ids(&self) -> HashSet<String> {
        self.workspaces
            .iter()
            .map(|w| w.workspace_id.clone())
            .collect()
    }

    /// Ids of the webhooks each agent had when the state was read (same purpose).
    pub fn webhook_ids(&self) -> HashMap<String, HashSet<String>> {
        self.webhooks
            .iter()
            .map(|(a, hooks)| {
                (
                    a.clone(),
                    hooks.iter().map(|h| h.webhook_id.clone()).collect(),
                )
            })
            .collect()
    }
    /// A fingerprint of every live object the plan's decisions depend on, by
    /// address: all workspaces (names decide matching), managed agents, and
    /// agents in declared workspaces (prune and unmanaged). A saved plan
    /// records them; applying it refuses when any has changed. Agents elsewhere
    /// in the account may change freely.
    pub fn fingerprints(&self, desired: &Desired) -> BTreeMap<String, String> {
        let managed: HashSet<&str> = desired.agents.iter().map(|a| a.id.as_str()).collect();
        let declared: HashSet<&str> =
            self.workspaces
                .iter()
                .filter(|w| {
                    desired.workspaces.iter().any(|d| {
                        d.name == w.name || d.id.as_deref() == Some(w.workspace_id.as_str())
                    })
                })
                .map(|w| w.workspace_id.as_str())
                .collect();
        let mut out = BTreeMap::new();
        let mut put = |addr: String, v: serde_json::Value| {
            out.insert(addr, content_hash(v.to_string().as_bytes()));
        };
        // Names and ids (matching, moves, webhooks by URL) beside what the
        // tables manage.
        let fields = |table, live: &serde_json::Value| resource::fingerprint(table, live);
        for w in &self.workspaces {
            put(
                format!("workspace_id[{:?}]", w.workspace_id),
                json!([w.name, fields(&tables::WORKSPACE, &tables::json(w))]),
            );
        }
        let relevant = self.agents.values().filter(|a| {
            managed.contains(a.agent_id.as_str())
                || a.workspace_id
                    .as_deref()
                    .is_some_and(|w| declared.contains(w))
        });
        for a in relevant {
            put(
                format!("agent[{:?}]", a.agent_id),
                json!([
                    a.workspace_id,
                    fields(&tables::AGENT, &tables::agent_view(a, None))
                ]),
            );
        }
        for a in &desired.agents {
            if a.schedule.is_some() {
                let s = self.schedules.get(&a.id);
                put(
                    format!("agent[{:?}].schedule", a.id),
                    json!(s.map(|s| (fields(&tables::SCHEDULE, &tables::json(s)), s.auto_paused))),
                );
            }
            if let Some(i) = self.instructions.get(&a.id) {
                let view =
                    json!({"instructions": i.as_ref().map(|i| json!({"content": i.content}))});
                put(
                    format!("agent[{:?}].instructions", a.id),
                    json!(fields(&tables::AGENT, &view)),
                );
            }
            if let Some(hooks) = self.webhooks.get(&a.id) {
                let mut v: Vec<_> = hooks
                    .iter()
                    .map(|h| {
                        let own = fields(&tables::WEBHOOK, &tables::webhook_json(h));
                        (&h.webhook_id, &h.url, own)
                    })
                    .collect();
                v.sort();
                put(format!("agent[{:?}].webhooks", a.id), json!(v));
            }
        }
        out
    }
}

//! Reading Twig's live state with as few calls as the API allows.
//!
//! Read-call formula (asserted in tests against the emulator's counter),
//! with pages of 200 (the reference's maximum); `pages(n)` = 1 when
//! `n <= 200`, else `2 · ceil(n / 200)` (a list of several pages is read
//! until two reads agree: the engine's `read_offset_list`):
//!
//! ```text
//! reads = pages(A)       GET /api/v1/agents, A = live agents
//!       + D · pages(S)   GET /api/v1/data-sources, S = live data sources;
//!                        D = 1 when a data source is declared or an
//!                        agent lists one in `data_sources`, else 0
//!       + U · pages(N)   GET /api/v1/users, N = live users;
//!                        U = 1 when a user is declared, else 0
//!       + G              GET /api/v1/agents/:id per managed live agent
//!                        that manages system_prompt, temperature or
//!                        max_tokens (the list omits them)
//! ```
//!
//! A list that changed while it was read is read again from the start (at
//! most 5 times, then the read fails); on a quiet account the formula is exact.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::api::TwigApi;
use super::model::{AgentSpec, Desired};
use super::wire::{Agent, DataSource, User};
use crate::engine::http::{fan_out, ApiError};

/// What the API said.
#[derive(Debug, Clone, Default)]
pub struct Live {
    /// Every live agent; those the manifests manage with their details.
    pub agents: Vec<Agent>,
    /// Ids of agents read in full (`GET /agents/:id`).
    pub detailed: HashSet<String>,
    /// `None`: not read (nothing needs them).
    pub data_sources: Option<Vec<DataSource>>,
    pub users: Option<Vec<User>>,
}

/// Whether a declared agent needs the fields only `GET /agents/:id` gives:
/// it manages a field its table marks as not in list answers.
pub fn needs_details(a: &AgentSpec) -> bool {
    a.values.fields.keys().any(|k| {
        super::tables::AGENT
            .field(k)
            .is_some_and(|f| f.managed_here() && !f.wire.listed)
    })
}

/// The declared agent a live one is, if any: pinned by id, else by name.
pub fn managed_ids(desired: &Desired, agents: &[Agent]) -> HashSet<String> {
    let mut out = HashSet::new();
    for spec in desired.agents.iter().filter(|a| needs_details(a)) {
        match &spec.id {
            Some(id) => {
                if agents.iter().any(|a| &a.id == id) {
                    out.insert(id.clone());
                }
            }
            None => out.extend(
                agents
                    .iter()
                    .filter(|a| a.name == spec.name)
                    .map(|a| a.id.clone()),
            ),
        }
    }
    out
}

/// Read what `desired` manages.
pub async fn read(api: &TwigApi, desired: &Desired, parallelism: usize) -> Result<Live, ApiError> {
    let wants_sources = !desired.data_sources.is_empty()
        || desired
            .agents
            .iter()
            .any(|a| a.data_sources.as_ref().is_some_and(|d| !d.is_empty()));
    let wants_users = !desired.users.is_empty();
    let (agents, data_sources, users) = tokio::try_join!(
        api.list_agents(),
        async {
            if wants_sources {
                api.list_data_sources().await.map(Some)
            } else {
                Ok(None)
            }
        },
        async {
            if wants_users {
                api.list_users().await.map(Some)
            } else {
                Ok(None)
            }
        },
    )?;
    let detailed = managed_ids(desired, &agents);
    let full = details(api, &detailed, parallelism).await?;
    let agents = agents
        .into_iter()
        .map(|a| match full.get(&a.id) {
            Some(f) => merge(a, f.clone()),
            None => a,
        })
        .collect();
    Ok(Live {
        agents,
        detailed,
        data_sources,
        users,
    })
}

/// `GET /agents/:id` for each of `ids`, `parallelism` at a time. An agent
/// deleted between the list and its read is left as listed.
pub async fn details(
    api: &TwigApi,
    ids: &HashSet<String>,
    parallelism: usize,
) -> Result<HashMap<String, Agent>, ApiError> {
    let found = fan_out(parallelism, ids, |id| {
        let (api, id) = (api.clone(), id.clone());
        async move {
            match api.get_agent(&id).await {
                Ok(a) => Ok(Some((id, a))),
                Err(e) if e.status() == Some(404) => Ok(None),
                Err(e) => Err(e),
            }
        }
    })
    .await?;
    let out: HashMap<String, Agent> = found.into_iter().flatten().collect();
    Ok(out)
}

/// The listed agent with what its full read adds: every value the full
/// answer has wins, except an empty name or list where the list said one
/// (whatever fields a table adds come along).
fn merge(listed: Agent, full: Agent) -> Agent {
    let (Ok(Value::Object(mut m)), Ok(Value::Object(more))) =
        (serde_json::to_value(&listed), serde_json::to_value(&full))
    else {
        return listed;
    };
    let blank = |v: &Value| {
        v.is_null() || v.as_str() == Some("") || v.as_array().is_some_and(Vec::is_empty)
    };
    for (k, v) in more {
        let keep = k == "id" || (blank(&v) && m.get(&k).is_some_and(|x| !blank(x)));
        if !keep {
            m.insert(k, v);
        }
    }
    serde_json::from_value(Value::Object(m)).unwrap_or(listed)
}

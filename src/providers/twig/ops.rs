//! Twig's operations: what a change asks of the API, and how each one is
//! carried out (creates exactly once; data source ids resolved from the
//! create answers of the same apply).

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::api::TwigApi;
use super::read::Live;
use super::wire::{AgentBody, DataSourceBody, UserBody};
use crate::engine::apply::journal::Journal;
use crate::engine::http::lost;
use crate::engine::provider::{OpContext, OpError};

/// A data source an agent answers from: live, or created earlier in the
/// same apply (its id is known only then).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SourceRef {
    Id(String),
    New(String),
}

/// The agent fields a create or an update sends (`None`: not sent).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentFields {
    pub name: Option<String>,
    /// The fields [`super::tables::AGENT`] describes, at their wire places.
    pub table: Map<String, Value>,
    pub data_sources: Option<Vec<SourceRef>>,
}

/// One API call of a change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Op {
    /// `name` and the fields [`super::tables::DATA_SOURCE`] describes, at
    /// their wire places.
    CreateDataSource {
        name: String,
        body: Map<String, Value>,
    },
    /// The first sync of a data source this change created.
    SyncDataSource {
        name: String,
    },
    CreateAgent {
        fields: AgentFields,
    },
    UpdateAgent {
        id: String,
        fields: AgentFields,
    },
    DeleteAgent {
        id: String,
    },
    /// `email` and the fields [`super::tables::USER`] describes.
    CreateUser {
        email: String,
        body: Map<String, Value>,
    },
}

impl Op {
    pub fn name(&self) -> &'static str {
        match self {
            Op::CreateDataSource { .. } => "create_data_source",
            Op::SyncDataSource { .. } => "sync_data_source",
            Op::CreateAgent { .. } => "create_agent",
            Op::UpdateAgent { .. } => "update_agent",
            Op::DeleteAgent { .. } => "delete_agent",
            Op::CreateUser { .. } => "create_user",
        }
    }
}

/// Ids that existed when the plan was made (a create that lost its answer
/// looks for a new object of its name among the others), and the late
/// commits to look for at the end.
pub struct ApplyState {
    pub agents: HashSet<String>,
    pub data_sources: HashSet<String>,
    sweeps: Mutex<Vec<Sweep>>,
}

/// An agent create one of whose requests lost its answer: that request may
/// commit after the create was retried, leaving a second agent of the name.
/// At the end of the apply, once it cannot be pending, new agents of the
/// name other than the kept one are deleted.
struct Sweep {
    address: String,
    name: String,
    kept: String,
    not_before: Instant,
}

/// How long after a lost answer the sweep waits, in request timeouts.
const SWEEP_AFTER_TIMEOUTS: u32 = 2;
/// The longest an apply waits for a sweep.
const SWEEP_WAIT_CAP: Duration = Duration::from_secs(30);

impl ApplyState {
    pub fn new(live: &Live) -> Self {
        ApplyState {
            sweeps: Mutex::new(Vec::new()),
            agents: live.agents.iter().map(|a| a.id.clone()).collect(),
            data_sources: live
                .data_sources
                .iter()
                .flatten()
                .map(|d| d.id.clone())
                .collect(),
        }
    }
}

fn source_key(name: &str) -> String {
    format!("data_source:{name}")
}

fn body(ctx: &OpContext<'_>, f: &AgentFields) -> Result<AgentBody, OpError> {
    let data_source_ids = match &f.data_sources {
        Some(refs) => Some(
            refs.iter()
                .map(|r| match r {
                    SourceRef::Id(id) => Ok(id.clone()),
                    SourceRef::New(name) => ctx.recall(&source_key(name)).ok_or_else(|| {
                        OpError::failed(format!("data source `{name}` was not created"))
                    }),
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        None => None,
    };
    let mut body: AgentBody = formed(f.table.clone(), "an agent")?;
    body.name = f.name.clone();
    body.data_source_ids = data_source_ids;
    Ok(body)
}

/// A request body from a table's fields (and the identity beside them).
fn formed<T: serde::de::DeserializeOwned>(
    body: Map<String, Value>,
    what: &str,
) -> Result<T, OpError> {
    serde_json::from_value(Value::Object(body))
        .map_err(|e| OpError::failed(format!("internal error: {what}'s body did not form: {e}")))
}

/// Carry out one operation.
pub async fn execute(
    api: &TwigApi,
    state: &ApplyState,
    op: &Op,
    ctx: &mut OpContext<'_>,
) -> Result<(), OpError> {
    match op {
        Op::CreateDataSource { name, body } => {
            let mut body = body.clone();
            body.insert("name".into(), Value::String(name.clone()));
            let body: DataSourceBody = formed(body, "a data source")?;
            let created = api
                .create_data_source(&body, &state.data_sources)
                .await?
                .value;
            ctx.remember(source_key(name), created.id.clone());
            *ctx.previous = Some(created.id);
            Ok(())
        }
        Op::SyncDataSource { name } => {
            let id = ctx
                .previous
                .clone()
                .or_else(|| ctx.recall(&source_key(name)))
                .ok_or_else(|| OpError::failed(format!("data source `{name}` was not created")))?;
            if let Err(e) = api.sync_data_source(&id).await {
                // The data source exists; only its first sync may not have started.
                let what = if lost(&e) {
                    "may not have started"
                } else {
                    "did not start"
                };
                *ctx.warning = Some(format!(
                    "created, but its first sync {what} ({e}); check its status in Twig, start it there or wait for the schedule"
                ));
            }
            Ok(())
        }
        Op::CreateAgent { fields } => {
            let mut b = body(ctx, fields)?;
            // `data_source_ids` is required on create.
            b.data_source_ids.get_or_insert_with(Vec::new);
            let created = api.create_agent(&b, &state.agents).await?;
            if let (Some(at), Ok(mut sweeps)) = (created.ambiguous_at, state.sweeps.lock()) {
                sweeps.push(Sweep {
                    address: ctx.address.to_string(),
                    name: created.value.name.clone(),
                    kept: created.value.id.clone(),
                    not_before: at + api.client.timeout * SWEEP_AFTER_TIMEOUTS,
                });
            }
            Ok(())
        }
        Op::UpdateAgent { id, fields } => {
            let b = body(ctx, fields)?;
            Ok(api.update_agent(id, &b).await?)
        }
        Op::DeleteAgent { id } => Ok(api.delete_agent(id).await?),
        Op::CreateUser { email, body } => {
            let mut body = body.clone();
            body.insert("email".into(), Value::String(email.clone()));
            let b: UserBody = formed(body, "a user")?;
            api.create_user(&b).await?;
            Ok(())
        }
    }
}

/// Delete late commits of agent creates that lost an answer (see [`Sweep`]).
pub async fn sweep(api: &TwigApi, state: &ApplyState, journal: &Journal) {
    let sweeps = state
        .sweeps
        .lock()
        .map(|mut s| std::mem::take(&mut *s))
        .unwrap_or_default();
    if sweeps.is_empty() {
        return;
    }
    let last = sweeps
        .iter()
        .map(|s| s.not_before)
        .max()
        .unwrap_or_else(Instant::now);
    tokio::time::sleep_until(last.min(Instant::now() + SWEEP_WAIT_CAP).into()).await;
    let agents = match api.list_agents().await {
        Ok(a) => a,
        Err(e) => {
            for s in &sweeps {
                let m = format!("sweep failed (the next plan names any duplicate): {e}");
                journal.record(&s.address, "sweep_agents", "done", Some(&m));
            }
            return;
        }
    };
    for s in &sweeps {
        let late: Vec<&str> = agents
            .iter()
            .filter(|a| a.name == s.name && a.id != s.kept && !state.agents.contains(&a.id))
            .map(|a| a.id.as_str())
            .collect();
        let mut deleted = 0;
        for id in &late {
            if api.delete_agent(id).await.is_ok() {
                deleted += 1;
            }
        }
        let m = format!("{deleted} of {} late duplicate(s) deleted", late.len());
        journal.record(&s.address, "sweep_agents", "done", Some(&m));
    }
}

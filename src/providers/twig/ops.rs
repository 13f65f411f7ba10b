//! Twig's operations: what a change asks of the API, and how each one is
//! carried out (creates exactly once; data source ids resolved from the
//! create answers of the same apply).

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::api::TwigApi;
use super::read::Live;
use super::wire::{AgentBody, DataSourceBody, UserBody};
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
    pub system_prompt: Option<String>,
    pub model: Option<String>,
    pub rag_strategy: Option<String>,
    pub temperature: Option<f64>,
    pub max_tokens: Option<u64>,
    pub data_sources: Option<Vec<SourceRef>>,
}

/// One API call of a change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Op {
    CreateDataSource {
        name: String,
        source_type: String,
        config: Map<String, Value>,
        sync_frequency: Option<String>,
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
    CreateUser {
        email: String,
        name: String,
        role: String,
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

/// Ids that existed when the plan was made: a create that lost its answer
/// looks for a new object of its name among the others.
pub struct ApplyState {
    pub agents: HashSet<String>,
    pub data_sources: HashSet<String>,
}

impl ApplyState {
    pub fn new(live: &Live) -> Self {
        ApplyState {
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
    Ok(AgentBody {
        name: f.name.clone(),
        system_prompt: f.system_prompt.clone(),
        rag_strategy: f.rag_strategy.clone(),
        model: f.model.clone(),
        temperature: f.temperature,
        max_tokens: f.max_tokens,
        data_source_ids,
    })
}

/// Carry out one operation.
pub async fn execute(
    api: &TwigApi,
    state: &ApplyState,
    op: &Op,
    ctx: &mut OpContext<'_>,
) -> Result<(), OpError> {
    match op {
        Op::CreateDataSource {
            name,
            source_type,
            config,
            sync_frequency,
        } => {
            let body = DataSourceBody {
                name: name.clone(),
                source_type: source_type.clone(),
                config: config.clone(),
                sync_frequency: sync_frequency.clone(),
            };
            let created = api.create_data_source(&body, &state.data_sources).await?;
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
                // The data source exists; only its first sync did not start.
                *ctx.warning = Some(format!(
                    "created, but its first sync did not start ({e}); start it in Twig or wait for the schedule"
                ));
            }
            Ok(())
        }
        Op::CreateAgent { fields } => {
            let mut b = body(ctx, fields)?;
            // `data_source_ids` is required on create.
            b.data_source_ids.get_or_insert_with(Vec::new);
            api.create_agent(&b, &state.agents).await?;
            Ok(())
        }
        Op::UpdateAgent { id, fields } => {
            let b = body(ctx, fields)?;
            Ok(api.update_agent(id, &b).await?)
        }
        Op::DeleteAgent { id } => Ok(api.delete_agent(id).await?),
        Op::CreateUser { email, name, role } => {
            let b = UserBody {
                email: email.clone(),
                name: name.clone(),
                role: role.clone(),
            };
            api.create_user(&b).await?;
            Ok(())
        }
    }
}

//! Twig's desired state, validated. `Option`: absent is unmanaged; [`Text`]:
//! possibly sensitive (interpolated).

use std::collections::BTreeMap;

use crate::engine::manifest::Text;

/// Everything Twig documents declare.
#[derive(Debug, Clone, Default)]
pub struct Desired {
    pub data_sources: Vec<DataSourceSpec>,
    pub agents: Vec<AgentSpec>,
    pub users: Vec<UserSpec>,
    /// Delete live agents no manifest declares.
    pub prune: bool,
}

/// A declared data source. Its fields are set at creation only: the API has
/// no update (a difference is a manual change).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataSourceSpec {
    pub name: String,
    pub id: Option<String>,
    pub source_type: String,
    /// Settings; each value is a JSON value whose strings may be interpolated.
    pub config: Option<BTreeMap<String, ConfigValue>>,
    pub sync_frequency: Option<String>,
    pub sync_on_create: bool,
}

/// One value of a data source's `config`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigValue {
    /// A string (possibly interpolated, then sensitive).
    Text(Text),
    /// Anything else, as written (numbers, booleans, lists, maps).
    Json(serde_json::Value),
}

impl ConfigValue {
    /// The value to send.
    pub fn expose(&self) -> serde_json::Value {
        match self {
            ConfigValue::Text(t) => serde_json::Value::String(t.expose().to_string()),
            ConfigValue::Json(v) => v.clone(),
        }
    }
}

/// A declared agent: its identity and data sources (structure), and the
/// fields [`super::tables::AGENT`] describes (present: managed).
#[derive(Debug, Clone)]
pub struct AgentSpec {
    pub name: String,
    pub id: Option<String>,
    pub values: crate::engine::resource::Values,
    /// Names or ids (`ds_…`), resolved against declared and live data sources.
    pub data_sources: Option<Vec<String>>,
    /// `file:line`, for messages.
    pub source: String,
    /// Its document (for `pull`).
    pub origin: crate::engine::manifest::edit::Origin,
}

/// A declared user. Created when missing; a different name or role is a
/// manual change (no update endpoint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSpec {
    pub email: String,
    pub name: String,
    pub role: String,
}

//! Twig's desired state, validated: each resource's identity and structure,
//! and the values its table reads (present: managed).

use crate::engine::manifest::edit::Origin;
use crate::engine::resource::Values;

/// Everything Twig documents declare.
#[derive(Debug, Clone, Default)]
pub struct Desired {
    pub data_sources: Vec<DataSourceSpec>,
    pub agents: Vec<AgentSpec>,
    pub users: Vec<UserSpec>,
    /// Delete live agents no manifest declares.
    pub prune: bool,
}

/// A declared data source: its identity, and the fields
/// [`super::tables::DATA_SOURCE`] describes (set at creation only: the API
/// has no update, so a difference is a manual change).
#[derive(Debug, Clone)]
pub struct DataSourceSpec {
    pub name: String,
    pub id: Option<String>,
    pub values: Values,
    /// Start a first sync once it is created (`sync_on_create`, default true).
    pub sync_on_create: bool,
    /// Its document (for `pull`).
    pub origin: Origin,
}

/// A declared agent: its identity and data sources (structure), and the
/// fields [`super::tables::AGENT`] describes (present: managed).
#[derive(Debug, Clone)]
pub struct AgentSpec {
    pub name: String,
    pub id: Option<String>,
    pub values: Values,
    /// Names or ids (`ds_…`), resolved against declared and live data sources.
    pub data_sources: Option<Vec<String>>,
    /// `file:line`, for messages.
    pub source: String,
    /// Its document (for `pull`).
    pub origin: Origin,
}

/// A declared user: their email (identity, lowercased), and the fields
/// [`super::tables::USER`] describes. Created when missing; a different
/// name or role is a manual change (no update endpoint).
#[derive(Debug, Clone)]
pub struct UserSpec {
    pub email: String,
    pub values: Values,
    /// Its document (for `pull`).
    pub origin: Origin,
}

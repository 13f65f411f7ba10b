//! Twig's documents as written in YAML, and their schema.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::engine::manifest::schema::{schema_of, KindSchema};
use crate::engine::manifest::Identities;

/// The data source types Twig knows.
pub const SOURCE_TYPES: &[&str] = &[
    "website",
    "file",
    "confluence",
    "slack",
    "google_drive",
    "sharepoint",
];
/// How often a data source syncs.
pub const SYNC_FREQUENCIES: &[&str] = &["hourly", "daily", "weekly", "manual"];
/// Twig's retrieval strategies.
pub const RAG_STRATEGIES: &[&str] = &["redwood", "cedar", "cypress"];
/// Twig's user roles.
pub const ROLES: &[&str] = &["readonly", "train", "configure", "admin"];

/// `kind: TwigDataSource`.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
pub enum DataSourceKind {
    TwigDataSource,
}

/// `kind: TwigAgent`.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
pub enum AgentKind {
    TwigAgent,
}

/// `kind: TwigUser`.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
pub enum UserKind {
    TwigUser,
}

/// `kind: TwigOrganization`.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
pub enum OrganizationKind {
    TwigOrganization,
}

/// A data source an agent answers from (website, Confluence, Slack…).
/// Twig cannot change or delete one through its API: a difference is a
/// change for a person to make in Twig's settings.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DataSourceDoc {
    pub kind: DataSourceKind,
    /// Its identity among declared data sources (unless `id` pins one).
    #[schemars(with = "String", length(min = 1))]
    pub name: Spanned<String>,
    /// Pin an existing data source (`ds_…`), so `name` may differ live.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub id: Option<Spanned<String>>,
    /// website, file, confluence, slack, google_drive or sharepoint.
    #[serde(rename = "type")]
    #[schemars(with = "SourceType")]
    pub source_type: Spanned<String>,
    /// Type-specific settings (`{url, max_pages}` for a website). String
    /// values take `${VAR}`, and such values are never shown.
    #[serde(default)]
    #[schemars(with = "Option<BTreeMap<String, serde_json::Value>>")]
    pub config: Option<Spanned<BTreeMap<String, Spanned<serde_json::Value>>>>,
    /// hourly, daily, weekly or manual.
    #[serde(default)]
    #[schemars(with = "Option<SyncFrequency>")]
    pub sync_frequency: Option<Spanned<String>>,
    /// Start a first sync once it is created (default true).
    #[serde(default)]
    pub sync_on_create: Option<bool>,
}

/// A member of the organization. Twig can invite one through its API, but
/// not change a role or remove anyone: those are changes for a person.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserDoc {
    pub kind: UserKind,
    /// Their identity.
    #[schemars(with = "String", length(min = 3))]
    pub email: Spanned<String>,
    #[schemars(with = "String", length(min = 1))]
    pub name: Spanned<String>,
    /// readonly, train, configure or admin.
    #[schemars(with = "Role")]
    pub role: Spanned<String>,
}

/// Organization-wide settings (at most one document).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationDoc {
    pub kind: OrganizationKind,
    /// Delete live agents that no TwigAgent declares.
    #[serde(default)]
    pub prune: bool,
}

/// The data source types (for the schema).
#[derive(JsonSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum SourceType {
    Website,
    File,
    Confluence,
    Slack,
    GoogleDrive,
    Sharepoint,
}

/// Sync frequencies (for the schema).
#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum SyncFrequency {
    Hourly,
    Daily,
    Weekly,
    Manual,
}

/// Retrieval strategies (for the schema).
#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum RagStrategy {
    Redwood,
    Cedar,
    Cypress,
}

/// Roles (for the schema).
#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum Role {
    Readonly,
    Train,
    Configure,
    Admin,
}

/// Twig's kinds and their schemas.
pub fn kinds() -> Vec<KindSchema> {
    vec![
        KindSchema {
            names: &["TwigDataSource"],
            definition: "TwigDataSourceDoc",
            schema: schema_of::<DataSourceDoc>(),
        },
        KindSchema {
            names: &["TwigAgent"],
            definition: "TwigAgentDoc",
            schema: crate::engine::resource::schema(&super::tables::AGENT, &["TwigAgent"]),
        },
        KindSchema {
            names: &["TwigUser"],
            definition: "TwigUserDoc",
            schema: schema_of::<UserDoc>(),
        },
        KindSchema {
            names: &["TwigOrganization"],
            definition: "TwigOrganizationDoc",
            schema: schema_of::<OrganizationDoc>(),
        },
    ]
}

impl Identities for DataSourceDoc {
    fn identities(&mut self) -> Vec<&mut Spanned<String>> {
        let mut out = vec![&mut self.name];
        out.extend(self.id.as_mut());
        out
    }
}

impl Identities for UserDoc {
    fn identities(&mut self) -> Vec<&mut Spanned<String>> {
        vec![&mut self.email, &mut self.name]
    }
}

impl Identities for OrganizationDoc {}

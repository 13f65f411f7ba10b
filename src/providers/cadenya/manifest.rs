//! Cadenya's document kinds and their schemas, derived from the tables
//! (`tables.rs`): the editor schema and the loader's unknown-field walk are
//! the same description that reads each field.

use super::tables;
use crate::engine::manifest::schema::KindSchema;
use crate::engine::resource::schema;

/// Cadenya's kinds and their schemas.
pub fn kinds() -> Vec<KindSchema> {
    vec![
        KindSchema {
            names: &["CadenyaWorkspace"],
            definition: "CadenyaWorkspaceDoc",
            schema: schema(&tables::WORKSPACE, &["CadenyaWorkspace"]),
        },
        KindSchema {
            names: &["CadenyaAgent"],
            definition: "CadenyaAgentDoc",
            schema: schema(&tables::AGENT, &["CadenyaAgent"]),
        },
        KindSchema {
            names: &["CadenyaToolSet"],
            definition: "CadenyaToolSetDoc",
            schema: schema(&tables::TOOL_SET, &["CadenyaToolSet"]),
        },
        KindSchema {
            names: &["CadenyaMemoryLayer"],
            definition: "CadenyaMemoryLayerDoc",
            schema: schema(&tables::LAYER, &["CadenyaMemoryLayer"]),
        },
        KindSchema {
            names: &["CadenyaSecret"],
            definition: "CadenyaSecretDoc",
            schema: schema(&tables::SECRET, &["CadenyaSecret"]),
        },
    ]
}

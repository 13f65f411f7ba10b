//! Twig's documents and their schema, both derived from the tables
//! ([`super::tables`]): the editor schema and the loader's unknown-field
//! walk check documents against the same description that reads them.

use super::tables;
use crate::engine::manifest::schema::KindSchema;
use crate::engine::resource::{self, Table};

/// A kind's schema, from its table.
fn kind(names: &'static [&'static str], table: &'static Table) -> KindSchema {
    KindSchema {
        names,
        definition: table.name,
        schema: resource::schema(table, names),
    }
}

/// Twig's kinds and their schemas.
pub fn kinds() -> Vec<KindSchema> {
    vec![
        kind(&["TwigDataSource"], &tables::DATA_SOURCE),
        kind(&["TwigAgent"], &tables::AGENT),
        kind(&["TwigUser"], &tables::USER),
        kind(&["TwigOrganization"], &tables::ORGANIZATION),
    ]
}

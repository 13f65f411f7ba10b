//! Twig's resources as tables: each field declared once (manifest key, wire
//! place, type, nature); reading, the schema, the diff and its update body,
//! export, pull and the read formula (which fields the agent list omits)
//! derive from these. Structure the table cannot say stays in `diff.rs`:
//! an agent's identity (a pinned id, a rename) and its data sources (names
//! resolved to ids, some created in the same apply).

use crate::engine::resource::{Field, Nature, Table, Ty, Wire};

/// `TwigAgent`.
pub static AGENT: Table = Table {
    name: "TwigAgentDoc",
    doc: "A RAG agent.",
    fields: AGENT_FIELDS,
};

static AGENT_FIELDS: &[Field] = &[
    Field::new(
        "name",
        Ty::Str,
        Wire::at("name"),
        "Its identity (unless `id` pins one; then a new name is a rename).",
    )
    .nature(Nature::IDENTITY),
    Field::new("id", Ty::Str, Wire::NONE, "Pin an existing agent (`agent_…`).").nature(Nature {
        identity: true,
        ..Nature::NONE
    }),
    Field::new(
        "system_prompt",
        Ty::LongText,
        Wire::at("system_prompt").unlisted(),
        "The system prompt: inline text, or `{file: path}`. Absent: not managed.",
    ),
    Field::new(
        "model",
        Ty::Str,
        Wire::at("model"),
        "The model (`gpt-4`, `gpt-4o`, `claude-3-sonnet`…).",
    ),
    Field::new(
        "rag_strategy",
        Ty::Enum(&[
            ("redwood", "redwood"),
            ("cedar", "cedar"),
            ("cypress", "cypress"),
        ]),
        Wire::at("rag_strategy"),
        "redwood, cedar or cypress.",
    ),
    Field::new(
        "temperature",
        Ty::Float { min: 0.0, max: 2.0 },
        Wire::at("temperature").unlisted(),
        "0 to 2.",
    ),
    Field::new(
        "max_tokens",
        Ty::Int {
            min: 1,
            max: 4_294_967_295,
        },
        Wire::at("max_tokens").unlisted(),
        "The longest answer, in tokens.",
    ),
    Field::new(
        "data_sources",
        Ty::List { set: true },
        Wire::NONE,
        "Names of declared or live data sources, or their ids (`ds_…`); the complete set when present.",
    )
    .nature(Nature {
        identity: true,
        structural: true,
        ..Nature::NONE
    }),
];

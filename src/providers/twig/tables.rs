//! Twig's resources as tables: each field declared once (manifest key, wire
//! place, type, nature); reading, the schema, the diff and its update body,
//! create bodies, export, pull, fingerprints and the read formula (which
//! fields the agent list omits) derive from these. Wire shapes: the
//! reference (`/api/v1/agents`, `/data-sources`, `/users`; research notes
//! `twig-api.md` §4.1–4.3).
//!
//! Structure the table cannot say stays in `diff.rs`, and is marked
//! `identity`/`structural` here: a resource's identity (a pinned `id`
//! makes a new name a rename), an agent's `data_sources` (names resolved to
//! ids, some created in the same apply), and a data source's first sync
//! (`sync_on_create`, an operation rather than a value).
//!
//! Data sources and users have no update endpoint (reference §4.2, §4.3):
//! their fields are `create_only`, and since Twig cannot replace them
//! either, a difference is a `manual` change. A data source's `config` may
//! hold credentials (tokens, passwords): its entries are masked as their
//! manifest values are, one holding a credential is never exported,
//! pulled or fingerprinted, and answers that leave `config` out (the
//! reference gives no list shape) are not compared.

use crate::engine::resource::{Field, Nature, Table, Ty, Wire};

/// Set at creation only (data sources and users have no update).
const CREATE_ONLY: Nature = Nature::CREATE_ONLY;

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

/// `TwigDataSource`.
pub static DATA_SOURCE: Table = Table {
    name: "TwigDataSourceDoc",
    doc: "A data source an agent answers from (website, Confluence, Slack…). Twig cannot change or delete one through its API: a difference is a change for a person to make in Twig's settings.",
    fields: DATA_SOURCE_FIELDS,
};

static DATA_SOURCE_FIELDS: &[Field] = &[
    Field::new(
        "name",
        Ty::Str,
        Wire::at("name"),
        "Its identity among declared data sources (unless `id` pins one).",
    )
    .nature(Nature::IDENTITY),
    Field::new(
        "id",
        Ty::Str,
        Wire::NONE,
        "Pin an existing data source (`ds_…`), so `name` may differ live.",
    )
    .nature(Nature {
        identity: true,
        ..Nature::NONE
    }),
    Field::new(
        "type",
        Ty::Enum(&[
            ("website", "website"),
            ("file", "file"),
            ("confluence", "confluence"),
            ("slack", "slack"),
            ("google_drive", "google_drive"),
            ("sharepoint", "sharepoint"),
        ]),
        Wire::at("type").optional(),
        "website, file, confluence, slack, google_drive or sharepoint.",
    )
    .nature(Nature {
        required: true,
        ..CREATE_ONLY
    }),
    Field::new(
        "config",
        Ty::Map,
        Wire::at("config").optional(),
        "Type-specific settings (`{url, max_pages}` for a website). String values take `${VAR}`, and such values are never shown.",
    )
    .nature(CREATE_ONLY),
    Field::new(
        "sync_frequency",
        Ty::Enum(&[
            ("hourly", "hourly"),
            ("daily", "daily"),
            ("weekly", "weekly"),
            ("manual", "manual"),
        ]),
        Wire::at("sync_frequency").optional(),
        "hourly, daily, weekly or manual.",
    )
    .nature(CREATE_ONLY),
    Field::new(
        "sync_on_create",
        Ty::Bool,
        Wire::NONE,
        "Start a first sync once it is created (default true).",
    ),
];

/// `TwigUser`.
pub static USER: Table = Table {
    name: "TwigUserDoc",
    doc: "A member of the organization. Twig can invite one through its API, but not change a role or remove anyone: those are changes for a person.",
    fields: USER_FIELDS,
};

static USER_FIELDS: &[Field] = &[
    Field::new("email", Ty::Str, Wire::at("email"), "Their identity.").nature(Nature::IDENTITY),
    Field::new("name", Ty::Str, Wire::at("name").optional(), "Their name.").nature(Nature {
        required: true,
        vars: true,
        ..CREATE_ONLY
    }),
    Field::new(
        "role",
        Ty::Enum(&[
            ("readonly", "readonly"),
            ("train", "train"),
            ("configure", "configure"),
            ("admin", "admin"),
        ]),
        Wire::at("role").optional(),
        "readonly, train, configure or admin.",
    )
    .nature(Nature {
        required: true,
        ..CREATE_ONLY
    }),
];

/// `TwigOrganization`: settings of this tool, not of Twig (the API has no
/// organization resource), so nothing here is compared.
pub static ORGANIZATION: Table = Table {
    name: "TwigOrganizationDoc",
    doc: "Organization-wide settings (at most one document).",
    fields: &[Field::new(
        "prune",
        Ty::Bool,
        Wire::NONE,
        "Delete live agents that no TwigAgent declares.",
    )],
};

/// The wire values of an enum field (the emulator's validation).
pub fn wire_values(table: &Table, key: &str) -> Vec<&'static str> {
    match table.field(key).map(|f| f.ty) {
        Some(Ty::Enum(values)) => values.iter().map(|(_, w)| *w).collect(),
        _ => Vec::new(),
    }
}

/// Every Twig table.
pub static ALL: &[&Table] = &[&DATA_SOURCE, &AGENT, &USER, &ORGANIZATION];

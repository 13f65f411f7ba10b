//! Twin's resources as tables: each field declared once, with its manifest
//! key, its wire place, its type, its nature and the server's default. The
//! field diff (named by manifest keys, masked by nature), the values each
//! update sends, export, pull write-back and staleness fingerprints derive
//! from these (`diff.rs`, `pull.rs`, `export.rs`, `read.rs`).
//!
//! Wire places are paths into the record the API answers
//! (`twin-api-contract.md`): a workspace (`icon_config`: a JSON document in
//! a string, `PUT /v1/workspaces/{id}`), an agent (`is_subagent`,
//! `derived_from_agent_id`: sent only by `POST /v1/agents`), its
//! instructions (`GET`/`PUT …/instructions` `content`, read at
//! `instructions.content` of [`agent_view`]), its schedule (`GET
//! /v1/schedules`: `cron`, `paused`) and its webhooks (`status`: `active` or
//! `disabled`, `events`).
//!
//! What stays hand-written, and why (marked `structural` here):
//! - a workspace's and an agent's identity: a pinned workspace `id` makes a
//!   new `name` a rename; an agent's `workspace` is a name resolved to a
//!   workspace id (one created in the same apply, or live), and a change
//!   moves the agent;
//! - `prune`: what the plan does with agents no manifest declares;
//! - `schedule` as a whole: `null` means "none" (a delete), a missing one is
//!   created by `PUT`, `paused` is written by the `pause`/`resume` actions,
//!   and Twin's auto-pause is explained; its fields are compared by
//!   [`SCHEDULE`];
//! - `webhooks`: a list matched by URL (not by key), whose creates yield a
//!   signing secret stored before anything else; a URL may be secret
//!   (`sensitive`), so it is never a field shown in full; its fields are
//!   compared by [`WEBHOOK`].
//!
//! The documents are still read by their serde types (`manifest.rs`), whose
//! schema carries what a table cannot say (the agent id's and the cron's
//! patterns, event names, unique items) and whose messages the validate
//! snapshots pin; `tables_and_documents_name_the_same_fields` (below) keeps
//! the two descriptions of each document's keys the same.

use serde_json::Value;
use serde_saphyr::Location;

use super::model::{AgentSpec, ScheduleSpec, WebhookSpec, WorkspaceSpec};
use super::wire::{Agent, Instructions};
use crate::engine::manifest::edit::{key, Seg};
use crate::engine::resource::{Field, Got, Nature, Table, Ty, Val, Values, Wire};

const STRUCTURAL: Nature = Nature::STRUCTURAL;

/// `kind: Workspace` (`TwinWorkspace`).
pub static WORKSPACE: Table = Table {
    name: "WorkspaceDoc",
    doc: "A workspace (a folder of agents).",
    fields: &[
        Field::new(
            "name",
            Ty::Str,
            Wire::at("name"),
            "The workspace name; its identity unless `id` is given.",
        )
        .nature(Nature::IDENTITY),
        Field::new(
            "id",
            Ty::Str,
            Wire::at("workspace_id"),
            "Pin an existing workspace by id, so that `name` can be renamed.",
        )
        .nature(Nature {
            identity: true,
            ..Nature::NONE
        }),
        Field::new(
            "icon",
            Ty::Text,
            Wire::at("icon_config"),
            "The workspace's `icon_config`: a JSON document in a string, sent as written. Absent: not managed.",
        )
        .nature(Nature {
            json_text: true,
            ..Nature::NONE
        }),
        Field::new(
            "prune",
            Ty::Bool,
            Wire::NONE,
            "Delete live agents in this workspace that no manifest declares.",
        )
        .nature(STRUCTURAL),
    ],
};

/// `kind: Agent` (`TwinAgent`). Read against [`agent_view`].
pub static AGENT: Table = Table {
    name: "AgentDoc",
    doc: "An agent, its instructions, schedule and webhooks.",
    fields: &[
        Field::new(
            "id",
            Ty::Str,
            Wire::at("agent_id"),
            "The agent_id (`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`), also sent at creation.",
        )
        .nature(Nature::IDENTITY),
        Field::new(
            "workspace",
            Ty::Str,
            Wire::NONE,
            "The name of the workspace the agent lives in (declared in a manifest or existing live).",
        )
        .nature(Nature {
            required: true,
            identity: true,
            structural: true,
            ..Nature::NONE
        }),
        Field::new(
            "subagent",
            Ty::Bool,
            Wire::at("is_subagent"),
            "Whether the agent is a subagent. Set only at creation: a change replaces the agent.",
        )
        .nature(Nature::CREATE_ONLY)
        .default("false"),
        Field::new(
            "derived_from",
            Ty::Str,
            Wire::at("derived_from_agent_id"),
            "The agent this one derives from. Set only at creation: a change replaces the agent.",
        )
        .nature(Nature {
            create_only: true,
            vars: true,
            ..Nature::NONE
        }),
        Field::new(
            "instructions",
            Ty::LongText,
            Wire::split("instructions.content", "content").unlisted(),
            "The agent's instructions: inline text, or `{file: path}` relative to this manifest. Absent: not managed. (`null` is refused: Twin cannot remove instructions.)",
        )
        // An agent without instructions has empty ones.
        .default("\"\""),
        Field::new(
            "schedule",
            Ty::Group(&SCHEDULE),
            Wire::NONE,
            "The cron schedule. Absent: not managed; `null`: make sure there is none.",
        )
        .nature(STRUCTURAL),
        Field::new(
            "webhooks",
            Ty::List { set: true },
            Wire::NONE,
            "The complete list of webhooks. Absent: not managed; `[]` or `null`: none.",
        )
        .nature(STRUCTURAL),
    ],
};

/// An agent's `schedule` (`GET /v1/schedules`, `PUT …/schedule`).
pub static SCHEDULE: Table = Table {
    name: "ScheduleSpec",
    doc: "A cron schedule.",
    fields: &[
        Field::new(
            "cron",
            Ty::Text,
            Wire::at("cron"),
            "Seven fields: `sec min hour day month day-of-week year`.",
        )
        .nature(Nature::REQUIRED),
        // Written by `POST …/schedule/pause` and `…/resume`, not by the PUT.
        Field::new(
            "paused",
            Ty::Bool,
            Wire::at("paused"),
            "Whether the schedule is paused. Absent: not managed.",
        )
        .nature(Nature::ACTION)
        .default("false"),
    ],
};

/// One of an agent's `webhooks` (`…/webhooks`, `PATCH …/webhooks/{wid}`).
pub static WEBHOOK: Table = Table {
    name: "WebhookSpec",
    doc: "A webhook, identified by its URL within its agent.",
    fields: &[
        Field::new("url", Ty::Text, Wire::at("url"), "http(s) URL with a host.").nature(Nature {
            required: true,
            identity: true,
            structural: true,
            ..Nature::NONE
        }),
        Field::new(
            "events",
            Ty::List { set: true },
            Wire::at("events"),
            "A non-empty subset of run.started, run.completed, run.failed, run.stopped, run.paused.",
        )
        .nature(Nature::REQUIRED),
        // Absent from a manifest: enabled (the model fills it in).
        Field::new(
            "enabled",
            Ty::Flag {
                on: "active",
                off: "disabled",
            },
            Wire::at("status"),
            "Deliveries on (`active`) or off (`disabled`). Default true.",
        )
        .default("\"active\""),
        Field::new(
            "sensitive",
            Ty::Bool,
            Wire::NONE,
            "The URL itself is a secret (a Slack-style hook URL): shown only up to its host in every output. Interpolated URLs are sensitive anyway.",
        )
        .nature(STRUCTURAL),
    ],
};

/// Every table.
pub static ALL: &[&Table] = &[&WORKSPACE, &AGENT, &SCHEDULE, &WEBHOOK];

/// What [`AGENT`]'s wire paths read: the agent's record with its
/// instructions under `instructions` (`null`: it has none, or they were not
/// read).
pub fn agent_view(agent: &Agent, instructions: Option<&Instructions>) -> Value {
    let mut v = json(agent);
    if let Some(m) = v.as_object_mut() {
        let i = instructions.map_or(Value::Null, |i| serde_json::json!({"content": i.content}));
        m.insert("instructions".into(), i);
    }
    v
}

// ---- the manifest's values, as the tables read them ----
//
// The validated model keeps typed fields (operations send them); these
// views give the tables the same values with their places in the document
// (for `pull`) and whether they were written literally.

fn put(v: &mut Values, key_: &'static str, val: Val, path: Vec<Seg>, literal: bool) {
    v.fields.insert(
        key_,
        Got {
            val,
            at: Location::UNKNOWN,
            path,
            literal,
        },
    );
}

/// A workspace's [`WORKSPACE`] values.
pub fn workspace_values(w: &WorkspaceSpec) -> Values {
    let mut v = Values::default();
    if let Some(icon) = &w.icon {
        put(
            &mut v,
            "icon",
            Val::Text(icon.clone()),
            vec![key("icon")],
            true,
        );
    }
    v
}

/// An agent's [`AGENT`] values (its create-only fields and instructions).
pub fn agent_values(a: &AgentSpec) -> Values {
    let mut v = Values::default();
    if let Some(s) = a.subagent.0 {
        put(
            &mut v,
            "subagent",
            Val::Json(s.into()),
            vec![key("subagent")],
            true,
        );
    }
    if let Some(d) = &a.derived_from.0 {
        let path = vec![key("derived_from")];
        put(
            &mut v,
            "derived_from",
            Val::Json(d.as_str().into()),
            path,
            a.derived_from_literal,
        );
    }
    if let Some(t) = &a.instructions {
        put(
            &mut v,
            "instructions",
            Val::Text(t.clone()),
            vec![key("instructions")],
            true,
        );
    }
    v
}

/// A schedule's [`SCHEDULE`] values.
pub fn schedule_values(s: &ScheduleSpec) -> Values {
    let mut v = Values::default();
    let at = |k: &str| vec![key("schedule"), key(k)];
    put(&mut v, "cron", Val::Text(s.cron.clone()), at("cron"), true);
    if let Some(p) = s.paused {
        put(&mut v, "paused", Val::Json(p.into()), at("paused"), true);
    }
    v
}

/// The [`WEBHOOK`] values of the `i`th of an agent's webhooks (`enabled`
/// is always managed: absent, it is true).
pub fn webhook_values(i: usize, w: &WebhookSpec) -> Values {
    let mut v = Values::default();
    let at = |k: &str| vec![key("webhooks"), Seg::Index(i), key(k)];
    let events = Value::from(w.events.clone());
    put(&mut v, "events", Val::Json(events), at("events"), true);
    put(
        &mut v,
        "enabled",
        Val::Json(w.enabled.into()),
        at("enabled"),
        true,
    );
    v
}

/// A webhook as [`WEBHOOK`] reads it: its events a sorted set (Twin
/// compares them as one, and `pull` writes them back in order).
pub fn webhook_json(w: &super::wire::Webhook) -> Value {
    let mut v = json(w);
    let mut events = w.events.clone();
    events.sort();
    events.dedup();
    v["events"] = Value::from(events);
    v
}

/// The live record as the tables read it.
pub fn json<T: serde::Serialize>(record: &T) -> Value {
    serde_json::to_value(record).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::manifest::schema::schema_of;
    use crate::providers::twin::manifest::{AgentDoc, ScheduleSpec, WebhookSpec, WorkspaceDoc};

    fn keys(schema: &Value, def: Option<&str>) -> Vec<String> {
        let s = match def {
            Some(d) => &schema["definitions"][d],
            None => schema,
        };
        let mut k: Vec<String> = s["properties"]
            .as_object()
            .map(|m| m.keys().filter(|k| *k != "kind").cloned().collect())
            .unwrap_or_default();
        k.sort();
        k
    }

    fn table_keys(t: &Table) -> Vec<String> {
        let mut k: Vec<String> = t.fields.iter().map(|f| f.key.to_string()).collect();
        k.sort();
        k
    }

    #[test]
    fn tables_and_documents_name_the_same_fields() {
        let agent = schema_of::<AgentDoc>();
        assert_eq!(
            keys(&schema_of::<WorkspaceDoc>(), None),
            table_keys(&WORKSPACE)
        );
        assert_eq!(keys(&agent, None), table_keys(&AGENT));
        assert_eq!(
            keys(&schema_of::<ScheduleSpec>(), None),
            table_keys(&SCHEDULE)
        );
        assert_eq!(
            keys(&schema_of::<WebhookSpec>(), None),
            table_keys(&WEBHOOK)
        );
    }
}

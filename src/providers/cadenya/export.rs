//! `twinform export --provider cadenya`: manifests describing what exists,
//! so that planning them right away shows no change. Every field a table
//! manages is written by the table (`resource::export`: a value equal to
//! the server's default is left out, absent == default); structure is
//! written by hand in `export/docs.rs`.
//!
//! Layout under `--out DIR`, per workspace `W` (its externalId):
//! `cadenya/W/workspace.yaml`, `cadenya/W/agents/<id>.yaml` with prompts in
//! `cadenya/W/prompts/<agent>.<variation>.md` (first user messages in
//! `….first.md`), `cadenya/W/tool-sets/<id>.yaml`, `cadenya/W/memory/<layer>.yaml`
//! with entries in `cadenya/W/memory/<layer>/<entry>.md`, and
//! `cadenya/W/secrets.yaml`. An object whose externalId no manifest can
//! hold (`../../x`) is left out and named; the ids left are made file-safe
//! ([`file_name`]: `..` is a valid id), so every path stays one plain name
//! inside `--out`, and every path is claimed unique (case-insensitively).
//!
//! - Secrets (workspace and tool-set ones) are written as
//!   `${CADENYA_SECRET_<ID>}` placeholders: set those variables to plan.
//!   Their values are never read.
//! - A tool set whose adapter holds credentials (or more than a manifest
//!   can say) keeps its adapter unmanaged (a note); a field holding a
//!   credential is left out (a note), a webhook URL holding one becomes a
//!   placeholder.
//! - A resource without an externalId cannot be named by a manifest: it is
//!   left out (export exits 1); a map of children written only when every
//!   child could be (applying a partial one would delete the others).
//! - System-managed memory layers (the runtime's) are never exported;
//!   archived agents and tool sets are not listed by default, so not either.
//! - `owner` is written when every exported resource carries one owner's label.

mod docs;

use std::collections::{HashMap, HashSet};

use super::api::CadenyaApi;
use super::read::{read_space, Needs};
use super::validate::valid_id;
use super::wire::Resource;
use crate::engine::http::{ApiError, Limit};
use crate::engine::provider::{Export, ExportFilter};

pub use docs::calendar_cron;

/// Everything read of one workspace.
#[derive(Default)]
struct Read {
    workspace: Resource,
    agents: Vec<Resource>,
    variations: HashMap<String, Vec<Resource>>,
    schedules: HashMap<String, Vec<Resource>>,
    tool_sets: Vec<Resource>,
    tools: HashMap<String, Vec<Resource>>,
    set_secrets: HashMap<String, Vec<Resource>>,
    layers: Vec<Resource>,
    entries: HashMap<String, Vec<Resource>>,
    secrets: Vec<Resource>,
    models: Vec<Resource>,
}

/// Everything of `workspace`: the provider's own read, asked for every
/// resource and child ([`Needs::everything`]), so export renders exactly
/// what a plan reads.
async fn read(api: &CadenyaApi, workspace: Resource, parallelism: usize) -> Result<Read, ApiError> {
    let space = read_space(
        api,
        &Needs::everything(),
        workspace,
        &Limit::new(parallelism),
    )
    .await?;
    Ok(Read {
        workspace: space.workspace,
        agents: space.agents.unwrap_or_default(),
        variations: space.variations,
        schedules: space.schedules,
        tool_sets: space.tool_sets.unwrap_or_default(),
        tools: space.tools,
        set_secrets: space.set_secrets,
        layers: space.layers.unwrap_or_default(),
        entries: space.entries,
        secrets: space.secrets.unwrap_or_default(),
        models: space.models.unwrap_or_default(),
    })
}

/// Read what exists live and describe it as manifests.
pub async fn export(
    api: &CadenyaApi,
    filter: &ExportFilter,
    parallelism: usize,
) -> Result<Export, ApiError> {
    let all = api.list("/v1/workspaces", "").await?;
    let mut e = Export::default();
    let id_of = |w: &Resource| w.metadata.ext().unwrap_or(w.id()).to_string();
    e.known = all.iter().map(id_of).collect();
    e.known.extend(all.iter().map(|w| w.metadata.name.clone()));
    let mut counts = [0usize; 3];
    for w in all {
        let ws = id_of(&w);
        if !filter.workspaces.is_empty()
            && !filter.workspaces.contains(&ws)
            && !filter.workspaces.contains(&w.metadata.name)
        {
            continue;
        }
        if w.metadata.ext().is_some_and(|x| !valid_id(x)) {
            e.skipped.push(unnameable("workspace", &ws, "the account"));
            continue;
        }
        let mut r = read(api, w, parallelism).await?;
        let incomplete = drop_unnameable(&mut r, &ws, &mut e);
        e.known.extend(
            r.agents
                .iter()
                .filter_map(|a| a.metadata.ext().map(str::to_string)),
        );
        let rendered = docs::render(&ws, &r, filter, &incomplete, &mut e);
        for (i, n) in rendered.into_iter().enumerate() {
            counts[i] += n;
        }
    }
    e.counts = vec![
        ("workspace", counts[0]),
        ("agent", counts[1]),
        ("secret", counts[2]),
    ];
    Ok(e)
}

/// Why a live object whose externalId no manifest can hold (and no file
/// name should come from) is left out.
fn unnameable(what: &str, id: &str, place: &str) -> String {
    format!("{what} `{id}` in {place}: its externalId is not one a manifest can hold (letters, digits, `-`, `_` and `.`, at most 128)")
}

/// Leave out every object of `r` whose externalId a manifest cannot hold
/// (`../../x`, an absolute path), naming each: its children go with it.
fn drop_unnameable(r: &mut Read, ws: &str, e: &mut Export) -> HashSet<(&'static str, String)> {
    let mut incomplete = HashSet::new();
    let place = format!("`{ws}`");
    let mut keep = |what: &str, list: &mut Vec<Resource>| {
        list.retain(|x| match x.metadata.ext() {
            Some(id) if !valid_id(id) => {
                e.skipped.push(unnameable(what, id, &place));
                false
            }
            _ => true,
        })
    };
    keep("agent", &mut r.agents);
    keep("tool set", &mut r.tool_sets);
    keep("memory layer", &mut r.layers);
    keep("secret", &mut r.secrets);
    for (what, children) in [
        ("variation", &mut r.variations),
        ("schedule", &mut r.schedules),
        ("tool", &mut r.tools),
        ("memory entry", &mut r.entries),
    ] {
        for (parent, list) in children.iter_mut() {
            let before = list.len();
            keep(what, list);
            if list.len() != before {
                incomplete.insert((what, parent.clone()));
            }
        }
    }
    incomplete
}

/// The variable a secret's placeholder names.
pub fn secret_var(id: &str) -> String {
    let up: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("CADENYA_SECRET_{up}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_become_placeholders() {
        assert_eq!(secret_var("crm-token"), "CADENYA_SECRET_CRM_TOKEN");
    }
}

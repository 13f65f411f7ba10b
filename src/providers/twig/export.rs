//! `twinform export --provider twig`: manifests that describe what exists
//! in a Twig organization, so that planning them right away shows no change.
//!
//! Layout under `--out DIR`: `twig/data-sources.yaml` (every data source),
//! `twig/agents/<slug>.yaml` (one agent each), `twig/prompts/<slug>.md`
//! (system prompts, referenced with `{file: …}`), `twig/users.yaml`.
//!
//! Identity is the name, so an object whose name another one of its kind
//! also has is left out (export exits 1, naming both ids). A data source's
//! config values whose key names a credential (`token`, `password`,
//! `secret`, `key`…) are never written: they stay unmanaged, with a note.

use std::collections::{HashMap, HashSet};
use std::path::Path;
#[cfg(test)]
use std::path::PathBuf;

use serde::Serialize;
use serde_json::{json, Value};

use super::api::TwigApi;
use super::diff::{agent_json, data_source_json, user_json};
use super::read::details;
use super::tables;
use super::wire::{Agent, DataSource, User};
use crate::engine::http::ApiError;
use crate::engine::manifest::interpolate::escape;
use crate::engine::manifest::to_yaml;
use crate::engine::provider::{Export, ExportFilter};
use crate::engine::resource::{self, Table, Ty};

const MODELINE_TOP: &str = "# yaml-language-server: $schema=../twinform.schema.json\n";
const MODELINE_NESTED: &str = "# yaml-language-server: $schema=../../twinform.schema.json\n";

/// A file-name-safe form of a name.
fn slug(name: &str) -> String {
    crate::engine::provider::slug(name, "agent")
}

/// A manifest document, its keys in the order they are written.
struct Doc(Vec<(&'static str, Value)>);

impl Serialize for Doc {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// What `table` manages of `live` (read as the diff reads it), in table
/// order, as a manifest writes it: strings that take `${VAR}` escaped.
fn fields(table: &Table, live: &Value, what: &str, notes: &mut Vec<String>) -> Doc {
    let out = resource::export(table, live, what);
    notes.extend(out.notes);
    let values = out.values.into_iter().map(|(k, v)| {
        let v = match (table.field(k).map(|f| f.ty), v) {
            (Some(Ty::Text), Value::String(s)) => Value::String(escape(&s)),
            (Some(Ty::Map), Value::Object(m)) => Value::Object(
                m.into_iter()
                    .map(|(k, x)| match x {
                        Value::String(s) => (k, Value::String(escape(&s))),
                        x => (k, x),
                    })
                    .collect(),
            ),
            (_, v) => v,
        };
        (k, v)
    });
    Doc(values.collect())
}

impl Doc {
    fn has(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| *k == key)
    }
}

/// Names used more than once, with their ids.
fn duplicated<T>(
    items: &[T],
    name: impl Fn(&T) -> &str,
    id: impl Fn(&T) -> &str,
) -> HashMap<&str, Vec<&str>> {
    let mut by: HashMap<&str, Vec<&str>> = HashMap::new();
    for x in items {
        by.entry(name(x)).or_default().push(id(x));
    }
    by.retain(|_, ids| ids.len() > 1);
    by
}

/// Read what exists live and describe it as manifests.
pub async fn export(
    api: &TwigApi,
    filter: &ExportFilter,
    parallelism: usize,
) -> Result<Export, ApiError> {
    let (agents, sources, users) =
        tokio::try_join!(api.list_agents(), api.list_data_sources(), api.list_users())?;
    let known: Vec<String> = agents.iter().map(|a| a.name.clone()).collect();
    let wanted: Vec<&Agent> = agents
        .iter()
        .filter(|a| filter.agents.is_empty() || filter.agents.contains(&a.name))
        .collect();
    let ids: HashSet<String> = wanted.iter().map(|a| a.id.clone()).collect();
    let full = details(api, &ids, parallelism).await?;
    let full: Vec<Agent> = wanted
        .iter()
        .filter_map(|a| full.get(&a.id).cloned())
        .collect();
    Ok(render(
        &full,
        &sources,
        &users,
        !filter.agents.is_empty(),
        known,
    ))
}

/// The manifests for what was read (pure).
fn render(
    agents: &[Agent],
    sources: &[DataSource],
    users: &[User],
    only_agents: bool,
    known: Vec<String>,
) -> Export {
    let mut e = Export {
        known,
        ..Export::default()
    };
    let dir = Path::new("twig");
    let source_dups = duplicated(sources, |d| &d.name, |d| &d.id);
    let source_names: HashMap<&str, &str> = sources
        .iter()
        .map(|d| (d.id.as_str(), d.name.as_str()))
        .collect();
    let mut docs = Vec::new();
    for d in sources.iter().filter(|_| !only_agents) {
        if let Some(ids) = source_dups.get(d.name.as_str()) {
            if ids.first() == Some(&d.id.as_str()) {
                e.skipped.push(format!("data sources named `{}` ({}): names are identities; rename all but one in Twig", d.name, ids.join(", ")));
            }
            continue;
        }
        let owner = format!("data source `{}`", d.name);
        let values = fields(
            &tables::DATA_SOURCE,
            &data_source_json(d),
            &owner,
            &mut e.notes,
        );
        if !values.has("type") {
            e.skipped.push(format!("{owner}: no type twinform knows"));
            continue;
        }
        let mut doc = vec![
            ("kind", json!("TwigDataSource")),
            ("name", json!(escape(&d.name))),
        ];
        doc.extend(values.0);
        docs.push(to_yaml(&Doc(doc)));
    }
    let source_count = docs.len();
    if !docs.is_empty() {
        e.files.insert(
            dir.join("data-sources.yaml"),
            format!("{MODELINE_TOP}{}", docs.join("---\n")),
        );
    }
    let agent_dups = duplicated(agents, |a| &a.name, |a| &a.id);
    let mut slugs = HashSet::new();
    let mut agent_count = 0;
    for a in agents {
        // A manifest cannot hold an empty name (it is the identity).
        if a.name.trim().is_empty() {
            e.skipped.push(format!(
                "agent {} has an empty name, which a manifest cannot hold; name it in Twig",
                a.id
            ));
            continue;
        }
        if let Some(ids) = agent_dups.get(a.name.as_str()) {
            if ids.first() == Some(&a.id.as_str()) {
                e.skipped.push(format!(
                    "agents named `{}` ({}): names are identities; rename all but one in Twig",
                    a.name,
                    ids.join(", ")
                ));
            }
            continue;
        }
        let mut s = slug(&a.name);
        if !slugs.insert(s.clone()) {
            s = format!("{s}-{}", slug(&a.id));
            slugs.insert(s.clone());
        }
        let owner = format!("agent `{}`", a.name);
        let data_sources: Vec<String> = a
            .data_source_ids
            .iter()
            .map(|id| match source_names.get(id.as_str()) {
                Some(name) if !source_dups.contains_key(name) => (*name).to_string(),
                _ => id.clone(),
            })
            .collect();
        let mut doc = vec![
            ("kind", json!("TwigAgent")),
            ("name", json!(escape(&a.name))),
        ];
        for (k, v) in fields(&tables::AGENT, &agent_json(a), &owner, &mut e.notes).0 {
            // A long text goes to a file beside the agents.
            let v = match v {
                Value::String(text) if k == "system_prompt" => {
                    e.files
                        .insert(dir.join("prompts").join(format!("{s}.md")), text);
                    json!({"file": format!("../prompts/{s}.md")})
                }
                v => v,
            };
            doc.push((k, v));
        }
        doc.push(("data_sources", json!(data_sources)));
        let doc = Doc(doc);
        e.files.insert(
            dir.join("agents").join(format!("{s}.yaml")),
            format!("{MODELINE_NESTED}{}", to_yaml(&doc)),
        );
        agent_count += 1;
    }
    let mut docs = Vec::new();
    for u in users.iter().filter(|_| !only_agents) {
        let owner = format!("user `{}`", u.email);
        let values = fields(&tables::USER, &user_json(u), &owner, &mut e.notes);
        if !values.has("role") {
            e.skipped.push(format!("{owner}: no role twinform knows"));
            continue;
        }
        let mut doc = vec![
            ("kind", json!("TwigUser")),
            ("email", json!(u.email.to_lowercase())),
        ];
        // A manifest needs a name; an answer without one writes it empty
        // (an empty live name is not compared).
        if !values.has("name") {
            doc.push(("name", json!("")));
        }
        doc.extend(values.0);
        docs.push(to_yaml(&Doc(doc)));
    }
    let user_count = docs.len();
    if !docs.is_empty() {
        e.files.insert(
            dir.join("users.yaml"),
            format!("{MODELINE_TOP}{}", docs.join("---\n")),
        );
    }
    e.counts = vec![
        ("data source", source_count),
        ("agent", agent_count),
        ("user", user_count),
    ];
    e
}

/// Paths written, for tests.
#[cfg(test)]
fn paths(e: &Export) -> Vec<PathBuf> {
    e.files.keys().cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_config_are_never_written() {
        let d = DataSource {
            id: "ds_1".into(),
            name: "Wiki".into(),
            source_type: Some("confluence".into()),
            config: serde_json::from_value(
                serde_json::json!({"url": "https://wiki", "api_token": "hunter2", "space": "${X}"}),
            )
            .ok(),
            sync_frequency: Some("daily".into()),
            ..DataSource::default()
        };
        let e = render(&[], &[d], &[], false, Vec::new());
        let all: String = e.files.values().cloned().collect();
        assert!(!all.contains("hunter2"), "{all}");
        assert!(all.contains("$${X}"), "{all}");
        assert!(e.notes.iter().any(|n| n.contains("api_token")));
        assert_eq!(paths(&e), vec![PathBuf::from("twig/data-sources.yaml")]);
    }

    #[test]
    fn duplicate_names_are_skipped_naming_both_ids() {
        let a = |id: &str| Agent {
            id: id.into(),
            name: "Same".into(),
            ..Agent::default()
        };
        let e = render(&[a("agent_1"), a("agent_2")], &[], &[], true, Vec::new());
        assert!(e.files.is_empty());
        assert_eq!(e.skipped.len(), 1);
        assert!(e.skipped[0].contains("agent_1, agent_2"));
    }
}

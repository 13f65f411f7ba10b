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

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
#[cfg(test)]
use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;

use super::api::TwigApi;
use super::manifest::{RAG_STRATEGIES, ROLES, SOURCE_TYPES, SYNC_FREQUENCIES};
use super::read::details;
use super::wire::{Agent, DataSource, User};
use crate::engine::http::ApiError;
use crate::engine::manifest::interpolate::escape;
use crate::engine::manifest::to_yaml;
use crate::engine::provider::{Export, ExportFilter};

const MODELINE_TOP: &str = "# yaml-language-server: $schema=../twinform.schema.json\n";
const MODELINE_NESTED: &str = "# yaml-language-server: $schema=../../twinform.schema.json\n";

/// A file-name-safe form of a name.
fn slug(name: &str) -> String {
    crate::engine::provider::slug(name, "agent")
}

#[derive(Serialize)]
struct FileRef {
    file: String,
}

#[derive(Serialize)]
struct DataSourceOut {
    kind: &'static str,
    name: String,
    #[serde(rename = "type")]
    source_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    config: Option<BTreeMap<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sync_frequency: Option<String>,
}

#[derive(Serialize)]
struct AgentOut {
    kind: &'static str,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    system_prompt: Option<FileRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rag_strategy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u64>,
    data_sources: Vec<String>,
}

#[derive(Serialize)]
struct UserOut {
    kind: &'static str,
    email: String,
    name: String,
    role: String,
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

/// Config values as a manifest may hold them: strings escaped, credentials left out.
fn config_out(d: &DataSource, notes: &mut Vec<String>) -> Option<BTreeMap<String, Value>> {
    let config = d.config.as_ref()?;
    let mut out = BTreeMap::new();
    for (k, v) in config {
        // A credential at any depth (`auth.api_token`, a DSN's password)
        // is never written; the whole entry is left unmanaged.
        if crate::engine::credentials::has_any(&serde_json::json!({ k: v })) {
            notes.push(format!(
                "data source `{}`: config `{k}` holds a credential and is not exported (left unmanaged)",
                d.name
            ));
            continue;
        }
        let v = match v {
            Value::String(s) => Value::String(escape(s)),
            // Nested strings are never interpolated, but a `${` in one is refused.
            other if other.to_string().contains("${") => {
                notes.push(format!(
                    "data source `{}`: config `{k}` holds `${{` inside a list or map, which a manifest cannot express (left unmanaged)",
                    d.name
                ));
                continue;
            }
            other => other.clone(),
        };
        out.insert(k.clone(), v);
    }
    (!out.is_empty()).then_some(out)
}

/// A value a manifest accepts, or `None` (left unmanaged, with a note).
fn known_value(
    v: Option<&String>,
    allowed: &[&str],
    what: &str,
    owner: &str,
    notes: &mut Vec<String>,
) -> Option<String> {
    let v = v?;
    if allowed.contains(&v.as_str()) {
        return Some(v.clone());
    }
    notes.push(format!(
        "{owner}: {what} `{v}` is not one twinform knows (left unmanaged)"
    ));
    None
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
        let Some(source_type) = known_value(
            d.source_type.as_ref(),
            SOURCE_TYPES,
            "type",
            &owner,
            &mut e.notes,
        ) else {
            e.skipped.push(format!("{owner}: no type twinform knows"));
            continue;
        };
        docs.push(to_yaml(&DataSourceOut {
            kind: "TwigDataSource",
            name: escape(&d.name),
            source_type,
            config: config_out(d, &mut e.notes),
            sync_frequency: known_value(
                d.sync_frequency.as_ref(),
                SYNC_FREQUENCIES,
                "sync frequency",
                &owner,
                &mut e.notes,
            ),
        }));
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
        let prompt = a.system_prompt.as_ref().map(|p| {
            e.files
                .insert(dir.join("prompts").join(format!("{s}.md")), p.clone());
            FileRef {
                file: format!("../prompts/{s}.md"),
            }
        });
        let data_sources = a
            .data_source_ids
            .iter()
            .map(|id| match source_names.get(id.as_str()) {
                Some(name) if !source_dups.contains_key(name) => (*name).to_string(),
                _ => id.clone(),
            })
            .collect();
        let doc = AgentOut {
            kind: "TwigAgent",
            name: escape(&a.name),
            system_prompt: prompt,
            model: a.model.clone(),
            rag_strategy: known_value(
                a.rag_strategy.as_ref(),
                RAG_STRATEGIES,
                "RAG strategy",
                &owner,
                &mut e.notes,
            ),
            temperature: a.temperature.filter(|t| (0.0..=2.0).contains(t)),
            max_tokens: a.max_tokens.filter(|m| *m > 0),
            data_sources,
        };
        e.files.insert(
            dir.join("agents").join(format!("{s}.yaml")),
            format!("{MODELINE_NESTED}{}", to_yaml(&doc)),
        );
        agent_count += 1;
    }
    let mut docs = Vec::new();
    for u in users.iter().filter(|_| !only_agents) {
        let owner = format!("user `{}`", u.email);
        let Some(role) = known_value(
            Some(&u.role.to_lowercase()),
            ROLES,
            "role",
            &owner,
            &mut e.notes,
        ) else {
            e.skipped.push(format!("{owner}: no role twinform knows"));
            continue;
        };
        docs.push(to_yaml(&UserOut {
            kind: "TwigUser",
            email: u.email.to_lowercase(),
            name: u.name.clone(),
            role,
        }));
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

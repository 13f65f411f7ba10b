//! `twinform export`: write manifests that describe what exists live, so
//! that planning them right away shows no changes.
//!
//! Layout of `--out DIR`:
//! `workspaces/<slug>.yaml` (one Workspace document each, id pinned),
//! `agents/<agent-id>.yaml` (one Agent document each),
//! `prompts/<agent-id>.md` (instructions, referenced with `{file: …}`), and
//! `twinform.schema.json` for the editors' modeline. Everything is read
//! before anything is written; existing files are refused without `--force`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::api::TwinApi;
use super::manifest::EVENTS;
use super::read;
use super::rules::{check_cron, check_url, is_valid_agent_id};
use super::tables;
use super::wire::{Agent, Instructions, Schedule, Webhook, Workspace};
use crate::engine::http::ApiError;
use crate::engine::manifest::interpolate::escape;
use crate::engine::provider::{Export, ExportFilter};
use crate::engine::resource;

/// Everything read for one agent.
struct AgentState {
    agent: Agent,
    instructions: Option<Instructions>,
    schedule: Option<Schedule>,
    webhooks: Vec<Webhook>,
}

/// A file-name-safe form of a name.
fn slug(name: &str) -> String {
    crate::engine::provider::slug(name, "workspace")
}

const MODELINE: &str = "# yaml-language-server: $schema=../twinform.schema.json\n";

/// `kind: Workspace` as exported.
#[derive(Serialize)]
struct WorkspaceOut<'a> {
    kind: &'static str,
    name: &'a str,
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    icon: Option<String>,
    prune: bool,
}

/// `{file: …}`.
#[derive(Serialize)]
struct FileRef {
    file: String,
}

#[derive(Serialize)]
struct ScheduleOut<'a> {
    cron: &'a str,
    paused: bool,
}

#[derive(Serialize)]
struct WebhookOut {
    url: String,
    events: Vec<String>,
    enabled: bool,
}

/// `kind: Agent` as exported. `None` fields are left unmanaged; `Some(None)`
/// schedule is `null` (none).
#[derive(Serialize)]
struct AgentOut<'a> {
    kind: &'static str,
    id: &'a str,
    workspace: &'a str,
    /// What [`tables::AGENT`] exports of the agent's own record
    /// (`subagent`, `derived_from`), in table order.
    #[serde(flatten)]
    fields: serde_json::Map<String, serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    instructions: Option<FileRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    schedule: Option<Option<ScheduleOut<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    webhooks: Option<Vec<WebhookOut>>,
}

/// What the export could not express: `skipped` objects are left out (export
/// exits 1), `unmanaged` fields are left out of their document (a note).
#[derive(Default)]
struct Report {
    skipped: Vec<String>,
    unmanaged: Vec<String>,
    /// Placeholder variables derived for credential-bearing URLs.
    names: crate::engine::provider::DerivedNames,
}

use crate::engine::manifest::to_yaml as yaml;

/// What was read: the workspaces and agents to export, and every name the
/// filters could have used.
struct Read {
    workspaces: Vec<Workspace>,
    states: Vec<AgentState>,
    known: Vec<String>,
}

/// What export renders: the provider's own read ([`read::read_all`]) of the
/// agents the filters keep, with their instructions, webhooks and schedules.
async fn read_all(
    client: &TwinApi,
    args: &ExportFilter,
    parallelism: usize,
) -> Result<Read, ApiError> {
    // No filter: everything. Otherwise an agent is exported when its id is in
    // --agent or its workspace in --workspace; workspaces named by --workspace
    // and those holding an exported agent are exported.
    let everything = args.agents.is_empty() && args.workspaces.is_empty();
    let named: BTreeSet<String> = if args.workspaces.is_empty() {
        BTreeSet::new()
    } else {
        client
            .list_workspaces()
            .await?
            .into_iter()
            .filter(|w| args.workspaces.contains(&w.name))
            .map(|w| w.workspace_id)
            .collect()
    };
    let keep = |a: &Agent| {
        everything
            || args.agents.contains(&a.agent_id)
            || a.workspace_id.as_ref().is_some_and(|w| named.contains(w))
    };
    let mut live = read::read_all(client, &keep, parallelism).await?;
    let mut known: Vec<String> = live.agents.keys().cloned().collect();
    known.extend(live.workspaces.iter().map(|w| w.name.clone()));
    let mut states: Vec<AgentState> = std::mem::take(&mut live.agents)
        .into_values()
        .filter(|a| keep(a))
        .map(|agent| AgentState {
            instructions: live.instructions.remove(&agent.agent_id).flatten(),
            schedule: live.schedules.remove(&agent.agent_id),
            webhooks: live.webhooks.remove(&agent.agent_id).unwrap_or_default(),
            agent,
        })
        .collect();
    states.sort_by(|a, b| a.agent.agent_id.cmp(&b.agent.agent_id));
    let used: BTreeSet<&str> = states
        .iter()
        .filter_map(|s| s.agent.workspace_id.as_deref())
        .collect();
    let workspaces = live
        .workspaces
        .into_iter()
        .filter(|w| {
            everything
                || args.workspaces.contains(&w.name)
                || used.contains(w.workspace_id.as_str())
        })
        .collect();
    Ok(Read {
        workspaces,
        states,
        known,
    })
}

fn workspace_doc(w: &Workspace, report: &mut Report) -> String {
    let icon = match &w.icon_config {
        Some(icon) if serde_json::from_str::<serde_json::Value>(icon).is_err() => {
            report.unmanaged.push(format!(
                "workspace `{}`: its icon is not a JSON document, so it is left unmanaged",
                w.name
            ));
            None
        }
        other => other.as_deref().map(escape),
    };
    let doc = WorkspaceOut {
        kind: "Workspace",
        name: &w.name,
        id: &w.workspace_id,
        icon,
        prune: false,
    };
    format!("{MODELINE}{}", yaml(&doc))
}

fn agent_doc(s: &AgentState, ws_name: &str, report: &mut Report) -> String {
    let a = &s.agent;
    let mut head = String::from(MODELINE);
    if let Some(name) = a.display_name() {
        head.push_str(&format!(
            "# web-app name: {}\n",
            name.replace(['\n', '\r'], " ")
        ));
    }
    let schedule = match &s.schedule {
        Some(sch) if check_cron(&sch.cron).is_err() => {
            report.unmanaged.push(format!(
                "agent `{}`: its cron `{}` is not one twinform accepts, so the schedule is left unmanaged",
                a.agent_id, sch.cron
            ));
            None
        }
        Some(sch) => Some(Some(ScheduleOut {
            cron: &sch.cron,
            paused: sch.paused,
        })),
        None => Some(None),
    };
    let webhooks = webhooks_out(s, report);
    if webhooks.as_ref().is_some_and(|w| !w.is_empty()) {
        head.push_str("# Signing secrets are not exported: each stays with whoever received it at creation.\n");
    }
    let what = format!("agent `{}`", a.agent_id);
    let own = resource::export(&tables::AGENT, &tables::agent_view(a, None), &what);
    report.unmanaged.extend(own.notes);
    let doc = AgentOut {
        kind: "Agent",
        id: &a.agent_id,
        workspace: ws_name,
        fields: own
            .values
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        instructions: s.instructions.as_ref().map(|_| FileRef {
            file: format!("../prompts/{}.md", a.agent_id),
        }),
        schedule,
        webhooks,
    };
    format!("{head}{}", yaml(&doc))
}

/// The complete webhook list, or `None` (unmanaged) when one of them cannot
/// be written as a manifest webhook (a URL or event twinform refuses).
fn webhooks_out(s: &AgentState, report: &mut Report) -> Option<Vec<WebhookOut>> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for w in s.webhooks.iter().filter(|w| seen.insert(w.url.clone())) {
        let bad_event = w.events.iter().find(|e| !EVENTS.contains(&e.as_str()));
        if let Err(why) = check_url(&w.url) {
            report.unmanaged.push(format!(
                "agent `{}`: webhook {} cannot be written in a manifest ({why}), so webhooks are left unmanaged",
                s.agent.agent_id, w.webhook_id
            ));
            return None;
        }
        if bad_event.is_some() || w.events.is_empty() {
            report.unmanaged.push(format!(
                "agent `{}`: webhook {} has events twinform does not know ({}), so webhooks are left unmanaged",
                s.agent.agent_id,
                w.webhook_id,
                w.events.join(", ")
            ));
            return None;
        }
        let mut events = w.events.clone();
        events.sort();
        events.dedup();
        // A URL that carries a credential (a Slack hook, a token in the
        // query) is never written: a placeholder variable takes its place.
        let url = if crate::engine::credentials::in_string(&w.url).is_some() {
            let base: String = s
                .agent
                .agent_id
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_uppercase()
                    } else {
                        '_'
                    }
                })
                .collect();
            let var = report.names.claim(
                format!("TWIN_WEBHOOK_URL_{base}"),
                &format!("a webhook of agent `{}`", s.agent.agent_id),
                |b, n| format!("{b}_{n}"),
            );
            report.unmanaged.push(format!(
                "agent `{}`: webhook {}'s URL holds a credential: it is written as ${{{var}}}; set {var} to it before planning",
                s.agent.agent_id, w.webhook_id
            ));
            format!("${{{var}}}")
        } else {
            escape(&w.url)
        };
        out.push(WebhookOut {
            url,
            events,
            enabled: w.status == "active",
        });
    }
    Some(out)
}

/// The files to write: path → content. Workspaces whose name cannot identify
/// them (empty, or shared with another live workspace) are skipped with their
/// agents, and so are agents whose id a manifest cannot hold.
fn render(
    out: &Path,
    workspaces: &[Workspace],
    states: &[AgentState],
    report: &mut Report,
) -> BTreeMap<PathBuf, String> {
    let mut files = BTreeMap::new();
    let mut by_name: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for w in workspaces {
        by_name
            .entry(w.name.as_str())
            .or_default()
            .push(w.workspace_id.as_str());
    }
    let mut names: BTreeMap<&str, &str> = BTreeMap::new();
    let mut slugs = BTreeSet::new();
    for w in workspaces {
        let ids = &by_name[w.name.as_str()];
        if w.name.trim().is_empty() || ids.len() > 1 {
            if ids.first() == Some(&w.workspace_id.as_str()) {
                report.skipped.push(if w.name.trim().is_empty() {
                    format!("workspace {} has no name, which manifests use to identify it: name it, then export again", w.workspace_id)
                } else {
                    format!(
                        "workspaces {} share the name `{}`, which manifests use to identify them: rename one, then export again (their agents were skipped too)",
                        ids.join(", "),
                        w.name
                    )
                });
            }
            continue;
        }
        names.insert(w.workspace_id.as_str(), w.name.as_str());
        let mut s = slug(&w.name);
        if !slugs.insert(s.clone()) {
            s = format!("{s}-{}", slug(&w.workspace_id));
            slugs.insert(s.clone());
        }
        files.insert(
            out.join("workspaces").join(format!("{s}.yaml")),
            workspace_doc(w, report),
        );
    }
    for s in states {
        let id = &s.agent.agent_id;
        if !is_valid_agent_id(id) {
            report.skipped.push(format!(
                "agent `{id}`: its id is not one a manifest can hold (^[A-Za-z0-9][A-Za-z0-9_-]{{0,63}}$)"
            ));
            continue;
        }
        let Some(ws) = s
            .agent
            .workspace_id
            .as_deref()
            .and_then(|w| names.get(w))
            .copied()
        else {
            continue;
        };
        files.insert(
            out.join("agents").join(format!("{id}.yaml")),
            agent_doc(s, ws, report),
        );
        if let Some(i) = &s.instructions {
            files.insert(
                out.join("prompts").join(format!("{id}.md")),
                i.content.clone(),
            );
        }
    }
    files
}

/// Read what exists live and describe it as manifests (paths relative to
/// the output folder).
pub async fn export(
    api: &TwinApi,
    filter: &ExportFilter,
    parallelism: usize,
) -> Result<Export, ApiError> {
    let read = read_all(api, filter, parallelism).await?;
    let mut report = Report::default();
    for s in &read.states {
        let mut urls = BTreeSet::new();
        if s.webhooks.iter().any(|w| !urls.insert(&w.url)) {
            report.unmanaged.push(format!(
                "agent `{}` has several webhooks with one URL; manifests name a webhook by URL, so the export keeps one and a plan will delete the others",
                s.agent.agent_id
            ));
        }
    }
    let files = render(Path::new(""), &read.workspaces, &read.states, &mut report);
    let exported = |dir: &str| {
        files
            .keys()
            .filter(|p| p.parent().is_some_and(|d| d.ends_with(dir)))
            .count()
    };
    let counts = vec![
        ("workspace", exported("workspaces")),
        ("agent", exported("agents")),
    ];
    Ok(Export {
        files,
        skipped: report.skipped,
        notes: report.unmanaged,
        counts,
        known: read.known,
        names: report.names,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_file_safe() {
        assert_eq!(slug("Marketing Agents"), "marketing-agents");
        assert_eq!(slug("../../etc"), "etc");
        assert_eq!(slug("✓"), "workspace");
    }
}

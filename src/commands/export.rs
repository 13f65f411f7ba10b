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
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::{connect, EXIT_ERROR, EXIT_OK};
use crate::cli::ExportArgs;
use crate::output::Printer;
use crate::twin::types::{Agent, Instructions, Schedule, Webhook, Workspace};
use crate::twin::{ApiError, Client};

/// Everything read for one agent.
struct AgentState {
    agent: Agent,
    instructions: Option<Instructions>,
    schedule: Option<Schedule>,
    webhooks: Vec<Webhook>,
}

/// A YAML scalar: JSON string syntax is valid YAML and escapes everything.
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// A file-name-safe form of a name.
fn slug(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let s = s
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    if s.is_empty() {
        "workspace".into()
    } else {
        s
    }
}

const MODELINE: &str = "# yaml-language-server: $schema=../twinform.schema.json\n";

async fn read_all(
    client: &Client,
    args: &ExportArgs,
    parallelism: usize,
) -> Result<(Vec<Workspace>, Vec<AgentState>), ApiError> {
    let (workspaces, agents, schedules) = tokio::try_join!(
        client.list_workspaces(),
        client.list_agents(None),
        client.list_schedules()
    )?;
    // No filter: everything. Otherwise an agent is exported when its id is in
    // --agent or its workspace in --workspace; workspaces named by --workspace
    // and those holding an exported agent are exported.
    let everything = args.agent.is_empty() && args.workspace.is_empty();
    let wanted_ws: BTreeSet<String> = workspaces
        .iter()
        .filter(|w| everything || args.workspace.contains(&w.name))
        .map(|w| w.workspace_id.clone())
        .collect();
    let selected: Vec<Agent> = agents
        .into_iter()
        .filter(|a| {
            everything
                || args.agent.contains(&a.agent_id)
                || a.workspace_id
                    .as_ref()
                    .is_some_and(|w| wanted_ws.contains(w))
        })
        .collect();
    let mut schedules: BTreeMap<String, Schedule> = schedules
        .into_iter()
        .filter_map(|s| Some((s.agent_id.clone()?, s)))
        .collect();
    let limit = Arc::new(Semaphore::new(parallelism.max(1)));
    let mut tasks = JoinSet::new();
    for agent in selected {
        let (client, limit) = (client.clone(), limit.clone());
        let schedule = schedules.remove(&agent.agent_id);
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let (instructions, webhooks) = tokio::try_join!(
                client.get_instructions(&agent.agent_id),
                client.list_webhooks(&agent.agent_id)
            )?;
            Ok::<_, ApiError>(AgentState {
                agent,
                instructions,
                schedule,
                webhooks,
            })
        });
    }
    let mut states = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        states.push(joined.map_err(|e| ApiError::Config(format!("a read task failed: {e}")))??);
    }
    states.sort_by(|a, b| a.agent.agent_id.cmp(&b.agent.agent_id));
    let used: BTreeSet<&str> = states
        .iter()
        .filter_map(|s| s.agent.workspace_id.as_deref())
        .collect();
    let workspaces = workspaces
        .into_iter()
        .filter(|w| wanted_ws.contains(&w.workspace_id) || used.contains(w.workspace_id.as_str()))
        .collect();
    Ok((workspaces, states))
}

fn workspace_doc(w: &Workspace) -> String {
    let mut d = format!(
        "{MODELINE}kind: Workspace\nname: {}\nid: {}\n",
        q(&w.name),
        q(&w.workspace_id)
    );
    if let Some(icon) = &w.icon_config {
        d.push_str(&format!("icon: {}\n", q(icon)));
    }
    d.push_str("prune: false\n");
    d
}

fn agent_doc(s: &AgentState, ws_name: &str) -> String {
    let a = &s.agent;
    let mut d = String::from(MODELINE);
    if let Some(name) = a.display_name() {
        d.push_str(&format!(
            "# web-app name: {}\n",
            name.replace(['\n', '\r'], " ")
        ));
    }
    d.push_str(&format!(
        "kind: Agent\nid: {}\nworkspace: {}\n",
        q(&a.agent_id),
        q(ws_name)
    ));
    if s.instructions.is_some() {
        d.push_str(&format!(
            "instructions: {{file: {}}}\n",
            q(&format!("../prompts/{}.md", a.agent_id))
        ));
    }
    match &s.schedule {
        Some(sch) => d.push_str(&format!(
            "schedule:\n  cron: {}\n  paused: {}\n",
            q(&sch.cron),
            sch.paused
        )),
        None => d.push_str("schedule: null\n"),
    }
    if s.webhooks.is_empty() {
        d.push_str("webhooks: []\n");
    } else {
        d.push_str("# Signing secrets are not exported: each stays with whoever received it at creation.\nwebhooks:\n");
        let mut seen = BTreeSet::new();
        for w in s.webhooks.iter().filter(|w| seen.insert(w.url.clone())) {
            let mut events = w.events.clone();
            events.sort();
            let events: Vec<String> = events.iter().map(|e| q(e)).collect();
            d.push_str(&format!(
                "  - url: {}\n    events: [{}]\n    enabled: {}\n",
                q(&w.url),
                events.join(", "),
                w.status == "active"
            ));
        }
    }
    d
}

/// The files to write: path → content.
fn render(
    out: &Path,
    workspaces: &[Workspace],
    states: &[AgentState],
) -> BTreeMap<PathBuf, String> {
    let mut files = BTreeMap::new();
    let names: BTreeMap<&str, &str> = workspaces
        .iter()
        .map(|w| (w.workspace_id.as_str(), w.name.as_str()))
        .collect();
    let mut slugs = BTreeSet::new();
    for w in workspaces {
        let mut s = slug(&w.name);
        if !slugs.insert(s.clone()) {
            s = format!("{s}-{}", slug(&w.workspace_id));
            slugs.insert(s.clone());
        }
        files.insert(
            out.join("workspaces").join(format!("{s}.yaml")),
            workspace_doc(w),
        );
    }
    for s in states {
        let ws = s
            .agent
            .workspace_id
            .as_deref()
            .and_then(|id| names.get(id))
            .copied()
            .unwrap_or_default();
        files.insert(
            out.join("agents")
                .join(format!("{}.yaml", s.agent.agent_id)),
            agent_doc(s, ws),
        );
        if let Some(i) = &s.instructions {
            files.insert(
                out.join("prompts").join(format!("{}.md", s.agent.agent_id)),
                i.content.clone(),
            );
        }
    }
    let schema =
        serde_json::to_string_pretty(&crate::manifest::model::json_schema()).unwrap_or_default();
    files.insert(out.join("twinform.schema.json"), format!("{schema}\n"));
    files
}

pub async fn run(printer: &Printer, args: ExportArgs) -> i32 {
    let conn = match connect(&args.api, printer).await {
        Ok(c) => c,
        Err(e) => {
            printer.error(&e);
            return EXIT_ERROR;
        }
    };
    let read = read_all(&conn.client, &args, args.api.parallelism).await;
    conn.close().await;
    let (workspaces, states) = match read {
        Ok(r) => r,
        Err(e) => {
            printer.error(&format!(
                "reading live state failed, nothing was written: {e}"
            ));
            return EXIT_ERROR;
        }
    };
    for s in &states {
        let mut urls = BTreeSet::new();
        if s.webhooks.iter().any(|w| !urls.insert(&w.url)) {
            printer.message(&format!(
                "warning: agent `{}` has several webhooks with one URL; manifests name a webhook by URL, so the export keeps one and a plan will delete the others",
                s.agent.agent_id
            ));
        }
    }
    let files = render(&args.out, &workspaces, &states);
    let existing: Vec<String> = files
        .keys()
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .collect();
    if !existing.is_empty() && !args.force {
        printer.error(&format!(
            "refusing to overwrite {} existing files (first: {}); nothing was written\nhint: pass --force, or choose another --out",
            existing.len(),
            existing[0]
        ));
        return EXIT_ERROR;
    }
    for (path, content) in &files {
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(path, content));
        if let Err(e) = written {
            printer.error(&format!("cannot write {}: {e}", path.display()));
            return EXIT_ERROR;
        }
    }
    printer.message(&format!(
        "Exported {} workspaces and {} agents to {}. Check with `twinform plan {}`: it should show no changes.",
        workspaces.len(),
        states.len(),
        args.out.display(),
        args.out.display()
    ));
    EXIT_OK
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

    #[test]
    fn quoted_scalars_survive_yaml() {
        assert_eq!(q("a: b # c"), "\"a: b # c\"");
        assert_eq!(q("line\n\"x\""), "\"line\\n\\\"x\\\"\"");
    }
}

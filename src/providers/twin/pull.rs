//! `twinform pull` for Twin: every managed value that drifted live, as what
//! to write back into the manifests. Pure, like the diff; matching follows
//! the diff's rules (workspaces by pinned id or name, agents by id,
//! webhooks by URL), so after a pull the plan has nothing to change.

use super::diff::{agent_address, create_only, workspace_address};
use super::model::{AgentSpec, Desired, WorkspaceSpec};
use super::read::Live;
use super::rules::url_key;
use super::tables;
use super::wire::InstructionVersion;
use crate::engine::manifest::edit::{key, NewValue, Origin, Request, Seg};
use crate::engine::manifest::Text;
use crate::engine::provider::{ExportFilter, Pulled, TextLocation, TextVersion};
use crate::engine::resource::{self, Table, Values};

/// What to write back, in manifest order.
pub fn pull(desired: &Desired, live: &Live, filter: &ExportFilter) -> Vec<Pulled> {
    let mut out = Vec::new();
    let wanted =
        |name: &str| filter.workspaces.is_empty() || filter.workspaces.iter().any(|w| w == name);
    for ws in desired
        .workspaces
        .iter()
        .filter(|w| wanted(&w.name) && filter.agents.is_empty())
    {
        workspace(ws, live, &mut out);
    }
    for a in &desired.agents {
        if !wanted(&a.workspace) || !(filter.agents.is_empty() || filter.agents.contains(&a.id)) {
            continue;
        }
        agent(a, live, &mut out);
    }
    out
}

fn write(
    origin: &crate::engine::manifest::edit::Origin,
    address: &str,
    field: &str,
    path: Vec<Seg>,
    value: NewValue,
) -> Pulled {
    Pulled::Write(Request {
        origin: origin.clone(),
        path,
        value,
        address: address.to_string(),
        field: field.to_string(),
    })
}

fn leave(address: &str, why: impl Into<String>) -> Pulled {
    Pulled::Leave {
        address: address.to_string(),
        why: why.into(),
    }
}

/// Every drifted field of a table, written back (`resource::pull`); a
/// declared field the live record no longer has is left with why.
fn fields(
    table: &Table,
    values: &Values,
    live: &serde_json::Value,
    origin: &Origin,
    address: &str,
    out: &mut Vec<Pulled>,
) {
    for k in values.fields.keys() {
        let Some(f) = table.field(k) else { continue };
        if resource::diff::live_value(f, live).is_none() {
            out.push(leave(
                address,
                format!("{k} was removed live; remove `{k}` by hand"),
            ));
        }
    }
    out.extend(resource::pull(table, values, live, origin, address));
}

fn workspace(ws: &WorkspaceSpec, live: &Live, out: &mut Vec<Pulled>) {
    let address = workspace_address(&ws.name);
    let found = match &ws.id {
        Some(id) => live.workspaces.iter().find(|w| &w.workspace_id == id),
        None => live.workspaces.iter().find(|w| w.name == ws.name),
    };
    let Some(lw) = found else {
        out.push(leave(&address, "does not exist live (apply creates it)"));
        return;
    };
    if ws.id.is_some() && lw.name != ws.name {
        out.push(leave(
            &address,
            format!(
                "renamed live to `{}`; rename it, and the agents that name it, by hand",
                lw.name
            ),
        ));
    }
    let values = tables::workspace_values(ws);
    fields(
        &tables::WORKSPACE,
        &values,
        &tables::json(lw),
        &ws.origin,
        &address,
        out,
    );
}

fn agent(a: &AgentSpec, live: &Live, out: &mut Vec<Pulled>) {
    let address = agent_address(&a.id);
    let Some(la) = live.agents.get(&a.id) else {
        out.push(leave(&address, "does not exist live (apply creates it)"));
        return;
    };
    let live_ws = la
        .workspace_id
        .as_deref()
        .and_then(|id| live.workspaces.iter().find(|w| w.workspace_id == id));
    if let Some(lw) = live_ws.filter(|lw| lw.name != a.workspace) {
        match resource::identity_text(&lw.name) {
            Some(name) => out.push(write(
                &a.origin,
                &address,
                "workspace",
                vec![key("workspace")],
                NewValue::Text(name),
            )),
            None => out.push(leave(
                &address,
                "moved to a workspace whose name holds `${`, which a manifest cannot name; change it by hand",
            )),
        }
    }
    // Create-only fields (known live): the next plan would replace it.
    let view = tables::agent_view(la, None);
    let values = create_only(a, &view);
    fields(&tables::AGENT, &values, &view, &a.origin, &address, out);
    instructions(a, live, &address, out);
    schedule(a, live, &address, out);
    webhooks(a, live, &address, out);
}

fn instructions(a: &AgentSpec, live: &Live, address: &str, out: &mut Vec<Pulled>) {
    let Some(want) = &a.instructions else {
        return;
    };
    let address = format!("{address}.instructions");
    match live.instructions.get(&a.id) {
        Some(Some(now)) => {
            let mut values = Values::default();
            values.set("instructions", resource::Val::Text(want.clone()));
            let view = serde_json::json!({"instructions": {"content": now.content}});
            out.extend(resource::pull(
                &tables::AGENT,
                &values,
                &view,
                &a.origin,
                &address,
            ));
        }
        Some(None) => out.push(leave(
            &address,
            "the agent has no instructions live (apply writes them)",
        )),
        _ => {}
    }
}

fn schedule(a: &AgentSpec, live: &Live, address: &str, out: &mut Vec<Pulled>) {
    let address = format!("{address}.schedule");
    match (&a.schedule, live.schedules.get(&a.id)) {
        (Some(Some(want)), Some(now)) => {
            let values = tables::schedule_values(want);
            out.extend(resource::pull(
                &tables::SCHEDULE,
                &values,
                &tables::json(now),
                &a.origin,
                &address,
            ));
        }
        (Some(Some(_)), None) => out.push(leave(
            &address,
            "was deleted live; write `schedule: null` to keep it off, or apply to restore it",
        )),
        (Some(None), Some(now)) => out.push(leave(
            &address,
            format!(
                "was added live (cron \"{}\"); declare it by hand to keep it",
                now.cron
            ),
        )),
        _ => {}
    }
}

fn webhooks(a: &AgentSpec, live: &Live, address: &str, out: &mut Vec<Pulled>) {
    let (Some(want), Some(now)) = (&a.webhooks, live.webhooks.get(&a.id)) else {
        return;
    };
    let mut matched = vec![false; now.len()];
    for (i, w) in want.iter().enumerate() {
        let at = format!(
            "{address}.webhook[{}]",
            crate::engine::plan::quote(w.url.shown())
        );
        let found = now
            .iter()
            .enumerate()
            .find(|(j, l)| !matched[*j] && url_key(&l.url) == url_key(w.url.expose()));
        let Some((j, l)) = found else {
            out.push(leave(
                &at,
                "was deleted live; remove it from the manifest by hand, or apply to restore it",
            ));
            continue;
        };
        matched[j] = true;
        let values = tables::webhook_values(i, w);
        out.extend(resource::pull(
            &tables::WEBHOOK,
            &values,
            &tables::webhook_json(l),
            &a.origin,
            &at,
        ));
    }
    for (l, _) in now.iter().zip(&matched).filter(|(_, m)| !**m) {
        // The live URL may carry a token: only its host is said.
        let host = Text::secret_url(&l.url);
        out.push(leave(
            &format!(
                "{address}.webhook[{}]",
                crate::engine::plan::quote(host.shown())
            ),
            "was added live; declare it by hand to keep it",
        ));
    }
}

/// A history entry as the engine shows it (ids and times may be numbers or
/// strings on the wire).
pub fn version(v: InstructionVersion) -> TextVersion {
    let text = |x: Option<serde_json::Value>| {
        x.map(|x| match x {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        })
    };
    TextVersion {
        id: text(v.id),
        created_at: text(v.created_at),
        source: v.source_type,
        author: v.user_email.or(v.user_id),
        content_hash: v.content_hash,
        content: v.content,
    }
}

/// Where an agent's instructions are declared.
pub fn text_location(desired: &Desired, agent: &str) -> Option<TextLocation> {
    let a = desired.agents.iter().find(|a| a.id == agent)?;
    Some(TextLocation {
        origin: a.origin.clone(),
        path: vec![key("instructions")],
        address: format!("{}.instructions", agent_address(&a.id)),
        sensitive: a.instructions.as_ref().is_some_and(Text::is_sensitive),
    })
}

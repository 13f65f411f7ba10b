//! Twin's rules for its documents, producing the [`Desired`] model. Every
//! check records a located problem and moves on, so one run reports every
//! problem.

use std::collections::{BTreeSet, HashMap};

use serde_saphyr::{Location, Spanned};

use super::manifest::{AgentDoc, WebhookSpec as RawWebhook, WorkspaceDoc, AGENT_KINDS, EVENTS};
use super::model::{AgentSpec, Desired, ScheduleSpec, WebhookSpec, WorkspaceSpec};
use super::rules::{check_cron, check_url, is_valid_agent_id, numeric_day_of_week, url_key};
use crate::engine::manifest::diagnostic::did_you_mean;
use crate::engine::manifest::{Document, LoadContext, Text};
use crate::engine::model::CreateOnly;

/// Parse and check every Twin document.
pub fn load(docs: &[Document], ctx: &mut LoadContext) -> Desired {
    let mut workspaces: Vec<(&Document, WorkspaceDoc)> = Vec::new();
    let mut agents: Vec<(&Document, AgentDoc)> = Vec::new();
    for d in docs {
        if AGENT_KINDS.contains(&d.kind.value.as_str()) {
            if let Some(a) = ctx.parse::<AgentDoc>(d) {
                agents.push((d, a));
            }
        } else if let Some(w) = ctx.parse::<WorkspaceDoc>(d) {
            workspaces.push((d, w));
        }
    }
    let specs = workspaces
        .iter()
        .filter_map(|(d, w)| workspace(ctx, d, w))
        .collect();
    check_duplicate_workspaces(ctx, &workspaces);
    let agent_specs = agents
        .iter()
        .filter_map(|(d, a)| agent(ctx, d, a))
        .collect();
    check_agent_references(ctx, &workspaces, &agents);
    Desired {
        root: ctx.root.clone(),
        workspaces: specs,
        agents: agent_specs,
    }
}

fn workspace(ctx: &mut LoadContext, d: &Document, w: &WorkspaceDoc) -> Option<WorkspaceSpec> {
    if w.name.value.trim().is_empty() {
        ctx.error(d, &w.name.referenced, "workspace name is empty");
    }
    let icon = match &w.icon {
        Some(icon) => {
            let t = ctx.text(d, icon)?;
            if let Err(e) = serde_json::from_str::<serde_json::Value>(t.expose()) {
                ctx.error(
                    d,
                    &icon.referenced,
                    format!("icon is not a JSON document: {e}"),
                )
                .set_help(r#"write it as a JSON string, e.g. icon: '{"emoji":"rocket"}'"#);
            }
            Some(t)
        }
        None => None,
    };
    Some(WorkspaceSpec {
        name: w.name.value.clone(),
        id: w.id.as_ref().map(|i| i.value.clone()),
        icon,
        prune: w.prune,
        origin: ctx.origin(d),
    })
}

fn check_duplicate_workspaces(ctx: &mut LoadContext, workspaces: &[(&Document, WorkspaceDoc)]) {
    let mut seen: HashMap<&str, (&Document, &Location)> = HashMap::new();
    for (d, w) in workspaces {
        let name = w.name.value.as_str();
        if let Some((fd, floc)) = seen.get(name) {
            let first = ctx.location(fd, floc);
            ctx.error(
                d,
                &w.name.referenced,
                format!("workspace `{name}` is declared twice"),
            )
            .set_help(format!("first declared at {first}"));
        } else {
            seen.insert(name, (d, &w.name.referenced));
        }
    }
}

fn agent(ctx: &mut LoadContext, d: &Document, a: &AgentDoc) -> Option<AgentSpec> {
    let mut ok = true;
    if !is_valid_agent_id(&a.id.value) {
        ctx.error(
            d,
            &a.id.referenced,
            format!("invalid agent id `{}`", a.id.value),
        )
        .set_help("agent ids match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$");
        ok = false;
    }
    let instructions = match &a.instructions {
        Some(Spanned {
            value: Some(spec),
            referenced,
            ..
        }) => {
            let t = ctx.text_source(d, referenced, spec, "instruction file");
            ok &= t.is_some();
            t
        }
        Some(Spanned {
            value: None,
            referenced,
            ..
        }) => {
            ctx.error(d, referenced, "instructions: null is not allowed").set_help(
                "remove the field to leave the instructions unmanaged, or write \"\" for empty instructions (Twin cannot delete them)",
            );
            ok = false;
            None
        }
        None => None,
    };
    let schedule = match &a.schedule {
        None => None,
        Some(Spanned { value: None, .. }) => Some(None),
        Some(Spanned { value: Some(s), .. }) => {
            let cron = ctx.text(d, &s.cron);
            if let Some(c) = &cron {
                if let Err(e) = check_cron(c.expose()) {
                    ctx.error(d, &s.cron.referenced, e).set_help(
                        r#"Twin cron has 7 fields, e.g. "0 0 9 * * * *" (09:00:00 every day)"#,
                    );
                    ok = false;
                } else if let Some(dow) = numeric_day_of_week(c.expose()) {
                    ctx.warning(
                        d,
                        &s.cron.referenced,
                        format!("day-of-week `{dow}` is numeric: in this cron 1 = Sunday, so 1-5 is Sunday to Thursday"),
                    )
                    .set_help("write day names instead (MON-FRI), which cannot be misread");
                }
            }
            Some(Some(ScheduleSpec {
                cron: cron?,
                paused: s.paused,
            }))
        }
    };
    let webhooks = match &a.webhooks {
        None => None,
        Some(Spanned { value: None, .. }) => Some(Vec::new()),
        Some(Spanned {
            value: Some(list), ..
        }) => {
            let mut out = Vec::new();
            let mut urls: HashMap<String, &Location> = HashMap::new();
            for w in list {
                let Some(hook) = webhook(ctx, d, w) else {
                    ok = false;
                    continue;
                };
                if urls
                    .insert(url_key(hook.url.expose()), &w.url.referenced)
                    .is_some()
                {
                    ctx.error(
                        d,
                        &w.url.referenced,
                        "the same webhook URL appears twice on this agent",
                    )
                    .set_help("merge the two entries' events into one");
                    ok = false;
                }
                out.push(hook);
            }
            Some(out)
        }
    };
    let source = ctx.source(d, &a.id.referenced);
    ok.then(|| AgentSpec {
        id: a.id.value.clone(),
        workspace: a.workspace.value.clone(),
        subagent: CreateOnly(a.subagent),
        derived_from: CreateOnly(a.derived_from.as_ref().map(|s| s.value.clone())),
        derived_from_literal: d
            .node
            .value
            .get("derived_from")
            .and_then(|n| n.value.as_str())
            .is_none_or(|raw| !raw.contains("${")),
        instructions,
        schedule,
        webhooks,
        source,
        origin: ctx.origin(d),
    })
}

fn webhook(ctx: &mut LoadContext, d: &Document, w: &RawWebhook) -> Option<WebhookSpec> {
    let url = ctx.text(d, &w.url).map(|t| {
        // A literal URL that carries a credential (a Slack hook) is as
        // secret as one marked `sensitive: true`.
        let carries = !t.is_sensitive() && crate::engine::credentials::in_string(t.expose()).is_some();
        if carries && !w.sensitive {
            // Located, but without the snippet: the line holds the credential.
            ctx.warning(d, &w.url.referenced, "this webhook URL holds a credential written in the manifest")
                .without_snippet()
                .set_help("put it in an environment variable (`url: ${SLACK_HOOK_URL}`); it is masked in every output");
        }
        if (w.sensitive || carries) && !t.is_sensitive() {
            let secret = Text::secret_url(t.expose());
            ctx.add_secrets(&secret);
            secret
        } else {
            t
        }
    });
    let mut ok = url.is_some();
    if let Some(Err(e)) = url.as_ref().map(|u| check_url(u.expose())) {
        // The URL may be secret: the message says why, never what.
        ctx.error(d, &w.url.referenced, e);
        ok = false;
    }
    if w.events.value.is_empty() {
        ctx.error(
            d,
            &w.events.referenced,
            "a webhook needs at least one event",
        )
        .set_help(format!("events are {}", EVENTS.join(", ")));
        ok = false;
    }
    let mut events = BTreeSet::new();
    for e in &w.events.value {
        if !EVENTS.contains(&e.value.as_str()) {
            let help = match did_you_mean(&e.value, &EVENTS) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("events are {}", EVENTS.join(", ")),
            };
            ctx.error(d, &e.referenced, format!("unknown event `{}`", e.value))
                .set_help(help);
            ok = false;
        }
        events.insert(e.value.clone());
    }
    Some(WebhookSpec {
        url: url.filter(|_| ok)?,
        events: events.into_iter().collect(),
        enabled: w.enabled.unwrap_or(true),
    })
}

fn check_agent_references(
    ctx: &mut LoadContext,
    workspaces: &[(&Document, WorkspaceDoc)],
    agents: &[(&Document, AgentDoc)],
) {
    let declared: BTreeSet<&str> = workspaces
        .iter()
        .map(|(_, w)| w.name.value.as_str())
        .collect();
    let ids: BTreeSet<&str> = agents.iter().map(|(_, a)| a.id.value.as_str()).collect();
    let mut seen: HashMap<&str, (&Document, &Location)> = HashMap::new();
    for (d, a) in agents {
        if let Some((fd, floc)) = seen.get(a.id.value.as_str()) {
            let first = ctx.location(fd, floc);
            ctx.error(
                d,
                &a.id.referenced,
                format!("agent `{}` is declared twice", a.id.value),
            )
            .set_help(format!("first declared at {first}"));
        } else {
            seen.insert(&a.id.value, (d, &a.id.referenced));
        }
        if !declared.contains(a.workspace.value.as_str()) {
            ctx.warning(
                d,
                &a.workspace.referenced,
                format!(
                    "workspace `{}` is not declared in any manifest",
                    a.workspace.value
                ),
            )
            .set_help("fine if it exists live; plan fails if it does not");
        }
        if let Some(parent) = &a.derived_from {
            if !ids.contains(parent.value.as_str()) {
                ctx.warning(
                    d,
                    &parent.referenced,
                    format!(
                        "derived_from names agent `{}`, which no manifest declares",
                        parent.value
                    ),
                );
            }
        }
    }
}

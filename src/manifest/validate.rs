//! Semantic checks on parsed documents, producing the [`Desired`] model.
//!
//! Every check adds a located [`Problem`] and moves on, so one run reports
//! every problem.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use serde_saphyr::{Location, Spanned};

use super::interpolate::interpolate;
use super::load::{read_text, Content, Doc, Loaded};
use super::model::{AgentDoc, InstructionsSpec, WebhookSpec as RawWebhook, WorkspaceDoc, EVENTS};
use super::{AgentSpec, Desired, Problem, ScheduleSpec, Text, WebhookSpec, WorkspaceSpec};

pub use crate::rules::{check_cron, check_url, is_valid_agent_id};

struct Ctx<'a> {
    loaded: &'a Loaded,
    env: &'a dyn Fn(&str) -> Option<String>,
    problems: &'a mut Vec<Problem>,
    secrets: Vec<String>,
}

impl Ctx<'_> {
    fn error(
        &mut self,
        file: usize,
        base: usize,
        loc: &Location,
        msg: impl Into<String>,
    ) -> &mut Problem {
        let p = self.loaded.problem(file, base, loc, msg);
        let index = self.problems.len();
        self.problems.push(p);
        &mut self.problems[index]
    }

    fn text(&mut self, file: usize, base: usize, s: &Spanned<String>) -> Option<Text> {
        match interpolate(&s.value, self.env) {
            Ok(t) => {
                self.secrets.extend(t.secrets.iter().cloned());
                Some(t)
            }
            Err(e) => {
                self.error(file, base, &s.referenced, e.to_string());
                None
            }
        }
    }
}

/// Validate every document, returning the model (complete only when no error was added).
pub fn validate(
    loaded: &Loaded,
    env: &dyn Fn(&str) -> Option<String>,
    problems: &mut Vec<Problem>,
) -> Desired {
    let mut ctx = Ctx {
        loaded,
        env,
        problems,
        secrets: Vec::new(),
    };
    let workspaces = loaded
        .workspaces
        .iter()
        .filter_map(|d| workspace(&mut ctx, d))
        .collect::<Vec<_>>();
    check_duplicate_workspaces(&mut ctx);
    let agents = loaded
        .agents
        .iter()
        .filter_map(|d| agent(&mut ctx, d))
        .collect::<Vec<_>>();
    check_agent_references(&mut ctx);
    let mut secrets = ctx.secrets;
    secrets.sort();
    secrets.dedup();
    Desired {
        root: loaded.root.clone(),
        workspaces,
        agents,
        secrets,
    }
}

fn workspace(ctx: &mut Ctx, d: &Doc<WorkspaceDoc>) -> Option<WorkspaceSpec> {
    let w = &d.doc;
    if w.name.value.trim().is_empty() {
        ctx.error(
            d.file,
            d.base,
            &w.name.referenced,
            "workspace name is empty",
        );
    }
    let icon = match &w.icon {
        Some(icon) => {
            let t = ctx.text(d.file, d.base, icon)?;
            if let Err(e) = serde_json::from_str::<serde_json::Value>(&t.value) {
                ctx.error(
                    d.file,
                    d.base,
                    &icon.referenced,
                    format!("icon is not a JSON document: {e}"),
                )
                .help =
                    Some(r#"write it as a JSON string, e.g. icon: '{"emoji":"rocket"}'"#.into());
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
    })
}

fn check_duplicate_workspaces(ctx: &mut Ctx) {
    let mut seen: HashMap<&str, &Doc<WorkspaceDoc>> = HashMap::new();
    for d in &ctx.loaded.workspaces {
        let name = d.doc.name.value.as_str();
        if let Some(first) = seen.get(name) {
            let where_first = location_of(
                ctx.loaded,
                first.file,
                first.base,
                &first.doc.name.referenced,
            );
            ctx.error(
                d.file,
                d.base,
                &d.doc.name.referenced,
                format!("workspace `{name}` is declared twice"),
            )
            .help = Some(format!("first declared at {where_first}"));
        } else {
            seen.insert(name, d);
        }
    }
}

fn location_of(loaded: &Loaded, file: usize, base: usize, loc: &Location) -> String {
    let (off, _) = loaded.span(file, base, loc);
    let (l, c) = loaded.files[file].line_col(off);
    format!("{}:{l}:{c}", loaded.files[file].name)
}

fn agent(ctx: &mut Ctx, d: &Doc<AgentDoc>) -> Option<AgentSpec> {
    let a = &d.doc;
    let (file, base) = (d.file, d.base);
    let mut ok = true;
    if !is_valid_agent_id(&a.id.value) {
        ctx.error(
            file,
            base,
            &a.id.referenced,
            format!("invalid agent id `{}`", a.id.value),
        )
        .help = Some("agent ids match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$".into());
        ok = false;
    }
    let instructions = match &a.instructions {
        Some(Spanned {
            value: Some(spec),
            referenced,
            defined,
        }) => {
            let spanned = Spanned::new(spec.clone(), *referenced, *defined);
            let t = instructions(ctx, d, &spanned);
            ok &= t.is_some();
            t
        }
        Some(Spanned {
            value: None,
            referenced,
            ..
        }) => {
            ctx.error(file, base, referenced, "instructions: null is not allowed")
                .help = Some(
                "remove the field to leave the instructions unmanaged, or write \"\" for empty instructions (Twin cannot delete them)".into(),
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
            let cron = ctx.text(file, base, &s.cron);
            if let Some(c) = &cron {
                if let Err(e) = check_cron(&c.value) {
                    ctx.error(file, base, &s.cron.referenced, e).help = Some(
                        r#"Twin cron has 7 fields, e.g. "0 0 9 * * * *" (09:00:00 every day)"#
                            .into(),
                    );
                    ok = false;
                } else if let Some(dow) = crate::rules::numeric_day_of_week(&c.value) {
                    let p = ctx.error(
                        file,
                        base,
                        &s.cron.referenced,
                        format!("day-of-week `{dow}` is numeric: in this cron 1 = Sunday, so 1-5 is Sunday to Thursday"),
                    );
                    p.help =
                        Some("write day names instead (MON-FRI), which cannot be misread".into());
                    p.severity = miette::Severity::Warning;
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
                let Some(hook) = webhook(ctx, file, base, w) else {
                    ok = false;
                    continue;
                };
                if urls
                    .insert(crate::rules::url_key(&hook.url.value), &w.url.referenced)
                    .is_some()
                {
                    ctx.error(
                        file,
                        base,
                        &w.url.referenced,
                        "the same webhook URL appears twice on this agent",
                    )
                    .help = Some("merge the two entries' events into one".into());
                    ok = false;
                }
                out.push(hook);
            }
            Some(out)
        }
    };
    let (off, _) = ctx.loaded.span(file, base, &a.id.referenced);
    let (line, _) = ctx.loaded.files[file].line_col(off);
    ok.then(|| AgentSpec {
        id: a.id.value.clone(),
        workspace: a.workspace.value.clone(),
        subagent: a.subagent,
        derived_from: a.derived_from.as_ref().map(|s| s.value.clone()),
        instructions,
        schedule,
        webhooks,
        source: format!("{}:{line}", ctx.loaded.files[file].name),
    })
}

fn webhook(ctx: &mut Ctx, file: usize, base: usize, w: &RawWebhook) -> Option<WebhookSpec> {
    let url = ctx.text(file, base, &w.url);
    let mut ok = url.is_some();
    if let Some(Err(e)) = url.as_ref().map(|u| check_url(&u.value)) {
        ctx.error(file, base, &w.url.referenced, e);
        ok = false;
    }
    if w.events.value.is_empty() {
        ctx.error(
            file,
            base,
            &w.events.referenced,
            "a webhook needs at least one event",
        )
        .help = Some(format!("events are {}", EVENTS.join(", ")));
        ok = false;
    }
    let mut events = BTreeSet::new();
    for e in &w.events.value {
        if !EVENTS.contains(&e.value.as_str()) {
            let p = ctx.error(
                file,
                base,
                &e.referenced,
                format!("unknown event `{}`", e.value),
            );
            p.help = Some(match super::diagnostic::did_you_mean(&e.value, &EVENTS) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("events are {}", EVENTS.join(", ")),
            });
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

fn instructions(
    ctx: &mut Ctx,
    d: &Doc<AgentDoc>,
    spec: &Spanned<InstructionsSpec>,
) -> Option<Text> {
    let (file, base) = (d.file, d.base);
    match &spec.value {
        InstructionsSpec::Inline(s) => {
            let spanned = Spanned::new(s.clone(), spec.referenced, spec.defined);
            let t = ctx.text(file, base, &spanned)?;
            Some(normalize(t))
        }
        InstructionsSpec::File(f) => {
            let manifest_dir = ctx.loaded.paths[file].parent().unwrap_or(Path::new("."));
            let path = manifest_dir.join(&f.file);
            let resolved = match std::fs::canonicalize(&path) {
                Ok(p) => p,
                Err(e) => {
                    ctx.error(
                        file,
                        base,
                        &spec.referenced,
                        format!("instruction file `{}` cannot be read: {e}", f.file),
                    );
                    return None;
                }
            };
            if !resolved.starts_with(&ctx.loaded.root) {
                ctx.error(
                    file,
                    base,
                    &spec.referenced,
                    format!("instruction file `{}` is outside the manifest root", f.file),
                )
                .help = Some(format!(
                    "instruction files must resolve (symlinks included) inside {}",
                    ctx.loaded.root.display()
                ));
                return None;
            }
            let mut file_problems = Vec::new();
            let text = read_text(&resolved, Content::Text, &mut file_problems);
            ctx.problems.extend(file_problems);
            // A byte-order mark is an encoding artefact of some editors, not text.
            let text = text?;
            Some(normalize(Text::plain(
                text.strip_prefix('\u{feff}').unwrap_or(&text),
            )))
        }
    }
}

/// CRLF becomes LF: what is sent is the text as written otherwise.
fn normalize(mut t: Text) -> Text {
    if t.value.contains('\r') {
        t.value = t.value.replace("\r\n", "\n");
        t.shown = t.shown.replace("\r\n", "\n");
    }
    t
}

fn check_agent_references(ctx: &mut Ctx) {
    let loaded = ctx.loaded;
    let mut seen: HashMap<&str, &Doc<AgentDoc>> = HashMap::new();
    let workspaces: BTreeSet<&str> = loaded
        .workspaces
        .iter()
        .map(|w| w.doc.name.value.as_str())
        .collect();
    let agents: BTreeSet<&str> = loaded
        .agents
        .iter()
        .map(|a| a.doc.id.value.as_str())
        .collect();
    for d in &loaded.agents {
        let a = &d.doc;
        if let Some(first) = seen.get(a.id.value.as_str()) {
            let where_first = location_of(loaded, first.file, first.base, &first.doc.id.referenced);
            ctx.error(
                d.file,
                d.base,
                &a.id.referenced,
                format!("agent `{}` is declared twice", a.id.value),
            )
            .help = Some(format!("first declared at {where_first}"));
        } else {
            seen.insert(&a.id.value, d);
        }
        if !workspaces.contains(a.workspace.value.as_str()) {
            let p = ctx.error(
                d.file,
                d.base,
                &a.workspace.referenced,
                format!(
                    "workspace `{}` is not declared in any manifest",
                    a.workspace.value
                ),
            );
            p.help = Some("fine if it exists live; plan fails if it does not".into());
            p.severity = miette::Severity::Warning;
        }
        if let Some(parent) = &a.derived_from {
            if !agents.contains(parent.value.as_str()) {
                let p = ctx.error(
                    d.file,
                    d.base,
                    &parent.referenced,
                    format!(
                        "derived_from names agent `{}`, which no manifest declares",
                        parent.value
                    ),
                );
                p.severity = miette::Severity::Warning;
            }
        }
    }
}

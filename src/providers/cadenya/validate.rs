//! Cadenya's rules for its documents, producing the [`Desired`] model.
//! Every document is read by its table (`tables.rs`): types, ranges,
//! removed keys and unknown fields at any depth are reported there. What
//! is checked here is what a table cannot say: references (`tool_set:`,
//! `tool:`, `agent:`, memory layers, a schedule's variation) against what
//! the manifests declare (one that is not declared may exist live: a
//! warning; the plan decides), ids Cadenya takes, model references, crons,
//! adapters and the write-only values.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_saphyr::{Location, Spanned};

use super::cron;
use super::model::*;
use super::tables;
use crate::engine::manifest::diagnostic::did_you_mean;
use crate::engine::manifest::{Document, LoadContext, Text};
use crate::engine::resource::{self, parse_duration, Table, Values};

/// At most this many memory layers in a variation's stack.
pub const MAX_LAYERS: usize = 10;

/// What the documents declare, for checking references.
#[derive(Default)]
struct Declared {
    workspaces: Vec<String>,
    /// (workspace, id).
    agents: HashSet<(String, String)>,
    tool_sets: HashMap<(String, String), Option<HashSet<String>>>,
    layers: HashSet<(String, String)>,
}

/// A document read by its table.
struct Read<'d> {
    doc: &'d Document,
    values: Values,
}

impl Read<'_> {
    fn id(&self) -> String {
        self.values.str("id").unwrap_or_default().to_string()
    }

    fn workspace(&self) -> String {
        self.values.str("workspace").unwrap_or_default().to_string()
    }

    fn at(&self, key: &str) -> Location {
        self.values.get(key).map_or(Location::UNKNOWN, |g| g.at)
    }

    fn spanned(&self, key: &str) -> Spanned<String> {
        let at = self.at(key);
        Spanned::new(self.values.str(key).unwrap_or_default().to_string(), at, at)
    }
}

fn read_all<'d>(
    ctx: &mut LoadContext,
    docs: &'d [Document],
    kind: &str,
    table: &'static Table,
) -> Vec<Read<'d>> {
    docs.iter()
        .filter(|d| d.kind.value == kind)
        .filter_map(|d| {
            let values = resource::read(ctx, d, &d.node.clone(), table, Vec::new())?;
            Some(Read { doc: d, values })
        })
        .collect()
}

/// Parse and check every Cadenya document.
pub fn load(docs: &[Document], ctx: &mut LoadContext) -> Desired {
    let workspaces = read_all(ctx, docs, "CadenyaWorkspace", &tables::WORKSPACE);
    let agents = read_all(ctx, docs, "CadenyaAgent", &tables::AGENT);
    let tool_sets = read_all(ctx, docs, "CadenyaToolSet", &tables::TOOL_SET);
    let layers = read_all(ctx, docs, "CadenyaMemoryLayer", &tables::LAYER);
    let secrets = read_all(ctx, docs, "CadenyaSecret", &tables::SECRET);
    let mut declared = Declared {
        workspaces: workspaces.iter().map(Read::id).collect(),
        ..Declared::default()
    };
    for a in &agents {
        declared.agents.insert((a.workspace(), a.id()));
    }
    for t in &tool_sets {
        let tools = t
            .values
            .children("tools")
            .map(|c| c.iter().map(|(id, _)| id.value.clone()).collect());
        declared.tool_sets.insert((t.workspace(), t.id()), tools);
    }
    for l in &layers {
        declared.layers.insert((l.workspace(), l.id()));
    }
    let mut desired = Desired::default();
    for (kind, list, what) in [
        ("CadenyaWorkspace", &workspaces, "workspace"),
        ("CadenyaAgent", &agents, "agent"),
        ("CadenyaToolSet", &tool_sets, "tool set"),
        ("CadenyaMemoryLayer", &layers, "memory layer"),
        ("CadenyaSecret", &secrets, "secret"),
    ] {
        unique(ctx, docs, kind, list, what);
    }
    desired.workspaces = workspaces
        .iter()
        .filter_map(|w| workspace(ctx, w))
        .collect();
    desired.agents = agents
        .iter()
        .filter_map(|a| agent(ctx, a, &declared))
        .collect();
    desired.tool_sets = tool_sets
        .iter()
        .filter_map(|t| tool_set(ctx, t, &declared))
        .collect();
    desired.layers = layers
        .iter()
        .filter_map(|l| layer(ctx, l, &declared))
        .collect();
    desired.secrets = secrets
        .iter()
        .filter_map(|s| secret(ctx, s, &declared))
        .collect();
    desired
}

/// Report an id declared twice in one workspace: over every document of
/// the kind, read or not (a document with a missing prompt file still
/// declares its id, and both problems are reported in one pass).
fn unique(ctx: &mut LoadContext, docs: &[Document], kind: &str, reads: &[Read], what: &str) {
    let mut seen: HashMap<(String, String), String> = HashMap::new();
    for d in docs.iter().filter(|d| d.kind.value == kind) {
        let (workspace, id, at) = match reads.iter().find(|r| std::ptr::eq(r.doc, d)) {
            Some(r) => (r.workspace(), r.id(), r.at("id")),
            None => {
                let Some(id) = d.top_str("id") else {
                    continue;
                };
                let workspace = d.top_str("workspace").map(|w| w.value);
                (workspace.unwrap_or_default(), id.value, id.referenced)
            }
        };
        let here = ctx.location(d, &at);
        if let Some(first) = seen.get(&(workspace.clone(), id.clone())) {
            ctx.error(d, &at, format!("{what} `{id}` is declared twice"))
                .set_help(format!("first declared at {first}"));
        } else {
            seen.insert((workspace, id), here);
        }
    }
}

/// Whether `v` is an id as Cadenya takes it in `external_id:<x>` paths
/// (and so one a manifest can hold).
pub fn valid_id(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 128
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// An id as Cadenya takes it in `external_id:<x>` paths.
fn check_id(ctx: &mut LoadContext, d: &Document, id: &str, at: &Location, what: &str) -> bool {
    let ok = valid_id(id);
    if !ok {
        ctx.error(d, at, format!("{what} id `{id}` is not one Cadenya takes"))
            .set_help("letters, digits, `-`, `_` and `.`, at most 128");
    }
    ok
}

/// Whether `v` is a label value (TS `ResourceMetadata.labels`: 0-63
/// alphanumerics with `-`, `_`, `.` between).
pub fn label_value(v: &str) -> bool {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    !v.is_empty()
        && v.len() <= 63
        && v.chars().all(ok_char)
        && v.starts_with(|c: char| c.is_ascii_alphanumeric())
        && v.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// The workspace a document names must be declared.
fn known_workspace(ctx: &mut LoadContext, r: &Read, declared: &Declared) -> bool {
    let ws = r.workspace();
    if declared.workspaces.contains(&ws) {
        return true;
    }
    let names: Vec<&str> = declared.workspaces.iter().map(String::as_str).collect();
    let help = match did_you_mean(&ws, &names) {
        Some(s) => format!("did you mean `{s}`?"),
        None => "declare it with `kind: CadenyaWorkspace`".into(),
    };
    ctx.error(
        r.doc,
        &r.at("workspace"),
        format!("workspace `{ws}` is not declared"),
    )
    .set_help(help);
    false
}

fn workspace(ctx: &mut LoadContext, r: &Read) -> Option<WorkspaceSpec> {
    let d = r.doc;
    let v = &r.values;
    let mut ok = check_id(ctx, d, &r.id(), &r.at("id"), "workspace");
    let owner = v.str("owner").map(str::to_string);
    if let Some(o) = &owner {
        if !label_value(o) {
            ctx.error(d, &r.at("owner"), format!("owner `{o}` is not a label value"))
                .set_help("1 to 63 letters, digits, `-`, `_` or `.`, starting and ending with a letter or digit");
            ok = false;
        }
    }
    let prune = v.bool("prune") == Some(true);
    if prune && owner.is_none() {
        ctx.document_error(d, "`prune: true` needs an `owner`")
            .set_help("prune deletes only what carries the owner's mark; without one it would have nothing to go by");
        ok = false;
    }
    let models = v.json("models").and_then(|m| m.as_array()).map(|list| {
        let mut seen: Vec<String> = Vec::new();
        let at = r.at("models");
        for m in list.iter().filter_map(|m| m.as_str()) {
            if !m.contains('/') {
                ctx.error(d, &at, format!("model `{m}` is not `provider/family`"))
                    .set_help(
                        "as the workspace's models list them, e.g. `anthropic/claude-sonnet-4.6`",
                    );
                ok = false;
            }
            if seen.iter().any(|s| s == m) {
                ctx.error(d, &at, format!("model `{m}` is listed twice"));
                ok = false;
            }
            seen.push(m.to_string());
        }
        seen
    });
    ok.then(|| WorkspaceSpec {
        id: r.id(),
        values: v.clone(),
        owner,
        prune,
        models,
        origin: ctx.origin(d),
    })
}

/// A variation's model reference as the API takes it: `<AI provider key
/// externalId>.<model externalId>` or a canonical `model_…` id (SDK
/// `types.py:758 ModelConfig.modelId`; the loader's `modelReferenceKey`).
pub fn check_model(m: &str) -> Result<(), (String, String)> {
    if m.starts_with("model_") && m.len() > 6 {
        return Ok(());
    }
    let key = m.split_once('.').filter(|(k, rest)| {
        !k.is_empty() && !rest.is_empty() && !k.contains([':', '/']) && !rest.contains(['.', '/'])
    });
    if key.is_some() {
        return Ok(());
    }
    if let Some((provider, family)) = m.split_once('/') {
        let suggestion = format!("{provider}-{family}").replace(['.', '/', ' '], "-");
        return Err((
            format!("model `{m}` is in the older `family/model` form, which Cadenya no longer takes"),
            format!("write `<AI provider key>.<model>`, as the workspace's models are named: every account has the key `getting-started-key`, so probably `getting-started-key.{suggestion}`"),
        ));
    }
    Err((
        format!("model `{m}` is not a model reference"),
        "write `<AI provider key>.<model>` (e.g. `getting-started-key.openai-gpt-4-1`) or a `model_…` id".into(),
    ))
}

fn agent(ctx: &mut LoadContext, r: &Read, declared: &Declared) -> Option<AgentSpec> {
    let d = r.doc;
    let v = &r.values;
    let ws = r.workspace();
    let mut ok =
        known_workspace(ctx, r, declared) & check_id(ctx, d, &r.id(), &r.at("id"), "agent");
    let status = v.str("status").map(|s| {
        if s == "published" {
            Status::Published
        } else {
            Status::Draft
        }
    });
    if let Some(u) = v.text("webhook_url") {
        let parsed = url::Url::parse(u.expose());
        if !matches!(parsed.as_ref().map(|u| u.scheme()), Ok("https" | "http")) {
            ctx.error(
                d,
                &r.at("webhook_url"),
                format!("webhook_url `{}` is not an http(s) URL", u.shown()),
            );
            ok = false;
        }
    }
    let variations = v.children("variations").map(|list| {
        if list.is_empty() && status == Some(Status::Published) {
            ctx.error(
                d,
                &r.at("status"),
                "a published agent needs at least one variation",
            )
            .set_help("add a variation, or make the agent a draft");
            ok = false;
        }
        let mut out = Vec::new();
        for (id, values) in list {
            match variation(ctx, d, &ws, &r.id(), id, values, declared) {
                Some(v) => out.push(v),
                None => ok = false,
            }
        }
        out
    });
    let variation_ids: Option<Vec<&str>> = v
        .children("variations")
        .map(|l| l.iter().map(|(id, _)| id.value.as_str()).collect());
    let schedules = v.children("schedules").map(|list| {
        let mut out = Vec::new();
        for (id, values) in list {
            match schedule(ctx, d, id, values, variation_ids.as_deref()) {
                Some(s) => out.push(s),
                None => ok = false,
            }
        }
        out
    });
    let source = ctx.source(d, &r.at("id"));
    ok.then(|| AgentSpec {
        workspace: ws,
        id: r.id(),
        values: v.clone(),
        status,
        variations,
        schedules,
        source,
        origin: ctx.origin(d),
    })
}

/// The model knobs a variation's `modelConfig` holds: each needs `model`
/// (`modelConfig.modelId` is required whenever `modelConfig` is sent).
const MODEL_KNOBS: &[&str] = &[
    "temperature",
    "top_p",
    "top_k",
    "max_output_tokens",
    "stop_sequences",
    "reasoning_effort",
    "caching",
];

fn variation(
    ctx: &mut LoadContext,
    d: &Document,
    ws: &str,
    agent_id: &str,
    id: &Spanned<String>,
    v: &Values,
    declared: &Declared,
) -> Option<VariationSpec> {
    let mut ok = check_id(ctx, d, &id.value, &id.referenced, "variation");
    let at = |key: &str| v.get(key).map_or(id.referenced, |g| g.at);
    match v.str("model") {
        // `${…}` here is the loader's to report (not interpolated in this field).
        Some(m) if m.contains("${") => {}
        Some(m) => {
            if let Err((msg, help)) = check_model(m) {
                ctx.error(d, &at("model"), msg).set_help(help);
                ok = false;
            }
        }
        None => {
            if let Some(knob) = MODEL_KNOBS.iter().find(|k| v.json(k).is_some()) {
                ctx.error(
                    d,
                    &at(knob),
                    format!("variation `{}` sets `{knob}` but no `model`", id.value),
                )
                .set_help("Cadenya's model settings need the model they apply to: add `model`");
                ok = false;
            }
        }
    }
    if let Some(c) = v.group("constraints") {
        if let Some(t) = c.str("inactivity_timeout") {
            let secs = parse_duration(t).unwrap_or(0);
            if !(60..=86_400).contains(&secs) {
                let at = c.get("inactivity_timeout").map_or(id.referenced, |g| g.at);
                ctx.error(
                    d,
                    &at,
                    format!("inactivity_timeout `{t}` is outside 1m to 24h (Cadenya's range)"),
                );
                ok = false;
            }
        }
    }
    let tools = v.json("tools").and_then(|t| t.as_array()).map(|list| {
        let at = at("tools");
        let mut out: Vec<ToolRef> = Vec::new();
        for t in list.iter().filter_map(|t| t.as_str()) {
            let Some(r) = ToolRef::parse(t) else {
                ctx.error(d, &at, format!("`{t}` is not a tool reference"))
                    .set_help("write `tool_set:<id>`, `tool:<tool-set>/<tool>` or `agent:<id>`");
                ok = false;
                continue;
            };
            if out.contains(&r) {
                ctx.error(d, &at, format!("`{t}` is listed twice"));
                ok = false;
                continue;
            }
            if let ToolRef::Agent(a) = &r {
                if *a == agent_id {
                    ctx.error(
                        d,
                        &at,
                        format!("`{t}`: an agent cannot be its own sub-agent"),
                    );
                    ok = false;
                    continue;
                }
            }
            let key = |x: &str| (ws.to_string(), x.to_string());
            let missing = match &r {
                ToolRef::ToolSet(s) => {
                    (!declared.tool_sets.contains_key(&key(s))).then(|| format!("tool set `{s}`"))
                }
                ToolRef::Agent(a) => {
                    (!declared.agents.contains(&key(a))).then(|| format!("agent `{a}`"))
                }
                ToolRef::Tool(s, tool) => match declared.tool_sets.get(&key(s)) {
                    None => Some(format!("tool set `{s}`")),
                    Some(Some(tools)) if !tools.contains(tool) => {
                        ctx.error(d, &at, format!("tool set `{s}` declares no tool `{tool}`"));
                        ok = false;
                        None
                    }
                    Some(_) => None,
                },
            };
            if let Some(what) = missing {
                ctx.warning(
                    d,
                    &at,
                    format!("{what} is not declared in workspace `{ws}`"),
                )
                .set_help("fine if it exists live; plan fails if it does not");
            }
            out.push(r);
        }
        out
    });
    let memory = v.json("memory").and_then(|m| m.as_array()).map(|list| {
        let at = at("memory");
        if list.len() > MAX_LAYERS {
            ctx.error(
                d,
                &at,
                format!(
                    "{} memory layers: a variation stacks at most {MAX_LAYERS}",
                    list.len()
                ),
            );
            ok = false;
        }
        let mut out: Vec<String> = Vec::new();
        for m in list.iter().filter_map(|m| m.as_str()) {
            if out.iter().any(|x| x == m) {
                ctx.error(d, &at, format!("memory layer `{m}` is listed twice"));
                ok = false;
                continue;
            }
            if !declared.layers.contains(&(ws.to_string(), m.to_string())) {
                ctx.warning(
                    d,
                    &at,
                    format!("memory layer `{m}` is not declared in workspace `{ws}`"),
                )
                .set_help("fine if it exists live; plan fails if it does not");
            }
            out.push(m.to_string());
        }
        out
    });
    ok.then(|| VariationSpec {
        id: id.value.clone(),
        values: v.clone(),
        tools,
        memory,
    })
}

fn schedule(
    ctx: &mut LoadContext,
    d: &Document,
    id: &Spanned<String>,
    v: &Values,
    variations: Option<&[&str]>,
) -> Option<ScheduleSpec> {
    let at = |key: &str| v.get(key).map_or(id.referenced, |g| g.at);
    let mut ok = check_id(ctx, d, &id.value, &id.referenced, "schedule");
    let name = &id.value;
    let rule = match (v.str("cron"), v.str("every")) {
        (Some(c), None) => match cron::calendar(c) {
            Ok(cal) => Some(Rule::Cron {
                text: c.to_string(),
                calendars: vec![cal],
            }),
            Err(e) => {
                ctx.error(d, &at("cron"), e);
                None
            }
        },
        (None, Some(e)) => match cron::every(e) {
            Ok(seconds) => Some(Rule::Every {
                text: e.to_string(),
                seconds,
            }),
            Err(why) => {
                ctx.error(d, &at("every"), why);
                None
            }
        },
        (Some(_), Some(_)) => {
            ctx.error(
                d,
                &at("cron"),
                format!("schedule `{name}` has both `cron` and `every`; keep one"),
            );
            None
        }
        (None, None) => {
            ctx.error(
                d,
                &id.referenced,
                format!("schedule `{name}` needs `cron` or `every`"),
            );
            None
        }
    };
    ok &= rule.is_some();
    let timezone = match v.str("timezone") {
        Some(tz) => {
            if tz.parse::<chrono_tz::Tz>().is_err() {
                ctx.error(
                    d,
                    &at("timezone"),
                    format!("`{tz}` is not an IANA time zone"),
                )
                .set_help("like `Europe/Paris` or `UTC`");
                ok = false;
            }
            tz.to_string()
        }
        None => "UTC".into(),
    };
    let variation = v.str("variation").map(str::to_string);
    if let (Some(var), Some(ids)) = (&variation, variations) {
        if !ids.contains(&var.as_str()) {
            ctx.error(
                d,
                &at("variation"),
                format!(
                    "schedule `{name}` runs variation `{var}`, which this agent does not declare"
                ),
            );
            ok = false;
        }
    }
    if !ok {
        return None;
    }
    Some(ScheduleSpec {
        id: id.value.clone(),
        values: v.clone(),
        rule: rule?,
        timezone,
        variation,
    })
}

/// A text map's values, each made secret (a header may be a credential
/// whatever it was written as: the plan masks live headers it does not
/// declare, and every interpolated one).
fn headers(v: &Values) -> Headers {
    v.texts("headers").cloned()
}

fn adapter(ctx: &mut LoadContext, r: &Read) -> Option<Option<Adapter>> {
    let Some(a) = r.values.group("adapter") else {
        return Some(None);
    };
    let set: Vec<&str> = ["http", "mcp", "openapi", "bare"]
        .into_iter()
        .filter(|k| a.group(k).is_some())
        .collect();
    let [kind] = set.as_slice() else {
        ctx.error(
            r.doc,
            &r.at("id"),
            "a tool set's adapter is exactly one of `http`, `mcp`, `openapi` or `bare`",
        );
        return None;
    };
    let inner = a.group(kind)?;
    let text = |k: &str| inner.text(k).cloned();
    Some(Some(match *kind {
        "http" => Adapter::Http {
            base_url: text("base_url")?,
            headers: headers(inner),
        },
        "mcp" => Adapter::Mcp {
            url: text("url")?,
            headers: headers(inner),
        },
        "openapi" => Adapter::OpenApi {
            url: text("url")?,
            base_url: text("base_url"),
            headers: headers(inner),
        },
        _ => Adapter::Bare {
            content_timeout: inner.json("content_timeout").and_then(|v| v.as_i64()),
        },
    }))
}

/// A tool-set secret's name, as `{{ secrets.NAME }}` references it.
fn secret_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 128
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn tool_set(ctx: &mut LoadContext, r: &Read, declared: &Declared) -> Option<ToolSetSpec> {
    let d = r.doc;
    let v = &r.values;
    let mut ok =
        known_workspace(ctx, r, declared) & check_id(ctx, d, &r.id(), &r.at("id"), "tool set");
    let adapter = adapter(ctx, r);
    ok &= adapter.is_some();
    let adapter = adapter.flatten();
    let secrets = v.texts("secrets").map(|m| {
        let mut out = BTreeMap::new();
        for (name, value) in m {
            if !secret_name(name) {
                ctx.error(
                    d,
                    &r.at("secrets"),
                    format!("secret name `{name}` is not one Cadenya takes"),
                )
                .set_help("letters, digits, `-`, `_` and `.`");
                ok = false;
            }
            if !value.is_sensitive() {
                ctx.warning(
                    d,
                    &r.at("secrets"),
                    format!("secret `{name}` is written in the manifest, which is in git"),
                )
                .set_help("write `${VAR}` and set VAR where twinform runs");
            }
            // Whatever it was written as, a secret's value is never shown.
            let secret = Text::secret(value.expose());
            ctx.add_secrets(&secret);
            out.insert(name.clone(), secret);
        }
        out
    });
    let tools = v.children("tools").map(|list| {
        if let Some(a @ (Adapter::Mcp { .. } | Adapter::OpenApi { .. })) = &adapter {
            if !list.is_empty() {
                ctx.error(
                    d,
                    &r.at("tools"),
                    format!("a tool set with an `{}` adapter syncs its own tools: declare tools only under `http` or `bare`", a.tag()),
                );
                ok = false;
            }
        }
        let mut out = Vec::new();
        for (id, values) in list {
            ok &= check_id(ctx, d, &id.value, &id.referenced, "tool");
            let http = matches!(adapter, Some(Adapter::Http { .. }));
            if values.group("http").is_some() && matches!(adapter, Some(Adapter::Bare { .. })) {
                ctx.error(
                    d,
                    &id.referenced,
                    format!("tool `{}`: a `bare` tool set's tools make no call: remove `http`", id.value),
                );
                ok = false;
            }
            if let Some(p) = values.json("parameters") {
                if !p.is_object() {
                    ctx.error(d, &id.referenced, format!("tool `{}`: `parameters` must be a JSON Schema object", id.value));
                    ok = false;
                }
            }
            let _ = http;
            out.push(ToolSpec {
                id: id.value.clone(),
                values: values.clone(),
            });
        }
        out
    });
    ok.then(|| ToolSetSpec {
        workspace: r.workspace(),
        id: r.id(),
        values: v.clone(),
        adapter,
        secrets,
        tools,
        origin: ctx.origin(d),
    })
}

/// Cadenya's rules for a memory entry key (TS `MemoryEntrySpec.key`).
pub fn check_key(key: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "!-_.*'()/".contains(c);
    if key.is_empty() || !key.chars().all(allowed) {
        return Err(format!(
            "entry key `{key}`: ASCII letters, digits and ! - _ . * ' ( ) / only"
        ));
    }
    if key.starts_with('/') || key.ends_with('/') || key.contains("//") {
        return Err(format!(
            "entry key `{key}`: no leading, trailing or double slash"
        ));
    }
    if key.starts_with("cadenya/") || key.starts_with("system/") {
        return Err(format!(
            "entry key `{key}`: `cadenya/` and `system/` are reserved"
        ));
    }
    Ok(())
}

fn layer(ctx: &mut LoadContext, r: &Read, declared: &Declared) -> Option<LayerSpec> {
    let d = r.doc;
    let v = &r.values;
    let mut ok =
        known_workspace(ctx, r, declared) & check_id(ctx, d, &r.id(), &r.at("id"), "memory layer");
    if v.str("type") == Some("episodic") {
        ctx.error(
            d,
            &r.at("type"),
            "episodic memory layers are created by Cadenya's runtime, not declared",
        )
        .set_help("turn on the agent's `episodic_memory`; declare `type: skills` layers here");
        ok = false;
    }
    let entries = v.children("entries").map(|list| {
        let mut out = Vec::new();
        let mut keys = HashSet::new();
        for (id, values) in list {
            ok &= check_id(ctx, d, &id.value, &id.referenced, "memory entry");
            let key = values.str("key").unwrap_or(&id.value).to_string();
            let at = values.get("key").map_or(id.referenced, |g| g.at);
            if let Err(why) = check_key(&key) {
                ctx.error(d, &at, why);
                ok = false;
            }
            if !keys.insert(key.clone()) {
                ctx.error(
                    d,
                    &at,
                    format!("entry key `{key}` is used twice in this layer"),
                );
                ok = false;
            }
            out.push(EntrySpec {
                id: id.value.clone(),
                key,
                values: values.clone(),
            });
        }
        out
    });
    ok.then(|| LayerSpec {
        workspace: r.workspace(),
        id: r.id(),
        values: v.clone(),
        entries,
        origin: ctx.origin(d),
    })
}

fn secret(ctx: &mut LoadContext, r: &Read, declared: &Declared) -> Option<SecretSpec> {
    let d = r.doc;
    let mut ok =
        known_workspace(ctx, r, declared) & check_id(ctx, d, &r.id(), &r.at("id"), "secret");
    let value = r.values.text("value").cloned();
    if let Some(v) = &value {
        if !v.is_sensitive() {
            ctx.warning(
                d,
                &r.at("value"),
                "a secret written in a manifest is in git",
            )
            .set_help("write `value: ${VAR}` and set VAR where twinform runs");
        }
    }
    ok &= value.is_some();
    let value = value?;
    // Whatever it was written as, a secret's value is never shown.
    let value = Text::secret(value.expose());
    ctx.add_secrets(&value);
    let _ = r.spanned("name");
    ok.then(|| SecretSpec {
        workspace: r.workspace(),
        id: r.id(),
        name: display_name(&r.values, "name", &r.id()),
        values: r.values.clone(),
        value,
        origin: ctx.origin(d),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_references_are_the_current_form_and_the_old_one_says_what_to_write() {
        assert!(check_model("getting-started-key.openai-gpt-4-1").is_ok());
        assert!(check_model("model_01ABC").is_ok());
        let (msg, help) = check_model("anthropic/claude-sonnet-4.6").unwrap_err();
        assert!(msg.contains("older `family/model` form"), "{msg}");
        assert!(
            help.contains("getting-started-key.anthropic-claude-sonnet-4-6"),
            "{help}"
        );
        assert!(check_model("openai.gpt-4.1").is_err(), "one dot only");
        assert!(check_model("gpt-5").is_err());
    }

    #[test]
    fn owners_are_label_values() {
        assert!(label_value("support-tools"));
        assert!(!label_value("-x"));
        assert!(!label_value(&"a".repeat(64)));
        assert!(!label_value("a b"));
    }
}

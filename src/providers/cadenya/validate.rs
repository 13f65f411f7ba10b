//! Cadenya's rules for its documents, producing the [`Desired`] model.
//! References (`tool_set:`, `tool:`, `agent:`, memory layers, a schedule's
//! variation) are checked here against what the manifests declare; one that
//! is not declared may exist live (a warning; the plan decides).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_saphyr::Spanned;

use super::cron;
use super::manifest::{
    AdapterDoc, AgentDoc, Headers, MemoryLayerDoc, ScheduleDoc, SecretDoc, ToolSetDoc,
    VariationDoc, WorkspaceDoc,
};
use super::model::*;
use crate::engine::manifest::diagnostic::did_you_mean;
use crate::engine::manifest::{Document, LoadContext, Text};

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

/// Parse and check every Cadenya document.
pub fn load(docs: &[Document], ctx: &mut LoadContext) -> Desired {
    let mut workspaces: Vec<(&Document, WorkspaceDoc)> = Vec::new();
    let mut agents: Vec<(&Document, AgentDoc)> = Vec::new();
    let mut tool_sets: Vec<(&Document, ToolSetDoc)> = Vec::new();
    let mut layers: Vec<(&Document, MemoryLayerDoc)> = Vec::new();
    let mut secrets: Vec<(&Document, SecretDoc)> = Vec::new();
    for d in docs {
        match d.kind.value.as_str() {
            "CadenyaWorkspace" => workspaces.extend(ctx.parse(d).map(|x| (d, x))),
            "CadenyaAgent" => agents.extend(ctx.parse(d).map(|x| (d, x))),
            "CadenyaToolSet" => tool_sets.extend(ctx.parse(d).map(|x| (d, x))),
            "CadenyaMemoryLayer" => layers.extend(ctx.parse(d).map(|x| (d, x))),
            _ => secrets.extend(ctx.parse(d).map(|x| (d, x))),
        }
    }
    let mut declared = Declared {
        workspaces: workspaces.iter().map(|(_, w)| w.id.value.clone()).collect(),
        ..Declared::default()
    };
    for (_, a) in &agents {
        declared
            .agents
            .insert((a.workspace.value.clone(), a.id.value.clone()));
    }
    for (_, t) in &tool_sets {
        let tools = t.tools.as_ref().map(|m| m.value.keys().cloned().collect());
        declared
            .tool_sets
            .insert((t.workspace.value.clone(), t.id.value.clone()), tools);
    }
    for (_, l) in &layers {
        declared
            .layers
            .insert((l.workspace.value.clone(), l.id.value.clone()));
    }
    let mut desired = Desired::default();
    unique(
        ctx,
        workspaces.iter().map(|(d, w)| (*d, String::new(), &w.id)),
        "workspace",
    );
    desired.workspaces = workspaces
        .iter()
        .filter_map(|(d, w)| workspace(ctx, d, w))
        .collect();
    unique(
        ctx,
        agents
            .iter()
            .map(|(d, a)| (*d, a.workspace.value.clone(), &a.id)),
        "agent",
    );
    desired.agents = agents
        .iter()
        .filter_map(|(d, a)| agent(ctx, d, a, &declared))
        .collect();
    unique(
        ctx,
        tool_sets
            .iter()
            .map(|(d, t)| (*d, t.workspace.value.clone(), &t.id)),
        "tool set",
    );
    desired.tool_sets = tool_sets
        .iter()
        .filter_map(|(d, t)| tool_set(ctx, d, t, &declared))
        .collect();
    unique(
        ctx,
        layers
            .iter()
            .map(|(d, l)| (*d, l.workspace.value.clone(), &l.id)),
        "memory layer",
    );
    desired.layers = layers
        .iter()
        .filter_map(|(d, l)| layer(ctx, d, l, &declared))
        .collect();
    unique(
        ctx,
        secrets
            .iter()
            .map(|(d, s)| (*d, s.workspace.value.clone(), &s.id)),
        "secret",
    );
    desired.secrets = secrets
        .iter()
        .filter_map(|(d, s)| secret(ctx, d, s, &declared))
        .collect();
    desired
}

/// Report an id declared twice in one workspace.
fn unique<'a>(
    ctx: &mut LoadContext,
    ids: impl Iterator<Item = (&'a Document, String, &'a Spanned<String>)>,
    what: &str,
) {
    let mut seen: HashMap<(String, String), String> = HashMap::new();
    for (d, ws, id) in ids {
        let key = (ws, id.value.clone());
        let here = ctx.location(d, &id.referenced);
        if let Some(first) = seen.get(&key) {
            ctx.error(
                d,
                &id.referenced,
                format!("{what} `{}` is declared twice", id.value),
            )
            .set_help(format!("first declared at {first}"));
        } else {
            seen.insert(key, here);
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
fn check_id(ctx: &mut LoadContext, d: &Document, id: &Spanned<String>, what: &str) -> bool {
    let v = &id.value;
    let ok = valid_id(v);
    if !ok {
        ctx.error(
            d,
            &id.referenced,
            format!("{what} id `{v}` is not one Cadenya takes"),
        )
        .set_help("letters, digits, `-`, `_` and `.`, at most 128");
    }
    ok
}

fn one_of(
    ctx: &mut LoadContext,
    d: &Document,
    v: &Spanned<String>,
    allowed: &[&str],
    what: &str,
) -> bool {
    if allowed.contains(&v.value.as_str()) {
        return true;
    }
    let help = match did_you_mean(&v.value, allowed) {
        Some(s) => format!("did you mean `{s}`?"),
        None => format!("{what} is one of {}", allowed.join(", ")),
    };
    ctx.error(d, &v.referenced, format!("unknown {what} `{}`", v.value))
        .set_help(help);
    false
}

/// The workspace a document names must be declared.
fn known_workspace(
    ctx: &mut LoadContext,
    d: &Document,
    ws: &Spanned<String>,
    declared: &Declared,
) -> bool {
    if declared.workspaces.contains(&ws.value) {
        return true;
    }
    let names: Vec<&str> = declared.workspaces.iter().map(String::as_str).collect();
    let help = match did_you_mean(&ws.value, &names) {
        Some(s) => format!("did you mean `{s}`?"),
        None => "declare it with `kind: CadenyaWorkspace`".into(),
    };
    ctx.error(
        d,
        &ws.referenced,
        format!("workspace `{}` is not declared", ws.value),
    )
    .set_help(help);
    false
}

fn text_opt(s: &Option<Spanned<String>>) -> Option<String> {
    s.as_ref().map(|x| x.value.clone())
}

fn workspace(ctx: &mut LoadContext, d: &Document, w: &WorkspaceDoc) -> Option<WorkspaceSpec> {
    let mut ok = check_id(ctx, d, &w.id, "workspace");
    if let Some(o) = &w.owner {
        let v = &o.value;
        if v.is_empty()
            || v.len() > 63
            || !v
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            ctx.error(
                d,
                &o.referenced,
                format!("owner `{v}` is not a label value"),
            )
            .set_help("1 to 63 letters, digits, `-`, `_` or `.`");
            ok = false;
        }
    }
    if w.prune && w.owner.is_none() {
        ctx.document_error(d, "`prune: true` needs an `owner`")
            .set_help("prune deletes only what carries the owner's mark; without one it would have nothing to go by");
        ok = false;
    }
    let models = w.models.as_ref().map(|list| {
        let mut seen = Vec::new();
        for m in &list.value {
            if !m.value.contains('/') {
                ctx.error(
                    d,
                    &m.referenced,
                    format!("model `{}` is not `provider/family`", m.value),
                );
                ok = false;
            }
            if seen.contains(&m.value) {
                ctx.error(
                    d,
                    &m.referenced,
                    format!("model `{}` is listed twice", m.value),
                );
                ok = false;
            }
            seen.push(m.value.clone());
        }
        seen
    });
    ok.then(|| WorkspaceSpec {
        id: w.id.value.clone(),
        name: text_opt(&w.name),
        description: text_opt(&w.description),
        owner: text_opt(&w.owner),
        prune: w.prune,
        models,
    })
}

fn agent(
    ctx: &mut LoadContext,
    d: &Document,
    a: &AgentDoc,
    declared: &Declared,
) -> Option<AgentSpec> {
    let mut ok = known_workspace(ctx, d, &a.workspace, declared) & check_id(ctx, d, &a.id, "agent");
    let status = match &a.status {
        Some(s) if one_of(ctx, d, s, &["draft", "published"], "status") => {
            Some(if s.value == "draft" {
                Status::Draft
            } else {
                Status::Published
            })
        }
        Some(_) => {
            ok = false;
            None
        }
        None => None,
    };
    if let Some(s) = &a.selection {
        ok &= one_of(ctx, d, s, &["random", "weighted"], "selection");
    }
    let webhook_url = match &a.webhook_url {
        Some(u) => {
            let t = ctx.text(d, u);
            if let Some(t) = &t {
                let parsed = url::Url::parse(t.expose());
                if !matches!(parsed.as_ref().map(|u| u.scheme()), Ok("https" | "http")) {
                    ctx.error(
                        d,
                        &u.referenced,
                        format!("webhook_url `{}` is not an http(s) URL", t.shown()),
                    );
                    ok = false;
                }
            }
            ok &= t.is_some();
            t
        }
        None => None,
    };
    if let Some(o) = a
        .output_definition
        .as_ref()
        .filter(|o| !o.value.is_object())
    {
        ctx.error(d, &o.referenced, "`output_definition` must be a map");
        ok = false;
    }
    let ws = a.workspace.value.as_str();
    let variations = a.variations.as_ref().map(|map| {
        if map.value.is_empty() && status == Some(Status::Published) {
            ctx.error(
                d,
                &map.referenced,
                "a published agent needs at least one variation",
            )
            .set_help("add a variation, or make the agent a draft");
            ok = false;
        }
        let mut out = Vec::new();
        for (id, v) in &map.value {
            match variation(ctx, d, ws, id, v, &map.referenced, declared) {
                Some(v) => out.push(v),
                None => ok = false,
            }
        }
        out
    });
    let variation_ids: Option<Vec<&str>> = a
        .variations
        .as_ref()
        .map(|m| m.value.keys().map(String::as_str).collect());
    let schedules = a.schedules.as_ref().map(|map| {
        let mut out = Vec::new();
        for (id, s) in &map.value {
            match schedule(ctx, d, id, s, variation_ids.as_deref()) {
                Some(s) => out.push(s),
                None => ok = false,
            }
        }
        out
    });
    let source = ctx.source(d, &a.id.referenced);
    ok.then(|| AgentSpec {
        workspace: a.workspace.value.clone(),
        id: a.id.value.clone(),
        name: text_opt(&a.name),
        description: text_opt(&a.description),
        status,
        selection: text_opt(&a.selection),
        webhook_url,
        input_schema: a.input_schema.as_ref().map(|s| s.value.clone()),
        output_definition: a.output_definition.as_ref().map(|o| o.value.clone()),
        variations,
        schedules,
        source,
        origin: ctx.origin(d),
    })
}

fn variation(
    ctx: &mut LoadContext,
    d: &Document,
    ws: &str,
    id: &str,
    v: &VariationDoc,
    at: &serde_saphyr::Location,
    declared: &Declared,
) -> Option<VariationSpec> {
    let mut ok = true;
    let id_spanned = Spanned::new(id.to_string(), *at, *at);
    ok &= check_id(ctx, d, &id_spanned, "variation");
    if let Some(t) = &v.temperature {
        if !(0.0..=1.0).contains(&t.value) {
            ctx.error(
                d,
                &t.referenced,
                format!(
                    "temperature {} is outside 0 to 1 (Cadenya's range)",
                    t.value
                ),
            );
            ok = false;
        }
    }
    let prompt = match &v.prompt {
        Some(p) => {
            let t = ctx.text_source(d, &p.referenced, &p.value, "prompt file");
            ok &= t.is_some();
            t
        }
        None => None,
    };
    let tools = v.tools.as_ref().map(|list| {
        let mut out: Vec<ToolRef> = Vec::new();
        for t in &list.value {
            let Some(r) = ToolRef::parse(&t.value) else {
                ctx.error(
                    d,
                    &t.referenced,
                    format!("`{}` is not a tool reference", t.value),
                )
                .set_help("write `tool_set:<id>`, `tool:<tool-set>/<tool>` or `agent:<id>`");
                ok = false;
                continue;
            };
            if out.contains(&r) {
                ctx.error(d, &t.referenced, format!("`{}` is listed twice", t.value));
                ok = false;
                continue;
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
                        ctx.error(
                            d,
                            &t.referenced,
                            format!("tool set `{s}` declares no tool `{tool}`"),
                        );
                        ok = false;
                        None
                    }
                    Some(_) => None,
                },
            };
            if let Some(what) = missing {
                ctx.warning(
                    d,
                    &t.referenced,
                    format!("{what} is not declared in workspace `{ws}`"),
                )
                .set_help("fine if it exists live; plan fails if it does not");
            }
            out.push(r);
        }
        out
    });
    let memory = v.memory.as_ref().map(|list| {
        if list.value.len() > MAX_LAYERS {
            ctx.error(
                d,
                &list.referenced,
                format!(
                    "{} memory layers: a variation stacks at most {MAX_LAYERS}",
                    list.value.len()
                ),
            );
            ok = false;
        }
        let mut out: Vec<String> = Vec::new();
        for m in &list.value {
            if out.contains(&m.value) {
                ctx.error(
                    d,
                    &m.referenced,
                    format!("memory layer `{}` is listed twice", m.value),
                );
                ok = false;
                continue;
            }
            if !declared.layers.contains(&(ws.to_string(), m.value.clone())) {
                ctx.warning(
                    d,
                    &m.referenced,
                    format!(
                        "memory layer `{}` is not declared in workspace `{ws}`",
                        m.value
                    ),
                )
                .set_help("fine if it exists live; plan fails if it does not");
            }
            out.push(m.value.clone());
        }
        out
    });
    ok.then(|| VariationSpec {
        id: id.to_string(),
        name: text_opt(&v.name),
        description: text_opt(&v.description),
        prompt,
        model: text_opt(&v.model),
        temperature: v.temperature.as_ref().map(|t| t.value),
        weight: v.weight.as_ref().map(|w| w.value),
        tools,
        memory,
    })
}

fn schedule(
    ctx: &mut LoadContext,
    d: &Document,
    id: &str,
    s: &ScheduleDoc,
    variations: Option<&[&str]>,
) -> Option<ScheduleSpec> {
    let mut ok = true;
    let rule = match (&s.cron, &s.every) {
        (Some(c), None) => match cron::calendar(&c.value) {
            Ok(cal) => Some(Rule::Cron {
                text: c.value.clone(),
                calendars: vec![cal],
            }),
            Err(e) => {
                ctx.error(d, &c.referenced, e);
                None
            }
        },
        (None, Some(e)) => match cron::every(&e.value) {
            Ok(seconds) => Some(Rule::Every {
                text: e.value.clone(),
                seconds,
            }),
            Err(why) => {
                ctx.error(d, &e.referenced, why);
                None
            }
        },
        (Some(c), Some(_)) => {
            ctx.error(
                d,
                &c.referenced,
                format!("schedule `{id}` has both `cron` and `every`; keep one"),
            );
            None
        }
        (None, None) => {
            ctx.error(
                d,
                &s.message.referenced,
                format!("schedule `{id}` needs `cron` or `every`"),
            );
            None
        }
    };
    ok &= rule.is_some();
    let timezone = match &s.timezone {
        Some(tz) => {
            if tz.value.parse::<chrono_tz::Tz>().is_err() {
                ctx.error(
                    d,
                    &tz.referenced,
                    format!("`{}` is not an IANA time zone", tz.value),
                )
                .set_help("like `Europe/Paris` or `UTC`");
                ok = false;
            }
            tz.value.clone()
        }
        None => "UTC".into(),
    };
    if let Some(o) = &s.overlap {
        ok &= one_of(ctx, d, o, &["skip", "allow"], "overlap");
    }
    if let (Some(v), Some(ids)) = (&s.variation, variations) {
        if !ids.contains(&v.value.as_str()) {
            ctx.error(
                d,
                &v.referenced,
                format!(
                    "schedule `{id}` runs variation `{}`, which this agent does not declare",
                    v.value
                ),
            );
            ok = false;
        }
    }
    let message = ctx.text(d, &s.message);
    ok &= message.is_some();
    if !ok {
        return None;
    }
    Some(ScheduleSpec {
        id: id.to_string(),
        name: text_opt(&s.name),
        rule: rule?,
        timezone,
        message: message?,
        overlap: text_opt(&s.overlap),
        paused: s.paused,
        variation: text_opt(&s.variation),
    })
}

fn headers(
    ctx: &mut LoadContext,
    d: &Document,
    h: &Option<Headers>,
) -> Option<Option<BTreeMap<String, Text>>> {
    let Some(h) = h else {
        return Some(None);
    };
    let mut out = BTreeMap::new();
    let mut ok = true;
    for (k, v) in h {
        match ctx.text(d, v) {
            Some(t) => {
                out.insert(k.clone(), t);
            }
            None => ok = false,
        }
    }
    ok.then_some(Some(out))
}

fn adapter(
    ctx: &mut LoadContext,
    d: &Document,
    a: &AdapterDoc,
    at: &Spanned<String>,
) -> Option<Adapter> {
    let count = usize::from(a.http.is_some())
        + usize::from(a.mcp.is_some())
        + usize::from(a.openapi.is_some());
    if count != 1 {
        ctx.error(
            d,
            &at.referenced,
            "a tool set's adapter is exactly one of `http`, `mcp` or `openapi`",
        );
        return None;
    }
    // Every URL and header takes `${VAR}` (Trust II item 10); all are read
    // before any is refused, so every problem is reported at once.
    if let Some(h) = &a.http {
        let base_url = ctx.text(d, &h.base_url);
        let headers = headers(ctx, d, &h.headers);
        return Some(Adapter::Http {
            base_url: base_url?,
            headers: headers?,
        });
    }
    if let Some(m) = &a.mcp {
        let url = ctx.text(d, &m.url);
        let headers = headers(ctx, d, &m.headers);
        return Some(Adapter::Mcp {
            url: url?,
            headers: headers?,
        });
    }
    let o = a.openapi.as_ref()?;
    let url = ctx.text(d, &o.url);
    let base_url = o.base_url.as_ref().map(|b| ctx.text(d, b));
    let headers = headers(ctx, d, &o.headers);
    Some(Adapter::OpenApi {
        url: url?,
        base_url: base_url.map(|b| b.ok_or(())).transpose().ok()?,
        headers: headers?,
    })
}

fn tool_set(
    ctx: &mut LoadContext,
    d: &Document,
    t: &ToolSetDoc,
    declared: &Declared,
) -> Option<ToolSetSpec> {
    let mut ok =
        known_workspace(ctx, d, &t.workspace, declared) & check_id(ctx, d, &t.id, "tool set");
    let adapter = match &t.adapter {
        Some(a) => {
            let x = adapter(ctx, d, a, &t.id);
            ok &= x.is_some();
            x
        }
        None => None,
    };
    let tools = t.tools.as_ref().map(|map| {
        let mut out = Vec::new();
        for (id, tool) in &map.value {
            let id_spanned = Spanned::new(id.clone(), map.referenced, map.referenced);
            ok &= check_id(ctx, d, &id_spanned, "tool");
            let http = match &tool.http {
                Some(h) => {
                    ok &= one_of(
                        ctx,
                        d,
                        &h.method,
                        &["GET", "POST", "PUT", "PATCH", "DELETE"],
                        "HTTP method",
                    );
                    Some((h.method.value.clone(), text_opt(&h.path)))
                }
                None => None,
            };
            let parameters = tool
                .parameters
                .clone()
                .unwrap_or_else(|| serde_json::json!({"type": "object"}));
            if !parameters.is_object() {
                ctx.error(
                    d,
                    &tool.description.referenced,
                    format!("tool `{id}`: `parameters` must be a JSON Schema object"),
                );
                ok = false;
            }
            out.push(ToolSpec {
                id: id.clone(),
                name: text_opt(&tool.name),
                description: tool.description.value.clone(),
                parameters,
                http,
                requires_approval: tool.requires_approval,
            });
        }
        out
    });
    ok.then(|| ToolSetSpec {
        workspace: t.workspace.value.clone(),
        id: t.id.value.clone(),
        name: text_opt(&t.name),
        description: text_opt(&t.description),
        adapter,
        tools,
    })
}

/// Cadenya's rules for a memory entry key.
fn check_key(key: &str) -> Result<(), String> {
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

fn layer(
    ctx: &mut LoadContext,
    d: &Document,
    l: &MemoryLayerDoc,
    declared: &Declared,
) -> Option<LayerSpec> {
    let mut ok =
        known_workspace(ctx, d, &l.workspace, declared) & check_id(ctx, d, &l.id, "memory layer");
    ok &= one_of(
        ctx,
        d,
        &l.layer_type,
        &["skills", "episodic"],
        "memory layer type",
    );
    let entries = l.entries.as_ref().map(|map| {
        let mut out = Vec::new();
        let mut keys = HashSet::new();
        for (id, e) in &map.value {
            let key = e
                .key
                .as_ref()
                .map_or_else(|| id.clone(), |k| k.value.clone());
            let at = e.key.as_ref().map_or(map.referenced, |k| k.referenced);
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
            match ctx.text_source(
                d,
                &e.content.referenced,
                &e.content.value,
                "memory entry file",
            ) {
                Some(content) => out.push(EntrySpec {
                    id: id.clone(),
                    key,
                    description: text_opt(&e.description),
                    content,
                }),
                None => ok = false,
            }
        }
        out
    });
    ok.then(|| LayerSpec {
        workspace: l.workspace.value.clone(),
        id: l.id.value.clone(),
        name: text_opt(&l.name),
        description: text_opt(&l.description),
        layer_type: l.layer_type.value.clone(),
        entries,
    })
}

fn secret(
    ctx: &mut LoadContext,
    d: &Document,
    s: &SecretDoc,
    declared: &Declared,
) -> Option<SecretSpec> {
    let mut ok =
        known_workspace(ctx, d, &s.workspace, declared) & check_id(ctx, d, &s.id, "secret");
    let value = ctx.text(d, &s.value);
    if let Some(v) = &value {
        if !v.is_sensitive() {
            ctx.warning(
                d,
                &s.value.referenced,
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
    ok.then(|| SecretSpec {
        workspace: s.workspace.value.clone(),
        id: s.id.value.clone(),
        name: s
            .name
            .as_ref()
            .map_or_else(|| s.id.value.clone(), |n| n.value.clone()),
        value,
    })
}

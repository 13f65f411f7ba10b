//! The documents an export writes for one workspace: the tables' fields
//! (`resource::export`), then by hand what they cannot say (references,
//! stacks, rules, adapters, placeholders, files).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{json, Value};

use super::{secret_var, Read};
use crate::engine::manifest::interpolate::escape;
use crate::engine::manifest::to_yaml;
use crate::engine::provider::{file_name, Export, ExportFilter};
use crate::engine::resource::{self, Table, Ty};
use crate::providers::cadenya::cron;
use crate::providers::cadenya::ops::{model_enabled, model_key};
use crate::providers::cadenya::tables;
use crate::providers::cadenya::wire::{self, Resource, OWNER_LABEL};

/// A YAML value whose mappings keep the order they are written in.
enum Y {
    Map(Vec<(String, Y)>),
    Json(Value),
}

impl Serialize for Y {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Y::Json(v) => v.serialize(s),
            Y::Map(entries) => {
                let mut m = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
        }
    }
}

fn put(doc: &mut Vec<(String, Y)>, key: &str, v: Value) {
    doc.push((key.to_string(), Y::Json(v)));
}

/// A table's exported value as a manifest holds it: texts that take
/// `${VAR}` escaped, groups recursively.
fn manifest_value(table: &Table, key: &str, v: Value) -> Value {
    let Some(f) = table.field(key) else {
        return v;
    };
    match (f.ty, v) {
        (Ty::Text, Value::String(s)) => Value::String(escape(&s)),
        (Ty::Group(g), Value::Object(m)) => Value::Object(
            m.into_iter()
                .map(|(k, x)| {
                    // A long text in a group is written inline, where a
                    // manifest interpolates it too.
                    let x = match (g.field(&k).map(|f| f.ty), x) {
                        (Some(Ty::LongText), Value::String(s)) => Value::String(escape(&s)),
                        (_, x) => manifest_value(g, &k, x),
                    };
                    (k, x)
                })
                .collect(),
        ),
        (_, v) => v,
    }
}

/// The fields a table manages of `live`, in table order, with its notes;
/// long texts stay strings for the caller to write to files.
fn fields(
    table: &Table,
    live: &Resource,
    what: &str,
    e: &mut Export,
) -> Vec<(&'static str, Value)> {
    let out = resource::export(table, &live.json(), what);
    e.notes.extend(out.notes);
    out.values
        .into_iter()
        .map(|(k, v)| (k, manifest_value(table, k, v)))
        .collect()
}

/// `dir/stem.ext`, unique among the export's files (a name that differs
/// only by case from one already written gets a numbered suffix).
fn unique_path(e: &mut Export, dir: PathBuf, stem: &str, ext: &str, source: &str) -> PathBuf {
    let base = dir.join(format!("{stem}.{ext}")).display().to_string();
    let claimed = e.names.claim(base, source, |b, n| {
        format!("{}-{n}.{ext}", b.trim_end_matches(&format!(".{ext}")))
    });
    PathBuf::from(claimed)
}

/// A long text written to a file next to its document: `{file: …}`.
fn text_file(
    e: &mut Export,
    dir: &Path,
    sub: &str,
    stem: &str,
    text: String,
    source: &str,
) -> Value {
    let path = unique_path(e, dir.join(sub), stem, "md", source);
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    e.files.insert(path, text);
    json!({"file": format!("../{sub}/{file}")})
}

/// A map of children written only when every child could be: a partial
/// map would delete the missing ones once the export is applied.
fn complete(map: Vec<(String, Y)>, dropped: bool, what: &str, e: &mut Export) -> Option<Y> {
    if dropped {
        e.notes.push(format!(
            "{what}: some could not be exported, so they are left unmanaged"
        ));
        None
    } else {
        Some(Y::Map(map))
    }
}

/// A calendar back to a 7-field cron, when it is one.
pub fn calendar_cron(cal: &Value) -> Option<String> {
    let fields = [
        ("second", 0i64, 0, 59),
        ("minute", 0, 0, 59),
        ("hour", 0, 0, 23),
        ("dayOfMonth", 0, 1, 31),
        ("month", 0, 1, 12),
        ("dayOfWeek", 1, 0, 6),
    ];
    let norm = cron::normalize(cal);
    let mut parts = Vec::new();
    for (name, shift, min, max) in fields {
        let Some(ranges) = norm.get(name).and_then(Value::as_array) else {
            // Empty: 0 for time fields, any for date fields.
            parts.push(match name {
                "second" | "minute" | "hour" => "0".to_string(),
                "dayOfWeek" => "?".to_string(),
                _ => "*".to_string(),
            });
            continue;
        };
        let mut items = Vec::new();
        for r in ranges {
            let s = r.get("start")?.as_i64()?;
            let e = r.get("end")?.as_i64()?;
            let st = r.get("step")?.as_i64()?;
            if s < min || e > max {
                return None;
            }
            let (s2, e2) = (s + shift, e + shift);
            let mut item = if s == min && e == max && name != "dayOfWeek" {
                "*".to_string()
            } else if s == e {
                s2.to_string()
            } else {
                format!("{s2}-{e2}")
            };
            if st != 1 {
                if s == e {
                    return None;
                }
                item = format!("{item}/{st}");
            }
            items.push(item);
        }
        parts.push(items.join(","));
    }
    parts.push("*".into());
    let text = parts.join(" ");
    // Only if it compiles back to the same calendar.
    let again = cron::calendar(&text).ok()?;
    (cron::normalize(&again) == norm).then_some(text)
}

/// A live schedule rule as `cron` or `every`, when it is one of them.
fn rule_of(rule: &Value) -> Option<(&'static str, String)> {
    let list = |k: &str| {
        rule.get(k)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    match (list("calendars").as_slice(), list("intervals").as_slice()) {
        ([c], []) => calendar_cron(c).map(|c| ("cron", c)),
        ([], [i]) if i.get("offset").and_then(cron::wire_seconds).unwrap_or(0.0) == 0.0 => i
            .get("every")
            .and_then(cron::wire_seconds)
            .filter(|s| *s >= 1.0 && s.fract() == 0.0)
            .map(|s| ("every", resource::duration_text(s as u64))),
        _ => None,
    }
}

/// The wire's adapter in the manifest's form, or why it stays unmanaged.
fn adapter_out(a: &Value) -> Result<Value, String> {
    let kind = a.get("type").and_then(Value::as_str).unwrap_or_default();
    let inner = a
        .get(kind)
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let allowed: &[(&str, &str)] = match kind {
        "http" => &[("baseUrl", "base_url"), ("headers", "headers")],
        "mcp" => &[("url", "url"), ("headers", "headers")],
        "openapi" => &[
            ("type", ""),
            ("url", "url"),
            ("baseUrl", "base_url"),
            ("headers", "headers"),
        ],
        "bare" => &[("contentTimeout", "content_timeout")],
        _ => {
            return Err(format!(
                "its adapter (`{kind}`) is not one a manifest holds"
            ))
        }
    };
    let mut out = serde_json::Map::new();
    for (k, v) in &inner {
        let Some((_, key)) = allowed.iter().find(|(w, _)| w == k) else {
            return Err(format!(
                "its adapter has `{k}`, which a manifest does not hold"
            ));
        };
        if key.is_empty() {
            if v != "url" {
                return Err(
                    "its OpenAPI document is an upload, which a manifest does not hold".into(),
                );
            }
            continue;
        }
        let v = match v {
            Value::String(s) => Value::String(escape(s)),
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(h, x)| {
                        (
                            h.clone(),
                            x.as_str().map_or(x.clone(), |s| json!(escape(s))),
                        )
                    })
                    .collect(),
            ),
            other => other.clone(),
        };
        out.insert((*key).to_string(), v);
    }
    Ok(json!({ kind: out }))
}

/// The manifests for one workspace; (workspaces, agents, secrets) exported.
pub(super) fn render(
    ws: &str,
    r: &Read,
    filter: &ExportFilter,
    incomplete: &HashSet<(&'static str, String)>,
    e: &mut Export,
) -> [usize; 3] {
    // Every file name below comes from a live id: made file-safe.
    let dir = PathBuf::from("cadenya").join(file_name(ws));
    let only_agents = !filter.agents.is_empty();
    let ext = |x: &Resource| x.metadata.ext().map(str::to_string);
    let mut owners: BTreeSet<Option<String>> = BTreeSet::new();
    let mut note_owner = |x: &Resource| {
        owners.insert(x.metadata.labels.get(OWNER_LABEL).cloned());
    };
    // Canonical id → reference text, for variation tools.
    let mut refs: HashMap<String, String> = HashMap::new();
    for t in &r.tool_sets {
        if let Some(x) = ext(t) {
            refs.insert(t.id().into(), format!("tool_set:{x}"));
            for tool in r.tools.get(t.id()).into_iter().flatten() {
                if let Some(y) = ext(tool) {
                    refs.insert(tool.id().into(), format!("tool:{x}/{y}"));
                }
            }
        }
    }
    for a in &r.agents {
        if let Some(x) = ext(a) {
            refs.insert(a.id().into(), format!("agent:{x}"));
        }
    }
    let layer_ext: HashMap<&str, String> = r
        .layers
        .iter()
        .filter(|l| !l.system_managed())
        .filter_map(|l| Some((l.id(), ext(l)?)))
        .collect();
    let mut agents = 0;
    for a in &r.agents {
        let Some(id) = ext(a) else {
            e.skipped.push(format!(
                "agent {} in `{ws}` has no externalId: a manifest cannot name it",
                a.id()
            ));
            continue;
        };
        if only_agents && !filter.agents.contains(&id) {
            continue;
        }
        note_owner(a);
        let doc = agent(ws, &id, a, r, &dir, &refs, &layer_ext, incomplete, e);
        let path = unique_path(
            e,
            dir.join("agents"),
            &file_name(&id),
            "yaml",
            &format!("agent `{id}`"),
        );
        e.files.insert(path, to_yaml(&Y::Map(doc)));
        agents += 1;
    }
    if only_agents {
        return [0, agents, 0];
    }
    for t in &r.tool_sets {
        let Some(id) = ext(t) else {
            e.skipped
                .push(format!("tool set {} in `{ws}` has no externalId", t.id()));
            continue;
        };
        note_owner(t);
        let doc = tool_set(ws, &id, t, r, incomplete, e);
        let path = unique_path(
            e,
            dir.join("tool-sets"),
            &file_name(&id),
            "yaml",
            &format!("tool set `{id}`"),
        );
        e.files.insert(path, to_yaml(&Y::Map(doc)));
    }
    for l in r.layers.iter().filter(|l| !l.system_managed()) {
        let Some(id) = ext(l) else {
            e.skipped.push(format!(
                "memory layer {} in `{ws}` has no externalId",
                l.id()
            ));
            continue;
        };
        note_owner(l);
        let doc = layer(ws, &id, l, r, &dir, incomplete, e);
        let path = unique_path(
            e,
            dir.join("memory"),
            &file_name(&id),
            "yaml",
            &format!("memory layer `{id}`"),
        );
        e.files.insert(path, to_yaml(&Y::Map(doc)));
    }
    let mut secrets = Vec::new();
    for s in &r.secrets {
        let Some(id) = ext(s) else {
            e.skipped
                .push(format!("secret {} in `{ws}` has no externalId", s.id()));
            continue;
        };
        note_owner(s);
        let var = e.names.claim(
            secret_var(&id),
            &format!("secret `{id}` of workspace `{ws}`"),
            |b, n| format!("{b}_{n}"),
        );
        e.notes.push(format!(
            "secret `{id}`: set {var} to its value before planning (values are never read)"
        ));
        let mut doc = Vec::new();
        put(&mut doc, "kind", json!("CadenyaSecret"));
        put(&mut doc, "workspace", json!(ws));
        put(&mut doc, "id", json!(id));
        put(&mut doc, "name", json!(s.metadata.name));
        put(&mut doc, "value", json!(format!("${{{var}}}")));
        secrets.push(to_yaml(&Y::Map(doc)));
    }
    let secret_count = secrets.len();
    if !secrets.is_empty() {
        e.files
            .insert(dir.join("secrets.yaml"), secrets.join("---\n"));
    }
    let owner = match owners.iter().collect::<Vec<_>>().as_slice() {
        [Some(o)] => Some(o.clone()),
        _ => None,
    };
    let mut doc = Vec::new();
    put(&mut doc, "kind", json!("CadenyaWorkspace"));
    put(&mut doc, "id", json!(ws));
    for (k, v) in fields(
        &tables::WORKSPACE,
        &r.workspace,
        &format!("workspace `{ws}`"),
        e,
    ) {
        put(&mut doc, k, v);
    }
    if let Some(o) = owner {
        put(&mut doc, "owner", json!(o));
    }
    let models: Vec<String> = r
        .models
        .iter()
        .filter(|m| model_enabled(m))
        .map(model_key)
        .collect();
    put(&mut doc, "models", json!(models));
    e.files
        .insert(dir.join("workspace.yaml"), to_yaml(&Y::Map(doc)));
    [1, agents, secret_count]
}

#[allow(clippy::too_many_arguments)]
fn agent(
    ws: &str,
    id: &str,
    a: &Resource,
    r: &Read,
    dir: &Path,
    refs: &HashMap<String, String>,
    layer_ext: &HashMap<&str, String>,
    incomplete: &HashSet<(&'static str, String)>,
    e: &mut Export,
) -> Vec<(String, Y)> {
    let mut doc = Vec::new();
    put(&mut doc, "kind", json!("CadenyaAgent"));
    put(&mut doc, "workspace", json!(ws));
    put(&mut doc, "id", json!(id));
    let what = format!("agent `{id}`");
    // A webhook URL carrying a credential is never written: a placeholder
    // variable takes its place.
    let webhook = a
        .spec_str("/webhookEventsUrl")
        .filter(|u| crate::engine::credentials::in_string(u).is_some());
    let out = resource::export(&tables::AGENT, &a.json(), &what);
    for n in out.notes {
        if !(webhook.is_some() && n.contains("`webhook_url`")) {
            e.notes.push(n);
        }
    }
    for (k, v) in out.values {
        put(&mut doc, k, manifest_value(&tables::AGENT, k, v));
    }
    if webhook.is_some() {
        let var = e.names.claim(
            secret_var(id).replacen("CADENYA_SECRET_", "CADENYA_WEBHOOK_URL_", 1),
            &format!("the webhook URL of agent `{id}`"),
            |b, n| format!("{b}_{n}"),
        );
        e.notes.push(format!(
            "agent `{id}`: its webhook_url holds a credential: it is written as ${{{var}}}; set {var} to it before planning"
        ));
        put(&mut doc, "webhook_url", json!(format!("${{{var}}}")));
    }
    let live_vars = r.variations.get(a.id()).cloned().unwrap_or_default();
    let var_ext: HashMap<&str, String> = live_vars
        .iter()
        .filter_map(|v| Some((v.id(), v.metadata.ext()?.to_string())))
        .collect();
    let mut variations = Vec::new();
    let mut dropped = incomplete.contains(&("variation", a.id().to_string()));
    for v in &live_vars {
        let Some(vid) = v.metadata.ext().map(str::to_string) else {
            e.skipped.push(format!(
                "a variation of agent `{id}` ({}) has no externalId",
                v.id()
            ));
            dropped = true;
            continue;
        };
        let mut out = Vec::new();
        let stem = format!("{}.{}", file_name(id), file_name(&vid));
        for (k, val) in fields(
            &tables::VARIATION,
            v,
            &format!("variation `{vid}` of {what}"),
            e,
        ) {
            let val = match (k, val) {
                ("prompt", Value::String(t)) => {
                    let source = format!("the prompt of variation `{vid}` of {what}");
                    text_file(e, dir, "prompts", &stem, t, &source)
                }
                ("first_user_message", Value::String(t)) => {
                    let source = format!("the first user message of variation `{vid}` of {what}");
                    text_file(e, dir, "prompts", &format!("{stem}.first"), t, &source)
                }
                (_, val) => val,
            };
            put(&mut out, k, val);
        }
        let mut tools = Vec::new();
        for asg in wire::assignments(v) {
            if asg.tag == "agentPoolId" {
                continue;
            }
            match refs.get(&asg.target) {
                Some(t) => tools.push(t.clone()),
                None => e.notes.push(format!("agent `{id}` variation `{vid}`: assignment to {} cannot be named (no externalId); left out", asg.target)),
            }
        }
        tools.sort();
        put(&mut out, "tools", json!(tools));
        // Bottom first: the most specific (position 0) last.
        let mut memory: Vec<String> = wire::stack(v)
            .iter()
            .filter_map(|l| layer_ext.get(l.as_str()).cloned())
            .collect();
        memory.reverse();
        put(&mut out, "memory", json!(memory));
        variations.push((vid, Y::Map(out)));
    }
    let mut schedules = Vec::new();
    let mut dropped_s = incomplete.contains(&("schedule", a.id().to_string()));
    for s in r.schedules.get(a.id()).into_iter().flatten() {
        let Some(sid) = s.metadata.ext().map(str::to_string) else {
            e.skipped.push(format!(
                "a schedule of agent `{id}` ({}) has no externalId",
                s.id()
            ));
            dropped_s = true;
            continue;
        };
        let rule = s.spec("/schedule").cloned().unwrap_or(Value::Null);
        let Some((field, text)) = rule_of(&rule) else {
            e.skipped.push(format!("schedule `{sid}` of agent `{id}`: its calendars and intervals are not one cron or one interval"));
            dropped_s = true;
            continue;
        };
        if s.state() == "STATE_ARCHIVED" {
            e.skipped.push(format!(
                "schedule `{sid}` of agent `{id}` is archived: a manifest cannot hold it"
            ));
            dropped_s = true;
            continue;
        }
        let mut out = Vec::new();
        let table = fields(
            &tables::SCHEDULE,
            s,
            &format!("schedule `{sid}` of {what}"),
            e,
        );
        let (name, rest): (Vec<_>, Vec<_>) = table.into_iter().partition(|(k, _)| *k == "name");
        for (k, v) in name {
            put(&mut out, k, v);
        }
        put(&mut out, field, json!(text));
        let tz = rule
            .get("timezone")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .unwrap_or("UTC");
        put(&mut out, "timezone", json!(tz));
        for (k, v) in rest {
            put(&mut out, k, v);
        }
        if let Some(v) = s.spec_str("/variationId").filter(|v| !v.is_empty()) {
            match var_ext.get(v) {
                Some(x) => put(&mut out, "variation", json!(x)),
                None => e.notes.push(format!("schedule `{sid}` of agent `{id}` runs variation {v}, which has no externalId: left unmanaged")),
            }
        }
        schedules.push((sid, Y::Map(out)));
    }
    if let Some(m) = complete(variations, dropped, &format!("the variations of {what}"), e) {
        doc.push(("variations".into(), m));
    }
    if let Some(m) = complete(schedules, dropped_s, &format!("the schedules of {what}"), e) {
        doc.push(("schedules".into(), m));
    }
    doc
}

fn tool_set(
    ws: &str,
    id: &str,
    t: &Resource,
    r: &Read,
    incomplete: &HashSet<(&'static str, String)>,
    e: &mut Export,
) -> Vec<(String, Y)> {
    let what = format!("tool set `{id}`");
    let mut doc = Vec::new();
    put(&mut doc, "kind", json!("CadenyaToolSet"));
    put(&mut doc, "workspace", json!(ws));
    put(&mut doc, "id", json!(id));
    for (k, v) in fields(&tables::TOOL_SET, t, &what, e) {
        put(&mut doc, k, v);
    }
    let adapter = t.spec("/adapter").cloned().unwrap_or(Value::Null);
    // A credential anywhere in it (a header, a URL's userinfo or token) is
    // never written: the adapter is left unmanaged.
    if crate::engine::credentials::has_any(&adapter) {
        e.notes.push(format!(
            "{what}: its adapter holds credentials; it is left unmanaged"
        ));
    } else {
        match adapter_out(&adapter) {
            Ok(a) => put(&mut doc, "adapter", a),
            Err(why) => e.notes.push(format!("{what}: {why}; it is left unmanaged")),
        }
    }
    let secrets: BTreeMap<String, String> = r
        .set_secrets
        .get(t.id())
        .into_iter()
        .flatten()
        .map(|s| {
            let var = e.names.claim(
                secret_var(&format!("{id}_{}", s.metadata.name)),
                &format!("secret `{}` of {what}", s.metadata.name),
                |b, n| format!("{b}_{n}"),
            );
            e.notes.push(format!(
                "{what}: set {var} to the value of its secret `{}` before planning (values are never read)",
                s.metadata.name
            ));
            (s.metadata.name.clone(), format!("${{{var}}}"))
        })
        .collect();
    if !secrets.is_empty() {
        put(&mut doc, "secrets", json!(secrets));
    }
    let kind = adapter.get("type").and_then(Value::as_str);
    if matches!(kind, Some("http" | "bare")) {
        let mut dropped = incomplete.contains(&("tool", t.id().to_string()));
        let mut tools = Vec::new();
        for tool in r.tools.get(t.id()).into_iter().flatten() {
            let Some(tid) = tool.metadata.ext().map(str::to_string) else {
                e.skipped.push(format!(
                    "a tool of {what} ({}) has no externalId",
                    tool.id()
                ));
                dropped = true;
                continue;
            };
            let mut out = Vec::new();
            for (k, v) in fields(&tables::TOOL, tool, &format!("tool `{id}/{tid}`"), e) {
                put(&mut out, k, v);
            }
            tools.push((tid, Y::Map(out)));
        }
        if let Some(m) = complete(tools, dropped, &format!("the tools of {what}"), e) {
            doc.push(("tools".into(), m));
        }
    }
    doc
}

fn layer(
    ws: &str,
    id: &str,
    l: &Resource,
    r: &Read,
    dir: &Path,
    incomplete: &HashSet<(&'static str, String)>,
    e: &mut Export,
) -> Vec<(String, Y)> {
    let what = format!("memory layer `{id}`");
    let mut doc = Vec::new();
    put(&mut doc, "kind", json!("CadenyaMemoryLayer"));
    put(&mut doc, "workspace", json!(ws));
    put(&mut doc, "id", json!(id));
    for (k, v) in fields(&tables::LAYER, l, &what, e) {
        put(&mut doc, k, v);
    }
    let mut entries = Vec::new();
    let mut dropped = incomplete.contains(&("memory entry", l.id().to_string()));
    for en in r.entries.get(l.id()).into_iter().flatten() {
        let Some(eid) = en.metadata.ext().map(str::to_string) else {
            e.skipped.push(format!(
                "an entry of {what} ({}) has no externalId",
                en.id()
            ));
            dropped = true;
            continue;
        };
        let mut out = Vec::new();
        for (k, v) in fields(&tables::ENTRY, en, &format!("entry `{eid}` of {what}"), e) {
            let v = match (k, v) {
                // The defaults a manifest leaves out: the id.
                ("title" | "key", Value::String(s)) if s == eid => continue,
                ("content", Value::String(text)) => {
                    let path = unique_path(
                        e,
                        dir.join("memory").join(file_name(id)),
                        &file_name(&eid),
                        "md",
                        &format!("entry `{eid}` of {what}"),
                    );
                    let file = path
                        .file_name()
                        .map(|f| f.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    e.files.insert(path, text);
                    json!({"file": format!("{}/{file}", file_name(id))})
                }
                (_, v) => v,
            };
            put(&mut out, k, v);
        }
        if !out.iter().any(|(k, _)| k == "content") {
            // The list had it without its content (a failed read): an
            // empty content would erase it.
            e.skipped.push(format!(
                "entry `{eid}` of {what}: its content could not be read"
            ));
            dropped = true;
            continue;
        }
        entries.push((eid, Y::Map(out)));
    }
    if let Some(m) = complete(entries, dropped, &format!("the entries of {what}"), e) {
        doc.push(("entries".into(), m));
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendars_become_crons_again_when_they_are_one() {
        for c in ["0 0 2 * * ? *", "0 */15 9-17 ? * 2-6 *", "30 0 0 1 1,7 ? *"] {
            let cal = cron::calendar(c).unwrap();
            let back = calendar_cron(&cal).unwrap();
            assert_eq!(cron::calendar(&back).unwrap(), cal, "{c} → {back}");
        }
        assert!(calendar_cron(&json!({"hour": [{"start": 99}]})).is_none());
        assert_eq!(
            rule_of(&json!({"intervals": [{"every": "5400s"}]})),
            Some(("every", "90m".to_string()))
        );
        assert_eq!(
            rule_of(&json!({"intervals": [{"every": "60s", "offset": "5s"}]})),
            None
        );
    }

    /// `types.py:4668`: adapters are tagged; the manifest's form is untagged.
    #[test]
    fn adapters_in_the_manifests_form_or_left_unmanaged() {
        let a = json!({"type": "http", "http": {"baseUrl": "https://x.example/${y}", "headers": {"A": "b"}}});
        assert_eq!(
            adapter_out(&a).unwrap(),
            json!({"http": {"base_url": "https://x.example/$${y}", "headers": {"A": "b"}}})
        );
        let o = json!({"type": "openapi", "openapi": {"type": "url", "url": "u"}});
        assert_eq!(adapter_out(&o).unwrap(), json!({"openapi": {"url": "u"}}));
        let up = json!({"type": "openapi", "openapi": {"type": "uploadId", "uploadId": "up_1"}});
        assert!(adapter_out(&up).is_err());
        let mcp = json!({"type": "mcp", "mcp": {"url": "u", "justInTime": {"enabled": true}}});
        assert!(adapter_out(&mcp).is_err());
    }
}

//! Cadenya's rules: compare desired with live state, field by field, and
//! list the changes with their requests. A pure function: no I/O, no clock.
//!
//! - Updates send only what differs: a PATCH whose `updateMask` names the
//!   changed paths (PUT for tool sets and tools, with the whole spec and the
//!   mask, as the API requires).
//! - Tool, tool-set and sub-agent assignments are sets of (kind, target):
//!   rows are added and removed, never rewritten. A memory stack is an
//!   ordered list: rows that move go to free positions above the stack
//!   first, so no two ever share one.
//! - Ordering: a variation exists before its agent is published; the
//!   variations of an agent are deleted after its new ones exist;
//!   assignments are removed before what they point at is deleted.
//! - Ownership: everything written carries the owner's label and bundleKey;
//!   a live resource with a declared externalId but not the owner's mark is
//!   refused unless `--adopt`; prune deletes only owned resources.
//! - Secrets are compared by a keyed fingerprint kept in a label (see
//!   `read.rs`): neither the value nor an unsalted hash is ever published.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde_json::{json, Map, Value};

use super::cron;
use super::model::*;
use super::ops::{Op, Seg, Verb, What, Write};
use super::read::{by_ext_in, Live, Space};
use super::wire::{self, Resource, FINGERPRINT_LABEL, OWNER_LABEL};
use crate::engine::manifest::Text;
use crate::engine::plan::textdiff::{describe_change, same_text};
use crate::engine::plan::{quote, Action, Change, FieldChange, Literal, Plan, Show, Shown};
use crate::engine::provider::{Diffed, Local, PlanError};

const PROVIDER: &str = "cadenya";

pub fn workspace_address(ws: &str) -> String {
    format!("cadenya.workspace[{}]", quote(ws))
}

pub fn agent_address(ws: &str, id: &str) -> String {
    format!("cadenya.agent[{}]", quote(&format!("{ws}/{id}")))
}

pub fn tool_set_address(ws: &str, id: &str) -> String {
    format!("cadenya.tool_set[{}]", quote(&format!("{ws}/{id}")))
}

pub fn layer_address(ws: &str, id: &str) -> String {
    format!("cadenya.memory_layer[{}]", quote(&format!("{ws}/{id}")))
}

pub fn secret_address(ws: &str, id: &str) -> String {
    format!("cadenya.secret[{}]", quote(&format!("{ws}/{id}")))
}

fn child(parent: &str, kind: &str, id: &str) -> String {
    format!("{parent}.{kind}[{}]", quote(id))
}

fn lit(s: &str) -> Shown {
    Shown::plain(&Literal::from(s))
}

fn opt_lit(s: Option<&str>) -> Shown {
    s.map_or_else(Shown::none, lit)
}

/// A reference to an object: live (canonical id) or created by this plan.
#[derive(Debug, Clone)]
struct Target {
    seg: Seg,
    /// The change creating it.
    created_by: Option<String>,
}

impl Target {
    fn live(id: &str) -> Self {
        Target {
            seg: Seg::Id(id.to_string()),
            created_by: None,
        }
    }

    fn new(key: String, address: &str) -> Self {
        Target {
            seg: Seg::New(key),
            created_by: Some(address.to_string()),
        }
    }
}

/// The body of a create's `metadata`.
fn create_meta(name: &str, ext: &str, owner: Option<&str>, extra: &[(&str, &str)]) -> Value {
    let mut labels = Map::new();
    if let Some(o) = owner {
        labels.insert(OWNER_LABEL.into(), o.into());
    }
    for (k, v) in extra {
        labels.insert((*k).into(), (*v).into());
    }
    let mut m = json!({"name": name, "externalId": ext});
    if !labels.is_empty() {
        m["labels"] = Value::Object(labels);
    }
    if let Some(o) = owner {
        m["bundleKey"] = json!(o);
    }
    m
}

/// An update's body under construction: the changed spec fields, metadata
/// changes, and the mask naming them.
#[derive(Default)]
struct Patch {
    spec: Map<String, Value>,
    name: Option<String>,
    labels: Option<BTreeMap<String, String>>,
    mask: Vec<String>,
}

impl Patch {
    fn spec(&mut self, field: &str, v: Value) {
        self.spec.insert(field.into(), v);
        self.mask.push(format!("spec.{field}"));
    }

    fn is_empty(&self) -> bool {
        self.mask.is_empty() && self.name.is_none() && self.labels.is_none()
    }

    /// The body; `live` gives the metadata name the API requires whenever
    /// metadata is sent, and with `full_spec` the whole spec (PUT).
    fn body(self, live: &Resource, full_spec: Option<Value>) -> Value {
        let mut body = Map::new();
        let mut mask = self.mask;
        if self.name.is_some() || self.labels.is_some() {
            let mut m =
                json!({"name": self.name.clone().unwrap_or_else(|| live.metadata.name.clone())});
            if let Some(l) = &self.labels {
                m["labels"] = json!(l);
                mask.push("metadata.labels".into());
            }
            if self.name.is_some() {
                mask.push("metadata.name".into());
            }
            body.insert("metadata".into(), m);
        }
        match full_spec {
            Some(spec) => {
                body.insert("spec".into(), spec);
            }
            None if !self.spec.is_empty() => {
                body.insert("spec".into(), Value::Object(self.spec));
            }
            None => {}
        }
        body.insert("updateMask".into(), json!(mask.join(",")));
        Value::Object(body)
    }
}

fn write(what: What, verb: Verb, method: &str, path: Vec<Seg>, body: Option<Value>) -> Write {
    Write {
        what,
        verb,
        method: method.into(),
        path,
        body,
        fill: Vec::new(),
        remember: None,
        ext: None,
        conflict_ok: false,
    }
}

fn lits(parts: &[&str]) -> Vec<Seg> {
    parts.iter().map(|p| Seg::Lit((*p).to_string())).collect()
}

/// `/v1/workspaces/{ws}` + `rest`.
fn under(ws: &Seg, rest: Vec<Seg>) -> Vec<Seg> {
    let mut p = lits(&["v1", "workspaces"]);
    p.push(ws.clone());
    p.extend(rest);
    p
}

struct Differ<'a> {
    desired: &'a Desired,
    live: &'a Live,
    local: &'a Local,
    plan: Plan,
    ops: Vec<Vec<Op>>,
    errors: Vec<String>,
    /// Removals of assignments to a target, by the target's canonical id:
    /// a delete of that target waits for them.
    removals: HashMap<String, Vec<String>>,
    /// Deletes to finish once every removal is known: (change index, target id).
    deletes: Vec<(usize, String)>,
    /// Canonical ids still referenced after this plan (pruning one is an error).
    referenced: HashSet<String>,
}

/// Compare `desired` with `live`.
pub fn diff(desired: &Desired, live: &Live, local: &Local) -> Result<Diffed<Op>, PlanError> {
    let mut d = Differ {
        desired,
        live,
        local,
        plan: Plan::default(),
        ops: Vec::new(),
        errors: Vec::new(),
        removals: HashMap::new(),
        deletes: Vec::new(),
        referenced: HashSet::new(),
    };
    d.plan.managed = vec![
        ("workspace", desired.workspaces.len()),
        ("agent", desired.agents.len()),
        ("tool set", desired.tool_sets.len()),
        ("memory layer", desired.layers.len()),
        ("secret", desired.secrets.len()),
    ];
    d.plan
        .managed
        .retain(|(noun, n)| *n > 0 || *noun == "agent");
    for w in &desired.workspaces {
        d.workspace(w);
    }
    for (i, target) in std::mem::take(&mut d.deletes) {
        if let Some(by) = d.removals.get(&target) {
            d.plan.changes[i].depends_on.extend(by.iter().cloned());
        }
    }
    if d.errors.is_empty() {
        Ok((d.plan, d.ops))
    } else {
        Err(PlanError { problems: d.errors })
    }
}

/// One workspace being planned.
struct Ws<'a> {
    spec: &'a WorkspaceSpec,
    space: Option<&'a Space>,
    seg: Seg,
    /// The change creating the workspace, if new.
    created_by: Option<String>,
    /// Live and marked by another owner: its own settings (name,
    /// description, models) are not changed without `--adopt`.
    foreign: Option<String>,
}

impl Ws<'_> {
    fn id(&self) -> &str {
        &self.spec.id
    }

    fn owner(&self) -> Option<&str> {
        self.spec.owner.as_deref()
    }

    fn list<'s>(&'s self, pick: impl Fn(&'s Space) -> &'s Option<Vec<Resource>>) -> &'s [Resource] {
        self.space
            .and_then(|s| pick(s).as_deref())
            .unwrap_or_default()
    }

    fn deps(&self) -> Vec<String> {
        self.created_by.iter().cloned().collect()
    }
}

impl Differ<'_> {
    fn push(&mut self, change: Change, ops: Vec<Op>) -> usize {
        self.plan.changes.push(change);
        self.ops.push(ops);
        self.plan.changes.len() - 1
    }

    fn change(
        &self,
        address: &str,
        resource: &'static str,
        action: Action,
        group: Option<&str>,
    ) -> Change {
        let mut c = Change::new(PROVIDER, address, resource, action);
        c.group = group.map(str::to_string);
        c
    }

    /// Whether a live resource may be managed; records an error if not.
    fn check_owner(&mut self, ws: &Ws, live: &Resource, address: &str) -> Option<bool> {
        let Some(owner) = ws.owner() else {
            // No owner declared: unmarked resources are managed as before,
            // but one carrying someone's mark is theirs (Trust II item 2),
            // and adopting it needs an owner to stamp.
            let Some(theirs) = live.metadata.owner() else {
                return Some(false);
            };
            self.errors.push(format!(
                "{address} exists ({}) and is owned by `{theirs}`; workspace `{}` declares no owner: set `owner:` on it and pass --adopt to take it over",
                live.id(),
                ws.id()
            ));
            return None;
        };
        if live.metadata.owned_by(owner) {
            return Some(false);
        }
        if self.local.adopt {
            return Some(true);
        }
        let other = live
            .metadata
            .owner()
            .map(|o| format!(" (it is owned by `{o}`)"))
            .unwrap_or_default();
        self.errors.push(format!(
            "{address} exists ({}) but is not owned by `{owner}`{other}: pass --adopt to take it over",
            live.id()
        ));
        None
    }

    /// `by` (a change deleting `variation`, or its agent) takes the
    /// variation's assignments and memory layers with it: a delete of any of
    /// their targets waits for it (Trust II item 4: a layer still assigned
    /// cannot be deleted).
    fn gone_with(&mut self, variation: &Resource, by: &str) {
        let targets = wire::assignments(variation)
            .into_iter()
            .map(|a| a.target)
            .chain(
                wire::layer_assignments(variation)
                    .into_iter()
                    .map(|l| l.layer),
            );
        for t in targets {
            self.removals.entry(t).or_default().push(by.to_string());
        }
    }

    /// The labels an adopted resource gets: its own plus the owner's.
    fn adopted_labels(live: &Resource, owner: &str) -> BTreeMap<String, String> {
        let mut l = live.metadata.labels.clone();
        l.insert(OWNER_LABEL.into(), owner.into());
        l
    }

    fn workspace(&mut self, spec: &WorkspaceSpec) {
        let space = self.live.spaces.get(&spec.id);
        let address = workspace_address(&spec.id);
        let name = spec.name.clone().unwrap_or_else(|| spec.id.clone());
        let ws = match space {
            None => {
                let mut c = self.change(&address, "workspace", Action::Create, None);
                c.fields.push(FieldChange::after("name", lit(&name)));
                if let Some(desc) = &spec.description {
                    c.fields.push(FieldChange::after("description", lit(desc)));
                }
                let mut body = json!({"metadata": create_meta(&name, &spec.id, None, &[])});
                if let Some(o) = &spec.owner {
                    body["metadata"]["labels"] = json!({OWNER_LABEL: o});
                }
                if let Some(desc) = &spec.description {
                    body["spec"] = json!({"description": desc});
                }
                let mut w = write(
                    What::Workspace,
                    Verb::Create,
                    "POST",
                    lits(&["v1", "account", "workspaces"]),
                    Some(body),
                );
                w.remember = Some(format!("ws:{}", spec.id));
                w.ext = Some(spec.id.clone());
                self.push(c, vec![Op::Write(w)]);
                Ws {
                    spec,
                    space: None,
                    seg: Seg::New(format!("ws:{}", spec.id)),
                    created_by: Some(address.clone()),
                    foreign: None,
                }
            }
            Some(s) => {
                let live = &s.workspace;
                let mut c = self.change(&address, "workspace", Action::Update, None);
                c.label = Some(lit(live.id()));
                let mut p = Patch::default();
                if spec.name.as_ref().is_some_and(|n| *n != live.metadata.name) {
                    c.fields.push(FieldChange::new(
                        "name",
                        lit(&live.metadata.name),
                        lit(&name),
                    ));
                    p.name = Some(name.clone());
                }
                if let Some(desc) = &spec.description {
                    let have = live.spec_str("/description");
                    if have != Some(desc.as_str()) {
                        c.fields
                            .push(FieldChange::new("description", opt_lit(have), lit(desc)));
                        p.spec("description", json!(desc));
                    }
                }
                // Trust II item 2 (the workspace itself): another owner's
                // workspace keeps its settings unless adopted.
                let foreign = live
                    .metadata
                    .owner()
                    .filter(|o| spec.owner.as_deref() != Some(*o))
                    .map(str::to_string);
                if let (Some(theirs), false) = (&foreign, p.is_empty()) {
                    match (&spec.owner, self.local.adopt) {
                        (Some(o), true) => {
                            p.labels = Some(Self::adopted_labels(live, o));
                            c.notes.push("adopted: it gets the owner's label".into());
                        }
                        _ => {
                            self.errors.push(format!(
                                "{address} ({}) is owned by `{theirs}`: its name and description are not changed{}",
                                live.id(),
                                if spec.owner.is_some() { " without --adopt" } else { "; set `owner:` and pass --adopt to take it over" }
                            ));
                            p = Patch::default();
                        }
                    }
                }
                if !p.is_empty() {
                    let path = vec![
                        Seg::Lit("v1".into()),
                        Seg::Lit("account".into()),
                        Seg::Lit("workspaces".into()),
                        Seg::Id(live.id().into()),
                    ];
                    let w = write(
                        What::Workspace,
                        Verb::Update,
                        "PATCH",
                        path,
                        Some(p.body(live, None)),
                    );
                    self.push(c, vec![Op::Write(w)]);
                }
                Ws {
                    spec,
                    space: Some(s),
                    seg: Seg::Id(live.id().to_string()),
                    created_by: None,
                    foreign: foreign.filter(|_| !(self.local.adopt && spec.owner.is_some())),
                }
            }
        };
        self.models(&ws);
        for t in self
            .desired
            .tool_sets
            .iter()
            .filter(|t| t.workspace == spec.id)
        {
            self.tool_set(&ws, t);
        }
        for l in self
            .desired
            .layers
            .iter()
            .filter(|l| l.workspace == spec.id)
        {
            self.layer(&ws, l);
        }
        for s in self
            .desired
            .secrets
            .iter()
            .filter(|s| s.workspace == spec.id)
        {
            self.secret(&ws, s);
        }
        for a in self
            .desired
            .agents
            .iter()
            .filter(|a| a.workspace == spec.id)
        {
            self.agent(&ws, a);
        }
        self.prune(&ws);
    }

    fn models(&mut self, ws: &Ws) {
        let Some(want) = &ws.spec.models else {
            return;
        };
        let want: BTreeSet<String> = want.iter().cloned().collect();
        let live = ws.list(|s| &s.models);
        let have: BTreeSet<String> = live
            .iter()
            .filter(|m| super::ops::model_enabled(m))
            .map(super::ops::model_key)
            .collect();
        if ws.space.is_some() {
            let offered: BTreeSet<String> = live.iter().map(super::ops::model_key).collect();
            let missing: Vec<&String> = want.iter().filter(|m| !offered.contains(*m)).collect();
            if !missing.is_empty() {
                self.errors.push(format!(
                    "{}: no model {} is offered (offered: {})",
                    workspace_address(ws.id()),
                    missing
                        .iter()
                        .map(|m| format!("`{m}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    offered.iter().cloned().collect::<Vec<_>>().join(", ")
                ));
                return;
            }
            if have == want {
                return;
            }
        }
        if let Some(theirs) = &ws.foreign {
            self.errors.push(format!(
                "{} is owned by `{theirs}`: its models are not changed without `owner:` and --adopt",
                workspace_address(ws.id())
            ));
            return;
        }
        let address = format!("{}.models", workspace_address(ws.id()));
        let action = if ws.space.is_some() {
            Action::Update
        } else {
            Action::Create
        };
        let mut c = self.change(&address, "models", action, None);
        let to_lits = |s: &BTreeSet<String>| s.iter().map(Literal::from).collect::<Vec<_>>();
        let before = if ws.space.is_some() {
            Shown::plain(&to_lits(&have))
        } else {
            Shown::absent()
        };
        c.fields.push(FieldChange::new(
            "enabled",
            before,
            Shown::plain(&to_lits(&want)),
        ));
        c.depends_on = ws.deps();
        self.push(
            c,
            vec![Op::SetModels {
                workspace: ws.seg.clone(),
                enabled: want,
            }],
        );
    }

    fn tool_set(&mut self, ws: &Ws, spec: &ToolSetSpec) {
        let address = tool_set_address(ws.id(), &spec.id);
        let live = by_ext_in(ws.list(|s| &s.tool_sets), &spec.id);
        let name = spec.name.clone().unwrap_or_else(|| spec.id.clone());
        let (target, tools_live) = match live {
            None => {
                let mut c = self.change(&address, "tool_set", Action::Create, None);
                c.fields.push(FieldChange::after("name", lit(&name)));
                let mut s = Map::new();
                if let Some(desc) = &spec.description {
                    s.insert("description".into(), json!(desc));
                    c.fields.push(FieldChange::after("description", lit(desc)));
                }
                if let Some(a) = &spec.adapter {
                    s.insert("adapter".into(), adapter_json(a));
                    c.fields
                        .push(FieldChange::after("adapter", adapter_shown(a)));
                }
                c.depends_on = ws.deps();
                let body =
                    json!({"metadata": create_meta(&name, &spec.id, ws.owner(), &[]), "spec": s});
                let mut w = write(
                    What::ToolSet,
                    Verb::Create,
                    "POST",
                    under(&ws.seg, lits(&["tool_sets"])),
                    Some(body),
                );
                let key = format!("tool_set:{}/{}", ws.id(), spec.id);
                w.remember = Some(key.clone());
                w.ext = Some(spec.id.clone());
                self.push(c, vec![Op::Write(w)]);
                (Target::new(key, &address), None)
            }
            Some(live) => {
                let Some(adopt) = self.check_owner(ws, live, &address) else {
                    return;
                };
                let mut c = self.change(&address, "tool_set", Action::Update, None);
                c.label = Some(lit(live.id()));
                let mut p = Patch::default();
                if spec.name.as_ref().is_some_and(|n| *n != live.metadata.name) {
                    c.fields.push(FieldChange::new(
                        "name",
                        lit(&live.metadata.name),
                        lit(&name),
                    ));
                    p.name = Some(name.clone());
                }
                if let Some(desc) = &spec.description {
                    let have = live.spec_str("/description");
                    if have != Some(desc.as_str()) {
                        c.fields
                            .push(FieldChange::new("description", opt_lit(have), lit(desc)));
                        p.spec("description", json!(desc));
                    }
                }
                if let Some(a) = &spec.adapter {
                    // Headers the manifest does not declare are kept.
                    let have = live.spec("/adapter").cloned().unwrap_or(Value::Null);
                    let want = overlay_oneof(&have, &adapter_json(a));
                    if !same_json(&have, &want) {
                        // The after side is what the write leaves: kept
                        // headers included (masked like any live header).
                        c.fields.push(FieldChange::new(
                            "adapter",
                            live_adapter_shown(&have, a),
                            live_adapter_shown(&want, a),
                        ));
                        p.spec("adapter", want);
                    }
                }
                if adopt {
                    p.labels = ws.owner().map(|o| Self::adopted_labels(live, o));
                    c.notes.push("adopted: it gets the owner's label".into());
                }
                if !p.is_empty() {
                    let full = merged_spec(&live.spec, &p.spec);
                    let body = p.body(live, Some(full));
                    let w = write(
                        What::ToolSet,
                        Verb::Update,
                        "PUT",
                        under(
                            &ws.seg,
                            vec![Seg::Lit("tool_sets".into()), Seg::Id(live.id().into())],
                        ),
                        Some(body),
                    );
                    self.push(c, vec![Op::Write(w)]);
                }
                (Target::live(live.id()), Some(live.id().to_string()))
            }
        };
        let Some(tools) = &spec.tools else {
            return;
        };
        let live_tools: &[Resource] = tools_live
            .as_ref()
            .and_then(|id| ws.space?.tools.get(id))
            .map(Vec::as_slice)
            .unwrap_or_default();
        for t in tools {
            self.tool(ws, &address, &target, spec, t, live_tools);
        }
        for lt in live_tools {
            if lt
                .metadata
                .ext()
                .is_some_and(|e| tools.iter().any(|t| t.id == e))
            {
                continue;
            }
            let ext = lt.metadata.ext().unwrap_or(lt.id());
            let a = child(&address, "tool", ext);
            let mut c = self.change(&a, "tool", Action::Delete, Some(&address));
            c.label = Some(lit(lt.id()));
            c.fields
                .push(FieldChange::before("name", lit(&lt.metadata.name)));
            let w = write(
                What::Tool,
                Verb::Delete,
                "DELETE",
                under(
                    &ws.seg,
                    vec![
                        Seg::Lit("tool_sets".into()),
                        target.seg.clone(),
                        Seg::Lit("tools".into()),
                        Seg::Id(lt.id().into()),
                    ],
                ),
                None,
            );
            let i = self.push(c, vec![Op::Write(w)]);
            self.deletes.push((i, lt.id().to_string()));
        }
    }

    fn tool(
        &mut self,
        ws: &Ws,
        parent: &str,
        set: &Target,
        set_spec: &ToolSetSpec,
        t: &ToolSpec,
        live_tools: &[Resource],
    ) {
        let address = child(parent, "tool", &t.id);
        let name = t.name.clone().unwrap_or_else(|| t.id.clone());
        let path = |rest: Vec<Seg>| {
            let mut p = vec![
                Seg::Lit("tool_sets".into()),
                set.seg.clone(),
                Seg::Lit("tools".into()),
            ];
            p.extend(rest);
            under(&ws.seg, p)
        };
        let config = t.http.as_ref().map(|(method, p)| {
            let mut h = json!({"requestMethod": method});
            if let Some(p) = p {
                h["path"] = json!(p);
            }
            json!({"http": h})
        });
        match by_ext_in(live_tools, &t.id) {
            None => {
                let Some(config) = config else {
                    self.errors.push(format!(
                        "{address} needs `http` (method and path) to be created"
                    ));
                    return;
                };
                let mut c = self.change(&address, "tool", Action::Create, Some(parent));
                c.fields
                    .push(FieldChange::after("description", lit(&t.description)));
                if let Some((m, p)) = &t.http {
                    c.fields.push(FieldChange::after(
                        "http",
                        lit(&format!("{m} {}", p.as_deref().unwrap_or(""))),
                    ));
                }
                let mut spec = json!({"description": t.description, "parameters": t.parameters, "config": config, "status": "TOOL_STATUS_AVAILABLE"});
                if let Some(r) = t.requires_approval {
                    spec["requiresApproval"] = json!(r);
                }
                c.depends_on.extend(set.created_by.clone());
                let body =
                    json!({"metadata": create_meta(&name, &t.id, ws.owner(), &[]), "spec": spec});
                let mut w = write(What::Tool, Verb::Create, "POST", path(vec![]), Some(body));
                w.remember = Some(format!("tool:{}/{}/{}", ws.id(), set_spec.id, t.id));
                w.ext = Some(t.id.clone());
                self.push(c, vec![Op::Write(w)]);
            }
            Some(live) => {
                let mut c = self.change(&address, "tool", Action::Update, Some(parent));
                c.label = Some(lit(live.id()));
                let mut p = Patch::default();
                if t.name.as_ref().is_some_and(|n| *n != live.metadata.name) {
                    c.fields.push(FieldChange::new(
                        "name",
                        lit(&live.metadata.name),
                        lit(&name),
                    ));
                    p.name = Some(name.clone());
                }
                if live.spec_str("/description") != Some(t.description.as_str()) {
                    c.fields.push(FieldChange::new(
                        "description",
                        opt_lit(live.spec_str("/description")),
                        lit(&t.description),
                    ));
                    p.spec("description", json!(t.description));
                }
                let have_params = live.spec("/parameters").cloned().unwrap_or(Value::Null);
                if !same_json(&have_params, &t.parameters) {
                    c.fields.push(FieldChange::new(
                        "parameters",
                        Shown::manifest_literal(&have_params),
                        Shown::manifest_literal(&t.parameters),
                    ));
                    p.spec("parameters", t.parameters.clone());
                }
                if let Some(config) = config {
                    // The manifest manages the method and path; whatever
                    // else the live config holds (headers, which may be
                    // credentials) is kept by the write and never shown.
                    let have = live.spec("/config").cloned().unwrap_or(Value::Null);
                    let want = overlay_oneof(&have, &config);
                    if !same_json(&have, &want) {
                        let shown = |v: &Value| {
                            let h = v.get("http");
                            let m = h
                                .and_then(|h| h.get("requestMethod"))
                                .and_then(Value::as_str);
                            let p = h.and_then(|h| h.get("path")).and_then(Value::as_str);
                            match (m, p) {
                                (None, None) => Shown::none(),
                                (m, p) => lit(&format!("{} {}", m.unwrap_or("?"), p.unwrap_or(""))),
                            }
                        };
                        c.fields
                            .push(FieldChange::new("http", shown(&have), shown(&want)));
                        p.spec("config", want);
                    }
                }
                if let Some(r) = t.requires_approval {
                    let have = live
                        .spec("/requiresApproval")
                        .and_then(Value::as_bool)
                        .unwrap_or(false);
                    if have != r {
                        c.fields
                            .push(FieldChange::plain("requires_approval", &have, &r));
                        p.spec("requiresApproval", json!(r));
                    }
                }
                if !p.is_empty() {
                    let full = merged_spec(&live.spec, &p.spec);
                    let body = p.body(live, Some(full));
                    let w = write(
                        What::Tool,
                        Verb::Update,
                        "PUT",
                        path(vec![Seg::Id(live.id().into())]),
                        Some(body),
                    );
                    self.push(c, vec![Op::Write(w)]);
                }
            }
        }
    }

    fn layer(&mut self, ws: &Ws, spec: &LayerSpec) {
        let address = layer_address(ws.id(), &spec.id);
        let live = by_ext_in(ws.list(|s| &s.layers), &spec.id);
        let name = spec.name.clone().unwrap_or_else(|| spec.id.clone());
        let wire_type = format!("MEMORY_LAYER_TYPE_{}", spec.layer_type.to_ascii_uppercase());
        let (target, entries_live) = match live {
            None => {
                let mut c = self.change(&address, "memory_layer", Action::Create, None);
                c.fields.push(FieldChange::after("name", lit(&name)));
                c.fields
                    .push(FieldChange::after("type", lit(&spec.layer_type)));
                let mut s = json!({"type": wire_type});
                if let Some(desc) = &spec.description {
                    s["description"] = json!(desc);
                    c.fields.push(FieldChange::after("description", lit(desc)));
                }
                c.depends_on = ws.deps();
                let body =
                    json!({"metadata": create_meta(&name, &spec.id, ws.owner(), &[]), "spec": s});
                let mut w = write(
                    What::Layer,
                    Verb::Create,
                    "POST",
                    under(&ws.seg, lits(&["memory_layers"])),
                    Some(body),
                );
                let key = format!("layer:{}/{}", ws.id(), spec.id);
                w.remember = Some(key.clone());
                w.ext = Some(spec.id.clone());
                self.push(c, vec![Op::Write(w)]);
                (Target::new(key, &address), None)
            }
            Some(live) => {
                let Some(adopt) = self.check_owner(ws, live, &address) else {
                    return;
                };
                let have_type = live
                    .spec_str("/type")
                    .map(|t| wire::short(t, "MEMORY_LAYER_TYPE_"));
                if have_type.as_deref().is_some_and(|t| t != spec.layer_type) {
                    self.errors.push(format!(
                        "{address}: its type is {} live and {} in the manifest; the type is set at creation only: give the layer a new id to create another",
                        have_type.unwrap_or_default(),
                        spec.layer_type
                    ));
                    return;
                }
                let mut c = self.change(&address, "memory_layer", Action::Update, None);
                c.label = Some(lit(live.id()));
                let mut p = Patch::default();
                if spec.name.as_ref().is_some_and(|n| *n != live.metadata.name) {
                    c.fields.push(FieldChange::new(
                        "name",
                        lit(&live.metadata.name),
                        lit(&name),
                    ));
                    p.name = Some(name.clone());
                }
                if let Some(desc) = &spec.description {
                    let have = live.spec_str("/description");
                    if have != Some(desc.as_str()) {
                        c.fields
                            .push(FieldChange::new("description", opt_lit(have), lit(desc)));
                        p.spec("description", json!(desc));
                    }
                }
                if adopt {
                    p.labels = ws.owner().map(|o| Self::adopted_labels(live, o));
                    c.notes.push("adopted: it gets the owner's label".into());
                }
                if !p.is_empty() {
                    let w = write(
                        What::Layer,
                        Verb::Update,
                        "PATCH",
                        under(
                            &ws.seg,
                            vec![Seg::Lit("memory_layers".into()), Seg::Id(live.id().into())],
                        ),
                        Some(p.body(live, None)),
                    );
                    self.push(c, vec![Op::Write(w)]);
                }
                (Target::live(live.id()), Some(live.id().to_string()))
            }
        };
        let Some(entries) = &spec.entries else {
            return;
        };
        let live_entries: &[Resource] = entries_live
            .as_ref()
            .and_then(|id| ws.space?.entries.get(id))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let path = |rest: Vec<Seg>| {
            let mut p = vec![
                Seg::Lit("memory_layers".into()),
                target.seg.clone(),
                Seg::Lit("entries".into()),
            ];
            p.extend(rest);
            under(&ws.seg, p)
        };
        for e in entries {
            let a = child(&address, "entry", &e.id);
            match by_ext_in(live_entries, &e.id) {
                None => {
                    let mut c = self.change(&a, "memory_entry", Action::Create, Some(&address));
                    c.fields.push(FieldChange::after("key", lit(&e.key)));
                    c.fields.push(FieldChange::after(
                        "content",
                        Shown::long_text(e.content.expose(), e.content.is_sensitive()),
                    ));
                    describe_change(&mut c, None, &e.content);
                    let mut s = json!({"key": e.key, "content": e.content.expose()});
                    if let Some(desc) = &e.description {
                        s["description"] = json!(desc);
                    }
                    c.depends_on.extend(target.created_by.clone());
                    let body =
                        json!({"metadata": create_meta(&e.id, &e.id, ws.owner(), &[]), "spec": s});
                    let mut w = write(What::Entry, Verb::Create, "POST", path(vec![]), Some(body));
                    w.ext = Some(e.id.clone());
                    self.push(c, vec![Op::Write(w)]);
                }
                Some(live) => {
                    let mut c = self.change(&a, "memory_entry", Action::Update, Some(&address));
                    c.label = Some(lit(live.id()));
                    let mut body = Map::new();
                    let mut mask = Vec::new();
                    if live.spec_str("/key") != Some(e.key.as_str()) {
                        c.fields.push(FieldChange::new(
                            "key",
                            opt_lit(live.spec_str("/key")),
                            lit(&e.key),
                        ));
                        body.insert("key".into(), json!(e.key));
                        mask.push("key");
                    }
                    if let Some(desc) = &e.description {
                        if live.spec_str("/description") != Some(desc.as_str()) {
                            c.fields.push(FieldChange::new(
                                "description",
                                opt_lit(live.spec_str("/description")),
                                lit(desc),
                            ));
                            body.insert("description".into(), json!(desc));
                            mask.push("description");
                        }
                    }
                    let have = live.spec_str("/content");
                    if !same_text(have.unwrap_or_default(), e.content.expose()) {
                        let sensitive = e.content.is_sensitive();
                        let before =
                            have.map_or_else(Shown::none, |h| Shown::long_text(h, sensitive));
                        c.fields.push(FieldChange::new(
                            "content",
                            before,
                            Shown::long_text(e.content.expose(), sensitive),
                        ));
                        describe_change(&mut c, have, &e.content);
                        body.insert("content".into(), json!(e.content.expose()));
                        mask.push("content");
                    }
                    if !mask.is_empty() {
                        // Entry masks use bare field names.
                        let b = json!({"spec": body, "updateMask": mask.join(",")});
                        let w = write(
                            What::Entry,
                            Verb::Update,
                            "PATCH",
                            path(vec![Seg::Id(live.id().into())]),
                            Some(b),
                        );
                        self.push(c, vec![Op::Write(w)]);
                    }
                }
            }
        }
        for le in live_entries {
            if le
                .metadata
                .ext()
                .is_some_and(|x| entries.iter().any(|e| e.id == x))
            {
                continue;
            }
            let a = child(&address, "entry", le.metadata.ext().unwrap_or(le.id()));
            let mut c = self.change(&a, "memory_entry", Action::Delete, Some(&address));
            c.label = Some(lit(le.id()));
            c.fields
                .push(FieldChange::before("key", opt_lit(le.spec_str("/key"))));
            let w = write(
                What::Entry,
                Verb::Delete,
                "DELETE",
                path(vec![Seg::Id(le.id().into())]),
                None,
            );
            self.push(c, vec![Op::Write(w)]);
        }
    }

    fn secret(&mut self, ws: &Ws, spec: &SecretSpec) {
        let address = secret_address(ws.id(), &spec.id);
        let live = by_ext_in(ws.list(|s| &s.secrets), &spec.id);
        let digest = self
            .live
            .secret_digests
            .get(&(ws.id().to_string(), spec.id.clone()))
            .cloned()
            .unwrap_or_default();
        match live {
            None => {
                let mut c = self.change(&address, "secret", Action::Create, None);
                c.fields.push(FieldChange::after("name", lit(&spec.name)));
                c.fields.push(FieldChange::after("value", Shown::secret()));
                c.depends_on = ws.deps();
                let meta = create_meta(
                    &spec.name,
                    &spec.id,
                    ws.owner(),
                    &[(FINGERPRINT_LABEL, &digest)],
                );
                let body = json!({"metadata": meta, "spec": {"value": spec.value.expose()}});
                let mut w = write(
                    What::Secret,
                    Verb::Create,
                    "POST",
                    under(&ws.seg, lits(&["workspace_secrets"])),
                    Some(body),
                );
                w.ext = Some(spec.id.clone());
                self.push(c, vec![Op::Write(w)]);
            }
            Some(live) => {
                let Some(adopt) = self.check_owner(ws, live, &address) else {
                    return;
                };
                let mut c = self.change(&address, "secret", Action::Update, None);
                c.label = Some(lit(live.id()));
                let mut p = Patch::default();
                if live.metadata.name != spec.name {
                    c.fields.push(FieldChange::new(
                        "name",
                        lit(&live.metadata.name),
                        lit(&spec.name),
                    ));
                    p.name = Some(spec.name.clone());
                }
                let stale = live.metadata.labels.get(FINGERPRINT_LABEL) != Some(&digest);
                if stale || self.local.sync_secrets {
                    c.fields
                        .push(FieldChange::new("value", Shown::secret(), Shown::secret()));
                    c.reason = Some(if stale {
                        "its value changed (the keyed fingerprint differs)".into()
                    } else {
                        "--sync-secrets".into()
                    });
                    p.spec("value", json!(spec.value.expose()));
                    let mut labels = live.metadata.labels.clone();
                    labels.insert(FINGERPRINT_LABEL.into(), digest.clone());
                    if let Some(o) = ws.owner() {
                        labels.insert(OWNER_LABEL.into(), o.into());
                    }
                    p.labels = Some(labels);
                }
                if adopt && p.labels.is_none() {
                    p.labels = ws.owner().map(|o| Self::adopted_labels(live, o));
                    c.notes.push("adopted: it gets the owner's label".into());
                }
                if !p.is_empty() {
                    let w = write(
                        What::Secret,
                        Verb::Update,
                        "PATCH",
                        under(
                            &ws.seg,
                            vec![
                                Seg::Lit("workspace_secrets".into()),
                                Seg::Id(live.id().into()),
                            ],
                        ),
                        Some(p.body(live, None)),
                    );
                    self.push(c, vec![Op::Write(w)]);
                }
            }
        }
    }

    /// Resolve an agent, tool set, tool or layer of this workspace by externalId.
    fn resolve(
        &mut self,
        ws: &Ws,
        r: &ToolRef,
        owner_address: &str,
    ) -> Option<(&'static str, Target)> {
        let live_of =
            |items: &[Resource], ext: &str| by_ext_in(items, ext).map(|r| r.id().to_string());
        let found = match r {
            ToolRef::ToolSet(s) => {
                let key = format!("tool_set:{}/{s}", ws.id());
                let t = match live_of(ws.list(|x| &x.tool_sets), s) {
                    Some(id) => Some(Target::live(&id)),
                    None if self
                        .desired
                        .tool_sets
                        .iter()
                        .any(|t| t.workspace == ws.id() && t.id == *s) =>
                    {
                        Some(Target::new(key, &tool_set_address(ws.id(), s)))
                    }
                    None => None,
                };
                t.map(|t| ("tool_set", t))
            }
            ToolRef::Agent(a) => {
                let t = match live_of(ws.list(|x| &x.agents), a) {
                    Some(id) => Some(Target::live(&id)),
                    None if self
                        .desired
                        .agents
                        .iter()
                        .any(|x| x.workspace == ws.id() && x.id == *a) =>
                    {
                        Some(Target::new(
                            format!("agent:{}/{a}", ws.id()),
                            &agent_address(ws.id(), a),
                        ))
                    }
                    None => None,
                };
                t.map(|t| ("agent", t))
            }
            ToolRef::Tool(s, tool) => {
                let set_live = live_of(ws.list(|x| &x.tool_sets), s);
                let in_live = set_live
                    .as_ref()
                    .and_then(|id| ws.space?.tools.get(id))
                    .and_then(|tools| live_of(tools, tool));
                let t = match in_live {
                    Some(id) => Some(Target::live(&id)),
                    None if self.desired.tool_sets.iter().any(|t| {
                        t.workspace == ws.id()
                            && t.id == *s
                            && t.tools
                                .as_ref()
                                .is_some_and(|ts| ts.iter().any(|x| x.id == *tool))
                    }) =>
                    {
                        let set_address = tool_set_address(ws.id(), s);
                        Some(Target::new(
                            format!("tool:{}/{s}/{tool}", ws.id()),
                            &child(&set_address, "tool", tool),
                        ))
                    }
                    None => None,
                };
                t.map(|t| ("tool", t))
            }
        };
        if found.is_none() {
            self.errors.push(format!(
                "{owner_address} uses `{}`, which is neither declared nor live in workspace `{}`",
                r.written(),
                ws.id()
            ));
        }
        if let Some((
            _,
            Target {
                seg: Seg::Id(id), ..
            },
        )) = &found
        {
            self.referenced.insert(id.clone());
        }
        found
    }

    fn resolve_layer(&mut self, ws: &Ws, ext: &str, owner_address: &str) -> Option<Target> {
        if let Some(l) = by_ext_in(ws.list(|x| &x.layers), ext) {
            self.referenced.insert(l.id().to_string());
            return Some(Target::live(l.id()));
        }
        if self
            .desired
            .layers
            .iter()
            .any(|l| l.workspace == ws.id() && l.id == ext)
        {
            return Some(Target::new(
                format!("layer:{}/{ext}", ws.id()),
                &layer_address(ws.id(), ext),
            ));
        }
        self.errors.push(format!(
            "{owner_address} stacks memory layer `{ext}`, which is neither declared nor live in workspace `{}`",
            ws.id()
        ));
        None
    }

    fn agent(&mut self, ws: &Ws, spec: &AgentSpec) {
        let address = agent_address(ws.id(), &spec.id);
        let live = by_ext_in(ws.list(|s| &s.agents), &spec.id);
        let name = spec.name.clone().unwrap_or_else(|| spec.id.clone());
        let key = format!("agent:{}/{}", ws.id(), spec.id);
        let publish = spec.status == Some(Status::Published);
        // Publication waits for variations created by this plan.
        let mut publish_later = false;
        // Whether this plan's update of the agent turns it into a draft.
        let mut unpublishing = false;
        let (target, live_agent) = match live {
            None => {
                if publish && spec.variations.as_ref().is_none_or(Vec::is_empty) {
                    self.errors.push(format!(
                        "{address} ({}) is to be published but declares no variations: a new agent has none, and Cadenya publishes only agents with one",
                        spec.source
                    ));
                    return;
                }
                let mut c = self.change(&address, "agent", Action::Create, None);
                c.fields.push(FieldChange::after("name", lit(&name)));
                let mut s = json!({
                    "status": "AGENT_STATUS_DRAFT",
                    "variationSelectionMode": format!("VARIATION_SELECTION_MODE_{}", spec.selection.as_deref().unwrap_or("random").to_ascii_uppercase()),
                });
                c.fields.push(FieldChange::after(
                    "status",
                    lit(if publish { "published" } else { "draft" }),
                ));
                if let Some(sel) = &spec.selection {
                    c.fields.push(FieldChange::after("selection", lit(sel)));
                }
                if let Some(desc) = &spec.description {
                    s["description"] = json!(desc);
                    c.fields.push(FieldChange::after("description", lit(desc)));
                }
                if let Some(u) = &spec.webhook_url {
                    s["webhookEventsUrl"] = json!(u.expose());
                    c.fields
                        .push(FieldChange::after("webhook_url", Shown::text(u)));
                }
                if let Some(schema) = &spec.input_schema {
                    s["inputDataSchema"] = schema.clone();
                    c.fields.push(FieldChange::after(
                        "input_schema",
                        Shown::manifest_literal(schema),
                    ));
                }
                if let Some(out) = &spec.output_definition {
                    s["outputDefinition"] = out.clone();
                    c.fields.push(FieldChange::after(
                        "output_definition",
                        Shown::manifest_literal(out),
                    ));
                }
                c.depends_on = ws.deps();
                let body =
                    json!({"metadata": create_meta(&name, &spec.id, ws.owner(), &[]), "spec": s});
                let mut w = write(
                    What::Agent,
                    Verb::Create,
                    "POST",
                    under(&ws.seg, lits(&["agents"])),
                    Some(body),
                );
                w.remember = Some(key.clone());
                w.ext = Some(spec.id.clone());
                if publish {
                    c.notes
                        .push("created as a draft, published once its variations exist".into());
                    publish_later = true;
                }
                self.push(c, vec![Op::Write(w)]);
                (Target::new(key, &address), None)
            }
            Some(live) => {
                let Some(adopt) = self.check_owner(ws, live, &address) else {
                    return;
                };
                let mut c = self.change(&address, "agent", Action::Update, None);
                c.label = Some(lit(live.id()));
                let mut p = Patch::default();
                if spec.name.as_ref().is_some_and(|n| *n != live.metadata.name) {
                    c.fields.push(FieldChange::new(
                        "name",
                        lit(&live.metadata.name),
                        lit(&name),
                    ));
                    p.name = Some(name.clone());
                }
                if let Some(desc) = &spec.description {
                    let have = live.spec_str("/description");
                    if have != Some(desc.as_str()) {
                        c.fields
                            .push(FieldChange::new("description", opt_lit(have), lit(desc)));
                        p.spec("description", json!(desc));
                    }
                }
                let have_status = live
                    .spec_str("/status")
                    .map(|s| wire::short(s, "AGENT_STATUS_"));
                if let Some(st) = spec.status {
                    let want = if st == Status::Published {
                        "published"
                    } else {
                        "draft"
                    };
                    if have_status.as_deref() != Some(want) {
                        if st == Status::Published {
                            // After any variation this plan creates.
                            publish_later = true;
                        } else {
                            c.fields.push(FieldChange::new(
                                "status",
                                opt_lit(have_status.as_deref()),
                                lit(want),
                            ));
                            p.spec("status", json!("AGENT_STATUS_DRAFT"));
                            unpublishing = true;
                        }
                    }
                }
                if let Some(sel) = &spec.selection {
                    let have = live
                        .spec_str("/variationSelectionMode")
                        .map(|s| wire::short(s, "VARIATION_SELECTION_MODE_"));
                    if have.as_deref() != Some(sel.as_str()) {
                        c.fields.push(FieldChange::new(
                            "selection",
                            opt_lit(have.as_deref()),
                            lit(sel),
                        ));
                        p.spec(
                            "variationSelectionMode",
                            json!(format!(
                                "VARIATION_SELECTION_MODE_{}",
                                sel.to_ascii_uppercase()
                            )),
                        );
                    }
                }
                if let Some(u) = &spec.webhook_url {
                    let have = live.spec_str("/webhookEventsUrl");
                    if have != Some(u.expose()) {
                        c.fields.push(FieldChange::text("webhook_url", have, u));
                        p.spec("webhookEventsUrl", json!(u.expose()));
                    }
                }
                if let Some(schema) = &spec.input_schema {
                    let have = live
                        .spec("/inputDataSchema")
                        .cloned()
                        .unwrap_or(Value::Null);
                    if !same_json(&have, schema) {
                        c.fields.push(FieldChange::new(
                            "input_schema",
                            Shown::manifest_literal(&have),
                            Shown::manifest_literal(schema),
                        ));
                        p.spec("inputDataSchema", schema.clone());
                    }
                }
                if let Some(out) = &spec.output_definition {
                    let have = live
                        .spec("/outputDefinition")
                        .cloned()
                        .unwrap_or(Value::Null);
                    if !same_json(&have, out) {
                        c.fields.push(FieldChange::new(
                            "output_definition",
                            Shown::manifest_literal(&have),
                            Shown::manifest_literal(out),
                        ));
                        p.spec("outputDefinition", out.clone());
                    }
                }
                if adopt {
                    p.labels = ws.owner().map(|o| Self::adopted_labels(live, o));
                    c.notes.push("adopted: it gets the owner's label".into());
                }
                if !p.is_empty() {
                    let w = write(
                        What::Agent,
                        Verb::Update,
                        "PATCH",
                        under(
                            &ws.seg,
                            vec![Seg::Lit("agents".into()), Seg::Id(live.id().into())],
                        ),
                        Some(p.body(live, None)),
                    );
                    self.push(c, vec![Op::Write(w)]);
                }
                (Target::live(live.id()), Some(live))
            }
        };
        let created_variations = match &spec.variations {
            Some(vars) => {
                let unpublished_by = unpublishing.then(|| address.clone());
                self.variations(
                    ws,
                    spec,
                    &address,
                    &target,
                    live_agent,
                    vars,
                    unpublished_by,
                )
            }
            None => Vec::new(),
        };
        if let Some(scheds) = &spec.schedules {
            self.schedules(ws, spec, &address, &target, live_agent, scheds);
        }
        if publish_later {
            let a = format!("{address}.publish");
            let mut c = self.change(&a, "publication", Action::Update, Some(&address));
            let before = live_agent
                .and_then(|l| l.spec_str("/status"))
                .map_or_else(|| lit("draft"), |s| lit(&wire::short(s, "AGENT_STATUS_")));
            c.fields
                .push(FieldChange::new("status", before, lit("published")));
            c.reason = Some("published once its variations exist".into());
            c.depends_on = created_variations;
            c.depends_on.extend(target.created_by.clone());
            let body =
                json!({"spec": {"status": "AGENT_STATUS_PUBLISHED"}, "updateMask": "spec.status"});
            let w = write(
                What::Agent,
                Verb::Update,
                "PATCH",
                under(&ws.seg, vec![Seg::Lit("agents".into()), target.seg.clone()]),
                Some(body),
            );
            self.push(c, vec![Op::Write(w)]);
        }
    }

    /// Plan an agent's variations; the addresses of those it creates.
    #[allow(clippy::too_many_arguments)]
    fn variations(
        &mut self,
        ws: &Ws,
        agent: &AgentSpec,
        parent: &str,
        target: &Target,
        live_agent: Option<&Resource>,
        vars: &[VariationSpec],
        unpublished_by: Option<String>,
    ) -> Vec<String> {
        let live_vars: &[Resource] = live_agent
            .and_then(|a| ws.space?.variations.get(a.id()))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut created = Vec::new();
        for v in vars {
            let address = child(parent, "variation", &v.id);
            let vpath = |rest: Vec<Seg>, var: Seg| {
                let mut p = vec![
                    Seg::Lit("agents".into()),
                    target.seg.clone(),
                    Seg::Lit("variations".into()),
                    var,
                ];
                p.extend(rest);
                under(&ws.seg, p)
            };
            let name = v.name.clone().unwrap_or_else(|| v.id.clone());
            let live = by_ext_in(live_vars, &v.id);
            let (mut c, mut ops, var_seg) = match live {
                None => {
                    let mut c = self.change(&address, "variation", Action::Create, Some(parent));
                    c.fields.push(FieldChange::after("name", lit(&name)));
                    let mut s = Map::new();
                    if let Some(desc) = &v.description {
                        s.insert("description".into(), json!(desc));
                        c.fields.push(FieldChange::after("description", lit(desc)));
                    }
                    if let Some(m) = model_config(v, None) {
                        s.insert("modelConfig".into(), m);
                    }
                    if let Some(m) = &v.model {
                        c.fields.push(FieldChange::after("model", lit(m)));
                    }
                    if let Some(t) = v.temperature {
                        c.fields
                            .push(FieldChange::after("temperature", Shown::plain(&t)));
                    }
                    if let Some(w) = v.weight {
                        s.insert("weight".into(), json!(w));
                        c.fields
                            .push(FieldChange::after("weight", Shown::plain(&w)));
                    }
                    if let Some(p) = &v.prompt {
                        s.insert("prompt".into(), json!(p.expose()));
                        c.fields.push(FieldChange::after(
                            "prompt",
                            Shown::long_text(p.expose(), p.is_sensitive()),
                        ));
                        describe_change(&mut c, None, p);
                    }
                    c.depends_on.extend(target.created_by.clone());
                    let key = format!("variation:{}/{}/{}", ws.id(), agent.id, v.id);
                    let body =
                        json!({"metadata": create_meta(&name, &v.id, ws.owner(), &[]), "spec": s});
                    let collection = under(
                        &ws.seg,
                        vec![
                            Seg::Lit("agents".into()),
                            target.seg.clone(),
                            Seg::Lit("variations".into()),
                        ],
                    );
                    let mut w = write(
                        What::Variation,
                        Verb::Create,
                        "POST",
                        collection,
                        Some(body),
                    );
                    w.remember = Some(key.clone());
                    w.ext = Some(v.id.clone());
                    created.push(address.clone());
                    (c, vec![Op::Write(w)], Seg::New(key))
                }
                Some(live) => {
                    let mut c = self.change(&address, "variation", Action::Update, Some(parent));
                    c.label = Some(lit(live.id()));
                    let mut p = Patch::default();
                    if v.name.as_ref().is_some_and(|n| *n != live.metadata.name) {
                        c.fields.push(FieldChange::new(
                            "name",
                            lit(&live.metadata.name),
                            lit(&name),
                        ));
                        p.name = Some(name.clone());
                    }
                    if let Some(desc) = &v.description {
                        let have = live.spec_str("/description");
                        if have != Some(desc.as_str()) {
                            c.fields.push(FieldChange::new(
                                "description",
                                opt_lit(have),
                                lit(desc),
                            ));
                            p.spec("description", json!(desc));
                        }
                    }
                    let have_model = live.spec_str("/modelConfig/modelId");
                    let have_temp = live
                        .spec("/modelConfig/temperature")
                        .and_then(Value::as_f64);
                    let mut model_changed = false;
                    if let Some(m) = &v.model {
                        if have_model != Some(m.as_str()) {
                            c.fields
                                .push(FieldChange::new("model", opt_lit(have_model), lit(m)));
                            model_changed = true;
                        }
                    }
                    if let Some(t) = v.temperature {
                        if have_temp.is_none_or(|h| (h - t).abs() > 1e-9) {
                            c.fields.push(FieldChange::new(
                                "temperature",
                                Shown::plain(&have_temp),
                                Shown::plain(&t),
                            ));
                            model_changed = true;
                        }
                    }
                    if model_changed {
                        // The mask replaces modelConfig whole: keep what is not managed.
                        if let Some(m) = model_config(v, live.spec("/modelConfig")) {
                            p.spec("modelConfig", m);
                        }
                    }
                    if let Some(w) = v.weight {
                        let have = live.spec("/weight").and_then(Value::as_u64).unwrap_or(0);
                        if have != w {
                            c.fields.push(FieldChange::plain("weight", &have, &w));
                            p.spec("weight", json!(w));
                        }
                    }
                    if let Some(pr) = &v.prompt {
                        let have = live.spec_str("/prompt");
                        if !same_text(have.unwrap_or_default(), pr.expose()) {
                            let before = have.map_or_else(Shown::none, |h| {
                                Shown::long_text(h, pr.is_sensitive())
                            });
                            c.fields.push(FieldChange::new(
                                "prompt",
                                before,
                                Shown::long_text(pr.expose(), pr.is_sensitive()),
                            ));
                            describe_change(&mut c, have, pr);
                            p.spec("prompt", json!(pr.expose()));
                        }
                    }
                    let mut ops = Vec::new();
                    if !p.is_empty() {
                        ops.push(Op::Write(write(
                            What::Variation,
                            Verb::Update,
                            "PATCH",
                            vpath(vec![], Seg::Id(live.id().into())),
                            Some(p.body(live, None)),
                        )));
                    }
                    (c, ops, Seg::Id(live.id().to_string()))
                }
            };
            if let Some(tools) = &v.tools {
                self.assignments(ws, &address, &mut c, &mut ops, live, tools, &|rest| {
                    vpath(rest, var_seg.clone())
                });
            }
            if let Some(memory) = &v.memory {
                self.stack(ws, &address, &mut c, &mut ops, live, memory, &|rest| {
                    vpath(rest, var_seg.clone())
                });
            }
            if !ops.is_empty() {
                self.push(c, ops);
            }
        }
        // Variations no manifest declares: deleted after the new ones exist
        // (a published agent never loses its last variation first).
        for lv in live_vars {
            if lv
                .metadata
                .ext()
                .is_some_and(|e| vars.iter().any(|v| v.id == e))
            {
                continue;
            }
            let a = child(parent, "variation", lv.metadata.ext().unwrap_or(lv.id()));
            let mut c = self.change(&a, "variation", Action::Delete, Some(parent));
            c.label = Some(lit(lv.id()));
            c.fields
                .push(FieldChange::before("name", lit(&lv.metadata.name)));
            c.depends_on = created.clone();
            // An agent turned draft is unpublished before it can lose its
            // last variation (a published agent must keep one).
            c.depends_on.extend(unpublished_by.clone());
            self.gone_with(lv, &a);
            let w = write(
                What::Variation,
                Verb::Delete,
                "DELETE",
                under(
                    &ws.seg,
                    vec![
                        Seg::Lit("agents".into()),
                        target.seg.clone(),
                        Seg::Lit("variations".into()),
                        Seg::Id(lv.id().into()),
                    ],
                ),
                None,
            );
            self.push(c, vec![Op::Write(w)]);
        }
        created
    }

    /// Tool, tool-set and sub-agent assignments as a set.
    #[allow(clippy::too_many_arguments)]
    fn assignments(
        &mut self,
        ws: &Ws,
        address: &str,
        c: &mut Change,
        ops: &mut Vec<Op>,
        live: Option<&Resource>,
        tools: &[ToolRef],
        path: &dyn Fn(Vec<Seg>) -> Vec<Seg>,
    ) {
        let have = live.map(wire::assignments).unwrap_or_default();
        let mut wanted: Vec<(&'static str, Target, &ToolRef)> = Vec::new();
        for r in tools {
            if let Some((kind, t)) = self.resolve(ws, r, address) {
                wanted.push((kind, t, r));
            }
        }
        let mut added = Vec::new();
        let mut removed = Vec::new();
        for (kind, t, r) in &wanted {
            let present = match &t.seg {
                Seg::Id(id) => have.iter().any(|a| a.kind == *kind && a.target == *id),
                _ => false,
            };
            if present {
                continue;
            }
            let field = match *kind {
                "tool" => "toolId",
                "tool_set" => "toolSetId",
                _ => "subAgentId",
            };
            let mut w = write(
                What::Assignment,
                Verb::Create,
                "POST",
                path(vec![Seg::Lit("assignments".into())]),
                Some(json!({field: ""})),
            );
            w.fill.push((format!("/{field}"), t.seg.clone()));
            w.conflict_ok = true;
            c.depends_on.extend(t.created_by.clone());
            ops.push(Op::Write(w));
            added.push(Literal(r.written()));
        }
        for a in &have {
            let keep = wanted
                .iter()
                .any(|(kind, t, _)| *kind == a.kind && t.seg == Seg::Id(a.target.clone()));
            if keep {
                continue;
            }
            ops.push(Op::Write(write(
                What::Assignment,
                Verb::Delete,
                "DELETE",
                path(vec![Seg::Lit("assignments".into()), Seg::Id(a.id.clone())]),
                None,
            )));
            self.removals
                .entry(a.target.clone())
                .or_default()
                .push(address.to_string());
            removed.push(Literal(format!("{}:{}", a.kind, a.target)));
        }
        if !added.is_empty() {
            c.fields.push(
                FieldChange::after("tools added", Shown::plain(&added)).shown_as(Show::Named),
            );
        }
        if !removed.is_empty() {
            c.fields.push(
                FieldChange::after("tools removed", Shown::plain(&removed)).shown_as(Show::Named),
            );
        }
        if c.action == Action::Update && (!added.is_empty() || !removed.is_empty()) {
            // Shown as a change of the set.
            let before: Vec<Literal> = have
                .iter()
                .map(|a| Literal(format!("{}:{}", a.kind, a.target)))
                .collect();
            let after: Vec<Literal> = tools.iter().map(|r| Literal(r.written())).collect();
            c.fields.push(FieldChange::new(
                "tools",
                Shown::plain(&before),
                Shown::plain(&after),
            ));
        }
    }

    /// A memory stack: bottom first; moves never collide on a position.
    #[allow(clippy::too_many_arguments)]
    fn stack(
        &mut self,
        ws: &Ws,
        address: &str,
        c: &mut Change,
        ops: &mut Vec<Op>,
        live: Option<&Resource>,
        memory: &[String],
        path: &dyn Fn(Vec<Seg>) -> Vec<Seg>,
    ) {
        let have = live.map(wire::layer_assignments).unwrap_or_default();
        let mut wanted: Vec<Target> = Vec::new();
        for ext in memory {
            match self.resolve_layer(ws, ext, address) {
                Some(t) => wanted.push(t),
                None => return,
            }
        }
        let have_ids: Vec<&str> = have.iter().map(|a| a.layer.as_str()).collect();
        let want_ids: Vec<Option<&str>> = wanted
            .iter()
            .map(|t| match &t.seg {
                Seg::Id(id) => Some(id.as_str()),
                _ => None,
            })
            .collect();
        if want_ids.iter().all(Option::is_some)
            && have_ids == want_ids.iter().flatten().copied().collect::<Vec<_>>()
        {
            // Same order: positions themselves do not matter.
            return;
        }
        let row = |id: &str| Seg::Id(id.to_string());
        // 1. Detach what leaves the stack.
        for a in &have {
            if !want_ids.contains(&Some(a.layer.as_str())) {
                ops.push(Op::Write(write(
                    What::LayerAssignment,
                    Verb::Delete,
                    "DELETE",
                    path(vec![
                        Seg::Lit("memory_layer_assignments".into()),
                        row(&a.id),
                    ]),
                    None,
                )));
                self.removals
                    .entry(a.layer.clone())
                    .or_default()
                    .push(address.to_string());
            }
        }
        // 2. Lift what stays but moves above everything, 3. then set final positions.
        let top = have
            .iter()
            .map(|a| a.position)
            .max()
            .unwrap_or(0)
            .max(memory.len() as i64);
        let mut moves = Vec::new();
        for (i, t) in wanted.iter().enumerate() {
            let final_pos = i as i64 + 1;
            if let Seg::Id(id) = &t.seg {
                if let Some(a) = have.iter().find(|a| a.layer == *id) {
                    if a.position != final_pos {
                        let lift = top + 1 + moves.len() as i64;
                        ops.push(Op::Write(write(
                            What::LayerAssignment,
                            Verb::Update,
                            "PATCH",
                            path(vec![
                                Seg::Lit("memory_layer_assignments".into()),
                                row(&a.id),
                            ]),
                            Some(json!({"position": lift})),
                        )));
                        moves.push((a.id.clone(), final_pos));
                    }
                    continue;
                }
            }
        }
        for (id, pos) in moves {
            ops.push(Op::Write(write(
                What::LayerAssignment,
                Verb::Update,
                "PATCH",
                path(vec![Seg::Lit("memory_layer_assignments".into()), row(&id)]),
                Some(json!({"position": pos})),
            )));
        }
        // 4. Attach new layers at their places.
        for (i, t) in wanted.iter().enumerate() {
            let attached = matches!(&t.seg, Seg::Id(id) if have.iter().any(|a| a.layer == *id));
            if attached {
                continue;
            }
            let mut w = write(
                What::LayerAssignment,
                Verb::Create,
                "POST",
                path(vec![Seg::Lit("memory_layer_assignments".into())]),
                Some(json!({"memoryLayerId": "", "position": i as i64 + 1})),
            );
            w.fill.push(("/memoryLayerId".into(), t.seg.clone()));
            w.conflict_ok = true;
            c.depends_on.extend(t.created_by.clone());
            ops.push(Op::Write(w));
        }
        let names = |ids: Vec<String>| ids.into_iter().map(Literal).collect::<Vec<_>>();
        let before = names(have.iter().map(|a| self.layer_name(ws, &a.layer)).collect());
        let after = names(memory.to_vec());
        if c.action == Action::Create {
            c.fields
                .push(FieldChange::after("memory", Shown::plain(&after)));
        } else {
            c.fields.push(FieldChange::new(
                "memory",
                Shown::plain(&before),
                Shown::plain(&after),
            ));
        }
    }

    fn layer_name(&self, ws: &Ws, id: &str) -> String {
        ws.list(|s| &s.layers)
            .iter()
            .find(|l| l.id() == id)
            .and_then(|l| l.metadata.ext().map(str::to_string))
            .unwrap_or_else(|| id.to_string())
    }

    fn schedules(
        &mut self,
        ws: &Ws,
        agent: &AgentSpec,
        parent: &str,
        target: &Target,
        live_agent: Option<&Resource>,
        scheds: &[ScheduleSpec],
    ) {
        let live_s: &[Resource] = live_agent
            .and_then(|a| ws.space?.schedules.get(a.id()))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let live_vars: &[Resource] = live_agent
            .and_then(|a| ws.space?.variations.get(a.id()))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let spath = |rest: Vec<Seg>| {
            let mut p = vec![
                Seg::Lit("agents".into()),
                target.seg.clone(),
                Seg::Lit("schedules".into()),
            ];
            p.extend(rest);
            under(&ws.seg, p)
        };
        for s in scheds {
            let address = child(parent, "schedule", &s.id);
            let name = s.name.clone().unwrap_or_else(|| s.id.clone());
            let rule = schedule_rule(s);
            let status = if s.paused == Some(true) {
                "AGENT_SCHEDULE_STATUS_PAUSED"
            } else {
                "AGENT_SCHEDULE_STATUS_ACTIVE"
            };
            let variation = s.variation.as_ref().map(|v| match by_ext_in(live_vars, v) {
                Some(lv) => Target::live(lv.id()),
                None => Target::new(
                    format!("variation:{}/{}/{v}", ws.id(), agent.id),
                    &child(parent, "variation", v),
                ),
            });
            match by_ext_in(live_s, &s.id) {
                None => {
                    let mut c = self.change(&address, "schedule", Action::Create, Some(parent));
                    let (field, text) = rule_field(&s.rule);
                    c.fields.push(FieldChange::after(field, lit(text)));
                    c.fields
                        .push(FieldChange::after("timezone", lit(&s.timezone)));
                    c.fields
                        .push(FieldChange::after("message", Shown::text(&s.message)));
                    let mut spec = json!({"initialMessage": s.message.expose(), "schedule": rule, "status": status});
                    if let Some(o) = &s.overlap {
                        spec["overlapPolicy"] =
                            json!(format!("OVERLAP_POLICY_{}", o.to_ascii_uppercase()));
                        c.fields.push(FieldChange::after("overlap", lit(o)));
                    }
                    if s.paused == Some(true) {
                        c.fields
                            .push(FieldChange::after("paused", Shown::plain(&true)));
                    }
                    let mut w = write(What::Schedule, Verb::Create, "POST", spath(vec![]), None);
                    if let Some(v) = &variation {
                        spec["variationId"] = json!("");
                        w.fill.push(("/spec/variationId".into(), v.seg.clone()));
                        c.depends_on.extend(v.created_by.clone());
                    }
                    c.depends_on.extend(target.created_by.clone());
                    w.body = Some(
                        json!({"metadata": create_meta(&name, &s.id, ws.owner(), &[]), "spec": spec}),
                    );
                    w.ext = Some(s.id.clone());
                    self.push(c, vec![Op::Write(w)]);
                }
                Some(live) => {
                    let mut c = self.change(&address, "schedule", Action::Update, Some(parent));
                    c.label = Some(lit(live.id()));
                    let mut p = Patch::default();
                    let mut fill = Vec::new();
                    if s.name.as_ref().is_some_and(|n| *n != live.metadata.name) {
                        c.fields.push(FieldChange::new(
                            "name",
                            lit(&live.metadata.name),
                            lit(&name),
                        ));
                        p.name = Some(name.clone());
                    }
                    let have_rule = live.spec("/schedule").cloned().unwrap_or(Value::Null);
                    if !same_rule(&have_rule, &rule) {
                        let (field, text) = rule_field(&s.rule);
                        c.fields.push(FieldChange::new(
                            field,
                            lit(&live_rule_text(&have_rule)),
                            lit(text),
                        ));
                        c.fields.push(FieldChange::new(
                            "timezone",
                            opt_lit(have_rule.get("timezone").and_then(Value::as_str)),
                            lit(&s.timezone),
                        ));
                        p.spec("schedule", rule.clone());
                    }
                    let have_msg = live.spec_str("/initialMessage");
                    if have_msg != Some(s.message.expose()) {
                        c.fields
                            .push(FieldChange::text("message", have_msg, &s.message));
                        p.spec("initialMessage", json!(s.message.expose()));
                    }
                    if let Some(o) = &s.overlap {
                        let have = live
                            .spec_str("/overlapPolicy")
                            .map(|x| wire::short(x, "OVERLAP_POLICY_"));
                        if have.as_deref() != Some(o.as_str()) {
                            c.fields.push(FieldChange::new(
                                "overlap",
                                opt_lit(have.as_deref()),
                                lit(o),
                            ));
                            p.spec(
                                "overlapPolicy",
                                json!(format!("OVERLAP_POLICY_{}", o.to_ascii_uppercase())),
                            );
                        }
                    }
                    if let Some(paused) = s.paused {
                        let have = live
                            .spec_str("/status")
                            .is_some_and(|x| wire::short(x, "AGENT_SCHEDULE_STATUS_") == "paused");
                        if have != paused {
                            c.fields.push(FieldChange::plain("paused", &have, &paused));
                            p.spec("status", json!(status));
                        }
                    }
                    if let Some(v) = &variation {
                        let same = matches!(&v.seg, Seg::Id(id) if live.spec_str("/variationId") == Some(id.as_str()));
                        if !same {
                            c.fields.push(FieldChange::new(
                                "variation",
                                opt_lit(live.spec_str("/variationId")),
                                lit(s.variation.as_deref().unwrap_or_default()),
                            ));
                            p.spec("variationId", json!(""));
                            fill.push(("/spec/variationId".to_string(), v.seg.clone()));
                            c.depends_on.extend(v.created_by.clone());
                        }
                    }
                    if !p.is_empty() {
                        let mut w = write(
                            What::Schedule,
                            Verb::Update,
                            "PATCH",
                            spath(vec![Seg::Id(live.id().into())]),
                            Some(p.body(live, None)),
                        );
                        w.fill = fill;
                        self.push(c, vec![Op::Write(w)]);
                    }
                }
            }
        }
        for ls in live_s {
            if ls
                .metadata
                .ext()
                .is_some_and(|e| scheds.iter().any(|s| s.id == e))
            {
                continue;
            }
            let a = child(parent, "schedule", ls.metadata.ext().unwrap_or(ls.id()));
            let mut c = self.change(&a, "schedule", Action::Delete, Some(parent));
            c.label = Some(lit(ls.id()));
            c.fields
                .push(FieldChange::before("name", lit(&ls.metadata.name)));
            let w = write(
                What::Schedule,
                Verb::Delete,
                "DELETE",
                spath(vec![Seg::Id(ls.id().into())]),
                None,
            );
            self.push(c, vec![Op::Write(w)]);
        }
    }

    /// Owned resources no manifest declares, deleted with `prune: true`.
    fn prune(&mut self, ws: &Ws) {
        let (Some(owner), true) = (ws.owner(), ws.spec.prune) else {
            return;
        };
        let d = self.desired;
        let ids = |it: &mut dyn Iterator<Item = (&'_ String, &'_ String)>| -> Vec<String> {
            it.filter(|(w, _)| **w == ws.spec.id)
                .map(|(_, id)| id.clone())
                .collect()
        };
        type Address = fn(&str, &str) -> String;
        const PRUNED: [(What, &str, &str, Address); 4] = [
            (What::Agent, "agent", "agents", agent_address),
            (What::ToolSet, "tool_set", "tool_sets", tool_set_address),
            (What::Layer, "memory_layer", "memory_layers", layer_address),
            (What::Secret, "secret", "workspace_secrets", secret_address),
        ];
        for (what, resource, collection, address_of) in PRUNED {
            let (items, declared) = match what {
                What::Agent => (
                    ws.list(|s| &s.agents),
                    ids(&mut d.agents.iter().map(|x| (&x.workspace, &x.id))),
                ),
                What::ToolSet => (
                    ws.list(|s| &s.tool_sets),
                    ids(&mut d.tool_sets.iter().map(|x| (&x.workspace, &x.id))),
                ),
                What::Layer => (
                    ws.list(|s| &s.layers),
                    ids(&mut d.layers.iter().map(|x| (&x.workspace, &x.id))),
                ),
                _ => (
                    ws.list(|s| &s.secrets),
                    ids(&mut d.secrets.iter().map(|x| (&x.workspace, &x.id))),
                ),
            };
            for r in items {
                if !r.metadata.owned_by(owner)
                    || r.metadata
                        .ext()
                        .is_some_and(|e| declared.iter().any(|x| x == e))
                {
                    continue;
                }
                let address = address_of(ws.id(), r.metadata.ext().unwrap_or(r.id()));
                if self.referenced.contains(r.id()) {
                    self.errors.push(format!(
                        "{address} is to be pruned (no manifest declares it) but a declared variation still uses it: declare it, or stop using it"
                    ));
                    continue;
                }
                let mut c = self.change(&address, resource, Action::Delete, None);
                c.label = Some(lit(r.id()));
                c.fields
                    .push(FieldChange::before("name", lit(&r.metadata.name)));
                let path = under(
                    &ws.seg,
                    vec![Seg::Lit(collection.into()), Seg::Id(r.id().into())],
                );
                let w = write(what, Verb::Delete, "DELETE", path, None);
                match what {
                    // Its variations go with it, and their assignments.
                    What::Agent => {
                        let vars = ws.space.and_then(|s| s.variations.get(r.id()));
                        for v in vars.into_iter().flatten() {
                            self.gone_with(v, &address);
                        }
                    }
                    // Its tools go with it: it waits for removals of those too.
                    What::ToolSet => {
                        let tools = ws.space.and_then(|s| s.tools.get(r.id()));
                        let ids: Vec<String> = tools
                            .into_iter()
                            .flatten()
                            .map(|t| t.id().to_string())
                            .collect();
                        let i = self.plan.changes.len();
                        self.deletes.extend(ids.into_iter().map(|t| (i, t)));
                    }
                    _ => {}
                }
                let i = self.push(c, vec![Op::Write(w)]);
                self.deletes.push((i, r.id().to_string()));
            }
        }
    }
}

/// `modelConfig` from a variation, keeping the live parts it does not manage.
fn model_config(v: &VariationSpec, live: Option<&Value>) -> Option<Value> {
    if v.model.is_none() && v.temperature.is_none() {
        return None;
    }
    let mut m = live
        .cloned()
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}));
    if let Some(model) = &v.model {
        m["modelId"] = json!(model);
    }
    if let Some(t) = v.temperature {
        m["temperature"] = json!(t);
    }
    Some(m)
}

/// The wire's `schedule` for a manifest schedule.
fn schedule_rule(s: &ScheduleSpec) -> Value {
    match &s.rule {
        Rule::Cron { calendars, .. } => json!({"timezone": s.timezone, "calendars": calendars}),
        Rule::Every { seconds, .. } => {
            json!({"timezone": s.timezone, "intervals": [{"every": format!("{seconds}s")}]})
        }
    }
}

/// The field a schedule's rule is shown as, and its text: `cron` (the
/// engine adds the next fire times of a `cron` field, in `timezone` too) or
/// `every`.
fn rule_field(r: &Rule) -> (&'static str, &str) {
    match r {
        Rule::Cron { text, .. } => ("cron", text),
        Rule::Every { text, .. } => ("every", text),
    }
}

/// A live schedule, said briefly.
fn live_rule_text(v: &Value) -> String {
    if let Some(i) = v
        .get("intervals")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
    {
        if let Some(secs) = i.get("every").and_then(cron::wire_seconds) {
            return format!("every {secs}s");
        }
    }
    match v.get("calendars") {
        Some(c) => format!("calendars {c}"),
        None => "none".into(),
    }
}

/// Whether two wire schedules fire alike (ranges normalized, intervals in seconds).
fn same_rule(live: &Value, want: &Value) -> bool {
    let tz = |v: &Value| {
        v.get("timezone")
            .and_then(Value::as_str)
            .unwrap_or("UTC")
            .to_string()
    };
    let cals = |v: &Value| -> Vec<Value> {
        v.get("calendars")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(cron::normalize).collect())
            .unwrap_or_default()
    };
    let ints = |v: &Value| -> Vec<(Option<f64>, f64)> {
        v.get("intervals")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|i| {
                        (
                            i.get("every").and_then(cron::wire_seconds),
                            i.get("offset").and_then(cron::wire_seconds).unwrap_or(0.0),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    tz(live) == tz(want) && cals(live) == cals(want) && ints(live) == ints(want)
}

/// JSON equality where numbers compare by value.
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_json(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

/// A oneof (`{"http": {…}}`) as it is to be written: when `want` picks the
/// same branch as `have`, `have`'s fields that `want` does not name are kept
/// (a write that does not manage a live header must not drop it); another
/// branch replaces it whole.
fn overlay_oneof(have: &Value, want: &Value) -> Value {
    let (Some(h), Some(w)) = (have.as_object(), want.as_object()) else {
        return want.clone();
    };
    let branch =
        |m: &Map<String, Value>| (m.len() == 1).then(|| m.keys().next().cloned()).flatten();
    match (branch(h), branch(w)) {
        (Some(a), Some(b)) if a == b => {
            let mut inner = h[&a].as_object().cloned().unwrap_or_default();
            for (k, v) in w[&b].as_object().into_iter().flatten() {
                // Headers merge by name: a declared header is set, one the
                // manifest does not declare is kept (never dropped).
                match (inner.get_mut(k), v) {
                    (Some(Value::Object(live)), Value::Object(declared)) if k == "headers" => {
                        for (name, value) in declared {
                            live.insert(name.clone(), value.clone());
                        }
                    }
                    _ => {
                        inner.insert(k.clone(), v.clone());
                    }
                }
            }
            json!({ a: inner })
        }
        _ => want.clone(),
    }
}

/// The live spec with `changed` fields replaced (for PUT).
fn merged_spec(live: &Value, changed: &Map<String, Value>) -> Value {
    let mut m = live.as_object().cloned().unwrap_or_default();
    for (k, v) in changed {
        m.insert(k.clone(), v.clone());
    }
    Value::Object(m)
}

fn headers_json(h: &Option<BTreeMap<String, Text>>) -> Option<Value> {
    h.as_ref().map(|h| {
        Value::Object(
            h.iter()
                .map(|(k, v)| (k.clone(), json!(v.expose())))
                .collect(),
        )
    })
}

/// An adapter as the wire has it.
pub fn adapter_json(a: &Adapter) -> Value {
    match a {
        Adapter::Http { base_url, headers } => {
            let mut h = json!({"baseUrl": base_url.expose()});
            if let Some(x) = headers_json(headers) {
                h["headers"] = x;
            }
            json!({"http": h})
        }
        Adapter::Mcp { url, headers } => {
            let mut m = json!({"url": url.expose()});
            if let Some(x) = headers_json(headers) {
                m["headers"] = x;
            }
            json!({"mcp": m})
        }
        Adapter::OpenApi {
            url,
            base_url,
            headers,
        } => {
            let mut o = json!({"url": url.expose()});
            if let Some(b) = base_url {
                o["baseUrl"] = json!(b.expose());
            }
            if let Some(x) = headers_json(headers) {
                o["headers"] = x;
            }
            json!({"openapi": o})
        }
    }
}

fn adapter_parts(a: &Adapter) -> (&'static str, &Text, &Option<BTreeMap<String, Text>>) {
    match a {
        Adapter::Http { base_url, headers } => ("http", base_url, headers),
        Adapter::Mcp { url, headers } => ("mcp", url, headers),
        Adapter::OpenApi { url, headers, .. } => ("openapi", url, headers),
    }
}

/// An adapter as a plan shows it: header values masked as the manifest's are.
fn adapter_shown(a: &Adapter) -> Shown {
    let (kind, url, headers) = adapter_parts(a);
    let mut entries = vec![
        ("type".to_string(), lit(kind)),
        ("url".to_string(), Shown::text(url)),
    ];
    if let Some(h) = headers {
        entries.push((
            "headers".into(),
            Shown::object(h.iter().map(|(k, v)| (k.clone(), Shown::text(v)))),
        ));
    }
    Shown::object(entries)
}

/// The live adapter beside the manifest's: each header masked as the
/// manifest's header of that name (every header when the manifest has none
/// of that name is masked whole: a live header may be a credential).
fn live_adapter_shown(live: &Value, like: &Adapter) -> Shown {
    let (_, want_url, want_headers) = adapter_parts(like);
    let Some((kind, inner)) = live.as_object().and_then(|m| m.iter().next()) else {
        return Shown::none();
    };
    let url_key = if kind == "http" { "baseUrl" } else { "url" };
    let url = inner
        .get(url_key)
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut entries = vec![
        ("type".to_string(), lit(kind)),
        ("url".to_string(), Shown::live(url, want_url)),
    ];
    if let Some(h) = inner.get("headers").and_then(Value::as_object) {
        let shown = h.iter().map(|(k, v)| {
            let value = v.as_str().unwrap_or_default();
            let s = match want_headers.as_ref().and_then(|w| w.get(k)) {
                Some(t) => Shown::live(value, t),
                None => Shown::secret(),
            };
            (k.clone(), s)
        });
        entries.push(("headers".into(), Shown::object(shown)));
    }
    Shown::object(entries)
}

/// A fingerprint of every live object read, by address (a secret's value
/// is left out: it may be echoed, and a plan file must not depend on it).
pub fn fingerprints(live: &Live) -> BTreeMap<String, String> {
    fn hash(r: &Resource, with_spec: bool) -> String {
        let v = json!([
            r.metadata,
            if with_spec {
                r.spec.clone()
            } else {
                Value::Null
            },
            r.info.get("assignments"),
            r.info.get("memoryLayerAssignments")
        ]);
        crate::engine::sha256_hex(v.to_string().as_bytes())
    }
    let mut out = BTreeMap::new();
    for (ws, s) in &live.spaces {
        let mut put = |kind: &str, r: &Resource, with_spec: bool| {
            out.insert(
                format!("cadenya.{kind}[{}]#{}", quote(ws), r.id()),
                hash(r, with_spec),
            );
        };
        put("workspace", &s.workspace, true);
        for (kind, list) in [
            ("agent", &s.agents),
            ("tool_set", &s.tool_sets),
            ("memory_layer", &s.layers),
            ("model", &s.models),
        ] {
            for r in list.iter().flatten() {
                put(kind, r, true);
            }
        }
        for r in s.secrets.iter().flatten() {
            put("secret", r, false);
        }
        for (kind, map) in [
            ("variation", &s.variations),
            ("schedule", &s.schedules),
            ("tool", &s.tools),
            ("entry", &s.entries),
        ] {
            for r in map.values().flatten() {
                put(kind, r, true);
            }
        }
    }
    out
}

#[cfg(test)]
#[path = "diff/tests.rs"]
mod tests;

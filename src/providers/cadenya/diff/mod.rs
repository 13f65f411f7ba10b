//! Cadenya's rules: compare desired with live state, field by field, and
//! list the changes with their requests. A pure function: no I/O, no clock.
//! One file per resource (`workspace.rs`, `agent.rs`, `variation.rs`,
//! `schedule.rs`, `tool_set.rs`, `memory.rs`, `secret.rs`); this one holds
//! what they share.
//!
//! - Fields come from the tables (`tables.rs`): an update is one `PATCH`
//!   whose `updateMask` names the narrowest leaf of each changed field
//!   (`spec.modelConfig.temperature`, never `spec.modelConfig`, which would
//!   reset siblings the manifest does not manage); every update in the API
//!   is a PATCH with the mask in the body (`agents.py:177-197`).
//! - Hand-written, each saying why: assignment sets and memory stacks
//!   (inline in the variation's spec, validated and written atomically:
//!   `types.py:695`), publication and pauses (actions), unions (adapters,
//!   tool configs carry their `type` tag), write-only secrets (a keyed
//!   fingerprint in a label), ownership, adoption and prune.
//! - Ordering: a variation exists before its agent is published; the
//!   variations of an agent are deleted after its new ones exist (and after
//!   an unpublish); a delete waits for every change that removes what
//!   points at its target.
//! - Ownership: everything written carries the owner's label
//!   `twinform.io/owner` (the API has no other ownership field); a live
//!   resource with a declared externalId but not the owner's label is
//!   refused unless `--adopt`; prune deletes only owned resources and names
//!   the ones it leaves to another owner.

mod agent;
mod memory;
mod schedule;
mod secret;
mod tool;
mod tool_set;
mod variation;
mod workspace;

pub(crate) use memory::entry_values;

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{json, Map, Value};

use super::model::*;
use super::ops::{Op, Seg, Verb, What, Write};
use super::read::{by_ext_in, Live, Space};
use super::wire::{self, Resource, OWNER_LABEL};
use crate::engine::plan::{quote, Action, Change, FieldChange, Literal, Plan, Show, Shown};
use crate::engine::provider::{Diffed, Local, PlanError};
use crate::engine::resource::{self, Patch, Table, Values};

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

pub fn child(parent: &str, kind: &str, id: &str) -> String {
    format!("{parent}.{kind}[{}]", quote(id))
}

fn lit(s: &str) -> Shown {
    Shown::plain(&Literal::from(s))
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

/// The labels a create stamps: the owner's, and `extra`.
fn labels(owner: Option<&str>, extra: &[(&str, &str)]) -> Map<String, Value> {
    let mut l = Map::new();
    if let Some(o) = owner {
        l.insert(OWNER_LABEL.into(), o.into());
    }
    for (k, v) in extra {
        l.insert((*k).into(), (*v).into());
    }
    l
}

/// A create's body from a table: every declared field at its write path
/// (shown on `c`), and `metadata` with `name` (the declared one, else the
/// id: `CreateResourceMetadata.name` is required, `types.py:1609`),
/// `externalId` and the owner's label.
fn create_body(
    table: &Table,
    values: &Values,
    name_key: &'static str,
    id: &str,
    owner: Option<&str>,
    c: &mut Change,
) -> Value {
    let mut body = json!({});
    let mut shown = Change::new(PROVIDER, &c.address, c.resource, Action::Create);
    resource::create(table, values, &mut shown, &mut body);
    if values.str(name_key).is_none() {
        c.fields.push(FieldChange::after(name_key, lit(id)));
    }
    c.fields.extend(shown.fields);
    c.diff = shown.diff.or(c.diff.take());
    c.tokens = shown.tokens.or(c.tokens.take());
    c.notes.extend(shown.notes);
    let m = body
        .as_object_mut()
        .map(|b| b.entry("metadata").or_insert_with(|| json!({})));
    if let Some(m) = m.and_then(Value::as_object_mut) {
        m.entry("name").or_insert_with(|| json!(id));
        m.insert("externalId".into(), json!(id));
        let l = labels(owner, &[]);
        if !l.is_empty() {
            m.insert("labels".into(), Value::Object(l));
        }
    }
    if body.get("spec").is_none() {
        body["spec"] = json!({});
    }
    body
}

/// The table's differences between `values` and `live`, shown on `c` and
/// written into `p`.
fn table_diff(
    table: &Table,
    values: &Values,
    live: &Resource,
    c: &mut Change,
    p: &mut Patch,
) -> resource::diff::Found {
    let mut shown = Change::new(PROVIDER, &c.address, c.resource, Action::Update);
    let found = resource::diff(table, values, &live.json(), &mut shown, p);
    c.fields.extend(shown.fields);
    if c.diff.is_none() {
        c.diff = shown.diff;
        c.tokens = shown.tokens;
    }
    c.notes.extend(shown.notes);
    found
}

/// The body of a PATCH: `patch`'s fields and mask (`updateMask`, a
/// comma-separated string in the body: `agents.py:177-197`). Whenever
/// metadata is sent its `name` goes too (required then:
/// `UpdateResourceMetadataParam`, `types.py:7780`), the live one unless it
/// changes; `labels` (adoption, a fingerprint) replace the live ones;
/// `whole`: metadata is replaced whole on this resource (memory entries,
/// the loader's `updateMask`), so every field of it is sent.
fn patch_body(
    mut patch: Patch,
    live: &Resource,
    labels: Option<&BTreeMap<String, String>>,
    whole: bool,
) -> Value {
    if let Some(l) = labels {
        patch.set("metadata.labels", "metadata.labels", json!(l));
    }
    if let Some(m) = patch
        .body
        .get_mut("metadata")
        .and_then(Value::as_object_mut)
    {
        m.entry("name").or_insert_with(|| json!(live.metadata.name));
        if whole {
            m.entry("externalId")
                .or_insert_with(|| json!(live.metadata.external_id.clone().unwrap_or_default()));
            m.entry("labels")
                .or_insert_with(|| json!(live.metadata.labels));
        }
    }
    if patch.body.is_null() {
        patch.body = json!({});
    }
    patch.body["updateMask"] = json!(patch.mask_string());
    patch.body
}

/// A POST of `body` to the collection at `path`, creating the object
/// with externalId `ext`; its server id is remembered under `key`, for the
/// children created after it in the same apply.
fn create_write(what: What, path: Vec<Seg>, body: Value, key: &str, ext: &str) -> Write {
    let mut w = write(what, Verb::Create, "POST", path, Some(body));
    w.remember = Some(key.to_string());
    w.ext = Some(ext.to_string());
    w
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

/// An action on the resource at `path` (`POST <path>:<verb>`, no body).
fn action(what: What, verb: Verb, path: Vec<Seg>) -> Op {
    Op::Write(write(what, verb, "POST", path, None))
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
    /// Changes that remove assignments to a target, by the target's
    /// canonical id: a delete of that target waits for them.
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
            let c = &mut d.plan.changes[i];
            for b in by {
                if !c.depends_on.contains(b) && *b != c.address {
                    c.depends_on.push(b.clone());
                }
            }
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

    /// Whether a live resource may be managed (`Some(true)`: it is adopted
    /// by this plan); records an error if not.
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
    /// their targets waits for it (a layer still assigned cannot be deleted).
    fn gone_with(&mut self, variation: &Resource, by: &str) {
        let targets = wire::assignments(variation)
            .into_iter()
            .map(|a| a.target)
            .chain(wire::stack(variation));
        for t in targets {
            self.removals.entry(t).or_default().push(by.to_string());
        }
    }

    /// The labels an adopted resource gets: its own plus the owner's.
    /// The PATCH of a workspace's resource at `path`: the table's changes
    /// in `p` and, when it is adopted and the workspace names an owner, the
    /// owner's label beside the live ones (noted on `c`); `None` when
    /// nothing changes.
    fn update_op(
        ws: &Ws,
        live: &Resource,
        adopt: bool,
        p: Patch,
        what: What,
        path: Vec<Seg>,
        c: &mut Change,
    ) -> Option<Op> {
        let labels = adopt
            .then(|| ws.owner().map(|o| Self::adopted_labels(live, o)))
            .flatten();
        if labels.is_some() {
            c.notes.push("adopted: it gets the owner's label".into());
        }
        (!p.is_empty() || labels.is_some()).then(|| {
            let body = patch_body(p, live, labels.as_ref(), false);
            Op::Write(write(what, Verb::Update, "PATCH", path, Some(body)))
        })
    }

    fn adopted_labels(live: &Resource, owner: &str) -> BTreeMap<String, String> {
        let mut l = live.metadata.labels.clone();
        l.insert(OWNER_LABEL.into(), owner.into());
        l
    }

    /// Resolve an agent, tool set or tool of this workspace by externalId.
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
                let t = match live_of(ws.list(|x| &x.tool_sets), s) {
                    Some(id) => Some(Target::live(&id)),
                    None if self
                        .desired
                        .tool_sets
                        .iter()
                        .any(|t| t.workspace == ws.id() && t.id == *s) =>
                    {
                        Some(Target::new(
                            format!("tool_set:{}/{s}", ws.id()),
                            &tool_set_address(ws.id(), s),
                        ))
                    }
                    None => None,
                };
                t.map(|t| ("toolSetId", t))
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
                t.map(|t| ("subAgentId", t))
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
                t.map(|t| ("toolId", t))
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
            if l.system_managed() {
                self.errors.push(format!(
                    "{owner_address} stacks memory layer `{ext}`, which is system-managed (the runtime's): it cannot be assigned"
                ));
                return None;
            }
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

    /// A layer's id as a manifest names it (its externalId when it has one).
    fn layer_name(&self, ws: &Ws, id: &str) -> String {
        ws.list(|s| &s.layers)
            .iter()
            .find(|l| l.id() == id)
            .and_then(|l| l.metadata.ext().map(str::to_string))
            .unwrap_or_else(|| id.to_string())
    }

    /// Owned resources no manifest declares, deleted with `prune: true`;
    /// the ones another owner holds (or no one) are left alone and named in
    /// a warning line. System-managed layers are the runtime's: never pruned.
    fn prune(&mut self, ws: &Ws) {
        let (Some(owner), true) = (ws.owner(), ws.spec.prune) else {
            return;
        };
        let d = self.desired;
        let declared = |what: What| -> Vec<String> {
            let here = |w: &String| *w == ws.spec.id;
            match what {
                What::Agent => d
                    .agents
                    .iter()
                    .filter(|x| here(&x.workspace))
                    .map(|x| x.id.clone())
                    .collect(),
                What::ToolSet => d
                    .tool_sets
                    .iter()
                    .filter(|x| here(&x.workspace))
                    .map(|x| x.id.clone())
                    .collect(),
                What::Layer => d
                    .layers
                    .iter()
                    .filter(|x| here(&x.workspace))
                    .map(|x| x.id.clone())
                    .collect(),
                _ => d
                    .secrets
                    .iter()
                    .filter(|x| here(&x.workspace))
                    .map(|x| x.id.clone())
                    .collect(),
            }
        };
        type Address = fn(&str, &str) -> String;
        const PRUNED: [(What, &str, &str, Address); 4] = [
            (What::Agent, "agent", "agents", agent_address),
            (What::ToolSet, "tool_set", "tool_sets", tool_set_address),
            (What::Layer, "memory_layer", "memory_layers", layer_address),
            (What::Secret, "secret", "workspace_secrets", secret_address),
        ];
        let mut left: Vec<String> = Vec::new();
        for (what, resource, collection, address_of) in PRUNED {
            let items = match what {
                What::Agent => ws.list(|s| &s.agents),
                What::ToolSet => ws.list(|s| &s.tool_sets),
                What::Layer => ws.list(|s| &s.layers),
                _ => ws.list(|s| &s.secrets),
            };
            let declared = declared(what);
            for r in items {
                if r.system_managed()
                    || r.metadata
                        .ext()
                        .is_some_and(|e| declared.iter().any(|x| x == e))
                {
                    continue;
                }
                let address = address_of(ws.id(), r.metadata.ext().unwrap_or(r.id()));
                if !r.metadata.owned_by(owner) {
                    let whose = r
                        .metadata
                        .owner()
                        .map_or_else(|| "no owner".to_string(), |o| format!("owner `{o}`"));
                    left.push(format!("{address} ({whose})"));
                    continue;
                }
                if self.referenced.contains(r.id()) {
                    self.errors.push(format!(
                        "{address} is to be pruned (no manifest declares it) but a declared variation still uses it: declare it, or stop using it"
                    ));
                    continue;
                }
                let mut c = self.change(&address, resource, Action::Delete, None);
                c.label = Some(lit(r.id()));
                c.fields.push(
                    FieldChange::before("name", lit(&r.metadata.name)).shown_as(Show::Context),
                );
                let path = under(
                    &ws.seg,
                    vec![Seg::Lit(collection.into()), Seg::Id(r.id().into())],
                );
                let mut ops = Vec::new();
                match what {
                    What::Agent => {
                        // Its variations go with it, and their assignments;
                        // a published agent is unpublished first (the API
                        // refuses to delete it).
                        let vars = ws.space.and_then(|s| s.variations.get(r.id()));
                        for v in vars.into_iter().flatten() {
                            self.gone_with(v, &address);
                        }
                        if r.state() == "STATE_PUBLISHED" {
                            ops.push(action(What::Agent, Verb::Unpublish, path.clone()));
                        }
                    }
                    What::ToolSet => {
                        // Its tools go with it: it waits for removals of those too.
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
                ops.push(Op::Write(write(what, Verb::Delete, "DELETE", path, None)));
                let i = self.push(c, ops);
                self.deletes.push((i, r.id().to_string()));
            }
        }
        if !left.is_empty() {
            self.plan.warnings.push(format!(
                "prune leaves {} in workspace `{}` alone: not owned by `{owner}`: {}",
                if left.len() == 1 {
                    "1 live resource".to_string()
                } else {
                    format!("{} live resources", left.len())
                },
                ws.id(),
                left.join(", ")
            ));
        }
    }
}

/// A fingerprint of every live object read, by address (a secret's value
/// is left out: it is never read, and a plan file must not depend on it).
pub fn fingerprints(live: &Live) -> BTreeMap<String, String> {
    fn hash(r: &Resource, with_spec: bool) -> String {
        let v = json!([
            r.metadata,
            if with_spec {
                r.spec.clone()
            } else {
                Value::Null
            },
            r.state,
            r.content
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
        for r in s.set_secrets.values().flatten() {
            put("tool_set_secret", r, false);
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
mod tests;

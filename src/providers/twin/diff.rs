//! Twin's rules: compare desired with live state and list the changes, with
//! typed field changes (masked by construction where the manifest value is
//! sensitive) and the operations that apply them. A pure function: no I/O,
//! no clock, no randomness.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::model::{AgentSpec, Desired, ScheduleSpec, WebhookSpec};
use super::ops::{Op, WorkspaceRef};
use super::read::Live;
use super::rules::url_key;
use super::tables;
use super::wire::{PatchWebhook, Schedule, Webhook};
use crate::engine::manifest::Text;
use crate::engine::plan::{
    quote, textdiff, Action, Change, FieldChange, Literal, Plan, Show, Shown,
};
use crate::engine::provider::{Diffed, Local, PlanError};
use crate::engine::resource::{self, Patch, Table, Values};

/// The provider name on every change.
const PROVIDER: &str = "twin";

pub fn agent_address(id: &str) -> String {
    format!("agent[{}]", quote(id))
}

pub fn workspace_address(name: &str) -> String {
    format!("workspace[{}]", quote(name))
}

/// Instructions compare as the table's long texts do
/// ([`textdiff::same_text`]; kept for the callers outside the diff).
pub use crate::engine::plan::textdiff::same_text as same_instructions;

/// What a table finds different between declared `values` and a live
/// record: the fields (by manifest key), and the update's body. The plan's
/// presentation of Twin's changes is its own (context fields, flags), so
/// the table's shown fields are not kept.
fn compare(table: &Table, values: &Values, live: &serde_json::Value) -> (Vec<&'static str>, Patch) {
    let mut scratch = Change::new(PROVIDER, "", "", Action::Update);
    let mut patch = Patch::default();
    let found = resource::diff(table, values, live, &mut scratch, &mut patch);
    (found.changed, patch)
}

/// The create-only fields of an agent (`subagent`, `derived_from`) that
/// the live agent says (a server that does not return one cannot be
/// compared on it, so it never causes a replace).
pub(crate) fn create_only(spec: &AgentSpec, live: &serde_json::Value) -> Values {
    let mut v = tables::agent_values(spec);
    v.fields.retain(|k, _| {
        tables::AGENT.field(k).is_some_and(|f| {
            f.nature.create_only && resource::at(live, f.wire.read).is_some_and(|x| !x.is_null())
        })
    });
    v
}

/// A wire value as the replace reason shows it (`false`, `parent-id`).
fn bare(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A resolved workspace: how to reference it and its display name.
#[derive(Debug, Clone)]
struct Ws {
    reference: WorkspaceRef,
    name: String,
    /// The address of the change creating it, if it is new.
    created_by: Option<String>,
}

struct Differ<'a> {
    desired: &'a Desired,
    live: &'a Live,
    local: &'a Local,
    plan: Plan,
    ops: Vec<Vec<Op>>,
    errors: Vec<String>,
    /// Declared workspace name → resolved.
    declared: HashMap<String, Ws>,
}

/// Compare `desired` with `live` for the part of the manifests in
/// `local.scope` (`--workspace`): only those workspaces and the agents
/// declared in them are compared and pruned. `live` must have been read with
/// the same scope.
pub fn diff(desired: &Desired, live: &Live, local: &Local) -> Result<Diffed<Op>, PlanError> {
    let scope = &local.scope;
    let mut d = Differ {
        desired,
        live,
        local,
        plan: Plan::default(),
        ops: Vec::new(),
        errors: Vec::new(),
        declared: HashMap::new(),
    };
    let in_scope: Vec<&AgentSpec> = desired
        .agents
        .iter()
        .filter(|a| scope.has_workspace(&a.workspace))
        .collect();
    d.plan.managed = vec![
        (
            "workspace",
            desired
                .workspaces
                .iter()
                .filter(|w| scope.has_workspace(&w.name))
                .count(),
        ),
        ("agent", in_scope.len()),
    ];
    d.workspaces();
    for agent in in_scope {
        d.agent(agent);
    }
    d.prune();
    if d.errors.is_empty() {
        Ok((d.plan, d.ops))
    } else {
        Err(PlanError { problems: d.errors })
    }
}

/// A change of an agent's (or standalone, for workspaces).
fn change(address: &str, resource: &'static str, action: Action, agent: Option<&str>) -> Change {
    let mut c = Change::new(PROVIDER, address, resource, action);
    c.destructive = false;
    if let Some(id) = agent {
        c.agent = Some(id.to_string());
        c.group = Some(agent_address(id));
    }
    c
}

fn lit(s: &str) -> Shown {
    Shown::plain(&Literal::from(s))
}

impl Differ<'_> {
    fn push(&mut self, change: Change, ops: Vec<Op>) {
        // A workspace outside `--workspace` is resolved (agents may name it)
        // but never changed.
        if change.resource == "workspace" {
            let out = self.desired.workspaces.iter().any(|w| {
                workspace_address(&w.name) == change.address
                    && !self.local.scope.has_workspace(&w.name)
            });
            if out {
                return;
            }
        }
        self.plan.changes.push(change);
        self.ops.push(ops);
    }

    fn live_ws_name(&self, id: &str) -> String {
        self.live
            .workspaces
            .iter()
            .find(|w| w.workspace_id == id)
            .map_or_else(|| id.to_string(), |w| w.name.clone())
    }

    fn workspaces(&mut self) {
        let mut by_name: HashMap<&str, Vec<&str>> = HashMap::new();
        for w in &self.live.workspaces {
            by_name
                .entry(w.name.as_str())
                .or_default()
                .push(w.workspace_id.as_str());
        }
        for spec in &self.desired.workspaces {
            let address = workspace_address(&spec.name);
            let found = match &spec.id {
                Some(id) => match self.live.workspaces.iter().find(|w| &w.workspace_id == id) {
                    Some(w) => Some(w),
                    None => {
                        self.errors.push(format!(
                            "{address} pins id `{id}`, which does not exist live"
                        ));
                        continue;
                    }
                },
                None => match by_name.get(spec.name.as_str()).map(Vec::as_slice) {
                    None | Some([]) => None,
                    Some([id]) => self.live.workspaces.iter().find(|w| &w.workspace_id == id),
                    Some(ids) => {
                        self.errors.push(format!(
                            "{address}: two live workspaces are named `{}` ({}): pin one with `id:` in the manifest",
                            spec.name,
                            ids.join(", ")
                        ));
                        continue;
                    }
                },
            };
            let name_field = |before: &str| {
                FieldChange::new("name", lit(before), lit(&spec.name)).shown_as(Show::Context)
            };
            match found {
                None => {
                    let mut ops = vec![Op::CreateWorkspace {
                        name: spec.name.clone(),
                    }];
                    let mut c = change(&address, "workspace", Action::Create, None);
                    c.fields
                        .push(FieldChange::after("name", lit(&spec.name)).shown_as(Show::Context));
                    if let Some(icon) = &spec.icon {
                        ops.push(Op::UpdateWorkspace {
                            workspace: WorkspaceRef::New(spec.name.clone()),
                            name: spec.name.clone(),
                            icon: Some(icon.expose().to_string()),
                        });
                    }
                    let values = tables::workspace_values(spec);
                    resource::create(
                        &tables::WORKSPACE,
                        &values,
                        &mut c,
                        &mut serde_json::Value::Null,
                    );
                    self.push(c, ops);
                    self.declared.insert(
                        spec.name.clone(),
                        Ws {
                            reference: WorkspaceRef::New(spec.name.clone()),
                            name: spec.name.clone(),
                            created_by: Some(address),
                        },
                    );
                }
                Some(w) => {
                    let rename = w.name != spec.name;
                    if let Some(taken) =
                        self.live.workspaces.iter().find(|o| {
                            rename && o.name == spec.name && o.workspace_id != w.workspace_id
                        })
                    {
                        // Names are how agents and later plans find workspaces.
                        self.errors.push(format!(
                            "workspace {address} renames `{}` ({}) to `{}`, the name live workspace {} already has: \
                             two workspaces with one name would break every later plan; rename or delete the other first",
                            w.name, w.workspace_id, spec.name, taken.workspace_id
                        ));
                        continue;
                    }
                    let mut c = change(&address, "workspace", Action::Update, None);
                    let mut name = name_field(&w.name);
                    name.show = Show::Named;
                    c.fields.push(name);
                    let found = resource::diff(
                        &tables::WORKSPACE,
                        &tables::workspace_values(spec),
                        &tables::json(w),
                        &mut c,
                        &mut Patch::default(),
                    );
                    if rename || !found.changed.is_empty() {
                        let op = Op::UpdateWorkspace {
                            workspace: WorkspaceRef::Id(w.workspace_id.clone()),
                            name: spec.name.clone(),
                            icon: spec.icon.as_ref().map(|i| i.expose().to_string()),
                        };
                        self.push(c, vec![op]);
                    }
                    self.declared.insert(
                        spec.name.clone(),
                        Ws {
                            reference: WorkspaceRef::Id(w.workspace_id.clone()),
                            name: spec.name.clone(),
                            created_by: None,
                        },
                    );
                }
            }
        }
    }

    /// The workspace an agent names: declared, else unique live by name.
    fn resolve(&mut self, agent: &AgentSpec) -> Option<Ws> {
        if let Some(ws) = self.declared.get(&agent.workspace) {
            return Some(ws.clone());
        }
        let matches: Vec<_> = self
            .live
            .workspaces
            .iter()
            .filter(|w| w.name == agent.workspace)
            .collect();
        if let [w] = matches.as_slice() {
            if let Some(renamed) = self
                .desired
                .workspaces
                .iter()
                .find(|d| d.id.as_deref() == Some(w.workspace_id.as_str()))
            {
                // Applying would work once, then every later plan would fail:
                // the old name no longer exists.
                self.errors.push(format!(
                    "agent `{}` ({}) names workspace `{}`, which the manifests rename to `{}` (id {}): write `workspace: {}`",
                    agent.id, agent.source, agent.workspace, renamed.name, w.workspace_id, renamed.name
                ));
                return None;
            }
        }
        match matches.as_slice() {
            [w] => Some(Ws {
                reference: WorkspaceRef::Id(w.workspace_id.clone()),
                name: w.name.clone(),
                created_by: None,
            }),
            [] => {
                self.errors.push(format!(
                    "agent `{}` ({}): workspace `{}` is neither declared in a manifest nor exists live",
                    agent.id, agent.source, agent.workspace
                ));
                None
            }
            many => {
                let ids: Vec<&str> = many.iter().map(|w| w.workspace_id.as_str()).collect();
                self.errors.push(format!(
                    "agent `{}`: two live workspaces are named `{}` ({}): declare it with a pinned `id:`",
                    agent.id,
                    agent.workspace,
                    ids.join(", ")
                ));
                None
            }
        }
    }

    fn agent(&mut self, spec: &AgentSpec) {
        let Some(ws) = self.resolve(spec) else { return };
        let address = agent_address(&spec.id);
        let ws_deps: Vec<String> = ws.created_by.iter().cloned().collect();
        let create = Op::CreateAgent {
            agent_id: spec.id.clone(),
            workspace: ws.reference.clone(),
            subagent: spec.subagent.0,
            derived_from: spec.derived_from.0.clone(),
        };
        // What a created (or re-created) agent will be.
        let described = |c: &mut Change| {
            c.fields
                .push(FieldChange::after("workspace", lit(&ws.name)));
            if let Some(s) = spec.subagent.0 {
                c.fields
                    .push(FieldChange::after("subagent", Shown::plain(&s)));
            }
            if let Some(d) = &spec.derived_from.0 {
                c.fields.push(FieldChange::after("derived_from", lit(d)));
            }
        };
        let live = self.live.agents.get(&spec.id);
        // Whether the agent exists with its children as read (false: new or replaced).
        let existing = match live {
            None => {
                let mut c = change(&address, "agent", Action::Create, Some(&spec.id));
                described(&mut c);
                c.depends_on = ws_deps;
                self.push(c, vec![create]);
                false
            }
            Some(a) => {
                let view = tables::agent_view(a, None);
                let declared = create_only(spec, &view);
                let (changed, _) = compare(&tables::AGENT, &declared, &view);
                let reasons: Vec<String> = changed
                    .iter()
                    .filter_map(|k| {
                        let f = tables::AGENT.field(k)?;
                        let want = resource::to_wire(f, &declared.get(k)?.val);
                        let have = resource::at(&view, f.wire.read)?;
                        Some(format!("{k} {} → {}", bare(have), bare(&want)))
                    })
                    .collect();
                let live_ws = a.workspace_id.as_deref().unwrap_or_default();
                if !reasons.is_empty() {
                    let mut c = change(&address, "agent", Action::Replace, Some(&spec.id));
                    described(&mut c);
                    c.fields[0].before = lit(&self.live_ws_name(live_ws));
                    for f in &mut c.fields[1..] {
                        f.before = match f.name {
                            "subagent" => {
                                a.is_subagent.map_or_else(Shown::none, |s| Shown::plain(&s))
                            }
                            _ => a
                                .derived_from_agent_id
                                .as_deref()
                                .map_or_else(Shown::none, lit),
                        };
                    }
                    c.reason = Some(format!(
                        "must be replaced: {} (run history is lost)",
                        reasons.join(", ")
                    ));
                    c.destructive = true;
                    c.depends_on = ws_deps;
                    let ops = vec![
                        Op::DeleteAgent {
                            agent_id: spec.id.clone(),
                        },
                        create,
                    ];
                    self.push(c, ops);
                    false
                } else {
                    let moved = match &ws.reference {
                        WorkspaceRef::Id(id) => id != live_ws,
                        WorkspaceRef::New(_) => true,
                    };
                    if moved {
                        let mut c = change(&address, "agent", Action::Move, Some(&spec.id));
                        c.fields.push(FieldChange::new(
                            "workspace",
                            lit(&self.live_ws_name(live_ws)),
                            lit(&ws.name),
                        ));
                        c.depends_on = ws_deps;
                        let op = Op::MoveAgent {
                            agent_id: spec.id.clone(),
                            workspace: ws.reference.clone(),
                        };
                        self.push(c, vec![op]);
                    }
                    true
                }
            }
        };
        let parent: Vec<String> = if existing {
            Vec::new()
        } else {
            vec![address.clone()]
        };
        if let Some(text) = &spec.instructions {
            self.instructions(spec, text, existing, &parent);
        }
        if let Some(schedule) = &spec.schedule {
            let live = if existing {
                self.live.schedules.get(&spec.id)
            } else {
                None
            };
            self.schedule(spec, schedule.as_ref(), live, &parent);
        }
        if let Some(hooks) = &spec.webhooks {
            let live = if existing {
                self.live
                    .webhooks
                    .get(&spec.id)
                    .cloned()
                    .unwrap_or_default()
            } else {
                Vec::new()
            };
            self.webhooks(spec, hooks, &live, &parent);
        }
    }

    fn instructions(&mut self, spec: &AgentSpec, text: &Text, existing: bool, parent: &[String]) {
        let live = if existing {
            self.live
                .instructions
                .get(&spec.id)
                .cloned()
                .flatten()
                .map(|i| i.content)
        } else {
            None
        };
        let mut values = Values::default();
        values.set("instructions", resource::Val::Text(text.clone()));
        let view = serde_json::json!({"instructions": {"content": live}});
        if compare(&tables::AGENT, &values, &view).0.is_empty() {
            return;
        }
        let address = format!("{}.instructions", agent_address(&spec.id));
        let action = if live.is_some() {
            Action::Update
        } else {
            Action::Create
        };
        let mut c = change(&address, "instructions", action, Some(&spec.id));
        // Sensitive text (interpolated) is shown masked on both sides.
        textdiff::describe_change(&mut c, live.as_deref(), text);
        c.depends_on = parent.to_vec();
        let op = Op::PutInstructions {
            agent_id: spec.id.clone(),
            content: text.expose().to_string(),
        };
        self.push(c, vec![op]);
    }

    fn schedule(
        &mut self,
        spec: &AgentSpec,
        want: Option<&ScheduleSpec>,
        live: Option<&Schedule>,
        parent: &[String],
    ) {
        let address = format!("{}.schedule", agent_address(&spec.id));
        let id = spec.id.clone();
        let (action, ops, reason) = match (want, live) {
            (None, None) => return,
            (None, Some(_)) => (
                Action::Delete,
                vec![Op::DeleteSchedule { agent_id: id }],
                None,
            ),
            (Some(w), None) => {
                let mut ops = vec![Op::PutSchedule {
                    agent_id: id.clone(),
                    cron: w.cron.expose().to_string(),
                }];
                if w.paused == Some(true) {
                    ops.push(Op::PauseSchedule { agent_id: id });
                }
                (Action::Create, ops, None)
            }
            (Some(w), Some(l)) => {
                let mut ops = Vec::new();
                let mut reason = None;
                let (changed, _) = compare(
                    &tables::SCHEDULE,
                    &tables::schedule_values(w),
                    &tables::json(l),
                );
                if changed.contains(&"cron") {
                    ops.push(Op::PutSchedule {
                        agent_id: id.clone(),
                        cron: w.cron.expose().to_string(),
                    });
                }
                // `paused` is written by an action, not by the PUT.
                let paused = changed.contains(&"paused");
                match w.paused {
                    Some(true) if paused => ops.push(Op::PauseSchedule { agent_id: id.clone() }),
                    Some(false) if paused => {
                        ops.push(Op::ResumeSchedule { agent_id: id.clone() });
                        if l.auto_paused {
                            reason = Some(format!(
                                "auto-paused by Twin after {} consecutive failures",
                                l.consecutive_failures
                            ));
                        }
                    }
                    None if l.auto_paused => self.plan.warnings.push(format!(
                        "{address} was auto-paused by Twin after {} consecutive failures (paused is not managed)",
                        l.consecutive_failures
                    )),
                    _ => {}
                }
                if ops.is_empty() {
                    return;
                }
                (Action::Update, ops, reason)
            }
        };
        let mut c = change(&address, "schedule", action, Some(&spec.id));
        let paused_flag = Show::Flag {
            on: ", paused",
            off: "",
        };
        // The live cron is shown as the manifest's is: masked where it interpolates.
        let cron_before = live.map_or_else(Shown::absent, |l| match want {
            Some(w) => Shown::live(&l.cron, &w.cron),
            None => Shown::plain(&Literal(l.cron.clone())),
        });
        let cron_after = want.map_or_else(Shown::absent, |w| Shown::text(&w.cron));
        c.fields
            .push(FieldChange::new("cron", cron_before, cron_after));
        c.fields.push(
            FieldChange::new(
                "paused",
                live.map_or_else(Shown::absent, |l| Shown::plain(&l.paused)),
                want.and_then(|w| w.paused)
                    .map_or_else(Shown::absent, |p| Shown::plain(&p)),
            )
            .shown_as(paused_flag),
        );
        if let Some(l) = live {
            c.fields.push(
                FieldChange::before("auto_paused", Shown::plain(&l.auto_paused))
                    .shown_as(Show::Context),
            );
            c.fields.push(
                FieldChange::before(
                    "consecutive_failures",
                    Shown::plain(&l.consecutive_failures),
                )
                .shown_as(Show::Context),
            );
        }
        c.reason = reason;
        c.depends_on = parent.to_vec();
        self.push(c, ops);
    }

    fn webhooks(
        &mut self,
        spec: &AgentSpec,
        want: &[WebhookSpec],
        live: &[Webhook],
        parent: &[String],
    ) {
        let mut by_url: BTreeMap<String, Vec<&Webhook>> = BTreeMap::new();
        for w in live {
            by_url.entry(url_key(&w.url)).or_default().push(w);
        }
        let wanted: BTreeSet<String> = want.iter().map(|w| url_key(w.url.expose())).collect();
        let base = agent_address(&spec.id);
        for (i, w) in want.iter().enumerate() {
            let address = format!("{base}.webhook[{}]", quote(w.url.shown()));
            let status = if w.enabled { "active" } else { "disabled" };
            let candidates = by_url
                .get(&url_key(w.url.expose()))
                .cloned()
                .unwrap_or_default();
            // Prefer a live webhook that already matches, so duplicates lose the extra.
            let matched = candidates
                .iter()
                .find(|l| sorted(&l.events) == w.events && l.status == status)
                .or_else(|| candidates.first())
                .copied();
            match matched {
                None => {
                    let mut c = webhook_change(spec, &address, Action::Create, Shown::text(&w.url));
                    webhook_fields(&mut c, None, Some(w));
                    c.depends_on = parent.to_vec();
                    self.push(c, create_webhook_ops(spec, w));
                }
                Some(l) if self.local.cut_short.contains(&address) => {
                    // An apply was killed while creating it: its secret is nowhere.
                    let mut c =
                        webhook_change(spec, &address, Action::Replace, Shown::text(&w.url));
                    webhook_fields(&mut c, Some((l, &w.url)), Some(w));
                    c.destructive = true;
                    c.reason = Some(
                        "signing secret was never stored (an apply was stopped while creating it)"
                            .into(),
                    );
                    c.depends_on = parent.to_vec();
                    let mut ops = vec![Op::DeleteWebhook {
                        agent_id: spec.id.clone(),
                        webhook_id: l.webhook_id.clone(),
                    }];
                    ops.extend(create_webhook_ops(spec, w));
                    self.push(c, ops);
                    self.delete_extras(spec, &address, &candidates, l, &w.url);
                }
                Some(l) => {
                    let values = tables::webhook_values(i, w);
                    let (_, body) = compare(&tables::WEBHOOK, &values, &tables::webhook_json(l));
                    let patch: PatchWebhook = serde_json::from_value(body.body).unwrap_or_default();
                    if patch != PatchWebhook::default() {
                        let mut c =
                            webhook_change(spec, &address, Action::Update, Shown::text(&w.url));
                        webhook_fields(&mut c, Some((l, &w.url)), Some(w));
                        let op = Op::PatchWebhook {
                            agent_id: spec.id.clone(),
                            webhook_id: Some(l.webhook_id.clone()),
                            patch,
                        };
                        self.push(c, vec![op]);
                    }
                    self.delete_extras(spec, &address, &candidates, l, &w.url);
                }
            }
        }
        // A live URL no manifest webhook names is shown as masked as the
        // agent's manifest URLs are (up to the template's prefix or the host).
        let sensitive: Vec<&Text> = want
            .iter()
            .map(|w| &w.url)
            .filter(|u| u.is_sensitive())
            .collect();
        for l in live.iter().filter(|l| !wanted.contains(&url_key(&l.url))) {
            let like = template_for(&l.url, &sensitive);
            let label = Shown::live_maybe_masked(&l.url, like);
            let masked = label.is_masked();
            let duplicated = by_url.get(&url_key(&l.url)).is_some_and(|v| v.len() > 1);
            let mut address = format!("{base}.webhook[{}]", quote(&label.bare()));
            if masked || duplicated {
                // Unique and stable even when two URLs differ only in a masked part.
                address = format!("{address}[{}]", quote(&l.webhook_id));
            }
            self.delete_webhook(spec, l, address, label, like, "not in the manifest");
        }
    }

    /// Every other live webhook with the same URL as the one kept.
    fn delete_extras(
        &mut self,
        spec: &AgentSpec,
        address: &str,
        candidates: &[&Webhook],
        kept: &Webhook,
        url: &Text,
    ) {
        for extra in candidates
            .iter()
            .filter(|c| c.webhook_id != kept.webhook_id)
        {
            let address = format!("{address}[{}]", quote(&extra.webhook_id));
            let label = Shown::live(&extra.url, url);
            self.delete_webhook(
                spec,
                extra,
                address,
                label,
                Some(url),
                "a second webhook with the same URL",
            );
        }
    }

    fn delete_webhook(
        &mut self,
        spec: &AgentSpec,
        l: &Webhook,
        address: String,
        label: Shown,
        like: Option<&Text>,
        why: &str,
    ) {
        let mut c = webhook_change(spec, &address, Action::Delete, label);
        c.fields.push(
            FieldChange::before("url", Shown::live_maybe_masked(&l.url, like))
                .shown_as(Show::Context),
        );
        c.fields
            .push(FieldChange::before("events", events_shown(&l.events)).shown_as(Show::Bare));
        c.fields.push(
            FieldChange::before("enabled", Shown::plain(&(l.status == "active")))
                .shown_as(DISABLED),
        );
        c.destructive = true;
        c.reason = Some(why.into());
        let op = Op::DeleteWebhook {
            agent_id: spec.id.clone(),
            webhook_id: l.webhook_id.clone(),
        };
        self.push(c, vec![op]);
    }

    /// Live agents in declared workspaces that no manifest declares: deleted
    /// where the workspace prunes, listed as unmanaged otherwise.
    fn prune(&mut self) {
        let declared: BTreeSet<&str> = self.desired.agents.iter().map(|a| a.id.as_str()).collect();
        let scope = &self.local.scope;
        for spec in self
            .desired
            .workspaces
            .iter()
            .filter(|w| scope.has_workspace(&w.name))
        {
            let Some(Ws {
                reference: WorkspaceRef::Id(ws_id),
                ..
            }) = self.declared.get(&spec.name).cloned()
            else {
                continue;
            };
            for a in self.live.agents.values() {
                if a.workspace_id.as_deref() != Some(ws_id.as_str())
                    || declared.contains(a.agent_id.as_str())
                {
                    continue;
                }
                let address = agent_address(&a.agent_id);
                if spec.prune {
                    let mut c = change(&address, "agent", Action::Delete, Some(&a.agent_id));
                    c.fields
                        .push(FieldChange::before("workspace", lit(&spec.name)));
                    c.destructive = true;
                    c.reason = Some(format!(
                        "workspace {} prunes agents no manifest declares",
                        quote(&spec.name)
                    ));
                    let op = Op::DeleteAgent {
                        agent_id: a.agent_id.clone(),
                    };
                    self.push(c, vec![op]);
                } else {
                    self.plan.unmanaged.push(address);
                }
            }
        }
    }
}

/// The sensitive manifest URL whose literal prefix `live` starts with, else
/// any sensitive one (then `live` is shown up to its host), else none.
fn template_for<'a>(live: &str, sensitive: &[&'a Text]) -> Option<&'a Text> {
    let prefix = |t: &Text| {
        t.shown()
            .split(crate::engine::manifest::interpolate::SENSITIVE)
            .next()
            .unwrap_or_default()
            .to_string()
    };
    sensitive
        .iter()
        .find(|t| live.starts_with(&prefix(t)))
        .or_else(|| sensitive.first())
        .copied()
}

/// `(disabled)` after a disabled webhook's events; nothing for an enabled one.
const DISABLED: Show = Show::Flag {
    on: "",
    off: " (disabled)",
};

fn webhook_change(spec: &AgentSpec, address: &str, action: Action, label: Shown) -> Change {
    let mut c = change(address, "webhook", action, Some(&spec.id));
    c.label = Some(label);
    c
}

fn events_shown(events: &[String]) -> Shown {
    let list: Vec<Literal> = sorted(events).iter().map(Literal::from).collect();
    Shown::plain(&list)
}

/// The url, enabled and events fields of a webhook change.
fn webhook_fields(c: &mut Change, live: Option<(&Webhook, &Text)>, want: Option<&WebhookSpec>) {
    let url_before = live.map_or_else(Shown::absent, |(l, t)| Shown::live(&l.url, t));
    let url_after = want.map_or_else(Shown::absent, |w| Shown::text(&w.url));
    c.fields
        .push(FieldChange::new("url", url_before, url_after).shown_as(Show::Context));
    c.fields.push(
        FieldChange::new(
            "events",
            live.map_or_else(Shown::absent, |(l, _)| events_shown(&l.events)),
            want.map_or_else(Shown::absent, |w| events_shown(&w.events)),
        )
        .shown_as(Show::Bare),
    );
    c.fields.push(
        FieldChange::new(
            "enabled",
            live.map_or_else(Shown::absent, |(l, _)| {
                Shown::plain(&(l.status == "active"))
            }),
            want.map_or_else(Shown::absent, |w| Shown::plain(&w.enabled)),
        )
        .shown_as(DISABLED),
    );
}

/// Create a webhook, then disable it if the manifest says so (the create
/// call takes no status).
fn create_webhook_ops(spec: &AgentSpec, w: &WebhookSpec) -> Vec<Op> {
    let mut ops = vec![Op::CreateWebhook {
        agent_id: spec.id.clone(),
        url: w.url.expose().to_string(),
        events: w.events.clone(),
    }];
    if !w.enabled {
        ops.push(Op::PatchWebhook {
            agent_id: spec.id.clone(),
            webhook_id: None,
            patch: PatchWebhook {
                status: Some("disabled".into()),
                ..PatchWebhook::default()
            },
        });
    }
    ops
}

pub(crate) fn sorted(events: &[String]) -> Vec<String> {
    let mut e = events.to_vec();
    e.sort();
    e.dedup();
    e
}

#[cfg(test)]
mod tests;

//! The product's rules: compare desired with live state and list the changes.
//! A pure function: no I/O, no clock, no randomness.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{json, Value};
use similar::TextDiff;

use super::{Action, Change, Op, Plan, Resource, WorkspaceRef};
use crate::live::{Live, Scope};
use crate::manifest::{AgentSpec, Desired, ScheduleSpec, Text, WebhookSpec};
use crate::rules::url_key;
use crate::twin::content_hash;
use crate::twin::types::{PatchWebhook, Schedule, Webhook};

/// Why no plan could be made (every reason found, not just the first).
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot plan:\n  - {}", .problems.join("\n  - "))]
pub struct PlanError {
    pub problems: Vec<String>,
}

/// A JSON-quoted name for addresses: `workspace["Marketing Agents"]`.
pub fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

pub fn agent_address(id: &str) -> String {
    format!("agent[{}]", quote(id))
}

pub fn workspace_address(name: &str) -> String {
    format!("workspace[{}]", quote(name))
}

/// Instructions are equal when they differ at most in line endings (CRLF and
/// LF are the same text; twinform sends LF), a leading byte-order mark, and
/// one trailing newline. Everything else (trailing spaces, Unicode
/// normalization) is a real difference, and the plan shows it visibly.
pub fn same_instructions(a: &str, b: &str) -> bool {
    fn canonical(s: &str) -> std::borrow::Cow<'_, str> {
        let s = s.strip_prefix('\u{feff}').unwrap_or(s);
        let s = if s.contains('\r') {
            std::borrow::Cow::Owned(s.replace("\r\n", "\n"))
        } else {
            std::borrow::Cow::Borrowed(s)
        };
        match s {
            std::borrow::Cow::Borrowed(b) => {
                std::borrow::Cow::Borrowed(b.strip_suffix('\n').unwrap_or(b))
            }
            std::borrow::Cow::Owned(o) => {
                std::borrow::Cow::Owned(o.strip_suffix('\n').unwrap_or(&o).to_string())
            }
        }
    }
    a == b || canonical(a) == canonical(b)
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
    scope: &'a Scope,
    plan: Plan,
    errors: Vec<String>,
    /// Declared workspace name → resolved.
    declared: HashMap<String, Ws>,
}

/// Compare `desired` with `live`.
pub fn diff(desired: &Desired, live: &Live) -> Result<Plan, PlanError> {
    diff_scoped(desired, live, &Scope::default())
}

/// [`diff`] for the part of the manifests in `scope` (`--workspace`): only
/// those workspaces and the agents declared in them are compared, and only
/// those workspaces are pruned. `live` must have been read with the same scope.
pub fn diff_scoped(desired: &Desired, live: &Live, scope: &Scope) -> Result<Plan, PlanError> {
    let mut d = Differ {
        desired,
        live,
        scope,
        plan: Plan::default(),
        errors: Vec::new(),
        declared: HashMap::new(),
    };
    d.plan.managed_workspaces = desired
        .workspaces
        .iter()
        .filter(|w| scope.has_workspace(&w.name))
        .count();
    d.plan.managed_agents = desired.agents.iter().filter(|a| scope.has_agent(a)).count();
    d.workspaces();
    for agent in desired.agents.iter().filter(|a| scope.has_agent(a)) {
        d.agent(agent);
    }
    d.prune();
    if d.errors.is_empty() {
        Ok(d.plan)
    } else {
        Err(PlanError { problems: d.errors })
    }
}

impl Differ<'_> {
    fn push(&mut self, change: Change) {
        // A workspace outside `--workspace` is resolved (agents may name it)
        // but never changed.
        if change.resource == Resource::Workspace {
            let out = self.desired.workspaces.iter().any(|w| {
                workspace_address(&w.name) == change.address && !self.scope.has_workspace(&w.name)
            });
            if out {
                return;
            }
        }
        self.plan.changes.push(change);
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
                            "workspace {address} pins id `{id}`, which does not exist live"
                        ));
                        continue;
                    }
                },
                None => match by_name.get(spec.name.as_str()).map(Vec::as_slice) {
                    None | Some([]) => None,
                    Some([id]) => self.live.workspaces.iter().find(|w| &w.workspace_id == id),
                    Some(ids) => {
                        self.errors.push(format!(
                            "two live workspaces are named `{}` ({}): pin one with `id:` in the manifest",
                            spec.name,
                            ids.join(", ")
                        ));
                        continue;
                    }
                },
            };
            match found {
                None => {
                    let mut ops = vec![Op::CreateWorkspace {
                        name: spec.name.clone(),
                    }];
                    let mut after = json!({"name": spec.name});
                    if let Some(icon) = &spec.icon {
                        ops.push(Op::UpdateWorkspace {
                            workspace: WorkspaceRef::New(spec.name.clone()),
                            name: spec.name.clone(),
                            icon: Some(icon.value.clone()),
                        });
                        after["icon"] = json!(icon.shown);
                    }
                    self.push(change(
                        &address,
                        Resource::Workspace,
                        Action::Create,
                        None,
                        Value::Null,
                        after,
                        ops,
                    ));
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
                    let icon_differs = spec
                        .icon
                        .as_ref()
                        .is_some_and(|i| !same_json(w.icon_config.as_deref(), &i.value));
                    if rename || icon_differs {
                        let mut before = json!({"name": w.name});
                        let mut after = json!({"name": spec.name});
                        if let Some(icon) = &spec.icon {
                            before["icon"] = json!(w.icon_config);
                            after["icon"] = json!(icon.shown);
                        }
                        let op = Op::UpdateWorkspace {
                            workspace: WorkspaceRef::Id(w.workspace_id.clone()),
                            name: spec.name.clone(),
                            icon: spec.icon.as_ref().map(|i| i.value.clone()),
                        };
                        self.push(change(
                            &address,
                            Resource::Workspace,
                            Action::Update,
                            None,
                            before,
                            after,
                            vec![op],
                        ));
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
            subagent: spec.subagent,
            derived_from: spec.derived_from.clone(),
        };
        let mut desc = json!({"workspace": ws.name});
        if let Some(s) = spec.subagent {
            desc["subagent"] = json!(s);
        }
        if let Some(d) = &spec.derived_from {
            desc["derived_from"] = json!(d);
        }
        let live = self.live.agents.get(&spec.id);
        // Whether the agent exists with its children as read (false: new or replaced).
        let existing = match live {
            None => {
                let mut c = change(
                    &address,
                    Resource::Agent,
                    Action::Create,
                    Some(&spec.id),
                    Value::Null,
                    desc,
                    vec![create],
                );
                c.depends_on = ws_deps;
                self.push(c);
                false
            }
            Some(a) => {
                let mut reasons = Vec::new();
                if let (Some(want), Some(have)) = (spec.subagent, a.is_subagent) {
                    if want != have {
                        reasons.push(format!("subagent {have} → {want}"));
                    }
                }
                if let (Some(want), Some(have)) = (&spec.derived_from, &a.derived_from_agent_id) {
                    if want != have {
                        reasons.push(format!("derived_from {have} → {want}"));
                    }
                }
                let live_ws = a.workspace_id.as_deref().unwrap_or_default();
                if !reasons.is_empty() {
                    let before = json!({"workspace": self.live_ws_name(live_ws), "subagent": a.is_subagent,
                        "derived_from": a.derived_from_agent_id});
                    let ops = vec![
                        Op::DeleteAgent {
                            agent_id: spec.id.clone(),
                        },
                        create,
                    ];
                    let mut c = change(
                        &address,
                        Resource::Agent,
                        Action::Replace,
                        Some(&spec.id),
                        before,
                        desc,
                        ops,
                    );
                    c.reason = Some(format!(
                        "must be replaced: {} (run history is lost)",
                        reasons.join(", ")
                    ));
                    c.destructive = true;
                    c.depends_on = ws_deps;
                    self.push(c);
                    false
                } else {
                    let moved = match &ws.reference {
                        WorkspaceRef::Id(id) => id != live_ws,
                        WorkspaceRef::New(_) => true,
                    };
                    if moved {
                        let before = json!({"workspace": self.live_ws_name(live_ws)});
                        let op = Op::MoveAgent {
                            agent_id: spec.id.clone(),
                            workspace: ws.reference.clone(),
                        };
                        let mut c = change(
                            &address,
                            Resource::Agent,
                            Action::Move,
                            Some(&spec.id),
                            before,
                            json!({"workspace": ws.name}),
                            vec![op],
                        );
                        c.depends_on = ws_deps;
                        self.push(c);
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
        let have = live.clone().unwrap_or_default();
        if same_instructions(&have, &text.value) {
            return;
        }
        let address = format!("{}.instructions", agent_address(&spec.id));
        let action = if live.is_some() {
            Action::Update
        } else {
            Action::Create
        };
        let before = live.as_ref().map_or(Value::Null, |c| describe_text(c));
        let after = describe_text(&text.value);
        let op = Op::PutInstructions {
            agent_id: spec.id.clone(),
            content: text.value.clone(),
        };
        let mut c = change(
            &address,
            Resource::Instructions,
            action,
            Some(&spec.id),
            before,
            after,
            vec![op],
        );
        c.diff = Some(unified_diff(&have, &text.shown));
        c.depends_on = parent.to_vec();
        self.push(c);
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
        let before = live.map_or(Value::Null, |s| {
            json!({"cron": s.cron, "paused": s.paused, "auto_paused": s.auto_paused, "consecutive_failures": s.consecutive_failures})
        });
        let (action, ops, after, reason) = match (want, live) {
            (None, None) => return,
            (None, Some(_)) => (
                Action::Delete,
                vec![Op::DeleteSchedule { agent_id: id }],
                Value::Null,
                None,
            ),
            (Some(w), None) => {
                let mut ops = vec![Op::PutSchedule {
                    agent_id: id.clone(),
                    cron: w.cron.value.clone(),
                }];
                if w.paused == Some(true) {
                    ops.push(Op::PauseSchedule { agent_id: id });
                }
                (Action::Create, ops, schedule_after(w), None)
            }
            (Some(w), Some(l)) => {
                let mut ops = Vec::new();
                let mut reason = None;
                if l.cron != w.cron.value {
                    ops.push(Op::PutSchedule {
                        agent_id: id.clone(),
                        cron: w.cron.value.clone(),
                    });
                }
                match w.paused {
                    Some(true) if !l.paused => ops.push(Op::PauseSchedule { agent_id: id.clone() }),
                    Some(false) if l.paused => {
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
                (Action::Update, ops, schedule_after(w), reason)
            }
        };
        let mut c = change(
            &address,
            Resource::Schedule,
            action,
            Some(&spec.id),
            before,
            after,
            ops,
        );
        c.reason = reason;
        c.depends_on = parent.to_vec();
        self.push(c);
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
        let wanted: BTreeSet<String> = want.iter().map(|w| url_key(&w.url.value)).collect();
        for w in want {
            let address = format!(
                "{}.webhook[{}]",
                agent_address(&spec.id),
                quote(&w.url.shown)
            );
            let after = json!({"url": w.url.shown, "events": w.events, "enabled": w.enabled});
            let status = if w.enabled { "active" } else { "disabled" };
            let candidates = by_url
                .get(&url_key(&w.url.value))
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
                    let ops = create_webhook_ops(spec, w);
                    let mut c = change(
                        &address,
                        Resource::Webhook,
                        Action::Create,
                        Some(&spec.id),
                        Value::Null,
                        after,
                        ops,
                    );
                    c.depends_on = parent.to_vec();
                    self.push(c);
                }
                Some(l) if self.live.unstored_secrets.contains(&address) => {
                    // An apply was killed while creating it: its secret is nowhere.
                    let before = json!({"url": w.url.shown, "events": sorted(&l.events), "enabled": l.status == "active"});
                    let mut ops = vec![Op::DeleteWebhook {
                        agent_id: spec.id.clone(),
                        webhook_id: l.webhook_id.clone(),
                    }];
                    ops.extend(create_webhook_ops(spec, w));
                    let mut c = change(
                        &address,
                        Resource::Webhook,
                        Action::Replace,
                        Some(&spec.id),
                        before,
                        after,
                        ops,
                    );
                    c.destructive = true;
                    c.reason = Some(
                        "signing secret was never stored (an apply was stopped while creating it)"
                            .into(),
                    );
                    c.depends_on = parent.to_vec();
                    self.push(c);
                    for extra in candidates.iter().filter(|c| c.webhook_id != l.webhook_id) {
                        let address = format!("{address}[{}]", quote(&extra.webhook_id));
                        self.delete_webhook(
                            spec,
                            extra,
                            address,
                            "a second webhook with the same URL",
                        );
                    }
                }
                Some(l) => {
                    let mut patch = PatchWebhook::default();
                    if sorted(&l.events) != w.events {
                        patch.events = Some(w.events.clone());
                    }
                    if l.status != status {
                        patch.status = Some(status.into());
                    }
                    if patch != PatchWebhook::default() {
                        let before = json!({"url": w.url.shown, "events": sorted(&l.events), "enabled": l.status == "active"});
                        let op = Op::PatchWebhook {
                            agent_id: spec.id.clone(),
                            webhook_id: Some(l.webhook_id.clone()),
                            patch,
                        };
                        self.push(change(
                            &address,
                            Resource::Webhook,
                            Action::Update,
                            Some(&spec.id),
                            before,
                            after,
                            vec![op],
                        ));
                    }
                    for extra in candidates.iter().filter(|c| c.webhook_id != l.webhook_id) {
                        let address = format!("{address}[{}]", quote(&extra.webhook_id));
                        self.delete_webhook(
                            spec,
                            extra,
                            address,
                            "a second webhook with the same URL",
                        );
                    }
                }
            }
        }
        for l in live.iter().filter(|l| !wanted.contains(&url_key(&l.url))) {
            let address = format!("{}.webhook[{}]", agent_address(&spec.id), quote(&l.url));
            let address = if by_url.get(&url_key(&l.url)).is_some_and(|v| v.len() > 1) {
                format!("{address}[{}]", quote(&l.webhook_id))
            } else {
                address
            };
            self.delete_webhook(spec, l, address, "not in the manifest");
        }
    }

    fn delete_webhook(&mut self, spec: &AgentSpec, l: &Webhook, address: String, why: &str) {
        let before =
            json!({"url": l.url, "events": sorted(&l.events), "enabled": l.status == "active"});
        let op = Op::DeleteWebhook {
            agent_id: spec.id.clone(),
            webhook_id: l.webhook_id.clone(),
        };
        let mut c = change(
            &address,
            Resource::Webhook,
            Action::Delete,
            Some(&spec.id),
            before,
            Value::Null,
            vec![op],
        );
        c.destructive = true;
        c.reason = Some(why.into());
        self.push(c);
    }

    /// Live agents in declared workspaces that no manifest declares: deleted
    /// where the workspace prunes, listed as unmanaged otherwise.
    fn prune(&mut self) {
        let declared: BTreeSet<&str> = self.desired.agents.iter().map(|a| a.id.as_str()).collect();
        for spec in self
            .desired
            .workspaces
            .iter()
            .filter(|w| self.scope.has_workspace(&w.name))
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
                    let before = json!({"workspace": spec.name});
                    let op = Op::DeleteAgent {
                        agent_id: a.agent_id.clone(),
                    };
                    let mut c = change(
                        &address,
                        Resource::Agent,
                        Action::Delete,
                        Some(&a.agent_id),
                        before,
                        Value::Null,
                        vec![op],
                    );
                    c.destructive = true;
                    c.reason = Some(format!(
                        "workspace {} prunes agents no manifest declares",
                        quote(&spec.name)
                    ));
                    self.push(c);
                } else {
                    self.plan.unmanaged.push(address);
                }
            }
        }
    }
}

fn change(
    address: &str,
    resource: Resource,
    action: Action,
    agent: Option<&str>,
    before: Value,
    after: Value,
    ops: Vec<Op>,
) -> Change {
    Change {
        address: address.to_string(),
        resource,
        action,
        agent: agent.map(str::to_string),
        before,
        after,
        destructive: false,
        depends_on: Vec::new(),
        reason: None,
        diff: None,
        drift: None,
        ops,
    }
}

/// Create a webhook, then disable it if the manifest says so (the create
/// call takes no status).
fn create_webhook_ops(spec: &AgentSpec, w: &WebhookSpec) -> Vec<Op> {
    let mut ops = vec![Op::CreateWebhook {
        agent_id: spec.id.clone(),
        url: w.url.value.clone(),
        url_shown: w.url.shown.clone(),
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

fn schedule_after(w: &ScheduleSpec) -> Value {
    let mut v = json!({"cron": w.cron.shown});
    if let Some(p) = w.paused {
        v["paused"] = json!(p);
    }
    v
}

fn sorted(events: &[String]) -> Vec<String> {
    let mut e = events.to_vec();
    e.sort();
    e.dedup();
    e
}

/// Two icon documents are the same when they parse to the same JSON.
fn same_json(live: Option<&str>, want: &str) -> bool {
    match (
        live.map(serde_json::from_str::<Value>),
        serde_json::from_str::<Value>(want),
    ) {
        (Some(Ok(a)), Ok(b)) => a == b,
        _ => live == Some(want),
    }
}

fn describe_text(content: &str) -> Value {
    json!({"content_sha256": content_hash(content.as_bytes()), "lines": content.lines().count()})
}

/// A unified diff with 3 lines of context; both sides end with a newline so a
/// missing final newline is not shown as a change.
pub fn unified_diff(old: &str, new: &str) -> String {
    let with_nl = |s: &str| {
        if s.is_empty() || s.ends_with('\n') {
            s.to_string()
        } else {
            format!("{s}\n")
        }
    };
    let (old, new) = (with_nl(old), with_nl(new));
    TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(3)
        .to_string()
}

#[cfg(test)]
mod tests;

//! Twig's rules: compare desired with live state and list the changes. A
//! pure function: no I/O, no clock, no randomness.
//!
//! - Data sources are created when missing; any other difference is a
//!   `manual` change (the API has no update or delete for them).
//! - Agents are created, updated (a `PUT` of only the fields that differ)
//!   and, with `prune: true`, deleted.
//! - Users are invited when missing; a different name or role is `manual`.
//! - Identity is the name (email for users) unless `id:` pins one; two live
//!   objects with the name a manifest uses stop the plan, naming both ids.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{json, Map, Value};

use super::model::{AgentSpec, DataSourceSpec, Desired, UserSpec};
use super::ops::{AgentFields, Op, SourceRef};
use super::read::Live;
use super::tables;
use super::wire::{Agent, DataSource, User};
use crate::engine::plan::{quote, Action, Change, FieldChange, Literal, Plan, Show, Shown};
use crate::engine::provider::{Diffed, PlanError};
use crate::engine::resource;

const PROVIDER: &str = "twig";

pub fn agent_address(name: &str) -> String {
    format!("twig.agent[{}]", quote(name))
}

pub fn data_source_address(name: &str) -> String {
    format!("twig.data_source[{}]", quote(name))
}

pub fn user_address(email: &str) -> String {
    format!("twig.user[{}]", quote(email))
}

fn lit(s: &str) -> Shown {
    Shown::plain(&Literal::from(s))
}

/// What an agent's `data_sources` entry resolved to.
struct Resolved {
    reference: SourceRef,
    /// The address creating it, when it is created by this plan.
    created_by: Option<String>,
}

struct Differ<'a> {
    desired: &'a Desired,
    live: &'a Live,
    plan: Plan,
    ops: Vec<Vec<Op>>,
    errors: Vec<String>,
    /// Declared data source name → how agents reference it.
    sources: HashMap<String, Resolved>,
}

/// Compare `desired` with `live`.
pub fn diff(desired: &Desired, live: &Live) -> Result<Diffed<Op>, PlanError> {
    let mut d = Differ {
        desired,
        live,
        plan: Plan::default(),
        ops: Vec::new(),
        errors: Vec::new(),
        sources: HashMap::new(),
    };
    d.plan.managed = vec![
        ("data source", desired.data_sources.len()),
        ("agent", desired.agents.len()),
        ("user", desired.users.len()),
    ];
    d.plan
        .managed
        .retain(|(noun, n)| *n > 0 || *noun == "agent");
    for s in &desired.data_sources {
        d.data_source(s);
    }
    let mut matched = HashSet::new();
    for a in &desired.agents {
        if let Some(id) = d.agent(a) {
            if !matched.insert(id.clone()) {
                d.errors.push(format!(
                    "{}: another TwigAgent document manages the same live agent `{id}` (one by `id:`, one by name): remove one",
                    agent_address(&a.name)
                ));
            }
        }
    }
    d.prune(&matched);
    for u in &desired.users {
        d.user(u);
    }
    if d.errors.is_empty() {
        Ok((d.plan, d.ops))
    } else {
        Err(PlanError { problems: d.errors })
    }
}

/// The one live object named `name`, `None` when there is none; an error
/// naming every id when there are several.
fn by_name<'l, T>(
    items: &'l [T],
    name: &str,
    what: &str,
    id: impl Fn(&T) -> &str,
    named: impl Fn(&T) -> &str,
) -> Result<Option<&'l T>, String> {
    let found: Vec<&T> = items.iter().filter(|x| named(x) == name).collect();
    match found.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        many => Err(format!(
            "{} live {what}s are named `{name}` ({}): pin one with `id:` in the manifest",
            many.len(),
            many.iter().map(|x| id(x)).collect::<Vec<_>>().join(", ")
        )),
    }
}

/// A live data source as its table reads it.
pub fn data_source_json(d: &DataSource) -> Value {
    serde_json::to_value(d).unwrap_or_default()
}

/// A live user as their table reads them: the email and role lowercased
/// (Twig compares them without case), and an empty name or role left out
/// (an answer that does not say them: not compared).
pub fn user_json(u: &User) -> Value {
    let mut m = Map::new();
    m.insert("email".into(), Value::String(u.email.to_lowercase()));
    if !u.name.is_empty() {
        m.insert("name".into(), Value::String(u.name.clone()));
    }
    if !u.role.is_empty() {
        m.insert("role".into(), Value::String(u.role.to_lowercase()));
    }
    Value::Object(m)
}

/// A live agent as its table reads it.
pub fn agent_json(a: &Agent) -> Value {
    serde_json::to_value(a).unwrap_or_default()
}

fn sources_of(live: &Live) -> &[DataSource] {
    live.data_sources.as_deref().unwrap_or_default()
}

impl Differ<'_> {
    fn push(&mut self, change: Change, ops: Vec<Op>) {
        self.plan.changes.push(change);
        self.ops.push(ops);
    }

    fn data_source(&mut self, spec: &DataSourceSpec) {
        let address = data_source_address(&spec.name);
        let found = match &spec.id {
            Some(id) => match sources_of(self.live).iter().find(|d| &d.id == id) {
                Some(d) => Some(d),
                None => {
                    self.errors.push(format!(
                        "{address} pins id `{id}`, which does not exist live"
                    ));
                    return;
                }
            },
            None => match by_name(
                sources_of(self.live),
                &spec.name,
                "data source",
                |d| &d.id,
                |d| &d.name,
            ) {
                Ok(f) => f,
                Err(e) => {
                    self.errors.push(e);
                    return;
                }
            },
        };
        let Some(live) = found else {
            self.create_data_source(spec, &address);
            return;
        };
        self.sources.insert(
            spec.name.clone(),
            Resolved {
                reference: SourceRef::Id(live.id.clone()),
                created_by: None,
            },
        );
        let mut c = Change::new(PROVIDER, &address, "data_source", Action::Manual);
        c.label = Some(lit(&live.id));
        if live.name != spec.name {
            c.fields
                .push(FieldChange::new("name", lit(&live.name), lit(&spec.name)));
        }
        // Every field the table describes that the manifest declares; Twig
        // has no update, so the patch is never sent.
        let mut patch = resource::Patch::default();
        resource::diff(
            &tables::DATA_SOURCE,
            &spec.values,
            &data_source_json(live),
            &mut c,
            &mut patch,
        );
        if c.fields.is_empty() {
            return;
        }
        let what: Vec<&str> = c.fields.iter().map(|f| f.name).collect();
        c.reason = Some(format!(
            "cannot be applied through the API (Twig cannot change a data source): change its {} in Twig's settings (Data sources → {}), or declare a new data source",
            what.join(", "),
            live.name
        ));
        self.push(c, Vec::new());
    }

    fn create_data_source(&mut self, spec: &DataSourceSpec, address: &str) {
        let mut c = Change::new(PROVIDER, address, "data_source", Action::Create);
        c.fields
            .push(FieldChange::after("name", lit(&spec.name)).shown_as(Show::Context));
        let mut body = Value::Object(Map::new());
        resource::create(&tables::DATA_SOURCE, &spec.values, &mut c, &mut body);
        let mut ops = vec![Op::CreateDataSource {
            name: spec.name.clone(),
            body: body.as_object().cloned().unwrap_or_default(),
        }];
        if spec.sync_on_create {
            c.notes
                .push("a first sync starts once it is created".into());
            ops.push(Op::SyncDataSource {
                name: spec.name.clone(),
            });
        }
        self.sources.insert(
            spec.name.clone(),
            Resolved {
                reference: SourceRef::New(spec.name.clone()),
                created_by: Some(address.to_string()),
            },
        );
        self.push(c, ops);
    }

    /// Resolve an agent's `data_sources`: declared names, live names, ids.
    fn resolve_sources(
        &mut self,
        spec: &AgentSpec,
        wanted: &[String],
    ) -> Option<(Vec<SourceRef>, Vec<String>)> {
        let mut refs = Vec::new();
        let mut deps = Vec::new();
        for entry in wanted {
            if let Some(r) = self.sources.get(entry) {
                refs.push(r.reference.clone());
                deps.extend(r.created_by.clone());
                continue;
            }
            if sources_of(self.live).iter().any(|d| &d.id == entry) {
                refs.push(SourceRef::Id(entry.clone()));
                continue;
            }
            let declared = self.desired.data_sources.iter().any(|d| &d.name == entry);
            match by_name(
                sources_of(self.live),
                entry,
                "data source",
                |d| &d.id,
                |d| &d.name,
            ) {
                // A declared data source that failed to resolve already has its error.
                _ if declared => return None,
                Ok(Some(d)) => refs.push(SourceRef::Id(d.id.clone())),
                Ok(None) => {
                    self.errors.push(format!(
                        "{} ({}) answers from data source `{entry}`, which is neither declared nor live",
                        agent_address(&spec.name),
                        spec.source
                    ));
                    return None;
                }
                Err(e) => {
                    self.errors.push(e);
                    return None;
                }
            }
        }
        Some((refs, deps))
    }

    /// A data source id as people know it (its name when known).
    fn source_name(&self, id: &str) -> String {
        sources_of(self.live)
            .iter()
            .find(|d| d.id == id)
            .map_or_else(|| id.to_string(), |d| d.name.clone())
    }

    /// Plan one agent; the live id it manages, if it exists.
    fn agent(&mut self, spec: &AgentSpec) -> Option<String> {
        let address = agent_address(&spec.name);
        let found = match &spec.id {
            Some(id) => match self.live.agents.iter().find(|a| &a.id == id) {
                Some(a) => Some(a),
                None => {
                    self.errors.push(format!(
                        "{address} pins id `{id}`, which does not exist live"
                    ));
                    return None;
                }
            },
            None => match by_name(
                &self.live.agents,
                &spec.name,
                "agent",
                |a| &a.id,
                |a| &a.name,
            ) {
                Ok(f) => f,
                Err(e) => {
                    self.errors.push(e);
                    return None;
                }
            },
        };
        let sources = match &spec.data_sources {
            Some(wanted) => Some(self.resolve_sources(spec, wanted)?),
            None => None,
        };
        match found {
            None => {
                self.create_agent(spec, &address, sources);
                None
            }
            Some(live) => {
                let id = live.id.clone();
                self.update_agent(spec, &address, live, sources);
                Some(id)
            }
        }
    }

    fn create_agent(
        &mut self,
        spec: &AgentSpec,
        address: &str,
        sources: Option<(Vec<SourceRef>, Vec<String>)>,
    ) {
        let mut c = Change::new(PROVIDER, address, "agent", Action::Create);
        c.fields
            .push(FieldChange::after("name", lit(&spec.name)).shown_as(Show::Context));
        let mut fields = AgentFields {
            name: Some(spec.name.clone()),
            ..AgentFields::default()
        };
        // Every field the table describes: shown, and in the body.
        let mut body = serde_json::Value::Object(Map::new());
        let mut shown = Change::new(PROVIDER, address, "agent", Action::Create);
        resource::create(&tables::AGENT, &spec.values, &mut shown, &mut body);
        fields.table = body.as_object().cloned().unwrap_or_default();
        if let (Some(wanted), Some((refs, deps))) = (&spec.data_sources, sources) {
            let names: Vec<Literal> = wanted.iter().map(Literal::from).collect();
            shown
                .fields
                .push(FieldChange::after("data_sources", Shown::plain(&names)));
            fields.data_sources = Some(refs);
            c.depends_on = deps;
        }
        // In the table's order, data sources before the prompt (as plans always showed).
        let prompt_at = shown.fields.iter().position(|f| f.name == "system_prompt");
        let mut ordered = shown.fields;
        if let (Some(p), Some(ds)) = (
            prompt_at,
            ordered.iter().position(|f| f.name == "data_sources"),
        ) {
            let d = ordered.remove(ds);
            ordered.insert(p, d);
        }
        c.fields.extend(ordered);
        c.diff = shown.diff;
        c.notes.extend(shown.notes);
        c.tokens = shown.tokens;
        c.tokens_for_model(spec.values.str("model"));
        self.push(c, vec![Op::CreateAgent { fields }]);
    }

    fn update_agent(
        &mut self,
        spec: &AgentSpec,
        address: &str,
        live: &Agent,
        sources: Option<(Vec<SourceRef>, Vec<String>)>,
    ) {
        let mut c = Change::new(PROVIDER, address, "agent", Action::Update);
        c.label = Some(lit(&live.id));
        let mut fields = AgentFields::default();
        if live.name != spec.name {
            c.fields
                .push(FieldChange::new("name", lit(&live.name), lit(&spec.name)));
            fields.name = Some(spec.name.clone());
        }
        // Every field the table describes that the manifest declares.
        let live_json = agent_json(live);
        let mut patch = resource::Patch::default();
        let mut shown = Change::new(PROVIDER, address, "agent", Action::Update);
        resource::diff(
            &tables::AGENT,
            &spec.values,
            &live_json,
            &mut shown,
            &mut patch,
        );
        fields.table = patch.body.as_object().cloned().unwrap_or_default();
        if let (Some(wanted), Some((refs, deps))) = (&spec.data_sources, sources) {
            let want: HashSet<&SourceRef> = refs.iter().collect();
            let have: HashSet<SourceRef> = live
                .data_source_ids
                .iter()
                .map(|i| SourceRef::Id(i.clone()))
                .collect();
            if want.len() != have.len() || want.iter().any(|r| !have.contains(*r)) {
                let before: Vec<Literal> = live
                    .data_source_ids
                    .iter()
                    .map(|i| Literal(self.source_name(i)))
                    .collect();
                let after: Vec<Literal> = wanted.iter().map(Literal::from).collect();
                let ds =
                    FieldChange::new("data_sources", Shown::plain(&before), Shown::plain(&after));
                // Before the prompt, as plans always showed it.
                match shown.fields.iter().position(|f| f.name == "system_prompt") {
                    Some(p) => shown.fields.insert(p, ds),
                    None => shown.fields.push(ds),
                }
                fields.data_sources = Some(refs);
                c.depends_on = deps;
            }
        }
        c.fields.extend(shown.fields);
        c.diff = shown.diff;
        c.notes.extend(shown.notes);
        c.tokens = shown.tokens;
        c.tokens_for_model(spec.values.str("model"));
        if fields == AgentFields::default() {
            return;
        }
        self.push(
            c,
            vec![Op::UpdateAgent {
                id: live.id.clone(),
                fields,
            }],
        );
    }

    /// Live agents no manifest declares: deleted with `prune: true`, else
    /// listed as unmanaged.
    fn prune(&mut self, matched: &HashSet<String>) {
        let declared: HashSet<&str> = self
            .desired
            .agents
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        for a in &self.live.agents {
            // An agent another document pins by id, or one whose name a
            // document uses (resolved above, or an error already).
            if matched.contains(&a.id) || declared.contains(a.name.as_str()) {
                continue;
            }
            let address = agent_address(&a.name);
            if !self.desired.prune {
                self.plan.unmanaged.push(address);
                continue;
            }
            let mut c = Change::new(PROVIDER, &address, "agent", Action::Delete);
            c.label = Some(lit(&a.id));
            c.fields
                .push(FieldChange::before("name", lit(&a.name)).shown_as(Show::Context));
            // What is lost, as for any change: every field of the table
            // the list read (a long text is not repeated).
            let live_json = agent_json(a);
            for f in resource::leaves(&tables::AGENT) {
                let Some(v) = resource::at(&live_json, f.wire.read).filter(|v| !v.is_null()) else {
                    continue;
                };
                if matches!(f.ty, resource::Ty::LongText) {
                    continue;
                }
                let shown = resource::from_wire(f, v).unwrap_or_else(|| v.clone());
                c.fields.push(FieldChange::before(
                    f.name(),
                    Shown::manifest_literal(&shown),
                ));
            }
            if !a.data_source_ids.is_empty() {
                let names: Vec<Literal> = a
                    .data_source_ids
                    .iter()
                    .map(|i| Literal(self.source_name(i)))
                    .collect();
                c.fields
                    .push(FieldChange::before("data_sources", Shown::plain(&names)));
            }
            self.push(c, vec![Op::DeleteAgent { id: a.id.clone() }]);
        }
    }

    fn user(&mut self, spec: &UserSpec) {
        let address = user_address(&spec.email);
        let users = self.live.users.as_deref().unwrap_or_default();
        let Some(live) = users
            .iter()
            .find(|u| u.email.eq_ignore_ascii_case(&spec.email))
        else {
            let mut c = Change::new(PROVIDER, &address, "user", Action::Create);
            c.fields
                .push(FieldChange::after("email", lit(&spec.email)).shown_as(Show::Context));
            let mut body = Value::Object(Map::new());
            resource::create(&tables::USER, &spec.values, &mut c, &mut body);
            c.notes
                .push("Twig emails an invitation; it expires after 7 days".into());
            let op = Op::CreateUser {
                email: spec.email.clone(),
                body: body.as_object().cloned().unwrap_or_default(),
            };
            self.push(c, vec![op]);
            return;
        };
        let mut c = Change::new(PROVIDER, &address, "user", Action::Manual);
        // Twig has no update: the patch is never sent.
        let mut patch = resource::Patch::default();
        resource::diff(
            &tables::USER,
            &spec.values,
            &user_json(live),
            &mut c,
            &mut patch,
        );
        if c.fields.is_empty() {
            return;
        }
        let what: Vec<&str> = c.fields.iter().map(|f| f.name).collect();
        c.reason = Some(format!(
            "cannot be applied through the API (Twig cannot change a user): change their {} in Twig (Admin → Users)",
            what.join(" and ")
        ));
        self.push(c, Vec::new());
    }
}

/// A fingerprint of every live object a plan depends on, by address (the
/// id is part of the key: two objects of one name are two entries).
pub fn fingerprints(live: &Live) -> BTreeMap<String, String> {
    // What the tables manage, and the identity and structure beside them.
    let hash = |table: &'static resource::Table, json: &Value, rest: &Value| {
        let managed = resource::fingerprint(table, json);
        crate::engine::sha256_hex(format!("{managed}{rest}").as_bytes())
    };
    let mut out = BTreeMap::new();
    for a in &live.agents {
        let rest = serde_json::json!([a.name, a.data_source_ids]);
        let h = hash(&tables::AGENT, &agent_json(a), &rest);
        out.insert(format!("{}#{}", agent_address(&a.name), a.id), h);
    }
    for d in live.data_sources.iter().flatten() {
        let key = format!("{}#{}", data_source_address(&d.name), d.id);
        let h = hash(&tables::DATA_SOURCE, &data_source_json(d), &json!(d.name));
        out.insert(key, h);
    }
    for u in live.users.iter().flatten() {
        let h = hash(&tables::USER, &user_json(u), &json!(null));
        out.insert(user_address(&u.email.to_lowercase()), h);
    }
    out
}

#[cfg(test)]
#[path = "diff/tests.rs"]
mod tests;

//! The plan: plain data describing every change of every provider, its
//! stable address, its dependencies, its typed field changes and the
//! operations that carry it out.
//!
//! Providers build it in their pure diff; [`render`] shows it (text, JSON,
//! Markdown); the executor runs it. What a change shows is made of
//! [`FieldChange`]s whose values are [`Shown`]: a sensitive field is masked on
//! both sides when the field change is built (see [`FieldChange::text`]), so
//! no renderer can print a secret by mistake. Operations hold real values and
//! are never serialized for people.

pub mod annotate;
mod field;
pub mod render;
pub mod saved;
pub mod textdiff;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use field::{FieldChange, Literal, Show, Shown};

/// The version of the JSON plan format (`-o json`, `--out`). Additive
/// changes (a new field) keep it.
pub const FORMAT_VERSION: &str = "1";

/// What a change does to its resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Move,
    Replace,
    Delete,
    /// A difference the platform's API cannot apply: a person must act.
    Manual,
}

impl Action {
    /// What an applied change did, for progress lines.
    pub fn past(self) -> &'static str {
        match self {
            Action::Create => "created",
            Action::Update => "updated",
            Action::Move => "moved",
            Action::Replace => "replaced",
            Action::Delete => "deleted",
            Action::Manual => "left to do by hand",
        }
    }

    /// Terraform-style symbol.
    pub fn symbol(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update => "~",
            Action::Move => "→",
            Action::Replace => "-/+",
            Action::Delete => "-",
            Action::Manual => "!",
        }
    }
}

/// Who last changed drifted text, from the platform's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drift {
    pub source_type: Option<String>,
    pub at: Option<String>,
    pub user: Option<String>,
    /// True when the last change was made by something other than twinform.
    pub outside_git: bool,
}

/// One change of the plan.
#[derive(Debug, Clone)]
pub struct Change {
    /// The provider that owns it (`twin`, `twig`, `cadenya`).
    pub provider: &'static str,
    /// Stable address, e.g. `agent["daily-digest"].webhook["https://…"]`.
    pub address: String,
    /// What kind of object it changes, as people say it (`webhook`).
    pub resource: &'static str,
    pub action: Action,
    /// The address of the object it belongs to, for grouping (`agent["x"]`).
    pub group: Option<String>,
    /// The id of the agent it belongs to, if any (JSON `agent`, format 1).
    pub agent: Option<String>,
    /// What identifies it within its group, shown beside its kind (a URL).
    pub label: Option<Shown>,
    pub fields: Vec<FieldChange>,
    pub destructive: bool,
    pub depends_on: Vec<String>,
    /// Why (a replace's cause, an auto-paused schedule, what to do by hand).
    pub reason: Option<String>,
    /// A unified diff of a text field (of shown forms only).
    pub diff: Option<String>,
    pub drift: Option<Drift>,
    /// Extra facts for people (next fire times of a schedule).
    pub notes: Vec<String>,
    /// Token counts of the long text it writes (a prompt, a memory entry).
    pub tokens: Option<crate::engine::tokens::TokenCount>,
    /// The operations, in order, as the provider's serialized op values.
    /// Never shown: they hold real values.
    pub ops: Vec<Value>,
}

impl Change {
    /// A change with no fields, dependencies or operations yet.
    pub fn new(
        provider: &'static str,
        address: impl Into<String>,
        resource: &'static str,
        action: Action,
    ) -> Self {
        Change {
            provider,
            address: address.into(),
            resource,
            action,
            group: None,
            agent: None,
            label: None,
            fields: Vec::new(),
            destructive: matches!(action, Action::Delete | Action::Replace),
            depends_on: Vec::new(),
            reason: None,
            diff: None,
            drift: None,
            notes: Vec::new(),
            tokens: None,
            ops: Vec::new(),
        }
    }

    /// The state before, as shown: one entry per field that has a before side.
    pub fn before(&self) -> Value {
        if self.action == Action::Create {
            return Value::Null;
        }
        side(&self.fields, |f| &f.before)
    }

    /// The state after, as shown.
    pub fn after(&self) -> Value {
        if self.action == Action::Delete {
            return Value::Null;
        }
        side(&self.fields, |f| &f.after)
    }

    /// The fields that actually change (not the context shown beside them).
    pub fn changed_fields(&self) -> impl Iterator<Item = &FieldChange> {
        self.fields.iter().filter(|f| f.is_change())
    }

    /// A field by name.
    pub fn field(&self, name: &str) -> Option<&FieldChange> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Its token counts are for `model` (the model that reads the text, if
    /// the manifest names one): exact when it uses their encoding.
    pub fn tokens_for_model(&mut self, model: Option<&str>) {
        if let (Some(t), Some(m)) = (self.tokens.as_mut(), model) {
            t.for_model(m);
        }
    }
}

fn side(fields: &[FieldChange], pick: impl Fn(&FieldChange) -> &Shown) -> Value {
    let mut m = Map::new();
    for f in fields {
        let v = pick(f);
        if !v.is_absent() {
            m.insert(f.name.to_string(), v.to_json());
        }
    }
    Value::Object(m)
}

impl Serialize for Change {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = Map::new();
        let mut put = |k: &str, v: Value| {
            m.insert(k.to_string(), v);
        };
        put("provider", self.provider.into());
        put("address", self.address.clone().into());
        put("resource", self.resource.into());
        put(
            "action",
            serde_json::to_value(self.action).unwrap_or_default(),
        );
        if let Some(a) = &self.agent {
            put("agent", a.clone().into());
        }
        put("before", self.before());
        put("after", self.after());
        put("destructive", self.destructive.into());
        put(
            "depends_on",
            serde_json::to_value(&self.depends_on).unwrap_or_default(),
        );
        if let Some(r) = &self.reason {
            put("reason", r.clone().into());
        }
        if let Some(d) = &self.diff {
            put("diff", d.clone().into());
        }
        if let Some(d) = &self.drift {
            put("drift", serde_json::to_value(d).unwrap_or_default());
        }
        if !self.notes.is_empty() {
            put(
                "notes",
                serde_json::to_value(&self.notes).unwrap_or_default(),
            );
        }
        if let Some(t) = &self.tokens {
            put("tokens", serde_json::to_value(t).unwrap_or_default());
        }
        Value::Object(m).serialize(s)
    }
}

/// Counts for the summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    /// Differences only a person can apply (format 1: additive).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub manual: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The whole plan, over every provider the manifests use.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub changes: Vec<Change>,
    /// Addresses of live objects in declared scopes that no manifest declares.
    pub unmanaged: Vec<String>,
    pub warnings: Vec<String>,
    /// What the manifests manage, for the header line: `(noun, count)`.
    pub managed: Vec<(&'static str, usize)>,
}

impl Plan {
    /// A replace counts as one add and one destroy; a move counts as a change.
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c.action {
                Action::Create => s.add += 1,
                Action::Update | Action::Move => s.change += 1,
                Action::Delete => s.destroy += 1,
                Action::Replace => {
                    s.add += 1;
                    s.destroy += 1;
                }
                Action::Manual => s.manual += 1,
            }
        }
        s
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Whether anything can be applied (manual changes cannot).
    pub fn has_work(&self) -> bool {
        self.changes.iter().any(|c| c.action != Action::Manual)
    }

    /// The destructive changes, for warnings and `--max-destroy`.
    pub fn destructive(&self) -> Vec<&Change> {
        self.changes.iter().filter(|c| c.destructive).collect()
    }

    /// Add another provider's part.
    pub fn extend(&mut self, other: Plan) {
        self.changes.extend(other.changes);
        self.unmanaged.extend(other.unmanaged);
        self.warnings.extend(other.warnings);
        self.managed.extend(other.managed);
    }

    /// Make every address unique: a provider that builds two equal addresses
    /// (two URLs differing only in a masked part) would make `--target` hit
    /// both. The second and later get `[2]`, `[3]`…
    pub fn dedupe_addresses(&mut self) {
        let mut seen = BTreeSet::new();
        for c in &mut self.changes {
            if seen.insert(c.address.clone()) {
                continue;
            }
            let mut n = 2;
            while !seen.insert(format!("{}[{n}]", c.address)) {
                n += 1;
            }
            c.address = format!("{}[{n}]", c.address);
        }
    }

    /// Whether `target` names `address`: the address itself, something inside
    /// it, or (a bare name) an object of any kind and provider with that name.
    pub fn target_matches(target: &str, address: &str) -> bool {
        if target.contains('[') {
            return address == target || address.starts_with(&format!("{target}."));
        }
        root_name(address).is_some_and(|n| n == target)
    }

    /// Keep only changes matching a target, plus everything they depend on.
    pub fn narrow(&mut self, targets: &[String]) {
        if targets.is_empty() {
            return;
        }
        let matches = |a: &str| targets.iter().any(|t| Self::target_matches(t, a));
        let mut keep: BTreeSet<String> = self
            .changes
            .iter()
            .filter(|c| matches(&c.address))
            .map(|c| c.address.clone())
            .collect();
        loop {
            let before = keep.len();
            for c in &self.changes {
                if keep.contains(&c.address) {
                    keep.extend(c.depends_on.iter().cloned());
                }
            }
            if keep.len() == before {
                break;
            }
        }
        self.changes.retain(|c| keep.contains(&c.address));
        self.unmanaged.retain(|u| matches(u));
    }
}

/// The name in an address's first brackets: `fresh` for
/// `agent["fresh"].schedule`, `Support Agent` for `other.agent["Support Agent"]`.
pub fn root_name(address: &str) -> Option<String> {
    let start = address.find('[')?;
    let rest = &address[start + 1..];
    let de = serde_json::Deserializer::from_str(rest)
        .into_iter::<String>()
        .next()?;
    de.ok()
}

/// A JSON-quoted name for addresses: `workspace["Marketing Agents"]`.
pub fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_targets_name_objects_of_any_provider() {
        assert!(Plan::target_matches("fresh", "agent[\"fresh\"].schedule"));
        assert!(Plan::target_matches(
            "Support Agent",
            "other.agent[\"Support Agent\"]"
        ));
        assert!(!Plan::target_matches("fresh", "agent[\"freshly\"]"));
        assert!(Plan::target_matches(
            "agent[\"x\"]",
            "agent[\"x\"].webhook[\"u\"]"
        ));
        assert!(!Plan::target_matches("agent[\"x\"]", "agent[\"xy\"]"));
    }

    #[test]
    fn token_counts_are_exact_only_for_a_model_of_their_family() {
        let mut c = Change::new("p", "a[\"x\"]", "agent", Action::Update);
        c.tokens = Some(crate::engine::tokens::TokenCount::of(None, "hi"));
        c.tokens_for_model(None);
        assert!(
            c.tokens.as_ref().unwrap().approximate,
            "no model: approximate"
        );
        c.tokens_for_model(Some("gpt-4o"));
        assert!(!c.tokens.as_ref().unwrap().approximate);
        c.tokens_for_model(Some("anthropic/claude-sonnet-4.6"));
        assert!(c.tokens.as_ref().unwrap().approximate);
    }

    #[test]
    fn duplicate_addresses_are_made_unique() {
        let mut p = Plan::default();
        for _ in 0..3 {
            p.changes.push(Change::new(
                "p",
                "a.webhook[\"u\"]",
                "webhook",
                Action::Create,
            ));
        }
        p.dedupe_addresses();
        let a: Vec<&str> = p.changes.iter().map(|c| c.address.as_str()).collect();
        assert_eq!(
            a,
            [
                "a.webhook[\"u\"]",
                "a.webhook[\"u\"][2]",
                "a.webhook[\"u\"][3]"
            ]
        );
    }
}

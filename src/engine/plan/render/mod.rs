//! Views of a [`Plan`](super::Plan): pure functions from plan to text, generic
//! over typed field changes (no provider's resources are named here). Every
//! string they return still goes through the printer's redactor, and human
//! output through its control-character filter.

pub mod json;
pub mod markdown;
pub mod text;

use std::collections::HashMap;

use super::{Action, Change, Plan};

/// Facts about how the plan was made, for the header line.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub seconds: f64,
    pub requests: u64,
    /// How long the rate limits of paced platforms make an apply of this
    /// plan, one sentence per platform and scope (none when it is quick).
    pub paced: Vec<String>,
}

/// A group of changes for display: the object they belong to (`None` for
/// changes that belong to nothing, each shown on its own), its own change if
/// it has one, and its other changes in plan order.
pub struct Group<'a> {
    pub key: Option<&'a str>,
    pub own: Option<&'a Change>,
    pub children: Vec<&'a Change>,
}

/// Changes grouped for display, in plan order of first appearance.
pub fn groups(changes: &[Change]) -> Vec<Group<'_>> {
    let mut out: Vec<Group> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for c in changes {
        let key = c.group.as_deref();
        let i = match key.and_then(|k| index.get(k)) {
            Some(&i) => i,
            None => {
                out.push(Group {
                    key,
                    own: None,
                    children: Vec::new(),
                });
                if let Some(k) = key {
                    index.insert(k, out.len() - 1);
                }
                out.len() - 1
            }
        };
        let g = &mut out[i];
        if key.is_none() || key == Some(c.address.as_str()) {
            g.own = Some(c);
        } else {
            g.children.push(c);
        }
    }
    out
}

/// `1 agent`, `2 agents`, `1 destructive change`.
pub fn count(n: usize, noun: &str) -> String {
    let plural = if n == 1 {
        noun.to_string()
    } else if noun.ends_with('s') {
        format!("{noun}es")
    } else {
        format!("{noun}s")
    };
    format!("{n} {plural}")
}

/// "4 workspaces, 8 agents" from the plan's managed counts.
pub fn managed_line(plan: &Plan) -> String {
    let parts: Vec<String> = plan
        .managed
        .iter()
        .map(|(noun, n)| count(*n, noun))
        .collect();
    if parts.is_empty() {
        "nothing".into()
    } else {
        parts.join(", ")
    }
}

/// The one-line summary.
pub fn summary_line(plan: &Plan) -> String {
    if plan.is_empty() {
        return "No changes. Live state matches the manifests.".into();
    }
    let s = plan.summary();
    let mut line = format!(
        "Plan: {} to add, {} to change, {} to destroy",
        s.add, s.change, s.destroy
    );
    if s.manual > 0 {
        line.push_str(&format!(", {} to do by hand", s.manual));
    }
    line.push('.');
    line
}

/// What an update says when only masked parts differ.
pub const SECRET_CHANGED: &str = "a sensitive value changed (not shown)";

/// A short description of a destructive change.
pub fn destructive_note(c: &Change) -> String {
    match c.action {
        Action::Replace => format!("{} replaced", c.address),
        _ => format!("{} deleted", c.address),
    }
}

/// What a change does, in one line, for the headline of an object or the
/// line of a child: moves as `moved a → b`, creates and deletes by their
/// fields, updates and manual changes as `field: a → b; …` (a manual
/// change's reason, what a person must do, is shown beside it), replaces
/// by their reason.
pub fn detail(c: &Change) -> String {
    match c.action {
        Action::Move => c
            .changed_fields()
            .next()
            .map(|f| format!("moved {} → {}", f.before.display(), f.after.display()))
            .unwrap_or_default(),
        Action::Create => summaries(c, |f| &f.after),
        Action::Delete => summaries(c, |f| &f.before),
        Action::Replace => match (&c.reason, summaries(c, |f| &f.after)) {
            (Some(r), s) if s.is_empty() || c.group.as_deref() == Some(c.address.as_str()) => {
                r.clone()
            }
            (_, s) => s,
        },
        Action::Update => {
            let t = transitions(c);
            if t.is_empty() && c.diff.is_none() {
                // Both sides are masked alike: what changed is secret.
                return SECRET_CHANGED.into();
            }
            t
        }
        // What differs, as for an update; what to do about it is the
        // reason, which every view shows beside it.
        Action::Manual => transitions(c),
    }
}

/// `field: a → b; …` of the fields that change, by name.
fn transitions(c: &Change) -> String {
    let mut fields: Vec<_> = c.changed_fields().collect();
    fields.sort_by_key(|f| f.name);
    fields
        .iter()
        .map(|f| f.transition())
        .collect::<Vec<_>>()
        .join("; ")
}

/// The one-line summaries of one side's fields, `, `-separated; a flag's
/// word carries its own separator (`cron "…", paused`, `[run.failed] (disabled)`).
fn summaries(c: &Change, side: impl Fn(&super::FieldChange) -> &super::Shown) -> String {
    let mut out = String::new();
    for f in &c.fields {
        if let Some(s) = f.summary(side(f)) {
            if !out.is_empty() && !matches!(f.show, super::Show::Flag { .. }) {
                out.push_str(", ");
            }
            out.push_str(&s);
        }
    }
    out
}

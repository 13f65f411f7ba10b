//! Views of a [`Plan`](super::Plan): pure functions from plan to text.
//! Every string they return still goes through the printer's redactor.

pub mod json;
pub mod markdown;
pub mod text;

use super::{Action, Change, Resource};

/// Facts about how the plan was made, for the header line.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub seconds: f64,
    pub requests: u64,
}

/// Changes grouped for display: workspace changes, then one group per agent
/// (its own change, if any, first), in plan order.
pub fn groups(changes: &[Change]) -> Vec<(Option<&str>, Vec<&Change>)> {
    let mut out: Vec<(Option<&str>, Vec<&Change>)> = Vec::new();
    for c in changes {
        let key = c.agent.as_deref();
        match out.iter_mut().find(|(k, _)| *k == key && key.is_some()) {
            Some((_, v)) => v.push(c),
            None => out.push((key, vec![c])),
        }
    }
    for (_, v) in &mut out {
        v.sort_by_key(|c| (c.resource != Resource::Agent, c.resource));
    }
    out
}

/// `1 agent`, `2 agents`.
pub fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// The one-line summary.
pub fn summary_line(plan: &super::Plan) -> String {
    if plan.is_empty() {
        return "No changes. Live state matches the manifests.".into();
    }
    let s = plan.summary();
    format!(
        "Plan: {} to add, {} to change, {} to destroy.",
        s.add, s.change, s.destroy
    )
}

/// A short description of a destructive change.
pub fn destructive_note(c: &Change) -> String {
    let what = c.address.clone();
    match c.action {
        Action::Replace => format!("{what} replaced"),
        _ => format!("{what} deleted"),
    }
}

/// `[a, b]` for a JSON list of strings.
pub fn list(v: &serde_json::Value) -> String {
    let items: Vec<String> = v
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                .collect()
        })
        .unwrap_or_default();
    format!("[{}]", items.join(", "))
}

/// `a → b` pairs for the fields that differ between `before` and `after`.
pub fn field_changes(c: &Change) -> Vec<String> {
    let (Some(b), Some(a)) = (c.before.as_object(), c.after.as_object()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (k, av) in a {
        if k == "url" {
            continue;
        }
        let bv = b.get(k).cloned().unwrap_or(serde_json::Value::Null);
        if &bv != av {
            out.push(format!("{k}: {} → {}", show(&bv), show(av)));
        }
    }
    out
}

/// A JSON value as people read it.
pub fn show(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => format!("{s:?}"),
        serde_json::Value::Array(_) => list(v),
        serde_json::Value::Null => "none".into(),
        other => other.to_string(),
    }
}

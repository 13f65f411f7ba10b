//! Live state as manifest values (export) and drifted values as write-back
//! requests (pull), both by table.

use serde_json::Value;

use super::diff::{live_value, map_changes, same, unanswered};
use super::{from_wire, to_wire, Field, Table, Ty, Val, Values};
use crate::engine::manifest::edit::{NewValue, Origin, Request};
use crate::engine::manifest::interpolate::escape;
use crate::engine::provider::Pulled;

/// What an export writes of one live resource.
#[derive(Debug, Default)]
pub struct Exported {
    /// `(key, value)` in the manifest's form, in table order; long texts as
    /// strings (their provider decides whether they go to files). A value
    /// equal to the server's default is left out (absent == default), so
    /// the export plans empty.
    pub values: Vec<(&'static str, Value)>,
    /// Fields left out and why (a credential in a live value).
    pub notes: Vec<String>,
}

/// The manifest values of `live` (named `what` in notes); a group is one
/// value (a mapping of its fields), written when one of its fields is.
pub fn export(table: &Table, live: &Value, what: &str) -> Exported {
    let mut out = Exported::default();
    for f in table.fields {
        if let Some(g) = f.group() {
            let inner = export(g, live, what);
            out.notes.extend(inner.notes);
            if !inner.values.is_empty() {
                let m = inner
                    .values
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect();
                out.values.push((f.key, Value::Object(m)));
            }
            continue;
        }
        if !f.managed_here() || f.nature.write_only || f.nature.sensitive {
            continue;
        }
        let Some(wire) = super::at(live, f.wire.read).filter(|v| !v.is_null()) else {
            continue;
        };
        if f.default_value().is_some_and(|d| same(f, wire, Some(&d))) {
            continue;
        }
        if let Ty::Map = f.ty {
            if let Some(m) = map_out(f, wire, what, &mut out.notes) {
                out.values.push((f.key, m));
            }
            continue;
        }
        if crate::engine::credentials::has_any(&serde_json::json!({ f.key: wire })) {
            out.notes.push(format!(
                "{what}: `{}` holds a credential and is not exported (left unmanaged)",
                f.name()
            ));
            continue;
        }
        let Some(v) = from_wire(f, wire).filter(|v| readable(f, v)) else {
            out.notes.push(format!(
                "{what}: {} `{}` is not a value twinform knows (left unmanaged)",
                f.name(),
                wire.as_str()
                    .map_or_else(|| wire.to_string(), str::to_string)
            ));
            continue;
        };
        match as_identity(f, &v) {
            Some(v) => out.values.push((f.key, v)),
            None => out.notes.push(format!(
                "{what}: `{}` holds `${{`, which this field cannot hold (left unmanaged)",
                f.name()
            )),
        }
    }
    out
}

/// Whether reading a manifest accepts `v` (in the manifest's form) for `f`:
/// a number in its range (an enum's unknown value has no manifest form).
fn readable(f: &Field, v: &Value) -> bool {
    match f.ty {
        Ty::Int { min, max } => v.as_i64().is_some_and(|i| (min..=max).contains(&i)),
        Ty::Float { min, max } => v.as_f64().is_some_and(|x| x >= min && x <= max),
        _ => true,
    }
}

/// A [`Ty::Map`]'s exportable entries: one holding a credential is left out
/// (with a note), as is a `${` nested in a list or map, which a manifest
/// cannot write. Strings are as live (their provider escapes `${`).
fn map_out(f: &Field, wire: &Value, what: &str, notes: &mut Vec<String>) -> Option<Value> {
    let mut out = serde_json::Map::new();
    for (k, v) in wire.as_object()? {
        if crate::engine::credentials::has_any(&serde_json::json!({ k: v })) {
            notes.push(format!(
                "{what}: {} `{k}` holds a credential and is not exported (left unmanaged)",
                f.name()
            ));
            continue;
        }
        if !v.is_string() && v.to_string().contains("${") {
            notes.push(format!(
                "{what}: {} `{k}` holds `${{` inside a list or map, which a manifest cannot express (left unmanaged)",
                f.name()
            ));
            continue;
        }
        out.insert(k.clone(), v.clone());
    }
    (!out.is_empty()).then_some(Value::Object(out))
}

/// Every managed field of `values` (its groups' too) that drifted live, as
/// a request to write the live value back (or a reason to leave it:
/// interpolated, templated).
pub fn pull(
    table: &Table,
    values: &Values,
    live: &Value,
    origin: &Origin,
    address: &str,
) -> Vec<Pulled> {
    let mut out = Vec::new();
    for f in table.fields {
        if let Some(g) = f.group() {
            if let Some(inner) = values.group(f.key) {
                out.extend(pull(g, inner, live, origin, address));
            }
            continue;
        }
        if !f.managed_here() || f.nature.write_only || f.nature.sensitive {
            continue;
        }
        let Some(got) = values.get(f.key) else {
            continue;
        };
        if unanswered(f, live) {
            continue;
        }
        if let Val::Map(m) = &got.val {
            pull_map(f, m, got, live, origin, address, &mut out);
            continue;
        }
        let have = live_value(f, live);
        if same(f, &to_wire(f, &got.val), have.as_ref()) {
            continue;
        }
        let Some(have) = have else {
            continue;
        };
        let leave = |why: String| Pulled::Leave {
            address: address.to_string(),
            why,
        };
        if let Val::Text(t) = &got.val {
            if t.is_sensitive() {
                out.push(leave(format!(
                    "{} drifted, but it is interpolated from the environment; change it by hand",
                    f.name()
                )));
                continue;
            }
        }
        if matches!(got.val, Val::Json(_)) && !got.literal {
            out.push(leave(format!(
                "{} drifted, but it is written with `${{var.…}}`; change it by hand",
                f.name()
            )));
            continue;
        }
        let Some(manifest) = from_wire(f, &have) else {
            out.push(leave(format!(
                "{} drifted to a value a manifest cannot hold",
                f.name()
            )));
            continue;
        };
        // Written as the manifest reads it back: a `${` the loader would
        // interpolate is escaped (a live `${HOOK_TOKEN}` pulled as written
        // would send the token on the next apply).
        let manifest = match (f.ty, manifest) {
            (Ty::Text, Value::String(t)) => Some(Value::String(escape(&t))),
            (_, m) => as_identity(f, &m),
        };
        let Some(manifest) = manifest else {
            out.push(leave(format!(
                "{} drifted to a value holding `${{`, which this field cannot hold",
                f.name()
            )));
            continue;
        };
        let Some(value) = new_value(f.ty, &manifest) else {
            out.push(leave(format!(
                "{} drifted; a structured value is left for a person",
                f.name()
            )));
            continue;
        };
        out.push(Pulled::Write(Request {
            origin: origin.clone(),
            path: got.path.clone(),
            value,
            address: address.to_string(),
            field: f.name().to_string(),
        }));
    }
    out
}

/// A [`Ty::Map`]'s drifted entries, name by name: an interpolated one or
/// one holding a credential is left for a person; a name gone live too.
fn pull_map(
    f: &Field,
    m: &std::collections::BTreeMap<String, Val>,
    got: &super::Got,
    live: &Value,
    origin: &Origin,
    address: &str,
    out: &mut Vec<Pulled>,
) {
    let have = live_value(f, live);
    let leave = |why: String| Pulled::Leave {
        address: address.to_string(),
        why,
    };
    for k in map_changes(&to_wire(f, &got.val), have.as_ref()) {
        let name = format!("{}.{k}", f.name());
        let Some(h) = have.as_ref().and_then(|h| h.get(&k)) else {
            out.push(leave(format!("{name} is gone live; remove it by hand")));
            continue;
        };
        if matches!(m.get(&k), Some(Val::Text(t)) if t.is_sensitive()) {
            out.push(leave(format!(
                "{name} drifted, but it is interpolated from the environment; change it by hand"
            )));
            continue;
        }
        if crate::engine::credentials::has_any(&serde_json::json!({ k.as_str(): h })) {
            out.push(leave(format!(
                "{name} drifted, but it holds a credential; change it by hand"
            )));
            continue;
        }
        if h.to_string().contains("${") {
            out.push(leave(format!(
                "{name} drifted to a value holding `${{`, which a manifest would interpolate; change it by hand"
            )));
            continue;
        }
        let value = match h {
            Value::Object(_) | Value::Array(_) => NewValue::Json(h.clone()),
            other => match new_value(Ty::Str, other) {
                Some(v) => v,
                None => {
                    out.push(leave(format!(
                        "{name} drifted to a value a manifest cannot hold"
                    )));
                    continue;
                }
            },
        };
        let mut path = got.path.clone();
        path.push(crate::engine::manifest::edit::Seg::Key(k.clone()));
        out.push(Pulled::Write(Request {
            origin: origin.clone(),
            path,
            value,
            address: address.to_string(),
            field: name,
        }));
    }
}

/// A live name as a field that takes only `${var.…}` (an identity, a name
/// referring to one) writes it so that it reads back as itself: `${var.`
/// escaped as `$${var.`; `None` when it holds another `${`, which such a
/// field refuses (left for a person).
pub fn identity_text(s: &str) -> Option<String> {
    let escaped = s.replace("${var.", "$${var.");
    (escaped.matches("${").count() == escaped.matches("$${var.").count()).then_some(escaped)
}

/// `v` as a field that takes `${var.…}` (an identity) writes it so that it
/// reads back as `v`: `${var.` escaped as `$${var.`; `None` for any other
/// `${` (the loader refuses it there, and no spelling reads back as it).
/// Any other field's value is returned as it is.
fn as_identity(f: &Field, v: &Value) -> Option<Value> {
    if !(f.nature.identity || f.nature.vars) {
        return Some(v.clone());
    }
    let one = identity_text;
    Some(match v {
        Value::String(s) => Value::String(one(s)?),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|x| match x {
                    Value::String(s) => one(s).map(Value::String),
                    other => Some(other.clone()),
                })
                .collect::<Option<_>>()?,
        ),
        other => other.clone(),
    })
}

fn new_value(ty: Ty, v: &Value) -> Option<NewValue> {
    Some(match (ty, v) {
        // A long text as live: the writer escapes it where it is inline.
        (Ty::LongText, Value::String(s)) => NewValue::LongText(s.clone()),
        (_, Value::String(s)) => NewValue::Text(s.clone()),
        (_, Value::Bool(b)) => NewValue::Bool(*b),
        (_, Value::Number(n)) => NewValue::Number(n.to_string()),
        (Ty::List { .. }, Value::Array(a)) => NewValue::List(
            a.iter()
                .map(|x| x.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()?,
        ),
        (Ty::Json, v @ Value::Object(_)) => NewValue::Json(v.clone()),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::identity_text;

    #[test]
    fn a_live_name_is_written_to_read_back_as_itself_or_not_at_all() {
        assert_eq!(identity_text("Ops").as_deref(), Some("Ops"));
        assert_eq!(
            identity_text("Ops ${var.env}").as_deref(),
            Some("Ops $${var.env}")
        );
        assert_eq!(identity_text("Ops ${HOOK_TOKEN}"), None);
        assert_eq!(identity_text("a ${var.x} ${Y}"), None);
        assert_eq!(
            identity_text("$ and {} alone").as_deref(),
            Some("$ and {} alone")
        );
    }
}

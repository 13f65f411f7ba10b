//! Live state as manifest values (export) and drifted values as write-back
//! requests (pull), both by table.

use serde_json::Value;

use super::diff::{live_value, same};
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
        if crate::engine::credentials::has_any(&serde_json::json!({ f.key: wire })) {
            out.notes.push(format!(
                "{what}: `{}` holds a credential and is not exported (left unmanaged)",
                f.name()
            ));
            continue;
        }
        let Some(v) = from_wire(f, wire) else {
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
            (Ty::LongText, Value::String(t)) if got.literal => Some(Value::String(escape(&t))),
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

/// `v` as a field that takes `${var.…}` (an identity) writes it so that it
/// reads back as `v`: `${var.` escaped as `$${var.`; `None` for any other
/// `${` (the loader refuses it there, and no spelling reads back as it).
/// Any other field's value is returned as it is.
fn as_identity(f: &Field, v: &Value) -> Option<Value> {
    if !(f.nature.identity || f.nature.vars) {
        return Some(v.clone());
    }
    let one = |s: &str| -> Option<String> {
        let escaped = s.replace("${var.", "$${var.");
        (escaped.matches("${").count() == escaped.matches("$${var.").count()).then_some(escaped)
    };
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

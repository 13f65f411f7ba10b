//! Reading a manifest object by its table: every field checked against its
//! type at its own line and column, in one pass (a wrong field never hides
//! another problem of the document). Unknown keys are not reported here:
//! the loader's walk reports them against the schema derived from the same
//! table.

use serde_json::Value;
use serde_saphyr::{Location, Spanned};

use super::{Field, Got, Table, Ty, Val, Values};
use crate::engine::manifest::diagnostic::did_you_mean;
use crate::engine::manifest::edit::Seg;
use crate::engine::manifest::node::{Node, Typed};
use crate::engine::manifest::{Document, LoadContext};
use crate::engine::manifest::{FileRef, TemplateRef, TextSource};

/// The values of the object `node` (a mapping) as `table` describes it;
/// `None` when a value was wrong (each problem recorded in `ctx`). `path`
/// is the object's path in its document.
pub fn read(
    ctx: &mut LoadContext,
    doc: &Document,
    node: &Spanned<Node>,
    table: &'static Table,
    path: Vec<Seg>,
) -> Option<Values> {
    let Node::Map(entries) = &node.value else {
        ctx.error(doc, &node.referenced, "expected a mapping here");
        return None;
    };
    let mut values = Values {
        path: path.clone(),
        ..Values::default()
    };
    let mut ok = true;
    for field in table.fields {
        let found = entries
            .iter()
            .find(|(k, _)| k.value == field.key || field.aliases.contains(&k.value.as_str()));
        let Some((key, value)) = found else {
            if field.nature.required {
                let at = if path.is_empty() {
                    None
                } else {
                    Some(node.referenced)
                };
                let msg = format!("`{}` is required here", field.key);
                match at {
                    Some(loc) => ctx.error(doc, &loc, msg),
                    None => ctx.document_error(doc, msg),
                }
                .set_help(field.doc.lines().next().unwrap_or_default().to_string());
                ok = false;
            }
            continue;
        };
        let mut here = path.clone();
        here.push(Seg::Key(key.value.clone()));
        if let Ty::Removed { why } = field.ty {
            ctx.error(
                doc,
                &key.referenced,
                format!("`{}` is no longer part of the API", key.value),
            )
            .set_help(why);
            ok = false;
            continue;
        }
        if let Ty::Children(child) = field.ty {
            match children(ctx, doc, value, child, &here) {
                Some(list) => {
                    values.children.insert(field.key, list);
                }
                None => ok = false,
            }
            continue;
        }
        if let Ty::Group(inner) = field.ty {
            // `group: null` is the group left unwritten.
            if !matches!(value.value, Node::Scalar(None)) {
                match read(ctx, doc, value, inner, here) {
                    Some(v) => {
                        values.groups.insert(field.key, v);
                    }
                    None => ok = false,
                }
            }
            continue;
        }
        if matches!(value.value, Node::Scalar(None)) && !field.nature.required {
            // `key: null` is "none" for an optional field: kept as JSON null.
            values.fields.insert(
                field.key,
                Got {
                    val: Val::Json(Value::Null),
                    at: value.referenced,
                    path: here,
                    literal: true,
                },
            );
            continue;
        }
        match one(ctx, doc, field, value) {
            Some((val, literal)) => {
                values.fields.insert(
                    field.key,
                    Got {
                        val,
                        at: value.referenced,
                        path: here,
                        literal,
                    },
                );
            }
            None => ok = false,
        }
    }
    ok.then_some(values)
}

/// A map of children keyed by id.
fn children(
    ctx: &mut LoadContext,
    doc: &Document,
    node: &Spanned<Node>,
    table: &'static Table,
    path: &[Seg],
) -> Option<Vec<(Spanned<String>, Values)>> {
    let entries = match &node.value {
        Node::Map(e) => e,
        Node::Scalar(None) => return Some(Vec::new()),
        _ => {
            ctx.error(doc, &node.referenced, "expected a mapping of ids here");
            return None;
        }
    };
    let mut out = Vec::new();
    let mut ok = true;
    for (id, child) in entries {
        let mut here = path.to_vec();
        here.push(Seg::Key(id.value.clone()));
        match read(ctx, doc, child, table, here) {
            Some(v) => out.push((id.clone(), v)),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// One field's value; `(value, written literally)`.
fn one(
    ctx: &mut LoadContext,
    doc: &Document,
    field: &'static Field,
    node: &Spanned<Node>,
) -> Option<(Val, bool)> {
    let at = node.referenced;
    let wrong = |ctx: &mut LoadContext, what: String| {
        ctx.error(doc, &at, format!("`{}`: expected {what}", field.key));
        None
    };
    match (field.ty, &node.value) {
        (Ty::Str, Node::Scalar(Some(s))) if field.nature.identity || field.nature.vars => {
            let v = ctx.identity(doc, &Spanned::new(s.clone(), at, at))?;
            let literal = v == *s;
            Some((Val::Json(Value::String(v)), literal))
        }
        (Ty::Str, Node::Scalar(Some(s))) => Some((Val::Json(Value::String(s.clone())), true)),
        (Ty::Str, _) => wrong(ctx, "text".into()),
        (Ty::Text, Node::Scalar(Some(s))) => {
            let t = ctx.text(doc, &Spanned::new(s.clone(), at, at))?;
            let literal = !t.is_sensitive() && !s.contains("${");
            Some((Val::Text(t), literal))
        }
        (Ty::Text, _) => wrong(ctx, "text".into()),
        (Ty::LongText, n) => {
            let Some(source) = text_source(n) else {
                return wrong(ctx, "text, `{file: path}` or `{template: path}`".into());
            };
            let literal = matches!(source, TextSource::Inline(ref s) if !s.contains("${"));
            let t = ctx.text_source(doc, &at, &source, &format!("{} file", field.key))?;
            let literal = literal && !t.is_sensitive();
            Some((Val::Text(t), literal))
        }
        (Ty::Int { min, max }, Node::Typed(Typed::Int(i))) if (min..=max).contains(i) => {
            Some((Val::Json(Value::from(*i)), true))
        }
        (Ty::Int { min, max }, _) => wrong(ctx, format!("a whole number from {min} to {max}")),
        (Ty::Float { min, max }, Node::Typed(t)) => {
            let f = match t {
                Typed::Int(i) => *i as f64,
                Typed::Float(f) => *f,
                Typed::Bool(_) => f64::NAN,
            };
            if f.is_finite() && f >= min && f <= max {
                let v = serde_json::Number::from_f64(f).map(Value::Number)?;
                Some((Val::Json(v), true))
            } else {
                wrong(ctx, format!("a number from {min} to {max}"))
            }
        }
        (Ty::Float { min, max }, _) => wrong(ctx, format!("a number from {min} to {max}")),
        (Ty::Bool | Ty::Flag { .. }, Node::Typed(Typed::Bool(b))) => {
            Some((Val::Json(Value::Bool(*b)), true))
        }
        (Ty::Bool | Ty::Flag { .. }, _) => wrong(ctx, "true or false".into()),
        (Ty::TextMap, Node::Map(entries)) => {
            let mut out = std::collections::BTreeMap::new();
            let mut literal = true;
            let mut ok = true;
            for (k, v) in entries {
                let Node::Scalar(Some(s)) = &v.value else {
                    ctx.error(
                        doc,
                        &v.referenced,
                        format!("`{}.{}`: expected text", field.key, k.value),
                    );
                    ok = false;
                    continue;
                };
                match ctx.text(doc, &Spanned::new(s.clone(), v.referenced, v.referenced)) {
                    Some(t) => {
                        literal &= !t.is_sensitive() && !s.contains("${");
                        out.insert(k.value.clone(), t);
                    }
                    None => ok = false,
                }
            }
            ok.then_some((Val::Texts(out), literal))
        }
        (Ty::TextMap, _) => wrong(ctx, "a mapping of names to texts".into()),
        (Ty::Map, Node::Map(entries)) => map(ctx, doc, field, entries),
        (Ty::Map, _) => wrong(ctx, "a mapping".into()),
        (Ty::Enum(values), Node::Scalar(Some(s))) => {
            if values.iter().any(|(m, _)| m == s) {
                return Some((Val::Json(Value::String(s.clone())), true));
            }
            let names: Vec<&str> = values.iter().map(|(m, _)| *m).collect();
            let help = match did_you_mean(s, &names) {
                Some(m) => format!("did you mean `{m}`?"),
                None => format!("one of {}", names.join(", ")),
            };
            ctx.error(
                doc,
                &at,
                format!("`{}`: `{s}` is not one of its values", field.key),
            )
            .set_help(help);
            None
        }
        (Ty::Enum(values), _) => {
            let names: Vec<&str> = values.iter().map(|(m, _)| *m).collect();
            wrong(ctx, format!("one of {}", names.join(", ")))
        }
        (Ty::Duration, Node::Scalar(Some(s))) if super::parse_duration(s).is_some() => {
            Some((Val::Json(Value::String(s.clone())), true))
        }
        (Ty::Duration, Node::Typed(Typed::Int(i))) if *i >= 0 => {
            Some((Val::Json(Value::String(format!("{i}s"))), true))
        }
        (Ty::Duration, _) => wrong(ctx, "a duration such as `90s`, `15m`, `2h` or `1d`".into()),
        (Ty::Json, Node::Map(_)) => Some((Val::Json(node.value.to_json()), true)),
        (Ty::Json, _) => wrong(ctx, "a mapping".into()),
        (Ty::List { .. }, Node::Seq(items)) => {
            let mut out = Vec::new();
            for item in items {
                match item.value.as_str() {
                    Some(s) if field.nature.identity => {
                        let v = ctx.identity(
                            doc,
                            &Spanned::new(s.to_string(), item.referenced, item.referenced),
                        )?;
                        out.push(Value::String(v));
                    }
                    Some(s) => out.push(Value::String(s.to_string())),
                    None => {
                        ctx.error(
                            doc,
                            &item.referenced,
                            format!("`{}`: expected text in this list", field.key),
                        );
                        return None;
                    }
                }
            }
            Some((Val::Json(Value::Array(out)), true))
        }
        (Ty::List { .. }, _) => wrong(ctx, "a list".into()),
        (Ty::Children(_) | Ty::Group(_) | Ty::Removed { .. }, _) => None,
    }
}

/// A [`Ty::Map`]: each string a text (`${VAR}` interpolated), anything else
/// JSON in which `${` is refused (only top-level strings are interpolated).
fn map(
    ctx: &mut LoadContext,
    doc: &Document,
    field: &'static Field,
    entries: &[(Spanned<String>, Spanned<Node>)],
) -> Option<(Val, bool)> {
    let mut out = std::collections::BTreeMap::new();
    let mut literal = true;
    let mut ok = true;
    for (k, v) in entries {
        let val = match &v.value {
            Node::Scalar(Some(s)) => {
                match ctx.text(doc, &Spanned::new(s.clone(), v.referenced, v.defined)) {
                    Some(t) => {
                        literal &= !t.is_sensitive() && !s.contains("${");
                        Val::Text(t)
                    }
                    None => {
                        ok = false;
                        continue;
                    }
                }
            }
            other => {
                let json = other.to_json();
                if interpolates(&json) {
                    ctx.error(
                        doc,
                        &v.referenced,
                        format!(
                            "{} `{}`: `${{…}}` works only in top-level {} values",
                            field.key, k.value, field.key
                        ),
                    )
                    .set_help(format!(
                        "move the value to a top-level key of `{}`",
                        field.key
                    ));
                    ok = false;
                    continue;
                }
                Val::Json(json)
            }
        };
        out.insert(k.value.clone(), val);
    }
    ok.then_some((Val::Map(out), literal))
}

/// Whether a string nested in `v` asks for interpolation.
fn interpolates(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains("${"),
        Value::Array(a) => a.iter().any(interpolates),
        Value::Object(m) => m.values().any(interpolates),
        _ => false,
    }
}

/// A long text's source: a string, `{file: …}` or `{template: …, vars: …}`.
fn text_source(node: &Node) -> Option<TextSource> {
    match node {
        Node::Scalar(Some(s)) => Some(TextSource::Inline(s.clone())),
        Node::Map(_) => {
            if let Some(f) = node.get("file").and_then(|f| f.value.as_str()) {
                return Some(TextSource::File(FileRef {
                    file: f.to_string(),
                }));
            }
            let template = node.get("template")?.value.as_str()?.to_string();
            let vars = match node.get("vars").map(|v| v.value.to_json()) {
                Some(Value::Object(m)) => m.into_iter().collect(),
                _ => Default::default(),
            };
            Some(TextSource::Template(TemplateRef { template, vars }))
        }
        _ => None,
    }
}

/// Where a problem about a whole object goes when it has no field to point at.
pub fn location(node: &Spanned<Node>) -> Location {
    node.referenced
}

//! A YAML document as a generic tree with positions, for the checks that do
//! not depend on a concrete kind: which documents are manifests at all, and
//! every unknown field of a document (serde stops at the first one).

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_saphyr::Spanned;

/// One YAML node: a mapping (keys in document order), a sequence, or a scalar.
#[derive(Debug, Clone)]
pub enum Node {
    Map(Vec<(Spanned<String>, Spanned<Node>)>),
    Seq(Vec<Spanned<Node>>),
    /// A scalar, with its value when it is a string.
    Scalar(Option<String>),
    /// A scalar that is not a string: a boolean or a number (YAML's typed
    /// scalars under strict booleans), kept with its value.
    Typed(Typed),
}

/// A YAML scalar that is not a string.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Typed {
    Bool(bool),
    Int(i64),
    Float(f64),
}

impl Node {
    /// The node as JSON (for free-form values: schemas, template vars).
    pub fn to_json(&self) -> Value {
        match self {
            Node::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.value.clone(), v.value.to_json()))
                    .collect(),
            ),
            Node::Seq(items) => Value::Array(items.iter().map(|i| i.value.to_json()).collect()),
            Node::Scalar(Some(s)) => Value::String(s.clone()),
            Node::Scalar(None) => Value::Null,
            Node::Typed(Typed::Bool(b)) => Value::Bool(*b),
            Node::Typed(Typed::Int(i)) => Value::from(*i),
            Node::Typed(Typed::Float(f)) => {
                serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
            }
        }
    }

    /// The string, when the node is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Scalar(Some(s)) => Some(s),
            _ => None,
        }
    }
}

impl Node {
    /// The value under `key` when this is a mapping.
    pub fn get(&self, key: &str) -> Option<&Spanned<Node>> {
        match self {
            Node::Map(entries) => entries.iter().find(|(k, _)| k.value == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The keys of a mapping (empty for anything else).
    pub fn keys(&self) -> impl Iterator<Item = &Spanned<String>> {
        let entries = match self {
            Node::Map(e) => e.as_slice(),
            _ => &[],
        };
        entries.iter().map(|(k, _)| k)
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Typed(Typed::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Typed(Typed::Int(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        Ok(
            i64::try_from(v).map_or(Node::Typed(Typed::Float(v as f64)), |i| {
                Node::Typed(Typed::Int(i))
            }),
        )
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Node, E> {
        Ok(
            i64::try_from(v).map_or(Node::Typed(Typed::Float(v as f64)), |i| {
                Node::Typed(Typed::Int(i))
            }),
        )
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Node, E> {
        Ok(
            i64::try_from(v).map_or(Node::Typed(Typed::Float(v as f64)), |i| {
                Node::Typed(Typed::Int(i))
            }),
        )
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Typed(Typed::Float(v)))
    }

    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Node, E> {
        Ok(Node::Scalar(None))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Scalar(Some(v.to_string())))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Scalar(None))
    }

    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Scalar(None))
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Node>>()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<Key>>()? {
            let value = map.next_value::<Spanned<Node>>()?;
            entries.push((
                Spanned::new(key.value.0, key.referenced, key.defined),
                value,
            ));
        }
        Ok(Node::Map(entries))
    }
}

/// A mapping key: any scalar, as text.
pub(super) struct Key(pub(super) String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a scalar key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Key, E> {
                Ok(Key("null".into()))
            }
        }
        d.deserialize_any(KeyVisitor)
    }
}

/// A string scalar with an unescaped `${`: it must be in a field that is
/// interpolated, or it would be sent as written (see
/// [`super::LoadContext::check_placeholders`]).
#[derive(Debug, Clone)]
pub struct Placeholder {
    pub at: serde_saphyr::Location,
    /// The first `${NAME}` that names the environment (not `var.`), if any.
    pub env: Option<String>,
    /// Inside a template's `vars` (which take `${var.NAME}` only).
    pub in_template_vars: bool,
}

/// Every string scalar of `node` holding an unescaped `${`, at any depth,
/// except inside free-form values (`schema` gives them no fields: a JSON
/// Schema, an output definition), whose text is data sent as written.
pub fn placeholders(node: &Spanned<Node>, schema: &Value) -> Vec<Placeholder> {
    let mut out = Vec::new();
    collect_placeholders(node, Some(schema), schema, false, &mut out);
    out
}

/// Whether a schema describes a free-form mapping (an object with no
/// properties and no schema for its values).
fn free_form(schema: &Value) -> bool {
    // A schema that says nothing of the value (`any`) is free-form too.
    let structural = [
        "type",
        "$ref",
        "anyOf",
        "oneOf",
        "allOf",
        "properties",
        "enum",
        "const",
        "items",
        "not",
    ];
    if schema.is_object() && !structural.iter().any(|k| schema.get(*k).is_some()) {
        return true;
    }
    let is_object = match schema.get("type") {
        Some(Value::String(t)) => t == "object",
        Some(Value::Array(ts)) => ts.iter().any(|t| t == "object"),
        _ => false,
    };
    is_object
        && schema.get("properties").is_none()
        && !matches!(
            schema.get("additionalProperties"),
            Some(Value::Object(_)) | Some(Value::Bool(false))
        )
}

/// The schema of the value under `key` of a mapping described by `schema`.
fn child_schema<'s>(schema: &'s Value, root: &'s Value, key: &str) -> Option<&'s Value> {
    let s = resolve(schema, root);
    if let Some(p) = s.get("properties").and_then(|p| p.get(key)) {
        return Some(resolve(p, root));
    }
    if let Some(a @ Value::Object(_)) = s.get("additionalProperties") {
        return Some(resolve(a, root));
    }
    for k in ["anyOf", "oneOf", "allOf"] {
        for b in s.get(k).and_then(Value::as_array).into_iter().flatten() {
            if let Some(found) = child_schema(b, root, key) {
                return Some(found);
            }
        }
    }
    None
}

fn collect_placeholders(
    node: &Spanned<Node>,
    schema: Option<&Value>,
    root: &Value,
    in_vars: bool,
    out: &mut Vec<Placeholder>,
) {
    if schema.is_some_and(|s| free_form(resolve(s, root))) && !in_vars {
        return;
    }
    match &node.value {
        Node::Scalar(Some(s)) => {
            let exprs = expressions(s);
            if !exprs.is_empty() {
                out.push(Placeholder {
                    at: node.referenced,
                    env: exprs.into_iter().find(|e| !e.starts_with("var.")),
                    in_template_vars: in_vars,
                });
            }
        }
        Node::Scalar(None) | Node::Typed(_) => {}
        Node::Seq(items) => {
            let item_schema = schema.and_then(|s| resolve(s, root).get("items"));
            items
                .iter()
                .for_each(|i| collect_placeholders(i, item_schema, root, in_vars, out))
        }
        Node::Map(entries) => {
            let template = node.value.get("template").is_some();
            for (k, v) in entries {
                let vars = in_vars || (template && k.value == "vars");
                let sub = schema.and_then(|s| child_schema(s, root, &k.value));
                collect_placeholders(v, sub, root, vars, out);
            }
        }
    }
}

/// The expressions of the unescaped `${…}` in `s` (`$${` is a literal).
pub(super) fn expressions(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(pos) = rest.find("${") {
        let escaped = rest[..pos].ends_with('$');
        let tail = &rest[pos + 2..];
        if !escaped {
            let end = tail.find('}').unwrap_or(tail.len());
            out.push(tail[..end].trim().to_string());
        }
        rest = tail;
    }
    out
}

/// A field a document has that its kind's schema does not allow.
#[derive(Debug)]
pub struct UnknownField<'a> {
    pub key: &'a Spanned<String>,
    /// Its value (the whole of what the key holds).
    pub value: &'a Spanned<Node>,
    /// The fields allowed at that place, for "did you mean".
    pub allowed: Vec<String>,
}

/// Every field of `node` that `schema` (a JSON Schema with `definitions`,
/// as `twinform schema` generates them) does not allow, at any depth.
pub fn unknown_fields<'a>(node: &'a Node, schema: &Value) -> Vec<UnknownField<'a>> {
    let mut out = Vec::new();
    walk(node, schema, schema, &mut out);
    out
}

fn resolve<'s>(schema: &'s Value, root: &'s Value) -> &'s Value {
    let mut s = schema;
    for _ in 0..16 {
        let Some(r) = s.get("$ref").and_then(Value::as_str) else {
            break;
        };
        let name = r.rsplit('/').next().unwrap_or_default();
        match root.get("definitions").and_then(|d| d.get(name)) {
            Some(next) => s = next,
            None => break,
        }
    }
    s
}

fn walk<'a>(node: &'a Node, schema: &Value, root: &Value, out: &mut Vec<UnknownField<'a>>) {
    let schema = resolve(schema, root);
    for branch in ["anyOf", "oneOf"] {
        if let Some(branches) = schema.get(branch).and_then(Value::as_array) {
            // The branch shaped like the node (a mapping's object branch);
            // among several object branches, the one naming most of its keys.
            let known = |b: &Value| match node {
                Node::Map(entries) => entries
                    .iter()
                    .filter(|(k, _)| names_property(resolve(b, root), root, &k.value))
                    .count(),
                _ => 0,
            };
            let best = branches
                .iter()
                .filter(|b| fits(node, resolve(b, root), root))
                .enumerate()
                .max_by_key(|(i, b)| (known(b), std::cmp::Reverse(*i)))
                .map(|(_, b)| b);
            if let Some(b) = best {
                walk(node, b, root, out);
            }
            return;
        }
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for b in all {
            walk(node, b, root, out);
        }
    }
    match node {
        Node::Map(entries) => {
            let empty = serde_json::Map::new();
            let props = schema
                .get("properties")
                .and_then(Value::as_object)
                .unwrap_or(&empty);
            // `additionalProperties` is `false` (closed), a schema (a map of
            // children keyed by id, each checked against it), or absent (open).
            let additional = schema.get("additionalProperties");
            for (key, value) in entries {
                match (props.get(&key.value), additional) {
                    (Some(sub), _) => walk(&value.value, sub, root, out),
                    (None, Some(Value::Bool(false))) => out.push(UnknownField {
                        key,
                        value,
                        allowed: props.keys().cloned().collect(),
                    }),
                    (None, Some(sub @ Value::Object(_))) => walk(&value.value, sub, root, out),
                    (None, _) => {}
                }
            }
        }
        Node::Seq(items) => {
            if let Some(item_schema) = schema.get("items") {
                for item in items {
                    walk(&item.value, item_schema, root, out);
                }
            }
        }
        Node::Scalar(_) | Node::Typed(_) => {}
    }
}

/// Whether `schema` (or a schema it is `allOf`) has property `key`.
fn names_property(schema: &Value, root: &Value, key: &str) -> bool {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .is_some_and(|p| p.contains_key(key))
        || schema
            .get("allOf")
            .and_then(Value::as_array)
            .is_some_and(|all| {
                all.iter()
                    .any(|b| names_property(resolve(b, root), root, key))
            })
}

/// Whether a schema branch could describe `node` (by its JSON type).
fn fits(node: &Node, schema: &Value, root: &Value) -> bool {
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => {
            // No type: an allOf/anyOf wrapper; look inside.
            return ["allOf", "anyOf", "oneOf"].iter().any(|k| {
                schema
                    .get(*k)
                    .and_then(Value::as_array)
                    .is_some_and(|bs| bs.iter().any(|b| fits(node, resolve(b, root), root)))
            }) || schema.get("properties").is_some() && matches!(node, Node::Map(_));
        }
    };
    match node {
        Node::Map(_) => types.contains(&"object"),
        Node::Seq(_) => types.contains(&"array"),
        Node::Scalar(_) | Node::Typed(_) => types.iter().any(|t| *t != "object" && *t != "array"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unknown_field_is_found_with_its_position() {
        let schema = serde_json::json!({
            "type": "object", "additionalProperties": false,
            "properties": {
                "kind": {"type": "string"},
                "schedule": {"type": ["object", "null"]},
                "hooks": {"type": "array", "items": {"$ref": "#/definitions/Hook"}},
                "byname": {"type": ["object", "null"], "additionalProperties": {"$ref": "#/definitions/Hook"}},
                "body": {"anyOf": [{"type": "string"}, {"$ref": "#/definitions/File"}]}
            },
            "definitions": {
                "Hook": {"type": "object", "additionalProperties": false,
                         "properties": {"url": {"type": "string"}, "enabled": {"type": "boolean"}}},
                "File": {"type": "object", "additionalProperties": false,
                         "properties": {"file": {"type": "string"}}}
            }
        });
        let doc = "kind: X\nschedul: {}\nhooks:\n  - url: https://x\n    enabeld: true\n    colour: red\nbody: {file: a.md, mode: x}\nbyname:\n  a:\n    url: x\n    enabld: true\n";
        let node: Spanned<Node> = serde_saphyr::from_str(doc).unwrap();
        let found: Vec<(String, u64)> = unknown_fields(&node.value, &schema)
            .iter()
            .map(|u| (u.key.value.clone(), u.key.referenced.line()))
            .collect();
        assert_eq!(
            found,
            vec![
                ("schedul".into(), 2),
                ("enabeld".into(), 5),
                ("colour".into(), 6),
                ("mode".into(), 7),
                // A map of children keyed by id: each child is checked too.
                ("enabld".into(), 11),
            ]
        );
    }
}

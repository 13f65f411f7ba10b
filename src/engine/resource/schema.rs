//! The JSON Schema (draft-07) of a table: the editor's schema and the one
//! the loader's unknown-field walk checks documents against.

use serde_json::{json, Map, Value};

use super::{Table, Ty};

/// The schema of a document of `kinds` described by `table`, with the
/// definitions of its children and of long texts.
pub fn schema(table: &'static Table, kinds: &[&str]) -> Value {
    let mut definitions = Map::new();
    let mut root = object(table, &mut definitions);
    if let Some(props) = root.get_mut("properties").and_then(Value::as_object_mut) {
        props.insert("kind".into(), json!({"type": "string", "enum": kinds}));
    }
    if let Some(req) = root.get_mut("required").and_then(Value::as_array_mut) {
        req.insert(0, json!("kind"));
    }
    text_source_definitions(&mut definitions);
    root["$schema"] = json!("http://json-schema.org/draft-07/schema#");
    root["title"] = json!(table.name);
    root["definitions"] = Value::Object(definitions);
    root
}

fn object(table: &'static Table, definitions: &mut Map<String, Value>) -> Value {
    let mut props = Map::new();
    let mut required = Vec::new();
    for f in table.fields {
        let mut s = match f.ty {
            Ty::Str | Ty::Text => json!({"type": "string"}),
            Ty::LongText => json!({"$ref": "#/definitions/TextSource"}),
            Ty::Int { min, max } => json!({"type": "integer", "minimum": min, "maximum": max}),
            Ty::Float { min, max } => json!({"type": "number", "minimum": min, "maximum": max}),
            Ty::Bool => json!({"type": "boolean"}),
            Ty::Enum(values) => {
                let names: Vec<&str> = values.iter().map(|(m, _)| *m).collect();
                json!({"type": "string", "enum": names})
            }
            Ty::Duration => json!({
                "type": ["string", "integer"],
                "pattern": "^[0-9]+[smhd]?$",
            }),
            Ty::Json => json!({"type": "object"}),
            Ty::List { .. } => json!({"type": "array", "items": {"type": "string"}}),
            Ty::Children(child) => {
                define(child, definitions);
                json!({
                    "type": "object",
                    "additionalProperties": {"$ref": format!("#/definitions/{}", child.name)},
                })
            }
            Ty::Group(inner) => {
                define(inner, definitions);
                json!({"$ref": format!("#/definitions/{}", inner.name)})
            }
            Ty::Flag { .. } => json!({"type": "boolean"}),
            Ty::TextMap => json!({
                "type": "object",
                "additionalProperties": {"type": "string"},
            }),
            Ty::Map => json!({"type": "object"}),
            Ty::Removed { why } => {
                json!({"not": {}, "description": format!("No longer in the API: {why}")})
            }
        };
        if !matches!(f.ty, Ty::Removed { .. }) {
            s["description"] = json!(f.doc);
            if !f.nature.required {
                allow_null(&mut s);
            }
        }
        if f.nature.required {
            required.push(json!(f.key));
        }
        for name in std::iter::once(&f.key).chain(f.aliases) {
            props.insert((*name).to_string(), s.clone());
        }
    }
    json!({
        "type": "object",
        "description": table.doc,
        "additionalProperties": false,
        "properties": props,
        "required": required,
    })
}

/// `table`'s definition, once (its name reserved first: a table may
/// indirectly hold itself).
fn define(table: &'static Table, definitions: &mut Map<String, Value>) {
    if !definitions.contains_key(table.name) {
        definitions.insert(table.name.into(), Value::Null);
        let def = object(table, definitions);
        definitions.insert(table.name.into(), def);
    }
}

/// `null` is accepted where a field is optional (`schedule: null`: none).
fn allow_null(s: &mut Value) {
    if let Some(Value::Array(values)) = s.get_mut("enum") {
        values.push(Value::Null);
    }
    match s.get_mut("type") {
        Some(Value::String(t)) => {
            let t = t.clone();
            s["type"] = json!([t, "null"]);
        }
        Some(Value::Array(ts)) => {
            if !ts.contains(&json!("null")) {
                ts.push(json!("null"));
            }
        }
        _ => {
            if let Some(r) = s.get("$ref").cloned() {
                if let Some(m) = s.as_object_mut() {
                    m.remove("$ref");
                }
                s["anyOf"] = json!([{"$ref": r}, {"type": "null"}]);
            }
        }
    }
}

fn text_source_definitions(definitions: &mut Map<String, Value>) {
    definitions.insert(
        "TextSource".into(),
        json!({
            "description": "Text inline (`${VAR}` interpolated), `{file: path}` or `{template: path, vars: {…}}`.",
            "anyOf": [
                {"type": "string"},
                {"$ref": "#/definitions/FileRef"},
                {"$ref": "#/definitions/TemplateRef"},
            ],
        }),
    );
    definitions.insert(
        "FileRef".into(),
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["file"],
            "properties": {"file": {"type": "string", "description": "Path relative to this manifest; must stay inside the manifest root."}},
        }),
    );
    definitions.insert(
        "TemplateRef".into(),
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["template"],
            "properties": {
                "template": {"type": "string", "description": "Path relative to this manifest; must stay inside the manifest root."},
                "vars": {"type": "object", "description": "Variables the template uses (`{{ tone }}`)."},
            },
        }),
    );
}

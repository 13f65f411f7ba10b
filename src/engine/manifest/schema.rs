//! The editor schema: one JSON Schema (draft-07, which yaml-language-server
//! supports) for every kind of every provider, discriminated by `kind`.

use schemars::JsonSchema;
use serde_json::{json, Map, Value};

/// The draft-07 schema of one document type.
pub fn schema_of<T: JsonSchema>() -> Value {
    let generator = schemars::generate::SchemaSettings::draft07().into_generator();
    serde_json::to_value(generator.into_root_schema_for::<T>()).unwrap_or_default()
}

/// Rewrite `#/definitions/X` references to `#/definitions/<prefix>X`.
fn prefix_refs(v: &mut Value, prefix: &str) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get_mut("$ref") {
                if let Some(name) = r.strip_prefix("#/definitions/") {
                    *r = format!("#/definitions/{prefix}{name}");
                }
            }
            m.values_mut().for_each(|x| prefix_refs(x, prefix));
        }
        Value::Array(a) => a.iter_mut().for_each(|x| prefix_refs(x, prefix)),
        _ => {}
    }
}

/// One kind as the schema describes it: the names `kind:` may take, the name
/// of its definition, and its document schema.
pub struct KindSchema {
    pub names: &'static [&'static str],
    pub definition: &'static str,
    pub schema: Value,
}

/// Where the editor schema is published: an asset of every release, so
/// this URL always serves the latest one. It is the schema's `$id`, and
/// what manifests name in their `yaml-language-server` modeline.
pub const SCHEMA_URL: &str =
    "https://github.com/twinform/twinform/releases/latest/download/twinform.schema.json";

/// A string that holds `${…}` is checked by the loader after interpolation,
/// not as written: every `pattern` of the schema also accepts such a string.
/// A pattern that describes a whole identifier (anchored, without spaces
/// or `:`) accepts only `${var.NAME}`, as identities take no environment
/// variable; any other pattern accepts `${NAME}` too.
fn interpolable(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(p)) = m.get_mut("pattern") {
                let identifier = p.starts_with('^')
                    && p.ends_with('$')
                    && !p.contains("\\s")
                    && !p.contains(':');
                let placeholder = if identifier {
                    r"\$\{var\.[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}"
                } else {
                    r"\$\{"
                };
                *p = format!("(?:{p})|{placeholder}");
            }
            m.values_mut().for_each(interpolable);
        }
        Value::Array(a) => a.iter_mut().for_each(interpolable),
        _ => {}
    }
}

/// One schema from per-kind schemas: `kind` must be one of the kinds, and an
/// `if kind is K then K's schema` branch per kind, so an editor reports a
/// mistake against the document's own kind, not against every kind at once.
pub fn assemble(kinds: &[KindSchema]) -> Value {
    let mut definitions = Map::new();
    let mut names = Vec::new();
    let mut branches = Vec::new();
    for k in kinds {
        let mut own = k.schema.as_object().cloned().unwrap_or_default();
        // Each kind's own definitions are namespaced by its definition name:
        // two providers may both have an `AgentKind`.
        let prefix = format!("{}.", k.definition);
        if let Some(Value::Object(defs)) = own.remove("definitions") {
            for (name, mut def) in defs {
                prefix_refs(&mut def, &prefix);
                interpolable(&mut def);
                definitions.insert(format!("{prefix}{name}"), def);
            }
        }
        own.remove("$schema");
        own.remove("title");
        let mut own = Value::Object(own);
        prefix_refs(&mut own, &prefix);
        interpolable(&mut own);
        definitions.insert(k.definition.to_string(), own);
        names.extend(k.names.iter().copied());
        branches.push(json!({
            "if": {"properties": {"kind": {"enum": k.names}}, "required": ["kind"]},
            "then": {"$ref": format!("#/definitions/{}", k.definition)}
        }));
    }
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": SCHEMA_URL,
        "title": "twinform manifest document",
        "type": "object",
        "required": ["kind"],
        "properties": {"kind": {"description": "What the document declares.", "enum": names}},
        "allOf": branches,
        "definitions": definitions,
    })
}

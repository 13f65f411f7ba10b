//! Cadenya's wire: every resource is `{metadata, spec, info?}` in camelCase.
//! Read tolerantly: `metadata` is typed (identity and ownership), `spec`
//! and `info` stay JSON and are read by path, so unknown and later fields
//! (the API has moved since the index) never break a read.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// The label twinform stamps with the workspace's `owner`.
pub const OWNER_LABEL: &str = "twinform.io/owner";
/// The label holding a secret's keyed fingerprint.
pub const FINGERPRINT_LABEL: &str = "twinform.io/value-hmac";

fn null_as_default<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(
    d: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    #[serde(default, deserialize_with = "null_as_default")]
    pub id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle_key: Option<String>,
}

impl Metadata {
    /// The externalId, or `None` when empty.
    pub fn ext(&self) -> Option<&str> {
        self.external_id.as_deref().filter(|e| !e.is_empty())
    }

    /// Whether it carries `owner`'s mark (the label, or `bundleKey`).
    /// Whoever's mark the resource carries (label first, then bundleKey).
    pub fn owner(&self) -> Option<&str> {
        self.labels
            .get(OWNER_LABEL)
            .map(String::as_str)
            .or(self.bundle_key.as_deref())
            .filter(|o| !o.is_empty())
    }

    pub fn owned_by(&self, owner: &str) -> bool {
        self.labels.get(OWNER_LABEL).is_some_and(|o| o == owner)
            || self.bundle_key.as_deref() == Some(owner)
    }
}

/// Any resource.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Resource {
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default, deserialize_with = "null_as_default")]
    pub spec: Value,
    #[serde(default, deserialize_with = "null_as_default")]
    pub info: Value,
    /// Workspaces carry a top-level status.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub status: Value,
}

impl Resource {
    pub fn id(&self) -> &str {
        &self.metadata.id
    }

    /// A spec field by JSON pointer (`/modelConfig/modelId`).
    pub fn spec(&self, pointer: &str) -> Option<&Value> {
        self.spec.pointer(pointer).filter(|v| !v.is_null())
    }

    pub fn spec_str(&self, pointer: &str) -> Option<&str> {
        self.spec(pointer).and_then(Value::as_str)
    }
}

/// One page of a list: `{items, pagination: {nextCursor}}` (or close variants).
pub struct Page {
    pub items: Vec<Resource>,
    pub next: Option<String>,
}

/// Read a list page. A body with no list is an error, never an empty account.
pub fn page(body: Value) -> Result<Page, String> {
    let Value::Object(mut m) = body else {
        return Err("the answer is not a list".into());
    };
    let items = ["items", "data", "results"]
        .iter()
        .find_map(|k| m.remove(*k).filter(Value::is_array))
        .ok_or("no `items` list in the answer")?;
    let next = m
        .get("pagination")
        .and_then(|p| p.get("nextCursor").or_else(|| p.get("next_cursor")))
        .or_else(|| m.get("nextCursor"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let items = serde_json::from_value(items).map_err(|e| e.to_string())?;
    Ok(Page { items, next })
}

/// An enum value as the manifest says it: `AGENT_STATUS_PUBLISHED` → `published`.
pub fn short(v: &str, prefix: &str) -> String {
    v.strip_prefix(prefix).unwrap_or(v).to_ascii_lowercase()
}

/// One tool / tool set / sub-agent assignment of a variation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// The row id (what a removal names).
    pub id: String,
    /// `tool`, `tool_set` or `agent`.
    pub kind: &'static str,
    /// The target's canonical id.
    pub target: String,
}

/// One memory layer in a variation's stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerAssignment {
    pub id: String,
    pub layer: String,
    pub position: i64,
}

fn id_of(v: &Value, object: &str, flat: &str) -> Option<String> {
    v.get(object)
        .and_then(|o| o.get("id"))
        .or_else(|| v.get(flat))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// A variation's assignments, from `info.assignments`.
pub fn assignments(variation: &Resource) -> Vec<Assignment> {
    let mut out = Vec::new();
    for a in variation
        .info
        .get("assignments")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(id) = a.get("id").and_then(Value::as_str) else {
            continue;
        };
        let found = [
            ("tool", "tool", "toolId"),
            ("tool_set", "toolSet", "toolSetId"),
            ("agent", "agent", "subAgentId"),
        ]
        .iter()
        .find_map(|(kind, object, flat)| id_of(a, object, flat).map(|t| (*kind, t)));
        if let Some((kind, target)) = found {
            out.push(Assignment {
                id: id.to_string(),
                kind,
                target,
            });
        }
    }
    out
}

/// A variation's memory stack, from `info.memoryLayerAssignments`, bottom first.
pub fn layer_assignments(variation: &Resource) -> Vec<LayerAssignment> {
    let mut out: Vec<LayerAssignment> = variation
        .info
        .get("memoryLayerAssignments")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|a| {
            Some(LayerAssignment {
                id: a.get("id")?.as_str()?.to_string(),
                layer: id_of(a, "memoryLayer", "memoryLayerId")?,
                position: a.get("position").and_then(Value::as_i64).unwrap_or(0),
            })
        })
        .collect();
    out.sort_by_key(|a| a.position);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn resources_read_tolerantly() {
        let r: Resource = serde_json::from_value(json!({
            "metadata": {"id": "agent_1", "name": "Ask", "externalId": "ask", "labels": null, "somethingNew": 1},
            "spec": {"status": "AGENT_STATUS_PUBLISHED"},
        }))
        .unwrap();
        assert_eq!(r.metadata.ext(), Some("ask"));
        assert_eq!(
            short(r.spec_str("/status").unwrap(), "AGENT_STATUS_"),
            "published"
        );
        assert!(page(json!({})).is_err());
        let p = page(json!({"items": [], "pagination": {"nextCursor": ""}})).unwrap();
        assert!(p.next.is_none());
    }

    #[test]
    fn assignments_in_either_shape() {
        let v: Resource = serde_json::from_value(json!({"metadata": {"id": "av_1"}, "info": {
            "assignments": [{"id": "as_1", "toolSet": {"id": "ts_1", "name": "x"}}, {"id": "as_2", "subAgentId": "agent_2"}],
            "memoryLayerAssignments": [{"id": "ml_2", "memoryLayerId": "memlyr_b", "position": 2}, {"id": "ml_1", "memoryLayer": {"id": "memlyr_a"}, "position": 1}]
        }}))
        .unwrap();
        let a = assignments(&v);
        assert_eq!((a[0].kind, a[0].target.as_str()), ("tool_set", "ts_1"));
        assert_eq!((a[1].kind, a[1].target.as_str()), ("agent", "agent_2"));
        let l = layer_assignments(&v);
        assert_eq!(
            l.iter().map(|x| x.layer.as_str()).collect::<Vec<_>>(),
            vec!["memlyr_a", "memlyr_b"]
        );
    }
}

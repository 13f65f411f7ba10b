//! Cadenya's wire: every resource is `{metadata, spec, info?, state?}` in
//! camelCase (SDK `types.py:3782 ResourceMetadata`; `state` is top-level
//! and output only, `types.py:403`, `:526`, `:4646`, `:4398`, `:2654`;
//! a memory entry's `content` is top-level, `:2493`). Read tolerantly:
//! `metadata` is typed (identity and ownership), the rest stays JSON and is
//! read by the tables' paths, so unknown and later fields never break a
//! read.

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
}

impl Metadata {
    /// The externalId, or `None` when empty (the API answers `""` when unset).
    pub fn ext(&self) -> Option<&str> {
        self.external_id.as_deref().filter(|e| !e.is_empty())
    }

    /// Whoever's mark the resource carries (the owner label).
    pub fn owner(&self) -> Option<&str> {
        self.labels
            .get(OWNER_LABEL)
            .map(String::as_str)
            .filter(|o| !o.is_empty())
    }

    pub fn owned_by(&self, owner: &str) -> bool {
        self.owner() == Some(owner)
    }
}

/// Any resource.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Resource {
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default, deserialize_with = "null_as_default")]
    pub spec: Value,
    #[serde(default, skip_serializing, deserialize_with = "null_as_default")]
    pub info: Value,
    /// Output only, changed by actions (agents, schedules, tool sets, tools, models).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub state: Value,
    /// Workspaces: `STATUS_ENABLED|DISABLED|ARCHIVED`.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub status: Value,
    /// A memory entry's content (`MemoryEntryDetail`; lists omit it).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub content: Value,
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

    pub fn state(&self) -> &str {
        self.state.as_str().unwrap_or_default()
    }

    /// The resource as one JSON value, for the tables' paths
    /// (`metadata.name`, `spec.modelConfig.temperature`, `state`, `content`).
    pub fn json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    /// A system-managed memory layer (`MemoryLayerSpec.systemManaged`,
    /// `types.py:2599`): the runtime's; never exported, assigned, changed
    /// or pruned.
    pub fn system_managed(&self) -> bool {
        self.spec("/systemManaged").and_then(Value::as_bool) == Some(true)
    }
}

/// One page of a list: `{items, pagination: {nextCursor}}` (every `list` of
/// the SDK, e.g. `agents.py:51-53`; `""` on the last page).
pub struct Page {
    pub items: Vec<Resource>,
    pub next: Option<String>,
}

/// Read a list page. A body with no list is an error, never an empty account.
pub fn page(body: Value) -> Result<Page, String> {
    let Value::Object(mut m) = body else {
        return Err("the answer is not a list".into());
    };
    let items = m
        .remove("items")
        .filter(Value::is_array)
        .ok_or("no `items` list in the answer")?;
    let next = m
        .get("pagination")
        .and_then(|p| p.get("nextCursor"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let items = serde_json::from_value(items).map_err(|e| e.to_string())?;
    Ok(Page { items, next })
}

/// The kinds of a variation's assignments (`VariationAssignment`,
/// `types.py:5567`): the union's `type` tag and the manifest's word for it.
pub const ASSIGNMENT_KINDS: &[(&str, &str)] = &[
    ("toolId", "tool"),
    ("toolSetId", "tool_set"),
    ("subAgentId", "agent"),
    ("agentPoolId", "agent_pool"),
];

/// One assignment of a variation, from `spec.assignments` (tagged:
/// `{"type": "toolSetId", "toolSetId": "ts_1"}`; no row id in 1.8.0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// The union's tag (`toolId`, `toolSetId`, `subAgentId`, `agentPoolId`).
    pub tag: String,
    /// The target's canonical id.
    pub target: String,
}

impl Assignment {
    /// As the wire writes it.
    pub fn json(&self) -> Value {
        serde_json::json!({"type": self.tag, self.tag.clone(): self.target})
    }

    /// The manifest's word for its kind (`tool_set`), or the tag.
    pub fn kind(&self) -> &str {
        ASSIGNMENT_KINDS
            .iter()
            .find(|(t, _)| *t == self.tag)
            .map_or(self.tag.as_str(), |(_, k)| k)
    }
}

/// A variation's assignments (`spec.assignments`; reads always populate it).
pub fn assignments(variation: &Resource) -> Vec<Assignment> {
    variation
        .spec("/assignments")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|a| {
            let tag = a.get("type")?.as_str()?;
            let target = a.get(tag)?.as_str()?;
            Some(Assignment {
                tag: tag.to_string(),
                target: target.to_string(),
            })
        })
        .collect()
}

/// A variation's memory stack (`spec.memoryLayerAssignments`,
/// `types.py:5588`) as layer ids in the order Cadenya consults them: lowest
/// position first (the most specific).
pub fn stack(variation: &Resource) -> Vec<String> {
    let mut rows: Vec<(i64, String)> = variation
        .spec("/memoryLayerAssignments")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|a| {
            let position = match a.get("position")? {
                Value::String(s) => s.parse().ok()?,
                v => v.as_i64()?,
            };
            Some((position, a.get("memoryLayerId")?.as_str()?.to_string()))
        })
        .collect();
    rows.sort();
    rows.into_iter().map(|(_, l)| l).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn resources_read_tolerantly() {
        let r: Resource = serde_json::from_value(json!({
            "metadata": {"id": "agent_1", "name": "Ask", "externalId": "ask", "labels": null, "somethingNew": 1},
            "spec": {"description": "d"}, "state": "STATE_PUBLISHED", "info": {"variationCount": 1},
        }))
        .unwrap();
        assert_eq!(r.metadata.ext(), Some("ask"));
        assert_eq!(r.state(), "STATE_PUBLISHED");
        assert_eq!(r.json()["state"], "STATE_PUBLISHED");
        assert_eq!(r.json()["metadata"]["externalId"], "ask");
        assert!(page(json!({})).is_err());
        let p = page(json!({"items": [], "pagination": {"nextCursor": ""}})).unwrap();
        assert!(p.next.is_none());
        let empty: Resource =
            serde_json::from_value(json!({"metadata": {"id": "x", "externalId": ""}})).unwrap();
        assert_eq!(empty.metadata.ext(), None, "\"\" is no externalId");
    }

    /// `types.py:5567 VariationAssignment` and `:5588`: tagged assignments
    /// in the spec; the stack by position, lowest first.
    #[test]
    fn assignments_and_stacks_from_the_spec() {
        let v: Resource = serde_json::from_value(json!({"metadata": {"id": "agentvar_1"}, "spec": {
            "assignments": [{"type": "toolSetId", "toolSetId": "ts_1"}, {"type": "subAgentId", "subAgentId": "agent_2"}, {"toolId": "untagged"}],
            "memoryLayerAssignments": [{"memoryLayerId": "memlyr_b", "position": 2}, {"memoryLayerId": "memlyr_a", "position": "0"}]
        }}))
        .unwrap();
        let a = assignments(&v);
        assert_eq!(a.len(), 2, "an untagged entry is no assignment");
        assert_eq!((a[0].kind(), a[0].target.as_str()), ("tool_set", "ts_1"));
        assert_eq!(
            a[1].json(),
            json!({"type": "subAgentId", "subAgentId": "agent_2"})
        );
        assert_eq!(stack(&v), vec!["memlyr_a", "memlyr_b"]);
    }
}

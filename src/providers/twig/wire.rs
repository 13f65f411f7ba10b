//! Twig's API types, tolerant by design: unknown fields are ignored, and the
//! shapes the reference leaves open (the full agent, list envelopes) are
//! read as the research note assumes while accepting close variants.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An agent. The list answers only `id`, `name`, `rag_strategy`, `model`,
/// `status`, `data_source_ids` and `created_at`; `GET /agents/:id` adds the rest.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Agent {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_prompt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rag_strategy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default)]
    pub data_source_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Value>,
    /// Fields this type does not name (a field a table adds reaches the
    /// diff, export and pull without a change here).
    #[serde(flatten, default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub other: serde_json::Map<String, Value>,
}

/// `POST /agents` and `PUT /agents/:id` bodies: only what is sent.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct AgentBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_prompt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rag_strategy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_source_ids: Option<Vec<String>>,
    /// Fields this type does not name (from a table's create or update body).
    #[serde(flatten, default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub other: serde_json::Map<String, Value>,
}

/// A data source.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct DataSource {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub source_type: Option<String>,
    /// Not every answer carries it; when absent it is not compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<serde_json::Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_frequency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Value>,
    /// Fields this type does not name (a field a table adds reaches the
    /// diff, export and pull without a change here).
    #[serde(flatten, default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub other: serde_json::Map<String, Value>,
}

/// `POST /data-sources` body.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DataSourceBody {
    pub name: String,
    #[serde(rename = "type")]
    pub source_type: String,
    #[serde(default)]
    pub config: serde_json::Map<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_frequency: Option<String>,
    /// Fields this type does not name (from a table's create or update body).
    #[serde(flatten, default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub other: serde_json::Map<String, Value>,
}

/// `GET /data-sources/:id/status`: the reference's `{status, chunks_indexed,
/// progress_pct, estimated_completion}`, and a last sync time where a server
/// adds one.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SyncStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(
        default,
        alias = "last_sync_at",
        alias = "lastSyncedAt",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_synced_at: Option<Value>,
}

impl SyncStatus {
    /// Whether a sync has started (`None`: the answer does not say): a
    /// status other than `pending` (processing, active, failed…), or a
    /// last sync time.
    pub fn started(&self) -> Option<bool> {
        if self.last_synced_at.as_ref().is_some_and(|t| !t.is_null()) {
            return Some(true);
        }
        let status = self.status.as_deref()?.trim();
        Some(!status.eq_ignore_ascii_case("pending"))
    }
}

/// A user (an invitation may be pending).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct User {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub email: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Fields this type does not name (a field a table adds reaches the
    /// diff, export and pull without a change here).
    #[serde(flatten, default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub other: serde_json::Map<String, Value>,
}

/// `POST /users` body.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UserBody {
    pub email: String,
    pub name: String,
    pub role: String,
    /// Fields this type does not name (from a table's create or update body).
    #[serde(flatten, default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub other: serde_json::Map<String, Value>,
}

/// One page of a list: its items, and `total` when the server says it.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: Option<u64>,
}

/// Read a list page: `{<key>: [...], total, limit, offset}` as the reference
/// shows (any of `keys`), `{items|data: [...]}`, or a bare array. A body with
/// no list at all is an error (never an empty account).
pub fn page<T: serde::de::DeserializeOwned>(body: Value, keys: &[&str]) -> Result<Page<T>, String> {
    let key = keys.first().copied().unwrap_or("items");
    let (items, total) = match body {
        Value::Array(a) => (Value::Array(a), None),
        Value::Object(mut m) => {
            let total = m.get("total").and_then(|t| {
                t.as_u64()
                    .or_else(|| t.as_str().and_then(|s| s.trim().parse().ok()))
            });
            let list = keys
                .iter()
                .chain(&["items", "data"])
                .find_map(|k| m.remove(*k).filter(Value::is_array));
            match list {
                Some(l) => (l, total),
                None => return Err(format!("no `{key}` list in the answer")),
            }
        }
        _ => return Err(format!("no `{key}` list in the answer")),
    };
    let items = serde_json::from_value(items).map_err(|e| e.to_string())?;
    Ok(Page { items, total })
}

/// An object under `key`, or the body itself (Twig's reference shows bare
/// objects; wrapped ones are accepted too).
pub fn one<T: serde::de::DeserializeOwned>(body: Value, key: &str) -> Result<T, String> {
    let inner = match body {
        Value::Object(mut m) if m.get(key).is_some_and(Value::is_object) => {
            m.remove(key).unwrap_or_default()
        }
        other => other,
    };
    serde_json::from_value(inner).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_in_every_documented_shape_and_none_without_one() {
        let p: Page<Agent> = page(
            json!({"agents": [{"id": "a"}], "total": 5, "limit": 50, "offset": 0}),
            &["agents"],
        )
        .unwrap();
        assert_eq!((p.items.len(), p.total), (1, Some(5)));
        let p: Page<Agent> = page(json!([{"id": "a"}, {"id": "b"}]), &["agents"]).unwrap();
        assert_eq!((p.items.len(), p.total), (2, None));
        let p: Page<Agent> = page(json!({"items": [], "total": "0"}), &["agents"]).unwrap();
        assert_eq!(p.total, Some(0));
        assert!(page::<Agent>(json!({}), &["agents"]).is_err());
        assert!(page::<Agent>(json!({"agents": null}), &["agents"]).is_err());
    }

    #[test]
    fn a_sync_has_started_once_the_status_is_past_pending() {
        let started = |v: Value| serde_json::from_value::<SyncStatus>(v).unwrap().started();
        assert_eq!(
            started(json!({"status": "pending", "progress_pct": 0})),
            Some(false)
        );
        assert_eq!(started(json!({"status": "processing"})), Some(true));
        assert_eq!(started(json!({"status": "active"})), Some(true));
        assert_eq!(
            started(json!({"status": "pending", "last_sync_at": "2026-01-15T10:45:00Z"})),
            Some(true)
        );
        assert_eq!(started(json!({"progress_pct": 10})), None);
    }

    #[test]
    fn objects_bare_or_wrapped() {
        let a: Agent = one(json!({"id": "a", "name": "A", "extra": 1}), "agent").unwrap();
        assert_eq!(a.name, "A");
        let a: Agent = one(json!({"agent": {"id": "b"}}), "agent").unwrap();
        assert_eq!(a.id, "b");
    }
}

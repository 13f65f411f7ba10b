//! Wire types of the Twin API, tolerant by design: unknown fields are ignored,
//! every shape the contract lists is accepted (`{}` or `{"schedule": null}`,
//! `total_runs` as string or number, `next_cursor` absent, null or empty).

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// `GET /v1/me`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Me {
    pub user_id: String,
}

/// A workspace.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Workspace {
    pub workspace_id: String,
    #[serde(default)]
    pub name: String,
    /// A JSON document encoded as a string (a map is accepted and re-encoded).
    #[serde(
        default,
        deserialize_with = "json_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub icon_config: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Value>,
}

/// An agent.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Agent {
    pub agent_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<String>,
    /// Open string: the live service says `draft`, the reference `deployed`/`not_deployed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_state: Option<String>,
    /// Agents made in the web app carry `{"name": …}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_name: Option<Value>,
    /// Not in the reference; read when a server exposes it.
    #[serde(default, alias = "subagent", skip_serializing_if = "Option::is_none")]
    pub is_subagent: Option<bool>,
    /// Not in the reference; read when a server exposes it.
    #[serde(
        default,
        alias = "derived_from",
        skip_serializing_if = "Option::is_none"
    )]
    pub derived_from_agent_id: Option<String>,
    #[serde(
        default,
        deserialize_with = "json_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub icon_config: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_runs: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_instruction_build: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_activity_at: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_run_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_run_is_finished: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_run_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_run_has_pending_input: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_instruction_build_run_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployed_at: Option<Value>,
}

impl Agent {
    /// The web-app name, when the agent has one.
    pub fn display_name(&self) -> Option<String> {
        match &self.agent_name {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Object(m)) => m.get("name").and_then(Value::as_str).map(str::to_string),
            _ => None,
        }
    }
}

/// `POST /v1/agents` body.
#[derive(Debug, Clone, Serialize, Default)]
pub struct CreateAgent {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_subagent: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub derived_from_agent_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
}

/// A page of `GET /v1/agents`.
#[derive(Debug, Clone, Deserialize)]
pub struct AgentPage {
    /// Required: `{}` is a malformed page, not an empty one.
    pub agents: Vec<Agent>,
    #[serde(default, deserialize_with = "non_empty")]
    pub next_cursor: Option<String>,
}

/// A schedule (`GET` answers `{}` or `{"schedule": null}` when there is none).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Schedule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    pub cron: String,
    #[serde(default)]
    pub paused: bool,
    #[serde(default)]
    pub auto_paused: bool,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub consecutive_failures: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_run: Option<Value>,
}

/// Current instructions.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Instructions {
    #[serde(default)]
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

/// One entry of the instructions history (newest first).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct InstructionVersion {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Value>,
    #[serde(default)]
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

/// `PUT /v1/agents/{id}/instructions` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PutInstructions {
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
}

/// A webhook. `signing_secret` is present only in the create response.
#[derive(Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Webhook {
    pub webhook_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub events: Vec<String>,
    /// `active` or `disabled`.
    #[serde(default = "active")]
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Value>,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("webhook_id", &self.webhook_id)
            .field("url", &self.url)
            .field("events", &self.events)
            .field("status", &self.status)
            .field(
                "signing_secret",
                &self.signing_secret.as_ref().map(|_| "(sensitive)"),
            )
            .finish_non_exhaustive()
    }
}

fn active() -> String {
    "active".into()
}

/// `PATCH` body: only the fields that change.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, Eq)]
pub struct PatchWebhook {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// A run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Run {
    pub run_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_finished: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_paused: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_number: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_type: Option<String>,
}

/// A page of runs.
#[derive(Debug, Clone, Deserialize)]
pub struct RunPage {
    #[serde(default)]
    pub runs: Vec<Run>,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub total_runs: u64,
    #[serde(default)]
    pub page: Option<u64>,
    #[serde(default)]
    pub page_size: Option<u64>,
}

/// `POST /v1/agents/{id}/runs` body. `run_mode` is required live.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StartRun {
    pub run_mode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_deploy_check: Option<bool>,
}

/// Filters of `GET /v1/agents/{id}/runs`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_run_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_started_after: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_started_before: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_policy_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_policy_group: Option<String>,
}

/// One run event (`event` is a tagged union, kept as JSON).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunEvent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    #[serde(default)]
    pub event: Value,
}

/// An API key as listed (never the key itself).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ApiKeyInfo {
    pub key_id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub display_prefix: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<Value>,
}

/// A freshly created API key: `api_key` is shown once.
#[derive(Clone, Serialize, Deserialize)]
pub struct CreatedApiKey {
    pub key_id: String,
    #[serde(default)]
    pub name: String,
    pub api_key: String,
    #[serde(default)]
    pub display_prefix: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Value>,
}

impl std::fmt::Debug for CreatedApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedApiKey")
            .field("key_id", &self.key_id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A JSON document held in a string; a map or other value is re-encoded as a string.
fn json_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
    })
}

/// A cursor: absent, null and "" all mean "no more pages".
fn non_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<Value>::deserialize(d)?.and_then(|v| match v {
        Value::String(s) if !s.is_empty() => Some(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }))
}

/// A count as a number or a numeric string.
fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
        Some(Value::String(s)) => s.trim().parse().unwrap_or(0),
        _ => 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_shapes() {
        for body in [
            r#"{"agents":[]}"#,
            r#"{"agents":[],"next_cursor":null}"#,
            r#"{"agents":[],"next_cursor":""}"#,
        ] {
            let p: AgentPage = serde_json::from_str(body).unwrap();
            assert_eq!(p.next_cursor, None, "{body}");
        }
        let p: AgentPage =
            serde_json::from_str(r#"{"agents":[{"agent_id":"a","extra":1}],"next_cursor":"c"}"#)
                .unwrap();
        assert_eq!(p.next_cursor.as_deref(), Some("c"));
        assert_eq!(p.agents[0].agent_id, "a");
    }

    #[test]
    fn counts_and_icons() {
        let r: RunPage = serde_json::from_str(r#"{"runs":[],"total_runs":"42"}"#).unwrap();
        assert_eq!(r.total_runs, 42);
        let r: RunPage = serde_json::from_str(r#"{"runs":[],"total_runs":7}"#).unwrap();
        assert_eq!(r.total_runs, 7);
        let w: Workspace =
            serde_json::from_str(r#"{"workspace_id":"w","name":"n","icon_config":{"emoji":"x"}}"#)
                .unwrap();
        assert_eq!(w.icon_config.as_deref(), Some(r#"{"emoji":"x"}"#));
    }

    #[test]
    fn agent_names() {
        let a: Agent =
            serde_json::from_str(r#"{"agent_id":"a","agent_name":{"name":"Inbox helper"}}"#)
                .unwrap();
        assert_eq!(a.display_name().as_deref(), Some("Inbox helper"));
    }
}

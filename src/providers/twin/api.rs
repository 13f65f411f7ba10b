//! One method per endpoint of the Twin API reference, on [`TwinApi`].
//! The reconciliation policy built on them (create exactly once, settle
//! races) is in `reconcile.rs`.

use std::sync::atomic::{AtomicBool, Ordering};

use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Value};

use super::wire::*;
use crate::engine::http::{
    erased, read_cursor_list, ApiError, Client, Idempotency, Identified, Page,
};

impl Identified for Agent {
    fn id(&self) -> &str {
        &self.agent_id
    }
}

pub(super) type Result<T> = std::result::Result<T, ApiError>;

/// Twin's endpoints over the engine's HTTP client (auth header, retries,
/// pacing and tracing are the client's).
#[derive(Clone)]
pub struct TwinApi {
    pub client: Client,
}

/// The client's counters and settings, read through the API (tests,
/// benchmarks and traces look at `api.stats`).
impl std::ops::Deref for TwinApi {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

/// How many times a create is attempted across ambiguous failures.
pub(super) const CREATE_ATTEMPTS: u32 = 5;

/// The largest page asked of `GET /v1/agents` (the live default is 10).
pub const AGENT_PAGE_LIMIT: u32 = 200;

pub(super) use crate::engine::http::segment as seg;

fn query(pairs: &[(&str, Option<String>)]) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if let Some(v) = v {
            q.append_pair(k, v);
        }
    }
    let q = q.finish();
    if q.is_empty() {
        q
    } else {
        format!("?{q}")
    }
}

// List answers must carry their list: `{}` is a malformed answer, not an
// empty account (reading it as empty would make apply re-create everything).
#[derive(Deserialize)]
struct Keys {
    keys: Vec<ApiKeyInfo>,
}
#[derive(Deserialize)]
struct Workspaces {
    workspaces: Vec<Workspace>,
}
#[derive(Deserialize)]
struct Schedules {
    schedules: Vec<Schedule>,
}
#[derive(Deserialize)]
struct Webhooks {
    webhooks: Vec<Webhook>,
}
#[derive(Deserialize)]
struct History {
    instruction_versions: Vec<InstructionVersion>,
}
#[derive(Deserialize)]
struct Events {
    events: Vec<RunEvent>,
}

/// The object under `key` (`{"agent": {...}}`), or the body itself when it
/// is the bare object; `None` for `{}`, `{"key": null}`: the reference and the
/// live service disagree on wrapping per resource, so both are accepted.
fn unwrap_key<T: serde::de::DeserializeOwned>(
    v: Value,
    key: &str,
) -> std::result::Result<Option<T>, String> {
    let inner = match v {
        Value::Object(mut m) if m.contains_key(key) => m.remove(key).unwrap_or(Value::Null),
        Value::Object(m) if m.is_empty() => Value::Null,
        other => other,
    };
    if inner.is_null() {
        return Ok(None);
    }
    serde_json::from_value(inner)
        .map(Some)
        .map_err(|e| e.to_string())
}

pub(super) fn missing(method: &str, path: &str, what: &str) -> ApiError {
    ApiError::decode(method, path, format!("no {what} in the response"))
}

impl TwinApi {
    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.client
            .json(Method::GET, path, None, Idempotency::Safe)
            .await
    }

    /// Send, then take the `what` object out of the answer (wrapped or bare).
    async fn maybe_one<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&dyn erased::Body>,
        idem: Idempotency,
        what: &str,
    ) -> Result<Option<T>> {
        let v: Value = self.client.json(method.clone(), path, body, idem).await?;
        unwrap_key(v, what).map_err(|message| ApiError::Decode {
            message,
            method: method.to_string(),
            path: path.to_string(),
        })
    }

    /// [`Client::maybe_one`] where the object must be there.
    async fn unwrap_one<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&dyn erased::Body>,
        idem: Idempotency,
        what: &str,
    ) -> Result<T> {
        self.maybe_one(method.clone(), path, body, idem, what)
            .await?
            .ok_or_else(|| missing(method.as_str(), path, what))
    }

    // ---- API keys ----

    /// `GET /api/public/v1/access-api-keys`.
    pub async fn list_api_keys(&self) -> Result<Vec<ApiKeyInfo>> {
        Ok(self
            .get::<Keys>("/api/public/v1/access-api-keys")
            .await?
            .keys)
    }

    /// `POST /api/public/v1/access-api-keys`. The key is in the answer once.
    pub async fn create_api_key(&self, name: &str) -> Result<CreatedApiKey> {
        self.client
            .json(
                Method::POST,
                "/api/public/v1/access-api-keys",
                Some(&json!({"name": name})),
                Idempotency::Create,
            )
            .await
    }

    /// `DELETE /api/public/v1/access-api-keys/{key_id}`.
    pub async fn revoke_api_key(&self, key_id: &str) -> Result<()> {
        let path = format!("/api/public/v1/access-api-keys/{}", seg(key_id));
        self.client
            .send(Method::DELETE, &path, None, Idempotency::Safe)
            .await
            .map(drop)
    }

    /// `GET /v1/me`.
    pub async fn me(&self) -> Result<Me> {
        self.get("/v1/me").await
    }

    // ---- agents ----

    /// One page of `GET /v1/agents`.
    pub async fn list_agents_page(
        &self,
        workspace_id: Option<&str>,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> Result<AgentPage> {
        let q = query(&[
            ("workspace_id", workspace_id.map(str::to_string)),
            ("cursor", cursor.map(str::to_string)),
            ("limit", limit.map(|l| l.to_string())),
        ]);
        self.get(&format!("/v1/agents{q}")).await
    }

    /// Every agent, following `next_cursor` until the last page.
    pub async fn list_agents(&self, workspace_id: Option<&str>) -> Result<Vec<Agent>> {
        self.list_agents_as_they_come(workspace_id, |_| {}).await
    }

    /// Every agent, read consistently (the engine's [`read_cursor_list`]:
    /// the cursor names the last agent of its page, so one read is enough;
    /// were it opaque, the list would be read until two reads agree).
    /// `first_seen` gets each agent as soon as its page arrives, so callers
    /// can start work before the last page; the returned list is the list.
    pub async fn list_agents_as_they_come(
        &self,
        workspace_id: Option<&str>,
        first_seen: impl FnMut(&Agent),
    ) -> Result<Vec<Agent>> {
        // A server that refuses our page size (instead of capping it): use its default.
        let default_size = AtomicBool::new(false);
        let page = |cursor: Option<String>| {
            let default_size = &default_size;
            async move {
                let limit = (!default_size.load(Ordering::Relaxed)).then_some(AGENT_PAGE_LIMIT);
                let page = match self
                    .list_agents_page(workspace_id, cursor.as_deref(), limit)
                    .await
                {
                    Err(e) if limit.is_some() && matches!(e.status(), Some(400 | 422)) => {
                        default_size.store(true, Ordering::Relaxed);
                        self.list_agents_page(workspace_id, cursor.as_deref(), None)
                            .await?
                    }
                    other => other?,
                };
                Ok(Page {
                    items: page.agents,
                    total: None,
                    next: page.next_cursor,
                })
            }
        };
        read_cursor_list("/v1/agents", page, first_seen).await
    }

    /// `POST /v1/agents` (one attempt; see [`TwinApi::ensure_agent`]).
    pub async fn create_agent(&self, body: &CreateAgent) -> Result<Agent> {
        self.unwrap_one(
            Method::POST,
            "/v1/agents",
            Some(body),
            Idempotency::Create,
            "agent",
        )
        .await
    }

    /// `GET /v1/agents/{id}`; `None` when the agent is not there (404, or the live 403).
    pub async fn get_agent(&self, agent_id: &str) -> Result<Option<Agent>> {
        let path = format!("/v1/agents/{}", seg(agent_id));
        match self
            .unwrap_one(Method::GET, &path, None, Idempotency::Safe, "agent")
            .await
        {
            Ok(a) => Ok(Some(a)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `DELETE /v1/agents/{id}`.
    pub async fn delete_agent(&self, agent_id: &str) -> Result<()> {
        let path = format!("/v1/agents/{}", seg(agent_id));
        self.client
            .send(Method::DELETE, &path, None, Idempotency::Safe)
            .await
            .map(drop)
    }

    /// `POST /v1/agents/{id}/move`.
    pub async fn move_agent(&self, agent_id: &str, workspace_id: &str) -> Result<()> {
        let path = format!("/v1/agents/{}/move", seg(agent_id));
        self.client
            .send(
                Method::POST,
                &path,
                Some(&json!({"workspace_id": workspace_id})),
                Idempotency::Safe,
            )
            .await
            .map(drop)
    }

    // ---- runs and events ----

    /// `GET /v1/agents/{id}/runs`.
    pub async fn list_runs(&self, agent_id: &str, q: &RunQuery) -> Result<RunPage> {
        let qs = serde_json::to_value(q).unwrap_or(Value::Null);
        let pairs: Vec<(&str, Option<String>)> = qs
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        (
                            k.as_str(),
                            Some(v.as_str().map_or_else(|| v.to_string(), str::to_string)),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        self.get(&format!(
            "/v1/agents/{}/runs{}",
            seg(agent_id),
            query(&pairs)
        ))
        .await
    }

    /// `POST /v1/agents/{id}/runs`. Never retried blindly: a run is not idempotent.
    pub async fn start_run(&self, agent_id: &str, body: &StartRun) -> Result<Run> {
        let path = format!("/v1/agents/{}/runs", seg(agent_id));
        self.unwrap_one(Method::POST, &path, Some(body), Idempotency::Create, "run")
            .await
    }

    /// `DELETE /v1/agents/{id}/runs/{run_id}`.
    pub async fn delete_run(&self, agent_id: &str, run_id: &str) -> Result<()> {
        let path = format!("/v1/agents/{}/runs/{}", seg(agent_id), seg(run_id));
        self.client
            .send(Method::DELETE, &path, None, Idempotency::Safe)
            .await
            .map(drop)
    }

    /// `POST /v1/agents/{id}/runs/{run_id}/cancel`; returns the informational `error` text.
    pub async fn cancel_run(
        &self,
        agent_id: &str,
        run_id: &str,
        reason: Option<&str>,
    ) -> Result<String> {
        let path = format!("/v1/agents/{}/runs/{}/cancel", seg(agent_id), seg(run_id));
        let body = match reason {
            Some(r) => json!({"reason": r}),
            None => json!({}),
        };
        let v: Value = self
            .client
            .json(Method::POST, &path, Some(&body), Idempotency::Safe)
            .await?;
        Ok(v.get("error")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string())
    }

    /// `GET /v1/agents/{id}/runs/{run_id}/events`.
    pub async fn list_run_events(
        &self,
        agent_id: &str,
        run_id: &str,
        limit: Option<u32>,
        after_index: Option<u64>,
    ) -> Result<Vec<RunEvent>> {
        let q = query(&[
            ("limit", limit.map(|l| l.to_string())),
            ("after_index", after_index.map(|i| i.to_string())),
        ]);
        let path = format!(
            "/v1/agents/{}/runs/{}/events{q}",
            seg(agent_id),
            seg(run_id)
        );
        Ok(self.get::<Events>(&path).await?.events)
    }

    // ---- webhooks ----

    /// `POST /v1/agents/{id}/webhooks` (one attempt; see [`TwinApi::create_webhook_once`]).
    pub async fn create_webhook(
        &self,
        agent_id: &str,
        url: &str,
        events: &[String],
    ) -> Result<Webhook> {
        let path = format!("/v1/agents/{}/webhooks", seg(agent_id));
        let body = json!({"url": url, "events": events});
        self.unwrap_one(
            Method::POST,
            &path,
            Some(&body),
            Idempotency::Create,
            "webhook",
        )
        .await
    }

    /// `GET /v1/agents/{id}/webhooks`.
    pub async fn list_webhooks(&self, agent_id: &str) -> Result<Vec<Webhook>> {
        Ok(self
            .get::<Webhooks>(&format!("/v1/agents/{}/webhooks", seg(agent_id)))
            .await?
            .webhooks)
    }

    /// `GET /v1/agents/{id}/webhooks/{webhook_id}`.
    pub async fn get_webhook(&self, agent_id: &str, webhook_id: &str) -> Result<Webhook> {
        let path = format!("/v1/agents/{}/webhooks/{}", seg(agent_id), seg(webhook_id));
        self.unwrap_one(Method::GET, &path, None, Idempotency::Safe, "webhook")
            .await
    }

    /// `PATCH /v1/agents/{id}/webhooks/{webhook_id}`: only the fields given change.
    pub async fn patch_webhook(
        &self,
        agent_id: &str,
        webhook_id: &str,
        patch: &PatchWebhook,
    ) -> Result<Option<Webhook>> {
        let path = format!("/v1/agents/{}/webhooks/{}", seg(agent_id), seg(webhook_id));
        // The answer (the updated webhook) is informational: a bare 2xx is success too.
        self.maybe_one(
            Method::PATCH,
            &path,
            Some(patch),
            Idempotency::Safe,
            "webhook",
        )
        .await
    }

    /// `DELETE /v1/agents/{id}/webhooks/{webhook_id}`.
    pub async fn delete_webhook(&self, agent_id: &str, webhook_id: &str) -> Result<()> {
        let path = format!("/v1/agents/{}/webhooks/{}", seg(agent_id), seg(webhook_id));
        self.client
            .send(Method::DELETE, &path, None, Idempotency::Safe)
            .await
            .map(drop)
    }

    // ---- schedules ----

    /// `GET /v1/agents/{id}/schedule`; `None` for `{}` or `{"schedule": null}`.
    pub async fn get_schedule(&self, agent_id: &str) -> Result<Option<Schedule>> {
        let path = format!("/v1/agents/{}/schedule", seg(agent_id));
        none_if_404(
            self.maybe_one(Method::GET, &path, None, Idempotency::Safe, "schedule")
                .await,
        )
    }

    /// `PUT /v1/agents/{id}/schedule` (keeps `paused` on an existing schedule).
    pub async fn put_schedule(&self, agent_id: &str, cron: &str) -> Result<()> {
        let path = format!("/v1/agents/{}/schedule", seg(agent_id));
        self.client
            .send(
                Method::PUT,
                &path,
                Some(&json!({"cron": cron})),
                Idempotency::Safe,
            )
            .await
            .map(drop)
    }

    /// `DELETE /v1/agents/{id}/schedule`.
    pub async fn delete_schedule(&self, agent_id: &str) -> Result<()> {
        let path = format!("/v1/agents/{}/schedule", seg(agent_id));
        self.client
            .send(Method::DELETE, &path, None, Idempotency::Safe)
            .await
            .map(drop)
    }

    /// `POST /v1/agents/{id}/schedule/pause`.
    pub async fn pause_schedule(&self, agent_id: &str) -> Result<()> {
        let path = format!("/v1/agents/{}/schedule/pause", seg(agent_id));
        self.client
            .send(Method::POST, &path, None, Idempotency::Safe)
            .await
            .map(drop)
    }

    /// `POST /v1/agents/{id}/schedule/resume`.
    pub async fn resume_schedule(&self, agent_id: &str) -> Result<()> {
        let path = format!("/v1/agents/{}/schedule/resume", seg(agent_id));
        self.client
            .send(Method::POST, &path, None, Idempotency::Safe)
            .await
            .map(drop)
    }

    /// `GET /v1/schedules`: every schedule at once.
    pub async fn list_schedules(&self) -> Result<Vec<Schedule>> {
        Ok(self.get::<Schedules>("/v1/schedules").await?.schedules)
    }

    // ---- instructions ----

    /// `GET /v1/agents/{id}/instructions`; `None` for `{}`.
    pub async fn get_instructions(&self, agent_id: &str) -> Result<Option<Instructions>> {
        let path = format!("/v1/agents/{}/instructions", seg(agent_id));
        none_if_404(
            self.maybe_one(Method::GET, &path, None, Idempotency::Safe, "instructions")
                .await,
        )
    }

    /// `PUT /v1/agents/{id}/instructions`. Adds a history version: never send unchanged text.
    pub async fn put_instructions(&self, agent_id: &str, body: &PutInstructions) -> Result<()> {
        let path = format!("/v1/agents/{}/instructions", seg(agent_id));
        self.client
            .send(Method::PUT, &path, Some(body), Idempotency::Safe)
            .await
            .map(drop)
    }

    /// `GET /v1/agents/{id}/instructions/history` (newest first).
    pub async fn instructions_history(
        &self,
        agent_id: &str,
        limit: Option<u32>,
    ) -> Result<Vec<InstructionVersion>> {
        let q = query(&[("limit", limit.map(|l| l.to_string()))]);
        let path = format!("/v1/agents/{}/instructions/history{q}", seg(agent_id));
        Ok(self.get::<History>(&path).await?.instruction_versions)
    }

    // ---- workspaces ----

    /// `GET /v1/workspaces`.
    pub async fn list_workspaces(&self) -> Result<Vec<Workspace>> {
        Ok(self.get::<Workspaces>("/v1/workspaces").await?.workspaces)
    }

    /// `POST /v1/workspaces` (one attempt; see [`TwinApi::ensure_workspace`]).
    pub async fn create_workspace(&self, name: &str) -> Result<Workspace> {
        let body = json!({"name": name});
        self.unwrap_one(
            Method::POST,
            "/v1/workspaces",
            Some(&body),
            Idempotency::Create,
            "workspace",
        )
        .await
    }

    /// `PUT /v1/workspaces/{id}`.
    pub async fn update_workspace(
        &self,
        workspace_id: &str,
        name: &str,
        icon_config: Option<&str>,
    ) -> Result<Option<Workspace>> {
        let path = format!("/v1/workspaces/{}", seg(workspace_id));
        let mut body = json!({"name": name});
        if let Some(icon) = icon_config {
            body["icon_config"] = Value::String(icon.to_string());
        }
        // The answer is informational: a bare 2xx is success too.
        self.maybe_one(
            Method::PUT,
            &path,
            Some(&body),
            Idempotency::Safe,
            "workspace",
        )
        .await
    }

    /// `DELETE /v1/workspaces/{id}` (deletes its agents too).
    pub async fn delete_workspace(&self, workspace_id: &str) -> Result<()> {
        let path = format!("/v1/workspaces/{}", seg(workspace_id));
        self.client
            .send(Method::DELETE, &path, None, Idempotency::Safe)
            .await
            .map(drop)
    }

    /// `POST /v1/workspaces/reorder` (every workspace id, once).
    pub async fn reorder_workspaces(&self, workspace_ids: &[String]) -> Result<()> {
        let body = json!({"workspace_ids": workspace_ids});
        self.client
            .send(
                Method::POST,
                "/v1/workspaces/reorder",
                Some(&body),
                Idempotency::Safe,
            )
            .await
            .map(drop)
    }
}

/// "None" answered as 404 instead of `{}` (the live service answers `{}`;
/// unknown agents are 403 and stay errors).
pub(super) fn none_if_404<T>(r: Result<Option<T>>) -> Result<Option<T>> {
    match r {
        Err(e) if e.status() == Some(404) => Ok(None),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_bare_and_empty_shapes() {
        let s: Option<Schedule> = unwrap_key(json!({}), "schedule").unwrap();
        assert!(s.is_none());
        let s: Option<Schedule> = unwrap_key(json!({"schedule": null}), "schedule").unwrap();
        assert!(s.is_none());
        let s: Option<Schedule> = unwrap_key(
            json!({"schedule": {"cron": "0 0 9 * * * *", "paused": true}}),
            "schedule",
        )
        .unwrap();
        assert!(s.unwrap().paused);
        let w: Option<Webhook> =
            unwrap_key(json!({"webhook_id": "w1", "url": "https://x", "events": ["run.failed"], "signing_secret": "whsec_1"}), "webhook")
                .unwrap();
        assert_eq!(w.unwrap().signing_secret.as_deref(), Some("whsec_1"));
        let a: Option<Agent> = unwrap_key(
            json!({"agent": {"agent_id": "a", "workspace_id": "w"}}),
            "agent",
        )
        .unwrap();
        assert_eq!(a.unwrap().workspace_id.as_deref(), Some("w"));
    }

    #[test]
    fn segments_are_escaped() {
        assert_eq!(seg("a b/c"), "a%20b%2Fc");
        assert_eq!(query(&[("a", Some("x y".into())), ("b", None)]), "?a=x+y");
    }
}

//! The emulator's state and the semantics of every endpoint, following
//! twin-api-contract.md: the live response shapes where known, the
//! *decided* rules elsewhere. Handlers in `routes.rs` only translate HTTP.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::engine::sha256_hex as content_hash;
use crate::providers::twin::rules::{check_cron, check_url, is_valid_agent_id};
use crate::providers::twin::wire::{
    Agent, InstructionVersion, Instructions, Schedule, Webhook, Workspace,
};

/// An RFC 9457 problem: status and detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub status: u16,
    pub detail: String,
}

fn problem(status: u16, detail: impl Into<String>) -> Problem {
    Problem {
        status,
        detail: detail.into(),
    }
}

fn no_agent() -> Problem {
    // The live service answers 403 for unknown agents, not 404.
    problem(403, "you do not have access to this agent")
}

pub type Answer = Result<(u16, Value), Problem>;

/// Webhook events a write causes: (event name, payload `data`).
pub type Deliveries = Vec<(String, Value)>;

const EVENTS: [&str; 5] = [
    "run.started",
    "run.completed",
    "run.failed",
    "run.stopped",
    "run.paused",
];

/// Default and largest page of `GET /v1/agents`.
pub const DEFAULT_PAGE: usize = 10;
pub const MAX_PAGE: usize = 200;

/// A stored run with its events.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    pub run: Value,
    pub events: Vec<Value>,
}

/// A stored API key (only a hash of the key itself).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyRecord {
    pub key_id: String,
    pub name: String,
    pub display_prefix: String,
    pub created_at: i64,
    pub key_sha256: String,
    #[serde(default)]
    pub last_used_at: Option<i64>,
}

/// Everything the emulated account holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Store {
    pub user_id: String,
    pub seq: u64,
    /// In display order.
    pub workspaces: Vec<Workspace>,
    pub agents: BTreeMap<String, Agent>,
    pub instructions: HashMap<String, Instructions>,
    /// Newest last (answered newest first).
    pub history: HashMap<String, Vec<InstructionVersion>>,
    pub schedules: HashMap<String, Schedule>,
    /// Keyed by webhook id; `signing_secret` kept to sign deliveries.
    pub webhooks: BTreeMap<String, Webhook>,
    /// Keyed by agent id, in start order.
    pub runs: HashMap<String, Vec<RunRecord>>,
    pub keys: Vec<KeyRecord>,
    /// SHA-256 of revoked keys.
    pub revoked: Vec<String>,
    #[serde(default)]
    pub strict_deploy: bool,
    /// Timestamps with one-second resolution and random ids, like servers
    /// that order nothing by creation (`--coarse-clock`).
    #[serde(default)]
    pub coarse_clock: bool,
    /// Webhook ids per agent, in creation order (an index over `webhooks`,
    /// rebuilt by [`Store::reindex`] after loading).
    #[serde(skip)]
    hooks_by_agent: HashMap<String, Vec<String>>,
}

impl Default for Store {
    fn default() -> Self {
        let mut s = Store {
            user_id: "user_local".into(),
            seq: 0,
            workspaces: Vec::new(),
            agents: BTreeMap::new(),
            instructions: HashMap::new(),
            history: HashMap::new(),
            schedules: HashMap::new(),
            webhooks: BTreeMap::new(),
            runs: HashMap::new(),
            keys: Vec::new(),
            revoked: Vec::new(),
            strict_deploy: false,
            coarse_clock: false,
            hooks_by_agent: HashMap::new(),
        };
        let id = s.next_id("ws");
        s.workspaces
            .push(workspace(id, "My Workspace".into(), 0, now_precise()));
        s
    }
}

fn now_precise() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn workspace(id: String, name: String, position: i64, created_at: String) -> Workspace {
    Workspace {
        workspace_id: id,
        name,
        icon_config: None,
        position: Some(position),
        agent_count: Some(0),
        created_at: Some(Value::String(created_at.clone())),
        updated_at: Some(Value::String(created_at)),
    }
}

fn body_str<'a>(body: &'a Value, field: &str) -> Option<&'a str> {
    body.get(field).and_then(Value::as_str)
}

impl Store {
    /// Rebuild the indexes that are not persisted.
    pub fn reindex(&mut self) {
        self.hooks_by_agent.clear();
        for w in self.webhooks.values() {
            self.hooks_by_agent
                .entry(w.agent_id.clone().unwrap_or_default())
                .or_default()
                .push(w.webhook_id.clone());
        }
    }

    /// The webhooks of agent `id`, in creation order.
    fn hooks_of<'a>(&'a self, id: &str) -> impl Iterator<Item = &'a Webhook> + 'a {
        let ids = self
            .hooks_by_agent
            .get(id)
            .map(Vec::as_slice)
            .unwrap_or_default();
        ids.iter().filter_map(|wid| self.webhooks.get(wid))
    }

    /// Keep `agent_count` of workspace `ws` current as agents come and go.
    fn count_agent(&mut self, ws: Option<&str>, delta: i64) {
        if let Some(w) = self
            .workspaces
            .iter_mut()
            .find(|w| Some(w.workspace_id.as_str()) == ws)
        {
            w.agent_count = Some(w.agent_count.unwrap_or(0).saturating_add_signed(delta));
        }
    }

    pub fn next_id(&mut self, prefix: &str) -> String {
        self.seq += 1;
        if self.coarse_clock {
            return format!("{prefix}_{}", hex::encode(rand::random::<[u8; 6]>()));
        }
        format!("{prefix}_{:06}", self.seq)
    }

    /// The current time as the server writes it.
    fn now(&self) -> String {
        if self.coarse_clock {
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        } else {
            now_precise()
        }
    }

    /// Whether requests with this key are refused.
    pub fn is_revoked(&self, key: &str) -> bool {
        self.revoked.contains(&content_hash(key.as_bytes()))
    }

    fn agent_mut(&mut self, id: &str) -> Result<&mut Agent, Problem> {
        self.agents.get_mut(id).ok_or_else(no_agent)
    }

    fn require_agent(&self, id: &str) -> Result<(), Problem> {
        self.agents
            .contains_key(id)
            .then_some(())
            .ok_or_else(no_agent)
    }

    fn workspace_index(&self, id: &str) -> Result<usize, Problem> {
        self.workspaces
            .iter()
            .position(|w| w.workspace_id == id)
            .ok_or_else(|| problem(404, format!("workspace {id} not found")))
    }

    // ---- keys and identity ----

    pub fn me(&self) -> Answer {
        Ok((200, json!({"user_id": self.user_id})))
    }

    pub fn list_keys(&self) -> Answer {
        let keys: Vec<Value> = self
            .keys
            .iter()
            .map(|k| {
                let mut v = json!({"key_id": k.key_id, "name": k.name, "display_prefix": k.display_prefix, "created_at": k.created_at});
                if let Some(t) = k.last_used_at {
                    v["last_used_at"] = json!(t);
                }
                v
            })
            .collect();
        Ok((200, json!({"keys": keys})))
    }

    pub fn create_key(&mut self, body: &Value) -> Answer {
        let name = body_str(body, "name").ok_or_else(|| problem(422, "name is required"))?;
        if name.is_empty() || name.chars().count() > 128 {
            return Err(problem(422, "name must be 1-128 characters"));
        }
        let key_id = self.next_id("key");
        let secret = format!("tw_live_{}", hex::encode(rand::random::<[u8; 24]>()));
        let record = KeyRecord {
            key_id: key_id.clone(),
            name: name.into(),
            display_prefix: format!("{}...", &secret[..11]),
            created_at: chrono::Utc::now().timestamp(),
            key_sha256: content_hash(secret.as_bytes()),
            last_used_at: None,
        };
        let answer = json!({"key_id": key_id, "name": name, "api_key": secret,
            "display_prefix": record.display_prefix, "created_at": record.created_at});
        self.keys.push(record);
        Ok((201, answer))
    }

    pub fn revoke_key(&mut self, key_id: &str) -> Answer {
        let i = self
            .keys
            .iter()
            .position(|k| k.key_id == key_id)
            .ok_or_else(|| problem(404, "key not found"))?;
        let k = self.keys.remove(i);
        self.revoked.push(k.key_sha256);
        Ok((200, json!({"revoked": true})))
    }

    // ---- agents ----

    pub fn list_agents(
        &self,
        workspace_id: Option<&str>,
        cursor: Option<&str>,
        limit: Option<usize>,
    ) -> Answer {
        let limit = limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
        let mut page: Vec<&Agent> = Vec::with_capacity(limit + 1);
        let start = match cursor {
            Some(c) => std::ops::Bound::Excluded(c.to_string()),
            None => std::ops::Bound::Unbounded,
        };
        for (_, a) in self.agents.range((start, std::ops::Bound::Unbounded)) {
            if workspace_id.is_none_or(|w| a.workspace_id.as_deref() == Some(w)) {
                page.push(a);
                if page.len() > limit {
                    break;
                }
            }
        }
        let more = page.len() > limit;
        page.truncate(limit);
        let mut v = json!({"agents": page});
        if more {
            if let Some(last) = page.last() {
                v["next_cursor"] = json!(last.agent_id);
            }
        }
        Ok((200, v))
    }

    pub fn create_agent(&mut self, body: &Value) -> Answer {
        let id = match body_str(body, "agent_id") {
            Some(id) if !is_valid_agent_id(id) => {
                return Err(problem(
                    422,
                    "agent_id must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$",
                ))
            }
            Some(id) => id.to_string(),
            None => self.next_id("agent"),
        };
        if self.agents.contains_key(&id) {
            return Err(problem(409, format!("agent {id} already exists")));
        }
        let ws = match body_str(body, "workspace_id") {
            Some(w) => {
                self.workspace_index(w)?;
                w.to_string()
            }
            None => self
                .workspaces
                .first()
                .map(|w| w.workspace_id.clone())
                .unwrap_or_default(),
        };
        let agent = Agent {
            agent_id: id.clone(),
            workspace_id: Some(ws.clone()),
            deployment_state: Some("draft".into()),
            is_subagent: Some(
                body.get("is_subagent")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            ),
            derived_from_agent_id: body_str(body, "derived_from_agent_id").map(str::to_string),
            icon_config: Some(r##"{"backgroundColor":"#A78BFA"}"##.into()),
            has_runs: Some(false),
            has_instruction_build: Some(false),
            last_activity_at: Some(Value::String(self.now())),
            latest_run_is_finished: Some(false),
            latest_run_has_pending_input: Some(false),
            ..Agent::default()
        };
        self.agents.insert(id, agent.clone());
        self.count_agent(Some(&ws), 1);
        Ok((201, json!({"agent": agent})))
    }

    pub fn get_agent(&self, id: &str) -> Answer {
        let a = self.agents.get(id).ok_or_else(no_agent)?;
        Ok((200, json!({"agent": a})))
    }

    pub fn delete_agent(&mut self, id: &str) -> Answer {
        let Some(gone) = self.agents.remove(id) else {
            return Err(problem(404, format!("agent {id} not found")));
        };
        self.cascade(id);
        self.count_agent(gone.workspace_id.as_deref(), -1);
        Ok((204, Value::Null))
    }

    fn cascade(&mut self, id: &str) {
        self.instructions.remove(id);
        self.history.remove(id);
        self.schedules.remove(id);
        self.runs.remove(id);
        for wid in self.hooks_by_agent.remove(id).unwrap_or_default() {
            self.webhooks.remove(&wid);
        }
    }

    pub fn move_agent(&mut self, id: &str, body: &Value) -> Answer {
        let ws = body_str(body, "workspace_id")
            .ok_or_else(|| problem(422, "workspace_id is required"))?
            .to_string();
        self.require_agent(id)?;
        self.workspace_index(&ws)?;
        let old = self.agent_mut(id)?.workspace_id.replace(ws.clone());
        self.count_agent(old.as_deref(), -1);
        self.count_agent(Some(&ws), 1);
        Ok((200, json!({"success": true})))
    }

    // ---- runs ----

    pub fn start_run(
        &mut self,
        id: &str,
        body: &Value,
    ) -> Result<(u16, Value, Deliveries), Problem> {
        self.require_agent(id)?;
        let mode = body_str(body, "run_mode")
            .ok_or_else(|| problem(400, "run_mode is required (\"run\" or \"build\")"))?;
        let policy = match mode {
            "run" => "runner_v2",
            "build" => "builder_v3",
            _ => return Err(problem(400, "run_mode must be \"run\" or \"build\"")),
        };
        let run_id = self.next_id("run");
        let t = self.now();
        let runs = self.runs.entry(id.to_string()).or_default();
        let run = json!({"run_id": run_id, "agent_id": id, "status": "completed", "started_at": t,
            "finished_at": t, "is_finished": true, "is_paused": false, "run_number": runs.len() + 1,
            "policy_type": policy, "goal": body_str(body, "user_message").unwrap_or_default(),
            "event_count": 2, "step_count": 0, "wrote_instructions": false});
        let events = vec![
            json!({"index": 0, "event": {"Started": {}}}),
            json!({"index": 1, "event": {"Finished": {"outcome": "success"}}}),
        ];
        runs.push(RunRecord {
            run: run.clone(),
            events,
        });
        let agent = self.agent_mut(id)?;
        agent.has_runs = Some(true);
        agent.latest_run_id = Some(run_id.clone());
        agent.latest_run_is_finished = Some(true);
        agent.latest_run_status = Some("completed".into());
        agent.last_activity_at = Some(Value::String(t.clone()));
        if mode == "build" {
            agent.deployment_state = Some("deployed".into());
            agent.deployed_at = Some(Value::String(t.clone()));
        }
        let base = json!({"run_id": run_id, "agent_id": id});
        let mut started = base.clone();
        started["status"] = json!("in_progress");
        let mut done = base;
        done["status"] = json!("completed");
        done["outcome"] = json!("success");
        done["finished_at"] = json!(t);
        let deliveries = vec![
            ("run.started".to_string(), started),
            ("run.completed".to_string(), done),
        ];
        Ok((201, json!({"run": run}), deliveries))
    }

    pub fn list_runs(&self, id: &str, q: &HashMap<String, String>) -> Answer {
        self.require_agent(id)?;
        let page = q
            .get("page")
            .and_then(|p| p.parse::<usize>().ok())
            .unwrap_or(1)
            .max(1);
        let size = q
            .get("page_size")
            .and_then(|p| p.parse::<usize>().ok())
            .unwrap_or(100)
            .clamp(1, 1000);
        let matches = |r: &&RunRecord| {
            let field = |k: &str| r.run.get(k).and_then(Value::as_str).unwrap_or_default();
            q.get("filter_status").is_none_or(|s| field("status") == s)
                && q.get("filter_run_id").is_none_or(|s| field("run_id") == s)
                && q.get("filter_policy_type")
                    .is_none_or(|s| field("policy_type") == s)
                && q.get("filter_started_after")
                    .is_none_or(|s| field("started_at") > s.as_str())
                && q.get("filter_started_before")
                    .is_none_or(|s| field("started_at") < s.as_str())
        };
        let all: Vec<&RunRecord> = self
            .runs
            .get(id)
            .map(|r| r.iter().rev().filter(matches).collect())
            .unwrap_or_default();
        let runs: Vec<&Value> = all
            .iter()
            .skip((page - 1) * size)
            .take(size)
            .map(|r| &r.run)
            .collect();
        Ok((
            200,
            json!({"runs": runs, "all_run_summaries": runs, "total_runs": all.len(), "page": page, "page_size": size}),
        ))
    }

    pub fn delete_run(&mut self, id: &str, run_id: &str) -> Answer {
        self.require_agent(id)?;
        let runs = self.runs.entry(id.to_string()).or_default();
        let before = runs.len();
        runs.retain(|r| r.run.get("run_id").and_then(Value::as_str) != Some(run_id));
        if runs.len() == before {
            return Err(problem(404, "run not found"));
        }
        Ok((204, Value::Null))
    }

    fn run(&self, id: &str, run_id: &str) -> Result<&RunRecord, Problem> {
        self.require_agent(id)?;
        self.runs
            .get(id)
            .and_then(|r| {
                r.iter()
                    .find(|r| r.run.get("run_id").and_then(Value::as_str) == Some(run_id))
            })
            .ok_or_else(|| problem(404, "run not found"))
    }

    pub fn cancel_run(&self, id: &str, run_id: &str) -> Answer {
        let run = self.run(id, run_id)?;
        let finished = run
            .run
            .get("is_finished")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        let error = if finished {
            "run already completed"
        } else {
            ""
        };
        Ok((200, json!({"error": error, "success": true})))
    }

    pub fn run_events(&self, id: &str, run_id: &str, q: &HashMap<String, String>) -> Answer {
        let run = self.run(id, run_id)?;
        let after = q
            .get("after_index")
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(-1);
        let limit = q
            .get("limit")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(usize::MAX);
        let events: Vec<&Value> = run
            .events
            .iter()
            .filter(|e| e.get("index").and_then(Value::as_i64).unwrap_or(0) > after)
            .take(limit)
            .collect();
        Ok((
            200,
            json!({"events": events, "total_count": run.events.len()}),
        ))
    }

    // ---- webhooks ----

    fn check_events(events: Option<&Value>) -> Result<Vec<String>, Problem> {
        let list = events
            .and_then(Value::as_array)
            .ok_or_else(|| problem(422, "events must be a list"))?;
        if list.is_empty() {
            return Err(problem(422, "at least one event is required"));
        }
        list.iter()
            .map(|e| match e.as_str() {
                Some(s) if EVENTS.contains(&s) => Ok(s.to_string()),
                _ => Err(problem(422, format!("unknown event {e}"))),
            })
            .collect()
    }

    pub fn create_webhook(&mut self, id: &str, body: &Value) -> Answer {
        self.require_agent(id)?;
        let url = body_str(body, "url")
            .ok_or_else(|| problem(422, "url is required"))?
            .to_string();
        check_url(&url).map_err(|e| problem(422, e))?;
        let events = Self::check_events(body.get("events"))?;
        let webhook_id = self.next_id("wh");
        let t = self.now();
        let hook = Webhook {
            webhook_id: webhook_id.clone(),
            agent_id: Some(id.into()),
            url,
            events,
            status: "active".into(),
            signing_secret: Some(format!("whsec_{}", hex::encode(rand::random::<[u8; 24]>()))),
            user_id: Some(self.user_id.clone()),
            created_at: Some(Value::String(t.clone())),
            updated_at: Some(Value::String(t)),
        };
        self.hooks_by_agent
            .entry(id.to_string())
            .or_default()
            .push(webhook_id.clone());
        self.webhooks.insert(webhook_id, hook.clone());
        Ok((201, json!(hook)))
    }

    fn public(hook: &Webhook) -> Value {
        let mut h = hook.clone();
        h.signing_secret = None;
        json!(h)
    }

    pub fn list_webhooks(&self, id: &str) -> Answer {
        self.require_agent(id)?;
        let hooks: Vec<Value> = self.hooks_of(id).map(Self::public).collect();
        Ok((200, json!({"webhooks": hooks})))
    }

    fn hook_mut(&mut self, id: &str, wid: &str) -> Result<&mut Webhook, Problem> {
        self.require_agent(id)?;
        self.webhooks
            .get_mut(wid)
            .filter(|w| w.agent_id.as_deref() == Some(id))
            .ok_or_else(|| problem(404, "webhook not found"))
    }

    pub fn get_webhook(&mut self, id: &str, wid: &str) -> Answer {
        Ok((200, Self::public(self.hook_mut(id, wid)?)))
    }

    pub fn patch_webhook(&mut self, id: &str, wid: &str, body: &Value) -> Answer {
        let url = match body_str(body, "url") {
            Some(u) => {
                check_url(u).map_err(|e| problem(422, e))?;
                Some(u.to_string())
            }
            None => None,
        };
        let events = match body.get("events") {
            Some(e) => Some(Self::check_events(Some(e))?),
            None => None,
        };
        let status = match body_str(body, "status") {
            Some(s @ ("active" | "disabled")) => Some(s.to_string()),
            Some(_) => return Err(problem(422, "status must be \"active\" or \"disabled\"")),
            None => None,
        };
        let t = self.now();
        let hook = self.hook_mut(id, wid)?;
        if let Some(u) = url {
            hook.url = u;
        }
        if let Some(e) = events {
            hook.events = e;
        }
        if let Some(s) = status {
            hook.status = s;
        }
        hook.updated_at = Some(Value::String(t));
        Ok((200, Self::public(hook)))
    }

    pub fn delete_webhook(&mut self, id: &str, wid: &str) -> Answer {
        self.hook_mut(id, wid)?;
        self.webhooks.remove(wid);
        if let Some(ids) = self.hooks_by_agent.get_mut(id) {
            ids.retain(|w| w != wid);
        }
        Ok((204, Value::Null))
    }

    /// Active webhooks of `id` subscribed to `event`: (url, secret).
    pub fn subscribers(&self, id: &str, event: &str) -> Vec<(String, String)> {
        self.hooks_of(id)
            .filter(|w| w.status == "active" && w.events.iter().any(|e| e == event))
            .filter_map(|w| Some((w.url.clone(), w.signing_secret.clone()?)))
            .collect()
    }

    // ---- schedules ----

    pub fn get_schedule(&self, id: &str) -> Answer {
        self.require_agent(id)?;
        Ok((
            200,
            self.schedules
                .get(id)
                .map_or_else(|| json!({}), |s| json!({"schedule": s})),
        ))
    }

    pub fn put_schedule(&mut self, id: &str, body: &Value) -> Answer {
        let cron = body_str(body, "cron")
            .ok_or_else(|| problem(422, "cron is required"))?
            .to_string();
        let agent = self.agents.get(id).ok_or_else(no_agent)?;
        if self.strict_deploy && agent.deployment_state.as_deref() != Some("deployed") {
            return Err(problem(409, "agent is not deployed"));
        }
        check_cron(&cron).map_err(|e| problem(422, e))?;
        let entry = self
            .schedules
            .entry(id.to_string())
            .or_insert_with(|| Schedule {
                agent_id: Some(id.to_string()),
                ..Schedule::default()
            });
        entry.cron = cron.clone();
        entry.next_run = std::str::FromStr::from_str(&cron)
            .ok()
            .and_then(|s: cron::Schedule| s.upcoming(chrono::Utc).next())
            .map(|t| Value::String(t.to_rfc3339()));
        Ok((200, json!({"success": true})))
    }

    fn schedule_mut(&mut self, id: &str) -> Result<&mut Schedule, Problem> {
        self.require_agent(id)?;
        self.schedules
            .get_mut(id)
            .ok_or_else(|| problem(404, "agent has no schedule"))
    }

    pub fn delete_schedule(&mut self, id: &str) -> Answer {
        self.schedule_mut(id)?;
        self.schedules.remove(id);
        Ok((200, json!({"success": true})))
    }

    pub fn pause_schedule(&mut self, id: &str, paused: bool) -> Answer {
        let s = self.schedule_mut(id)?;
        s.paused = paused;
        if !paused {
            s.auto_paused = false;
            s.consecutive_failures = 0;
        }
        Ok((200, json!({"success": true})))
    }

    pub fn list_schedules(&self) -> Answer {
        let mut all: Vec<&Schedule> = self.schedules.values().collect();
        all.sort_by(|a, b| a.agent_id.cmp(&b.agent_id));
        Ok((200, json!({"schedules": all})))
    }

    // ---- instructions ----

    pub fn get_instructions(&self, id: &str) -> Answer {
        self.require_agent(id)?;
        Ok((
            200,
            self.instructions
                .get(id)
                .map_or_else(|| json!({}), |i| json!({"instructions": i})),
        ))
    }

    pub fn put_instructions(&mut self, id: &str, body: &Value) -> Answer {
        self.require_agent(id)?;
        let content = body_str(body, "content")
            .ok_or_else(|| problem(422, "content is required"))?
            .to_string();
        let source_type = body_str(body, "source_type")
            .unwrap_or("checkpoint")
            .to_string();
        let source_id = body_str(body, "source_id").map(str::to_string);
        let hash = content_hash(content.as_bytes());
        let t = self.now();
        self.seq += 1;
        let version = InstructionVersion {
            id: Some(json!(self.seq)),
            content: content.clone(),
            content_hash: Some(hash.clone()),
            created_at: Some(Value::String(t.clone())),
            source_type: Some(source_type),
            source_id: source_id.clone(),
            storage_key: Some(format!("instructions/{id}/{}", self.seq)),
            user_email: Some("local@twinform.invalid".into()),
            user_id: Some(self.user_id.clone()),
        };
        self.history
            .entry(id.to_string())
            .or_default()
            .push(version);
        self.instructions.insert(
            id.to_string(),
            Instructions {
                content,
                content_hash: Some(hash),
                agent_id: Some(id.into()),
                source_id,
                storage_key: Some(format!("instructions/{id}/{}", self.seq)),
                updated_at: Some(Value::String(t)),
                user_email: Some("local@twinform.invalid".into()),
                user_id: Some(self.user_id.clone()),
            },
        );
        Ok((200, json!({"success": true})))
    }

    pub fn history(&self, id: &str, limit: Option<usize>) -> Answer {
        self.require_agent(id)?;
        let versions: Vec<&InstructionVersion> = self
            .history
            .get(id)
            .map(|h| h.iter().rev().take(limit.unwrap_or(usize::MAX)).collect())
            .unwrap_or_default();
        Ok((200, json!({"instruction_versions": versions})))
    }

    // ---- workspaces ----

    pub fn list_workspaces(&self) -> Answer {
        Ok((200, json!({"workspaces": self.workspaces})))
    }

    pub fn create_workspace(&mut self, body: &Value) -> Answer {
        let name = body_str(body, "name")
            .ok_or_else(|| problem(422, "name is required"))?
            .to_string();
        if name.trim().is_empty() {
            return Err(problem(422, "name must not be empty"));
        }
        let id = self.next_id("ws");
        let w = workspace(id, name, self.workspaces.len() as i64, self.now());
        self.workspaces.push(w.clone());
        Ok((201, json!({"workspace": w})))
    }

    pub fn update_workspace(&mut self, wid: &str, body: &Value) -> Answer {
        let name = body_str(body, "name")
            .ok_or_else(|| problem(422, "name is required"))?
            .to_string();
        let icon = match body.get("icon_config") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(problem(422, "icon_config must be a string")),
        };
        let i = self.workspace_index(wid)?;
        let t = self.now();
        let w = &mut self.workspaces[i];
        w.name = name;
        if icon.is_some() {
            w.icon_config = icon;
        }
        w.updated_at = Some(Value::String(t));
        Ok((200, json!({"workspace": w})))
    }

    pub fn delete_workspace(&mut self, wid: &str) -> Answer {
        let i = self.workspace_index(wid)?;
        if self.workspaces.len() == 1 {
            return Err(problem(409, "the last workspace cannot be deleted"));
        }
        self.workspaces.remove(i);
        let doomed: Vec<String> = self
            .agents
            .values()
            .filter(|a| a.workspace_id.as_deref() == Some(wid))
            .map(|a| a.agent_id.clone())
            .collect();
        for id in doomed {
            self.agents.remove(&id);
            self.cascade(&id);
        }
        for (pos, w) in self.workspaces.iter_mut().enumerate() {
            w.position = Some(pos as i64);
        }
        Ok((200, json!({"deleted": true})))
    }

    pub fn reorder_workspaces(&mut self, body: &Value) -> Answer {
        let ids: Vec<String> = body
            .get("workspace_ids")
            .and_then(Value::as_array)
            .ok_or_else(|| problem(422, "workspace_ids must be a list"))?
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| problem(422, "workspace ids are strings"))
            })
            .collect::<Result<_, _>>()?;
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        let mut current: Vec<String> = self
            .workspaces
            .iter()
            .map(|w| w.workspace_id.clone())
            .collect();
        current.sort();
        if sorted.len() != ids.len() || sorted != current {
            return Err(problem(
                422,
                "workspace_ids must list every workspace exactly once",
            ));
        }
        let mut reordered = Vec::with_capacity(ids.len());
        for (pos, id) in ids.iter().enumerate() {
            if let Some(i) = self.workspaces.iter().position(|w| &w.workspace_id == id) {
                let mut w = self.workspaces.remove(i);
                w.position = Some(pos as i64);
                reordered.push(w);
            }
        }
        self.workspaces = reordered;
        Ok((200, json!({"success": true})))
    }
}

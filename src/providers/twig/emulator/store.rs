//! The emulated organization: agents, data sources and users, with the
//! reference's validation and answers. Pure state: the routes call it.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::super::tables::{self, wire_values};
use super::super::wire::{Agent, DataSource, User};

/// An error answer: status, Twig's code, message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

fn invalid(message: impl Into<String>) -> Problem {
    Problem {
        status: 400,
        code: "invalid_request",
        message: message.into(),
    }
}

fn not_found(what: &str, id: &str) -> Problem {
    Problem {
        status: 404,
        code: "not_found",
        message: format!("{what} {id} not found"),
    }
}

pub type Answer = Result<(u16, Value), Problem>;

/// The organization's state (persisted as JSON with `--state`).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Store {
    pub agents: Vec<Agent>,
    pub data_sources: Vec<DataSource>,
    pub users: Vec<User>,
    #[serde(default)]
    next_id: u64,
}

/// `limit` and `offset` as the reference defines them (limit 1..=200,
/// default 50; offset default 0).
fn window(limit: Option<&str>, offset: Option<&str>) -> Result<(usize, usize), Problem> {
    let limit = match limit {
        None => 50,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=200).contains(l))
            .ok_or_else(|| invalid("limit must be between 1 and 200"))?,
    };
    let offset = match offset {
        None => 0,
        Some(o) => o
            .parse::<usize>()
            .map_err(|_| invalid("offset must be a non-negative integer"))?,
    };
    Ok((limit, offset))
}

fn page<T: Serialize>(
    key: &str,
    items: &[T],
    limit: usize,
    offset: usize,
    shape: impl Fn(&T) -> Value,
) -> Value {
    let slice: Vec<Value> = items.iter().skip(offset).take(limit).map(shape).collect();
    json!({key: slice, "total": items.len(), "limit": limit, "offset": offset})
}

fn now() -> Value {
    Value::String(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

fn text(body: &Map<String, Value>, key: &str) -> Result<Option<String>, Problem> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(format!("{key} must be a string"))),
    }
}

fn one_of(value: &Option<String>, allowed: &[&str], key: &str) -> Result<(), Problem> {
    match value {
        Some(v) if !allowed.contains(&v.as_str()) => Err(invalid(format!(
            "{key} must be one of {}",
            allowed.join(", ")
        ))),
        _ => Ok(()),
    }
}

impl Store {
    fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        let noise: u32 = rand::random();
        format!("{prefix}_{:06x}{:08x}", self.next_id, noise)
    }

    /// The list form of an agent (the reference's list omits the rest).
    fn listed(a: &Agent) -> Value {
        json!({"id": a.id, "name": a.name, "rag_strategy": a.rag_strategy, "model": a.model,
            "status": a.status, "data_source_ids": a.data_source_ids, "created_at": a.created_at})
    }

    fn full(a: &Agent) -> Value {
        serde_json::to_value(a).unwrap_or_default()
    }

    pub fn list_agents(&self, limit: Option<&str>, offset: Option<&str>) -> Answer {
        let (limit, offset) = window(limit, offset)?;
        Ok((
            200,
            page("agents", &self.agents, limit, offset, Self::listed),
        ))
    }

    pub fn get_agent(&self, id: &str) -> Answer {
        let a = self
            .agents
            .iter()
            .find(|a| a.id == id)
            .ok_or_else(|| not_found("agent", id))?;
        Ok((200, Self::full(a)))
    }

    /// Apply the writable fields of `body` to `a` (create and update).
    fn write_agent(&self, a: &mut Agent, body: &Map<String, Value>) -> Result<(), Problem> {
        if let Some(n) = text(body, "name")? {
            if n.trim().is_empty() {
                return Err(invalid("name must not be empty"));
            }
            a.name = n;
        }
        if let Some(p) = text(body, "system_prompt")? {
            a.system_prompt = Some(p);
        }
        let rag = text(body, "rag_strategy")?;
        one_of(
            &rag,
            &wire_values(&tables::AGENT, "rag_strategy"),
            "rag_strategy",
        )?;
        if rag.is_some() {
            a.rag_strategy = rag;
        }
        if let Some(m) = text(body, "model")? {
            a.model = Some(m);
        }
        match body.get("temperature") {
            None | Some(Value::Null) => {}
            Some(t) => {
                let t = t
                    .as_f64()
                    .filter(|t| (0.0..=2.0).contains(t))
                    .ok_or_else(|| invalid("temperature must be a number from 0 to 2"))?;
                a.temperature = Some(t);
            }
        }
        match body.get("max_tokens") {
            None | Some(Value::Null) => {}
            Some(m) => {
                let m = m
                    .as_u64()
                    .filter(|m| *m >= 1)
                    .ok_or_else(|| invalid("max_tokens must be a positive integer"))?;
                a.max_tokens = Some(m);
            }
        }
        match body.get("data_source_ids") {
            None | Some(Value::Null) => {}
            Some(Value::Array(ids)) => {
                let mut out = Vec::new();
                for id in ids {
                    let id = id
                        .as_str()
                        .ok_or_else(|| invalid("data_source_ids must be strings"))?;
                    if !self.data_sources.iter().any(|d| d.id == id) {
                        return Err(invalid(format!("data source {id} not found")));
                    }
                    if !out.iter().any(|x: &String| x == id) {
                        out.push(id.to_string());
                    }
                }
                a.data_source_ids = out;
            }
            Some(_) => return Err(invalid("data_source_ids must be an array")),
        }
        Ok(())
    }

    pub fn create_agent(&mut self, body: &Value) -> Answer {
        let body = body
            .as_object()
            .ok_or_else(|| invalid("the body must be a JSON object"))?;
        if text(body, "name")?.is_none() {
            return Err(invalid("missing required field: name"));
        }
        if !body.get("data_source_ids").is_some_and(Value::is_array) {
            return Err(invalid("missing required field: data_source_ids"));
        }
        let mut a = Agent {
            id: String::new(),
            rag_strategy: Some("cedar".into()),
            model: Some("gpt-4".into()),
            temperature: Some(0.7),
            max_tokens: Some(500),
            status: Some("active".into()),
            created_at: Some(now()),
            ..Agent::default()
        };
        self.write_agent(&mut a, body)?;
        a.id = self.id("agent");
        let out = Self::full(&a);
        self.agents.push(a);
        Ok((201, out))
    }

    pub fn update_agent(&mut self, id: &str, body: &Value) -> Answer {
        let body = body
            .as_object()
            .ok_or_else(|| invalid("the body must be a JSON object"))?;
        let i = self
            .agents
            .iter()
            .position(|a| a.id == id)
            .ok_or_else(|| not_found("agent", id))?;
        let mut a = self.agents[i].clone();
        self.write_agent(&mut a, body)?;
        let out = Self::full(&a);
        self.agents[i] = a;
        Ok((200, out))
    }

    pub fn delete_agent(&mut self, id: &str) -> Answer {
        let i = self
            .agents
            .iter()
            .position(|a| a.id == id)
            .ok_or_else(|| not_found("agent", id))?;
        self.agents.remove(i);
        Ok((204, Value::Null))
    }

    pub fn list_data_sources(
        &self,
        limit: Option<&str>,
        offset: Option<&str>,
        status: Option<&str>,
    ) -> Answer {
        let (limit, offset) = window(limit, offset)?;
        let items: Vec<&DataSource> = self
            .data_sources
            .iter()
            .filter(|d| status.is_none_or(|s| d.status.as_deref() == Some(s)))
            .collect();
        Ok((
            200,
            page("data_sources", &items, limit, offset, |d| {
                serde_json::to_value(d).unwrap_or_default()
            }),
        ))
    }

    pub fn create_data_source(&mut self, body: &Value) -> Answer {
        let body = body
            .as_object()
            .ok_or_else(|| invalid("the body must be a JSON object"))?;
        let name = text(body, "name")?
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| invalid("missing required field: name"))?;
        let source_type =
            text(body, "type")?.ok_or_else(|| invalid("missing required field: type"))?;
        one_of(
            &Some(source_type.clone()),
            &wire_values(&tables::DATA_SOURCE, "type"),
            "type",
        )?;
        let sync_frequency = text(body, "sync_frequency")?;
        one_of(
            &sync_frequency,
            &wire_values(&tables::DATA_SOURCE, "sync_frequency"),
            "sync_frequency",
        )?;
        let config = match body.get("config") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(_) => return Err(invalid("config must be an object")),
        };
        if source_type == "website" && !config.get("url").is_some_and(Value::is_string) {
            return Err(invalid("a website data source needs config.url"));
        }
        let d = DataSource {
            id: self.id("ds"),
            name,
            source_type: Some(source_type),
            config: Some(config),
            sync_frequency: Some(sync_frequency.unwrap_or_else(|| "daily".into())),
            status: Some("pending".into()),
            created_at: Some(now()),
            other: Map::new(),
        };
        let out = serde_json::to_value(&d).unwrap_or_default();
        self.data_sources.push(d);
        Ok((201, out))
    }

    pub fn sync_data_source(&mut self, id: &str) -> Answer {
        let d = self
            .data_sources
            .iter_mut()
            .find(|d| d.id == id)
            .ok_or_else(|| not_found("data source", id))?;
        d.status = Some("processing".into());
        Ok((202, json!({"status": "queued", "data_source_id": id})))
    }

    pub fn data_source_status(&self, id: &str) -> Answer {
        let d = self
            .data_sources
            .iter()
            .find(|d| d.id == id)
            .ok_or_else(|| not_found("data source", id))?;
        let status = d.status.clone().unwrap_or_else(|| "pending".into());
        let (chunks, pct) = if status == "active" {
            (1000, 100)
        } else {
            (0, 0)
        };
        Ok((
            200,
            json!({"status": status, "chunks_indexed": chunks, "progress_pct": pct, "estimated_completion": null}),
        ))
    }

    pub fn list_users(&self, limit: Option<&str>, offset: Option<&str>) -> Answer {
        let (limit, offset) = window(limit, offset)?;
        Ok((
            200,
            page("users", &self.users, limit, offset, |u| {
                serde_json::to_value(u).unwrap_or_default()
            }),
        ))
    }

    pub fn create_user(&mut self, body: &Value) -> Answer {
        let body = body
            .as_object()
            .ok_or_else(|| invalid("the body must be a JSON object"))?;
        let email = text(body, "email")?.ok_or_else(|| invalid("missing required field: email"))?;
        let email = email.trim().to_lowercase();
        if !email
            .split_once('@')
            .is_some_and(|(l, h)| !l.is_empty() && h.contains('.'))
        {
            return Err(invalid("email is not valid"));
        }
        let name = text(body, "name")?.unwrap_or_default();
        let role = text(body, "role")?.ok_or_else(|| invalid("missing required field: role"))?;
        one_of(
            &Some(role.clone()),
            &wire_values(&tables::USER, "role"),
            "role",
        )?;
        if self.users.iter().any(|u| u.email == email) {
            return Err(Problem {
                status: 409,
                code: "conflict",
                message: format!("a user with email {email} already exists"),
            });
        }
        let u = User {
            id: Some(self.id("user")),
            email,
            name,
            role,
            status: Some("pending".into()),
            other: Map::new(),
        };
        let out = serde_json::to_value(&u).unwrap_or_default();
        self.users.push(u);
        Ok((201, out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_validation() {
        let mut s = Store::default();
        assert_eq!(
            s.create_agent(&json!({"name": "A"})).unwrap_err().status,
            400
        );
        let (status, a) = s
            .create_agent(&json!({"name": "A", "data_source_ids": []}))
            .unwrap();
        assert_eq!(status, 201);
        let id = a["id"].as_str().unwrap().to_string();
        assert!(id.starts_with("agent_"));
        assert_eq!(
            s.create_agent(&json!({"name": "B", "data_source_ids": ["ds_x"]}))
                .unwrap_err()
                .status,
            400
        );
        assert_eq!(
            s.update_agent(&id, &json!({"temperature": 3}))
                .unwrap_err()
                .status,
            400
        );
        let (_, listed) = s.list_agents(None, None).unwrap();
        assert!(listed["agents"][0].get("system_prompt").is_none());
        assert_eq!(listed["total"], 1);
        assert_eq!(s.list_agents(Some("201"), None).unwrap_err().status, 400);
        s.create_user(&json!({"email": "a@b.co", "name": "A", "role": "train"}))
            .unwrap();
        assert_eq!(
            s.create_user(&json!({"email": "A@b.co", "name": "A", "role": "train"}))
                .unwrap_err()
                .status,
            409
        );
    }
}

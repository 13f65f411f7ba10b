//! One method per endpoint of Twig's reference (`/api/v1/...`), on
//! [`TwigApi`], plus the two policies the API imposes on every client:
//!
//! - **Offset paging shifts under concurrent inserts.** A list is read until
//!   `offset >= total`, de-duplicated by id, and read again from the start
//!   when `total` changed while reading (at most [`LIST_ATTEMPTS`] times).
//!   A server that ignores `offset` (a page adding no new id) ends the list.
//! - **Ids are the server's.** A create whose answer was lost (timeout, 500,
//!   502-504, dropped connection) is followed by a read by name (email for
//!   users) before it is tried again, so nothing is created twice.

use std::collections::HashSet;
use std::time::Instant;

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::wire::{self, Agent, AgentBody, DataSource, DataSourceBody, Page, User, UserBody};
use crate::engine::http::{erased, ApiError, Client, Idempotency};

type Result<T> = std::result::Result<T, ApiError>;

/// Twig's endpoints over the engine's HTTP client.
#[derive(Clone)]
pub struct TwigApi {
    pub client: Client,
}

impl std::ops::Deref for TwigApi {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

/// The largest page the reference allows.
pub const PAGE_LIMIT: u64 = 200;
/// How many times a list is read from the start when it shifted meanwhile.
pub const LIST_ATTEMPTS: u32 = 3;
/// How many times a create is tried across lost answers.
const CREATE_ATTEMPTS: u32 = 4;
/// Pages of one list, at most (a server whose `total` grows forever).
const MAX_PAGES: u64 = 10_000;

/// Something with a server id.
pub trait Identified {
    fn id(&self) -> &str;
}

impl Identified for Agent {
    fn id(&self) -> &str {
        &self.id
    }
}

impl Identified for DataSource {
    fn id(&self) -> &str {
        &self.id
    }
}

impl Identified for User {
    fn id(&self) -> &str {
        self.id.as_deref().unwrap_or(&self.email)
    }
}

/// A lost answer to a write: the write may have happened.
pub fn lost(e: &ApiError) -> bool {
    e.is_ambiguous() || e.status() == Some(500)
}

fn decode(method: &Method, path: &str, message: String) -> ApiError {
    ApiError::Decode {
        message,
        method: method.to_string(),
        path: path.to_string(),
    }
}

impl TwigApi {
    async fn value(
        &self,
        method: Method,
        path: &str,
        body: Option<&dyn erased::Body>,
        idem: Idempotency,
    ) -> Result<Value> {
        self.client.json(method, path, body, idem).await
    }

    async fn get_one<T: DeserializeOwned>(&self, path: &str, key: &str) -> Result<T> {
        let v = self
            .value(Method::GET, path, None, Idempotency::Safe)
            .await?;
        wire::one(v, key).map_err(|m| decode(&Method::GET, path, m))
    }

    /// Every item of a paged list at `path`, read as the module says.
    pub async fn list<T: DeserializeOwned + Identified>(
        &self,
        path: &str,
        keys: &[&str],
    ) -> Result<Vec<T>> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (items, shifted) = self.list_once(path, keys).await?;
            if !shifted || attempt >= LIST_ATTEMPTS {
                return Ok(items);
            }
        }
    }

    /// One pass over a list: its items, and whether `total` moved meanwhile.
    async fn list_once<T: DeserializeOwned + Identified>(
        &self,
        path: &str,
        keys: &[&str],
    ) -> Result<(Vec<T>, bool)> {
        let mut items: Vec<T> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut offset = 0u64;
        let mut first_total = None;
        let mut shifted = false;
        for _ in 0..MAX_PAGES {
            let url = format!("{path}?limit={PAGE_LIMIT}&offset={offset}");
            let v = self
                .value(Method::GET, &url, None, Idempotency::Safe)
                .await?;
            let page: Page<T> = wire::page(v, keys).map_err(|m| decode(&Method::GET, &url, m))?;
            let got = page.items.len() as u64;
            let mut new = 0;
            for item in page.items {
                if seen.insert(item.id().to_string()) {
                    items.push(item);
                    new += 1;
                }
            }
            match (first_total, page.total) {
                (None, t) => first_total = Some(t),
                (Some(a), b) if a != b => shifted = true,
                _ => {}
            }
            offset += got;
            let done = match page.total {
                Some(total) => offset >= total || got == 0,
                None => got < PAGE_LIMIT,
            };
            // A server that ignores `offset` repeats its first page.
            if done || new == 0 {
                break;
            }
        }
        Ok((items, shifted))
    }

    pub async fn list_agents(&self) -> Result<Vec<Agent>> {
        self.list("/api/v1/agents", &["agents"]).await
    }

    /// How many agents the organization has (one small page).
    pub async fn count_agents(&self) -> Result<u64> {
        let url = "/api/v1/agents?limit=1&offset=0";
        let v = self
            .value(Method::GET, url, None, Idempotency::Safe)
            .await?;
        let page: Page<Agent> =
            wire::page(v, &["agents"]).map_err(|m| decode(&Method::GET, url, m))?;
        Ok(page.total.unwrap_or(page.items.len() as u64))
    }

    pub async fn get_agent(&self, id: &str) -> Result<Agent> {
        self.get_one(&format!("/api/v1/agents/{}", seg(id)), "agent")
            .await
    }

    pub async fn update_agent(&self, id: &str, body: &AgentBody) -> Result<()> {
        let path = format!("/api/v1/agents/{}", seg(id));
        self.client
            .send(Method::PUT, &path, Some(body), Idempotency::Safe)
            .await
            .map(drop)
    }

    pub async fn delete_agent(&self, id: &str) -> Result<()> {
        let path = format!("/api/v1/agents/{}", seg(id));
        match self
            .client
            .send(Method::DELETE, &path, None, Idempotency::Safe)
            .await
        {
            Err(e) if e.status() == Some(404) => Ok(()),
            other => other.map(drop),
        }
    }

    pub async fn list_data_sources(&self) -> Result<Vec<DataSource>> {
        self.list("/api/v1/data-sources", &["data_sources", "dataSources"])
            .await
    }

    pub async fn sync_data_source(&self, id: &str) -> Result<()> {
        let path = format!("/api/v1/data-sources/{}/sync", seg(id));
        // Triggering a sync twice queues at most a second sync: safe to repeat.
        self.client
            .send(Method::POST, &path, None, Idempotency::Safe)
            .await
            .map(drop)
    }

    pub async fn list_users(&self) -> Result<Vec<User>> {
        self.list("/api/v1/users", &["users"]).await
    }

    /// Create an agent exactly once: `known` are the ids that existed before.
    pub async fn create_agent(
        &self,
        body: &AgentBody,
        known: &HashSet<String>,
    ) -> Result<Created<Agent>> {
        let name = body.name.clone().unwrap_or_default();
        self.create_once("/api/v1/agents", body, "agent", || async {
            Ok(self
                .list_agents()
                .await?
                .into_iter()
                .find(|a| a.name == name && !known.contains(&a.id)))
        })
        .await
    }

    pub async fn create_data_source(
        &self,
        body: &DataSourceBody,
        known: &HashSet<String>,
    ) -> Result<Created<DataSource>> {
        self.create_once("/api/v1/data-sources", body, "data_source", || async {
            Ok(self
                .list_data_sources()
                .await?
                .into_iter()
                .find(|d| d.name == body.name && !known.contains(&d.id)))
        })
        .await
    }

    /// Invite a user exactly once (by email). A 409 means they are there.
    pub async fn create_user(&self, body: &UserBody) -> Result<User> {
        let find = || async {
            Ok(self
                .list_users()
                .await?
                .into_iter()
                .find(|u| u.email.eq_ignore_ascii_case(&body.email)))
        };
        match self.create_once("/api/v1/users", body, "user", find).await {
            Err(e) if e.status() == Some(409) => match find().await? {
                Some(u) => Ok(u),
                None => Err(e),
            },
            other => other.map(|c| c.value),
        }
    }

    /// POST `body`; after a lost answer, `find` looks for what it may have
    /// created before the POST is tried again.
    async fn create_once<T, F, Fut>(
        &self,
        path: &str,
        body: &(dyn erased::Body + Sync),
        key: &str,
        find: F,
    ) -> Result<Created<T>>
    where
        T: DeserializeOwned,
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>>>,
    {
        let mut attempt = 0;
        let mut ambiguous_at = None;
        loop {
            attempt += 1;
            let sent = Instant::now();
            match self
                .value(Method::POST, path, Some(body), Idempotency::Create)
                .await
            {
                Ok(v) => {
                    let value = wire::one(v, key).map_err(|m| decode(&Method::POST, path, m))?;
                    return Ok(Created {
                        value,
                        ambiguous_at,
                    });
                }
                Err(e) if lost(&e) && attempt < CREATE_ATTEMPTS => {
                    if e.may_commit_late() {
                        ambiguous_at = Some(sent);
                    }
                    if let Some(value) = find().await? {
                        return Ok(Created {
                            value,
                            ambiguous_at,
                        });
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// What a create made, and when a request of it lost its answer: that
/// request may still commit late (a slow server finishing after the client
/// gave up), so an apply looks again once it cannot be pending any more.
#[derive(Debug)]
pub struct Created<T> {
    pub value: T,
    pub ambiguous_at: Option<Instant>,
}

/// Percent-encode one path segment.
fn seg(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

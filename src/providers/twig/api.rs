//! One method per endpoint of Twig's reference (`/api/v1/...`), on
//! [`TwigApi`], plus the two policies the API imposes on every client:
//!
//! - **Offset paging shifts under concurrent changes.** A list is read until
//!   `offset >= total`, de-duplicated by id, and, when it took several
//!   pages, read again until two reads agree (or the read fails, never
//!   silently partial): the engine's [`read_offset_list`].
//! - **Ids are the server's.** A create whose answer was lost (timeout, 500,
//!   502-504, dropped connection) is followed by a read by name (email for
//!   users) before it is tried again, so nothing is created twice. A sync
//!   (a full crawl) is likewise sent again only when the data source's
//!   status says it did not start (the engine's [`once`]).

use std::collections::HashSet;

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::wire::{self, Agent, AgentBody, DataSource, DataSourceBody, SyncStatus, User, UserBody};
use crate::engine::http::{
    erased, once, read_offset_list, ApiError, Client, Idempotency, Identified, Once, Page,
};

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
/// How many times a create is tried across lost answers.
const CREATE_ATTEMPTS: u32 = 4;
/// How many times a sync is sent across lost answers that did not start it.
const SYNC_ATTEMPTS: u32 = 3;

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
        wire::one(v, key).map_err(|m| ApiError::decode(Method::GET, path, m))
    }

    /// Every item of a paged list at `path`, read as the module says.
    pub async fn list<T: DeserializeOwned + Identified>(
        &self,
        path: &str,
        keys: &[&str],
    ) -> Result<Vec<T>> {
        read_offset_list(path, |offset| self.page(path, keys, offset)).await
    }

    /// The page of a list at `offset`.
    async fn page<T: DeserializeOwned>(
        &self,
        path: &str,
        keys: &[&str],
        offset: u64,
    ) -> Result<Page<T>> {
        let url = format!("{path}?limit={PAGE_LIMIT}&offset={offset}");
        let v = self
            .value(Method::GET, &url, None, Idempotency::Safe)
            .await?;
        let page: wire::Page<T> =
            wire::page(v, keys).map_err(|m| ApiError::decode(Method::GET, &url, m))?;
        Ok(Page {
            items: page.items,
            total: page.total,
            next: None,
        })
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
        let page: wire::Page<Agent> =
            wire::page(v, &["agents"]).map_err(|m| ApiError::decode(Method::GET, url, m))?;
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

    /// Start a data source's sync, once. A sync is a full crawl and the
    /// POST is no idempotent write: it is never repeated blindly. After a
    /// lost answer (500, a timeout…) the data source's status says whether
    /// the sync started before it is sent again.
    pub async fn sync_data_source(&self, id: &str) -> Result<()> {
        let path = format!("/api/v1/data-sources/{}/sync", seg(id));
        let send = || async {
            self.client
                .send(Method::POST, &path, None, Idempotency::Action)
                .await
                .map(drop)
        };
        let started = || async { Ok(self.sync_started(id).await?.then_some(())) };
        once(SYNC_ATTEMPTS, send, started).await.map(drop)
    }

    /// Whether a data source's sync has started: its status is past
    /// `pending`, or it says when it last synced. A status that says
    /// neither is an error: whether to sync again cannot be told.
    pub async fn sync_started(&self, id: &str) -> Result<bool> {
        let path = format!("/api/v1/data-sources/{}/status", seg(id));
        let v = self
            .value(Method::GET, &path, None, Idempotency::Safe)
            .await?;
        let status: SyncStatus =
            wire::one(v, "data_source").map_err(|m| ApiError::decode(Method::GET, &path, m))?;
        status.started().ok_or_else(|| {
            ApiError::decode(
                Method::GET,
                &path,
                "the status says neither `status` nor a last sync time",
            )
        })
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

    /// POST `body` exactly once; after a lost answer, `find` looks for what
    /// it may have created before the POST is tried again.
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
        let send = || async {
            let v = self
                .value(Method::POST, path, Some(body), Idempotency::Create)
                .await?;
            wire::one(v, key).map_err(|m| ApiError::decode(Method::POST, path, m))
        };
        once(CREATE_ATTEMPTS, send, find).await
    }
}

/// What a create made, and when a request of it lost its answer (see [`Once`]).
pub type Created<T> = Once<T>;

use crate::engine::http::segment as seg;

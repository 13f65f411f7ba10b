//! Cadenya's endpoints (the API of the official Python SDK `cadenya` 1.8.0:
//! `/v1/workspaces/{id}/...`) on [`CadenyaApi`]: cursor lists read
//! consistently, reads by `external_id:`, actions (`POST <resource>:<verb>`,
//! no body), and creates that are never blindly repeated (a lost answer is
//! followed by a read of the externalId before the create is sent again).

use reqwest::Method;
use serde_json::Value;

use super::wire::{self, Resource};
use crate::engine::http::{
    erased, read_cursor_list, ApiError, Client, Idempotency, Identified, Page,
};

type Result<T> = std::result::Result<T, ApiError>;

#[derive(Clone)]
pub struct CadenyaApi {
    pub client: Client,
}

impl std::ops::Deref for CadenyaApi {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

/// The page size asked for (the API documents no maximum).
pub const PAGE_LIMIT: u32 = 100;
/// How many times a create is tried across lost answers.
const CREATE_ATTEMPTS: u32 = 4;

/// `/v1/workspaces/{id}`.
pub fn ws_path(id: &str) -> String {
    format!("/v1/workspaces/{}", seg(id))
}

/// Percent-encode one path segment as the SDK does (`_core.py:144
/// path_param`: every reserved character, `:` included, so
/// `external_id:my agent` is `external_id%3Amy%20agent`; a raw `:` only ever
/// introduces an action's verb): the engine's encoder.
pub use crate::engine::http::segment as seg;

/// `external_id:<x>` as a path segment.
pub fn by_ext(ext: &str) -> String {
    seg(&format!("external_id:{ext}"))
}

impl Identified for Resource {
    fn id(&self) -> &str {
        &self.metadata.id
    }
}

/// A lost answer to a write: it may have happened.
pub fn lost(e: &ApiError) -> bool {
    e.is_ambiguous() || e.status() == Some(500)
}

impl CadenyaApi {
    /// Every item of a cursor list at `path` (`query` without `?`). The
    /// cursors are opaque (an offset in disguise would skip an item when
    /// another is created and a third deleted meanwhile), so a list of
    /// several pages is read until two reads agree: the engine's
    /// [`read_cursor_list`].
    pub async fn list(&self, path: &str, query: &str) -> Result<Vec<Resource>> {
        read_cursor_list(path, |cursor| self.page(path, query, cursor), |_| {}).await
    }

    /// The page of a list at `cursor` (`None`: the first).
    async fn page(
        &self,
        path: &str,
        query: &str,
        cursor: Option<String>,
    ) -> Result<Page<Resource>> {
        let mut url = format!("{path}?limit={PAGE_LIMIT}");
        if !query.is_empty() {
            url.push('&');
            url.push_str(query);
        }
        if let Some(c) = &cursor {
            url.push_str("&cursor=");
            url.push_str(&seg(c));
        }
        let v: Value = self
            .client
            .json(Method::GET, &url, None, Idempotency::Safe)
            .await?;
        let page = wire::page(v).map_err(|m| ApiError::decode(Method::GET, &url, m))?;
        Ok(Page {
            items: page.items,
            total: None,
            next: page.next,
        })
    }

    /// One resource, `None` when it does not exist.
    pub async fn get(&self, path: &str) -> Result<Option<Resource>> {
        match self
            .client
            .json::<Value>(Method::GET, path, None, Idempotency::Safe)
            .await
        {
            Ok(v) => serde_json::from_value(v)
                .map(Some)
                .map_err(|e| ApiError::decode(Method::GET, path, e.to_string())),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A write whose answer is not needed (PATCH, PUT, DELETE; 404 on a
    /// DELETE is success: a retry may already have deleted it).
    pub async fn write(&self, method: Method, path: &str, body: Option<&Value>) -> Result<()> {
        let body = body.map(|b| b as &dyn erased::Body);
        match self
            .client
            .send(method.clone(), path, body, Idempotency::Safe)
            .await
        {
            Err(e) if method == Method::DELETE && e.status() == Some(404) => Ok(()),
            other => other.map(drop),
        }
    }

    /// `POST <path>:<verb>` with no body (`agents.py:212 publish` and the
    /// other custom methods; the SDK sends none). An action leads to a
    /// state: sent again after a lost answer, it finds the resource there
    /// and changes nothing.
    pub async fn action(&self, path: &str, verb: &str) -> Result<()> {
        let url = format!("{path}:{verb}");
        self.client
            .send(Method::POST, &url, None, Idempotency::Safe)
            .await
            .map(drop)
    }

    /// Create at `collection` exactly once. After a lost answer, the
    /// resource is looked for under `collection/external_id:<ext>` (or in the
    /// list when the server does not take that form) before the next try.
    pub async fn create(
        &self,
        collection: &str,
        body: &Value,
        ext: Option<&str>,
    ) -> Result<Resource> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self
                .client
                .json::<Value>(
                    Method::POST,
                    collection,
                    Some(body as &dyn erased::Body),
                    Idempotency::Create,
                )
                .await
            {
                Ok(v) => {
                    return serde_json::from_value(v)
                        .map_err(|e| ApiError::decode(Method::POST, collection, e.to_string()));
                }
                Err(e) if lost(&e) && attempt < CREATE_ATTEMPTS => {
                    if let Some(ext) = ext {
                        if let Some(found) = self.find(collection, ext).await? {
                            return Ok(found);
                        }
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The resource of `collection` whose externalId is `ext`.
    pub async fn find(&self, collection: &str, ext: &str) -> Result<Option<Resource>> {
        match self.get(&format!("{collection}/{}", by_ext(ext))).await {
            Ok(found) => Ok(found),
            // A server that does not take `external_id:` for a resource's own id.
            Err(e) if matches!(e.status(), Some(400 | 405)) => {
                let all = self.list(collection, "").await?;
                Ok(all.into_iter().find(|r| r.metadata.ext() == Some(ext)))
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `_core.py:144 path_param` = `quote(text, safe="")`: the SDK sends
    /// `external_id:a b/c` as `external_id%3Aa%20b%2Fc`.
    #[test]
    fn segments_are_encoded_as_the_sdk_encodes_them() {
        assert_eq!(seg("external_id:a b/c"), "external_id%3Aa%20b%2Fc");
        assert_eq!(by_ext("ask"), "external_id%3Aask");
        assert_eq!(ws_path("ws_1"), "/v1/workspaces/ws_1");
    }
}

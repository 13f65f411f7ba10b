//! HTTP routes of the emulator: authentication, body parsing (a body that
//! does not parse gets the live service's `422 text/plain`), and one thin
//! handler per endpoint calling the [`Store`](super::store::Store).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use super::store::{Answer, Problem, Store};
use crate::engine::emulation::{is_loopback_url, stats_routes, Shared};

type S = State<Arc<Shared<Store>>>;
type Q = Query<HashMap<String, String>>;

/// An RFC 9457 problem response.
pub fn problem_response(status: u16, detail: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::json!({
        "type": "about:blank",
        "title": code.canonical_reason().unwrap_or("Error"),
        "status": status,
        "detail": detail,
    });
    (
        code,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}

fn respond(answer: Answer) -> Response {
    match answer {
        Ok((204, _)) => StatusCode::NO_CONTENT.into_response(),
        Ok((status, body)) => {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            (code, axum::Json(body)).into_response()
        }
        Err(Problem { status, detail }) => problem_response(status, &detail),
    }
}

/// Parse a JSON body like the live service: empty is `{}`, garbage is 422 text/plain.
#[allow(clippy::result_large_err)] // the error is the response itself, built once
fn parse(body: &Bytes) -> Result<Value, Response> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    serde_json::from_slice(body).map_err(|e| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("Failed to deserialize the JSON body into the target type: {e}"),
        )
            .into_response()
    })
}

async fn auth(State(shared): S, headers: HeaderMap, req: Request, next: Next) -> Response {
    if req.uri().path().starts_with("/_emulator") {
        return next.run(req).await;
    }
    if headers.get(header::AUTHORIZATION).is_some() && headers.get("x-api-key").is_none() {
        return problem_response(
            401,
            "Bearer tokens are not supported; send the key in the x-api-key header",
        );
    }
    let key = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim();
    if key.is_empty() {
        return problem_response(401, "missing API key (x-api-key header)");
    }
    if shared.with_store(false, |s| s.is_revoked(key)) {
        return problem_response(401, "this API key has been revoked");
    }
    next.run(req).await
}

pub fn router(shared: Arc<Shared<Store>>) -> Router {
    Router::new()
        .merge(stats_routes())
        .route(
            "/api/public/v1/access-api-keys",
            get(list_keys).post(create_key),
        )
        .route(
            "/api/public/v1/access-api-keys/{key_id}",
            axum::routing::delete(revoke_key),
        )
        .route("/v1/me", get(me))
        .route("/v1/agents", get(list_agents).post(create_agent))
        .route("/v1/agents/{id}", get(get_agent).delete(delete_agent))
        .route("/v1/agents/{id}/move", post(move_agent))
        .route("/v1/agents/{id}/runs", get(list_runs).post(start_run))
        .route(
            "/v1/agents/{id}/runs/{run_id}",
            axum::routing::delete(delete_run),
        )
        .route("/v1/agents/{id}/runs/{run_id}/cancel", post(cancel_run))
        .route("/v1/agents/{id}/runs/{run_id}/events", get(run_events))
        .route(
            "/v1/agents/{id}/webhooks",
            get(list_webhooks).post(create_webhook),
        )
        .route(
            "/v1/agents/{id}/webhooks/{wid}",
            get(get_webhook).patch(patch_webhook).delete(delete_webhook),
        )
        .route(
            "/v1/agents/{id}/schedule",
            get(get_schedule).put(put_schedule).delete(delete_schedule),
        )
        .route("/v1/agents/{id}/schedule/pause", post(pause_schedule))
        .route("/v1/agents/{id}/schedule/resume", post(resume_schedule))
        .route("/v1/schedules", get(list_schedules))
        .route(
            "/v1/agents/{id}/instructions",
            get(get_instructions).put(put_instructions),
        )
        .route("/v1/agents/{id}/instructions/history", get(history))
        .route(
            "/v1/workspaces",
            get(list_workspaces).post(create_workspace),
        )
        .route("/v1/workspaces/reorder", post(reorder_workspaces))
        .route(
            "/v1/workspaces/{wid}",
            axum::routing::put(update_workspace).delete(delete_workspace),
        )
        .fallback(|| async { problem_response(404, "no such endpoint") })
        .layer(middleware::from_fn_with_state(shared.clone(), auth))
        .with_state(shared)
}

/// A handler that reads the store.
macro_rules! read {
    ($shared:expr, |$s:ident| $body:expr) => {
        respond($shared.with_store(false, |$s| $body))
    };
}

/// A handler that writes the store with a parsed JSON body.
macro_rules! write {
    ($shared:expr, $bytes:expr, |$s:ident, $b:ident| $body:expr) => {
        match parse(&$bytes) {
            Ok($b) => respond($shared.with_store(true, |$s| $body)),
            Err(resp) => resp,
        }
    };
}

async fn me(State(sh): S) -> Response {
    read!(sh, |s| s.me())
}
async fn list_keys(State(sh): S) -> Response {
    read!(sh, |s| s.list_keys())
}
async fn create_key(State(sh): S, body: Bytes) -> Response {
    write!(sh, body, |s, b| s.create_key(&b))
}
async fn revoke_key(State(sh): S, Path(key_id): Path<String>) -> Response {
    respond(sh.with_store(true, |s| s.revoke_key(&key_id)))
}
async fn list_agents(State(sh): S, Query(q): Q) -> Response {
    let limit = q.get("limit").and_then(|l| l.parse().ok());
    read!(sh, |s| s.list_agents(
        q.get("workspace_id").map(String::as_str),
        q.get("cursor").map(String::as_str),
        limit
    ))
}
async fn create_agent(State(sh): S, body: Bytes) -> Response {
    write!(sh, body, |s, b| s.create_agent(&b))
}
async fn get_agent(State(sh): S, Path(id): Path<String>) -> Response {
    read!(sh, |s| s.get_agent(&id))
}
async fn delete_agent(State(sh): S, Path(id): Path<String>) -> Response {
    respond(sh.with_store(true, |s| s.delete_agent(&id)))
}
async fn move_agent(State(sh): S, Path(id): Path<String>, body: Bytes) -> Response {
    write!(sh, body, |s, b| s.move_agent(&id, &b))
}
async fn list_runs(State(sh): S, Path(id): Path<String>, Query(q): Q) -> Response {
    read!(sh, |s| s.list_runs(&id, &q))
}
async fn start_run(State(sh): S, Path(id): Path<String>, body: Bytes) -> Response {
    let b = match parse(&body) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    match sh.with_store(true, |s| {
        s.start_run(&id, &b)
            .map(|(st, v, d)| (st, v, d, s.clone_subscribers(&id)))
    }) {
        Ok((status, v, deliveries, subs)) => {
            deliver(&id, deliveries, subs);
            respond(Ok((status, v)))
        }
        Err(p) => respond(Err(p)),
    }
}
async fn delete_run(State(sh): S, Path((id, run_id)): Path<(String, String)>) -> Response {
    respond(sh.with_store(true, |s| s.delete_run(&id, &run_id)))
}
async fn cancel_run(
    State(sh): S,
    Path((id, run_id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    write!(sh, body, |s, _b| s.cancel_run(&id, &run_id))
}
async fn run_events(
    State(sh): S,
    Path((id, run_id)): Path<(String, String)>,
    Query(q): Q,
) -> Response {
    read!(sh, |s| s.run_events(&id, &run_id, &q))
}
async fn list_webhooks(State(sh): S, Path(id): Path<String>) -> Response {
    read!(sh, |s| s.list_webhooks(&id))
}
async fn create_webhook(State(sh): S, Path(id): Path<String>, body: Bytes) -> Response {
    write!(sh, body, |s, b| s.create_webhook(&id, &b))
}
async fn get_webhook(State(sh): S, Path((id, wid)): Path<(String, String)>) -> Response {
    respond(sh.with_store(false, |s| s.get_webhook(&id, &wid)))
}
async fn patch_webhook(
    State(sh): S,
    Path((id, wid)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    write!(sh, body, |s, b| s.patch_webhook(&id, &wid, &b))
}
async fn delete_webhook(State(sh): S, Path((id, wid)): Path<(String, String)>) -> Response {
    respond(sh.with_store(true, |s| s.delete_webhook(&id, &wid)))
}
async fn get_schedule(State(sh): S, Path(id): Path<String>) -> Response {
    read!(sh, |s| s.get_schedule(&id))
}
async fn put_schedule(State(sh): S, Path(id): Path<String>, body: Bytes) -> Response {
    write!(sh, body, |s, b| s.put_schedule(&id, &b))
}
async fn delete_schedule(State(sh): S, Path(id): Path<String>) -> Response {
    respond(sh.with_store(true, |s| s.delete_schedule(&id)))
}
async fn pause_schedule(State(sh): S, Path(id): Path<String>) -> Response {
    respond(sh.with_store(true, |s| s.pause_schedule(&id, true)))
}
async fn resume_schedule(State(sh): S, Path(id): Path<String>) -> Response {
    respond(sh.with_store(true, |s| s.pause_schedule(&id, false)))
}
async fn list_schedules(State(sh): S) -> Response {
    read!(sh, |s| s.list_schedules())
}
async fn get_instructions(State(sh): S, Path(id): Path<String>) -> Response {
    read!(sh, |s| s.get_instructions(&id))
}
async fn put_instructions(State(sh): S, Path(id): Path<String>, body: Bytes) -> Response {
    write!(sh, body, |s, b| s.put_instructions(&id, &b))
}
async fn history(State(sh): S, Path(id): Path<String>, Query(q): Q) -> Response {
    let limit = q.get("limit").and_then(|l| l.parse().ok());
    read!(sh, |s| s.history(&id, limit))
}
async fn list_workspaces(State(sh): S) -> Response {
    read!(sh, |s| s.list_workspaces())
}
async fn create_workspace(State(sh): S, body: Bytes) -> Response {
    write!(sh, body, |s, b| s.create_workspace(&b))
}
async fn update_workspace(State(sh): S, Path(wid): Path<String>, body: Bytes) -> Response {
    write!(sh, body, |s, b| s.update_workspace(&wid, &b))
}
async fn delete_workspace(State(sh): S, Path(wid): Path<String>) -> Response {
    respond(sh.with_store(true, |s| s.delete_workspace(&wid)))
}
async fn reorder_workspaces(State(sh): S, body: Bytes) -> Response {
    write!(sh, body, |s, b| s.reorder_workspaces(&b))
}

impl super::store::Store {
    /// Subscribers of every event for `id`, taken while the store is locked.
    fn clone_subscribers(&self, id: &str) -> HashMap<String, Vec<(String, String)>> {
        ["run.started", "run.completed"]
            .iter()
            .map(|e| (e.to_string(), self.subscribers(id, e)))
            .collect()
    }
}

/// The client deliveries go out with (one per process, short timeouts).
fn delivery_client() -> &'static reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(5))
            .build()
            .unwrap_or_default()
    })
}

/// Send signed deliveries to loopback subscribers only (never anywhere else).
fn deliver(
    _agent: &str,
    events: Vec<(String, Value)>,
    subscribers: HashMap<String, Vec<(String, String)>>,
) {
    for (event, data) in events {
        let payload = serde_json::json!({
            "event": event,
            "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "data": data,
        })
        .to_string();
        for (url, secret) in subscribers.get(&event).cloned().unwrap_or_default() {
            if !is_loopback_url(&url) {
                continue;
            }
            let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
                continue;
            };
            mac.update(payload.as_bytes());
            let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
            let req = delivery_client()
                .post(&url)
                .header("content-type", "application/json")
                .header("x-cobb-signature", signature)
                .header("x-cobb-event", event.clone())
                .body(payload.clone());
            tokio::spawn(async move {
                let _ = req.send().await;
            });
        }
    }
}

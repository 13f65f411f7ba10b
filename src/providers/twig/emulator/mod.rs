//! A local Twig API following the reference (`/api/v1/...`): Bearer keys,
//! offset paging, the seed's error envelope, and the documented rate limits
//! as a token bucket per scope with `X-RateLimit-*` headers (Read 200/min
//! burst 250, Write 10/min burst 15, Admin 50/min burst 60). `--time-scale
//! N` runs the buckets N times faster, for tests of long applies.

pub mod store;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, Query, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;

pub use store::Store;
use store::{Answer, Problem};

use crate::engine::emulation::{self, stats_routes, Bucket, Emulate, FaultConfig, Running, Shared};
use crate::engine::provider::BoxFuture;

/// A running Twig emulator.
pub type Emulator = emulation::Emulator<Store>;

type S = State<Arc<Shared<Store>>>;
type Q = Query<HashMap<String, String>>;

/// The reference's limits, per scope.
fn limits(method: &Method, route: &str) -> Option<Bucket> {
    let scope = super::scope(method, route);
    let (per_minute, burst) = match scope {
        "read" => (200.0, 250.0),
        "write" => (10.0, 15.0),
        "admin" => (50.0, 60.0),
        "execute" => (100.0, 120.0),
        _ => return None,
    };
    Some(Bucket {
        scope,
        per_minute,
        burst,
    })
}

/// An error in the seed's envelope.
pub fn error_response(status: u16, message: &str) -> Response {
    let code = match status {
        400 => "invalid_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        409 => "conflict",
        429 => "rate_limit_exceeded",
        503 => "service_unavailable",
        _ => "internal_error",
    };
    envelope(status, code, message)
}

fn envelope(status: u16, code: &str, message: &str) -> Response {
    let request_id = format!("req_{:016x}", rand::random::<u64>());
    let body =
        serde_json::json!({"error": {"code": code, "message": message}, "request_id": request_id});
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(body)).into_response()
}

fn respond(answer: Answer) -> Response {
    match answer {
        Ok((204, _)) => StatusCode::NO_CONTENT.into_response(),
        Ok((status, body)) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
            axum::Json(body),
        )
            .into_response(),
        Err(Problem {
            status,
            code,
            message,
        }) => envelope(status, code, &message),
    }
}

async fn auth(headers: HeaderMap, req: Request, next: Next) -> Response {
    if req.uri().path().starts_with("/_emulator") {
        return next.run(req).await;
    }
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or("");
    if key.is_empty() {
        return error_response(401, "Invalid or missing API key");
    }
    next.run(req).await
}

fn body(bytes: &Bytes) -> Result<Value, Response> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| error_response(400, &format!("the body is not JSON: {e}")))
}

fn q<'a>(q: &'a HashMap<String, String>, k: &str) -> Option<&'a str> {
    q.get(k).map(String::as_str)
}

pub fn router(shared: Arc<Shared<Store>>) -> Router {
    Router::new()
        .merge(stats_routes())
        .route("/api/v1/agents", get(list_agents).post(create_agent))
        .route(
            "/api/v1/agents/{id}",
            get(get_agent).put(update_agent).delete(delete_agent),
        )
        .route(
            "/api/v1/data-sources",
            get(list_data_sources).post(create_data_source),
        )
        .route("/api/v1/data-sources/{id}/sync", post(sync_data_source))
        .route("/api/v1/data-sources/{id}/status", get(data_source_status))
        .route("/api/v1/users", get(list_users).post(create_user))
        .fallback(|| async { error_response(404, "no such endpoint") })
        .layer(middleware::from_fn(auth))
        .with_state(shared)
}

async fn list_agents(State(sh): S, Query(p): Q) -> Response {
    respond(sh.with_store(false, |s| s.list_agents(q(&p, "limit"), q(&p, "offset"))))
}
async fn create_agent(State(sh): S, b: Bytes) -> Response {
    match body(&b) {
        Ok(v) => respond(sh.with_store(true, |s| s.create_agent(&v))),
        Err(r) => r,
    }
}
async fn get_agent(State(sh): S, UrlPath(id): UrlPath<String>) -> Response {
    respond(sh.with_store(false, |s| s.get_agent(&id)))
}
async fn update_agent(State(sh): S, UrlPath(id): UrlPath<String>, b: Bytes) -> Response {
    match body(&b) {
        Ok(v) => respond(sh.with_store(true, |s| s.update_agent(&id, &v))),
        Err(r) => r,
    }
}
async fn delete_agent(State(sh): S, UrlPath(id): UrlPath<String>) -> Response {
    respond(sh.with_store(true, |s| s.delete_agent(&id)))
}
async fn list_data_sources(State(sh): S, Query(p): Q) -> Response {
    respond(sh.with_store(false, |s| {
        s.list_data_sources(q(&p, "limit"), q(&p, "offset"), q(&p, "status"))
    }))
}
async fn create_data_source(State(sh): S, b: Bytes) -> Response {
    match body(&b) {
        Ok(v) => respond(sh.with_store(true, |s| s.create_data_source(&v))),
        Err(r) => r,
    }
}
async fn sync_data_source(State(sh): S, UrlPath(id): UrlPath<String>) -> Response {
    respond(sh.with_store(true, |s| s.sync_data_source(&id)))
}
async fn data_source_status(State(sh): S, UrlPath(id): UrlPath<String>) -> Response {
    respond(sh.with_store(false, |s| s.data_source_status(&id)))
}
async fn list_users(State(sh): S, Query(p): Q) -> Response {
    respond(sh.with_store(false, |s| s.list_users(q(&p, "limit"), q(&p, "offset"))))
}
async fn create_user(State(sh): S, b: Bytes) -> Response {
    match body(&b) {
        Ok(v) => respond(sh.with_store(true, |s| s.create_user(&v))),
        Err(r) => r,
    }
}

/// Start a Twig emulator with `store` (tests seed states this way).
pub async fn start_with(
    listen: &str,
    state: Option<&Path>,
    faults: &FaultConfig,
    store: Store,
) -> std::io::Result<Emulator> {
    Emulator::start(
        listen,
        state,
        faults,
        store,
        error_response,
        Some(limits),
        router,
    )
    .await
}

/// Start a Twig emulator, loading `state` if it exists.
pub async fn start(
    listen: &str,
    state: Option<&Path>,
    faults: &FaultConfig,
) -> std::io::Result<Emulator> {
    let store = Emulator::load(state)?.unwrap_or_default();
    start_with(listen, state, faults, store).await
}

/// Twig's emulator as the engine starts it.
pub struct TwigEmulator;

pub static EMULATOR: TwigEmulator = TwigEmulator;

impl Emulate for TwigEmulator {
    fn start<'a>(
        &'a self,
        listen: &'a str,
        state: Option<&'a Path>,
        faults: &'a FaultConfig,
    ) -> BoxFuture<'a, std::io::Result<Box<dyn Running>>> {
        Box::pin(
            async move { Ok(Box::new(start(listen, state, faults).await?) as Box<dyn Running>) },
        )
    }
}

//! A local Cadenya API at the index's version (`/v1/workspaces/{id}/...`,
//! `/v1/account/workspaces`), answering errors as google.rpc Status and
//! enforcing the rules in [`store`]. Paths take canonical ids or
//! `external_id:<x>` at every level. Any Bearer key is accepted.

pub mod store;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};

pub use store::Store;
use store::{not_found, Answer, Problem};

use crate::engine::emulation::{self, stats_routes, Emulate, FaultConfig, Running, Shared};
use crate::engine::provider::BoxFuture;

pub type Emulator = emulation::Emulator<Store>;

type S = State<Arc<Shared<Store>>>;

fn grpc_name(code: u32) -> &'static str {
    match code {
        3 => "INVALID_ARGUMENT",
        5 => "NOT_FOUND",
        6 => "ALREADY_EXISTS",
        8 => "RESOURCE_EXHAUSTED",
        9 => "FAILED_PRECONDITION",
        12 => "UNIMPLEMENTED",
        14 => "UNAVAILABLE",
        16 => "UNAUTHENTICATED",
        _ => "INTERNAL",
    }
}

fn status_response(p: &Problem) -> Response {
    let mut details = Vec::new();
    if !p.violations.is_empty() {
        let v: Vec<Value> = p
            .violations
            .iter()
            .map(|(f, d)| json!({"field": f, "description": d}))
            .collect();
        details.push(
            json!({"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": v}),
        );
    }
    details.push(
        json!({"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": grpc_name(p.code)}),
    );
    let body = json!({"code": p.code, "message": p.message, "details": details});
    (
        StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        axum::Json(body),
    )
        .into_response()
}

/// Errors the fault layer injects, in the same format.
pub fn error_response(status: u16, message: &str) -> Response {
    let code = match status {
        400 => 3,
        401 => 16,
        404 => 5,
        409 => 6,
        429 => 8,
        503 => 14,
        _ => 13,
    };
    status_response(&Problem {
        status,
        code,
        message: message.into(),
        violations: Vec::new(),
    })
}

fn respond(a: Answer) -> Response {
    match a {
        Ok((204, _)) => StatusCode::NO_CONTENT.into_response(),
        Ok((s, v)) => (
            StatusCode::from_u16(s).unwrap_or(StatusCode::OK),
            axum::Json(v),
        )
            .into_response(),
        Err(p) => status_response(&p),
    }
}

async fn auth(headers: HeaderMap, req: Request, next: Next) -> Response {
    if req.uri().path().starts_with("/_emulator") {
        return next.run(req).await;
    }
    let ok = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|k| !k.trim().is_empty());
    if !ok {
        return error_response(401, "missing or invalid API key");
    }
    next.run(req).await
}

pub fn router(shared: Arc<Shared<Store>>) -> Router {
    Router::new()
        .merge(stats_routes())
        .route("/v1/{*rest}", axum::routing::any(dispatch))
        .fallback(|| async { error_response(404, "no such endpoint") })
        .layer(middleware::from_fn(auth))
        .with_state(shared)
}

fn method_not_allowed() -> Answer {
    Err(Problem {
        status: 405,
        code: 12,
        message: "method not allowed".into(),
        violations: Vec::new(),
    })
}

async fn dispatch(
    State(sh): S,
    method: Method,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let body: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => return error_response(400, &format!("the body is not JSON: {e}")),
        }
    };
    let segs: Vec<String> = uri
        .path()
        .trim_start_matches('/')
        .split('/')
        .map(|s| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        })
        .collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let write = method != Method::GET;
    respond(sh.with_store(write, |s| route(s, &method, &segs, &q, &body)))
}

fn route(
    s: &mut Store,
    method: &Method,
    segs: &[&str],
    q: &HashMap<String, String>,
    body: &Value,
) -> Answer {
    let get = |k: &str| q.get(k).map(String::as_str);
    let info = get("includeInfo") == Some("true");
    match segs {
        ["v1", "workspaces"] if method == Method::GET => Ok((
            200,
            json!({"items": s.list_workspaces(), "pagination": {"nextCursor": ""}}),
        )),
        ["v1", "workspaces", "current"] if method == Method::GET => {
            Ok((200, s.workspaces.first().cloned().unwrap_or(Value::Null)))
        }
        ["v1", "account", "workspaces"] => match *method {
            Method::GET => Ok((
                200,
                json!({"items": s.list_workspaces(), "pagination": {"nextCursor": ""}}),
            )),
            Method::POST => s.create_workspace(body),
            _ => method_not_allowed(),
        },
        ["v1", "account", "workspaces", ws] => match *method {
            Method::GET => s.workspace(ws).map(|w| (200, w.clone())),
            Method::PATCH => s.update_workspace(ws, body),
            _ => method_not_allowed(),
        },
        ["v1", "workspaces", ws, rest @ ..] if !rest.is_empty() => {
            let ws_id = s
                .workspace(ws)?
                .pointer("/metadata/id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            resource(
                s,
                method,
                &ws_id,
                rest,
                get("limit"),
                get("cursor"),
                info,
                body,
            )
        }
        _ => Err(not_found("endpoint")),
    }
}

/// Walk `rest` (collection, id, collection, id…) under workspace `ws`.
#[allow(clippy::too_many_arguments)]
fn resource(
    s: &mut Store,
    method: &Method,
    ws: &str,
    rest: &[&str],
    limit: Option<&str>,
    cursor: Option<&str>,
    info: bool,
    body: &Value,
) -> Answer {
    let mut collection = format!("{ws}/{}", rest[0]);
    store::kind(rest[0]).ok_or_else(|| not_found("endpoint"))?;
    let mut i = 1;
    // Resolve every (collection, id) pair but the last.
    while i + 1 < rest.len() {
        let id = s.resolve(&collection, rest[i])?;
        let next = rest[i + 1];
        let parent = collection
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        match (parent.as_str(), next) {
            ("variations", "assignments" | "memory_layer_assignments") => {
                let (variations, variation) = (collection.clone(), id);
                let row = rest.get(i + 2).copied();
                if rest.len() > i + 3 {
                    return Err(not_found("endpoint"));
                }
                return match (next, row, method.clone()) {
                    ("assignments", None, Method::POST) => {
                        s.add_assignment(ws, &variations, &variation, body)
                    }
                    ("assignments", Some(r), Method::DELETE) => {
                        s.remove_assignment(&variations, &variation, r, "assignments")
                    }
                    ("memory_layer_assignments", None, Method::POST) => {
                        s.attach_layer(ws, &variations, &variation, body)
                    }
                    ("memory_layer_assignments", Some(r), Method::PATCH) => {
                        s.move_layer(&variations, &variation, r, body)
                    }
                    ("memory_layer_assignments", Some(r), Method::DELETE) => {
                        s.remove_assignment(&variations, &variation, r, "memoryLayerAssignments")
                    }
                    _ => method_not_allowed(),
                };
            }
            ("models", "status") if rest.len() == i + 2 && method == Method::PUT => {
                return s.set_model_status(&collection, &id, body);
            }
            _ => {}
        }
        let k = store::kind(&parent).ok_or_else(|| not_found("endpoint"))?;
        if !k.children.contains(&next) {
            return Err(not_found("endpoint"));
        }
        collection = format!("{collection}/{id}/{next}");
        i += 2;
    }
    if i == rest.len() {
        // The collection itself.
        return match *method {
            Method::GET => s.list(&collection, limit, cursor, info),
            Method::POST => s.create(&collection, body),
            _ => method_not_allowed(),
        };
    }
    let id = s.resolve(&collection, rest[i])?;
    match *method {
        Method::GET => s
            .get(&collection, &id)
            .cloned()
            .map(|r| (200, r))
            .ok_or_else(|| not_found("resource")),
        Method::PATCH => s.update(&collection, &id, body, false),
        Method::PUT => s.update(&collection, &id, body, true),
        Method::DELETE => s.delete(ws, &collection, &id),
        _ => method_not_allowed(),
    }
}

pub async fn start_with(
    listen: &str,
    state: Option<&Path>,
    faults: &FaultConfig,
    store: Store,
) -> std::io::Result<Emulator> {
    Emulator::start(listen, state, faults, store, error_response, None, router).await
}

/// Start a Cadenya emulator, loading `state` if it exists (else one
/// workspace, `default`).
pub async fn start(
    listen: &str,
    state: Option<&Path>,
    faults: &FaultConfig,
) -> std::io::Result<Emulator> {
    let store = Emulator::load(state)?.unwrap_or_else(Store::seeded);
    start_with(listen, state, faults, store).await
}

pub struct CadenyaEmulator;

pub static EMULATOR: CadenyaEmulator = CadenyaEmulator;

impl Emulate for CadenyaEmulator {
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

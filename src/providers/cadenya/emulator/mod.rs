//! A local Cadenya API, the generation of the official Python SDK `cadenya`
//! 1.8.0 (ARCHITECTURE.md, "The Cadenya emulator and its SDK"): workspace
//! resources under `/v1/workspaces/{id}/...`, account workspaces under
//! `/v1/account/workspaces`, `GET /v1/whoami`. Errors are google.rpc
//! Status bodies. Path ids are canonical ids or `external_id:<x>`,
//! percent-encoded or not; an action is `POST <resource>:<verb>`, the verb
//! after the last raw `:` of the path. Any Bearer key is accepted.
//!
//! Emulator-only routes (no auth, no faults, for tests):
//! `POST /_emulator/workspaces/{ws}/episodic_layers {agentId, episodicKey}`
//! creates a system-managed layer as the runtime would;
//! `POST /_emulator/workspaces/{ws}/agent_pools {name, externalId?}` an
//! agent pool that variations may assign.

mod actions;
pub mod error;
mod paging;
mod render;
mod resources;
mod rules;
pub mod schema;
pub mod store;
mod workspaces;

use std::path::Path;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};

pub use error::{Answer, Problem};
pub use store::{Kind, Loc, Query, Store};

use error::{invalid, method_not_allowed, not_found, precondition};

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

/// A google.rpc Status body: `{code, message, details}`, with a
/// `BadRequest` of field violations and an `ErrorInfo`.
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
    details.push(json!({
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": grpc_name(p.code),
        "domain": "api.cadenya.com",
        "metadata": {},
    }));
    let body = json!({"code": p.code, "message": p.message, "details": details});
    (
        StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        axum::Json(body),
    )
        .into_response()
}

/// Errors the fault layer injects, in the same format (the google
/// `code_to_http` mapping, read backwards).
pub fn error_response(status: u16, message: &str) -> Response {
    let code = match status {
        400 => 3,
        401 => 16,
        404 => 5,
        409 => 6,
        429 => 8,
        501 => 12,
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
        .route(
            "/_emulator/workspaces/{ws}/episodic_layers",
            axum::routing::post(seed_episodic_layer),
        )
        .route(
            "/_emulator/workspaces/{ws}/agent_pools",
            axum::routing::post(seed_agent_pool),
        )
        .route("/v1/{*rest}", axum::routing::any(dispatch))
        .fallback(|| async { error_response(404, "no such endpoint") })
        .layer(middleware::from_fn(auth))
        .with_state(shared)
}

/// A JSON body; an empty one (the SDK's bodyless actions) is `{}`.
fn parse_body(body: &Bytes) -> Result<Value, Problem> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(body).map_err(|e| invalid(format!("the body is not JSON: {e}")))
}

async fn seed_episodic_layer(State(sh): S, UrlPath(ws): UrlPath<String>, body: Bytes) -> Response {
    let answer = parse_body(&body).and_then(|b| {
        let s = |k: &str| {
            b.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let (agent, key) = (s("agentId"), s("episodicKey"));
        sh.with_store(true, |st| st.seed_episodic_layer(&ws, &agent, &key))
    });
    respond(answer)
}

async fn seed_agent_pool(State(sh): S, UrlPath(ws): UrlPath<String>, body: Bytes) -> Response {
    let answer = parse_body(&body).and_then(|b| {
        let s = |k: &str| {
            b.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let (name, ext) = (s("name"), s("externalId"));
        sh.with_store(true, |st| st.seed_agent_pool(&ws, &name, &ext))
    });
    respond(answer)
}

async fn dispatch(State(sh): S, method: Method, uri: Uri, body: Bytes) -> Response {
    // Reads and deletes carry no body; a body they are sent is ignored.
    let body = if matches!(method, Method::GET | Method::DELETE | Method::HEAD) {
        json!({})
    } else {
        match parse_body(&body) {
            Ok(b) => b,
            Err(p) => return status_response(&p),
        }
    };
    let query = Query::parse(uri.query());
    let write = method != Method::GET;
    respond(sh.with_store(write, |s| route(s, &method, uri.path(), &query, &body)))
}

/// Percent-decode one path segment (`external_id%3Aa%20b%2Fc`); `+` is a
/// plus sign in a path.
pub fn decode_segment(raw: &str) -> Result<String, Problem> {
    let b = raw.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| invalid("a path segment has a bad percent escape"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| invalid("a path segment is not UTF-8"))
}

/// The path's segments, decoded, and the action verb if the last raw
/// segment ends with `:<verb>` (only on POST; a `:` inside an id arrives as
/// `%3A` from the SDK, or raw from clients that keep `external_id:x`, so
/// only a known verb counts).
fn split_path(method: &Method, path: &str) -> Result<(Vec<String>, Option<String>), Problem> {
    let mut raw: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut verb = None;
    if *method == Method::POST {
        if let Some(last) = raw.last_mut() {
            if let Some((id, v)) = last.rsplit_once(':') {
                if store::VERBS.contains(&v) && !id.is_empty() {
                    verb = Some(v.to_string());
                    *last = id;
                }
            }
        }
    }
    let segs = raw
        .iter()
        .map(|s| decode_segment(s))
        .collect::<Result<Vec<_>, _>>()?;
    if segs.iter().any(String::is_empty) {
        return Err(not_found("endpoint"));
    }
    Ok((segs, verb))
}

fn route(s: &mut Store, method: &Method, path: &str, q: &Query, body: &Value) -> Answer {
    let (segs, verb) = split_path(method, path)?;
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let is = |m: Method| *method == m;
    if verb.is_some() && !matches!(segs.as_slice(), ["v1", "workspaces", _, _, ..]) {
        return Err(not_found("endpoint"));
    }
    match segs.as_slice() {
        ["v1", "whoami"] if is(Method::GET) => s.whoami(),
        ["v1", "workspaces"] if is(Method::GET) => s.list_workspaces(q, false),
        ["v1", "account", "workspaces"] => match *method {
            Method::GET => s.list_workspaces(q, true),
            Method::POST => s.create_workspace(body),
            _ => Err(method_not_allowed()),
        },
        ["v1", "account", "workspaces", ws] => match *method {
            Method::GET => s.get_workspace(ws),
            Method::PATCH => s.update_workspace(ws, body),
            Method::DELETE => s.archive_workspace(ws),
            _ => Err(method_not_allowed()),
        },
        ["v1", "whoami" | "workspaces"] => Err(method_not_allowed()),
        ["v1", "workspaces", ws, rest @ ..] if !rest.is_empty() => {
            let ws = s.workspace_id(ws)?;
            resource(s, method, &ws, rest, verb.as_deref(), q, body)
        }
        _ => Err(not_found("endpoint")),
    }
}

/// `rest` under workspace `ws`: `coll`, `coll/id`, `coll/id/child`,
/// `coll/id/child/id`, each item path maybe with a verb.
fn resource(
    s: &mut Store,
    method: &Method,
    ws: &str,
    rest: &[&str],
    verb: Option<&str>,
    q: &Query,
    body: &Value,
) -> Answer {
    if rest == ["widgets"] && verb.is_none() {
        return match *method {
            Method::GET => s.list_widgets(q),
            _ => Err(method_not_allowed()),
        };
    }
    let endpoint = || not_found("endpoint");
    let top = Kind::top(rest[0]).ok_or_else(endpoint)?;
    let top_coll = format!("{ws}/{}", rest[0]);
    let loc = match rest.len() {
        1 => Loc {
            ws: ws.into(),
            kind: top,
            coll: top_coll,
            parent: None,
            id: None,
        },
        2 => Loc {
            ws: ws.into(),
            kind: top,
            id: Some(s.resolve(&top_coll, rest[1], top)?),
            coll: top_coll,
            parent: None,
        },
        3 | 4 => {
            let child = top.child(rest[2]).ok_or_else(endpoint)?;
            let parent = s.resolve(&top_coll, rest[1], top)?;
            let coll = format!("{top_coll}/{parent}/{}", rest[2]);
            let id = match rest.get(3) {
                Some(seg) => Some(s.resolve(&coll, seg, child)?),
                None => None,
            };
            Loc {
                ws: ws.into(),
                kind: child,
                coll,
                parent: Some(parent),
                id,
            }
        }
        _ => return Err(endpoint()),
    };
    match (&loc.id, verb) {
        (None, Some(_)) => Err(endpoint()),
        (None, None) => match *method {
            Method::GET => s.list(&loc, q),
            Method::POST => s.create(&loc, body),
            _ => Err(method_not_allowed()),
        },
        (Some(_), Some(v)) => s.action(&loc, v, body),
        (Some(_), None) => match *method {
            Method::GET => s.get_item(&loc),
            Method::PATCH => s.update(&loc, body),
            Method::DELETE => s.delete(&loc),
            Method::PUT => Err(precondition(
                "the API updates with PATCH and an updateMask: there is no PUT",
            )
            .with_status(405, 12)),
            _ => Err(method_not_allowed()),
        },
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
/// workspace, `default`, with the provider key `getting-started-key` and
/// its models).
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

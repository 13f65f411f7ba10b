//! Twig (api.twig.so): RAG agents, the data sources they answer from, and
//! the organization's users.
//!
//! - [`manifest`]: the documents (`TwigDataSource`, `TwigAgent`, `TwigUser`,
//!   `TwigOrganization`) and their schema; [`validate`] turns them into the
//!   [`model`].
//! - [`wire`]: the API's types, tolerant of the shapes the reference leaves
//!   open; [`api`]: one method per endpoint, offset paging done right, and
//!   creates exactly once.
//! - [`read`]: live state with the documented read formula; [`diff`]: the
//!   pure comparison (what the API cannot do is a `manual` change);
//!   [`ops`]: carrying out each operation; [`export`].
//! - `emulator`: a local Twig with per-scope token buckets (feature `emulator`).
//!
//! Rate limits are per scope (reference): Read 200/min (burst 250), Write
//! 10/min (burst 15), Admin 50/min (burst 60). The engine's client paces
//! each scope from `X-RateLimit-*`, and from these bursts before the first
//! answer.

pub mod api;
pub mod diff;
#[cfg(feature = "emulator")]
pub mod emulator;
pub mod export;
pub mod manifest;
pub mod model;
pub mod ops;
pub mod pull;
pub mod read;
pub mod tables;
pub mod validate;
pub mod wire;

use std::collections::BTreeMap;

use reqwest::Method;

use crate::engine::apply::journal::Journal;
use crate::engine::http::ApiError;
use crate::engine::http::{describe, Auth, Client, ErrorBody, Profile};
use crate::engine::manifest::{Document, LoadContext};
use crate::engine::provider::{
    Diffed, Export, ExportFilter, Info, Local, OpContext, OpError, PlanError, Provider, Scope,
};

pub use api::TwigApi;
pub use model::Desired;
pub use read::Live;

/// Twig, as the engine sees it.
#[derive(Debug, Clone, Copy)]
pub struct Twig;

pub static INFO: Info = Info {
    name: "twig",
    title: "Twig",
    address_prefix: "twig.",
    original: false,
    key_env: "TWIG_API_KEY",
    key_form: "twigsk_live_... or twigsk_test_...",
    endpoint_env: &["TWIG_ENDPOINT"],
    default_endpoint: "https://api.twig.so",
    kinds: manifest::kinds,
};

/// The rate-limit scope of a request (reference: users and analytics need
/// the Admin scope, reads the Read scope, everything else the Write scope).
pub fn scope(method: &Method, path: &str) -> &'static str {
    if path.starts_with("/api/v1/users") || path.starts_with("/api/v1/analytics") {
        "admin"
    } else if method == Method::GET {
        "read"
    } else if path.starts_with("/api/v1/query") || path.contains("/feedback") {
        "execute"
    } else {
        "write"
    }
}

/// A scope's documented burst.
pub fn budget(scope: &str) -> Option<i64> {
    match scope {
        "read" => Some(250),
        "write" => Some(15),
        "admin" => Some(60),
        "execute" => Some(120),
        _ => None,
    }
}

/// How many requests a minute a scope regains (the reference's limits).
pub fn refill(scope: &str) -> Option<f64> {
    match scope {
        "read" => Some(200.0),
        "write" => Some(10.0),
        "admin" => Some(50.0),
        "execute" => Some(100.0),
        _ => None,
    }
}

/// Twig's error bodies: the reference's `{"error": {"code", "message",
/// "details"}, "request_id"}` and the flatter forms other pages show
/// (`{"error": "…", "status": 401}`, `retryAfter` inside `error`). The
/// request id is kept: support asks for it.
pub fn describe_error(body: &[u8]) -> Option<ErrorBody> {
    let mut found = describe(body)?;
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    if let Some(code) = v.pointer("/error/code").and_then(|c| c.as_str()) {
        found.details.insert(0, code.to_string());
    }
    if let Some(details) = v.pointer("/error/details").and_then(|d| d.as_object()) {
        for (k, val) in details {
            let val = val.as_str().map_or_else(|| val.to_string(), str::to_string);
            found.details.push(format!("{k}: {val}"));
        }
    }
    if let Some(id) = v.get("request_id").and_then(|r| r.as_str()) {
        found.details.push(format!("request_id {id}"));
    }
    Some(found)
}

impl Provider for Twig {
    type Desired = Desired;
    type Live = Live;
    type Op = ops::Op;
    type Api = TwigApi;
    type ApplyState = ops::ApplyState;

    fn info(&self) -> &'static Info {
        &INFO
    }

    fn profile(&self) -> Profile {
        Profile {
            auth: Auth::Bearer,
            describe_error,
            retry_500: true,
            scope,
            budget,
            refill,
            adaptive: false,
        }
    }

    fn api(&self, client: Client) -> TwigApi {
        TwigApi { client }
    }

    fn load(&self, docs: &[Document], ctx: &mut LoadContext) -> Desired {
        validate::load(docs, ctx)
    }

    fn count(&self, d: &Desired) -> Vec<(&'static str, usize)> {
        vec![
            ("data source", d.data_sources.len()),
            ("agent", d.agents.len()),
            ("user", d.users.len()),
        ]
    }

    fn scope_names(&self, _: &Desired, _: Option<&Live>) -> Vec<String> {
        Vec::new()
    }

    fn addresses(&self, d: &Desired, live: &Live) -> Vec<String> {
        let mut out: Vec<String> = d
            .agents
            .iter()
            .map(|a| diff::agent_address(&a.name))
            .collect();
        out.extend(live.agents.iter().map(|a| diff::agent_address(&a.name)));
        out.extend(
            d.data_sources
                .iter()
                .map(|s| diff::data_source_address(&s.name)),
        );
        out.extend(d.users.iter().map(|u| diff::user_address(&u.email)));
        out
    }

    fn declared_address(&self, kind: &str, fields: &serde_json::Value) -> Option<String> {
        let field = |k: &str| fields.get(k).and_then(serde_json::Value::as_str);
        match kind {
            "TwigAgent" => field("name").map(diff::agent_address),
            "TwigDataSource" => field("name").map(diff::data_source_address),
            "TwigUser" => field("email").map(diff::user_address),
            _ => None,
        }
    }

    /// Twig has no workspaces: a plan narrowed with `--workspace` leaves it out.
    async fn read(
        &self,
        api: &TwigApi,
        desired: &Desired,
        scope: &Scope,
        parallelism: usize,
    ) -> Result<Live, ApiError> {
        if !scope.is_everything() {
            return Ok(Live::default());
        }
        read::read(api, desired, parallelism).await
    }

    fn diff(&self, d: &Desired, live: &Live, local: &Local) -> Result<Diffed<ops::Op>, PlanError> {
        if !local.scope.is_everything() {
            return Ok(Default::default());
        }
        diff::diff(d, live)
    }

    fn fingerprints(&self, _: &Desired, live: &Live) -> BTreeMap<String, String> {
        diff::fingerprints(live)
    }

    fn op_name(&self, op: &ops::Op) -> &'static str {
        op.name()
    }

    fn yields_secret(&self, _: &ops::Op) -> bool {
        false
    }

    fn paced_requests(&self, op: &ops::Op) -> Vec<&'static str> {
        // One request each, in the scope `scope` gives its path.
        match op {
            ops::Op::CreateUser { .. } => vec!["admin"],
            _ => vec!["write"],
        }
    }

    fn begin_apply(&self, live: &Live) -> ops::ApplyState {
        ops::ApplyState::new(live)
    }

    async fn execute(
        &self,
        api: &TwigApi,
        state: &ops::ApplyState,
        op: &ops::Op,
        ctx: &mut OpContext<'_>,
    ) -> Result<(), OpError> {
        ops::execute(api, state, op, ctx).await
    }

    async fn finish_apply(&self, api: &TwigApi, state: &ops::ApplyState, journal: &Journal) {
        ops::sweep(api, state, journal).await;
    }

    async fn export(
        &self,
        api: &TwigApi,
        filter: &ExportFilter,
        parallelism: usize,
    ) -> Result<Export, ApiError> {
        export::export(api, filter, parallelism).await
    }

    fn pull(
        &self,
        desired: &Desired,
        live: &Live,
        filter: &crate::engine::provider::ExportFilter,
    ) -> Option<Vec<crate::engine::provider::Pulled>> {
        Some(pull::pull(desired, live, filter))
    }

    async fn whoami(&self, api: &TwigApi) -> Result<String, ApiError> {
        let agents = api.count_agents().await?;
        Ok(format!(
            "a Twig organization with {agents} agents (Twig has no identity endpoint)"
        ))
    }

    #[cfg(feature = "emulator")]
    fn emulator(&self) -> &'static dyn crate::engine::emulation::Emulate {
        &emulator::EMULATOR
    }
}

//! Cadenya (api.cadenya.com), the API of the official Python SDK `cadenya`
//! 1.8.0: workspace-scoped agents with variations (prompt, model settings,
//! tools, sub-agents, memory stack) and schedules; tool sets with tools and
//! secrets; memory layers with entries; workspace secrets; models.
//!
//! - [`tables`]: every resource's fields, declared once; [`manifest`] (the
//!   kinds' schemas) and [`validate`] → [`model`] read by them; [`cron`]:
//!   7-field crons and `every` compiled to the wire's calendars and intervals.
//! - [`wire`]: `{metadata, spec, info, state}` read tolerantly; [`api`]:
//!   cursor lists, `external_id:` reads, actions, creates exactly once.
//! - [`read`] (with its formula), [`diff`] (pure, one file per resource:
//!   masks, sets, stacks, actions and their order, ownership, keyed secret
//!   fingerprints), [`ops`], [`export`], [`pull`].
//! - `emulator`: a local Cadenya enforcing the API's rules (feature `emulator`).
//!
//! Cadenya publishes no rate limits: the engine's client adapts its
//! concurrency to 429s (halve, then recover one request at a time) and
//! honours `Retry-After`.

pub mod api;
pub mod cron;
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

use crate::engine::http::{ApiError, Auth, Client, Profile};
use crate::engine::manifest::{Document, LoadContext};
use crate::engine::provider::{
    Diffed, Export, ExportFilter, Info, Local, OpContext, OpError, PlanError, Provider, Scope,
};

pub use api::CadenyaApi;
pub use model::Desired;
pub use read::Live;

/// Cadenya, as the engine sees it.
#[derive(Debug, Clone, Copy)]
pub struct Cadenya;

pub static INFO: Info = Info {
    name: "cadenya",
    title: "Cadenya",
    address_prefix: "cadenya.",
    original: false,
    key_env: "CADENYA_API_KEY",
    key_form: "",
    endpoint_env: &["CADENYA_ENDPOINT", "CADENYA_BASE_URL"],
    default_endpoint: "https://api.cadenya.com",
    kinds: manifest::kinds,
};

impl Provider for Cadenya {
    type Desired = Desired;
    type Live = Live;
    type Op = ops::Op;
    type Api = CadenyaApi;
    type ApplyState = ();

    fn info(&self) -> &'static Info {
        &INFO
    }

    fn profile(&self) -> Profile {
        Profile {
            auth: Auth::Bearer,
            retry_500: true,
            adaptive: true,
            ..Profile::default()
        }
    }

    fn api(&self, client: Client) -> CadenyaApi {
        CadenyaApi { client }
    }

    fn load(&self, docs: &[Document], ctx: &mut LoadContext) -> Desired {
        validate::load(docs, ctx)
    }

    fn count(&self, d: &Desired) -> Vec<(&'static str, usize)> {
        vec![
            ("workspace", d.workspaces.len()),
            ("agent", d.agents.len()),
            ("tool set", d.tool_sets.len()),
            ("memory layer", d.layers.len()),
            ("secret", d.secrets.len()),
        ]
    }

    fn scope_names(&self, _: &Desired, _: Option<&Live>) -> Vec<String> {
        Vec::new()
    }

    fn addresses(&self, d: &Desired, live: &Live) -> Vec<String> {
        let mut out: Vec<String> = d
            .workspaces
            .iter()
            .map(|w| diff::workspace_address(&w.id))
            .collect();
        out.extend(
            d.agents
                .iter()
                .map(|a| diff::agent_address(&a.workspace, &a.id)),
        );
        out.extend(
            d.tool_sets
                .iter()
                .map(|t| diff::tool_set_address(&t.workspace, &t.id)),
        );
        out.extend(
            d.layers
                .iter()
                .map(|l| diff::layer_address(&l.workspace, &l.id)),
        );
        out.extend(
            d.secrets
                .iter()
                .map(|s| diff::secret_address(&s.workspace, &s.id)),
        );
        for (ws, space) in &live.spaces {
            for a in space.agents.iter().flatten() {
                out.push(diff::agent_address(ws, a.metadata.ext().unwrap_or(a.id())));
            }
        }
        out
    }

    fn declared_address(&self, kind: &str, fields: &serde_json::Value) -> Option<String> {
        let field = |k: &str| fields.get(k).and_then(serde_json::Value::as_str);
        let id = field("id")?;
        let in_workspace =
            |address: fn(&str, &str) -> String| Some(address(field("workspace")?, id));
        match kind {
            "CadenyaWorkspace" => Some(diff::workspace_address(id)),
            "CadenyaAgent" => in_workspace(diff::agent_address),
            "CadenyaToolSet" => in_workspace(diff::tool_set_address),
            "CadenyaMemoryLayer" => in_workspace(diff::layer_address),
            "CadenyaSecret" => in_workspace(diff::secret_address),
            _ => None,
        }
    }

    /// Cadenya's workspaces are not `--workspace` scopes (those are Twin's):
    /// a narrowed plan leaves Cadenya out.
    async fn read(
        &self,
        api: &CadenyaApi,
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
        diff::diff(d, live, local)
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

    fn begin_apply(&self, _: &Live) {}

    async fn execute(
        &self,
        api: &CadenyaApi,
        _: &(),
        op: &ops::Op,
        ctx: &mut OpContext<'_>,
    ) -> Result<(), OpError> {
        ops::execute(api, op, ctx).await
    }

    async fn export(
        &self,
        api: &CadenyaApi,
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

    /// `GET /v1/whoami` (`profiles.py:17`; `/v1/workspaces/current` is gone).
    async fn whoami(&self, api: &CadenyaApi) -> Result<String, ApiError> {
        let v: serde_json::Value = api
            .json(
                reqwest::Method::GET,
                "/v1/whoami",
                None,
                crate::engine::http::Idempotency::Safe,
            )
            .await?;
        let s = |p: &str| {
            v.pointer(p)
                .and_then(serde_json::Value::as_str)
                .filter(|s| !s.is_empty())
        };
        let who = s("/profile/spec/name")
            .or(s("/profile/spec/email"))
            .or(s("/profile/metadata/id"))
            .unwrap_or("an unnamed profile");
        let kind = match s("/profile/spec/type") {
            Some("PROFILE_TYPE_API_KEY") => "an API key",
            Some("PROFILE_TYPE_USER") => "a user",
            _ => "a profile",
        };
        Ok(
            match s("/defaultWorkspace/externalId").or(s("/defaultWorkspace/name")) {
                Some(ws) => format!(
                    "{kind} `{who}`, default workspace `{ws}` ({})",
                    s("/defaultWorkspace/id").unwrap_or("?")
                ),
                None => format!("{kind} `{who}`, no default workspace"),
            },
        )
    }

    #[cfg(feature = "emulator")]
    fn emulator(&self) -> &'static dyn crate::engine::emulation::Emulate {
        &emulator::EMULATOR
    }
}

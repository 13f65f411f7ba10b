//! Twin (build.twin.so): workspaces and agents with instructions, a cron
//! schedule and webhooks.
//!
//! - [`manifest`]: the document types (`Workspace`, `Agent`) and their schema;
//!   [`validate`] turns them into the [`model`].
//! - [`wire`]: the API's types, tolerant of every shape the contract lists;
//!   [`api`]: one method per endpoint; [`reconcile`]: create exactly once,
//!   settle races.
//! - [`read`]: live state with the documented read formula; [`diff`]: the
//!   pure comparison; [`ops`]: carrying out each operation; [`export`].
//! - [`tables`]: each field declared once (key, wire place, type, nature).
//! - `emulator`: a local Twin (feature `emulator`).

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
pub mod reconcile;
pub mod rules;
pub mod tables;
pub mod validate;
pub mod wire;

use std::collections::{BTreeMap, HashMap};

use crate::engine::apply::journal::Journal;
use crate::engine::http::{fan_out, ApiError, Auth, Client, Profile};
use crate::engine::manifest::{Document, LoadContext};
use crate::engine::plan::{Change, Drift};
use crate::engine::provider::{
    Diffed, Export, ExportFilter, Info, Local, OpContext, OpError, PlanError, Provider, Scope,
};

pub use api::TwinApi;
pub use model::Desired;
pub use read::Live;

/// Twin, as the engine sees it.
#[derive(Debug, Clone, Copy)]
pub struct Twin;

pub static INFO: Info = Info {
    name: "twin",
    title: "Twin",
    address_prefix: "",
    original: true,
    key_env: "TWIN_API_KEY",
    key_form: "",
    endpoint_env: &["TWIN_ENDPOINT"],
    default_endpoint: "https://build.twin.so",
    kinds: manifest::kinds,
};

impl Provider for Twin {
    type Desired = Desired;
    type Live = Live;
    type Op = ops::Op;
    type Api = TwinApi;
    type ApplyState = ops::ApplyState;

    fn info(&self) -> &'static Info {
        &INFO
    }

    fn profile(&self) -> Profile {
        Profile {
            auth: Auth::Header("x-api-key"),
            ..Profile::default()
        }
    }

    fn api(&self, client: Client) -> TwinApi {
        TwinApi { client }
    }

    fn load(&self, docs: &[Document], ctx: &mut LoadContext) -> Desired {
        validate::load(docs, ctx)
    }

    fn count(&self, d: &Desired) -> Vec<(&'static str, usize)> {
        vec![("workspace", d.workspaces.len()), ("agent", d.agents.len())]
    }

    fn scope_names(&self, d: &Desired, live: Option<&Live>) -> Vec<String> {
        let mut names: Vec<String> = d.workspaces.iter().map(|w| w.name.clone()).collect();
        if let Some(l) = live {
            names.extend(l.workspaces.iter().map(|w| w.name.clone()));
        }
        names
    }

    fn addresses(&self, d: &Desired, live: &Live) -> Vec<String> {
        let mut out: Vec<String> = self
            .scope_names(d, Some(live))
            .iter()
            .map(|w| diff::workspace_address(w))
            .collect();
        out.extend(d.agents.iter().map(|a| diff::agent_address(&a.id)));
        out.extend(live.agents.keys().map(|id| diff::agent_address(id)));
        out
    }

    fn declared_address(&self, kind: &str, fields: &serde_json::Value) -> Option<String> {
        let field = |k: &str| fields.get(k).and_then(serde_json::Value::as_str);
        if manifest::WORKSPACE_KINDS.contains(&kind) {
            return field("name").map(diff::workspace_address);
        }
        if manifest::AGENT_KINDS.contains(&kind) {
            return field("id").map(diff::agent_address);
        }
        None
    }

    async fn read(
        &self,
        api: &TwinApi,
        desired: &Desired,
        scope: &Scope,
        parallelism: usize,
    ) -> Result<Live, ApiError> {
        read::read(api, desired, parallelism, scope).await
    }

    fn diff(&self, d: &Desired, live: &Live, local: &Local) -> Result<Diffed<ops::Op>, PlanError> {
        diff::diff(d, live, local)
    }

    async fn explain(
        &self,
        api: &TwinApi,
        changes: &mut [Change],
        parallelism: usize,
    ) -> Result<(), ApiError> {
        attribute_drift(api, changes, parallelism).await
    }

    fn fingerprints(&self, d: &Desired, live: &Live) -> BTreeMap<String, String> {
        live.fingerprints(d)
    }

    fn op_name(&self, op: &ops::Op) -> &'static str {
        op.name()
    }

    fn yields_secret(&self, op: &ops::Op) -> bool {
        matches!(op, ops::Op::CreateWebhook { .. })
    }

    fn begin_apply(&self, live: &Live) -> ops::ApplyState {
        ops::ApplyState::new(live)
    }

    async fn execute(
        &self,
        api: &TwinApi,
        state: &ops::ApplyState,
        op: &ops::Op,
        ctx: &mut OpContext<'_>,
    ) -> Result<(), OpError> {
        ops::execute(api, state, op, ctx).await
    }

    async fn finish_apply(&self, api: &TwinApi, state: &ops::ApplyState, journal: &Journal) {
        ops::sweep(api, state, journal).await;
    }

    async fn export(
        &self,
        api: &TwinApi,
        filter: &ExportFilter,
        parallelism: usize,
    ) -> Result<Export, ApiError> {
        export::export(api, filter, parallelism).await
    }

    async fn whoami(&self, api: &TwinApi) -> Result<String, ApiError> {
        Ok(api.me().await?.user_id)
    }

    async fn history(
        &self,
        api: &TwinApi,
        agent: &str,
    ) -> Result<Option<Vec<crate::engine::provider::TextVersion>>, ApiError> {
        let versions = match api.instructions_history(agent, None).await {
            // Twin answers 403 for an agent that does not exist: say so.
            Err(e) if e.is_not_found() => {
                let ids: Vec<String> = api
                    .list_agents(None)
                    .await?
                    .into_iter()
                    .map(|a| a.agent_id)
                    .collect();
                if ids.iter().any(|i| i == agent) {
                    return Err(e);
                }
                let names: Vec<&str> = ids.iter().map(String::as_str).collect();
                let hint = crate::engine::manifest::diagnostic::did_you_mean(agent, &names)
                    .map(|n| format!(" (did you mean `{n}`?)"))
                    .unwrap_or_default();
                return Err(ApiError::Missing(format!(
                    "no agent named `{agent}` on Twin{hint}"
                )));
            }
            r => r?,
        };
        Ok(Some(versions.into_iter().map(pull::version).collect()))
    }

    fn text_location(
        &self,
        desired: &Desired,
        agent: &str,
    ) -> Option<crate::engine::provider::TextLocation> {
        pull::text_location(desired, agent)
    }

    fn pull(
        &self,
        desired: &Desired,
        live: &Live,
        filter: &crate::engine::provider::ExportFilter,
    ) -> Option<Vec<crate::engine::provider::Pulled>> {
        Some(pull::pull(desired, live, filter))
    }

    #[cfg(feature = "emulator")]
    fn emulator(&self) -> &'static dyn crate::engine::emulation::Emulate {
        &emulator::EMULATOR
    }
}

/// A git commit id as twinform sends it in `source_id` (`-dirty` when the
/// tree had uncommitted changes).
fn is_commit(id: &str) -> bool {
    let sha = id.strip_suffix("-dirty").unwrap_or(id);
    sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Say who last changed instructions that drifted (one history read per
/// drifted agent).
async fn attribute_drift(
    api: &TwinApi,
    changes: &mut [Change],
    parallelism: usize,
) -> Result<(), ApiError> {
    let updated = changes.iter().filter(|c| {
        c.resource == "instructions" && c.action == crate::engine::plan::Action::Update
    });
    let latest = fan_out(parallelism, updated, |c| {
        let (api, address, agent) = (api.clone(), c.address.clone(), c.agent.clone());
        async move {
            let history = api
                .instructions_history(agent.as_deref().unwrap_or_default(), Some(1))
                .await?;
            Ok((address, history.into_iter().next()))
        }
    })
    .await?;
    let mut found: HashMap<String, _> = latest
        .into_iter()
        .filter_map(|(address, v)| Some((address, v?)))
        .collect();
    for c in changes.iter_mut() {
        if let Some(v) = found.remove(&c.address) {
            // A server that drops `source_type` still keeps the `source_id`
            // twinform sends: a git commit is twinform's own write.
            let source_type = v.source_type.clone().or_else(|| {
                v.source_id
                    .as_deref()
                    .filter(|id| is_commit(id))
                    .map(|_| ops::SOURCE_TYPE.to_string())
            });
            c.drift = Some(Drift {
                outside_git: source_type
                    .as_deref()
                    .is_some_and(|t| t != ops::SOURCE_TYPE),
                source_type,
                at: v
                    .created_at
                    .as_ref()
                    .map(|t| t.as_str().map_or_else(|| t.to_string(), str::to_string)),
                user: v.user_email.clone(),
            });
        }
    }
    Ok(())
}

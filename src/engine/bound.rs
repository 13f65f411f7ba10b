//! A provider bound to one run: its desired state, and once connected and
//! read, its API, its live state and its apply state, all held with their
//! provider's own types. The engine and the commands use it through
//! [`Bound`], so no state ever crosses providers and nothing is downcast:
//! each value is stored and read back by the same generic code.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock, RwLock};

use super::apply::journal::Journal;
use super::http::{ApiError, Client, Profile};
use super::manifest::{Document, LoadContext};
use super::plan::{Change, Plan};
use super::provider::{
    Export, ExportFilter, Info, Local, OpContext, OpError, PlanError, Provider, Pulled, Scope,
    TextLocation, TextVersion,
};
use super::BoxFuture;

/// One provider's share of a run (see the module documentation).
pub trait Bound: Send + Sync {
    fn info(&self) -> &'static Info;
    /// Give it its API client (once; later calls are ignored).
    fn connect(&self, client: Client);
    /// `(noun, count)` of what its manifests declare.
    fn count(&self) -> Vec<(&'static str, usize)>;
    /// Names a `--workspace` may use: declared ones, and live ones once read.
    fn scope_names(&self) -> Vec<String>;
    /// Addresses of every object declared or read.
    fn addresses(&self) -> Vec<String>;
    /// Read what its manifests manage (kept for the diff and the apply).
    fn read<'a>(
        &'a self,
        scope: &'a Scope,
        parallelism: usize,
    ) -> BoxFuture<'a, Result<(), ApiError>>;
    /// Compare declared with read (pure); each change carries its operations.
    fn diff(&self, local: &Local) -> Result<Plan, PlanError>;
    fn explain<'a>(
        &'a self,
        changes: &'a mut [Change],
        parallelism: usize,
    ) -> BoxFuture<'a, Result<(), ApiError>>;
    fn fingerprints(&self) -> BTreeMap<String, String>;
    /// Start an apply from what was read.
    fn begin_apply(&self);
    fn execute<'a>(
        &'a self,
        op: &'a serde_json::Value,
        ctx: &'a mut OpContext<'_>,
    ) -> BoxFuture<'a, Result<(), OpError>>;
    fn finish_apply<'a>(&'a self, journal: &'a Journal) -> BoxFuture<'a, ()>;
    fn export<'a>(
        &'a self,
        filter: &'a ExportFilter,
        parallelism: usize,
    ) -> BoxFuture<'a, Result<Export, ApiError>>;
    fn whoami(&self) -> BoxFuture<'_, Result<String, ApiError>>;
    fn pull(&self, filter: &ExportFilter) -> Option<Vec<Pulled>>;
    fn history<'a>(
        &'a self,
        agent: &'a str,
    ) -> BoxFuture<'a, Result<Option<Vec<TextVersion>>, ApiError>>;
    fn text_location(&self, agent: &str) -> Option<TextLocation>;
}

/// [`Bound`] for a provider `P`.
pub struct Typed<P: Provider> {
    provider: P,
    desired: P::Desired,
    api: OnceLock<P::Api>,
    live: RwLock<Option<Arc<P::Live>>>,
    state: OnceLock<P::ApplyState>,
}

impl<P: Provider> Typed<P> {
    pub fn new(provider: P, desired: P::Desired) -> Self {
        Typed {
            provider,
            desired,
            api: OnceLock::new(),
            live: RwLock::new(None),
            state: OnceLock::new(),
        }
    }

    /// Already connected and read (tests and benchmarks that drive a
    /// provider's library directly).
    pub fn ready(provider: P, desired: P::Desired, api: Option<P::Api>, live: P::Live) -> Self {
        let t = Typed::new(provider, desired);
        if let Some(a) = api {
            let _ = t.api.set(a);
        }
        if let Ok(mut slot) = t.live.write() {
            *slot = Some(Arc::new(live));
        }
        t
    }

    fn api(&self) -> Result<&P::Api, ApiError> {
        self.api.get().ok_or_else(|| {
            ApiError::Task(format!(
                "internal error: {} was used before it was connected",
                self.provider.info().title
            ))
        })
    }

    fn live(&self) -> Option<Arc<P::Live>> {
        self.live.read().ok().and_then(|l| l.clone())
    }
}

/// A step taken before the one it needs (a bug, reported as such).
fn not_yet(what: &str, title: &str) -> String {
    format!("internal error: {title} was asked to {what} before its live state was read")
}

impl<P: Provider> Bound for Typed<P> {
    fn info(&self) -> &'static Info {
        self.provider.info()
    }

    fn connect(&self, client: Client) {
        let _ = self.api.set(self.provider.api(client));
    }

    fn count(&self) -> Vec<(&'static str, usize)> {
        self.provider.count(&self.desired)
    }

    fn scope_names(&self) -> Vec<String> {
        let live = self.live();
        self.provider.scope_names(&self.desired, live.as_deref())
    }

    fn addresses(&self) -> Vec<String> {
        match self.live() {
            Some(l) => self.provider.addresses(&self.desired, &l),
            None => Vec::new(),
        }
    }

    fn read<'a>(
        &'a self,
        scope: &'a Scope,
        parallelism: usize,
    ) -> BoxFuture<'a, Result<(), ApiError>> {
        Box::pin(async move {
            let live = self
                .provider
                .read(self.api()?, &self.desired, scope, parallelism)
                .await?;
            if let Ok(mut slot) = self.live.write() {
                *slot = Some(Arc::new(live));
            }
            Ok(())
        })
    }

    fn diff(&self, local: &Local) -> Result<Plan, PlanError> {
        let live = self.live().ok_or_else(|| PlanError {
            problems: vec![not_yet("plan", self.provider.info().title)],
        })?;
        let (mut plan, ops) = self.provider.diff(&self.desired, &live, local)?;
        for (change, ops) in plan.changes.iter_mut().zip(ops) {
            change.ops = ops
                .iter()
                .map(|o| serde_json::to_value(o).unwrap_or_default())
                .collect();
        }
        Ok(plan)
    }

    fn explain<'a>(
        &'a self,
        changes: &'a mut [Change],
        parallelism: usize,
    ) -> BoxFuture<'a, Result<(), ApiError>> {
        Box::pin(async move {
            self.provider
                .explain(self.api()?, changes, parallelism)
                .await
        })
    }

    fn fingerprints(&self) -> BTreeMap<String, String> {
        match self.live() {
            Some(l) => self.provider.fingerprints(&self.desired, &l),
            None => BTreeMap::new(),
        }
    }

    fn begin_apply(&self) {
        if let Some(l) = self.live() {
            let _ = self.state.set(self.provider.begin_apply(&l));
        }
    }

    fn execute<'a>(
        &'a self,
        v: &'a serde_json::Value,
        ctx: &'a mut OpContext<'_>,
    ) -> BoxFuture<'a, Result<(), OpError>> {
        Box::pin(async move {
            let api = self.api().map_err(OpError::from)?;
            let state = self
                .state
                .get()
                .ok_or_else(|| OpError::failed(not_yet("apply", self.provider.info().title)))?;
            let op: P::Op = serde_json::from_value(v.clone()).map_err(|e| {
                OpError::failed(format!("internal error: an operation did not decode: {e}"))
            })?;
            self.provider.execute(api, state, &op, ctx).await
        })
    }

    fn finish_apply<'a>(&'a self, journal: &'a Journal) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if let (Ok(api), Some(state)) = (self.api(), self.state.get()) {
                self.provider.finish_apply(api, state, journal).await;
            }
        })
    }

    fn export<'a>(
        &'a self,
        filter: &'a ExportFilter,
        parallelism: usize,
    ) -> BoxFuture<'a, Result<Export, ApiError>> {
        Box::pin(async move { self.provider.export(self.api()?, filter, parallelism).await })
    }

    fn whoami(&self) -> BoxFuture<'_, Result<String, ApiError>> {
        Box::pin(async move { self.provider.whoami(self.api()?).await })
    }

    fn pull(&self, filter: &ExportFilter) -> Option<Vec<Pulled>> {
        let live = self.live()?;
        self.provider.pull(&self.desired, &live, filter)
    }

    fn history<'a>(
        &'a self,
        agent: &'a str,
    ) -> BoxFuture<'a, Result<Option<Vec<TextVersion>>, ApiError>> {
        Box::pin(async move { self.provider.history(self.api()?, agent).await })
    }

    fn text_location(&self, agent: &str) -> Option<TextLocation> {
        self.provider.text_location(&self.desired, agent)
    }
}

/// A provider as a trait object: what needs no run's state. A run's state
/// (desired, live, API, apply) lives in a [`super::bound::Bound`], typed.
pub trait DynProvider: Send + Sync {
    fn info(&self) -> &'static Info;
    fn profile(&self) -> Profile;
    /// Its documents, bound to a run.
    fn load(&self, docs: &[Document], ctx: &mut LoadContext) -> Arc<dyn Bound>;
    /// Bound with nothing declared (export, whoami, history read live state only).
    fn unloaded(&self) -> Arc<dyn Bound>;
    fn declared_address(&self, kind: &str, fields: &serde_json::Value) -> Option<String>;
    fn op_name(&self, op: &serde_json::Value) -> &'static str;
    fn yields_secret(&self, op: &serde_json::Value) -> bool;
    fn paced_requests(&self, op: &serde_json::Value) -> Vec<&'static str>;
    #[cfg(feature = "emulator")]
    fn emulator(&self) -> &'static dyn super::emulation::Emulate;
}

/// `P` as a [`DynProvider`].
pub fn erase<P: Provider>(p: P) -> Box<dyn DynProvider> {
    Box::new(Erased(p))
}

struct Erased<P>(P);

fn op<P: Provider>(v: &serde_json::Value) -> Result<P::Op, OpError> {
    serde_json::from_value(v.clone())
        .map_err(|e| OpError::failed(format!("internal error: an operation did not decode: {e}")))
}

impl<P: Provider> DynProvider for Erased<P> {
    fn info(&self) -> &'static Info {
        self.0.info()
    }

    fn profile(&self) -> Profile {
        self.0.profile()
    }

    fn load(&self, docs: &[Document], ctx: &mut LoadContext) -> Arc<dyn Bound> {
        Arc::new(Typed::new(self.0.clone(), self.0.load(docs, ctx)))
    }

    fn unloaded(&self) -> Arc<dyn Bound> {
        Arc::new(Typed::new(self.0.clone(), P::Desired::default()))
    }

    fn declared_address(&self, kind: &str, fields: &serde_json::Value) -> Option<String> {
        self.0.declared_address(kind, fields)
    }

    fn op_name(&self, v: &serde_json::Value) -> &'static str {
        op::<P>(v).map_or("unknown", |o| self.0.op_name(&o))
    }

    fn yields_secret(&self, v: &serde_json::Value) -> bool {
        op::<P>(v).is_ok_and(|o| self.0.yields_secret(&o))
    }

    fn paced_requests(&self, v: &serde_json::Value) -> Vec<&'static str> {
        op::<P>(v).map_or_else(|_| Vec::new(), |o| self.0.paced_requests(&o))
    }

    #[cfg(feature = "emulator")]
    fn emulator(&self) -> &'static dyn super::emulation::Emulate {
        self.0.emulator()
    }
}

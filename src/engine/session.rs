//! One run over a manifest tree that may mix providers: load every document
//! through its provider, connect to each provider the tree uses (the real
//! service, or its emulator in process with `--local`), read, diff and
//! explain them all into one plan.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::bound::{Bound, DynProvider};
use super::http::{ApiError, ApiKey, Client, ClientConfig, RetryPolicy, Tracer};
use super::manifest::declared::Declared;
use super::manifest::diagnostic::did_you_mean;
use super::manifest::load::{self, KindTable};
use super::manifest::schema::{assemble, KindSchema};
use super::manifest::variables;
use super::manifest::{Problem, Validated};
use super::plan::saved::Selection;
use super::plan::{annotate, Plan};
use super::provider::{Local, PlanError, Scope};

/// Every provider this build knows.
pub type Providers = Vec<Arc<dyn DynProvider>>;

/// The editor schema of every kind of every provider.
pub fn json_schema(providers: &Providers) -> serde_json::Value {
    let mut kinds: Vec<KindSchema> = providers.iter().flat_map(|p| (p.info().kinds)()).collect();
    kinds.extend(variables::kinds());
    assemble(&kinds)
}

/// One provider's part of a tree: the provider, and its run's state
/// (declared, then connected and read), typed inside [`Bound`].
pub struct Part {
    pub provider: Arc<dyn DynProvider>,
    pub bound: Arc<dyn Bound>,
}

/// A manifest tree, validated.
pub struct Tree {
    /// The manifest root (a directory).
    pub root: PathBuf,
    /// Only providers with documents in the tree.
    pub parts: Vec<Part>,
    /// Every interpolated value, for the redactor.
    pub secrets: Vec<String>,
    /// Warnings about the run's inputs (a numeric day-of-week, an undeclared
    /// reference, a variable no manifest uses), as `file:line:col: message`:
    /// the plan carries them in every format.
    pub input_warnings: Vec<String>,
    /// What each document declares, for policies (empty unless
    /// [`LoadOptions::declared`] asked for it).
    pub declared: Vec<Declared>,
    /// Where each declared address is declared (`file:line:col` of its
    /// document's `kind`), so that plan-time problems are located as
    /// load-time ones are.
    pub locations: BTreeMap<String, String>,
}

impl Tree {
    /// `problem` with the place of the resource it is about in front, as
    /// load-time problems are shown: the longest declared address the
    /// message starts with (providers begin a plan-time problem with the
    /// address of its resource). A message that names no declared address,
    /// or already says where it is, is left as it is.
    pub fn locate(&self, problem: String) -> String {
        let found = self
            .locations
            .iter()
            .filter(|(address, _)| {
                problem.strip_prefix(address.as_str()).is_some_and(|rest| {
                    rest.is_empty() || rest.starts_with([' ', ':', '(', ',', '.'])
                })
            })
            .max_by_key(|(address, _)| address.len());
        match found {
            // `file:line` in the message already (a provider's `source`).
            Some((_, at)) if !names_line(&problem, at.rsplit_once(':').map_or(at, |p| p.0)) => {
                format!("{at}: {problem}")
            }
            _ => problem,
        }
    }

    /// `(noun, count)` of everything declared, over every provider.
    pub fn counts(&self) -> Vec<(&'static str, usize)> {
        self.parts.iter().flat_map(|p| p.bound.count()).collect()
    }
}

/// Whether `message` names `file_line` (`m.yaml:1`) as a place: not as the
/// start of another (`m.yaml:12`).
fn names_line(message: &str, file_line: &str) -> bool {
    message
        .match_indices(file_line)
        .any(|(i, m)| !message[i + m.len()..].starts_with(|c: char| c.is_ascii_digit()))
}

/// How a tree is read, beyond its files: the same for every command that
/// reads manifests (`--var-file`, `--strict-vars`).
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Var files overriding the tree's `Variables` (later wins).
    pub var_files: Vec<PathBuf>,
    /// A variable that no manifest uses is an error, not a warning.
    pub strict_vars: bool,
    /// Hidden files and folders (relative to the root) that templates and
    /// `{file: …}` may read.
    pub allow_hidden: Vec<PathBuf>,
    /// Also read what each document declares ([`Tree::declared`]): policies
    /// judge it.
    pub declared: bool,
}

/// A tree checked offline ([`check`]): what it declares and what it
/// interpolates, but no desired state, so a value that was unknown while
/// checking can never reach a request or a file.
pub struct Checked {
    pub root: PathBuf,
    /// `(noun, count)` of everything declared, over every provider.
    pub counts: Vec<(&'static str, usize)>,
    /// Every interpolated value that was known, for the redactor.
    pub secrets: Vec<String>,
    /// Environment variables that were not set (checked as unknown values).
    pub unknown: Vec<String>,
    /// What each document declares (see [`Tree::declared`]).
    pub declared: Vec<Declared>,
}

/// Load the manifests under `path` with `env` for interpolation.
pub fn load(
    path: &Path,
    providers: &Providers,
    env: &dyn Fn(&str) -> Option<String>,
) -> Validated<Tree> {
    load_with(path, providers, env, &LoadOptions::default())
}

/// Load the manifests under `path` with `env` for interpolation (every
/// `${VAR}` must be set) and `options`' var files overriding the tree's
/// `Variables`.
pub fn load_with(
    path: &Path,
    providers: &Providers,
    env: &dyn Fn(&str) -> Option<String>,
    options: &LoadOptions,
) -> Validated<Tree> {
    read(path, providers, env, options, false).0
}

/// Check the manifests under `path` offline (`validate`, `history`): an
/// unset `${VAR}` is an unknown value and a warning naming it, not an error.
pub fn check(
    path: &Path,
    providers: &Providers,
    env: &dyn Fn(&str) -> Option<String>,
    options: &LoadOptions,
) -> Validated<Checked> {
    let (validated, unknown) = read(path, providers, env, options, true);
    Validated {
        desired: validated.desired.map(|tree| Checked {
            counts: tree.counts(),
            root: tree.root,
            secrets: tree.secrets,
            unknown,
            declared: tree.declared,
        }),
        problems: validated.problems,
    }
}

/// Read a tree; `offline`: unset environment variables are unknown values
/// (their names are returned).
fn read(
    path: &Path,
    providers: &Providers,
    env: &dyn Fn(&str) -> Option<String>,
    options: &LoadOptions,
    offline: bool,
) -> (Validated<Tree>, Vec<String>) {
    read_with(
        path,
        providers,
        env,
        options,
        offline,
        &mut |p, docs, ctx| p.load(docs, ctx),
    )
}

/// One provider's manifests under `path`, as that provider's own type
/// (tests and benchmarks drive a provider's library this way).
pub fn load_typed<P: super::provider::Provider>(
    path: &Path,
    provider: P,
    env: &dyn Fn(&str) -> Option<String>,
) -> Validated<P::Desired> {
    let providers: Providers = vec![Arc::from(super::bound::erase(provider.clone()))];
    let mut desired = None;
    let (validated, _) = read_with(
        path,
        &providers,
        env,
        &LoadOptions::default(),
        false,
        &mut |p, docs, ctx| {
            desired = Some(provider.load(docs, ctx));
            p.unloaded()
        },
    );
    Validated {
        desired: validated.desired.and(desired),
        problems: validated.problems,
    }
}

/// Turns one provider's documents into its bound part of the tree.
type Loader<'a> = dyn FnMut(
        &Arc<dyn DynProvider>,
        &[super::manifest::Document],
        &mut super::manifest::LoadContext,
    ) -> Arc<dyn Bound>
    + 'a;

/// [`read`], each provider's documents loaded by `load`.
fn read_with(
    path: &Path,
    providers: &Providers,
    env: &dyn Fn(&str) -> Option<String>,
    options: &LoadOptions,
    offline: bool,
    load: &mut Loader<'_>,
) -> (Validated<Tree>, Vec<String>) {
    let var_files = &options.var_files;
    let mut owner: HashMap<&'static str, usize> = HashMap::new();
    let mut kinds = Vec::new();
    for (i, p) in providers.iter().enumerate() {
        for k in (p.info().kinds)() {
            for name in k.names {
                owner.insert(name, i);
                kinds.push((*name, k.schema.clone()));
            }
        }
    }
    for k in variables::kinds() {
        kinds.extend(k.names.iter().map(|n| (*n, k.schema.clone())));
    }
    let table = KindTable::new(kinds);
    let (mut ctx, docs) = load::load(path, &table, env);
    // The tree's variables, before any provider parses.
    variables::collect(&mut ctx, &docs, var_files);
    ctx.allow_hidden(&options.allow_hidden);
    if offline {
        ctx.read_offline();
    }
    if options.declared {
        ctx.record_texts();
    }
    let mut by_provider: BTreeMap<usize, Vec<super::manifest::Document>> = BTreeMap::new();
    let provider_docs: Vec<super::manifest::Document> = docs
        .iter()
        .filter(|d| owner.contains_key(d.kind.value.as_str()))
        .cloned()
        .collect();
    for d in docs {
        if let Some(&i) = owner.get(d.kind.value.as_str()) {
            by_provider.entry(i).or_default().push(d);
        }
    }
    let mut parts = Vec::new();
    for (i, docs) in by_provider {
        let provider = providers[i].clone();
        let bound = load(&provider, &docs, &mut ctx);
        parts.push(Part { provider, bound });
    }
    ctx.check_placeholders(&provider_docs);
    let unknown = ctx.finish_offline();
    variables::check_unused(&mut ctx, options.strict_vars);
    // Every warning of the load (a numeric day-of-week, an undeclared
    // reference, a var-file key nothing uses) goes with the plan, in every
    // format, not only to the report on stderr.
    let input_warnings = super::manifest::diagnostic::sorted(ctx.problems.clone())
        .iter()
        .filter(|p| !p.is_error())
        .map(problem_line)
        .collect();
    let ok = !ctx.has_errors();
    let declared = if options.declared && ok {
        declared(&ctx, &provider_docs, providers, &owner)
    } else {
        Vec::new()
    };
    let locations = locations(&ctx, &provider_docs, providers, &owner);
    let mut secrets = std::mem::take(&mut ctx.secrets);
    secrets.sort();
    secrets.dedup();
    let validated = Validated {
        desired: ok.then(|| Tree {
            root: ctx.root.clone(),
            parts,
            secrets,
            input_warnings,
            declared,
            locations,
        }),
        problems: super::manifest::diagnostic::sorted(ctx.problems),
    };
    (validated, unknown)
}

/// Where each document's address is declared: its identity read from its
/// top-level scalars, with `${var.…}` substituted as identities are.
fn locations(
    ctx: &load::LoadContext,
    docs: &[super::manifest::Document],
    providers: &Providers,
    owner: &HashMap<&'static str, usize>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for doc in docs {
        let Some(&i) = owner.get(doc.kind.value.as_str()) else {
            continue;
        };
        let super::manifest::node::Node::Map(entries) = &doc.node.value else {
            continue;
        };
        let fields: serde_json::Map<String, serde_json::Value> = entries
            .iter()
            .filter_map(|(k, v)| match &v.value {
                super::manifest::node::Node::Scalar(Some(s)) => {
                    // An identity takes `${var.…}` (see `LoadContext::identity`).
                    let s = match s.contains("${var.") {
                        true => super::manifest::interpolate::substitute_vars(s, &ctx.vars).ok()?,
                        false => s.clone(),
                    };
                    Some((k.value.clone(), serde_json::Value::String(s)))
                }
                _ => None,
            })
            .collect();
        if let Some(address) =
            providers[i].declared_address(&doc.kind.value, &serde_json::Value::Object(fields))
        {
            out.entry(address)
                .or_insert_with(|| ctx.location(doc, &doc.kind.referenced));
        }
    }
    out
}

/// What each provider document declares, with its owner, its kind's
/// canonical name (the one that starts with the provider's title,
/// `TwinAgent` rather than `Agent`) and its address in plans.
fn declared(
    ctx: &load::LoadContext,
    docs: &[super::manifest::Document],
    providers: &Providers,
    owner: &HashMap<&'static str, usize>,
) -> Vec<Declared> {
    let read = ctx.declared(docs);
    let mut out = Vec::new();
    for (doc, d) in docs.iter().zip(read) {
        let (Some(mut d), Some(&i)) = (d, owner.get(doc.kind.value.as_str())) else {
            continue;
        };
        let p = &providers[i];
        let info = p.info();
        let names = (info.kinds)()
            .into_iter()
            .find(|k| k.names.contains(&doc.kind.value.as_str()))
            .map(|k| k.names)
            .unwrap_or_default();
        d.kind = names
            .iter()
            .find(|n| n.starts_with(info.title))
            .or(names.last())
            .map_or_else(|| doc.kind.value.clone(), |n| n.to_string());
        d.provider = info.name;
        d.address = p.declared_address(&doc.kind.value, &d.fields);
        out.push(d);
    }
    out
}

/// How to reach the providers of a tree.
#[derive(Clone, Default)]
pub struct ConnectOptions {
    /// Endpoint overrides by provider name.
    pub endpoints: HashMap<String, String>,
    /// Files holding API keys, by provider name.
    pub key_files: HashMap<String, PathBuf>,
    /// Run each provider's emulator in process, with state next to this file.
    pub local: Option<PathBuf>,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub retry: RetryPolicy,
    /// `-v`: one line per request.
    pub tracer: Option<Tracer>,
}

/// Why a run could not connect.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("{0}")]
    Api(#[from] ApiError),
    #[error("cannot start the embedded {provider} emulator: {source}")]
    Emulator {
        provider: &'static str,
        source: std::io::Error,
    },
    #[error("--local needs a build with the `emulator` feature")]
    NoEmulator,
}

/// A provider of the tree, connected: its client (a tree's parts are
/// bound to it with [`Session::bind`]).
pub struct Connected {
    pub provider: Arc<dyn DynProvider>,
    pub client: Client,
}

/// Every provider of a tree, connected; emulators (with `--local`) stop
/// when this is closed or dropped.
pub struct Session {
    pub connected: Vec<Connected>,
    /// `TWINFORM_PLAN_KEY`: keys saved plans when plan and apply run with
    /// different API keys (a read-only key for pull requests).
    plan_key: Option<String>,
    #[cfg(feature = "emulator")]
    emulators: Vec<Box<dyn super::emulation::Running>>,
}

impl Session {
    /// Stop the emulators, writing their state.
    pub async fn close(self) {
        #[cfg(feature = "emulator")]
        for e in self.emulators {
            let _ = e.stop().await;
        }
    }

    /// Requests sent so far, over every provider.
    pub fn requests(&self) -> u64 {
        self.connected
            .iter()
            .map(|c| {
                c.client
                    .stats
                    .requests
                    .load(std::sync::atomic::Ordering::Relaxed)
            })
            .sum()
    }

    /// Give each part of `tree` its provider's client.
    pub fn bind(&self, tree: &Tree) {
        for part in &tree.parts {
            if let Some(c) = self.get(part.provider.info().name) {
                part.bound.connect(c.client.clone());
            }
        }
    }

    /// A provider bound to this session with nothing declared (export,
    /// whoami and history read live state only).
    pub fn unloaded(&self, name: &str) -> Option<Arc<dyn Bound>> {
        let c = self.get(name)?;
        let bound = c.provider.unloaded();
        bound.connect(c.client.clone());
        Some(bound)
    }

    pub fn get(&self, name: &str) -> Option<&Connected> {
        self.connected
            .iter()
            .find(|c| c.provider.info().name == name)
    }

    /// A digest of `data` keyed by `TWINFORM_PLAN_KEY` when set, else by
    /// `provider`'s API key; saved plans record operations and live
    /// fingerprints this way, so the file holds no plain hash of a secret.
    pub fn keyed_digest(&self, provider: &str, data: &str) -> String {
        let parts = ["saved plan", provider, data];
        match &self.plan_key {
            Some(k) => super::http::keyed_digest(k.as_bytes(), &parts),
            None => self
                .get(provider)
                .map(|c| c.client.keyed_digest(&parts))
                .unwrap_or_default(),
        }
    }
}

/// The state file of a provider's embedded emulator: `STATE` for the
/// original provider (as it always was), `STATE` with the provider's name
/// before the extension for the others.
pub fn local_state(state: &Path, info: &super::provider::Info) -> PathBuf {
    if info.original {
        return state.to_path_buf();
    }
    let provider = info.name;
    let stem = state
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let ext = state
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    state.with_file_name(format!("{stem}.{provider}{ext}"))
}

/// The key and endpoint of a provider: `--api-key-file NAME=FILE` or its key
/// variable; `--endpoint NAME=URL` or its endpoint variables or its default.
/// Never a key from the command line.
pub fn credentials(
    provider: &dyn DynProvider,
    opts: &ConnectOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(String, ApiKey), ApiError> {
    let info = provider.info();
    let endpoint = opts
        .endpoints
        .get(info.name)
        .cloned()
        .or_else(|| {
            info.endpoint_env
                .iter()
                .find_map(|v| env(v).filter(|s| !s.trim().is_empty()))
        })
        .unwrap_or_else(|| info.default_endpoint.to_string());
    let key = match opts.key_files.get(info.name) {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                ApiError::Credentials(format!("cannot read the {} API key file {}: {e}", info.title, path.display()))
            })?;
            ApiKey::new(text)?
        }
        None => match env(info.key_env) {
            Some(k) if !k.trim().is_empty() => ApiKey::new(k)?,
            _ => {
                return Err(ApiError::Credentials(format!(
                    "no {} API key: set {} or pass --api-key-file {}=FILE (or use --local for the embedded emulator)",
                    info.title, info.key_env, info.name
                )))
            }
        },
    };
    Ok((endpoint, key))
}

/// Connect to every provider in `providers` (those a tree uses). Every key is
/// resolved before any emulator starts or any request is sent, so a missing
/// key fails the run with nothing done.
pub async fn connect(
    providers: &[Arc<dyn DynProvider>],
    opts: &ConnectOptions,
    env: &dyn Fn(&str) -> Option<String>,
    redactor: &super::redact::Redactor,
) -> Result<Session, ConnectError> {
    let mut resolved = Vec::new();
    if opts.local.is_none() {
        for p in providers {
            resolved.push(credentials(p.as_ref(), opts, env)?);
        }
    }
    let plan_key = env("TWINFORM_PLAN_KEY").filter(|k| !k.trim().is_empty());
    if let Some(k) = &plan_key {
        redactor.add(k);
    }
    let mut session = Session {
        plan_key,
        connected: Vec::new(),
        #[cfg(feature = "emulator")]
        emulators: Vec::new(),
    };
    for (i, p) in providers.iter().enumerate() {
        let (endpoint, key) = match &opts.local {
            Some(state) => start_local(&mut session, p.as_ref(), state, opts).await?,
            None => resolved[i].clone(),
        };
        redactor.add(key.expose());
        let config = ClientConfig {
            endpoint,
            timeout: opts.timeout,
            connect_timeout: opts.connect_timeout,
            retry: opts.retry.clone(),
        };
        let mut client = Client::new(config, key, p.profile())?.with_redactor(redactor.clone());
        if let Some(t) = &opts.tracer {
            client = client.with_tracer(t.clone());
        }
        session.connected.push(Connected {
            provider: p.clone(),
            client,
        });
    }
    Ok(session)
}

#[cfg(feature = "emulator")]
async fn start_local(
    session: &mut Session,
    p: &dyn DynProvider,
    state: &Path,
    opts: &ConnectOptions,
) -> Result<(String, ApiKey), ConnectError> {
    let path = local_state(state, p.info());
    let running = p
        .emulator()
        .start("127.0.0.1:0", Some(&path), &Default::default())
        .await
        .map_err(|source| ConnectError::Emulator {
            provider: p.info().name,
            source,
        })?;
    let endpoint = running.endpoint();
    if let Some(t) = &opts.tracer {
        t(&format!(
            "embedded {} emulator on {endpoint} (state {})",
            p.info().title,
            path.display()
        ));
    }
    session.emulators.push(running);
    Ok((endpoint, ApiKey::new("local-emulator-key")?))
}

#[cfg(not(feature = "emulator"))]
async fn start_local(
    _: &mut Session,
    _: &dyn DynProvider,
    _: &Path,
    _: &ConnectOptions,
) -> Result<(String, ApiKey), ConnectError> {
    Err(ConnectError::NoEmulator)
}

/// What a plan was made from, per provider: desired and live state.
pub struct Planned {
    pub plan: Plan,
}

/// Why no plan was made.
#[derive(Debug, thiserror::Error)]
pub enum PlanFailure {
    #[error("reading live state failed: {0}")]
    Read(ApiError),
    #[error("nothing to plan for:\n  - {}", .0.join("\n  - "))]
    Selection(Vec<String>),
    #[error("{0}")]
    Diff(PlanError),
    #[error("reading history failed: {0}")]
    Explain(ApiError),
}

/// Read every provider, check the selection, diff, explain, annotate and narrow.
pub async fn plan(
    tree: &Tree,
    session: &Session,
    selection: &Selection,
    cut_short: &BTreeSet<String>,
    parallelism: usize,
) -> Result<Planned, PlanFailure> {
    let scope = Scope {
        workspaces: (!selection.workspaces.is_empty())
            .then(|| selection.workspaces.iter().cloned().collect()),
    };
    session.bind(tree);
    let reads = tree
        .parts
        .iter()
        .map(|part| part.bound.read(&scope, parallelism));
    futures_util::future::try_join_all(reads)
        .await
        .map_err(PlanFailure::Read)?;
    check_selection(tree, selection).map_err(PlanFailure::Selection)?;
    let local = Local {
        cut_short: cut_short.clone(),
        scope,
        adopt: selection.adopt,
        sync_secrets: selection.sync_secrets,
    };
    let mut plan = Plan::default();
    let mut problems = Vec::new();
    for part in &tree.parts {
        match part.bound.diff(&local) {
            Ok(p) => plan.extend(p),
            Err(e) => problems.extend(e.problems),
        }
    }
    if !problems.is_empty() {
        let problems = problems.into_iter().map(|p| tree.locate(p)).collect();
        return Err(PlanFailure::Diff(PlanError { problems }));
    }
    plan.dedupe_addresses();
    plan.narrow(&selection.targets);
    // Warnings about the inputs (a misspelt var-file key) belong with the
    // plan they shaped, in every format (a PR comment, `-o json`).
    plan.warnings.extend(tree.input_warnings.iter().cloned());
    for part in &tree.parts {
        // Each provider annotates its own changes, which stay where they are.
        let name = part.provider.info().name;
        let at: Vec<usize> = (0..plan.changes.len())
            .filter(|&i| plan.changes[i].provider == name)
            .collect();
        let mut mine: Vec<super::plan::Change> = at
            .iter()
            .map(|&i| {
                std::mem::replace(
                    &mut plan.changes[i],
                    super::plan::Change::new(name, "", "", super::plan::Action::Update),
                )
            })
            .collect();
        let explained = part.bound.explain(&mut mine, parallelism).await;
        for (i, ch) in at.into_iter().zip(mine) {
            plan.changes[i] = ch;
        }
        explained.map_err(PlanFailure::Explain)?;
    }
    annotate::fire_times(&mut plan, chrono::Utc::now());
    Ok(Planned { plan })
}

/// Every `--workspace` must name a declared or live scope of some provider,
/// and every `--target` a declared or live object: a typo must not plan
/// "No changes" and exit 0.
fn check_selection(tree: &Tree, selection: &Selection) -> Result<(), Vec<String>> {
    let mut names: Vec<String> = Vec::new();
    let mut roots: Vec<String> = Vec::new();
    for part in &tree.parts {
        names.extend(part.bound.scope_names());
        roots.extend(part.bound.addresses());
    }
    let name_strs: Vec<&str> = names.iter().map(String::as_str).collect();
    let root_strs: Vec<&str> = roots.iter().map(String::as_str).collect();
    let mut unknown = Vec::new();
    for w in &selection.workspaces {
        if !names.contains(w) {
            unknown.push(match did_you_mean(w, &name_strs) {
                Some(s) => format!("--workspace {w:?}: no such workspace (did you mean {s:?}?)"),
                None => {
                    format!("--workspace {w:?}: no workspace is declared or live with that name")
                }
            });
        }
    }
    for t in &selection.targets {
        if !roots
            .iter()
            .any(|r| Plan::target_matches(t, r) || Plan::target_matches(r, t))
        {
            let root = t.find(']').map_or(t.as_str(), |i| &t[..=i]);
            let guess = did_you_mean(root, &root_strs).or_else(|| {
                let bare: Vec<String> = roots
                    .iter()
                    .filter_map(|r| super::plan::root_name(r))
                    .collect();
                let bare: Vec<&str> = bare.iter().map(String::as_str).collect();
                did_you_mean(t, &bare).and_then(|b| {
                    root_strs
                        .iter()
                        .find(|r| super::plan::root_name(r).as_deref() == Some(b))
                        .copied()
                })
            });
            unknown.push(match guess {
                Some(s) => {
                    format!("--target {t}: nothing is declared or live there (did you mean {s}?)")
                }
                None => format!("--target {t}: nothing is declared or live there"),
            });
        }
    }
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(unknown)
    }
}

/// A problem as one line of a plan's warnings: `file:line:col: message (help)`.
pub fn problem_line(p: &Problem) -> String {
    let help = p
        .help
        .as_deref()
        .map(|h| format!(" ({h})"))
        .unwrap_or_default();
    format!(
        "{}: {}{help}",
        p.location.as_deref().unwrap_or("?"),
        p.message
    )
}

/// A located problem list as one message (for errors about whole trees).
pub fn problems_text(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("{}: {}", p.location.as_deref().unwrap_or("?"), p.message))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::names_line;

    #[test]
    fn a_place_is_named_only_whole() {
        assert!(names_line("agent x (m.yaml:1) is odd", "m.yaml:1"));
        assert!(names_line("at m.yaml:1:7", "m.yaml:1"));
        assert!(names_line("m.yaml:1", "m.yaml:1"));
        assert!(!names_line("see m.yaml:12 for the other", "m.yaml:1"));
        assert!(!names_line("nothing here", "m.yaml:1"));
    }
}

//! The interface a platform implements to be managed by twinform.
//!
//! A provider owns its kinds (document types and their schema), its rules
//! (validation), its wire types and endpoint methods, its reads, a pure diff,
//! the execution of its operations, export, and its emulator. The engine owns
//! everything around them and calls them through [`Provider`]; commands hold
//! the providers as [`DynProvider`] trait objects (see [`erase`]), so the
//! engine never names a platform.
//!
//! Data flows one way: documents → [`Provider::load`] → desired state;
//! [`Provider::read`] → live state; [`Provider::diff`] (pure) → changes with
//! serialized operations; the executor hands each operation back to
//! [`Provider::execute`].

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Mutex;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::apply::journal::Journal;
use super::apply::secrets::{SecretRecord, SecretSink, StoreError};
use super::http::{ApiError, Client, Profile};
use super::manifest::schema::KindSchema;
use super::manifest::{Document, LoadContext};
use super::plan::{Change, Plan};

pub use super::BoxFuture;

/// Static facts about a platform.
pub struct Info {
    /// `twin`, `twig`, `cadenya`: the name in flags, addresses and JSON.
    pub name: &'static str,
    /// `Twin`: the name in messages.
    pub title: &'static str,
    /// Prefix of every address (`twig.`); empty for the original provider.
    pub address_prefix: &'static str,
    /// The platform twinform first managed: its addresses, flags and files
    /// keep the forms they had before there were other providers (no address
    /// prefix, `--endpoint URL` without a name, the emulator's state file).
    pub original: bool,
    /// The variable holding the API key.
    pub key_env: &'static str,
    /// What a key looks like, for help and man pages (`twigsk_live_...`);
    /// empty when it has no recognisable form.
    pub key_form: &'static str,
    /// The variables that may hold the endpoint, in order of preference.
    pub endpoint_env: &'static [&'static str],
    pub default_endpoint: &'static str,
    /// What a plan's header counts: the nouns of `Provider::count`.
    pub kinds: fn() -> Vec<KindSchema>,
}

impl Info {
    /// The environment variables this provider reads, `(names, what)`, as
    /// help, man pages and the README list them.
    pub fn environment(&self) -> Vec<(String, String)> {
        let file = if self.original {
            "--api-key-file".to_string()
        } else {
            format!("--api-key-file {}=FILE", self.name)
        };
        let form = if self.key_form.is_empty() {
            String::new()
        } else {
            format!(", {}", self.key_form)
        };
        vec![
            (
                self.key_env.to_string(),
                format!("{} API key{form} (or {file}).", self.title),
            ),
            (
                self.endpoint_env.join(", "),
                format!(
                    "{} API base URL (default {}).",
                    self.title, self.default_endpoint
                ),
            ),
        ]
    }
}

/// Why no plan could be made (every reason found, not just the first).
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot plan:\n  - {}", .problems.join("\n  - "))]
pub struct PlanError {
    pub problems: Vec<String>,
}

/// What narrows a read and a diff (`--workspace`): names of scopes the
/// provider may know (workspaces), or everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub workspaces: Option<BTreeSet<String>>,
}

impl Scope {
    pub fn has_workspace(&self, name: &str) -> bool {
        self.workspaces.as_ref().is_none_or(|w| w.contains(name))
    }

    pub fn is_everything(&self) -> bool {
        self.workspaces.is_none()
    }
}

/// What the engine knows locally and a diff may need: addresses whose
/// secret-yielding operation a hard kill cut short (from the journal).
#[derive(Debug, Clone, Default)]
pub struct Local {
    pub cut_short: BTreeSet<String>,
    pub scope: Scope,
    /// `--adopt`: live resources without the owner's mark may be taken over.
    pub adopt: bool,
    /// `--sync-secrets`: write-only values are rewritten even when unchanged.
    pub sync_secrets: bool,
}

/// A failed operation: its message, and whether the user must act (blocked)
/// rather than the API having refused it (failed).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct OpError {
    pub message: String,
    pub blocked: bool,
}

impl From<ApiError> for OpError {
    fn from(e: ApiError) -> Self {
        OpError {
            message: e.to_string(),
            blocked: false,
        }
    }
}

impl OpError {
    pub fn failed(message: impl Into<String>) -> Self {
        OpError {
            message: message.into(),
            blocked: false,
        }
    }

    pub fn blocked(message: impl Into<String>) -> Self {
        OpError {
            message: message.into(),
            blocked: true,
        }
    }
}

/// What an operation may use besides its API client.
pub struct OpContext<'a> {
    /// The address of the change the operation belongs to.
    pub address: &'a str,
    pub journal: &'a Journal,
    pub secrets: &'a SecretSink,
    /// Ids of objects created earlier in this apply, by key (a later change
    /// refers to an object a former one created).
    pub created: &'a Mutex<HashMap<String, String>>,
    /// The id an earlier operation of the same change created.
    pub previous: &'a mut Option<String>,
    /// Something the user must act on although the operation succeeded.
    pub warning: &'a mut Option<String>,
    /// The git commit of the manifests, for platforms that record a source.
    pub source_id: Option<&'a str>,
}

impl OpContext<'_> {
    /// Store a secret the moment it arrives; record in the journal once it is safe.
    pub async fn store_secret(&mut self, record: SecretRecord) -> Result<(), StoreError> {
        let stored = self.secrets.store(record).await;
        if !matches!(stored, Err(StoreError::Lost(_))) {
            self.journal.record(self.address, "secret", "stored", None);
        }
        if let Err(e @ StoreError::Command { .. }) = &stored {
            *self.warning = Some(e.to_string());
            return Ok(());
        }
        stored
    }

    /// Remember an id under `key` for later changes.
    pub fn remember(&self, key: impl Into<String>, id: impl Into<String>) {
        if let Ok(mut m) = self.created.lock() {
            m.insert(key.into(), id.into());
        }
    }

    /// An id remembered by an earlier change.
    pub fn recall(&self, key: &str) -> Option<String> {
        self.created.lock().ok()?.get(key).cloned()
    }
}

/// Files `export` would write, and what it could not express.
#[derive(Debug, Default)]
pub struct Export {
    /// Path (under the output folder) → content.
    pub files: BTreeMap<PathBuf, String>,
    /// Objects left out (export exits 1), with why.
    pub skipped: Vec<String>,
    /// Fields left unmanaged (notes).
    pub notes: Vec<String>,
    /// What was exported, for the closing line: `(noun, count)`.
    pub counts: Vec<(&'static str, usize)>,
    /// Every name a filter could have matched (for "did you mean").
    pub known: Vec<String>,
    /// Names derived from live names (files, placeholder variables), kept
    /// unique; its notes say what was renamed.
    pub names: DerivedNames,
}

/// A file-name-safe form of a name for exported files (`fallback` when
/// nothing of it is left).
pub fn slug(name: &str, fallback: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let s = s
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    if s.is_empty() {
        fallback.into()
    } else {
        s
    }
}

/// The names an export derives from live names (file names, placeholder
/// variables): each is unique. Two live names that derive the same name
/// (`crm-token` and `crm_token` both give `CRM_TOKEN`; `a.b` + `c` and `a` +
/// `b.c` both give `a.b.c.md`) get distinct names: the second gets a
/// numbered suffix, and [`DerivedNames::notes`] says which is which. Names
/// compare without case (macOS and Windows file systems do).
#[derive(Debug, Default)]
pub struct DerivedNames {
    taken: std::collections::HashMap<String, String>,
    notes: Vec<String>,
}

impl DerivedNames {
    /// A unique name for `source` (what it is, for the note), derived as
    /// `base`; `suffix(n)` makes the `n`th alternative (from 2).
    pub fn claim(
        &mut self,
        base: String,
        source: &str,
        suffix: impl Fn(&str, usize) -> String,
    ) -> String {
        let mut name = base.clone();
        let mut n = 1;
        let first = self.taken.get(&base.to_lowercase()).cloned();
        while self.taken.contains_key(&name.to_lowercase()) {
            n += 1;
            name = suffix(&base, n);
        }
        if let Some(first) = first {
            self.notes.push(format!(
                "{source} and {first} both derive `{base}`: {source} uses `{name}`"
            ));
        }
        self.taken.insert(name.to_lowercase(), source.to_string());
        name
    }

    /// What was renamed, for the export's notes.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }
}

/// A live id as one file (or folder) name of an export, kept as it is when
/// it is safe, else escaped: a path separator, a control character, a
/// character some systems forbid in names (`: * ? " < > |`), `~` itself and
/// a leading `.` become `~XX` (their UTF-8 bytes in hex), and an empty id
/// becomes `~`. So `../../escaped` is `~2E~2E~2F~2E~2E~2Fescaped`: one
/// plain, visible name inside the export. The escaping is reversible, so
/// two different ids never get the same name (safe names never hold `~`).
pub fn file_name(id: &str) -> String {
    if id.is_empty() {
        return "~".into();
    }
    let mut out = String::with_capacity(id.len());
    for (i, c) in id.char_indices() {
        let unsafe_char = c.is_control()
            || matches!(
                c,
                '/' | '\\' | '~' | ':' | '*' | '?' | '"' | '<' | '>' | '|'
            )
            || (i == 0 && c == '.');
        if unsafe_char {
            let mut buf = [0; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("~{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// What to export: names of objects (agents, workspaces) to narrow to.
#[derive(Debug, Clone, Default)]
pub struct ExportFilter {
    pub workspaces: Vec<String>,
    pub agents: Vec<String>,
}

/// What `pull` found for one drifted value: write it back into the
/// manifests, or leave it (a structural change, an interpolated field) and
/// say why.
#[derive(Debug, Clone)]
pub enum Pulled {
    Write(crate::engine::manifest::edit::Request),
    Leave { address: String, why: String },
}

/// One server-side version of an agent's long text (`twinform history`).
#[derive(Debug, Clone, Serialize)]
pub struct TextVersion {
    /// The platform's id of the version, when it gives one.
    pub id: Option<String>,
    pub created_at: Option<String>,
    /// Who or what wrote it (`checkpoint`, `builder`, `api`, …).
    pub source: Option<String>,
    pub author: Option<String>,
    /// A digest of the content, when the platform gives one.
    pub content_hash: Option<String>,
    pub content: String,
}

/// Where an agent's long text is declared, for `rollback`.
#[derive(Debug, Clone)]
pub struct TextLocation {
    pub origin: crate::engine::manifest::edit::Origin,
    pub path: Vec<crate::engine::manifest::edit::Seg>,
    pub address: String,
    /// Interpolated: never overwritten.
    pub sensitive: bool,
}

/// A diff's result: the plan, and each change's operations (same order).
pub type Diffed<Op> = (Plan, Vec<Vec<Op>>);

/// A platform. See the module documentation for the flow.
pub trait Provider: Clone + Send + Sync + 'static {
    /// Validated manifests of this provider.
    type Desired: Default + Send + Sync + 'static;
    /// What a read found.
    type Live: Send + Sync + 'static;
    /// One API call (or a short fixed sequence) of a change.
    type Op: Serialize + DeserializeOwned + Send + Sync + 'static;
    /// The endpoint methods, built on the engine's [`Client`].
    type Api: Clone + Send + Sync + 'static;
    /// What an apply keeps between operations (ids known before it began,
    /// late clean-ups to do at the end).
    type ApplyState: Send + Sync + 'static;

    fn info(&self) -> &'static Info;

    /// How its API is spoken (auth header, error format).
    fn profile(&self) -> Profile;

    fn api(&self, client: Client) -> Self::Api;

    /// Its documents, with problems recorded in `ctx`.
    fn load(&self, docs: &[Document], ctx: &mut LoadContext) -> Self::Desired;

    /// `(noun, count)` of what the manifests declare, for headers and `validate`.
    fn count(&self, desired: &Self::Desired) -> Vec<(&'static str, usize)>;

    /// Names a `--workspace` may use (declared ones; live ones are added by `read`).
    fn scope_names(&self, desired: &Self::Desired, live: Option<&Self::Live>) -> Vec<String>;

    /// Addresses of every object declared or read, for `--target` checks.
    fn addresses(&self, desired: &Self::Desired, live: &Self::Live) -> Vec<String>;

    /// The address plans give what a document of `kind` declares, from its
    /// values (`fields`: its keys, identities substituted), so a policy's
    /// finding about it can be located and matched with its changes.
    /// `None`: plans give it no address of its own.
    fn declared_address(&self, kind: &str, fields: &serde_json::Value) -> Option<String> {
        let _ = (kind, fields);
        None
    }

    /// Read what the manifests manage, with as few calls as the API allows.
    fn read(
        &self,
        api: &Self::Api,
        desired: &Self::Desired,
        scope: &Scope,
        parallelism: usize,
    ) -> impl Future<Output = Result<Self::Live, ApiError>> + Send;

    /// Compare (pure: no I/O, no clock).
    fn diff(
        &self,
        desired: &Self::Desired,
        live: &Self::Live,
        local: &Local,
    ) -> Result<Diffed<Self::Op>, PlanError>;

    /// Add facts that need more reads once the diff is known (who drifted).
    fn explain(
        &self,
        api: &Self::Api,
        changes: &mut [Change],
        parallelism: usize,
    ) -> impl Future<Output = Result<(), ApiError>> + Send {
        let _ = (api, changes, parallelism);
        async { Ok(()) }
    }

    /// A fingerprint of every live object the plan depends on, by address.
    fn fingerprints(&self, desired: &Self::Desired, live: &Self::Live) -> BTreeMap<String, String>;

    fn op_name(&self, op: &Self::Op) -> &'static str;

    /// Whether an operation receives a secret that exists nowhere else.
    fn yields_secret(&self, op: &Self::Op) -> bool;

    /// The rate-limit scopes ([`Profile::scope`]) of the writes an
    /// operation sends, one entry per request: how long a paced apply will
    /// take is told from them before it starts (none: not paced).
    fn paced_requests(&self, _op: &Self::Op) -> Vec<&'static str> {
        Vec::new()
    }

    fn begin_apply(&self, live: &Self::Live) -> Self::ApplyState;

    fn execute(
        &self,
        api: &Self::Api,
        state: &Self::ApplyState,
        op: &Self::Op,
        ctx: &mut OpContext<'_>,
    ) -> impl Future<Output = Result<(), OpError>> + Send;

    /// Late clean-ups once every change has run (or the apply was stopped).
    fn finish_apply(
        &self,
        api: &Self::Api,
        state: &Self::ApplyState,
        journal: &Journal,
    ) -> impl Future<Output = ()> + Send {
        let _ = (api, state, journal);
        async {}
    }

    /// Manifests describing what exists live.
    fn export(
        &self,
        api: &Self::Api,
        filter: &ExportFilter,
        parallelism: usize,
    ) -> impl Future<Output = Result<Export, ApiError>> + Send;

    /// Who the API key belongs to (`twinform whoami`).
    fn whoami(&self, api: &Self::Api) -> impl Future<Output = Result<String, ApiError>> + Send;

    /// Versions of an agent's long text, newest first (`twinform history`).
    /// `None`: the platform keeps none.
    fn history(
        &self,
        api: &Self::Api,
        agent: &str,
    ) -> impl Future<Output = Result<Option<Vec<TextVersion>>, ApiError>> + Send {
        let _ = (api, agent);
        async { Ok(None) }
    }

    /// Where `agent`'s long text is declared (`twinform rollback`).
    fn text_location(&self, desired: &Self::Desired, agent: &str) -> Option<TextLocation> {
        let _ = (desired, agent);
        None
    }

    /// Every managed value that drifted, as what to write back into the
    /// manifests (`twinform pull`; pure, like `diff`). `None`: this provider
    /// does not pull yet.
    fn pull(
        &self,
        desired: &Self::Desired,
        live: &Self::Live,
        filter: &ExportFilter,
    ) -> Option<Vec<Pulled>> {
        let _ = (desired, live, filter);
        None
    }

    /// Its emulator, to run in process (`--local`) or standalone.
    #[cfg(feature = "emulator")]
    fn emulator(&self) -> &'static dyn super::emulation::Emulate;
}

#[cfg(test)]
mod tests {
    use super::file_name;

    #[test]
    fn file_names_from_live_ids_stay_one_visible_name_and_never_collide() {
        assert_eq!(file_name("support-bot.v2"), "support-bot.v2");
        assert_eq!(file_name("Café 1"), "Café 1");
        assert_eq!(file_name("../../escaped"), "~2E.~2F..~2Fescaped");
        assert_eq!(file_name("/etc/passwd"), "~2Fetc~2Fpasswd");
        assert_eq!(file_name(".git"), "~2Egit");
        assert_eq!(file_name(""), "~");
        assert_eq!(file_name("a\\b"), "a~5Cb");
        let ids = ["a/b", "a~2Fb", "a_b", "a~b", "~", "", ".", "..", "a\nb"];
        let names: std::collections::BTreeSet<String> = ids.iter().map(|i| file_name(i)).collect();
        assert_eq!(names.len(), ids.len(), "{names:?}");
        for n in &names {
            assert!(
                !n.contains('/') && !n.starts_with('.') && !n.is_empty(),
                "{n}"
            );
        }
    }
}

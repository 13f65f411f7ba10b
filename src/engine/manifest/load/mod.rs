//! Reading manifest files: discovery, size and encoding limits, splitting
//! into YAML documents, reading each document's `kind`, and finding every
//! unknown field against the kind's schema. The kinds come from the
//! providers ([`KindTable`]); the concrete document types are theirs, parsed
//! through [`LoadContext::parse`] so every YAML call stays in this module.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_saphyr::{Location, Options, Spanned};

use super::diagnostic::{did_you_mean, Problem, SourceFile};
use super::interpolate::{interpolate_with, substitute_vars, InterpolateError, Vars};
use super::node::{self, Node};
use super::Text;

pub use super::files::{
    confined, discover, read_text, root_of, split_documents, Content, IGNORE_FILE, MAX_FILE_BYTES,
};

/// The kinds the loader knows, with the JSON Schema of each.
pub struct KindTable {
    kinds: Vec<(&'static str, serde_json::Value)>,
    /// Every field name of every kind at any depth (for foreign-file
    /// detection and "did you mean" across places).
    fields: Vec<String>,
}

impl KindTable {
    pub fn new(kinds: Vec<(&'static str, serde_json::Value)>) -> Self {
        let mut fields = Vec::new();
        for (_, schema) in &kinds {
            collect_fields(schema, &mut fields);
        }
        fields.sort();
        fields.dedup();
        KindTable { kinds, fields }
    }

    fn schema(&self, kind: &str) -> Option<&serde_json::Value> {
        self.kinds.iter().find(|(k, _)| *k == kind).map(|(_, s)| s)
    }

    fn names(&self) -> Vec<&'static str> {
        self.kinds.iter().map(|(k, _)| *k).collect()
    }

    fn fields(&self) -> Vec<&str> {
        self.fields.iter().map(String::as_str).collect()
    }
}

fn collect_fields(schema: &serde_json::Value, out: &mut Vec<String>) {
    match schema {
        serde_json::Value::Object(m) => {
            if let Some(serde_json::Value::Object(props)) = m.get("properties") {
                out.extend(props.keys().cloned());
            }
            m.values().for_each(|v| collect_fields(v, out));
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| collect_fields(v, out)),
        _ => {}
    }
}

/// One manifest document: where it is and its kind. Its provider parses the
/// concrete type with [`LoadContext::parse`].
#[derive(Debug, Clone)]
pub struct Document {
    /// Index of its file in [`LoadContext::files`].
    pub file: usize,
    /// Byte offset of the document's first byte in its file.
    pub base: usize,
    pub text: String,
    pub kind: Spanned<String>,
    /// Its string values holding `${`, checked once its provider has
    /// interpolated what it interpolates.
    pub placeholders: Vec<node::Placeholder>,
    /// The document as a tree with positions (what resource tables read).
    pub node: std::sync::Arc<Spanned<Node>>,
    /// Byte ranges (in `text`) of its unknown fields, key through value:
    /// reported once, then blanked so that the rest of the document is
    /// still read and checked (see [`LoadContext::parse`]).
    pub unknown: Vec<std::ops::Range<usize>>,
}

impl Document {
    /// The string written at the top-level `key`, where it was written:
    /// what a duplicate check reads of a document that did not parse (it
    /// still declares its identity).
    pub fn top_str(&self, key: &str) -> Option<Spanned<String>> {
        let n = self.node.value.get(key)?;
        match &n.value {
            Node::Scalar(Some(s)) => Some(Spanned::new(s.clone(), n.referenced, n.defined)),
            _ => None,
        }
    }
}

/// Where a variable was set (a key of a var file, or a `Variables`
/// default), for the warning when no manifest uses it (see
/// `variables::check_unused`).
#[derive(Debug, Clone)]
pub struct Setting {
    pub name: String,
    /// The var file that set it; `None` for a `Variables` default.
    pub var_file: Option<String>,
    pub(super) file: SourceFile,
    pub(super) offset: usize,
    pub(super) len: usize,
}

/// A text a provider interpolated or read, at the byte where it is declared.
pub(crate) struct Recorded {
    pub(crate) file: usize,
    pub(crate) offset: usize,
    pub(crate) text: Text,
    /// A long text (`text_source`: a prompt, instructions, an entry).
    pub(crate) long: bool,
}

/// Where a document is: its file and the byte offset of its first byte
/// (for editing it in place later: `pull`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    pub file: PathBuf,
    pub base: usize,
}

/// Byte span of a value at `loc` in a document starting at byte `base` of `file`.
pub(super) fn span_in(file: &SourceFile, base: usize, loc: &Location) -> (usize, usize) {
    let span = loc.span();
    match span.byte_offset() {
        Some(off) => (base + off as usize, span.byte_len().unwrap_or(0) as usize),
        None => {
            let (line0, _) = file.line_col(base);
            let line = (line0 + loc.line() as usize).saturating_sub(1);
            (file.offset_of(line, loc.column() as usize), 0)
        }
    }
}

/// Everything read from a manifest tree, and what providers need to turn
/// their documents into desired state: typed parsing, located problems,
/// interpolation and confined file reads.
pub struct LoadContext<'a> {
    /// The manifest root: files referenced by manifests must resolve inside it.
    pub root: PathBuf,
    pub files: Vec<SourceFile>,
    /// Paths of `files`, same order.
    pub paths: Vec<PathBuf>,
    pub problems: Vec<Problem>,
    /// Every interpolated value, for the redactor.
    pub secrets: Vec<String>,
    /// The tree's variables (`${var.NAME}`), set before any provider parses.
    pub vars: Vars,
    /// Where each variable was set, for [`super::variables::check_unused`].
    pub var_settings: Vec<Setting>,
    /// Offline reading (`validate`): an unset environment variable is an
    /// unknown value rather than an error, and each use of one is recorded
    /// here. `None`: every `${VAR}` must be set (plan, apply).
    unknowns: Option<Vec<Unknown>>,
    env: &'a dyn Fn(&str) -> Option<String>,
    /// Byte ranges `(file, start, end)` of values that were interpolated.
    interpolated: Vec<(usize, usize, usize)>,
    /// Hidden files and folders that `--allow-hidden` lets be read.
    pub(super) allowed_hidden: Vec<PathBuf>,
    /// Every text providers interpolated or read, where it is declared
    /// (`None`: not recorded), for [`super::declared`].
    pub(super) recorded: Option<Vec<Recorded>>,
}

/// Hidden folders that are never read by a template or `{file: …}`, even
/// when allowed: they hold credentials by construction (a checkout's token,
/// stored signing secrets).
const NEVER_READ: &[&str] = &[".git", ".twinform"];

/// Whether a manifest may read `resolved` (canonical): inside `root`, and
/// with no hidden component (a file or folder starting with `.`) unless
/// `allowed` (canonical) names it or a folder above it (Trust II item 6: a
/// pull request's `{% include '.git/config' %}` must not put the checkout's
/// token into a plan comment). The error says why, for the reader.
pub fn readable(root: &Path, allowed: &[PathBuf], resolved: &Path) -> Result<(), String> {
    let Ok(rel) = resolved.strip_prefix(root) else {
        return Err("is outside the manifest root".into());
    };
    let hidden = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .find(|c| c.starts_with('.'));
    let Some(hidden) = hidden else {
        return Ok(());
    };
    if NEVER_READ.contains(&hidden.as_ref()) {
        return Err(format!(
            "is inside `{hidden}/`, which is never read (it holds credentials)"
        ));
    }
    if allowed.iter().any(|a| resolved.starts_with(a)) {
        return Ok(());
    }
    Err(format!(
        "is a hidden file (under `{hidden}`): hidden files often hold tokens, so they are read only with --allow-hidden"
    ))
}

/// A use of an unset environment variable, read offline: the variable and
/// the span of the string that uses it.
#[derive(Debug, Clone)]
struct Unknown {
    name: String,
    file: usize,
    offset: usize,
    len: usize,
}

/// The value an unknown variable takes while a tree is read offline: shaped
/// to pass the checks a credential or a URL gets (checks at its string that
/// fail anyway are dropped, see [`LoadContext::finish_offline`]). It is never
/// shown (the string is sensitive), and a tree read offline never reaches a
/// request or a file: [`crate::engine::session::check`] returns no desired state.
fn placeholder(name: &str) -> String {
    format!("https://unknown.invalid/{name}")
}

/// A document type whose identity fields (names, ids and references to
/// them) take `${var.NAME}`, so one tree can name things per environment
/// (`name: Support ${var.env}`). Identities never take the environment.
pub trait Identities {
    /// The identity fields, substituted in place right after parsing, so
    /// every later check (duplicates included) sees the final names.
    fn identities(&mut self) -> Vec<&mut Spanned<String>> {
        Vec::new()
    }
}

impl<'a> LoadContext<'a> {
    pub fn new(root: PathBuf, env: &'a dyn Fn(&str) -> Option<String>) -> Self {
        LoadContext {
            root,
            files: Vec::new(),
            paths: Vec::new(),
            problems: Vec::new(),
            secrets: Vec::new(),
            vars: Vars::default(),
            var_settings: Vec::new(),
            unknowns: None,
            env,
            interpolated: Vec::new(),
            allowed_hidden: Vec::new(),
            recorded: None,
        }
    }

    /// Keep every text providers interpolate or read, at the place it is
    /// declared, so what each document declares can be read back with its
    /// final values ([`super::declared::Declared`], for policies).
    pub fn record_texts(&mut self) {
        self.recorded.get_or_insert_with(Vec::new);
    }

    /// Record `text`, declared at `loc` of `doc` (`long`: a prompt).
    pub(super) fn record(&mut self, doc: &Document, loc: &Location, text: &Text, long: bool) {
        if self.recorded.is_none() {
            return;
        }
        let (offset, _) = self.span(doc.file, doc.base, loc);
        if let Some(r) = &mut self.recorded {
            r.push(Recorded {
                file: doc.file,
                offset,
                text: text.clone(),
                long,
            });
        }
    }

    /// Let templates and `{file: …}` read these hidden paths (relative to
    /// the root; those that do not exist are ignored).
    pub fn allow_hidden(&mut self, paths: &[PathBuf]) {
        self.allowed_hidden = paths
            .iter()
            .filter_map(|p| std::fs::canonicalize(self.root.join(p)).ok())
            .collect();
    }

    /// Record that the value at `loc` of `doc` was interpolated.
    fn mark_interpolated(&mut self, doc: &Document, loc: &Location) {
        let (off, len) = self.span(doc.file, doc.base, loc);
        self.interpolated.push((doc.file, off, off + len.max(1)));
    }

    /// Every `${…}` left in a value no provider interpolated is an error at
    /// its place (Trust II item 10): a `${MCP_TOKEN}` in a field that is not
    /// interpolated would otherwise be sent as written. Template `vars` take
    /// `${var.NAME}` and never the environment (a rendered prompt is shown in
    /// plans). Run after every provider loaded its documents.
    pub fn check_placeholders(&mut self, docs: &[Document]) {
        for doc in docs {
            // A document with an error may not have been read to its end:
            // what it did not reach is not reported as a second problem.
            let broken = self
                .problems
                .iter()
                .any(|q| q.is_error() && self.in_document(q, doc));
            if broken {
                continue;
            }
            for p in &doc.placeholders {
                let (off, _) = self.span(doc.file, doc.base, &p.at);
                if p.in_template_vars {
                    if let Some(name) = &p.env {
                        self.error(doc, &p.at, format!("template vars do not read the environment (`${{{name}}}`)"))
                            .set_help("a rendered prompt is shown in plans: use `${var.NAME}` (kind: Variables, --var-file), or `${VAR}` in an inline text");
                    }
                    continue;
                }
                let done = self
                    .interpolated
                    .iter()
                    .any(|(f, s, e)| *f == doc.file && (*s..*e).contains(&off));
                if !done {
                    let what = p
                        .env
                        .as_ref()
                        .map_or_else(|| "`${var.…}`".to_string(), |n| format!("`${{{n}}}`"));
                    self.error(doc, &p.at, format!("{what} is not interpolated in this field: it would be sent as written"))
                        .set_help("only text fields take `${VAR}` (URLs, headers, prompts, messages, secret values; names and ids take `${var.NAME}`); free-form values (schemas, definitions) take `${` as written");
                }
            }
        }
    }

    /// Read offline from now on: an unset environment variable is an
    /// unknown value (see [`LoadContext::finish_offline`]), not an error.
    pub fn read_offline(&mut self) {
        self.unknowns.get_or_insert_with(Vec::new);
    }

    /// After an offline read: errors at strings that use an unknown value are
    /// dropped (they were checked against a stand-in), and each unset
    /// variable gets one warning, at its first use. Returns the names.
    pub fn finish_offline(&mut self) -> Vec<String> {
        let Some(unknowns) = self.unknowns.take() else {
            return Vec::new();
        };
        let at = |p: &Problem, u: &Unknown| {
            p.is_error()
                && p.src
                    .as_ref()
                    .is_some_and(|s| s.name() == self.files[u.file].name)
                && p.span.is_some_and(|sp| sp.offset() == u.offset)
        };
        // The checks a stand-in failed, by variable: said in its warning
        // (what they left out may be missing from validate's counts).
        let mut failed: Vec<(String, String)> = Vec::new();
        let mut kept = Vec::new();
        for p in std::mem::take(&mut self.problems) {
            match unknowns.iter().find(|u| at(&p, u)) {
                Some(u) => failed.push((u.name.clone(), p.message)),
                None => kept.push(p),
            }
        }
        self.problems = kept;
        let mut names: Vec<String> = Vec::new();
        for u in &unknowns {
            if names.contains(&u.name) {
                continue;
            }
            names.push(u.name.clone());
            let more = unknowns.iter().filter(|v| v.name == u.name).count() - 1;
            let mut help =
                "validate checks everything else; plan and apply need its value (set it where they run)"
                    .to_string();
            if more > 0 {
                help.push_str(&format!(
                    "; used in {more} more place{}",
                    if more == 1 { "" } else { "s" }
                ));
            }
            let skipped: Vec<&str> = failed
                .iter()
                .filter(|(n, _)| *n == u.name)
                .map(|(_, m)| m.as_str())
                .collect();
            if !skipped.is_empty() {
                help.push_str(&format!(
                    "; not checked without its value: {}",
                    skipped.join("; ")
                ));
            }
            let mut p = Problem::at(
                &self.files[u.file],
                u.offset,
                u.len,
                format!(
                    "environment variable `{}` is not set: checked as an unknown value",
                    u.name
                ),
            )
            .help(help);
            p.severity = miette::Severity::Warning;
            self.problems.push(p);
        }
        names
    }

    /// Byte span of a spanned value inside its file.
    pub fn span(&self, file: usize, base: usize, loc: &Location) -> (usize, usize) {
        span_in(&self.files[file], base, loc)
    }

    /// A problem at a spanned value of `doc` (not yet recorded).
    pub fn problem_at(&self, doc: &Document, loc: &Location, msg: impl Into<String>) -> Problem {
        let (off, len) = self.span(doc.file, doc.base, loc);
        Problem::at(&self.files[doc.file], off, len, msg)
    }

    /// Record an error at a spanned value of `doc`; returns it to add help.
    pub fn error(
        &mut self,
        doc: &Document,
        loc: &Location,
        msg: impl Into<String>,
    ) -> &mut Problem {
        let p = self.problem_at(doc, loc, msg);
        self.problems.push(p);
        let last = self.problems.len() - 1;
        &mut self.problems[last]
    }

    /// Record an error about a document as a whole (at its start).
    pub fn document_error(&mut self, doc: &Document, msg: impl Into<String>) -> &mut Problem {
        let p = Problem::at(&self.files[doc.file], doc.base, 0, msg);
        self.problems.push(p);
        let last = self.problems.len() - 1;
        &mut self.problems[last]
    }

    /// Record a warning at a spanned value of `doc`.
    pub fn warning(
        &mut self,
        doc: &Document,
        loc: &Location,
        msg: impl Into<String>,
    ) -> &mut Problem {
        let p = self.error(doc, loc, msg);
        p.severity = miette::Severity::Warning;
        p
    }

    /// `file:line:col` of a spanned value, for "first declared at".
    pub fn location(&self, doc: &Document, loc: &Location) -> String {
        let (off, _) = self.span(doc.file, doc.base, loc);
        let (l, c) = self.files[doc.file].line_col(off);
        format!("{}:{l}:{c}", self.files[doc.file].name)
    }

    /// `file:line` of a document's value, for messages about the object.
    pub fn source(&self, doc: &Document, loc: &Location) -> String {
        let (off, _) = self.span(doc.file, doc.base, loc);
        let (l, _) = self.files[doc.file].line_col(off);
        format!("{}:{l}", self.files[doc.file].name)
    }

    /// Parse `doc` as its provider's concrete type, with `${var.NAME}`
    /// substituted in its identities; a failure is recorded.
    pub fn parse<T: DeserializeOwned + Identities>(&mut self, doc: &Document) -> Option<T> {
        let mut parsed: T = self.parse_raw(doc)?;
        let mut ok = true;
        let mut substituted = Vec::new();
        for field in parsed.identities() {
            if !field.value.contains("${var.") {
                continue;
            }
            match substitute_vars(&field.value, &self.vars) {
                Ok(v) => {
                    field.value = v;
                    substituted.push(field.referenced);
                }
                Err(e) => {
                    self.error(doc, &field.referenced, e.to_string());
                    ok = false;
                }
            }
        }
        for at in substituted {
            self.mark_interpolated(doc, &at);
        }
        ok.then_some(parsed)
    }

    fn parse_raw<T: DeserializeOwned>(&mut self, doc: &Document) -> Option<T> {
        let mut problems = Vec::new();
        let mut parsed = parse_doc(self, doc.file, doc.base, &doc.text, &mut problems);
        if parsed.is_none() && !doc.unknown.is_empty() {
            // Its unknown fields are reported; read the rest without them,
            // so that a typo does not hide a missing file or a duplicate id.
            let mut again = Vec::new();
            let text = retry::checked_without(&doc.text, &doc.node, &doc.unknown);
            if let Some(v) = text.and_then(|t| parse_doc(self, doc.file, doc.base, &t, &mut again))
            {
                (parsed, problems) = (Some(v), again);
            }
        }
        // Unknown fields were reported when the document was read (all of
        // them, at any depth); serde's report of the first one is a repeat
        // only when that walk found the same key in this document.
        let repeats = |p: &Problem| {
            let Some(key) = p.message.strip_prefix("unknown field `") else {
                return false;
            };
            let key = key.split('`').next().unwrap_or_default();
            let same = format!("unknown field `{key}`");
            self.problems
                .iter()
                .any(|q| q.message == same && self.in_document(q, doc))
        };
        let fresh: Vec<Problem> = problems.into_iter().filter(|p| !repeats(p)).collect();
        self.problems.extend(fresh);
        // A document that did not parse is never dropped silently: whatever
        // the reason, at least one error points into it.
        if parsed.is_none()
            && !self
                .problems
                .iter()
                .any(|q| q.is_error() && self.in_document(q, doc))
        {
            self.document_error(
                doc,
                format!("this `{}` document could not be read", doc.kind.value),
            );
        }
        parsed
    }

    /// Whether `p` points into `doc` (its file, inside its bytes).
    fn in_document(&self, p: &Problem, doc: &Document) -> bool {
        let file = &self.files[doc.file];
        let same_file = p.src.as_ref().is_some_and(|s| s.name() == file.name);
        let inside = p
            .span
            .is_some_and(|sp| (doc.base..=doc.base + doc.text.len()).contains(&sp.offset()));
        same_file && inside
    }

    /// An identity (a name, an id, a reference to one) with `${var.NAME}`
    /// substituted; a problem is recorded. Identities never take the
    /// environment (a `${VAR}` left in one is reported by
    /// [`LoadContext::check_placeholders`]).
    pub fn identity(&mut self, doc: &Document, s: &Spanned<String>) -> Option<String> {
        if !s.value.contains("${var.") {
            return Some(s.value.clone());
        }
        match substitute_vars(&s.value, &self.vars) {
            Ok(v) => {
                self.mark_interpolated(doc, &s.referenced);
                Some(v)
            }
            Err(e) => {
                self.error(doc, &s.referenced, e.to_string());
                None
            }
        }
    }

    /// Interpolate a manifest string; an unset or malformed variable is
    /// recorded (read offline, an unset one is an unknown value instead).
    pub fn text(&mut self, doc: &Document, s: &Spanned<String>) -> Option<Text> {
        self.mark_interpolated(doc, &s.referenced);
        let env = self.env;
        let mut unknown: Vec<String> = Vec::new();
        loop {
            let lookup = |name: &str| {
                env(name).or_else(|| unknown.iter().any(|u| u == name).then(|| placeholder(name)))
            };
            match interpolate_with(&s.value, &lookup, &self.vars) {
                Ok(t) => {
                    let stand_ins: Vec<String> = unknown.iter().map(|n| placeholder(n)).collect();
                    self.secrets.extend(
                        t.secrets()
                            .iter()
                            .filter(|v| !stand_ins.iter().any(|p| v.contains(p.as_str())))
                            .cloned(),
                    );
                    if let Some(all) = &mut self.unknowns {
                        let (offset, len) = span_in(&self.files[doc.file], doc.base, &s.referenced);
                        all.extend(unknown.into_iter().map(|name| Unknown {
                            name,
                            file: doc.file,
                            offset,
                            len,
                        }));
                    }
                    self.record(doc, &s.referenced, &t, false);
                    return Some(t);
                }
                Err(InterpolateError::Unset(name))
                    if self.unknowns.is_some() && !unknown.contains(&name) =>
                {
                    unknown.push(name);
                }
                Err(e) => {
                    let help = self.interpolation_help(&e);
                    let p = self.error(doc, &s.referenced, e.to_string());
                    if let Some(h) = help {
                        p.set_help(h);
                    }
                    return None;
                }
            }
        }
    }

    /// What to do about a failed interpolation: where to set an environment
    /// variable, or the closest variable that is set (a misspelt name).
    fn interpolation_help(&self, e: &InterpolateError) -> Option<String> {
        match e {
            InterpolateError::Unset(_) => Some(
                "set it where twinform runs; `validate` checks without it, but plan and apply need its value"
                    .into(),
            ),
            InterpolateError::Undefined(name) => {
                let names: Vec<&str> = self.vars.names().collect();
                let m = did_you_mean(name, &names)?;
                Some(format!(
                    "did you mean `{m}` (set in {})?",
                    self.vars.origin(m).unwrap_or("?")
                ))
            }
            InterpolateError::Malformed(_) => None,
        }
    }

    /// Register secrets that are not interpolated (`sensitive: true` literals).
    pub fn add_secrets(&mut self, t: &Text) {
        self.secrets.extend(t.secrets().iter().cloned());
    }

    /// Read a text file named (relative to its manifest) by `doc` at `loc`,
    /// refusing anything that resolves outside the manifest root. `what`
    /// names it in messages ("instruction file").
    pub fn read_file(
        &mut self,
        doc: &Document,
        loc: &Location,
        what: &str,
        rel: &str,
    ) -> Option<String> {
        let dir = self.paths[doc.file]
            .parent()
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let resolved = match std::fs::canonicalize(dir.join(rel)) {
            Ok(p) => p,
            Err(e) => {
                self.error(doc, loc, format!("{what} `{rel}` cannot be read: {e}"));
                return None;
            }
        };
        if let Err(why) = readable(&self.root, &self.allowed_hidden, &resolved) {
            let root = self.root.display().to_string();
            self.error(doc, loc, format!("{what} `{rel}` {why}"))
                .set_help(format!(
                    "{what}s must resolve (symlinks included) inside {root}, outside hidden folders"
                ));
            return None;
        }
        let mut problems = Vec::new();
        let text = read_text(&resolved, Content::Text, &mut problems);
        self.problems.extend(problems);
        // A byte-order mark is an encoding artefact of some editors, not text.
        text.map(|t| t.strip_prefix('\u{feff}').map(str::to_string).unwrap_or(t))
    }

    /// Where `doc` is, for editing it in place later (`pull`).
    pub fn origin(&self, doc: &Document) -> Origin {
        Origin {
            file: self.paths[doc.file].clone(),
            base: doc.base,
        }
    }

    /// Whether an error has been recorded.
    pub fn has_errors(&self) -> bool {
        self.problems.iter().any(Problem::is_error)
    }
}

/// Read every manifest below `path` into documents, checked as far as the
/// kinds' schemas go. Problems are collected in the context, never fatal.
pub fn load<'a>(
    path: &Path,
    kinds: &KindTable,
    env: &'a dyn Fn(&str) -> Option<String>,
) -> (LoadContext<'a>, Vec<Document>) {
    let mut ctx = LoadContext::new(root_of(path), env);
    let files = discover(path, &ctx.root, &mut ctx.problems);
    if files.is_empty() && ctx.problems.is_empty() {
        ctx.problems.push(Problem::file(
            &path.display().to_string(),
            "no manifests found (*.yaml or *.yml)",
        ));
    }
    let mut docs = Vec::new();
    let mut skipped = 0;
    for file in files {
        if let Some(text) = read_text(&file, Content::Yaml, &mut ctx.problems) {
            let idx = ctx.files.len();
            ctx.files
                .push(SourceFile::new(file.display().to_string(), text));
            ctx.paths.push(file);
            skipped += usize::from(!parse_file(&mut ctx, kinds, idx, &mut docs));
        }
    }
    if skipped > 0 && skipped == ctx.files.len() {
        ctx.problems.push(Problem::file(
            &path.display().to_string(),
            "no manifests found: no YAML file here has a document with a `kind`",
        ));
    }
    (ctx, docs)
}

/// Parser settings: strict booleans, and alias replay capped far below what an
/// alias bomb needs (a manifest has no use for thousands of alias expansions).
pub(super) fn options() -> Options {
    serde_saphyr::options! {
        strict_booleans: true,
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 20_000,
            max_replay_stack_depth: 16,
        },
    }
}

/// Whether a document without `kind` looks like a twinform manifest (a
/// near-miss of `kind`, or only twinform field names) rather than some other
/// tool's YAML (a CI file, a pre-commit config).
fn looks_like_manifest(node: &Node, fields: &[&str]) -> bool {
    let Node::Map(entries) = node else {
        // A scalar or a list is nobody's configuration file: an error, not a skip.
        return true;
    };
    let mut keys = node.keys();
    entries.is_empty()
        || node
            .keys()
            .any(|k| k.value != "kind" && did_you_mean(&k.value, &["kind"]).is_some())
        || keys.all(|k| fields.contains(&k.value.as_str()))
}

/// Read one file's documents; `false` when the file was skipped as not a manifest.
fn parse_file(
    ctx: &mut LoadContext,
    kinds: &KindTable,
    idx: usize,
    out: &mut Vec<Document>,
) -> bool {
    let text = ctx.files[idx].text.clone();
    let fields = kinds.fields();
    let mut nodes = Vec::new();
    let mut broken = false;
    for (base, doc) in split_documents(&text) {
        let mut problems = Vec::new();
        match parse_doc::<Spanned<Node>>(ctx, idx, base, doc, &mut problems) {
            Some(node) => nodes.push((base, doc, node)),
            None => broken = true,
        }
        ctx.problems.extend(problems);
    }
    let is_manifest =
        |n: &Spanned<Node>| n.value.get("kind").is_some() || looks_like_manifest(&n.value, &fields);
    if !broken && !nodes.is_empty() && !nodes.iter().any(|(_, _, n)| is_manifest(n)) {
        let mut note = Problem::file(
            &ctx.files[idx].name,
            "skipped: no document in it has a `kind`, so it is not a twinform manifest",
        )
        .help(format!("list it in {IGNORE_FILE} to silence this note"));
        note.severity = miette::Severity::Advice;
        ctx.problems.push(note);
        return false;
    }
    for (base, doc, node) in nodes {
        if let Some(d) = read_document(ctx, kinds, idx, base, doc, &node) {
            out.push(d);
        }
    }
    true
}

/// Only the `kind` of a document (the rest is its provider's business).
#[derive(Deserialize)]
struct KindOnly {
    kind: Spanned<String>,
}

/// A document's kind, after reporting every unknown field it has.
fn read_document(
    ctx: &mut LoadContext,
    kinds: &KindTable,
    idx: usize,
    base: usize,
    text: &str,
    node: &Spanned<Node>,
) -> Option<Document> {
    let names = kinds.names();
    let Some(kind_node) = node.value.get("kind") else {
        let p = match &node.value {
            Node::Map(_) => Problem::at(&ctx.files[idx], base, 0, "document has no `kind`"),
            _ => {
                let (off, len) = ctx.span(idx, base, &node.referenced);
                Problem::at(
                    &ctx.files[idx],
                    off,
                    len,
                    "a document must be a mapping with a `kind`",
                )
            }
        };
        ctx.problems
            .push(p.help(format!("every document needs a kind: {}", names.join(", "))));
        return None;
    };
    let mut problems = Vec::new();
    let kind = parse_doc::<KindOnly>(ctx, idx, base, text, &mut problems).map(|k| k.kind);
    ctx.problems.extend(problems);
    let kind = kind?;
    let schema = kinds.schema(&kind.value);
    let doc = Document {
        file: idx,
        base,
        text: text.to_string(),
        kind: kind.clone(),
        placeholders: schema
            .map(|s| node::placeholders(node, s))
            .unwrap_or_default(),
        node: std::sync::Arc::new(node.clone()),
        unknown: Vec::new(),
    };
    let Some(schema) = schema else {
        let mut p = ctx.problem_at(
            &doc,
            &kind_node.referenced,
            format!("unknown kind `{}`", kind.value),
        );
        p = match did_you_mean(&kind.value, &names) {
            Some(s) => p.help(format!("did you mean `{s}`?")),
            None => p.help(format!("kinds are {}", names.join(", "))),
        };
        ctx.problems.push(p);
        return None;
    };
    let fields = kinds.fields();
    let mut doc = doc;
    for u in node::unknown_fields(&node.value, schema) {
        doc.unknown.push(retry::entry(text, u.key, u.value));
        let allowed: Vec<&str> = u.allowed.iter().map(String::as_str).collect();
        let mut p = ctx.problem_at(
            &doc,
            &u.key.referenced,
            format!("unknown field `{}`", u.key.value),
        );
        p = match did_you_mean(&u.key.value, &allowed)
            .or_else(|| did_you_mean(&u.key.value, &fields))
        {
            Some(s) => p.help(format!("did you mean `{s}`?")),
            None => p.help(format!("fields here are {}", allowed.join(", "))),
        };
        ctx.problems.push(p);
    }
    Some(doc)
}

fn parse_doc<T: DeserializeOwned>(
    ctx: &LoadContext,
    idx: usize,
    base: usize,
    doc: &str,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    match serde_saphyr::from_str_with_options::<T>(doc, options()) {
        Ok(v) => Some(v),
        Err(e) => {
            problems.push(yaml_problem(ctx, idx, base, &e));
            None
        }
    }
}

fn yaml_problem(ctx: &LoadContext, idx: usize, base: usize, e: &serde_saphyr::Error) -> Problem {
    let message = humanize(&first_line(&e.without_snippet().to_string()));
    match e.location() {
        Some(loc) if loc.line() > 0 => {
            let (off, len) = ctx.span(idx, base, &loc);
            Problem::at(&ctx.files[idx], off, len, message)
        }
        _ => Problem::at(&ctx.files[idx], base, 0, message),
    }
}

/// The parser's message in the manifest's words, without advice meant for
/// the programmer of a Rust program (`use Option<String>`, `DuplicateKeyPolicy`).
fn humanize(message: &str) -> String {
    if message.contains("untagged enum TextSource") {
        return "expected text or `{file: path}` here".into();
    }
    if let Some(key) = message.strip_prefix("duplicate mapping key: ") {
        let key = key.split(',').next().unwrap_or(key).trim();
        return format!("the key `{key}` appears twice in this mapping");
    }
    if message.starts_with("cannot deserialize null into") {
        return "a value is required here, not null".into();
    }
    let mut out = message.to_string();
    for advice in ["; use Option<", ", set DuplicateKeyPolicy"] {
        if let Some(i) = out.find(advice) {
            out.truncate(i);
        }
    }
    out
}

/// The message's first line without saphyr's own " at line N, column M"
/// (it counts from the document, not the file; the diagnostic has the right place).
fn first_line(s: &str) -> String {
    let line = s.lines().find(|l| !l.trim().is_empty()).unwrap_or(s).trim();
    match line.rfind(" at line ") {
        Some(i) if line[i..].contains("column") => line[..i].to_string(),
        _ => line.to_string(),
    }
}

mod retry;
#[cfg(test)]
use retry::without;

#[cfg(test)]
mod tests;

//! Reading manifest files: discovery, size and encoding limits, splitting into
//! YAML documents and deserializing each with positions.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_saphyr::{Location, Options};

use super::diagnostic::{did_you_mean, Problem, SourceFile};
use super::model::{self, AgentDoc, WorkspaceDoc};
use super::node::{self, Node};
use serde_saphyr::Spanned;

/// The largest manifest file read (a 50 MB file is refused at once).
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// A parsed document with the file it came from and where in it it starts.
#[derive(Debug)]
pub struct Doc<T> {
    pub file: usize,
    pub doc: T,
    /// Byte offset of the document's first byte in its file.
    pub base: usize,
}

/// Everything read from a manifest tree.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The manifest root: instruction files must resolve inside it.
    pub root: PathBuf,
    pub files: Vec<SourceFile>,
    /// Paths of `files`, same order.
    pub paths: Vec<PathBuf>,
    pub workspaces: Vec<Doc<WorkspaceDoc>>,
    pub agents: Vec<Doc<AgentDoc>>,
}

impl Loaded {
    /// Byte span of a spanned value inside its file.
    pub fn span(&self, file: usize, base: usize, loc: &Location) -> (usize, usize) {
        let span = loc.span();
        match span.byte_offset() {
            Some(off) => (base + off as usize, span.byte_len().unwrap_or(0) as usize),
            None => {
                let f = &self.files[file];
                let (line0, _) = f.line_col(base);
                let off = f.offset_of(line0 + loc.line() as usize - 1, loc.column() as usize);
                (off, 0)
            }
        }
    }

    /// A problem at a spanned value.
    pub fn problem(
        &self,
        file: usize,
        base: usize,
        loc: &Location,
        msg: impl Into<String>,
    ) -> Problem {
        let (off, len) = self.span(file, base, loc);
        Problem::at(&self.files[file], off, len, msg)
    }
}

/// The name of the ignore file honoured in every folder of a manifest tree
/// (gitignore syntax), for YAML files that are not manifests.
pub const IGNORE_FILE: &str = ".twinformignore";

/// The YAML files below `path` (or `path` itself), sorted. Hidden files and
/// folders are skipped, `.twinformignore` is honoured, and every file must
/// resolve (symlinks included) to a regular file inside `root`: a symlink to
/// `/proc/self/environ` or a FIFO is refused with a problem, never read.
pub fn discover(path: &Path, root: &Path, problems: &mut Vec<Problem>) -> Vec<PathBuf> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            problems.push(Problem::file(
                &path.display().to_string(),
                format!("cannot read: {e}"),
            ));
            return Vec::new();
        }
    };
    if !meta.is_dir() {
        return confined(path, root, problems).into_iter().collect();
    }
    let walker = ignore::WalkBuilder::new(path)
        .standard_filters(false)
        .hidden(true)
        .follow_links(false)
        .add_custom_ignore_filename(IGNORE_FILE)
        .build();
    let mut out = Vec::new();
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                problems.push(Problem::file(
                    &path.display().to_string(),
                    format!("cannot read the folder: {e}"),
                ));
                continue;
            }
        };
        let name = entry.file_name().to_string_lossy();
        let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
        if is_dir || !(name.ends_with(".yaml") || name.ends_with(".yml")) {
            continue;
        }
        out.extend(confined(entry.path(), root, problems));
    }
    out.sort();
    out
}

/// `path` if it resolves to a regular file inside `root`; otherwise a problem.
pub fn confined(path: &Path, root: &Path, problems: &mut Vec<Problem>) -> Option<PathBuf> {
    let name = path.display().to_string();
    let resolved = match std::fs::canonicalize(path) {
        Ok(p) => p,
        Err(e) => {
            problems.push(Problem::file(&name, format!("cannot read: {e}")));
            return None;
        }
    };
    if !resolved.starts_with(root) {
        problems.push(
            Problem::file(&name, "resolves outside the manifest root; it was not read").help(
                format!(
                    "manifests must resolve (symlinks included) inside {}",
                    root.display()
                ),
            ),
        );
        return None;
    }
    Some(path.to_path_buf())
}

/// The root instruction files must stay inside.
pub fn root_of(path: &Path) -> PathBuf {
    let base = if path.is_dir() {
        path.to_path_buf()
    } else {
        path.parent().map(Path::to_path_buf).unwrap_or_default()
    };
    let base = if base.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        base
    };
    std::fs::canonicalize(&base).unwrap_or(base)
}

/// Read and parse every manifest below `path`. Problems are collected, never fatal.
pub fn load(path: &Path, problems: &mut Vec<Problem>) -> Loaded {
    let mut loaded = Loaded {
        root: root_of(path),
        ..Default::default()
    };
    let before = problems.len();
    let files = discover(path, &loaded.root, problems);
    if files.is_empty() && problems.len() == before {
        problems.push(Problem::file(
            &path.display().to_string(),
            "no manifests found (*.yaml or *.yml)",
        ));
    }
    let mut skipped = 0;
    for file in files {
        if let Some(text) = read_text(&file, Content::Yaml, problems) {
            let idx = loaded.files.len();
            loaded
                .files
                .push(SourceFile::new(file.display().to_string(), text));
            loaded.paths.push(file);
            skipped += usize::from(!parse_file(&mut loaded, idx, problems));
        }
    }
    if skipped > 0 && skipped == loaded.files.len() {
        problems.push(Problem::file(
            &path.display().to_string(),
            "no manifests found: no YAML file here has a document with a `kind`",
        ));
    }
    loaded
}

/// What a file read by [`read_text`] must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// A manifest: YAML allows no control characters but tab, LF and CR.
    Yaml,
    /// Any UTF-8 text (a prompt).
    Text,
}

/// Open a file for reading without blocking on a FIFO, and refuse anything
/// that is not a regular file (checked on the open handle, so a file swapped
/// for a FIFO after a check is still refused).
fn open_regular(file: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let f = options.open(file)?;
    if !f.metadata()?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file (a FIFO, device or socket is never read)",
        ));
    }
    Ok(f)
}

/// Read a regular file as UTF-8 within the size limit. Content that is not
/// text is refused by byte offset, never shown as a snippet: a file that is
/// not a manifest (a symlinked environment, a binary) must not be echoed.
pub fn read_text(file: &Path, content: Content, problems: &mut Vec<Problem>) -> Option<String> {
    use std::io::Read;
    let name = file.display().to_string();
    let mut bytes = Vec::new();
    let read = open_regular(file).and_then(|f| {
        f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
        Ok(())
    });
    if let Err(e) = read {
        problems.push(Problem::file(&name, format!("cannot read: {e}")));
        return None;
    }
    if bytes.len() as u64 > MAX_FILE_BYTES {
        problems.push(
            Problem::file(
                &name,
                format!("file is too large (over {MAX_FILE_BYTES} bytes)"),
            )
            .help("split it into several files, or move long prompts into instruction files"),
        );
        return None;
    }
    let bad_control = |b: &u8| b.is_ascii_control() && !matches!(b, b'\t' | b'\n' | b'\r');
    if content == Content::Yaml {
        if let Some(at) = bytes.iter().position(bad_control) {
            problems.push(Problem::file(
                &name,
                format!(
                    "not a YAML text file: control byte 0x{:02x} at byte offset {at}",
                    bytes[at]
                ),
            ));
            return None;
        }
    }
    match String::from_utf8(bytes) {
        Ok(text) => Some(text),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let byte = e.as_bytes().get(at).copied().unwrap_or_default();
            problems.push(Problem::file(
                &name,
                format!("file is not valid UTF-8: invalid byte 0x{byte:02x} at byte offset {at}"),
            ));
            None
        }
    }
}

/// Split a file into YAML documents: `(byte offset, text)` for each. A line that
/// starts with `---` or `...` is a document marker everywhere in YAML (it may
/// not appear inside any scalar), so splitting on it is exact.
pub fn split_documents(text: &str) -> Vec<(usize, &str)> {
    let mut docs = Vec::new();
    let mut start = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        let marker = ["---", "..."].iter().any(|m| {
            bare.strip_prefix(m)
                .is_some_and(|r| r.is_empty() || r.starts_with([' ', '\t']))
        });
        if marker {
            docs.push((start, &text[start..offset]));
            // Keep `--- {inline}` content: the document starts after the marker.
            start = offset + 3;
        }
        offset += line.len();
    }
    docs.push((start, &text[start..]));
    docs.retain(|(_, d)| has_content(d));
    docs
}

fn has_content(doc: &str) -> bool {
    doc.lines().any(|l| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with('#') && !t.starts_with('%')
    })
}

/// Parser settings: strict booleans, and alias replay capped far below what an
/// alias bomb needs (a manifest has no use for thousands of alias expansions).
fn options() -> Options {
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
fn looks_like_manifest(node: &Node) -> bool {
    let Node::Map(entries) = node else {
        // A scalar or a list is nobody's configuration file: an error, not a skip.
        return true;
    };
    let mut keys = node.keys();
    entries.is_empty()
        || (node
            .keys()
            .any(|k| k.value != "kind" && did_you_mean(&k.value, &["kind"]).is_some())
            || keys.all(|k| ALL_FIELDS.contains(&k.value.as_str())))
}

/// Parse one file's documents; `false` when the file was skipped as not a manifest.
fn parse_file(loaded: &mut Loaded, idx: usize, problems: &mut Vec<Problem>) -> bool {
    let text = loaded.files[idx].text.clone();
    let mut nodes = Vec::new();
    let mut broken = false;
    for (base, doc) in split_documents(&text) {
        match parse_doc::<Spanned<Node>>(loaded, idx, base, doc, problems) {
            Some(node) => nodes.push((base, doc, node)),
            None => broken = true,
        }
    }
    let is_manifest =
        |n: &Spanned<Node>| n.value.get("kind").is_some() || looks_like_manifest(&n.value);
    if !broken && !nodes.is_empty() && !nodes.iter().any(|(_, _, n)| is_manifest(n)) {
        let mut note = Problem::file(
            &loaded.files[idx].name,
            "skipped: no document in it has a `kind`, so it is not a twinform manifest",
        )
        .help(format!("list it in {IGNORE_FILE} to silence this note"));
        note.severity = miette::Severity::Advice;
        problems.push(note);
        return false;
    }
    for (base, doc, node) in nodes {
        parse_document(loaded, idx, base, doc, &node, problems);
    }
    true
}

fn parse_document(
    loaded: &mut Loaded,
    idx: usize,
    base: usize,
    doc: &str,
    node: &Spanned<Node>,
    problems: &mut Vec<Problem>,
) {
    let kinds = model::KINDS;
    let Some(kind_node) = node.value.get("kind") else {
        let p = match &node.value {
            Node::Map(_) => Problem::at(&loaded.files[idx], base, 0, "document has no `kind`"),
            _ => loaded.problem(
                idx,
                base,
                &node.referenced,
                "a document must be a mapping with a `kind`",
            ),
        };
        problems.push(p.help(format!("every document needs a kind: {}", kinds.join(", "))));
        return;
    };
    let Some(kind) = parse_doc::<model::KindOnly>(loaded, idx, base, doc, problems).map(|k| k.kind)
    else {
        return;
    };
    let Some(schema) = model::kind_schema(&kind.value) else {
        let mut p = loaded.problem(
            idx,
            base,
            &kind_node.referenced,
            format!("unknown kind `{}`", kind.value),
        );
        p = match did_you_mean(&kind.value, kinds) {
            Some(s) => p.help(format!("did you mean `{s}`?")),
            None => p.help(format!("kinds are {}", kinds.join(", "))),
        };
        problems.push(p);
        return;
    };
    let unknown = node::unknown_fields(&node.value, &schema);
    for u in &unknown {
        let allowed: Vec<&str> = u.allowed.iter().map(String::as_str).collect();
        let mut p = loaded.problem(
            idx,
            base,
            &u.key.referenced,
            format!("unknown field `{}`", u.key.value),
        );
        p = match did_you_mean(&u.key.value, &allowed)
            .or_else(|| did_you_mean(&u.key.value, ALL_FIELDS))
        {
            Some(s) => p.help(format!("did you mean `{s}`?")),
            None => p.help(format!("fields here are {}", allowed.join(", "))),
        };
        problems.push(p);
    }
    let mut typed = Vec::new();
    let file = idx;
    match kind.value.as_str() {
        "Workspace" => {
            if let Some(doc) = parse_doc::<WorkspaceDoc>(loaded, idx, base, doc, &mut typed) {
                loaded.workspaces.push(Doc { file, doc, base });
            }
        }
        "Agent" => {
            if let Some(doc) = parse_doc::<AgentDoc>(loaded, idx, base, doc, &mut typed) {
                loaded.agents.push(Doc { file, doc, base });
            }
        }
        _ => {}
    }
    // Unknown fields are all reported above; serde's own report of the first is a repeat.
    problems.extend(
        typed
            .into_iter()
            .filter(|p| unknown.is_empty() || !p.message.starts_with("unknown field")),
    );
}

fn parse_doc<T: DeserializeOwned>(
    loaded: &Loaded,
    idx: usize,
    base: usize,
    doc: &str,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    match serde_saphyr::from_str_with_options::<T>(doc, options()) {
        Ok(v) => Some(v),
        Err(e) => {
            problems.push(yaml_problem(loaded, idx, base, &e));
            None
        }
    }
}

const ALL_FIELDS: &[&str] = &[
    "kind",
    "name",
    "id",
    "icon",
    "prune",
    "workspace",
    "subagent",
    "derived_from",
    "instructions",
    "schedule",
    "webhooks",
    "cron",
    "paused",
    "url",
    "events",
    "enabled",
    "file",
];

fn yaml_problem(loaded: &Loaded, idx: usize, base: usize, e: &serde_saphyr::Error) -> Problem {
    let message = humanize(&first_line(&e.without_snippet().to_string()));
    let mut p = match e.location() {
        Some(loc) if loc.line() > 0 => loaded.problem(idx, base, &loc, message.clone()),
        _ => Problem::at(&loaded.files[idx], base, 0, message.clone()),
    };
    if let Some(field) = unknown_field(&message) {
        if let Some(s) = did_you_mean(&field, ALL_FIELDS) {
            p = p.help(format!("did you mean `{s}`?"));
        }
    }
    p
}

/// The parser's message in the manifest's words, without advice meant for
/// the programmer of a Rust program (`use Option<String>`, `DuplicateKeyPolicy`).
fn humanize(message: &str) -> String {
    if message.contains("untagged enum InstructionsSpec") {
        return "instructions must be text or `{file: path}`".into();
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

fn unknown_field(message: &str) -> Option<String> {
    let rest = message.split("unknown field").nth(1)?;
    let start = rest.find(['`', '"', '\''])?;
    let rest = &rest[start + 1..];
    let end = rest.find(['`', '"', '\''])?;
    Some(rest[..end].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_markers_only_at_line_start() {
        let docs = split_documents("# c\nkind: A\n---\nkind: B\n  ---x\n--- \nkind: C\n...\n");
        let texts: Vec<&str> = docs.iter().map(|(_, d)| d.trim()).collect();
        assert_eq!(texts, vec!["# c\nkind: A", "kind: B\n  ---x", "kind: C"]);
        assert_eq!(docs[1].0, "# c\nkind: A\n---".len());
    }

    #[test]
    fn comment_only_documents_are_dropped() {
        assert!(split_documents("# only a comment\n---\n\n").is_empty());
    }
}

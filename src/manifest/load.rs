//! Reading manifest files: discovery, size and encoding limits, splitting into
//! YAML documents and deserializing each with positions.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_saphyr::{Location, Options};

use super::diagnostic::{did_you_mean, Problem, SourceFile};
use super::model::{AgentDoc, Header, WorkspaceDoc};

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

/// The YAML files below `path` (or `path` itself), sorted, hidden folders skipped.
pub fn discover(path: &Path) -> Result<Vec<PathBuf>, Problem> {
    let meta = std::fs::metadata(path)
        .map_err(|e| Problem::file(&path.display().to_string(), format!("cannot read: {e}")))?;
    if meta.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    walk(path, &mut out)?;
    out.sort();
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), Problem> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Problem::file(&dir.display().to_string(), format!("cannot read: {e}")))?;
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let Ok(ft) = entry.file_type() else { continue };
        if ft.is_dir() {
            if !name.starts_with('.') {
                walk(&path, out)?;
            }
        } else if name.ends_with(".yaml") || name.ends_with(".yml") {
            out.push(path);
        }
    }
    Ok(())
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
    let files = match discover(path) {
        Ok(f) => f,
        Err(p) => {
            problems.push(p);
            return loaded;
        }
    };
    if files.is_empty() {
        problems.push(Problem::file(
            &path.display().to_string(),
            "no manifests found (*.yaml or *.yml)",
        ));
    }
    for file in files {
        if let Some(text) = read_text(&file, problems) {
            let idx = loaded.files.len();
            loaded
                .files
                .push(SourceFile::new(file.display().to_string(), text));
            loaded.paths.push(file);
            parse_file(&mut loaded, idx, problems);
        }
    }
    loaded
}

/// Read a file as UTF-8 within the size limit.
pub fn read_text(file: &Path, problems: &mut Vec<Problem>) -> Option<String> {
    let name = file.display().to_string();
    let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    if size > MAX_FILE_BYTES {
        problems.push(
            Problem::file(
                &name,
                format!("file is too large ({size} bytes; the limit is {MAX_FILE_BYTES})"),
            )
            .help("split it into several files, or move long prompts into instruction files"),
        );
        return None;
    }
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            problems.push(Problem::file(&name, format!("cannot read: {e}")));
            return None;
        }
    };
    match String::from_utf8(bytes) {
        Ok(text) => Some(text),
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let bytes = e.into_bytes();
            let prefix = String::from_utf8_lossy(&bytes[..valid]).into_owned();
            let src = SourceFile::new(name.clone(), prefix);
            problems.push(
                Problem::at(&src, valid, 0, "file is not valid UTF-8").label(format!(
                    "invalid byte 0x{:02x} after this point",
                    bytes[valid]
                )),
            );
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

fn parse_file(loaded: &mut Loaded, idx: usize, problems: &mut Vec<Problem>) {
    let text = loaded.files[idx].text.clone();
    for (base, doc) in split_documents(&text) {
        let header: Header = match parse_doc(loaded, idx, base, doc, problems) {
            Some(h) => h,
            None => continue,
        };
        let Some(kind) = header.kind else {
            problems.push(
                Problem::at(&loaded.files[idx], base, 0, "document has no `kind`")
                    .help("every document needs `kind: Workspace` or `kind: Agent`"),
            );
            continue;
        };
        match kind.value.as_str() {
            "Workspace" => {
                if let Some(doc) = parse_doc::<WorkspaceDoc>(loaded, idx, base, doc, problems) {
                    loaded.workspaces.push(Doc {
                        file: idx,
                        doc,
                        base,
                    });
                }
            }
            "Agent" => {
                if let Some(doc) = parse_doc::<AgentDoc>(loaded, idx, base, doc, problems) {
                    loaded.agents.push(Doc {
                        file: idx,
                        doc,
                        base,
                    });
                }
            }
            other => {
                let mut p = loaded.problem(
                    idx,
                    base,
                    &kind.referenced,
                    format!("unknown kind `{other}`"),
                );
                p = match did_you_mean(other, &["Workspace", "Agent"]) {
                    Some(s) => p.help(format!("did you mean `{s}`?")),
                    None => p.help("kinds are `Workspace` and `Agent`"),
                };
                problems.push(p);
            }
        }
    }
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
    let message = e.without_snippet().to_string();
    let mut message = first_line(&message);
    if message.contains("untagged enum InstructionsSpec") {
        message = "instructions must be text or `{file: path}`".into();
    }
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

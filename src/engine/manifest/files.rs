//! Finding and reading manifest files: discovery (confined to the root,
//! hidden files skipped, `.twinformignore` honoured, FIFOs and links out of
//! the root refused), reading with size and encoding limits, and splitting
//! a file into YAML documents.

use std::path::{Path, PathBuf};

use super::diagnostic::Problem;

/// The largest manifest file read (a 50 MB file is refused at once).
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

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
        // Any case: `agents.YAML` is a manifest too (a skipped file's
        // documents would be pruned).
        let lower = name.to_ascii_lowercase();
        if is_dir || !(lower.ends_with(".yaml") || lower.ends_with(".yml")) {
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

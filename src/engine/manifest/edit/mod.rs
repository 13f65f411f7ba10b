//! Editing manifests in place, for `pull`: a value at a path of a document
//! is replaced at its span, so comments, layout and every other byte stay as
//! they were. A scalar keeps its style (plain, quoted, block); a text field
//! that names a file (`{file: …}`) has that file rewritten instead; a
//! templated or interpolated field is never overwritten.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde_saphyr::Spanned;

use super::load::split_documents;
use super::node::Node;

pub use super::docpath::{dotted, key, offset, Seg};
use super::docpath::{end_of, scalar_len};
pub use super::load::Origin;
pub use super::uses::{uses_of, FileUse};

/// A value to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewValue {
    /// A string, as the manifest writes it.
    Text(String),
    /// A long text as it is live (a prompt): written into the file a
    /// `{file: …}` names as it is, and inline with every `${` escaped as
    /// `$${` (an inline long text is interpolated; a prompt file is not), so
    /// that both read back as the live text and a live `${TOKEN}` never
    /// becomes an interpolation of the runner's secret.
    LongText(String),
    Bool(bool),
    /// A number, as YAML writes it.
    Number(String),
    List(Vec<String>),
    /// A structured value (a mapping, a list of mappings), written as a
    /// JSON flow value (valid YAML) in place of the old one.
    Json(serde_json::Value),
}

/// What a provider asks to write back: `value` at `path` in the document at
/// `origin`, for the change at `address` (field `field`).
#[derive(Debug, Clone)]
pub struct Request {
    pub origin: Origin,
    pub path: Vec<Seg>,
    pub value: NewValue,
    pub address: String,
    pub field: String,
}

/// How a request is carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// Replace `len` bytes at `offset` of `file` (an insertion when 0).
    Splice {
        file: PathBuf,
        offset: usize,
        len: usize,
        text: String,
    },
    /// Rewrite a whole file (a prompt named by `{file: …}`), byte for byte.
    Rewrite { file: PathBuf, content: String },
    /// Not written, and why (templated, interpolated, not found).
    Skip(String),
}

/// Files as read once, for many edits.
#[derive(Default)]
pub struct Files {
    text: BTreeMap<PathBuf, String>,
}

impl Files {
    fn get(&mut self, file: &Path) -> Result<&str, String> {
        if !self.text.contains_key(file) {
            let t = std::fs::read_to_string(file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            self.text.insert(file.to_path_buf(), t);
        }
        Ok(self.text.get(file).map(String::as_str).unwrap_or_default())
    }
}

/// Decide how to carry out `req` (nothing is written here). Prompt files
/// must resolve inside `root`, as when they were read.
pub fn plan(files: &mut Files, root: &Path, req: &Request) -> Edit {
    match plan_inner(files, root, req) {
        Ok(e) => e,
        Err(why) => Edit::Skip(why),
    }
}

fn plan_inner(files: &mut Files, root: &Path, req: &Request) -> Result<Edit, String> {
    let text = files.get(&req.origin.file)?;
    let inline;
    let value = match &req.value {
        NewValue::LongText(v) => {
            inline = NewValue::Text(super::interpolate::escape(v));
            &inline
        }
        other => other,
    };
    let doc = split_documents(text)
        .into_iter()
        .find(|(b, _)| *b == req.origin.base)
        .map(|(_, d)| d)
        .ok_or("the document moved since it was read")?;
    let node: Spanned<Node> =
        serde_saphyr::from_str(doc).map_err(|_| "the document no longer parses".to_string())?;
    let (parent, last) = match req.path.split_last() {
        Some((last, parent)) => (parent, last),
        None => return Err("no field named".into()),
    };
    // A value an alias repeats, or one reached through an alias or a merge,
    // is shared: writing it would change the other uses too, or replace
    // the alias with a copy. It is left for a person.
    let mut repeated = HashSet::new();
    repeated_offsets(&node, &mut repeated);
    let shared = |n: &Spanned<Node>| -> Result<(), String> {
        if n.referenced != n.defined {
            return Err("reached through a YAML alias or merge (`*…`); change it by hand".into());
        }
        if repeated.contains(&offset(n)) {
            return Err("anchored (`&…`) and repeated by an alias; change it by hand".into());
        }
        Ok(())
    };
    let mut at = &node;
    for seg in parent {
        at = step(at, seg).ok_or("the field's parent is not in the manifest")?;
        shared(at)?;
    }
    let base = req.origin.base;
    let Some(target) = step(at, last) else {
        // A missing key of a mapping (a default made explicit).
        let Seg::Key(k) = last else {
            return Err("the list entry is not in the manifest".into());
        };
        return insert(text, base, at, k, value).map(|(offset, t)| Edit::Splice {
            file: req.origin.file.clone(),
            offset,
            len: 0,
            text: t,
        });
    };
    shared(target)?;
    let start = base + offset(target);
    // Spans come from parsing this very text; anything else is refused, never sliced.
    if text.get(start..start + scalar_len(target)).is_none() {
        return Err("the manifest changed while it was read".into());
    }
    match (&target.value, &req.value) {
        (Node::Map(_), NewValue::Text(v) | NewValue::LongText(v)) => {
            if target.value.get("template").is_some() {
                return Err("rendered from a template; change the template by hand".into());
            }
            let Some(Node::Scalar(Some(rel))) = target.value.get("file").map(|n| &n.value) else {
                return Err("not a text the manifest holds".into());
            };
            let dir = req.origin.file.parent().unwrap_or(Path::new("."));
            let path = std::fs::canonicalize(dir.join(rel))
                .map_err(|e| format!("cannot resolve `{rel}`: {e}"))?;
            if !path.starts_with(root) {
                return Err(format!("`{rel}` is outside the manifest root"));
            }
            Ok(Edit::Rewrite {
                file: path,
                content: v.clone(),
            })
        }
        (Node::Scalar(_) | Node::Typed(_), _) => {
            let len = scalar_len(target);
            let raw = text.get(start..start + len).unwrap_or_default();
            // Escaped `$${` (as pull writes live text) reads as a literal
            // `${` and is rewritten like any text.
            let parsed = match &target.value {
                Node::Scalar(Some(s)) => s.as_str(),
                _ => "",
            };
            if super::interpolate::interpolates(raw) || super::interpolate::interpolates(parsed) {
                return Err("interpolated (`${…}`); change the manifest by hand".into());
            }
            let (offset, len, t) = scalar(text, start, len, value);
            Ok(Edit::Splice {
                file: req.origin.file.clone(),
                offset,
                len,
                text: t,
            })
        }
        (Node::Map(_) | Node::Seq(_), NewValue::Json(v))
            if target.value.get("file").is_none() && target.value.get("template").is_none() =>
        {
            let end = flow_end(text, start, base + end_of(target));
            Ok(Edit::Splice {
                file: req.origin.file.clone(),
                offset: start,
                len: end - start,
                text: v.to_string(),
            })
        }
        (Node::Seq(items), NewValue::List(values)) => {
            let (offset, len, t) = list(text, start, items, base, values)?;
            Ok(Edit::Splice {
                file: req.origin.file.clone(),
                offset,
                len,
                text: t,
            })
        }
        _ => Err("the manifest has another shape there; change it by hand".into()),
    }
}

/// The offsets (where defined) of every node an alias or a merge repeats.
fn repeated_offsets(n: &Spanned<Node>, out: &mut HashSet<usize>) {
    if n.referenced != n.defined {
        out.insert(n.defined.span().byte_offset().unwrap_or(0) as usize);
    }
    match &n.value {
        Node::Map(entries) => entries.iter().for_each(|(_, v)| repeated_offsets(v, out)),
        Node::Seq(items) => items.iter().for_each(|i| repeated_offsets(i, out)),
        Node::Scalar(_) | Node::Typed(_) => {}
    }
}

fn step<'a>(n: &'a Spanned<Node>, seg: &Seg) -> Option<&'a Spanned<Node>> {
    match (seg, &n.value) {
        (Seg::Key(k), Node::Map(_)) => n.value.get(k),
        (Seg::Index(i), Node::Seq(items)) => items.get(*i),
        _ => None,
    }
}

fn line_start(text: &str, at: usize) -> usize {
    text.get(..at)
        .and_then(|t| t.rfind('\n'))
        .map_or(0, |i| i + 1)
}

fn line_end(text: &str, at: usize) -> usize {
    text.get(at..)
        .and_then(|t| t.find('\n'))
        .map_or(text.len(), |i| at + i + 1)
}

/// A block scalar's header (`|`, `>-`, …) before `start`, if the scalar
/// at `start` is one: the offset of the indicator and the end of its code
/// (a comment after it stays).
fn block_header(text: &str, start: usize) -> Option<(usize, usize)> {
    // A block scalar's content starts on a line after its header.
    let before = text.get(..start)?.trim_end_matches([' ', '\t']);
    if !before.ends_with('\n') {
        return None;
    }
    let before = before.trim_end_matches(['\n', '\r', ' ', '\t']);
    let from = line_start(before, before.len());
    let line = &before[from..];
    let code = line.find(" #").map_or(line, |i| &line[..i]).trim_end();
    let ind = code.rfind(['|', '>'])?;
    let tail = &code[ind + 1..];
    let head = &code[..ind];
    let ok = tail
        .chars()
        .all(|c| c == '-' || c == '+' || c.is_ascii_digit())
        && (head.is_empty() || head.ends_with([' ', ':']));
    ok.then_some((from + ind, from + code.len()))
}

/// Where a structured value starting at `start` ends: after `last` (its
/// last scalar), plus the flow brackets still open at that point.
fn flow_end(text: &str, start: usize, last: usize) -> usize {
    let Some(body) = text.get(start..last) else {
        return last;
    };
    let mut open = 0usize;
    let mut quote: Option<char> = None;
    for c in body.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '{' | '[') => open += 1,
            (None, '}' | ']') => open = open.saturating_sub(1),
            _ => {}
        }
    }
    let mut end = last;
    for (i, c) in text.get(last..).unwrap_or_default().char_indices() {
        if open == 0 {
            break;
        }
        match c {
            '}' | ']' => {
                open -= 1;
                end = last + i + 1;
            }
            '"' | '\'' if end == last => end = last + i + 1,
            c if c.is_whitespace() || c == ',' => {}
            _ => break,
        }
    }
    end
}

/// The replacement of the scalar at `start` (`len` bytes) by `value`, in
/// the scalar's own style where the value allows it.
fn scalar(text: &str, start: usize, len: usize, value: &NewValue) -> (usize, usize, String) {
    let v = match value {
        NewValue::Bool(b) => return (start, len, b.to_string()),
        NewValue::Number(n) => return (start, len, n.clone()),
        NewValue::List(items) => return (start, len, flow_list(items)),
        NewValue::Json(j) => return (start, len, j.to_string()),
        NewValue::Text(v) => v.clone(),
        NewValue::LongText(v) => super::interpolate::escape(v),
    };
    let v = &v;
    if let Some((header, code_end)) = block_header(text, start) {
        // The block's span runs to the next token, over the indentation of
        // the next line (a sibling key): the old block ends with its last
        // line that has text. Blank lines after it stay, unless the new
        // block keeps trailing lines (`|+`), which would take them in.
        let span_end = start + len;
        let body = text.get(start..span_end).unwrap_or_default();
        let last_text = start + body.trim_end_matches([' ', '\t', '\n', '\r']).len();
        let own_end = line_end(text, last_text).min(span_end.max(last_text));
        let blanks_end = match line_start(text, span_end) {
            ls if ls >= own_end && text.get(ls..span_end).is_some_and(|t| t.trim().is_empty()) => {
                ls
            }
            _ => own_end,
        };
        let min_indent = block_key_column(
            text.get(line_start(text, header)..header)
                .unwrap_or_default(),
        )
        .map_or(1, |c| c + 1);
        let indent = text
            .get(line_start(text, start)..span_end)
            .unwrap_or_default()
            .lines()
            .find(|l| !l.trim().is_empty())
            .map_or(0, |l| l.len() - l.trim_start_matches(' ').len())
            .max(min_indent);
        let comment = text
            .get(code_end..line_end(text, code_end))
            .unwrap_or_default()
            .trim_end_matches(['\n', '\r']);
        let (replacement, end) = match literal_block(v, indent) {
            Some((chomp, lines)) => (
                format!("|{chomp}{comment}\n{lines}"),
                if chomp == "+" { blanks_end } else { own_end },
            ),
            // Not expressible as a literal block: a quoted scalar on the
            // key's line, and the old block's lines go.
            None => (format!("{}{comment}\n", quoted(v)), own_end),
        };
        return (header, end - header, replacement);
    }
    let raw = text.get(start..start + len).unwrap_or_default();
    // A one-line scalar that becomes several lines turns into a literal
    // block when it is a block mapping's value (`key: value` on its line);
    // a comment after it moves behind the block's header.
    if v.contains('\n') {
        let from = line_start(text, start);
        let prefix = text.get(from..start).unwrap_or_default();
        let to = line_end(text, start + len);
        let rest = text.get(start + len..to).unwrap_or_default();
        let rest = rest.trim_end_matches(['\n', '\r']);
        let comment = rest.trim_start();
        if let Some(col) = block_key_column(prefix) {
            if comment.is_empty() || comment.starts_with('#') {
                if let Some((chomp, lines)) = literal_block(v, col + 2) {
                    let header = if comment.is_empty() {
                        format!("|{chomp}")
                    } else {
                        format!("|{chomp} {comment}")
                    };
                    let body = lines.strip_suffix('\n').unwrap_or(&lines);
                    return (start, len + rest.len(), format!("{header}\n{body}"));
                }
            }
        }
    }
    let t = if raw.starts_with('\'') && !v.contains('\n') {
        format!("'{}'", v.replace('\'', "''"))
    } else if raw.starts_with('"') || !plain_ok(v) {
        quoted(v)
    } else {
        v.clone()
    };
    (start, len, t)
}

/// The column of the key when `prefix` (a line up to a value) is a block
/// mapping's `key: ` (possibly inside `- ` list items), else `None`.
fn block_key_column(prefix: &str) -> Option<usize> {
    let mut rest = prefix.trim_start_matches(' ');
    while let Some(r) = rest.strip_prefix("- ") {
        rest = r.trim_start_matches(' ');
    }
    let col = prefix.len() - rest.len();
    let key = rest.trim_end().strip_suffix(':')?;
    let plain = !key.is_empty()
        && !key.contains([
            '{', '}', '[', ']', ',', '#', '&', '*', '!', '|', '>', '"', '\'',
        ]);
    plain.then_some(col)
}

/// `v` as a literal block: its chomping indicator (`""`, `-`, `+`) and its
/// lines at `indent`, or `None` when a literal block cannot hold it exactly.
fn literal_block(v: &str, indent: usize) -> Option<(&'static str, String)> {
    if v.is_empty()
        || v.starts_with([' ', '\n'])
        || v.chars().any(|c| c.is_control() && c != '\n' && c != '\t')
        || v.contains('\r')
    {
        return None;
    }
    let (chomp, body) = match v.strip_suffix('\n') {
        None => ("-", v),
        Some(b) if b.ends_with('\n') => ("+", b),
        Some(b) => ("", b),
    };
    let pad = " ".repeat(indent.max(1));
    let mut out = String::new();
    for line in body.split('\n') {
        if !line.is_empty() {
            out.push_str(&pad);
            out.push_str(line);
        }
        out.push('\n');
    }
    Some((chomp, out))
}

/// A double-quoted YAML scalar (JSON's escaping is valid YAML).
fn quoted(v: &str) -> String {
    // JSON leaves a byte-order mark as it is; YAML reads one inside a
    // document as no character at all, so it is escaped.
    serde_json::to_string(v)
        .map(|q| q.replace('\u{feff}', "\\uFEFF"))
        .unwrap_or_else(|_| "\"\"".into())
}

/// Whether `v` reads back as the same string when written plain.
fn plain_ok(v: &str) -> bool {
    const RESERVED: &[&str] = &[
        "true", "false", "null", "~", "yes", "no", "on", "off", "y", "n",
    ];
    !v.is_empty()
        && v.trim() == v
        && !v.starts_with([
            '-', '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%',
            '@', '`',
        ])
        && !v.contains(": ")
        && !v.contains(" #")
        && !v.ends_with(':')
        && !v.chars().any(|c| c.is_control() || c == '\u{feff}')
        && !RESERVED.contains(&v.to_ascii_lowercase().as_str())
        && v.parse::<f64>().is_err()
}

fn flow_list(items: &[String]) -> String {
    let items: Vec<String> = items
        .iter()
        .map(|i| {
            if plain_ok(i) && !i.contains([',', '[', ']', '{', '}']) {
                i.clone()
            } else {
                quoted(i)
            }
        })
        .collect();
    format!("[{}]", items.join(", "))
}

/// A list replaced in its own style: flow (`[a, b]`) or block (`- a` lines).
fn list(
    text: &str,
    start: usize,
    items: &[Spanned<Node>],
    base: usize,
    values: &[String],
) -> Result<(usize, usize, String), String> {
    if text.get(start..).is_some_and(|t| t.starts_with('[')) {
        let last = items
            .iter()
            .map(|i| base + offset(i) + scalar_len(i))
            .max()
            .unwrap_or(start + 1);
        let close = text
            .get(last..)
            .and_then(|t| t.find(']'))
            .ok_or("an unclosed list")?
            + last;
        return Ok((start, close + 1 - start, flow_list(values)));
    }
    let (Some(first), Some(last)) = (items.first(), items.last()) else {
        return Err("an empty block list; change it by hand".into());
    };
    if !items
        .iter()
        .all(|i| matches!(i.value, Node::Scalar(_) | Node::Typed(_)))
    {
        return Err("a list of mappings; change it by hand".into());
    }
    let first_at = base + offset(first);
    let from = line_start(text, first_at);
    let prefix = text.get(from..first_at).unwrap_or_default();
    if !prefix.trim_start().starts_with('-') {
        return Err("a list whose layout twinform does not edit; change it by hand".into());
    }
    let to = line_end(text, base + offset(last) + scalar_len(last));
    let mut out = String::new();
    for v in values {
        out.push_str(prefix);
        out.push_str(&flow_item(v));
        out.push('\n');
    }
    if values.is_empty() {
        let indent = prefix.len() - prefix.trim_start().len();
        out = format!("{}[]\n", " ".repeat(indent));
    }
    Ok((from, to - from, out))
}

fn flow_item(v: &str) -> String {
    if plain_ok(v) {
        v.to_string()
    } else {
        quoted(v)
    }
}

/// A `key: value` entry added to the mapping `map` (block or flow).
fn insert(
    text: &str,
    base: usize,
    map: &Spanned<Node>,
    key: &str,
    value: &NewValue,
) -> Result<(usize, String), String> {
    let Node::Map(entries) = &map.value else {
        return Err("the field's parent is not a mapping".into());
    };
    let rendered = match value {
        NewValue::Bool(b) => b.to_string(),
        NewValue::Number(n) => n.clone(),
        NewValue::List(items) => flow_list(items),
        NewValue::Json(j) => j.to_string(),
        NewValue::Text(v) if plain_ok(v) => v.clone(),
        NewValue::Text(v) => quoted(v),
        NewValue::LongText(v) => quoted(&super::interpolate::escape(v)),
    };
    let Some((first_key, _)) = entries.first() else {
        return Err("an empty mapping; change it by hand".into());
    };
    let doc_end = base + end_of(map);
    let map_at = base + offset(map);
    if text.get(map_at..).is_some_and(|t| t.starts_with('{')) {
        let close = text
            .get(doc_end..)
            .and_then(|t| t.find('}'))
            .ok_or("an unclosed mapping")?
            + doc_end;
        return Ok((close, format!(", {key}: {rendered}")));
    }
    let key_at = base + first_key.referenced.span().byte_offset().unwrap_or(0) as usize;
    let indent = key_at - line_start(text, key_at);
    let at = line_end(text, doc_end);
    let newline = if at == text.len() && !text.ends_with('\n') {
        "\n"
    } else {
        ""
    };
    Ok((
        at,
        format!("{newline}{}{key}: {rendered}\n", " ".repeat(indent)),
    ))
}

/// Check that `new`, the text of a manifest after `requests` were spliced
/// into `old`, reads as `old` with exactly those values changed: every
/// document the same except at the requests' paths, which hold their new
/// values. So an edit twinform mis-placed (a layout it read wrong) is never
/// written: the tree after `pull` validates and plans as the live state.
pub fn verify(old: &str, new: &str, requests: &[&Request]) -> Result<(), String> {
    use serde_json::Value;
    let parse = |doc: &str| serde_saphyr::from_str::<Value>(doc).map_err(|_| ());
    let mut expected = Vec::new();
    for (base, doc) in split_documents(old) {
        let mut v = parse(doc).map_err(|()| "the manifest no longer parses".to_string())?;
        for r in requests.iter().filter(|r| r.origin.base == base) {
            set(&mut v, &r.path, json(&r.value))
                .ok_or("the field's place changed while it was read")?;
        }
        expected.push(v);
    }
    let got: Result<Vec<Value>, ()> = split_documents(new)
        .into_iter()
        .map(|(_, doc)| parse(doc))
        .collect();
    match got {
        Ok(got) if got == expected => Ok(()),
        Ok(_) => Err("twinform could not write it without changing something else in this manifest's layout; change it by hand".into()),
        Err(()) => Err("twinform could not write it in this manifest's layout (the result would not parse); change it by hand".into()),
    }
}

/// A value as it reads back from YAML.
fn json(v: &NewValue) -> serde_json::Value {
    match v {
        NewValue::Text(t) => t.clone().into(),
        NewValue::LongText(t) => super::interpolate::escape(t).into(),
        NewValue::Bool(b) => (*b).into(),
        NewValue::Number(n) => serde_json::from_str(n).unwrap_or_else(|_| n.clone().into()),
        NewValue::List(items) => items.clone().into(),
        NewValue::Json(j) => j.clone(),
    }
}

/// Set `value` at `path` of `v` (a missing last key is added).
fn set(v: &mut serde_json::Value, path: &[Seg], value: serde_json::Value) -> Option<()> {
    let (last, parent) = path.split_last()?;
    let mut at = v;
    for seg in parent {
        at = match seg {
            Seg::Key(k) => at.get_mut(k.as_str())?,
            Seg::Index(i) => at.get_mut(*i)?,
        };
    }
    match last {
        Seg::Key(k) => {
            at.as_object_mut()?.insert(k.clone(), value);
        }
        Seg::Index(i) => *at.get_mut(*i)? = value,
    }
    Some(())
}

/// Apply splices to files' text: `(file, old, new)` for every file changed.
/// Splices in one file must not overlap (each field is edited once).
pub fn apply(files: &mut Files, edits: &[Edit]) -> Vec<(PathBuf, String, String)> {
    let mut by_file: BTreeMap<&Path, Vec<(usize, usize, &str)>> = BTreeMap::new();
    let mut out = Vec::new();
    for e in edits {
        match e {
            Edit::Splice {
                file,
                offset,
                len,
                text,
            } => by_file
                .entry(file.as_path())
                .or_default()
                .push((*offset, *len, text.as_str())),
            Edit::Rewrite { file, content } => {
                let old = std::fs::read_to_string(file).unwrap_or_default();
                if old != *content {
                    out.push((file.clone(), old, content.clone()));
                }
            }
            Edit::Skip(_) => {}
        }
    }
    for (file, mut splices) in by_file {
        let Ok(old) = files.get(file).map(str::to_string) else {
            continue;
        };
        splices.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
        let mut new = old.clone();
        for (offset, len, text) in splices {
            if offset + len <= new.len()
                && new.is_char_boundary(offset)
                && new.is_char_boundary(offset + len)
            {
                new.replace_range(offset..offset + len, text);
            }
        }
        if new != old {
            out.push((file.to_path_buf(), old, new));
        }
    }
    out
}

#[cfg(test)]
mod tests;

//! Where a file is the text of a resource: `{file: …}` naming it, or a
//! template that is it or includes it (for `rollback` and `pull` of a prompt
//! file several resources share).

use std::path::{Path, PathBuf};

use serde_saphyr::Spanned;

use super::docpath::{dotted, offset, Seg};
use super::load::{split_documents, Origin};
use super::node::Node;

/// A place in the tree whose text is a file: `{file: …}` naming it, or a
/// template that is it or includes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileUse {
    /// The document (its file canonical) and the path to the text field.
    pub origin: Origin,
    pub path: Vec<Seg>,
    /// For people: `CadenyaAgent \`ask\` (variations.concise.prompt) at cadenya.yaml:24`.
    pub shown: String,
}

/// Every use of `file` by the manifests under `root`: a `{file: …}` that
/// resolves to it, or a `{template: …}` that is it or includes it (at any
/// depth). Rewriting `file` changes the text of each.
pub fn uses_of(root: &Path, file: &Path) -> Vec<FileUse> {
    let Ok(file) = std::fs::canonicalize(file) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for manifest in super::load::discover(root, root, &mut Vec::new()) {
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        let manifest = std::fs::canonicalize(&manifest).unwrap_or(manifest);
        let dir = manifest.parent().unwrap_or(root).to_path_buf();
        for (base, doc) in split_documents(&text) {
            let Ok(node) = serde_saphyr::from_str::<Spanned<Node>>(doc) else {
                continue;
            };
            let mut found = Vec::new();
            text_refs(&node, &mut Vec::new(), &mut found);
            for (path, at, reference) in found {
                let hit = match reference {
                    Ref::File(rel) => std::fs::canonicalize(dir.join(rel)).is_ok_and(|p| p == file),
                    Ref::Template(rel) => includes(root, &dir.join(rel), &file, &mut Vec::new()),
                };
                if !hit {
                    continue;
                }
                let line = text.get(..base + at).map_or(0, |t| t.matches('\n').count()) + 1;
                out.push(FileUse {
                    shown: format!(
                        "{} ({}) at {}:{line}",
                        document_name(&node.value),
                        dotted(&path),
                        manifest.strip_prefix(root).unwrap_or(&manifest).display()
                    ),
                    origin: Origin {
                        file: manifest.clone(),
                        base,
                    },
                    path,
                });
            }
        }
    }
    out
}

enum Ref<'a> {
    File(&'a str),
    Template(&'a str),
}

/// Every `{file: …}` and `{template: …}` below `n`: its path, offset and reference.
fn text_refs<'a>(
    n: &'a Spanned<Node>,
    path: &mut Vec<Seg>,
    out: &mut Vec<(Vec<Seg>, usize, Ref<'a>)>,
) {
    match &n.value {
        Node::Map(entries) => {
            let named = |k: &str| match n.value.get(k).map(|v| &v.value) {
                Some(Node::Scalar(Some(rel))) => Some(rel.as_str()),
                _ => None,
            };
            if let Some(rel) = named("file") {
                out.push((path.clone(), offset(n), Ref::File(rel)));
            } else if let Some(rel) = named("template") {
                out.push((path.clone(), offset(n), Ref::Template(rel)));
            } else {
                for (k, v) in entries {
                    path.push(Seg::Key(k.value.clone()));
                    text_refs(v, path, out);
                    path.pop();
                }
            }
        }
        Node::Seq(items) => {
            for (i, v) in items.iter().enumerate() {
                path.push(Seg::Index(i));
                text_refs(v, path, out);
                path.pop();
            }
        }
        Node::Scalar(_) | Node::Typed(_) => {}
    }
}

/// Whether the template at `template` is `file` or includes it (names in
/// `{% … %}` tags are relative to the root, as the template loader reads
/// them).
fn includes(root: &Path, template: &Path, file: &Path, seen: &mut Vec<PathBuf>) -> bool {
    let Ok(template) = std::fs::canonicalize(template) else {
        return false;
    };
    if template == file {
        return true;
    }
    if !template.starts_with(root) || seen.contains(&template) || seen.len() > 64 {
        return false;
    }
    seen.push(template.clone());
    let Ok(text) = std::fs::read_to_string(&template) else {
        return false;
    };
    text.split("{%")
        .skip(1)
        .filter_map(|t| t.split("%}").next())
        .flat_map(quoted_names)
        .any(|name| includes(root, &root.join(name), file, seen))
}

/// The quoted strings of a template tag (`include "a.md"`, `from 'b' import c`).
fn quoted_names(tag: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = tag;
    while let Some(i) = rest.find(['"', '\'']) {
        let quote = &rest[i..i + 1];
        let after = &rest[i + 1..];
        let Some(j) = after.find(quote) else { break };
        out.push(&after[..j]);
        rest = &after[j + 1..];
    }
    out
}

/// A document as people name it: its kind and its id, name or email.
fn document_name(doc: &Node) -> String {
    let field = |k: &str| match doc.get(k).map(|v| &v.value) {
        Some(Node::Scalar(Some(v))) => Some(v.clone()),
        _ => None,
    };
    let kind = field("kind").unwrap_or_else(|| "document".into());
    match field("id")
        .or_else(|| field("name"))
        .or_else(|| field("email"))
    {
        Some(id) => format!("{kind} `{id}`"),
        None => kind,
    }
}

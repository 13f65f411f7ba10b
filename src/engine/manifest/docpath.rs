//! Paths into a manifest document (`variations.concise.prompt`), shared by
//! the in-place editor and the search for a file's uses.

use serde_saphyr::Spanned;

use super::node::Node;

/// One step of a path into a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// `Seg::Key` from a field name.
pub fn key(k: &str) -> Seg {
    Seg::Key(k.to_string())
}

/// `variations.concise.prompt`, `webhooks[0].url`.
pub fn dotted(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) if out.is_empty() => out.push_str(k),
            Seg::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// The byte offset of a node in its document.
pub fn offset(n: &Spanned<Node>) -> usize {
    n.referenced.span().byte_offset().unwrap_or(0) as usize
}

/// The length of a scalar node's text.
pub fn scalar_len(n: &Spanned<Node>) -> usize {
    n.referenced.span().byte_len().unwrap_or(0) as usize
}

/// The byte after the last scalar or flow bracket of `n` (relative to its document).
pub fn end_of(n: &Spanned<Node>) -> usize {
    match &n.value {
        Node::Scalar(_) | Node::Typed(_) => offset(n) + scalar_len(n),
        Node::Map(entries) => entries
            .iter()
            .map(|(k, v)| end_of(v).max(offset_key(k)))
            .max()
            .unwrap_or(offset(n)),
        Node::Seq(items) => items.iter().map(end_of).max().unwrap_or(offset(n)),
    }
}

/// The byte after a key.
pub fn offset_key(k: &Spanned<String>) -> usize {
    let s = k.referenced.span();
    (s.byte_offset().unwrap_or(0) + s.byte_len().unwrap_or(0)) as usize
}

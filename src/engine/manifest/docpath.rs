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

//! A document read again without its unknown fields, so that a typo does
//! not hide the document's other problems (a missing prompt file, a
//! duplicate id). The unknown fields' bytes are blanked, every other byte
//! keeps its offset; the retry is used only when it reads as the document
//! itself minus those fields, never as a different document.

use std::ops::Range;

use serde_saphyr::Spanned;

use super::super::docpath::{end_of, offset, offset_key};
use super::super::node::Node;

/// The bytes of an unknown field in its document, key through value: the
/// value's last scalar, then every flow bracket the value opened and has
/// not closed by then (`bogus: {x: [1, 2]}`, `bogus: []`).
pub(super) fn entry(text: &str, key: &Spanned<String>, value: &Spanned<Node>) -> Range<usize> {
    let start = key_start(key);
    let mut end = last_end(text, value).max(offset_key(key));
    let bytes = text.as_bytes();
    let mut owed = open_at_end(text, value);
    while owed > 0 {
        match bytes.get(end) {
            Some(b'}' | b']') => {
                owed -= 1;
                end += 1;
            }
            // Between a flow collection's last item and its bracket: blanks,
            // line breaks, a trailing comma, comments.
            Some(b' ' | b'\t' | b'\r' | b'\n' | b',') => end += 1,
            Some(b'#') => {
                end += bytes[end..]
                    .iter()
                    .position(|b| *b == b'\n')
                    .unwrap_or(bytes.len() - end);
            }
            _ => break,
        }
    }
    start..end
}

fn key_start(k: &Spanned<String>) -> usize {
    k.referenced.span().byte_offset().unwrap_or(0) as usize
}

/// The byte after `n`'s last scalar, or after the opening bracket of its
/// last empty flow collection (`[]`, whose closing bracket is owed).
fn last_end(text: &str, n: &Spanned<Node>) -> usize {
    let empty = match &n.value {
        Node::Map(entries) => entries.is_empty(),
        Node::Seq(items) => items.is_empty(),
        Node::Scalar(_) | Node::Typed(_) => false,
    };
    let flow = matches!(text.as_bytes().get(offset(n)), Some(b'{' | b'['));
    match &n.value {
        _ if empty && flow => offset(n) + 1,
        Node::Map(entries) => entries
            .iter()
            .map(|(k, v)| last_end(text, v).max(offset_key(k)))
            .max()
            .unwrap_or(offset(n)),
        Node::Seq(items) => items
            .iter()
            .map(|i| last_end(text, i))
            .max()
            .unwrap_or(offset(n)),
        _ => end_of(n),
    }
}

/// How many flow collections end with `n`'s last scalar: `n` itself when
/// it is one, then its last child, and so on down.
fn open_at_end(text: &str, n: &Spanned<Node>) -> usize {
    let flow = matches!(text.as_bytes().get(offset(n)), Some(b'{' | b'['));
    let last = match &n.value {
        Node::Map(entries) => entries.last().map(|(_, v)| v),
        Node::Seq(items) => items.last(),
        Node::Scalar(_) | Node::Typed(_) => return 0,
    };
    let inner = last.map_or(0, |l| open_at_end(text, l));
    inner + usize::from(flow)
}

/// `text` with the bytes of `ranges` turned into spaces (line breaks
/// kept, and a flow mapping's comma after a range too), so that every
/// other byte keeps its offset, and so its line and column.
pub(super) fn without(text: &str, ranges: &[Range<usize>]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for r in ranges {
        let end = r.end.min(bytes.len());
        let start = r.start.min(end);
        let mut blank = |b: &mut u8| {
            if *b != b'\n' && *b != b'\r' {
                *b = b' ';
            }
        };
        bytes[start..end].iter_mut().for_each(&mut blank);
        let next = bytes[end..]
            .iter()
            .position(|b| *b != b' ' && *b != b'\t')
            .map(|i| end + i);
        if let Some(i) = next.filter(|&i| bytes[i] == b',') {
            blank(&mut bytes[i]);
        }
    }
    // Only ASCII bytes were replaced, and only whole characters (a range
    // starts at a key and ends after a scalar or bracket).
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// `text` without the unknown fields at `ranges`, when it reads as `node`
/// (the document as written) minus those fields; `None` when blanking
/// changed anything else (a neighbour's value, an alias whose anchor was
/// blanked), so that a retry never reads a value the author did not write.
pub(super) fn checked_without(
    text: &str,
    node: &Spanned<Node>,
    ranges: &[Range<usize>],
) -> Option<String> {
    let out = without(text, ranges);
    let starts: std::collections::HashSet<usize> = ranges.iter().map(|r| r.start).collect();
    let again: Spanned<Node> = serde_saphyr::from_str_with_options(&out, super::options()).ok()?;
    (again.value.to_json() == stripped(&node.value, &starts)).then_some(out)
}

/// `n` as JSON without the mapping entries whose key starts at one of `starts`.
fn stripped(n: &Node, starts: &std::collections::HashSet<usize>) -> serde_json::Value {
    use serde_json::Value;
    match n {
        Node::Map(entries) => Value::Object(
            entries
                .iter()
                .filter(|(k, _)| !starts.contains(&key_start(k)))
                .map(|(k, v)| (k.value.clone(), stripped(&v.value, starts)))
                .collect(),
        ),
        Node::Seq(items) => {
            Value::Array(items.iter().map(|i| stripped(&i.value, starts)).collect())
        }
        other => other.to_json(),
    }
}

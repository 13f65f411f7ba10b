//! Line diffs of long texts (prompts) for plans: bounded in time, and honest
//! about text that looks the same but is not.
//!
//! - The diff runs with a deadline: on a huge rewrite the algorithm gives up
//!   on minimality rather than taking minutes (Myers is O(N·D)).
//! - Past [`MAX_DIFF_LINES`] changed lines the diff is replaced by a count.
//! - A removed and an added line that would print identically (a trailing
//!   space, a carriage return, a byte-order mark, a zero-width or bidi
//!   character, NFC versus NFD) are printed with those characters made
//!   visible, so a reviewer sees why they differ.

use std::time::{Duration, Instant};

use similar::{Algorithm, ChangeTag, TextDiff};
use unicode_normalization::UnicodeNormalization;

/// How long one text diff may take before it settles for a coarser result.
pub const DIFF_DEADLINE: Duration = Duration::from_millis(300);
/// Past this many changed lines, a diff is summarized instead of printed.
pub const MAX_DIFF_LINES: usize = 2_000;
/// Lines of context around each change.
const CONTEXT: usize = 3;

/// Long texts (instructions, prompts) are equal when they differ at most in
/// line endings (CRLF and LF are the same text; twinform sends LF), a
/// leading byte-order mark, and one trailing newline. Everything else
/// (trailing spaces, Unicode normalization) is a real difference, and the
/// plan shows it visibly.
pub fn same_text(a: &str, b: &str) -> bool {
    fn canonical(s: &str) -> String {
        let s = s
            .strip_prefix('\u{feff}')
            .unwrap_or(s)
            .replace("\r\n", "\n");
        s.strip_suffix('\n').map(str::to_string).unwrap_or(s)
    }
    a == b || canonical(a) == canonical(b)
}

/// Describe a long text's change on `c`: its hash (left out when the text
/// is sensitive: an unsalted hash of a secret is not safe to publish), line
/// count and token counts as context, and a unified diff of the shown forms (none when
/// only a masked part changed). `live` is `None` when there is no text yet.
pub fn describe_change(
    c: &mut super::Change,
    live: Option<&str>,
    text: &crate::engine::manifest::Text,
) {
    use super::{FieldChange, Literal, Show, Shown};
    let describe = |content: &str| {
        let hash =
            (!text.is_sensitive()).then(|| Literal(crate::engine::sha256_hex(content.as_bytes())));
        (hash, content.lines().count())
    };
    let (bh, bl) = live
        .map(describe)
        .map_or((None, None), |(h, l)| (h, Some(l)));
    let (ah, al) = describe(text.expose());
    c.fields.push(
        FieldChange::new(
            "content_sha256",
            bh.map_or_else(Shown::absent, |h| Shown::plain(&h)),
            ah.map_or_else(Shown::absent, |h| Shown::plain(&h)),
        )
        .shown_as(Show::Context),
    );
    c.fields.push(
        FieldChange::new(
            "lines",
            bl.map_or_else(Shown::absent, |l| Shown::plain(&l)),
            Shown::plain(&al),
        )
        .shown_as(Show::Context),
    );
    // Counted on the real text (what the model reads); only numbers are shown.
    c.tokens = Some(crate::engine::tokens::TokenCount::of(live, text.expose()));
    let shown_live = text.mask_live(live.unwrap_or_default());
    let diff = unified(&shown_live, text.shown());
    c.diff = (!diff.is_empty()).then_some(diff);
    // A templated text says what it is rendered from, and which fragment
    // the change comes from (a shared fragment changes many prompts).
    if let Some(note) = text.template_note(live) {
        c.notes.push(note);
    }
}

/// A unified diff (hunks only, no file headers) of two shown texts, or a
/// one-line summary when it would be too long. Both sides end with a
/// newline, so a missing final newline is not shown as a change.
pub fn unified(old: &str, new: &str) -> String {
    let with_nl = |s: &str| {
        if s.is_empty() || s.ends_with('\n') {
            s.to_string()
        } else {
            format!("{s}\n")
        }
    };
    let (old, new) = (with_nl(old), with_nl(new));
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Myers)
        .deadline(Instant::now() + DIFF_DEADLINE)
        .diff_lines(&old, &new);
    let (mut added, mut removed) = (0usize, 0usize);
    for op in diff.ops() {
        for change in diff.iter_changes(op) {
            match change.tag() {
                ChangeTag::Insert => added += 1,
                ChangeTag::Delete => removed += 1,
                ChangeTag::Equal => {}
            }
        }
    }
    if added + removed > MAX_DIFF_LINES {
        return format!(
            "@@ {} lines changed (+{added} −{removed}): too many to show; compare the files directly @@\n",
            added + removed
        );
    }
    let mut out = String::new();
    for hunk in diff.unified_diff().context_radius(CONTEXT).iter_hunks() {
        out.push_str(&format!("{}\n", hunk.header()));
        let lines: Vec<(ChangeTag, String)> = hunk
            .iter_changes()
            .map(|c| (c.tag(), c.value().trim_end_matches('\n').to_string()))
            .collect();
        for (tag, line) in reveal(lines) {
            let sign = match tag {
                ChangeTag::Insert => '+',
                ChangeTag::Delete => '-',
                ChangeTag::Equal => ' ',
            };
            out.push(sign);
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

/// In each run of removed lines followed by added lines, pairs that would
/// look identical are rewritten with their invisible differences shown.
fn reveal(mut lines: Vec<(ChangeTag, String)>) -> Vec<(ChangeTag, String)> {
    let mut i = 0;
    while i < lines.len() {
        if lines[i].0 != ChangeTag::Delete {
            i += 1;
            continue;
        }
        let del_start = i;
        while i < lines.len() && lines[i].0 == ChangeTag::Delete {
            i += 1;
        }
        let ins_start = i;
        while i < lines.len() && lines[i].0 == ChangeTag::Insert {
            i += 1;
        }
        let pairs = (ins_start - del_start).min(i - ins_start);
        for k in 0..pairs {
            let (d, a) = (del_start + k, ins_start + k);
            if looks_same(&lines[d].1, &lines[a].1) {
                lines[d].1 = visible(&lines[d].1);
                lines[a].1 = visible(&lines[a].1);
            }
        }
    }
    lines
}

/// What a terminal would show: NFC, without invisible and trailing blanks.
fn looks_same(a: &str, b: &str) -> bool {
    let look = |s: &str| -> String {
        s.nfc()
            .filter(|c| !is_invisible(*c))
            .collect::<String>()
            .trim_end()
            .to_string()
    };
    a != b && look(a) == look(b)
}

fn is_invisible(c: char) -> bool {
    matches!(c, '\u{feff}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\r')
}

/// The line with invisible characters, combining marks and trailing blanks
/// written out: `<U+FEFF>`, `<CR>`, `e<U+0301>`, `·` for a trailing space.
pub fn visible(line: &str) -> String {
    let body = line.trim_end_matches([' ', '\t']);
    let trailing = &line[body.len()..];
    let mut out = String::new();
    for c in body.chars() {
        match c {
            '\r' => out.push_str("<CR>"),
            c if is_invisible(c) || is_combining(c) => {
                out.push_str(&format!("<U+{:04X}>", u32::from(c)))
            }
            c => out.push(c),
        }
    }
    for c in trailing.chars() {
        out.push(if c == '\t' { '→' } else { '·' });
    }
    out
}

fn is_combining(c: char) -> bool {
    unicode_normalization::char::is_combining_mark(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_that_look_the_same_are_shown_visibly() {
        let d = unified("same\ncafe\u{301}\nend\n", "same \ncafé\nend\n");
        assert!(d.contains("-same\n") && d.contains("+same·\n"), "{d}");
        assert!(
            d.contains("-cafe<U+0301>\n") && d.contains("+café\n"),
            "{d}"
        );
        let d = unified("\u{feff}start\n", "start\n");
        assert!(d.contains("-<U+FEFF>start"), "{d}");
    }

    #[test]
    fn ordinary_changes_are_left_alone() {
        let d = unified("a\nb\nc\n", "a\nB\nc\n");
        assert_eq!(d, "@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n");
    }

    #[test]
    fn an_8_mib_rewrite_is_bounded() {
        // 80,000 lines rewritten took 34 s with an unbounded diff; a hang
        // guard, not a benchmark (BENCHMARKS.md has the numbers).
        let old: String = (0..80_000).map(|i| format!("old line {i}\n")).collect();
        let new: String = (0..80_000).map(|i| format!("new line {i}\n")).collect();
        let started = std::time::Instant::now();
        let d = unified(&old, &new);
        assert!(d.starts_with("@@ 160000 lines changed"), "{}", &d[..80]);
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
    }

    #[test]
    fn huge_rewrites_are_summarized() {
        let old: String = (0..5_000).map(|i| format!("old {i}\n")).collect();
        let new: String = (0..5_000).map(|i| format!("new {i}\n")).collect();
        let d = unified(&old, &new);
        assert!(d.starts_with("@@ 10000 lines changed (+5000 −5000)"), "{d}");
    }
}

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
/// is sensitive: an unsalted hash of a secret is not safe to publish) and
/// line count as context, and a unified diff of the shown forms (none when
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

/// Byte ranges of changed words in one line of a diff (after its sign).
pub type Words = Vec<std::ops::Range<usize>>;

/// Past this length, a pair of lines is not compared word by word (the
/// word diff is quadratic at worst; a prompt line is rarely this long).
const MAX_WORD_LINE: usize = 4_000;

/// The words that changed in each line of a unified diff made by
/// [`unified`]: one list of byte ranges (into the line after its sign) per
/// line, empty for lines with nothing to mark. The k-th removed line of a
/// run is compared with the k-th added line after it, word by word; a pair
/// that shares less than half its text is a rewrite, and is not marked.
/// The diff holds only shown forms, so a masked value is `(sensitive)` on
/// both sides and never marked (nor revealed).
pub fn word_marks(diff: &str) -> Vec<Words> {
    let lines: Vec<&str> = diff.lines().collect();
    let mut marks = vec![Vec::new(); lines.len()];
    let sign = |i: usize| lines[i].as_bytes().first().copied();
    let mut i = 0;
    while i < lines.len() {
        if sign(i) != Some(b'-') || lines[i].starts_with("---") {
            i += 1;
            continue;
        }
        let del = i;
        while i < lines.len() && sign(i) == Some(b'-') {
            i += 1;
        }
        let ins = i;
        while i < lines.len() && sign(i) == Some(b'+') {
            i += 1;
        }
        for k in 0..(ins - del).min(i - ins) {
            let (old, new) = (&lines[del + k][1..], &lines[ins + k][1..]);
            if let Some((o, n)) = changed_words(old, new) {
                marks[del + k] = o;
                marks[ins + k] = n;
            }
        }
    }
    marks
}

/// The changed byte ranges of `old` and `new`, word by word; `None` when
/// they share less than half their text (or are too long to compare).
fn changed_words(old: &str, new: &str) -> Option<(Words, Words)> {
    if old.len().max(new.len()) > MAX_WORD_LINE || old == new {
        return None;
    }
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Myers)
        .deadline(Instant::now() + DIFF_DEADLINE)
        .diff_words(old, new);
    let (mut o, mut n) = (Vec::new(), Vec::new());
    let (mut at_old, mut at_new, mut same) = (0usize, 0usize, 0usize);
    let push = |ranges: &mut Words, r: std::ops::Range<usize>, text: &str| {
        // Changed whitespace between two changed words joins them; a
        // changed run of whitespace alone is not worth a mark.
        match ranges.last_mut() {
            Some(last) if last.end == r.start => last.end = r.end,
            _ if text.trim().is_empty() => {}
            _ => ranges.push(r),
        }
    };
    for change in diff.iter_all_changes() {
        let v = change.value();
        match change.tag() {
            ChangeTag::Equal => {
                at_old += v.len();
                at_new += v.len();
                if !v.trim().is_empty() {
                    same += v.len();
                }
            }
            ChangeTag::Delete => {
                push(&mut o, at_old..at_old + v.len(), v);
                at_old += v.len();
            }
            ChangeTag::Insert => {
                push(&mut n, at_new..at_new + v.len(), v);
                at_new += v.len();
            }
        }
    }
    let longest = old.trim().len().max(new.trim().len()).max(1);
    (same * 2 >= longest).then_some((o, n))
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
    fn one_changed_word_in_a_long_line_is_marked_alone() {
        let line = "Read every unread email from the last 24 hours and summarise them in five bullet points, most urgent first, never replying on the user's behalf.";
        let changed = line.replace("five", "seven");
        let d = unified(&format!("{line}\n"), &format!("{changed}\n"));
        let marks = word_marks(&d);
        let lines: Vec<&str> = d.lines().collect();
        let (del, ins) = (
            lines.iter().position(|l| l.starts_with('-')).unwrap(),
            lines.iter().position(|l| l.starts_with('+')).unwrap(),
        );
        let word = |i: usize| -> Vec<&str> {
            marks[i].iter().map(|r| &lines[i][1..][r.clone()]).collect()
        };
        assert_eq!(word(del), ["five"]);
        assert_eq!(word(ins), ["seven"]);
        // A rewrite is not marked word by word.
        let d = unified("alpha beta gamma\n", "one two three\n");
        assert!(word_marks(&d).iter().all(Vec::is_empty), "{d}");
        // Masked text is the same on both sides: never marked.
        let d = unified("token (sensitive) ok\n", "token (sensitive) fine\n");
        let m = word_marks(&d);
        let l: Vec<&str> = d.lines().collect();
        for (i, ranges) in m.iter().enumerate() {
            for r in ranges {
                assert!(!l[i][1..][r.clone()].contains("sensitive"), "{d}");
            }
        }
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

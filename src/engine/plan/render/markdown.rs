//! `-o markdown`: a pull-request comment. Safe against Markdown and HTML
//! injection from prompt text, and kept under GitHub's comment limit.

use std::fmt::Write;

use super::{count, destructive_note, detail, groups, summary_line, Group};
use crate::engine::output::{is_bidi, neutralize, visible_control};
use crate::engine::plan::textdiff::word_marks;
use crate::engine::plan::{Action, Change, Plan};

/// GitHub refuses comments longer than this.
pub const GITHUB_LIMIT: usize = 65_536;
/// Room kept for the truncation note and the closing lines.
const RESERVE: usize = 2_000;

/// The hidden marker CI uses to find and update its comment.
pub const MARKER: &str = "<!-- twinform-plan -->";

/// Escape text for inline Markdown and HTML.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' => out.push_str("&#124;"),
            '`' => out.push_str("&#96;"),
            '*' | '_' | '[' | ']' | '\\' | '#' | '~' => {
                out.push('\\');
                out.push(ch);
            }
            '\n' | '\r' => out.push(' '),
            c if c.is_control() || is_bidi(c) => out.push_str(&visible_control(c)),
            c => out.push(c),
        }
    }
    out
}

/// A code fence longer than any run of backticks inside `body`.
fn fence(body: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for ch in body.chars() {
        if ch == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    "`".repeat((longest + 1).max(3))
}

fn icon(action: Action) -> &'static str {
    match action {
        Action::Create => "➕",
        Action::Update => "✏️",
        Action::Move => "➡️",
        Action::Replace => "♻️",
        Action::Delete => "🗑️",
        Action::Manual => "✋",
    }
}

/// Stops adding to a document once it reaches its budget, counting what it left out.
struct Budget {
    out: String,
    limit: usize,
}

impl Budget {
    /// Add `s` if it fits; `false` when it does not (nothing is added).
    fn push(&mut self, s: &str) -> bool {
        if self.out.len() + s.len() > self.limit {
            return false;
        }
        self.out.push_str(s);
        true
    }
}

pub fn render(plan: &Plan) -> String {
    render_within(plan, GITHUB_LIMIT)
}

/// [`render`] within `limit` bytes (GitHub's limit counts characters; bytes
/// are never fewer). Every part is cut to fit, the summary table included,
/// with a note saying what was left out.
pub fn render_within(plan: &Plan, limit: usize) -> String {
    let mut doc = Budget {
        out: format!("{MARKER}\n"),
        limit: limit.saturating_sub(RESERVE),
    };
    if plan.is_empty() {
        doc.push(&format!(
            "### twinform plan: no changes\n\n{}\n",
            summary_line(plan)
        ));
        return doc.out;
    }
    let s = plan.summary();
    let manual = if s.manual > 0 {
        format!(", {} to do by hand", s.manual)
    } else {
        String::new()
    };
    doc.push(&format!(
        "### twinform plan: {} to add, {} to change, {} to destroy{manual}\n",
        s.add, s.change, s.destroy
    ));
    let mut left_out = Vec::new();
    let destructive = plan.destructive();
    if !destructive.is_empty() {
        let mut line = format!(
            "> ⚠️ **{}**: ",
            count(destructive.len(), "destructive change")
        );
        let mut shown = 0;
        for c in &destructive {
            let note = format!("<code>{}</code>", escape(&destructive_note(c)));
            if line.len() + note.len() > 4_000 {
                break;
            }
            if shown > 0 {
                line.push_str(", ");
            }
            line.push_str(&note);
            shown += 1;
        }
        if shown < destructive.len() {
            line.push_str(&format!(" and {} more", destructive.len() - shown));
        }
        doc.push(&format!("{line}.\n"));
    }
    doc.push("\n| | resource | change |\n|---|---|---|\n");
    let groups = groups(&plan.changes);
    let mut rows_left = 0;
    // Rows stop short of the limit, so the row that counts the rest fits.
    let rows_limit = doc.limit.saturating_sub(200);
    for g in &groups {
        let row = table_row(g);
        if rows_left > 0 || doc.out.len() + row.len() > rows_limit {
            rows_left += 1;
        } else {
            doc.out.push_str(&row);
        }
    }
    if rows_left > 0 {
        doc.push(&format!(
            "| … | {} | not shown |\n",
            count(rows_left, "more row")
        ));
        left_out.push(count(rows_left, "table row"));
    }
    for w in &plan.warnings {
        if !doc.push(&format!("\n> warning: {}\n", escape(w))) {
            left_out.push("warnings".into());
            break;
        }
    }
    if !plan.unmanaged.is_empty() {
        doc.push(&format!(
            "\n{} that no manifest declares (prune is off).\n",
            count(plan.unmanaged.len(), "live object")
        ));
    }
    doc.push("\n");
    let mut omitted = 0;
    for g in &groups {
        let section = details(g);
        if !section.is_empty() && !doc.push(&section) {
            omitted += 1;
        }
    }
    if omitted > 0 {
        left_out.push(format!("the details of {}", count(omitted, "object")));
    }
    let mut out = doc.out;
    if !left_out.is_empty() {
        out.push_str(&format!(
            "\n> Truncated: {} left out to stay under GitHub's comment limit. Run `twinform plan` for the full plan.\n",
            left_out.join(" and ")
        ));
    }
    out.push_str(&format!("\n{}\n", summary_line(plan)));
    out
}

/// One row of the summary table: an object and what happens to it.
fn table_row(g: &Group) -> String {
    let (action, what) = match g.own {
        Some(c) => (c.action, c.address.as_str()),
        None => (Action::Update, g.key.unwrap_or_default()),
    };
    let mut parts = Vec::new();
    if let Some(c) = g.own {
        parts.push(match c.action {
            Action::Move | Action::Update => detail(c),
            Action::Replace => format!("replace ({})", c.reason.as_deref().unwrap_or_default()),
            Action::Manual => match detail(c) {
                d if d.is_empty() => {
                    format!("by hand: {}", c.reason.as_deref().unwrap_or_default())
                }
                d => format!("by hand: {d} ({})", c.reason.as_deref().unwrap_or_default()),
            },
            // What is lost, by its fields.
            Action::Delete => match detail(c) {
                d if d.is_empty() => "delete".into(),
                d => format!("delete ({d})"),
            },
            a => format!("{a:?}").to_lowercase(),
        });
    }
    let mut nouns: Vec<(&str, usize)> = Vec::new();
    for c in &g.children {
        match nouns.iter_mut().find(|(n, _)| *n == c.resource) {
            Some((_, k)) => *k += 1,
            None => nouns.push((c.resource, 1)),
        }
    }
    for (noun, k) in nouns {
        parts.push(if k == 1 {
            noun.to_string()
        } else {
            count(k, noun)
        });
    }
    format!(
        "| {} | {} | {} |\n",
        icon(action),
        escape(what),
        escape(&parts.join(", "))
    )
}

/// The collapsible section of a group: text diffs and one line per child.
/// Changes that belong to nothing are said in full in their table row.
fn details(g: &Group) -> String {
    let Some(key) = g.key else {
        return String::new();
    };
    let mut body = String::new();
    let mut counts = (0, 0);
    for c in g.own.iter().chain(g.children.iter()) {
        if let Some(diff) = &c.diff {
            counts.0 += diff.lines().filter(|l| l.starts_with('+')).count();
            counts.1 += diff.lines().filter(|l| l.starts_with('-')).count();
            let text = mark_words(&neutralize(diff.trim_end_matches('\n')));
            let f = fence(&text);
            if let Some(d) = &c.drift {
                let _ = writeln!(
                    body,
                    "{} last changed by {} at {}{}.\n",
                    escape(c.resource),
                    escape(d.source_type.as_deref().unwrap_or("an unknown source")),
                    escape(d.at.as_deref().unwrap_or("unknown time")),
                    if d.outside_git { ", outside git" } else { "" }
                );
            }
            let _ = writeln!(body, "{f}diff\n{text}\n{f}");
        } else if c.address != key {
            let line = match &c.label {
                Some(l) => format!(
                    "- {} {} <code>{}</code> {}",
                    escape(c.resource),
                    icon(c.action),
                    escape(&l.bare()),
                    escape(&detail(c))
                ),
                None => format!("- {}: {}", escape(c.resource), escape(&child_detail(c))),
            };
            let _ = writeln!(body, "{}", line.trim_end());
        }
        for n in &c.notes {
            let _ = writeln!(body, "  - {}", escape(n));
        }
    }
    if body.is_empty() {
        return String::new();
    }
    let diffstat = if counts != (0, 0) {
        format!(" (+{} −{})", counts.0, counts.1)
    } else {
        String::new()
    };
    format!(
        "<details><summary><code>{}</code>{diffstat}</summary>\n\n{body}\n</details>\n\n",
        escape(key)
    )
}

/// A diff with its changed words marked as `git diff --word-diff` does
/// (`[-five-]` in a removed line, `{+seven+}` in an added one): a code
/// block cannot be coloured, and a one-word change in a long prompt line
/// must still stand out.
fn mark_words(diff: &str) -> String {
    let marks = word_marks(diff);
    let mut out = String::with_capacity(diff.len());
    for (i, line) in diff.lines().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let (open, close) = match line.chars().next() {
            Some('-') => ("[-", "-]"),
            Some('+') => ("{+", "+}"),
            _ => ("", ""),
        };
        let words = marks.get(i).map(Vec::as_slice).unwrap_or_default();
        if open.is_empty() || words.is_empty() {
            out.push_str(line);
            continue;
        }
        let text = &line[1..];
        out.push_str(&line[..1]);
        let mut at = 0;
        for r in words {
            let (Some(before), Some(changed)) = (text.get(at..r.start), text.get(r.clone())) else {
                continue;
            };
            out.push_str(before);
            out.push_str(open);
            out.push_str(changed);
            out.push_str(close);
            at = r.end;
        }
        out.push_str(text.get(at..).unwrap_or_default());
    }
    out
}

/// A child without a label: `create, cron …`, `delete`, or its field changes.
fn child_detail(c: &Change) -> String {
    match c.action {
        Action::Create => match detail(c) {
            d if d.is_empty() => "create".into(),
            d => format!("create, {d}"),
        },
        Action::Delete => "delete".into(),
        _ => detail(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fences_outgrow_backticks_inside() {
        assert_eq!(fence("no ticks"), "```");
        assert_eq!(fence("a ```` b"), "`````");
    }

    #[test]
    fn inline_text_cannot_inject() {
        let e = escape("</code></summary><script>x</script> | `a` [l](u)");
        assert!(!e.contains('<') && !e.contains('|') && !e.contains('`'));
        assert!(e.contains("\\[l\\]"));
    }
}

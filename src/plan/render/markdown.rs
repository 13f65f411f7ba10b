//! `-o markdown`: a pull-request comment. Safe against Markdown and HTML
//! injection from prompt text, and kept under GitHub's comment limit.

use std::fmt::Write;

use super::{destructive_note, field_changes, groups, list, show, summary_line};
use crate::plan::{Action, Change, Plan, Resource};

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
    }
}

pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{MARKER}");
    if plan.is_empty() {
        let _ = writeln!(
            out,
            "### twinform plan: no changes\n\n{}",
            summary_line(plan)
        );
        return out;
    }
    let s = plan.summary();
    let _ = writeln!(
        out,
        "### twinform plan: {} to add, {} to change, {} to destroy",
        s.add, s.change, s.destroy
    );
    let destructive = plan.destructive();
    if !destructive.is_empty() {
        let notes: Vec<String> = destructive
            .iter()
            .map(|c| format!("<code>{}</code>", escape(&destructive_note(c))))
            .collect();
        let _ = writeln!(
            out,
            "> ⚠️ **{} destructive changes**: {}.",
            destructive.len(),
            notes.join(", ")
        );
    }
    let _ = writeln!(out, "\n| | resource | change |\n|---|---|---|");
    let groups = groups(&plan.changes);
    for (agent, changes) in &groups {
        match agent {
            None => {
                for c in changes {
                    let _ = writeln!(
                        out,
                        "| {} | {} | {} |",
                        icon(c.action),
                        escape(&c.address),
                        row_summary(&[c])
                    );
                }
            }
            Some(id) => {
                let action = changes
                    .iter()
                    .find(|c| c.resource == Resource::Agent)
                    .map_or(Action::Update, |c| c.action);
                let _ = writeln!(
                    out,
                    "| {} | agent {} | {} |",
                    icon(action),
                    escape(id),
                    row_summary(changes)
                );
            }
        }
    }
    for w in &plan.warnings {
        let _ = writeln!(out, "\n> warning: {}", escape(w));
    }
    if !plan.unmanaged.is_empty() {
        let _ = writeln!(
            out,
            "\n{} live agents are not in any manifest (prune is off).",
            plan.unmanaged.len()
        );
    }
    let _ = writeln!(out);
    let mut omitted = 0;
    for (agent, changes) in &groups {
        let Some(id) = agent else { continue };
        let section = details(id, changes);
        if out.len() + section.len() > GITHUB_LIMIT - RESERVE {
            omitted += 1;
            continue;
        }
        out.push_str(&section);
    }
    if omitted > 0 {
        let _ = writeln!(
            out,
            "\n> Truncated: the details of {omitted} agents are left out to stay under GitHub's comment limit. \
             Run `twinform plan` for the full plan."
        );
    }
    let _ = writeln!(out, "\n{}", summary_line(plan));
    out
}

fn row_summary(changes: &[&Change]) -> String {
    let mut parts = Vec::new();
    let mut hooks = 0;
    for c in changes {
        match c.resource {
            Resource::Agent => parts.push(match c.action {
                Action::Move => format!(
                    "move {} → {}",
                    escape(&show(&c.before["workspace"])),
                    escape(&show(&c.after["workspace"]))
                ),
                Action::Replace => format!(
                    "replace ({})",
                    escape(c.reason.as_deref().unwrap_or_default())
                ),
                a => format!("{a:?}").to_lowercase(),
            }),
            Resource::Webhook => hooks += 1,
            Resource::Workspace => parts.push(match c.action {
                Action::Update => escape(&field_changes(c).join("; ")),
                a => format!("{a:?}").to_lowercase(),
            }),
            r => parts.push(format!("{r:?}").to_lowercase()),
        }
    }
    if hooks > 0 {
        parts.push(format!(
            "{hooks} webhook{}",
            if hooks == 1 { "" } else { "s" }
        ));
    }
    parts.join(", ")
}

fn details(id: &str, changes: &[&Change]) -> String {
    let mut body = String::new();
    let mut counts = (0, 0);
    for c in changes {
        match c.resource {
            Resource::Instructions => {
                if let Some(diff) = &c.diff {
                    let lines: Vec<&str> = diff
                        .lines()
                        .filter(|l| !l.starts_with("---") && !l.starts_with("+++"))
                        .collect();
                    counts.0 += lines.iter().filter(|l| l.starts_with('+')).count();
                    counts.1 += lines.iter().filter(|l| l.starts_with('-')).count();
                    let text = lines.join("\n");
                    let f = fence(&text);
                    if let Some(d) = &c.drift {
                        let _ = writeln!(
                            body,
                            "Instructions last changed by {} at {}{}.\n",
                            escape(d.source_type.as_deref().unwrap_or("unknown")),
                            escape(d.at.as_deref().unwrap_or("unknown time")),
                            if d.outside_git { ", outside git" } else { "" }
                        );
                    }
                    let _ = writeln!(body, "{f}diff\n{text}\n{f}");
                }
            }
            Resource::Schedule => {
                let what = match c.action {
                    Action::Create => format!(
                        "create, cron <code>{}</code>",
                        escape(&show(&c.after["cron"]))
                    ),
                    Action::Delete => "delete".into(),
                    _ => escape(&field_changes(c).join("; ")),
                };
                let _ = writeln!(body, "- schedule: {what}");
            }
            Resource::Webhook => {
                let v = if c.action == Action::Delete {
                    &c.before
                } else {
                    &c.after
                };
                let url = v["url"].as_str().unwrap_or_default();
                let _ = writeln!(
                    body,
                    "- webhook {} <code>{}</code> {}",
                    icon(c.action),
                    escape(url),
                    escape(&list(&v["events"]))
                );
            }
            _ => {}
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
        "<details><summary>agent <code>{}</code>{diffstat}</summary>\n\n{body}\n</details>\n\n",
        escape(id)
    )
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

//! `-o text`: the Terraform-like view for terminals and logs.

use std::fmt::Write;

use super::{count, destructive_note, field_changes, groups, list, show, summary_line, Context};
use crate::output::{Printer, Style};
use crate::plan::{Action, Change, Plan, Resource};

/// Lines of unchanged context kept around a hunk; longer runs are folded.
const WIDTH: usize = 56;

pub fn render(plan: &Plan, ctx: &Context, p: &Printer) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "twinform plan · {}, {} managed · live state read in {:.1} s ({})\n",
        count(plan.managed_workspaces, "workspace"),
        count(plan.managed_agents, "agent"),
        ctx.seconds,
        count(ctx.requests as usize, "request")
    );
    let destructive = plan.destructive();
    if !destructive.is_empty() {
        let notes: Vec<String> = destructive.iter().map(|c| destructive_note(c)).collect();
        let head = format!("! {}:", count(destructive.len(), "destructive change"));
        let _ = writeln!(
            out,
            "  {} {}\n",
            p.paint(&head, Style::Red),
            notes.join(", ")
        );
    }
    for (agent, changes) in groups(&plan.changes) {
        match agent {
            None => {
                for c in changes {
                    let _ = writeln!(out, "  {}\n", headline(c, p));
                }
            }
            Some(id) => render_agent(&mut out, id, &changes, p),
        }
    }
    for w in &plan.warnings {
        let _ = writeln!(out, "  {} {w}", p.paint("warning:", Style::Yellow));
    }
    if !plan.unmanaged.is_empty() {
        let _ = writeln!(
            out,
            "  unmanaged: {} in declared workspaces not in any manifest (prune is off): {}\n",
            count(plan.unmanaged.len(), "live agent"),
            plan.unmanaged.join(", ")
        );
    }
    let _ = writeln!(out, "{}", p.paint(&summary_line(plan), Style::Bold));
    out
}

fn sym(action: Action, p: &Printer) -> String {
    let style = match action {
        Action::Create => Style::Green,
        Action::Update | Action::Move => Style::Yellow,
        Action::Delete | Action::Replace => Style::Red,
    };
    p.paint(action.symbol(), style)
}

fn pad(s: &str) -> String {
    let n = s.chars().count();
    if n >= WIDTH {
        format!("{s}  ")
    } else {
        format!("{s}{}", " ".repeat(WIDTH - n))
    }
}

/// The line for a workspace or agent-level change.
fn headline(c: &Change, p: &Printer) -> String {
    let left = format!("{} {}", c.action.symbol(), c.address);
    let right = match (c.resource, c.action) {
        (Resource::Agent, Action::Move) => format!(
            "moved {} → {}",
            show(&c.before["workspace"]),
            show(&c.after["workspace"])
        ),
        (Resource::Agent, Action::Replace) => c.reason.clone().unwrap_or_default(),
        (Resource::Agent, Action::Delete) => {
            format!(
                "workspace {}{}",
                show(&c.before["workspace"]),
                c.reason
                    .as_ref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            )
        }
        (Resource::Agent, _) => format!("workspace {}", show(&c.after["workspace"])),
        (Resource::Workspace, Action::Update) => field_changes(c).join("; "),
        _ => String::new(),
    };
    let line = format!("{}{right}", pad(&left)).trim_end().to_string();
    line.replacen(c.action.symbol(), &sym(c.action, p), 1)
}

fn render_agent(out: &mut String, id: &str, changes: &[&Change], p: &Printer) {
    let own = changes.iter().find(|c| c.resource == Resource::Agent);
    match own {
        Some(c) => {
            let _ = writeln!(out, "  {}", headline(c, p));
        }
        None => {
            let _ = writeln!(
                out,
                "  {} agent[{}]",
                sym(Action::Update, p),
                crate::plan::diff::quote(id)
            );
        }
    }
    for c in changes.iter().filter(|c| c.resource != Resource::Agent) {
        render_child(out, c, p);
    }
    let _ = writeln!(out);
}

fn render_child(out: &mut String, c: &Change, p: &Printer) {
    let s = sym(c.action, p);
    match c.resource {
        Resource::Instructions => {
            let mut note = String::new();
            if let Some(d) = &c.drift {
                let when = d.at.as_deref().unwrap_or("unknown time");
                let by = d
                    .user
                    .as_ref()
                    .map(|u| format!(" by {u}"))
                    .unwrap_or_default();
                note = match (d.outside_git, d.source_type.as_deref()) {
                    (true, Some(who)) => format!("   (changed outside git: {who}{by}, {when})"),
                    (_, Some(who)) => format!("   (last set by {who}{by}, {when})"),
                    (_, None) => {
                        format!("   (last changed{by}, {when}; the server does not say by what)")
                    }
                };
            }
            let _ = writeln!(
                out,
                "      {s} instructions{}",
                p.paint(&note, Style::Yellow)
            );
            if let Some(diff) = &c.diff {
                write_diff(out, diff, p);
            }
        }
        Resource::Schedule => {
            let detail = match c.action {
                Action::Create => {
                    format!("cron {}{}", show(&c.after["cron"]), paused_note(&c.after))
                }
                Action::Delete => format!("cron {}", show(&c.before["cron"])),
                _ => field_changes(c)
                    .into_iter()
                    .filter(|f| !f.starts_with("paused: none"))
                    .collect::<Vec<_>>()
                    .join("; "),
            };
            let reason = c
                .reason
                .as_ref()
                .map(|r| format!("   ({r})"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "      {s} schedule       {detail}{}",
                p.paint(&reason, Style::Yellow)
            );
        }
        Resource::Webhook => {
            let (url, detail) = match c.action {
                Action::Create => (
                    show_str(&c.after["url"]),
                    format!("{}{}", list(&c.after["events"]), disabled(&c.after)),
                ),
                Action::Delete => (show_str(&c.before["url"]), list(&c.before["events"])),
                Action::Replace => (show_str(&c.after["url"]), list(&c.after["events"])),
                _ => (show_str(&c.after["url"]), field_changes(c).join("; ")),
            };
            let reason = c
                .reason
                .as_ref()
                .filter(|_| matches!(c.action, Action::Delete | Action::Replace))
                .map(|r| format!("   ({r})"))
                .unwrap_or_default();
            let _ = writeln!(out, "      {s} webhook        {url}   {detail}{reason}");
        }
        _ => {
            let _ = writeln!(out, "      {}", headline(c, p));
        }
    }
}

fn show_str(v: &serde_json::Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

fn paused_note(after: &serde_json::Value) -> &'static str {
    if after["paused"] == serde_json::Value::Bool(true) {
        ", paused"
    } else {
        ""
    }
}

fn disabled(after: &serde_json::Value) -> &'static str {
    if after["enabled"] == serde_json::Value::Bool(false) {
        " (disabled)"
    } else {
        ""
    }
}

/// Diff lines indented under their change, coloured by sign, file headers dropped.
fn write_diff(out: &mut String, diff: &str, p: &Printer) {
    let mut last_new_end: Option<usize> = None;
    for line in diff.lines() {
        if line.starts_with("---") || line.starts_with("+++") {
            continue;
        }
        let styled = if let Some(h) = line.strip_prefix("@@") {
            // Fold the unchanged stretch between hunks.
            if let (Some(end), Some(start)) = (last_new_end, hunk_start(h)) {
                if start > end {
                    let _ = writeln!(
                        out,
                        "          {}",
                        p.paint(&format!("⋯ {} unchanged lines", start - end), Style::Dim)
                    );
                }
            }
            last_new_end = hunk_end(h);
            p.paint(line, Style::Cyan)
        } else if line.starts_with('+') {
            p.paint(line, Style::Green)
        } else if line.starts_with('-') {
            p.paint(line, Style::Red)
        } else {
            line.to_string()
        };
        let _ = writeln!(out, "          {styled}");
    }
}

/// `-a,b +c,d @@` → c (first new line of the hunk).
fn hunk_start(h: &str) -> Option<usize> {
    let plus = h.split_whitespace().find(|t| t.starts_with('+'))?;
    plus[1..].split(',').next()?.parse().ok()
}

/// Last new line the hunk covers + 1.
fn hunk_end(h: &str) -> Option<usize> {
    let plus = h.split_whitespace().find(|t| t.starts_with('+'))?;
    let mut parts = plus[1..].split(',');
    let start: usize = parts.next()?.parse().ok()?;
    let len: usize = parts.next().map_or(Some(1), |l| l.parse().ok())?;
    Some(start + len)
}

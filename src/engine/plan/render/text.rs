//! `-o text`: the Terraform-like view for terminals and logs.

use std::fmt::Write;

use super::{count, destructive_note, detail, groups, managed_line, summary_line, Context};
use crate::engine::output::{Printer, Style};
use crate::engine::plan::textdiff::word_marks;
use crate::engine::plan::{Action, Change, Plan};

/// Where the right-hand column of a headline starts.
const WIDTH: usize = 56;

pub fn render(plan: &Plan, ctx: &Context, p: &Printer) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "twinform plan · {} managed · live state read in {:.1} s ({})\n",
        managed_line(plan),
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
    for g in groups(&plan.changes) {
        match (g.key, g.own) {
            (None, Some(c)) => {
                let _ = writeln!(out, "  {}", headline(c, p));
                write_extras(&mut out, c, p, 10);
                let _ = writeln!(out);
            }
            (key, own) => {
                match own {
                    Some(c) => {
                        let _ = writeln!(out, "  {}", headline(c, p));
                        write_extras(&mut out, c, p, 10);
                    }
                    None => {
                        let _ = writeln!(
                            out,
                            "  {} {}",
                            sym(Action::Update, p),
                            key.unwrap_or_default()
                        );
                    }
                }
                for c in &g.children {
                    render_child(&mut out, c, p);
                }
                let _ = writeln!(out);
            }
        }
    }
    for w in &plan.warnings {
        let _ = writeln!(out, "  {} {w}", p.paint("warning:", Style::Yellow));
    }
    if !plan.unmanaged.is_empty() {
        let noun = if plan.unmanaged.iter().all(|u| u.contains("agent[")) {
            "live agent"
        } else {
            "live object"
        };
        let _ = writeln!(
            out,
            "  unmanaged: {} that no manifest declares (prune is off): {}\n",
            count(plan.unmanaged.len(), noun),
            plan.unmanaged.join(", ")
        );
    }
    for line in &ctx.paced {
        let _ = writeln!(out, "  {} {line}\n", p.paint("paced:", Style::Cyan));
    }
    let _ = writeln!(out, "{}", p.paint(&summary_line(plan), Style::Bold));
    out
}

fn sym(action: Action, p: &Printer) -> String {
    let style = match action {
        Action::Create => Style::Green,
        Action::Update | Action::Move => Style::Yellow,
        Action::Delete | Action::Replace => Style::Red,
        Action::Manual => Style::Cyan,
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

/// The line of an object's own change (or of a change that belongs to nothing).
fn headline(c: &Change, p: &Printer) -> String {
    let left = format!("{} {}", c.action.symbol(), c.address);
    let mut right = detail(c);
    if c.action == Action::Delete {
        if let Some(r) = &c.reason {
            right = format!("{right} ({r})").trim().to_string();
        }
    }
    let line = format!("{}{right}", pad(&left)).trim_end().to_string();
    let mut line = line.replacen(c.action.symbol(), &sym(c.action, p), 1);
    if let (Action::Manual, Some(r)) = (c.action, &c.reason) {
        line.push_str(&format!(
            "\n      {}",
            p.paint(&format!("do by hand: {r}"), Style::Cyan)
        ));
    }
    line
}

fn render_child(out: &mut String, c: &Change, p: &Printer) {
    let mut rest = String::new();
    if let Some(label) = &c.label {
        rest.push_str(&label.bare());
        rest.push_str("   ");
    }
    rest.push_str(&detail(c));
    let reason = match (&c.reason, c.action) {
        (Some(r), Action::Delete | Action::Replace | Action::Update) => {
            p.paint(&format!("   ({r})"), Style::Yellow)
        }
        (Some(r), Action::Manual) => p.paint(&format!("   (do by hand: {r})"), Style::Cyan),
        _ => String::new(),
    };
    let drift = c.drift.as_ref().map(|d| {
        let when = d.at.as_deref().unwrap_or("unknown time");
        let by = d
            .user
            .as_ref()
            .map(|u| format!(" by {u}"))
            .unwrap_or_default();
        let note = match (d.outside_git, d.source_type.as_deref()) {
            (true, Some(who)) => format!("(changed outside git: {who}{by}, {when})"),
            (_, Some(who)) => {
                let account = d
                    .user
                    .as_ref()
                    .map(|u| format!(" on behalf of {u}"))
                    .unwrap_or_default();
                format!("(last set by {who}{account}, {when})")
            }
            (_, None) => format!("(last changed{by}, {when}; the server does not say by what)"),
        };
        p.paint(&note, Style::Yellow)
    });
    let rest = match drift {
        Some(note) if rest.is_empty() => note,
        Some(note) => format!("{rest}  {note}"),
        None => rest,
    };
    let line = format!("      {} {:<14} {rest}", sym(c.action, p), c.resource);
    let _ = writeln!(out, "{}{reason}", line.trim_end());
    write_extras(out, c, p, 10);
}

/// Notes and the text diff under a change, indented by `indent`.
fn write_extras(out: &mut String, c: &Change, p: &Printer, indent: usize) {
    let pad = " ".repeat(indent);
    for n in &c.notes {
        let _ = writeln!(out, "{pad}{}", p.paint(n, Style::Dim));
    }
    if let Some(diff) = &c.diff {
        write_diff(out, diff, p, &pad);
    }
}

/// Diff lines indented under their change, coloured by sign, with the
/// unchanged stretch between hunks folded.
fn write_diff(out: &mut String, diff: &str, p: &Printer, pad: &str) {
    let mut last_new_end: Option<usize> = None;
    let marks = word_marks(diff);
    for (i, line) in diff.lines().enumerate() {
        let words = marks.get(i).filter(|m| !m.is_empty());
        let styled = if let Some(h) = line.strip_prefix("@@") {
            if let (Some(end), Some(start)) = (last_new_end, hunk_start(h)) {
                if start > end {
                    let _ = writeln!(
                        out,
                        "{pad}{}",
                        p.paint(&format!("⋯ {} unchanged lines", start - end), Style::Dim)
                    );
                }
            }
            last_new_end = hunk_end(h);
            p.paint(line, Style::Cyan)
        } else if let (Some(words), Some(sign @ ('+' | '-'))) = (words, line.chars().next()) {
            let (plain, word) = if sign == '+' {
                (Style::Green, Style::GreenWord)
            } else {
                (Style::Red, Style::RedWord)
            };
            highlight(&line[1..], sign, words, p, plain, word)
        } else if line.starts_with('+') {
            p.paint(line, Style::Green)
        } else if line.starts_with('-') {
            p.paint(line, Style::Red)
        } else {
            line.to_string()
        };
        let _ = writeln!(out, "{pad}{styled}");
    }
}

/// A diff line whose changed words stand out (reverse video) from the
/// rest of it: a one-word change in a long prompt line is found at a glance.
fn highlight(
    text: &str,
    sign: char,
    words: &[std::ops::Range<usize>],
    p: &Printer,
    plain: Style,
    word: Style,
) -> String {
    let mut out = p.paint(&sign.to_string(), plain);
    let mut at = 0;
    for r in words {
        let (Some(before), Some(changed)) = (text.get(at..r.start), text.get(r.clone())) else {
            continue;
        };
        if !before.is_empty() {
            out.push_str(&p.paint(before, plain));
        }
        out.push_str(&p.paint(changed, word));
        at = r.end;
    }
    if let Some(rest) = text.get(at..).filter(|r| !r.is_empty()) {
        out.push_str(&p.paint(rest, plain));
    }
    out
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

//! `twinform validate` and the shared "load manifests or show why not" step.

use std::path::Path;

use miette::{GraphicalReportHandler, GraphicalTheme};

use crate::manifest::{self, Desired, Problem};
use crate::output::Printer;
use crate::plan::render::count;

/// Render problems as miette reports (no colour off a terminal).
pub fn render_problems(printer: &Printer, problems: &[Problem]) {
    let theme = if printer.color_err {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    for p in problems {
        let mut out = String::new();
        if handler.render_report(&mut out, p).is_err() {
            out = format!("{}: {}", p.location.as_deref().unwrap_or("?"), p.message);
        }
        printer.message(&out);
    }
}

/// Load manifests; on error print every problem and return `None`.
/// Warnings are printed either way.
pub fn load(printer: &Printer, path: &Path) -> Option<Desired> {
    let validated = manifest::load(path);
    render_problems(printer, &validated.problems);
    let desired = validated.desired?;
    printer.redactor.add_all(&desired.secrets);
    Some(desired)
}

pub fn run(printer: &Printer, path: &Path) -> i32 {
    let validated = manifest::load(path);
    render_problems(printer, &validated.problems);
    let errors = validated.problems.iter().filter(|p| p.is_error()).count();
    let warnings = validated.problems.len() - errors;
    match &validated.desired {
        Some(d) => {
            printer.message(&format!(
                "{} valid: {}, {}{}",
                path.display(),
                count(d.workspaces.len(), "workspace"),
                count(d.agents.len(), "agent"),
                if warnings > 0 {
                    format!(", {}", count(warnings, "warning"))
                } else {
                    String::new()
                }
            ));
            0
        }
        None => {
            printer.message(&format!(
                "{}, {}",
                count(errors, "error"),
                count(warnings, "warning")
            ));
            1
        }
    }
}

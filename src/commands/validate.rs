//! `twinform validate`, and the shared "load manifests or show why not" step.

use std::path::{Path, PathBuf};

use miette::{GraphicalReportHandler, GraphicalTheme};

use super::{Error, Outcome};
use crate::engine::manifest::{Problem, Validated};
use crate::engine::output::Printer;
use crate::engine::plan::render::count;
use crate::engine::session::{self, Tree};

/// Render problems as miette reports (no colour off a terminal). Problem
/// texts were neutralized when they were made, so the report's own colours
/// can pass as they are.
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
        printer.report(&out);
    }
}

/// Load and check the manifests under `path` with every provider.
pub fn check(path: &Path, var_files: &[PathBuf]) -> Validated<Tree> {
    let env = |name: &str| std::env::var(name).ok();
    session::load_with(path, &crate::providers::all(), &env, var_files)
}

/// Load manifests; on error print every problem. Warnings are printed either way.
pub fn load(printer: &Printer, path: &Path, var_files: &[PathBuf]) -> Result<Tree, Error> {
    let validated = check(path, var_files);
    render_problems(printer, &validated.problems);
    let tree = validated.desired.ok_or(Error::Invalid)?;
    printer.redactor.add_all(&tree.secrets);
    Ok(tree)
}

pub fn run(printer: &Printer, path: &Path, var_files: &[PathBuf]) -> Result<Outcome, Error> {
    let validated = check(path, var_files);
    render_problems(printer, &validated.problems);
    let errors = validated.problems.iter().filter(|p| p.is_error()).count();
    let warnings = validated.problems.len() - errors;
    let Some(tree) = &validated.desired else {
        printer.message(&format!(
            "{}, {}",
            count(errors, "error"),
            count(warnings, "warning")
        ));
        return Err(Error::Invalid);
    };
    let counts: Vec<String> = tree
        .counts()
        .iter()
        .map(|(noun, n)| count(*n, noun))
        .collect();
    printer.message(&format!(
        "{} valid: {}{}",
        path.display(),
        counts.join(", "),
        if warnings > 0 {
            format!(", {}", count(warnings, "warning"))
        } else {
            String::new()
        }
    ));
    Ok(Outcome::Success)
}

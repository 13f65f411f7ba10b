//! `twinform validate`, and the shared "load manifests or show why not" step.

use std::path::Path;

use miette::{GraphicalReportHandler, GraphicalTheme};

use super::{Error, Outcome};
use crate::cli::{Annotations, Format, ManifestArgs};
use crate::engine::manifest::diagnostic::problems_json;
use crate::engine::manifest::{Problem, Validated};
use crate::engine::output::Printer;
use crate::engine::plan::render::count;
use crate::engine::session::{self, Checked, LoadOptions, Tree};

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

/// How `input` asks for manifests to be read.
fn options(input: &ManifestArgs) -> LoadOptions {
    LoadOptions {
        var_files: input.var_file.clone(),
        strict_vars: input.strict_vars,
        allow_hidden: input.allow_hidden.clone(),
    }
}

/// Check the manifests under `path` with every provider, offline: an unset
/// environment variable is an unknown value (a warning), and no desired
/// state comes out, so nothing checked this way reaches a request or a file.
pub fn check(path: &Path, input: &ManifestArgs) -> Validated<Checked> {
    let env = |name: &str| std::env::var(name).ok();
    session::check(path, &crate::providers::all(), &env, &options(input))
}

/// Report problems as `input` asks: reports on stderr, one JSON document on
/// stdout with `-o json`, and CI annotations.
fn report(printer: &Printer, input: &ManifestArgs, problems: &[Problem], stdout: bool) {
    // People read stderr in every mode (a CI log); machines get the document.
    render_problems(printer, problems);
    if input.json_problems && (!problems.is_empty() || stdout) {
        printer.data(&format!(
            "{}\n",
            serde_json::to_string_pretty(&problems_json(problems)).unwrap_or_default()
        ));
    }
    if input.annotations == Some(Annotations::Github) {
        let lines: String = problems
            .iter()
            .map(|p| p.github_annotation() + "\n")
            .collect();
        // validate owns stdout; a plan's stdout is its report, so there the
        // commands go to stderr, which the runner reads too.
        if stdout && !input.json_problems {
            printer.data(&lines);
        } else {
            printer.report(lines.trim_end());
        }
    }
}

/// `validate -o markdown`: a summary line and one bullet per problem, for a
/// pull-request comment (every manifest text escaped).
fn markdown(problems: &[Problem], errors: usize, warnings: usize) -> String {
    use crate::engine::plan::render::markdown::escape;
    let mut out = format!(
        "### twinform validate: {}, {}\n\n",
        count(errors, "error"),
        count(warnings, "warning")
    );
    for p in problems {
        let severity = if p.is_error() { "error" } else { "warning" };
        let at = p.location.as_deref().unwrap_or("?");
        out.push_str(&format!(
            "- `{}` **{severity}**: {}",
            escape(at),
            escape(&p.message)
        ));
        if let Some(h) = &p.help {
            out.push_str(&format!(" (help: {})", escape(h)));
        }
        out.push('\n');
    }
    out
}

/// Load manifests (every environment variable they use must be set); on
/// error report every problem. Warnings are reported either way.
pub fn load(printer: &Printer, path: &Path, input: &ManifestArgs) -> Result<Tree, Error> {
    let env = |name: &str| std::env::var(name).ok();
    let validated = session::load_with(path, &crate::providers::all(), &env, &options(input));
    // A valid tree's warnings stay off stdout: it carries the plan.
    let json = input.json_problems && validated.desired.is_none();
    let shown = ManifestArgs {
        json_problems: json,
        ..input.clone()
    };
    report(printer, &shown, &validated.problems, false);
    let tree = validated.desired.ok_or(Error::Invalid)?;
    printer.redactor.add_all(&tree.secrets);
    Ok(tree)
}

/// Check manifests offline for a command that only needs what they
/// interpolate (`history`); on error report every problem and stop.
pub fn load_offline(
    printer: &Printer,
    path: &Path,
    input: &ManifestArgs,
) -> Result<Checked, Error> {
    let validated = check(path, input);
    report(printer, input, &validated.problems, false);
    let checked = validated.desired.ok_or(Error::Invalid)?;
    printer.redactor.add_all(&checked.secrets);
    Ok(checked)
}

pub fn run(
    printer: &Printer,
    path: &Path,
    input: &ManifestArgs,
    format: Format,
) -> Result<Outcome, Error> {
    let validated = check(path, input);
    report(printer, input, &validated.problems, true);
    let errors = validated.problems.iter().filter(|p| p.is_error()).count();
    let warnings = validated.problems.len() - errors;
    if format == Format::Markdown {
        printer.human(&markdown(&validated.problems, errors, warnings));
    }
    if input.json_problems {
        return if validated.desired.is_some() {
            Ok(Outcome::Success)
        } else {
            Err(Error::Invalid)
        };
    }
    let Some(tree) = &validated.desired else {
        printer.message(&format!(
            "{}, {}",
            count(errors, "error"),
            count(warnings, "warning")
        ));
        return Err(Error::Invalid);
    };
    let counts: Vec<String> = tree
        .counts
        .iter()
        .map(|(noun, n)| count(*n, noun))
        .collect();
    printer.message(&format!(
        "The manifests in {} are valid: {}{}",
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

//! Showing manifest problems: miette reports, the `-o json` problems
//! document, GitHub annotations and the Markdown comment (for `validate`,
//! the policy commands and every command that loads manifests).

use miette::{GraphicalReportHandler, GraphicalTheme};

use crate::cli::{Annotations, ManifestArgs};
use crate::engine::manifest::diagnostic::problems_json;
use crate::engine::manifest::Problem;
use crate::engine::output::Printer;
use crate::engine::plan::render::count;

/// How many problems are shown with their source snippet; the rest are one
/// line each. A snippet costs a scan of its file, so thousands of them (a
/// generated manifest gone wrong) would take quadratic time to print, and
/// nobody reads past the first screens anyway.
const WITH_SNIPPETS: usize = 100;

/// Render problems as miette reports (no colour off a terminal), the first
/// [`WITH_SNIPPETS`] with their snippet. Problem texts were neutralized when
/// they were made, so the report's own colours can pass as they are.
pub fn render_problems(printer: &Printer, problems: &[Problem]) {
    let theme = if printer.color_err {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    let (shown, rest) = problems.split_at(problems.len().min(WITH_SNIPPETS));
    for p in shown {
        let mut out = String::new();
        if handler.render_report(&mut out, p).is_err() {
            out = format!("{}: {}", p.location.as_deref().unwrap_or("?"), p.message);
        }
        printer.report(&out);
    }
    if !rest.is_empty() {
        let lines: Vec<String> = rest
            .iter()
            .map(|p| {
                let level = if p.is_error() { "error" } else { "warning" };
                format!("{level}: {}", crate::engine::session::problem_line(p))
            })
            .collect();
        printer.report(&format!(
            "{} more, one line each:\n{}",
            rest.len(),
            lines.join("\n")
        ));
    }
}

/// Report problems as `input` asks: reports on stderr, one JSON document on
/// stdout with `-o json`, and CI annotations.
pub fn report(printer: &Printer, input: &ManifestArgs, problems: &[Problem], stdout: bool) {
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

/// `validate -o markdown` (`title`: `twinform validate`): a summary line
/// and one bullet per problem, for a pull-request comment (every manifest
/// text escaped).
pub fn markdown(title: &str, problems: &[Problem], errors: usize, warnings: usize) -> String {
    use crate::engine::plan::render::markdown::escape;
    let mut out = format!(
        "### {title}: {}, {}\n\n",
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

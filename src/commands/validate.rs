//! `twinform validate`, and the shared "load manifests or show why not" step.

use std::path::Path;

pub use super::manifests::{check, load, load_offline};
pub use super::problems::{markdown, report};
use super::{Error, Outcome};
use crate::cli::{Format, ManifestArgs, PolicyArgs};
use crate::engine::manifest::Problem;
use crate::engine::output::Printer;
use crate::engine::plan::render::count;

pub fn run(
    printer: &Printer,
    path: &Path,
    input: &ManifestArgs,
    policy_args: &PolicyArgs,
    format: Format,
) -> Result<Outcome, Error> {
    let policies = super::policy::load(policy_args);
    let input = &ManifestArgs {
        declared: matches!(policies, Ok(Some(_))),
        ..input.clone()
    };
    let mut validated = check(path, input);
    match (&policies, &validated.desired) {
        // A broken policy is reported with the manifests' problems.
        (Err(problems), _) => {
            validated.problems.extend(problems.iter().cloned());
            validated.desired = None;
        }
        (Ok(Some(set)), Some(checked)) => {
            // Policies' messages may quote the input: scrubbed like all output.
            printer.redactor.add_all(&checked.secrets);
            let found = super::policy::evaluate(
                printer,
                set,
                "validate",
                &crate::engine::plan::Plan::default(),
                &checked.declared,
            );
            if found.iter().any(Problem::is_error) {
                validated.desired = None;
            }
            validated.problems.extend(found);
        }
        _ => {}
    }
    report(printer, input, &validated.problems, true);
    let errors = validated.problems.iter().filter(|p| p.is_error()).count();
    let warnings = validated.problems.len() - errors;
    if format == Format::Markdown {
        printer.human(&markdown(
            "twinform validate",
            &validated.problems,
            errors,
            warnings,
        ));
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

//! `twinform policy test|init|input`, and the policy check `validate`,
//! `plan`, `drift` and `apply` run with `--policy DIR` (the engine's
//! [`crate::engine::policy`] does the work; this file loads, reports and
//! decides).

use std::fmt::Write;
use std::path::Path;

use super::{Error, Outcome};
use crate::cli::{Format, ManifestArgs, PolicyArgs, PolicyCommand};
use crate::engine::manifest::declared::Declared;
use crate::engine::manifest::Problem;
use crate::engine::output::{Printer, Style};
use crate::engine::plan::render::count;
use crate::engine::plan::Plan;
use crate::engine::policy::test::{self, Outcome as TestOutcome};
use crate::engine::policy::{self, input, PolicySet};

/// The starter set `policy init` writes: `(file name, content)`.
pub const STARTER: &[(&str, &str)] = &[
    (
        "settings.rego",
        include_str!("policy/starter/settings.rego"),
    ),
    ("main.rego", include_str!("policy/starter/main.rego")),
    (
        "main_test.rego",
        include_str!("policy/starter/main_test.rego"),
    ),
];

pub fn run(printer: &Printer, command: PolicyCommand) -> Result<Outcome, Error> {
    match command {
        PolicyCommand::Test {
            dir,
            verbose,
            policy_timeout,
        } => test(printer, &dir, verbose, policy_timeout),
        PolicyCommand::Init { dir, force } => init(printer, &dir, force),
        PolicyCommand::Input { path, input } => print_input(printer, &path, &input),
    }
}

/// The policies `args` names, with their namespaces (`None` without
/// `--policy`); every problem of a broken policy otherwise.
pub fn load(args: &PolicyArgs) -> Result<Option<PolicySet>, Vec<Problem>> {
    if args.policy.is_empty() {
        return Ok(None);
    }
    // The input counts every prompt's tokens: build the encoder while the
    // policies and the manifests load.
    crate::engine::tokens::warm_up();
    policy::load(&args.policy, args.policy_timeout)?
        .with_namespaces(&args.namespace)
        .map(Some)
}

/// [`load`] for a command that stops on a broken policy (before anything
/// is read): its problems reported as `input` asks.
pub fn load_or_stop(
    printer: &Printer,
    args: &PolicyArgs,
    input: &ManifestArgs,
) -> Result<Option<PolicySet>, Error> {
    load(args).map_err(|problems| {
        super::problems::report(printer, input, &problems, false);
        Error::Invalid
    })
}

/// The input document as policies get it: JSON, scrubbed by the run's
/// redactor (a secret that reached a live value is gone here too).
fn input_json(printer: &Printer, doc: &serde_json::Value) -> String {
    printer
        .redactor
        .scrub(&serde_json::to_string(doc).unwrap_or_default())
}

/// Evaluate `set` for `command` over `plan` and `declared`: every finding
/// as a located problem (an evaluation that fails is one error), and the
/// rules exceptions exempted said on stderr.
pub fn evaluate(
    printer: &Printer,
    set: &PolicySet,
    command: &str,
    plan: &Plan,
    declared: &[Declared],
) -> Vec<Problem> {
    let doc = input::document(command, plan, declared);
    match set.evaluate(&input_json(printer, &doc)) {
        Ok(verdict) => {
            for line in verdict.excepted_lines(set) {
                printer.message(&format!("policy exception: {line}"));
            }
            verdict.problems(set, declared)
        }
        Err(problem) => vec![problem],
    }
}

/// The policy check of a plan (`plan`, `drift`, `apply`): problems
/// reported on stderr and as annotations; warnings added to the plan's
/// warnings (every format shows them). With an error: `-o json` prints the
/// problems document and `-o markdown` a comment listing them, and the
/// number of errors is returned (the caller stops).
pub fn judge(
    printer: &Printer,
    set: &PolicySet,
    input: &ManifestArgs,
    command: &str,
    plan: &mut Plan,
    declared: &[Declared],
    format: Format,
) -> Result<(), usize> {
    let problems = evaluate(printer, set, command, plan, declared);
    let errors = problems.iter().filter(|p| p.is_error()).count();
    let warnings = problems.len() - errors;
    let shown = ManifestArgs {
        json_problems: input.json_problems && errors > 0,
        ..input.clone()
    };
    super::problems::report(printer, &shown, &problems, false);
    printer.message(&format!(
        "policy check: {}, {}",
        count(errors, "error"),
        count(warnings, "warning")
    ));
    if errors == 0 {
        plan.warnings
            .extend(problems.iter().map(crate::engine::session::problem_line));
        return Ok(());
    }
    if format == Format::Markdown && command != "apply" {
        let title = format!("twinform {command}: refused by policy");
        printer.human(&format!(
            "{}\n{}",
            crate::engine::plan::render::markdown::MARKER,
            super::problems::markdown(&title, &problems, errors, warnings)
        ));
    }
    Err(errors)
}

/// `twinform policy test DIR`.
fn test(
    printer: &Printer,
    dir: &Path,
    verbose: bool,
    timeout: std::time::Duration,
) -> Result<Outcome, Error> {
    let set = policy::load(&[dir.to_path_buf()], timeout).map_err(|problems| {
        super::problems::render_problems(printer, &problems);
        Error::Invalid
    })?;
    let results = test::run_all(&set).map_err(|problem| {
        super::problems::render_problems(printer, &[problem]);
        Error::Invalid
    })?;
    if results.is_empty() {
        return Err(Error::Refused(format!(
            "no tests: no rule under {} is named test_*",
            dir.display()
        )));
    }
    let mut out = String::new();
    let mut file = None;
    for r in &results {
        let rule = &set.rules[r.rule];
        let passed = r.outcome == TestOutcome::Pass;
        if passed && !verbose {
            continue;
        }
        if file != Some(rule.file) {
            file = Some(rule.file);
            let name = set.files.get(rule.file).map_or("?", |f| f.name.as_str());
            let _ = writeln!(out, "{name}:");
        }
        let (word, style) = match &r.outcome {
            TestOutcome::Pass => ("PASS".to_string(), Style::Green),
            TestOutcome::Fail => ("FAIL".to_string(), Style::Red),
            TestOutcome::Error(e) => (format!("ERROR: {e}"), Style::Red),
        };
        let _ = writeln!(
            out,
            "data.{}: {} ({:.1} ms, line {})",
            rule.qualified(),
            printer.paint(&word, style),
            r.duration.as_secs_f64() * 1000.0,
            rule.line
        );
        for line in &r.prints {
            let _ = writeln!(out, "  {line}");
        }
    }
    let total = results.len();
    let passed = results
        .iter()
        .filter(|r| r.outcome == TestOutcome::Pass)
        .count();
    if passed < total {
        let _ = writeln!(out, "{}", "-".repeat(40));
    }
    let _ = writeln!(out, "PASS: {passed}/{total}");
    if passed < total {
        let _ = writeln!(out, "FAIL: {}/{total}", total - passed);
    }
    printer.data(&out);
    Ok(if passed == total {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}

/// `twinform policy init DIR`: the starter set, never over a file unless `--force`.
fn init(printer: &Printer, dir: &Path, force: bool) -> Result<Outcome, Error> {
    let existing: Vec<String> = STARTER
        .iter()
        .map(|(name, _)| dir.join(name))
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .collect();
    if !existing.is_empty() && !force {
        return Err(Error::Refused(format!(
            "{} already exist{}: nothing was written\nhint: pass --force to overwrite them",
            existing.join(", "),
            if existing.len() == 1 { "s" } else { "" }
        )));
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::Io(format!("cannot create {}: {e}", dir.display())))?;
    for (name, text) in STARTER {
        let path = dir.join(name);
        std::fs::write(&path, text)
            .map_err(|e| Error::Io(format!("cannot write {}: {e}", path.display())))?;
    }
    let d = dir.display();
    printer.message(&format!(
        "Wrote {} to {d}: edit {d}/settings.rego (approved models, limits, who is customer-facing), then run `twinform policy test {d}` and `twinform validate --policy {d} .`.",
        STARTER
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", ")
    ));
    Ok(Outcome::Success)
}

/// `twinform policy input PATH`: the validate-time input, pretty JSON.
fn print_input(printer: &Printer, path: &Path, input: &ManifestArgs) -> Result<Outcome, Error> {
    let input = ManifestArgs {
        declared: true,
        ..input.clone()
    };
    crate::engine::tokens::warm_up();
    let checked = super::manifests::load_offline(printer, path, &input)?;
    let doc = input::document("validate", &Plan::default(), &checked.declared);
    let json = input_json(printer, &doc);
    let pretty = serde_json::from_str::<serde_json::Value>(&json)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or(json);
    printer.data(&format!("{pretty}\n"));
    Ok(Outcome::Success)
}

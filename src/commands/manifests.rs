//! The shared "load manifests or show why not" step every command that
//! reads manifests takes (the same options everywhere).

use std::path::Path;

use super::problems::report;
use super::Error;
use crate::cli::ManifestArgs;
use crate::engine::manifest::Validated;
use crate::engine::output::Printer;
use crate::engine::session::{self, Checked, LoadOptions, Tree};

/// How `input` asks for manifests to be read.
fn options(input: &ManifestArgs) -> LoadOptions {
    LoadOptions {
        var_files: input.var_file.clone(),
        strict_vars: input.strict_vars,
        allow_hidden: input.allow_hidden.clone(),
        declared: input.declared,
    }
}

/// Check the manifests under `path` with every provider, offline: an unset
/// environment variable is an unknown value (a warning), and no desired
/// state comes out, so nothing checked this way reaches a request or a file.
pub fn check(path: &Path, input: &ManifestArgs) -> Validated<Checked> {
    let env = |name: &str| std::env::var(name).ok();
    session::check(path, &crate::providers::all(), &env, &options(input))
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

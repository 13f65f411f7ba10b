//! `twinform man`: roff man pages from the clap definitions, one per
//! subcommand (`twinform-plan(1)`, …), each with the exit status, the
//! environment and the files twinform reads and writes.

use std::path::Path;

use clap::CommandFactory;

use super::{Error, Outcome, EXIT_CHANGES, EXIT_ERROR, EXIT_OK};
use crate::cli::Cli;
use crate::engine::output::Printer;

/// The engine's own environment variables, after every provider's
/// ([`environment`]).
const ENGINE_ENVIRONMENT: &[(&str, &str)] = &[
    (
        "TWINFORM_PLAN_KEY",
        "Keys the HMACs in saved plans when plan and apply run with different API keys.",
    ),
    ("NO_COLOR", "Never colour output (as --no-color)."),
    (
        "CLICOLOR_FORCE",
        "Colour output even when it is not a terminal.",
    ),
    (
        "any name in ${NAME}",
        "Interpolated into manifests; its value is sensitive and never shown. plan, apply, pull and rollback require it; validate and history take an unset one as unknown (a warning).",
    ),
];

/// Every environment variable twinform reads, `(names, what)`: each
/// registered provider's (from its [`Info`](crate::engine::provider::Info)),
/// then the engine's.
pub fn environment() -> Vec<(String, String)> {
    let mut rows: Vec<(String, String)> = crate::providers::all()
        .iter()
        .flat_map(|p| p.info().environment())
        .collect();
    rows.extend(
        ENGINE_ENVIRONMENT
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    rows
}

/// Files twinform reads or writes: `(path, what)`.
pub const FILES: &[(&str, &str)] = &[
    (
        "*.yaml, *.yml",
        "Manifests under PATH (hidden files skipped; .twinformignore honoured).",
    ),
    (
        ".twinform/journal.ndjson",
        "The journal of applies (--journal); no secrets.",
    ),
    (
        ".twinform/secrets.json",
        "Signing secrets of created webhooks (--secrets-out), mode 0600.",
    ),
    (
        ".twinform/local.json",
        "State of the embedded emulators (--local).",
    ),
    (
        "*.rego",
        "Policies (Rego v1) under each --policy DIR; policy init writes the starter set.",
    ),
];

/// The exit statuses: `(code, meaning)`.
fn exit_codes() -> Vec<(String, &'static str)> {
    vec![
        (
            EXIT_OK.to_string(),
            "Success; with --detailed-exitcode (and drift): no changes (with --ignore-manual: none but changes only a person can make).",
        ),
        (
            EXIT_ERROR.to_string(),
            "An error, invalid manifests, a refused apply, or an apply where something failed.",
        ),
        (
            EXIT_CHANGES.to_string(),
            "With --detailed-exitcode (and drift): the plan has changes (with --ignore-manual: changes twinform can apply).",
        ),
        (
            "129, 130, 143".into(),
            "Apply stopped by SIGHUP, SIGINT or SIGTERM after finishing requests in flight.",
        ),
    ]
}

/// Roff text, escaped: backslashes and leading dots/quotes cannot act as requests.
fn roff(text: &str) -> String {
    let t = text.replace('\\', "\\e").replace('-', "\\-");
    if t.starts_with(['.', '\'']) {
        format!("\\&{t}")
    } else {
        t
    }
}

fn section(out: &mut String, title: &str, rows: &[(String, &str)]) {
    out.push_str(&format!(".SH \"{title}\"\n"));
    for (k, v) in rows {
        out.push_str(&format!(".TP\n\\fB{}\\fR\n{}\n", roff(k), roff(v)));
    }
}

/// One page (titled by the command's display name): clap's sections, then exit status, environment and files.
fn page(cmd: clap::Command) -> Result<String, Error> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut buf)
        .map_err(|e| Error::Io(e.to_string()))?;
    let mut out = String::from_utf8_lossy(&buf).into_owned();
    section(&mut out, "EXIT STATUS", &exit_codes());
    let env = environment();
    let env: Vec<(String, &str)> = env.iter().map(|(k, v)| (k.clone(), v.as_str())).collect();
    section(&mut out, "ENVIRONMENT", &env);
    let files: Vec<(String, &str)> = FILES.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    section(&mut out, "FILES", &files);
    Ok(out)
}

pub fn run(printer: &Printer, out: Option<&Path>) -> Result<Outcome, Error> {
    let cmd = Cli::command();
    use crate::engine::file::{self, Holds, Within};
    let Some(dir) = out else {
        printer.data(&page(cmd)?);
        return Ok(Outcome::Success);
    };
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::Io(format!("cannot create {}: {e}", dir.display())))?;
    let mut written = vec![("twinform".to_string(), page(cmd.clone())?)];
    for sub in cmd.get_subcommands() {
        let name = format!("twinform-{}", sub.get_name());
        // The version titles the page; subcommands take no `-V`, so the
        // page must not list it.
        let sub = sub
            .clone()
            .version(crate::VERSION)
            .disable_version_flag(true)
            .display_name(name.clone())
            .bin_name(format!("twinform {}", sub.get_name()));
        written.push((name.clone(), page(sub)?));
    }
    for (name, text) in &written {
        let path = dir.join(format!("{name}.1"));
        file::write(
            &path,
            Within::Root(dir),
            text.as_bytes(),
            Holds::NoSecrets(&printer.redactor),
        )
        .map_err(|e| Error::Io(e.to_string()))?;
    }
    printer.message(&format!(
        "Wrote {} man pages to {}.",
        written.len(),
        dir.display()
    ));
    Ok(Outcome::Success)
}

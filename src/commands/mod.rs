//! One module per subcommand, in cargo's style: each parses its arguments,
//! calls the engine and the providers, and returns a typed [`Outcome`] or
//! [`Error`]. Exit codes are chosen here, in [`run`], and nowhere else.

mod apply;
mod connect;
mod emulator;
mod export;
mod history;
mod man;
mod manifests;
mod plan;
mod policy;
mod problems;
mod pull;
mod show;
mod validate;

use std::path::Path;

use crate::cli::{Cli, Command};
use crate::engine::output::Printer;
use crate::engine::session::{ConnectError, PlanFailure};

/// The environment variables the man pages list (`(name, what)`).
pub fn man_environment() -> Vec<(String, String)> {
    man::environment()
}

/// How a command ended when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done; with `--detailed-exitcode` (and `drift`): no changes.
    Success,
    /// With `--detailed-exitcode` and `drift`: the plan has changes.
    Changes,
    /// Stopped by a signal (its number): in-flight requests finished.
    Interrupted(i32),
    /// It ran, and something in it failed (reported as it happened).
    Failed,
}

/// Why a command could not do its work (nothing, or nothing more, was written).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The manifests are invalid: every problem has been printed.
    #[error("the manifests are invalid")]
    Invalid,
    #[error("{0}")]
    Connect(#[from] ConnectError),
    #[error("{0}")]
    Plan(#[from] PlanFailure),
    /// A refusal with what to do next (a stale plan, --max-destroy, no TTY).
    #[error("{0}")]
    Refused(String),
    /// A local file could not be read or written.
    #[error("{0}")]
    Io(String),
    #[error("{0}")]
    Api(#[from] crate::engine::http::ApiError),
}

/// Exit codes: success, no changes.
pub const EXIT_OK: i32 = 0;
/// An error, a refusal, or an apply where something failed.
pub const EXIT_ERROR: i32 = 1;
/// `--detailed-exitcode` and `drift`: the plan has changes.
pub const EXIT_CHANGES: i32 = 2;

/// The exit code of a command's result (printing the error, if any).
fn exit_code(printer: &Printer, result: Result<Outcome, Error>) -> i32 {
    match result {
        Ok(Outcome::Success) => EXIT_OK,
        Ok(Outcome::Changes) => EXIT_CHANGES,
        Ok(Outcome::Interrupted(signal)) => 128 + signal,
        Ok(Outcome::Failed) => EXIT_ERROR,
        Err(Error::Invalid) => EXIT_ERROR,
        Err(e) => {
            printer.error(&e);
            EXIT_ERROR
        }
    }
}

impl Error {
    /// What kind of failure, for machines: `connect`, `plan`, `refused`,
    /// `io`, `api` (`invalid` manifests have their own document).
    fn kind(&self) -> &'static str {
        match self {
            Error::Invalid => "invalid",
            Error::Connect(_) => "connect",
            Error::Plan(_) => "plan",
            Error::Refused(_) => "refused",
            Error::Io(_) => "io",
            Error::Api(_) => "api",
        }
    }
}

/// Whether a command's stdout is a JSON document or event stream, so that a
/// failure is reported there too (as `{"type": "error", …}`).
fn machine_output(command: &Command) -> bool {
    use crate::cli::Format::Json;
    match command {
        Command::Plan(a) => a.format == Json,
        Command::Drift(a) => a.format == Json,
        // With `--secrets-out -`, stdout carries the secrets and nothing else.
        Command::Apply(a) => a.format == Json && a.secrets_out != std::path::Path::new("-"),
        _ => false,
    }
}

/// Run a parsed command line; returns the exit code.
pub fn run(cli: Cli) -> i32 {
    let printer = Printer::new(cli.no_color);
    let machine = machine_output(&cli.command);
    let result = match cli.command {
        Command::Validate {
            path,
            input,
            policy,
            format,
        } => validate::run(&printer, &path, &input.for_output(format), &policy, format),
        Command::Policy(command) => policy::run(&printer, command),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut cmd, "twinform", &mut out);
            printer.data(&String::from_utf8_lossy(&out));
            Ok(Outcome::Success)
        }
        Command::Man { out } => man::run(&printer, out.as_deref()),
        Command::Schema => {
            let schema = crate::engine::session::json_schema(&crate::providers::all());
            printer.data(&format!(
                "{}\n",
                serde_json::to_string_pretty(&schema).unwrap_or_default()
            ));
            Ok(Outcome::Success)
        }
        Command::Emulator(args) => runtime(|| emulator::run(&printer, args)),
        Command::Whoami { provider, api } => runtime(|| connect::whoami(&printer, &provider, api)),
        Command::Plan(args) => runtime(|| plan::run(&printer, args)),
        Command::Drift(args) => runtime(|| plan::drift(&printer, args)),
        Command::Apply(args) => runtime(|| apply::run(&printer, args)),
        Command::Export(args) => runtime(|| export::run(&printer, args)),
        Command::Pull(args) => runtime(|| pull::run(&printer, args)),
        Command::History(args) => runtime(|| history::list(&printer, args)),
        Command::Rollback(args) => runtime(|| history::rollback(&printer, args)),
        Command::Show { plan, format } => show::run(&printer, &plan, format),
    };
    if let (true, Err(e)) = (machine, &result) {
        if !matches!(e, Error::Invalid) {
            // The same words as on stderr (scrubbed like everything printed).
            let doc = serde_json::json!({
                "format_version": "1",
                "twinform_version": env!("CARGO_PKG_VERSION"),
                "type": "error",
                "kind": e.kind(),
                "message": e.to_string(),
            });
            printer.data(&format!("{doc}\n"));
        }
    }
    exit_code(&printer, result)
}

/// The provider `--provider NAME` asks for, or a refusal naming the closest
/// name and every provider this build knows.
pub(crate) fn provider_named(
    name: &str,
) -> Result<std::sync::Arc<dyn crate::engine::bound::DynProvider>, Error> {
    let all = crate::providers::all();
    if let Some(p) = all.iter().find(|p| p.info().name == name) {
        return Ok(p.clone());
    }
    let names: Vec<&str> = all.iter().map(|p| p.info().name).collect();
    let hint = crate::engine::manifest::diagnostic::did_you_mean(name, &names)
        .map(|n| format!("did you mean `{n}`? "))
        .unwrap_or_default();
    Err(Error::Refused(format!(
        "--provider {name}: no such provider ({hint}providers are {})",
        names.join(", ")
    )))
}

/// The git commit of the manifests, sent as `source_id`; `<sha>-dirty` when
/// the manifest tree has uncommitted changes (the text is not that commit's).
pub(crate) fn git_commit(root: &Path) -> Option<String> {
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let sha = git(&["rev-parse", "HEAD"]).filter(|s| !s.is_empty())?;
    let dirty = git(&["status", "--porcelain", "--", "."]).is_none_or(|s| !s.is_empty());
    Some(if dirty { format!("{sha}-dirty") } else { sha })
}

/// Run an async command on a fresh multi-threaded runtime.
fn runtime<F, Fut>(f: F) -> Result<Outcome, Error>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<Outcome, Error>>,
{
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(f()),
        Err(e) => Err(Error::Io(format!("cannot start the async runtime: {e}"))),
    }
}

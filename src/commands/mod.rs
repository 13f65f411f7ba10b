//! One module per subcommand: each orchestrates load → read → diff → render or
//! apply, and returns the process exit code. `main` only calls [`run`].

mod validate;

use crate::cli::{Cli, Command};
use crate::output::Printer;

/// Version with the git commit it was built from, when known.
pub const VERSION: &str = env!("TWINFORM_VERSION");

/// Exit codes: success / no changes.
pub const EXIT_OK: i32 = 0;
/// An error, or a refusal.
pub const EXIT_ERROR: i32 = 1;
/// `--detailed-exitcode`: the plan has changes.
pub const EXIT_CHANGES: i32 = 2;
/// Interrupted (SIGINT).
pub const EXIT_INTERRUPTED: i32 = 130;

/// Run a parsed command line; returns the exit code.
pub fn run(cli: Cli) -> i32 {
    let printer = Printer::new(cli.no_color, cli.verbose);
    match cli.command {
        Command::Validate { path } => validate::run(&printer, &path),
        Command::Schema => {
            let schema = crate::manifest::model::json_schema();
            printer.data(&format!(
                "{}\n",
                serde_json::to_string_pretty(&schema).unwrap_or_default()
            ));
            EXIT_OK
        }
        _ => {
            printer.error(&"not implemented yet");
            EXIT_ERROR
        }
    }
}

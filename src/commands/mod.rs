//! One module per subcommand: each orchestrates load → read → diff → render or
//! apply, and returns the process exit code. `main` only calls [`run`].

mod apply;
mod connect;
mod export;
mod plan;
mod validate;

pub use connect::{connect, Connection};

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

/// Run a parsed command line; returns the exit code.
pub fn run(cli: Cli) -> i32 {
    let printer = Printer::new(cli.no_color);
    match cli.command {
        Command::Validate { path } => validate::run(&printer, &path),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut cmd, "twinform", &mut out);
            printer.data(&String::from_utf8_lossy(&out));
            EXIT_OK
        }
        Command::Man => {
            let mut out = Vec::new();
            match clap_mangen::Man::new(<Cli as clap::CommandFactory>::command()).render(&mut out) {
                Ok(()) => {
                    printer.data(&String::from_utf8_lossy(&out));
                    EXIT_OK
                }
                Err(e) => {
                    printer.error(&e);
                    EXIT_ERROR
                }
            }
        }
        Command::Schema => {
            let schema = crate::manifest::model::json_schema();
            printer.data(&format!(
                "{}\n",
                serde_json::to_string_pretty(&schema).unwrap_or_default()
            ));
            EXIT_OK
        }
        Command::Emulator(args) => runtime(|| async move {
            match crate::emulator::serve(&args.listen, args.state.as_deref(), &args.faults).await {
                Ok(()) => EXIT_OK,
                Err(e) => {
                    printer.error(&e);
                    EXIT_ERROR
                }
            }
        }),
        Command::Whoami { api } => runtime(|| async move {
            let conn = match connect(&api, &printer).await {
                Ok(c) => c,
                Err(e) => {
                    printer.error(&e);
                    return EXIT_ERROR;
                }
            };
            let code = match conn.client.me().await {
                Ok(me) => {
                    printer.data(&format!("{} at {}\n", me.user_id, conn.client.endpoint()));
                    EXIT_OK
                }
                Err(e) => {
                    printer.error(&e);
                    EXIT_ERROR
                }
            };
            conn.close().await;
            code
        }),
        Command::Plan(args) => runtime(|| async move { plan::run(&printer, args).await }),
        Command::Drift(args) => runtime(|| async move { plan::drift(&printer, args).await }),
        Command::Apply(args) => runtime(|| async move { apply::run(&printer, args).await }),
        Command::Export(args) => runtime(|| async move { export::run(&printer, args).await }),
    }
}

/// Run an async command on a fresh multi-threaded runtime.
fn runtime<F, Fut>(f: F) -> i32
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = i32>,
{
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(f()),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            EXIT_ERROR
        }
    }
}

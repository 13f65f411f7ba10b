//! `twinform export` (in progress).
use super::EXIT_ERROR;
use crate::cli::ExportArgs;
use crate::output::Printer;

pub async fn run(printer: &Printer, _args: ExportArgs) -> i32 {
    printer.error(&"export is not implemented yet");
    EXIT_ERROR
}

//! `twinform emulator`: serve one platform's emulator until a signal.

use super::{Error, Outcome};
use crate::cli::EmulatorArgs;
use crate::engine::output::Printer;

#[cfg(feature = "emulator")]
pub async fn run(printer: &Printer, args: EmulatorArgs) -> Result<Outcome, Error> {
    let p = super::provider_named(&args.provider)?;
    let running = p
        .emulator()
        .start(&args.listen, args.state.as_deref(), &args.faults.config())
        .await
        .map_err(|e| Error::Io(format!("cannot start the emulator: {e}")))?;
    printer.message(&format!(
        "{} emulator listening on {}",
        p.info().title,
        running.endpoint()
    ));
    match &args.state {
        Some(s) => printer.message(&format!(
            "state: {} (persisted after every write)",
            s.display()
        )),
        None => printer.message("state: in memory (use --state FILE to keep it)"),
    }
    // What to set so that twinform (or anything else) talks to it.
    let info = p.info();
    let endpoint_var = info.endpoint_env.first().copied().unwrap_or("--endpoint");
    printer.message(&format!(
        "point twinform at it: export {endpoint_var}={} {}=any-key (any API key is accepted)",
        running.endpoint(),
        info.key_env
    ));
    printer.message("request counts at GET /_emulator/stats");
    let _ = tokio::signal::ctrl_c().await;
    running
        .stop()
        .await
        .map_err(|e| Error::Io(format!("cannot save the emulator state: {e}")))?;
    Ok(Outcome::Success)
}

#[cfg(not(feature = "emulator"))]
pub async fn run(_: &Printer, _: EmulatorArgs) -> Result<Outcome, Error> {
    Err(Error::Refused(
        "this twinform was built without the `emulator` feature".into(),
    ))
}

//! `twinform show PLANFILE`: a saved plan rendered again, offline (what a
//! reviewer downloads from CI and reads without API access or keys).

use std::path::Path;

use super::{Error, Outcome};
use crate::cli::Format;
use crate::engine::output::Printer;
use crate::engine::plan::saved;

pub fn run(printer: &Printer, path: &Path, format: Format) -> Result<Outcome, Error> {
    let saved = saved::read(path).map_err(Error::Refused)?.ok_or_else(|| {
        Error::Refused(format!(
            "{} is not a plan saved by `twinform plan --out`",
            path.display()
        ))
    })?;
    // The renderings are what a reviewer reads: say when they may not be
    // what twinform wrote.
    match saved.intact() {
        Some(true) => {}
        Some(false) => printer.message(&format!(
            "warning: {} was edited after it was saved (its checksum does not match): what it shows may not be what `twinform plan` printed; `apply` checks the plan against live state and the manifests again either way",
            path.display()
        )),
        None => printer.message(&format!(
            "warning: {} carries no checksum (saved by twinform {}), so an edit cannot be detected",
            path.display(),
            saved.twinform_version
        )),
    }
    match format {
        Format::Json => printer.data(&format!(
            "{}\n",
            serde_json::to_string_pretty(&saved.plan).unwrap_or_default()
        )),
        Format::Text | Format::Markdown => {
            let rendered = saved.rendered.as_ref().ok_or_else(|| {
                Error::Refused(format!(
                    "{} was saved by twinform {} without its text rendering; `-o json` shows it",
                    path.display(),
                    saved.twinform_version
                ))
            })?;
            if format == Format::Markdown {
                printer.human(&rendered.markdown);
            } else {
                let vars: Vec<String> = saved
                    .var_files
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect();
                let mut head = format!(
                    "Saved plan of {} made {} by twinform {}",
                    saved.manifests.display(),
                    saved.created_at,
                    saved.twinform_version
                );
                if let Some(c) = &saved.commit {
                    head.push_str(&format!(" at commit {c}"));
                }
                if !vars.is_empty() {
                    head.push_str(&format!(" with --var-file {}", vars.join(", ")));
                }
                printer.human(&format!("{head}\n\n{}", rendered.text));
            }
        }
    }
    Ok(Outcome::Success)
}

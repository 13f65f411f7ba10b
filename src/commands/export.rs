//! `twinform export`: manifests describing what exists live, from every
//! provider asked for, written only once everything was read (a failed read
//! writes nothing) and never over existing files without `--force`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::connect::connect;
use super::{Error, Outcome};
use crate::cli::ExportArgs;
use crate::engine::manifest::diagnostic::did_you_mean;
use crate::engine::output::Printer;
use crate::engine::plan::render::count;
use crate::engine::provider::{DynProvider, ExportFilter};
use crate::engine::session::json_schema;

pub async fn run(printer: &Printer, args: ExportArgs) -> Result<Outcome, Error> {
    let all = crate::providers::all();
    let mut providers: Vec<Arc<dyn DynProvider>> = Vec::new();
    for name in &args.provider {
        match all.iter().find(|p| p.info().name == name) {
            Some(p) => providers.push(p.clone()),
            None => {
                return Err(Error::Refused(format!(
                    "--provider {name}: no such provider"
                )))
            }
        }
    }
    let filter = ExportFilter {
        workspaces: args.workspace.clone(),
        agents: args.agent.clone(),
    };
    let session = connect(printer, &args.api, &providers).await?;
    let mut exports = Vec::new();
    for c in &session.connected {
        match c
            .provider
            .export(c.api.as_ref(), &filter, args.api.parallelism)
            .await
        {
            Ok(e) => exports.push(e),
            Err(e) => {
                session.close().await;
                return Err(Error::Refused(format!(
                    "reading live state failed, nothing was written: {e}"
                )));
            }
        }
    }
    session.close().await;
    let known: Vec<&str> = exports
        .iter()
        .flat_map(|e| e.known.iter().map(String::as_str))
        .collect();
    let unknown: Vec<String> = [("--workspace", &args.workspace), ("--agent", &args.agent)]
        .iter()
        .flat_map(|(flag, wanted)| {
            let (flag, known) = (*flag, &known);
            wanted
                .iter()
                .filter(|w| !known.contains(&w.as_str()))
                .map(move |w| match did_you_mean(w, known) {
                    Some(s) => {
                        format!("{flag} {w:?}: nothing live has that name (did you mean {s:?}?)")
                    }
                    None => format!("{flag} {w:?}: nothing live has that name"),
                })
        })
        .collect();
    if !unknown.is_empty() {
        return Err(Error::Refused(format!(
            "nothing was exported:\n  {}",
            unknown.join("\n  ")
        )));
    }
    let mut files: BTreeMap<PathBuf, String> = BTreeMap::new();
    for e in &exports {
        files.extend(e.files.iter().map(|(p, c)| (args.out.join(p), c.clone())));
    }
    let schema = serde_json::to_string_pretty(&json_schema(&all)).unwrap_or_default();
    files.insert(args.out.join("twinform.schema.json"), format!("{schema}\n"));
    let existing: Vec<String> = files
        .keys()
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .collect();
    if !existing.is_empty() && !args.force {
        return Err(Error::Refused(format!(
            "refusing to overwrite {} (first: {}); nothing was written\nhint: pass --force, or choose another --out",
            count(existing.len(), "existing file"),
            existing[0]
        )));
    }
    for (path, content) in &files {
        path.parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(path, content))
            .map_err(|e| Error::Io(format!("cannot write {}: {e}", path.display())))?;
    }
    for e in &exports {
        for note in e.notes.iter().chain(e.names.notes()) {
            printer.message(&format!("note: {note}"));
        }
    }
    let counts: Vec<String> = exports
        .iter()
        .flat_map(|e| e.counts.iter().map(|(noun, n)| count(*n, noun)))
        .collect();
    printer.message(&format!(
        "Exported {} to {}. Check with `twinform plan {}`: it should show no changes.",
        counts.join(" and "),
        args.out.display(),
        args.out.display()
    ));
    let skipped: Vec<&String> = exports.iter().flat_map(|e| &e.skipped).collect();
    for s in &skipped {
        printer.error(&format!("not exported: {s}"));
    }
    Ok(if skipped.is_empty() {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}

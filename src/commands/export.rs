//! `twinform export`: manifests describing what exists live, from every
//! provider asked for, written only once everything was read (a failed read
//! writes nothing) and never over existing files without `--force`.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use super::connect::connect;
use super::{Error, Outcome};
use crate::cli::ExportArgs;
use crate::engine::file::{self, Holds, Within};
use crate::engine::manifest::diagnostic::did_you_mean;
use crate::engine::output::Printer;
use crate::engine::plan::render::count;
use crate::engine::provider::{DynProvider, ExportFilter};
use crate::engine::session::json_schema;

pub async fn run(printer: &Printer, args: ExportArgs) -> Result<Outcome, Error> {
    let all = crate::providers::all();
    let mut providers: Vec<Arc<dyn DynProvider>> = Vec::new();
    for name in &args.provider {
        providers.push(super::provider_named(name)?);
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
        for (rel, content) in &e.files {
            confined(rel)?;
            files.insert(args.out.join(rel), content.clone());
        }
    }
    if let Some((f, g)) = file_and_folder(&files) {
        return Err(Error::Refused(format!(
            "refusing to export: two live names make {} both a file and the folder of {}; nothing was written\nhint: rename one of them live",
            f.display(),
            g.display()
        )));
    }
    let schema = serde_json::to_string_pretty(&json_schema(&all)).unwrap_or_default();
    files.insert(args.out.join("twinform.schema.json"), format!("{schema}\n"));
    let secret: Vec<String> = files
        .iter()
        .filter(|(_, c)| file::holds_secret(c.as_bytes(), &printer.redactor))
        .map(|(p, _)| p.display().to_string())
        .collect();
    if !secret.is_empty() {
        return Err(Error::Refused(format!(
            "refusing to export: live values would put a secret known to this run (an API key, an interpolated value or a stored signing secret) into {}; nothing was written\nhint: change those values live, or narrow the export with --workspace or --agent",
            secret.join(", ")
        )));
    }
    std::fs::create_dir_all(&args.out)
        .map_err(|e| Error::Io(format!("cannot create {}: {e}", args.out.display())))?;
    // Every target is checked before any is written (a planted link in
    // --out refuses the export, not half of it).
    for path in files.keys() {
        file::check(path, Within::Root(&args.out))
            .map_err(|e| Error::Refused(format!("refusing to export: {e}")))?;
    }
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
        file::write(
            path,
            Within::Root(&args.out),
            content.as_bytes(),
            Holds::NoSecrets(&printer.redactor),
        )
        .map_err(|e| Error::Io(e.to_string()))?;
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

/// Refuse a path (named by a provider, derived from live names) that could
/// leave `--out` or hide from the manifest loader: it must be relative, made
/// of plain names, none of them hidden. Providers make names file-safe
/// ([`crate::engine::provider::file_name`]); this holds for every provider.
fn confined(rel: &Path) -> Result<(), Error> {
    let plain = |c: Component| match c {
        Component::Normal(n) => !n.to_string_lossy().starts_with('.'),
        _ => false,
    };
    if rel.as_os_str().is_empty() || !rel.components().all(plain) {
        return Err(Error::Refused(format!(
            "refusing to export: a live name makes the path `{}`, which would leave --out or be hidden; nothing was written",
            rel.display()
        )));
    }
    // File systems refuse a name over 255 bytes: found before anything is
    // written, not half way.
    if let Some(long) = rel.components().find(|c| c.as_os_str().len() > 255) {
        return Err(Error::Refused(format!(
            "refusing to export: a live name makes the file name `{}…` ({} bytes), longer than file systems allow; nothing was written\nhint: rename it live, or narrow the export with --workspace or --agent",
            long.as_os_str().to_string_lossy().chars().take(40).collect::<String>(),
            long.as_os_str().len()
        )));
    }
    Ok(())
}

/// A file whose path is also a folder of another file (`memory/x.yaml` and
/// `memory/x.yaml/e.md`): found before anything is written.
fn file_and_folder(files: &BTreeMap<PathBuf, String>) -> Option<(PathBuf, PathBuf)> {
    // Paths sort by component: a folder's files come right after the file
    // of the same name.
    let keys: Vec<&PathBuf> = files.keys().collect();
    keys.windows(2)
        .find(|w| w[1].starts_with(w[0]))
        .map(|w| (w[0].clone(), w[1].clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Attack review F7: what would fail half way is found before writing.
    #[test]
    fn long_names_and_file_folder_clashes_are_found_before_writing() {
        assert!(confined(Path::new("twig/agents/ok.yaml")).is_ok());
        let long = format!("twig/agents/{}.yaml", "a".repeat(300));
        assert!(confined(Path::new(&long)).is_err());
        let mut files = BTreeMap::new();
        for p in ["m/pee.yaml", "m/pee.yaml-2", "m/pee.yaml/e.md", "m/q.yaml"] {
            files.insert(PathBuf::from(p), String::new());
        }
        assert_eq!(
            file_and_folder(&files),
            Some((
                PathBuf::from("m/pee.yaml"),
                PathBuf::from("m/pee.yaml/e.md")
            ))
        );
        files.remove(Path::new("m/pee.yaml/e.md"));
        assert_eq!(file_and_folder(&files), None);
    }
}

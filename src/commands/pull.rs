//! `twinform pull`: live changes back into git. Reads live state, asks each
//! provider which managed values drifted, and edits the manifests in place
//! at those values' spans (comments and layout kept; prompt files rewritten
//! byte for byte). Templated and interpolated values are never overwritten:
//! they are listed instead. `--dry-run` prints the patch.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::connect::connect;
use super::{validate, Error, Outcome};
use crate::cli::PullArgs;
use crate::engine::file::{self, Holds, Within};
use crate::engine::manifest::edit::{self, Edit, Files};
use crate::engine::output::Printer;
use crate::engine::plan::render::count;
use crate::engine::provider::{ExportFilter, Pulled, Scope};
use crate::engine::session::Tree;

pub async fn run(printer: &Printer, args: PullArgs) -> Result<Outcome, Error> {
    let tree = validate::load(printer, &args.path, &args.input)?;
    let providers: Vec<_> = tree.parts.iter().map(|p| p.provider.clone()).collect();
    let session = connect(printer, &args.api, &providers).await?;
    let scope = Scope {
        workspaces: (!args.workspace.is_empty()).then(|| args.workspace.iter().cloned().collect()),
    };
    let filter = ExportFilter {
        workspaces: args.workspace.clone(),
        agents: args.agent.clone(),
    };
    let mut pulled = Vec::new();
    session.bind(&tree);
    for part in &tree.parts {
        let read = part.bound.read(&scope, args.api.parallelism).await;
        match read {
            Ok(()) => {}
            Err(e) => {
                session.close().await;
                return Err(Error::Refused(format!(
                    "reading live state failed, nothing was written: {e}"
                )));
            }
        };
        let name = part.provider.info().name;
        match part.bound.pull(&filter) {
            Some(p) => pulled.extend(p),
            None => printer.message(&format!(
                "note: pull does not read {name} back yet; its manifests are left as they are"
            )),
        }
    }
    session.close().await;

    let written = write_back(printer, &tree, pulled, SharedFile::Leave, args.dry_run)?;
    for (address, why) in &written.left {
        printer.message(&format!("not pulled: {address}: {why}"));
    }
    printer.message(&format!(
        "{} {} into {}{}.",
        if args.dry_run { "Would pull" } else { "Pulled" },
        count(written.values, "drifted value"),
        count(written.files, "file"),
        if written.left.is_empty() {
            String::new()
        } else {
            format!(
                "; {} left for a person",
                count(written.left.len(), "difference")
            )
        }
    ));
    Ok(Outcome::Success)
}

/// What [`write_back`] does with a prompt file that other resources of the
/// tree also use (a `{file: …}` or a template including it) and that would
/// not be rewritten to the same text for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SharedFile {
    /// Leave it, and say which resources share it (`pull`, `rollback`).
    Leave,
    /// Rewrite it, and say which resources change with it (`rollback --force`).
    Rewrite,
}

/// What [`write_back`] did.
pub struct Written {
    /// Prompt files left because other resources share them.
    pub shared: Vec<String>,
    /// Values written (or, with `dry_run`, that would be).
    pub values: usize,
    /// Files changed.
    pub files: usize,
    /// What was not written, and why: `(address, why)`.
    pub left: Vec<(String, String)>,
}

/// Carry out `pulled` on the manifests of `tree`: edits planned first, a
/// live value holding a secret of the run refused, one prompt file
/// rewritten two ways refused, a prompt file other resources share left
/// or rewritten as `shared` says, then every file replaced atomically (by
/// [`file::write`], confined to the tree), or with
/// `dry_run` the patch printed (a unified diff) and nothing written.
pub fn write_back(
    printer: &Printer,
    tree: &Tree,
    pulled: Vec<Pulled>,
    shared: SharedFile,
    dry_run: bool,
) -> Result<Written, Error> {
    let mut shared_left = Vec::new();
    let mut files = Files::default();
    let mut edits = Vec::new();
    let mut left: Vec<(String, String)> = Vec::new();
    for p in pulled {
        match p {
            Pulled::Leave { address, why } => left.push((address, why)),
            Pulled::Write(req) => {
                // A live value that holds a secret of the run (an API key
                // of any configured platform, an interpolated value, a
                // stored signing secret) pasted into a prompt must never
                // reach git; the writer refuses it too, this says which.
                let secret_in = |t: &str| file::holds_secret(t.as_bytes(), &printer.redactor);
                let holds_secret = match &req.value {
                    edit::NewValue::Text(t) | edit::NewValue::LongText(t) => secret_in(t),
                    edit::NewValue::List(l) => l.iter().any(|t| secret_in(t)),
                    edit::NewValue::Json(j) => secret_in(&j.to_string()),
                    edit::NewValue::Bool(_) | edit::NewValue::Number(_) => false,
                };
                if holds_secret {
                    left.push((
                        req.address.clone(),
                        format!("the value for {} holds a secret; not written", req.field),
                    ));
                    continue;
                }
                match edit::plan(&mut files, &tree.root, &req) {
                    Edit::Skip(why) => {
                        left.push((req.address.clone(), format!("{}: {why}", req.field)))
                    }
                    e => edits.push((req, e)),
                }
            }
        }
    }
    // One prompt file rewritten two ways (agents sharing it drifted apart)
    // cannot be settled here.
    let mut rewrites: BTreeMap<PathBuf, Vec<usize>> = BTreeMap::new();
    for (i, (_, e)) in edits.iter().enumerate() {
        if let Edit::Rewrite { file, .. } = e {
            rewrites.entry(file.clone()).or_default().push(i);
        }
    }
    let mut drop = Vec::new();
    for (file, at) in &rewrites {
        let contents: Vec<&str> = at
            .iter()
            .filter_map(|&i| match &edits[i].1 {
                Edit::Rewrite { content, .. } => Some(content.as_str()),
                _ => None,
            })
            .collect();
        if contents.windows(2).any(|w| w[0] != w[1]) {
            for &i in at {
                left.push((
                    edits[i].0.address.clone(),
                    format!(
                        "{} is shared by agents whose live texts differ; not written",
                        shown_path(file, &tree.root)
                    ),
                ));
                drop.push(i);
            }
            continue;
        }
        // Other resources whose text is this file (a `{file: …}` or a
        // template including it) and that are not rewritten to the same
        // text here would change too: rollback of one agent silently
        // rolled back another.
        let same = |u: &edit::FileUse| {
            at.iter().any(|&i| {
                let r = &edits[i].0;
                let real = std::fs::canonicalize(&r.origin.file).unwrap_or(r.origin.file.clone());
                real == u.origin.file && r.origin.base == u.origin.base && r.path == u.path
            })
        };
        let others: Vec<String> = edit::uses_of(&tree.root, file)
            .into_iter()
            .filter(|u| !same(u))
            .map(|u| u.shown)
            .collect();
        let name = shown_path(file, &tree.root);
        if others.is_empty() {
            drop.extend(at.iter().skip(1));
        } else if shared == SharedFile::Rewrite {
            printer.message(&format!(
                "note: {name} is also the text of {}: it changes for them too",
                others.join(", ")
            ));
            drop.extend(at.iter().skip(1));
        } else {
            for &i in at {
                left.push((
                    edits[i].0.address.clone(),
                    format!(
                        "{name} is also the text of {}; not written",
                        others.join(", ")
                    ),
                ));
                drop.push(i);
            }
            shared_left.push(name);
        }
    }
    let mut kept: Vec<(edit::Request, Edit)> = edits
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !drop.contains(i))
        .map(|(_, pair)| pair)
        .collect();
    let mut changed = edit::apply(
        &mut files,
        &kept.iter().map(|(_, e)| e.clone()).collect::<Vec<_>>(),
    );
    // A manifest is written only if it reads back as before with exactly
    // the pulled values changed.
    let mut refused = Vec::new();
    changed.retain(|(path, old, new)| {
        let spliced = |e: &Edit| matches!(e, Edit::Splice { file, .. } if file == path);
        let requests: Vec<&edit::Request> = kept
            .iter()
            .filter(|(_, e)| spliced(e))
            .map(|(r, _)| r)
            .collect();
        if requests.is_empty() {
            return true;
        }
        match edit::verify(old, new, &requests) {
            Ok(()) => true,
            Err(why) => {
                for r in requests {
                    left.push((r.address.clone(), format!("{}: {why}", r.field)));
                }
                refused.push(path.clone());
                false
            }
        }
    });
    kept.retain(|(_, e)| !matches!(e, Edit::Splice { file, .. } if refused.contains(file)));

    if dry_run {
        print_patch(printer, &changed);
    } else {
        // A manifest may be a link to another file of the tree (it was
        // read through it): the real file is written, still confined. All
        // are checked before any is written.
        let real: Vec<(PathBuf, &String)> = changed
            .iter()
            .map(|(path, _, new)| (std::fs::canonicalize(path).unwrap_or(path.clone()), new))
            .collect();
        for (path, _) in &real {
            file::check(path, Within::Root(&tree.root))
                .map_err(|e| Error::Refused(format!("{e}; nothing was written")))?;
        }
        for (path, new) in real {
            file::write(
                &path,
                Within::Root(&tree.root),
                new.as_bytes(),
                Holds::NoSecrets(&printer.redactor),
            )
            .map_err(|e| Error::Io(e.to_string()))?;
        }
    }
    Ok(Written {
        shared: shared_left,
        values: kept.len(),
        files: changed.len(),
        left,
    })
}

/// The patch of a dry run: a unified diff with paths relative to the
/// working directory, so `git apply` takes it from there. A line that holds
/// a secret of the run is masked, and a masked patch no longer applies:
/// then it says, in the patch and on stderr, that it is for reading only.
fn print_patch(printer: &Printer, changed: &[(PathBuf, String, String)]) {
    let cwd = std::env::current_dir().and_then(std::fs::canonicalize).ok();
    let mut patch = String::new();
    for (file, old, new) in changed {
        let abs = std::fs::canonicalize(file).unwrap_or_else(|_| file.clone());
        let name = cwd
            .as_ref()
            .and_then(|c| abs.strip_prefix(c).ok())
            .unwrap_or(&abs)
            .display()
            .to_string();
        patch.push_str(
            &similar::TextDiff::from_lines(old, new)
                .unified_diff()
                .header(&format!("a/{name}"), &format!("b/{name}"))
                .to_string(),
        );
    }
    let masked = printer.redactor.scrub(&patch);
    if masked == patch {
        printer.data(&patch);
        return;
    }
    let lines = patch
        .lines()
        .zip(masked.lines())
        .filter(|(a, b)| a != b)
        .count();
    let note = format!(
        "this patch is for reading only: {} a secret of this run, masked here, so `git apply` would reject it; run `twinform pull` without --dry-run to write the change",
        if lines == 1 {
            "1 line holds".to_string()
        } else {
            format!("{lines} lines hold")
        }
    );
    // Text before the first `---` is commentary to `git apply`, and a
    // reader sees the note where the patch is.
    printer.data(&format!("# twinform: {note}\n{masked}"));
    printer.message(&format!("note: {note}"));
}

fn shown_path(file: &Path, root: &Path) -> String {
    let abs = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
    abs.strip_prefix(root)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| file.display().to_string())
}

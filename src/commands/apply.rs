//! `twinform apply [PATH | PLANFILE]`.

use std::io::{BufRead, IsTerminal};
use std::path::Path;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::plan::{operation_hashes, prepare, Prepared, SavedPlan, Selection, SAVED_PLAN_KIND};
use super::{EXIT_ERROR, EXIT_OK};
use crate::apply::journal::{last_apply, Journal};
use crate::apply::report::{self, Event, EventBody, Summary};
use crate::apply::secrets::SecretSink;
use crate::apply::signals::Interrupt;
use crate::apply::{self, Finished, Status};
use crate::cli::{ApplyArgs, Format};
use crate::output::{Printer, Style};
use crate::plan::render::{self, count as plural};

/// A saved plan, if `path` is one: `Ok(None)` for manifests, an error for a
/// file that is meant as a plan (JSON) but is not a usable one.
fn read_saved(path: &Path) -> Result<Option<SavedPlan>, String> {
    if !path.is_file() {
        return Ok(None);
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let starts_json = bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{');
    if !starts_json {
        return Ok(None);
    }
    let what = path.display();
    let value: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{what} is not a complete saved plan (truncated or edited?): {e}"))?;
    if value.get("kind").and_then(|k| k.as_str()) != Some(SAVED_PLAN_KIND) {
        return Err(format!(
            "{what} is JSON but not a plan saved by `twinform plan --out`"
        ));
    }
    let version = value
        .get("format_version")
        .and_then(|v| v.as_str())
        .unwrap_or("none");
    if version != crate::plan::FORMAT_VERSION {
        return Err(format!(
            "{what} was saved in plan format {version}; this twinform reads format {}: make the plan again with this version",
            crate::plan::FORMAT_VERSION
        ));
    }
    serde_json::from_value(value)
        .map(Some)
        .map_err(|e| format!("{what} is not a usable saved plan: {e}"))
}

/// Differences between two maps of address → hash.
fn changed(
    old: &std::collections::BTreeMap<String, String>,
    new: &std::collections::BTreeMap<String, String>,
) -> Vec<String> {
    let mut out: Vec<String> = old
        .iter()
        .filter(|(k, v)| new.get(*k) != Some(v))
        .map(|(k, _)| k.clone())
        .collect();
    out.extend(new.keys().filter(|k| !old.contains_key(*k)).cloned());
    out.sort();
    out.dedup();
    out
}

/// The git commit of the manifests, sent as `source_id`; `<sha>-dirty` when
/// the manifest tree has uncommitted changes (the text is not that commit's).
fn git_commit(root: &Path) -> Option<String> {
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

pub async fn run(printer: &Printer, args: ApplyArgs) -> i32 {
    let mut printer = printer.clone();
    if args.resume {
        return resume(&printer, &args.journal.journal);
    }
    // With `--secrets-out -`, stdout carries the secrets and nothing else.
    printer.quiet_stdout = args.secrets_out == Path::new("-");
    let saved = match read_saved(&args.path) {
        Ok(s) => s,
        Err(e) => {
            printer.error(&e);
            return EXIT_ERROR;
        }
    };
    if saved.is_some() && !(args.target.is_empty() && args.workspace.is_empty()) {
        printer.error(&"--target and --workspace cannot narrow a saved plan: it applies exactly what was reviewed\nhint: narrow when saving it: `twinform plan --target … --out FILE`");
        return EXIT_ERROR;
    }
    let (manifests, selection) = match &saved {
        Some(s) => (s.manifests.clone(), s.selection.clone()),
        None => (
            args.path.clone(),
            Selection {
                targets: args.target.clone(),
                workspaces: args.workspace.clone(),
            },
        ),
    };
    let prepared = match prepare(&printer, &manifests, &args.api, &selection, &args.journal).await {
        Ok(p) => p,
        Err(code) => return code,
    };
    let code = match check_and_confirm(&printer, &args, saved.as_ref(), &prepared) {
        Ok(true) => execute(&printer, &args, &prepared).await,
        // Nothing to do: machine formats still get their (empty) report.
        Ok(false) => summarize(&printer, &[], None, None, args.format),
        Err(code) => code,
    };
    prepared.conn.close().await;
    code
}

/// Show the plan and decide whether to go on: `Ok(false)` when there is nothing to do.
fn check_and_confirm(
    printer: &Printer,
    args: &ApplyArgs,
    saved: Option<&SavedPlan>,
    p: &Prepared,
) -> Result<bool, i32> {
    if let Some(saved) = saved {
        let stale = changed(&saved.fingerprints, &p.live.fingerprints(&p.desired));
        if !stale.is_empty() {
            printer.error(&format!(
                "the saved plan is stale: these live objects changed since it was made: {}\nhint: run `twinform plan --out` again",
                stale.join(", ")
            ));
            return Err(EXIT_ERROR);
        }
        let differs = changed(&saved.operations, &operation_hashes(&p.plan));
        if !differs.is_empty() {
            printer.error(&format!(
                "the manifests (or the variables they use) changed since the plan was saved: {}\nhint: run `twinform plan --out` again",
                differs.join(", ")
            ));
            return Err(EXIT_ERROR);
        }
    }
    if args.format == Format::Text {
        let err = printer.for_stderr();
        printer.message(&render::text::render(&p.plan, &p.context, &err));
    }
    if p.plan.is_empty() {
        return Ok(false);
    }
    let destructive = p.plan.destructive();
    if destructive.len() > args.max_destroy {
        printer.error(&format!(
            "this plan destroys {} resources, more than --max-destroy {}: nothing was changed\nhint: review the plan, then raise --max-destroy to apply it",
            destructive.len(),
            args.max_destroy
        ));
        return Err(EXIT_ERROR);
    }
    if saved.is_some() || args.auto_approve {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        printer.error(&"stdin is not a terminal, so apply cannot ask for confirmation: nothing was changed\nhint: pass --auto-approve (or apply a plan saved with `plan --out`)");
        return Err(EXIT_ERROR);
    }
    if !destructive.is_empty() {
        let list: Vec<String> = destructive
            .iter()
            .map(|c| format!("  - {}", render::destructive_note(c)))
            .collect();
        printer.message(&format!(
            "{}\n{}",
            printer
                .for_stderr()
                .paint("These changes destroy data:", Style::Red),
            list.join("\n")
        ));
    }
    printer.message("Do you want to apply these changes? Only 'yes' will be accepted:");
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    if answer.trim() != "yes" {
        printer.message("Apply cancelled: nothing was changed.");
        return Err(EXIT_ERROR);
    }
    Ok(true)
}

/// The secrets sink, checked before anything is written when the plan will
/// receive signing secrets: a secret that cannot be stored must never be made.
async fn open_secrets(
    printer: &Printer,
    args: &ApplyArgs,
    p: &Prepared,
) -> Result<Arc<SecretSink>, i32> {
    let refuse = |e: std::io::Error| {
        printer.error(&format!(
            "cannot store signing secrets in {}: {e}; nothing was changed\nhint: choose a writable --secrets-out (or `-` for standard output)",
            args.secrets_out.display()
        ));
        EXIT_ERROR
    };
    let sink = SecretSink::new(
        &args.secrets_out,
        args.secrets_command.clone(),
        printer.redactor.clone(),
    )
    .map_err(refuse)?;
    let receives_secrets = p
        .plan
        .changes
        .iter()
        .flat_map(|c| &c.ops)
        .any(|op| matches!(op, crate::plan::Op::CreateWebhook { .. }));
    if receives_secrets {
        sink.preflight().await.map_err(refuse)?;
    }
    Ok(Arc::new(sink))
}

async fn execute(printer: &Printer, args: &ApplyArgs, p: &Prepared) -> i32 {
    let secrets = match open_secrets(printer, args, p).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let journal = match Journal::open(&args.journal.journal, printer.redactor.clone()) {
        Ok(j) => Arc::new(j),
        Err(e) => {
            printer.error(&format!(
                "cannot open the journal {}: {e}",
                args.journal.journal.display()
            ));
            return EXIT_ERROR;
        }
    };
    journal.record("", "", "begin", None);
    let interrupt = Interrupt::default();
    let notice = printer.clone();
    let watcher = interrupt.watch(move |line| notice.message(line));
    let mut ctx = apply::Context::new(p.conn.client.clone(), &p.live, secrets.clone());
    ctx.parallelism = args.api.parallelism;
    ctx.source_id = git_commit(&p.desired.root);
    ctx.journal = journal.clone();
    ctx.interrupted = interrupt.flag.clone();
    let (tx, mut rx) = mpsc::unbounded_channel::<Finished>();
    let total = p.plan.changes.len() as u64;
    let bar = progress_bar(total, args.format);
    let reporter = {
        let (printer, format, bar) = (printer.clone(), args.format, bar.clone());
        tokio::spawn(async move {
            while let Some(f) = rx.recv().await {
                // After a signal, the changes never started are counted in the
                // summary, not listed one by one (a thousand lines of noise).
                if format == Format::Text && f.status == Status::Skipped(apply::NOT_STARTED.into())
                {
                    continue;
                }
                let line = report_line(&printer, &f, format);
                match &bar {
                    Some(b) => {
                        b.inc(1);
                        b.suspend(|| printer.data(&line));
                    }
                    None => printer.data(&line),
                }
            }
        })
    };
    let results = apply::execute(&p.plan, ctx, tx).await;
    let _ = reporter.await;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    watcher.abort();
    journal.record("", "", "end", None);
    summarize(
        printer,
        &results,
        interrupt.exit_code(),
        Some(&secrets),
        args.format,
    )
}

fn progress_bar(total: u64, format: Format) -> Option<indicatif::ProgressBar> {
    (format == Format::Text && total >= 20 && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(total);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} changes · {elapsed}")
        {
            bar.set_style(style);
        }
        bar
    })
}

fn report_line(printer: &Printer, f: &Finished, format: Format) -> String {
    match format {
        Format::Json => return Event::change(f).line(),
        Format::Markdown => return String::new(),
        Format::Text => {}
    }
    let ms = f.duration.as_secs_f64();
    match &f.status {
        Status::Applied => format!(
            "{} {} {} ({ms:.2} s){}\n",
            printer.paint("✓", Style::Green),
            f.address,
            f.action.past(),
            f.warning
                .as_ref()
                .map(|w| format!(": warning: {w}"))
                .unwrap_or_default()
        ),
        Status::Failed(m) => format!("{} {}: {m}\n", printer.paint("✗", Style::Red), f.address),
        Status::Blocked(m) => format!(
            "{} {} blocked: {m}\n",
            printer.paint("!", Style::Yellow),
            f.address
        ),
        Status::Skipped(m) => format!(
            "{} {} skipped: {m}\n",
            printer.paint("·", Style::Dim),
            f.address
        ),
    }
}

/// Print the summary in every format (JSON and Markdown on stdout, the line
/// for people on stderr) and choose the exit code.
fn summarize(
    printer: &Printer,
    results: &[Finished],
    interrupted: Option<i32>,
    secrets: Option<&SecretSink>,
    format: Format,
) -> i32 {
    let mut summary = Summary::of(results);
    summary.secrets_stored = secrets.map_or(0, SecretSink::stored);
    summary.interrupted_by = interrupted.map(|code| code - 128);
    summary.exit_code = if let Some(code) = interrupted {
        code
    } else if summary.applied == results.len() && summary.warnings == 0 {
        EXIT_OK
    } else {
        EXIT_ERROR
    };
    match format {
        Format::Json => printer.data(&Event::new(EventBody::Summary(&summary)).line()),
        Format::Markdown => printer.data(&report::markdown(results, &summary)),
        Format::Text => {}
    }
    if results.is_empty() {
        return summary.exit_code;
    }
    let head = if interrupted.is_some() {
        "Apply interrupted"
    } else if summary.exit_code == EXIT_OK {
        "Apply complete"
    } else {
        "Apply finished with problems"
    };
    let mut line = format!(
        "{head}: {} applied, {} failed, {} blocked, {} skipped.",
        summary.applied, summary.failed, summary.blocked, summary.skipped
    );
    if let Some(s) = secrets.filter(|s| s.stored() > 0) {
        line.push_str(&format!(
            " {} stored in {}.",
            plural(s.stored(), "new signing secret"),
            s.destination()
        ));
    }
    if interrupted.is_some() {
        line.push_str(
            " Run apply again to finish; `twinform apply --resume` shows where it stopped.",
        );
    }
    printer.message(&line);
    for w in results.iter().filter_map(|f| f.warning.as_ref()) {
        let head = printer.for_stderr().paint("warning:", Style::Yellow);
        printer.message(&format!("{head} {w}"));
    }
    summary.exit_code
}

fn resume(printer: &Printer, journal: &Path) -> i32 {
    match last_apply(journal) {
        Ok(None) => {
            printer.message(&format!("No apply recorded in {}.", journal.display()));
            EXIT_OK
        }
        Ok(Some(last)) => {
            let (id, done, unfinished, failed) =
                (last.apply_id, last.done, last.unfinished, last.failed);
            let mut out = format!(
                "Last apply {id}: {} operations done, {} unfinished, {} failed.\n",
                done.len(),
                unfinished.len(),
                failed.len()
            );
            for u in &unfinished {
                out.push_str(&format!("  unfinished: {u}\n"));
            }
            for f in &failed {
                out.push_str(&format!("  failed: {f}\n"));
            }
            out.push_str(
                "Run `twinform apply` again: it re-reads live state and finishes what is left.\n",
            );
            printer.data(&out);
            EXIT_OK
        }
        Err(e) => {
            printer.error(&format!("cannot read {}: {e}", journal.display()));
            EXIT_ERROR
        }
    }
}

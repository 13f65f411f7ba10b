//! `twinform apply [PATH | PLANFILE]`.

use std::collections::HashMap;
use std::io::{BufRead, IsTerminal};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::plan::{human_duration, prepare, Pacing, Prepared};
use super::{Error, Outcome};
use crate::cli::{ApplyArgs, Format, ManifestArgs};
use crate::engine::apply::journal::{last_apply, Journal};
use crate::engine::apply::report::{self, Event, EventBody, Summary};
use crate::engine::apply::secrets::SecretSink;
use crate::engine::apply::signals::Interrupt;
use crate::engine::apply::{self, Finished, Status, Target};
use crate::engine::output::{Printer, Style};
use crate::engine::plan::render::{self, count as plural};
use crate::engine::plan::saved::{self, SavedPlan, Selection};

pub async fn run(printer: &Printer, args: ApplyArgs) -> Result<Outcome, Error> {
    let mut printer = printer.clone();
    if args.resume {
        return resume(&printer, &args.journal.journal);
    }
    // With `--secrets-out -`, stdout carries the secrets and nothing else.
    printer.quiet_stdout = args.secrets_out == Path::new("-");
    let saved = saved::read(&args.path).map_err(Error::Refused)?;
    if saved.is_some() && !(args.target.is_empty() && args.workspace.is_empty()) {
        return Err(Error::Refused("--target and --workspace cannot narrow a saved plan: it applies exactly what was reviewed\nhint: narrow when saving it: `twinform plan --target … --out FILE`".into()));
    }
    if saved.is_some() && !args.input.var_file.is_empty() {
        return Err(Error::Refused("--var-file cannot change a saved plan: it applies with the var files it was made with\nhint: pass them when saving it: `twinform plan --var-file … --out FILE`".into()));
    }
    if saved.is_some() && !args.input.allow_hidden.is_empty() {
        return Err(Error::Refused("--allow-hidden cannot change a saved plan: it applies with what it was made with\nhint: pass it when saving it: `twinform plan --allow-hidden … --out FILE`".into()));
    }
    let (manifests, var_files, allow_hidden, selection) = match &saved {
        Some(s) => (
            s.manifests.clone(),
            s.var_files.clone(),
            s.allow_hidden.clone(),
            s.selection.clone(),
        ),
        None => (
            args.path.clone(),
            args.input.var_file.clone(),
            args.input.allow_hidden.clone(),
            Selection {
                targets: args.target.clone(),
                workspaces: args.workspace.clone(),
                adopt: args.adopt,
                sync_secrets: args.sync_secrets,
            },
        ),
    };
    let input = ManifestArgs {
        var_file: var_files,
        allow_hidden,
        ..args.input.clone()
    };
    let mut prepared = prepare(
        &printer,
        &manifests,
        &input,
        &args.api,
        &selection,
        &args.journal,
    )
    .await?;
    let result = match check_and_confirm(&printer, &args, saved.as_ref(), &mut prepared) {
        Ok(true) => execute(&printer, &args, prepared).await,
        // Nothing to do: machine formats still get their (empty) report.
        Ok(false) => {
            prepared.session.close().await;
            Ok(summarize(&printer, &[], None, None, args.format))
        }
        Err(e) => {
            prepared.session.close().await;
            Err(e)
        }
    };
    result
}

/// Show the plan and decide whether to go on: `Ok(false)` when there is nothing to do.
fn check_and_confirm(
    printer: &Printer,
    args: &ApplyArgs,
    saved: Option<&SavedPlan>,
    p: &mut Prepared,
) -> Result<bool, Error> {
    if let Some(saved) = saved {
        check_saved(printer, saved, p)?;
    }
    // stdout is the apply's report (a line per change and the summary, or
    // the JSON events or Markdown report); stderr is what is said on the
    // way: this plan, the question, progress, notes and warnings, so the
    // plan being confirmed shows even with stdout redirected.
    if args.format == Format::Text {
        let err = printer.for_stderr();
        printer.message(&render::text::render(&p.plan, &p.context, &err));
    }
    if p.plan.is_empty() {
        return Ok(false);
    }
    let destructive = p.plan.destructive();
    if destructive.len() > args.max_destroy {
        return Err(Error::Refused(format!(
            "this plan destroys {}, more than --max-destroy {}: nothing was changed\nhint: review the plan, then raise --max-destroy to apply it",
            plural(destructive.len(), "resource"),
            args.max_destroy
        )));
    }
    if !p.plan.has_work() {
        // Only manual actions: nothing to confirm; the report lists them.
        return Ok(true);
    }
    if saved.is_some() || args.auto_approve {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::Refused("stdin is not a terminal, so apply cannot ask for confirmation: nothing was changed\nhint: pass --auto-approve (or apply a plan saved with `plan --out`)".into()));
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
        return Err(Error::Refused(
            "apply cancelled: nothing was changed".into(),
        ));
    }
    Ok(true)
}

/// Refuse a saved plan that went stale, and narrow the fresh plan to the
/// saved one: a saved plan is stale only when what it writes, or what that
/// depends on, changed; live changes elsewhere are a note, and the fresh
/// plan's changes for them are not applied (nobody reviewed them).
fn check_saved(printer: &Printer, saved: &SavedPlan, p: &mut Prepared) -> Result<(), Error> {
    let now = p.fingerprints();
    let ops = saved::operation_hashes(&p.plan, &|pr, d| p.session.keyed_digest(pr, d));
    let found = saved::compare(saved, &now, &ops, &p.plan);
    if !found.stale.is_empty() {
        // Every fingerprint differing, none added or gone: another key.
        let all = saved::changed(&saved.fingerprints, &now);
        let rekeyed =
            all.len() == now.len() && saved.fingerprints.keys().eq(now.keys()) && now.len() > 1;
        let hint = if rekeyed {
            "hint: every object differs: if the plan was saved with another API key, set TWINFORM_PLAN_KEY to one value for both plan and apply"
        } else {
            "hint: run `twinform plan --out` again"
        };
        return Err(Error::Refused(format!(
            "the saved plan is stale: these live objects it writes or depends on changed since it was made: {}\n{hint}",
            found.stale.join(", ")
        )));
    }
    if !found.differs.is_empty() {
        return Err(Error::Refused(format!(
            "the saved plan is stale: these changes would no longer do what was reviewed (the manifests, the variables they use, or live state changed since the plan was saved): {}\nhint: run `twinform plan --out` again",
            found.differs.join(", ")
        )));
    }
    if !found.unrelated.is_empty() {
        printer.message(&format!(
            "note: live state changed since the plan was saved, in objects it does not touch: {}",
            found.unrelated.join(", ")
        ));
    }
    if !found.unreviewed.is_empty() {
        printer.message(&format!(
            "note: not applied, because the saved plan did not have them (run `twinform plan` to review them): {}",
            found.unreviewed.join(", ")
        ));
        p.plan
            .changes
            .retain(|c| saved.operations.contains_key(&c.address));
        p.context.paced = Pacing::of(&p.tree, &p.session, &p.plan).sentences(&p.tree);
    }
    Ok(())
}

/// The secrets sink, checked before anything is written when the plan will
/// receive signing secrets: a secret that cannot be stored must never be made.
async fn open_secrets(
    printer: &Printer,
    args: &ApplyArgs,
    p: &Prepared,
) -> Result<Arc<SecretSink>, Error> {
    let refuse = |e: std::io::Error| {
        Error::Refused(format!(
            "cannot store signing secrets in {}: {e}; nothing was changed\nhint: choose a writable --secrets-out (or `-` for standard output)",
            args.secrets_out.display()
        ))
    };
    let sink = SecretSink::new(
        &args.secrets_out,
        args.secrets_command.clone(),
        printer.redactor.clone(),
    )
    .map_err(refuse)?;
    let receives_secrets = p.plan.changes.iter().any(|c| {
        p.tree
            .parts
            .iter()
            .find(|part| part.provider.info().name == c.provider)
            .is_some_and(|part| c.ops.iter().any(|op| part.provider.yields_secret(op)))
    });
    if receives_secrets {
        sink.preflight().await.map_err(refuse)?;
        sink.check_command().map_err(|why| {
            Error::Refused(format!(
                "{why}; nothing was changed\nhint: pass `--secrets-out -` and give each line to your command outside the container, or use an image with a shell (README: Container image)"
            ))
        })?;
    }
    Ok(Arc::new(sink))
}

async fn execute(printer: &Printer, args: &ApplyArgs, p: Prepared) -> Result<Outcome, Error> {
    let secrets = match open_secrets(printer, args, &p).await {
        Ok(s) => s,
        Err(e) => {
            p.session.close().await;
            return Err(e);
        }
    };
    let journal = match Journal::open(&args.journal.journal, printer.redactor.clone()) {
        Ok(j) => Arc::new(j),
        Err(e) => {
            p.session.close().await;
            return Err(Error::Io(format!(
                "cannot open the journal {}: {e}",
                args.journal.journal.display()
            )));
        }
    };
    journal.record("", "", "begin", None);
    let interrupt = Interrupt::default();
    let notice = printer.clone();
    let watcher = interrupt.watch(move |line| notice.message(line));
    let mut targets = HashMap::new();
    for (part, live) in p.tree.parts.iter().zip(&p.lives) {
        let Some(c) = p.session.get(part.provider.info().name) else {
            continue;
        };
        targets.insert(
            part.provider.info().name,
            Target {
                provider: part.provider.clone(),
                api: c.api.clone(),
                state: part.provider.begin_apply(live.as_ref()),
            },
        );
    }
    let ctx = apply::Context {
        targets,
        parallelism: args.api.parallelism,
        source_id: super::git_commit(&p.tree.root),
        secrets: secrets.clone(),
        journal: journal.clone(),
        interrupted: interrupt.flag.clone(),
    };
    let (tx, mut rx) = mpsc::unbounded_channel::<Finished>();
    let total = p.plan.changes.len() as u64;
    let bar = progress_bar(total, args.format);
    let mut pacing = Pacing::of(&p.tree, &p.session, &p.plan);
    if let Some(b) = &bar {
        b.set_message(human_duration(pacing.time_left()));
    }
    let reporter = {
        let (printer, format, bar) = (printer.clone(), args.format, bar.clone());
        let mut progress = Progress::new(total, format == Format::Text && bar.is_none());
        tokio::spawn(async move {
            // The time left: the pacer's count of what is still to be sent
            // (from the first change on, bursts included), or the pace so
            // far when that is slower.
            let left =
                |pacing: &Pacing, progress: &Progress| pacing.time_left().max(progress.by_pace());
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                let f = tokio::select! {
                    f = rx.recv() => match f {
                        Some(f) => f,
                        None => break,
                    },
                    _ = tick.tick() => {
                        if let Some(b) = &bar {
                            b.set_message(human_duration(left(&pacing, &progress)));
                        }
                        continue;
                    }
                };
                pacing.finished(&f.address);
                if let Some(line) = progress.step(left(&pacing, &progress)) {
                    printer.message(&line);
                }
                // After a signal, the changes never started are counted in the
                // summary, not listed one by one (a thousand lines of noise).
                if format == Format::Text && f.status == Status::Skipped(apply::NOT_STARTED.into())
                {
                    continue;
                }
                let line = report_line(&printer, &f, format);
                let show = |printer: &Printer| match format {
                    Format::Json => printer.data(&line),
                    _ => printer.human(&line),
                };
                match &bar {
                    Some(b) => {
                        b.inc(1);
                        b.suspend(|| show(&printer));
                    }
                    None => show(&printer),
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
    p.session.close().await;
    Ok(summarize(
        printer,
        &results,
        interrupt.signal(),
        Some(&secrets),
        args.format,
    ))
}

/// Progress lines for logs (no terminal): applies paced by a platform's
/// write limit take minutes, so a CI log says how far along it is and how
/// long is left, at most every [`Progress::EVERY`].
struct Progress {
    total: u64,
    done: u64,
    started: Instant,
    last: Instant,
    on: bool,
}

impl Progress {
    const EVERY: Duration = Duration::from_secs(30);

    fn new(total: u64, on: bool) -> Self {
        let now = Instant::now();
        Progress {
            total,
            done: 0,
            started: now,
            last: now,
            on: on && total >= 20,
        }
    }

    /// The time left at the pace so far (zero before the first change).
    fn by_pace(&self) -> Duration {
        if self.done == 0 {
            return Duration::ZERO;
        }
        let per = self.started.elapsed().as_secs_f64() / self.done as f64;
        Duration::from_secs_f64(per * self.total.saturating_sub(self.done) as f64)
    }

    /// Count one finished change; a line when one is due, saying `left`.
    fn step(&mut self, left: Duration) -> Option<String> {
        self.done += 1;
        if !self.on || self.done >= self.total || self.last.elapsed() < Self::EVERY {
            return None;
        }
        self.last = Instant::now();
        Some(progress_line(
            self.done,
            self.total,
            self.started.elapsed(),
            left,
        ))
    }
}

/// `40 of 100 changes done in 4 min, about 6 min left`.
fn progress_line(done: u64, total: u64, elapsed: Duration, left: Duration) -> String {
    format!(
        "{done} of {total} changes done in {}, about {} left",
        human_duration(elapsed),
        human_duration(left)
    )
}

fn progress_bar(total: u64, format: Format) -> Option<indicatif::ProgressBar> {
    (format == Format::Text && total >= 20 && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(total);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} changes · {elapsed} · about {msg} left",
        ) {
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
    // Its own time; time queued behind a rate limit is said apart.
    let ms = f.duration.saturating_sub(f.waited).as_secs_f64();
    let waited = if f.waited >= Duration::from_millis(500) {
        format!(
            ", after {:.1} s waiting for the rate limit",
            f.waited.as_secs_f64()
        )
    } else {
        String::new()
    };
    match &f.status {
        Status::Applied => format!(
            "{} {} {} ({ms:.2} s{waited}){}\n",
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
        Status::Manual(m) => format!(
            "{} {} to do by hand: {m}\n",
            printer.paint("✋", Style::Cyan),
            f.address
        ),
    }
}

/// Print the summary in every format (JSON and Markdown on stdout, the line
/// for people on stderr) and choose the exit code.
fn summarize(
    printer: &Printer,
    results: &[Finished],
    signal: Option<i32>,
    secrets: Option<&SecretSink>,
    format: Format,
) -> Outcome {
    let mut summary = Summary::of(results);
    summary.secrets_stored = secrets.map_or(0, SecretSink::stored);
    summary.interrupted_by = signal;
    let outcome = if let Some(signal) = signal {
        Outcome::Interrupted(signal)
    } else if summary.applied + summary.manual == results.len() && summary.warnings == 0 {
        Outcome::Success
    } else {
        Outcome::Failed
    };
    summary.exit_code = match outcome {
        Outcome::Success | Outcome::Changes => super::EXIT_OK,
        Outcome::Interrupted(s) => 128 + s,
        Outcome::Failed => super::EXIT_ERROR,
    };
    match format {
        Format::Json => printer.data(&Event::new(EventBody::Summary(&summary)).line()),
        Format::Markdown => printer.data(&report::markdown(results, &summary)),
        Format::Text => {}
    }
    if results.is_empty() {
        return outcome;
    }
    let head = match outcome {
        Outcome::Interrupted(_) => "Apply interrupted",
        Outcome::Success | Outcome::Changes => "Apply complete",
        Outcome::Failed => "Apply finished with problems",
    };
    let mut line = format!(
        "{head}: {} applied, {} failed, {} blocked, {} skipped",
        summary.applied, summary.failed, summary.blocked, summary.skipped
    );
    if summary.manual > 0 {
        line.push_str(&format!(
            ", {} left to do by hand (listed above)",
            summary.manual
        ));
    }
    line.push('.');
    if let Some(s) = secrets.filter(|s| s.stored() > 0) {
        line.push_str(&format!(
            " {} stored in {}.",
            plural(s.stored(), "new signing secret"),
            s.destination()
        ));
    }
    if signal.is_some() {
        line.push_str(
            " Run apply again to finish; `twinform apply --resume` shows where it stopped.",
        );
    }
    // The summary closes the report (stdout) in text; the machine formats
    // carry their own summary there, so this line goes to stderr.
    if format == Format::Text {
        printer.human(&format!("{line}\n"));
    } else {
        printer.message(&line);
    }
    for w in results.iter().filter_map(|f| f.warning.as_ref()) {
        let head = printer.for_stderr().paint("warning:", Style::Yellow);
        printer.message(&format!("{head} {w}"));
    }
    outcome
}

fn resume(printer: &Printer, journal: &Path) -> Result<Outcome, Error> {
    match last_apply(journal) {
        Ok(None) => {
            printer.message(&format!("No apply recorded in {}.", journal.display()));
            Ok(Outcome::Success)
        }
        Ok(Some(last)) => {
            let (id, done, unfinished, failed) =
                (last.apply_id, last.done, last.unfinished, last.failed);
            let mut out = format!(
                "Last apply {id}: {} done, {} unfinished, {} failed.\n",
                plural(done.len(), "operation"),
                unfinished.len(),
                failed.len()
            );
            for u in &unfinished {
                out.push_str(&format!("  unfinished: {u}\n"));
            }
            for f in &failed {
                out.push_str(&format!("  failed: {f}\n"));
            }
            out.push_str(if unfinished.is_empty() && failed.is_empty() {
                "Nothing was left unfinished: there is nothing to resume.\n"
            } else {
                "Run `twinform apply` again: it re-reads live state and finishes what is left.\n"
            });
            printer.human(&out);
            Ok(Outcome::Success)
        }
        Err(e) => Err(Error::Io(format!("cannot read {}: {e}", journal.display()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_lines_say_the_time_left_they_are_given() {
        assert_eq!(
            progress_line(40, 100, Duration::from_secs(240), Duration::from_secs(150)),
            "40 of 100 changes done in 4 min, about 2 min 30 s left"
        );
        let mut p = Progress::new(100, true);
        assert_eq!(p.step(Duration::ZERO), None, "not before 30 s");
        p.last -= Progress::EVERY;
        let line = p.step(Duration::from_secs(600)).unwrap();
        assert!(
            line.starts_with("2 of 100") && line.ends_with("about 10 min left"),
            "{line}"
        );
        assert_eq!(
            Progress::new(5, true).step(Duration::ZERO),
            None,
            "short applies say nothing"
        );
        // Before any change the pace says nothing; after, it extrapolates.
        let mut p = Progress::new(10, true);
        assert_eq!(p.by_pace(), Duration::ZERO);
        p.started -= Duration::from_secs(10);
        p.done = 5;
        let left = p.by_pace().as_secs_f64();
        assert!((9.5..=11.0).contains(&left), "{left}");
    }
}

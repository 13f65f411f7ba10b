//! `twinform plan` and `twinform drift`, and the shared steps `apply` reuses:
//! load the manifests, connect, read, diff and explain.

use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use super::connect::connect;
use super::{validate, Error, Outcome};
use crate::cli::{Annotations, ApiArgs, DriftArgs, Format, JournalArgs, ManifestArgs, PlanArgs};
use crate::engine::apply::journal;
use crate::engine::http::Client;
use crate::engine::manifest::diagnostic::github_warning;
use crate::engine::output::Printer;
use crate::engine::plan::render::{self, Context};
use crate::engine::plan::saved::{self, RenderedPlan, SavedPlan, Selection};
use crate::engine::plan::{self, Plan};
use crate::engine::session::{self, Session, Tree};

/// Everything a plan was made from.
pub struct Prepared {
    pub tree: Tree,
    pub lives: Vec<Box<dyn Any + Send + Sync>>,
    pub plan: Plan,
    pub session: Session,
    pub context: Context,
}

impl Prepared {
    /// Fingerprints of every live object the plan depends on, all providers.
    /// Fingerprints of what was read, keyed like the operations (a live
    /// prompt may hold a secret; a plain hash of it must not be in the file).
    pub fn fingerprints(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (p, l) in self.tree.parts.iter().zip(&self.lives) {
            let name = p.provider.info().name;
            for (address, f) in p.provider.fingerprints(p.desired.as_ref(), l.as_ref()) {
                out.insert(address, self.session.keyed_digest(name, &f));
            }
        }
        out
    }
}

/// Load, connect, read, diff, explain and narrow.
pub async fn prepare(
    printer: &Printer,
    path: &Path,
    input: &ManifestArgs,
    api: &ApiArgs,
    selection: &Selection,
    journal_args: &JournalArgs,
) -> Result<Prepared, Error> {
    let tree = validate::load(printer, path, input)?;
    let providers: Vec<_> = tree.parts.iter().map(|p| p.provider.clone()).collect();
    let session = connect(printer, api, &providers).await?;
    let started = Instant::now();
    let before = session.requests();
    // Secret-receiving creates a hard kill cut short (their secret may be
    // nowhere): the plan replaces whatever they left.
    let cut_short = match journal::unfinished(&journal_args.journal) {
        Ok(c) => c,
        Err(e) => {
            printer.message(&format!(
                "warning: cannot read the journal {}: {e}",
                journal_args.journal.display()
            ));
            Default::default()
        }
    };
    let planned = session::plan(&tree, &session, selection, &cut_short, api.parallelism).await;
    let planned = match planned {
        Ok(p) => p,
        Err(e) => {
            session.close().await;
            return Err(e.into());
        }
    };
    let mut context = Context {
        seconds: started.elapsed().as_secs_f64(),
        requests: session.requests() - before,
        paced: Vec::new(),
    };
    context.paced = Pacing::of(&tree, &session, &planned.plan).sentences(&tree);
    // The manifests' warnings were annotated at their lines when they
    // loaded; the plan's own (a schedule the platform paused) are too.
    if input.annotations == Some(Annotations::Github) {
        let own = planned
            .plan
            .warnings
            .iter()
            .filter(|w| !tree.input_warnings.contains(w));
        for w in own {
            printer.report(&github_warning(w));
        }
    }
    Ok(Prepared {
        tree,
        lives: planned.lives,
        plan: planned.plan,
        session,
        context,
    })
}

/// The writes an apply of a plan sends to paced platforms (documented
/// rate limits), and how long they take: told before an apply starts, and
/// counted down while it runs (the time left comes from the pacer's budget
/// from the first change, not from the pace of the first few, which a
/// burst allowance makes fast).
pub struct Pacing {
    /// Per change address, its paced requests: `(provider, scope)`.
    per_change: HashMap<String, Vec<(&'static str, &'static str)>>,
    /// Requests not yet sent, per `(provider, scope)`.
    left: BTreeMap<(&'static str, &'static str), u64>,
    /// The clients of paced platforms (their pacers are shared with the
    /// clients the apply sends through).
    clients: HashMap<&'static str, Client>,
}

impl Pacing {
    pub fn of(tree: &Tree, session: &Session, plan: &Plan) -> Self {
        let mut per_change = HashMap::new();
        let mut left = BTreeMap::new();
        let mut clients = HashMap::new();
        for c in plan
            .changes
            .iter()
            .filter(|c| c.action != plan::Action::Manual)
        {
            let Some(part) = tree
                .parts
                .iter()
                .find(|p| p.provider.info().name == c.provider)
            else {
                continue;
            };
            let name = part.provider.info().name;
            let Some(client) = session.get(name).map(|s| &s.client) else {
                continue;
            };
            let scopes: Vec<(&'static str, &'static str)> = c
                .ops
                .iter()
                .flat_map(|op| part.provider.paced_requests(op))
                .filter(|s| client.refill(s).is_some())
                .map(|s| (name, s))
                .collect();
            for k in &scopes {
                *left.entry(*k).or_insert(0u64) += 1;
            }
            if !scopes.is_empty() {
                clients.entry(name).or_insert_with(|| client.clone());
                per_change.insert(c.address.clone(), scopes);
            }
        }
        Pacing {
            per_change,
            left,
            clients,
        }
    }

    /// A change finished (applied or not, its requests are no longer ahead).
    pub fn finished(&mut self, address: &str) {
        for k in self.per_change.remove(address).unwrap_or_default() {
            if let Some(n) = self.left.get_mut(&k) {
                *n = n.saturating_sub(1);
            }
        }
    }

    /// How long until the requests left can all have gone (the slowest
    /// scope; scopes are paced side by side).
    pub fn time_left(&self) -> Duration {
        self.left
            .iter()
            .filter_map(|((p, scope), n)| self.clients.get(p)?.paced_time(scope, *n))
            .max()
            .unwrap_or_default()
    }

    /// One sentence per paced scope whose requests outrun its budget:
    /// `Twig allows 10 write requests a minute (after a burst of 15): the
    /// 40 of this plan take about 2 min 30 s`.
    pub fn sentences(&self, tree: &Tree) -> Vec<String> {
        let mut out = Vec::new();
        for ((p, scope), n) in &self.left {
            let (Some(client), Some(part)) = (
                self.clients.get(p),
                tree.parts.iter().find(|x| x.provider.info().name == *p),
            ) else {
                continue;
            };
            let (Some(per_minute), Some(time)) =
                (client.refill(scope), client.paced_time(scope, *n))
            else {
                continue;
            };
            if time < Duration::from_secs(5) {
                continue;
            }
            let burst = (part.provider.profile().budget)(scope)
                .map(|b| format!(" after a burst of {b}"))
                .unwrap_or_default();
            out.push(format!(
                "{} allows {per_minute} {scope} requests a minute{burst}: the {n} of this plan take about {}",
                part.provider.info().title,
                human_duration(time)
            ));
        }
        out
    }
}

/// `45 s`, `2 min 30 s`, `12 min`, `1.5 h`.
pub fn human_duration(d: Duration) -> String {
    let s = d.as_secs_f64().round() as u64;
    if s < 90 {
        format!("{s} s")
    } else if s < 10 * 60 {
        match s % 60 {
            0 => format!("{} min", s / 60),
            r => format!("{} min {r} s", s / 60),
        }
    } else if s < 90 * 60 {
        format!("{} min", (s + 30) / 60)
    } else {
        format!("{:.1} h", s as f64 / 3600.0)
    }
}

fn save(
    printer: &Printer,
    out: &Path,
    path: &Path,
    input: &ManifestArgs,
    selection: &Selection,
    prepared: &Prepared,
) -> std::io::Result<()> {
    let var_files = &input.var_file;
    let mut saved = SavedPlan {
        kind: saved::KIND.into(),
        format_version: plan::FORMAT_VERSION.into(),
        twinform_version: env!("CARGO_PKG_VERSION").into(),
        manifests: saved::portable(path)?,
        var_files: var_files
            .iter()
            .map(|f| saved::portable(f))
            .collect::<std::io::Result<_>>()?,
        allow_hidden: input.allow_hidden.clone(),
        selection: selection.clone(),
        created_at: chrono::Utc::now().to_rfc3339(),
        fingerprints: prepared.fingerprints(),
        operations: saved::operation_hashes(&prepared.plan, &|p, d| {
            prepared.session.keyed_digest(p, d)
        }),
        plan: render::json::to_value(&prepared.plan),
        commit: super::git_commit(&prepared.tree.root),
        rendered: Some(RenderedPlan {
            text: render::text::render(&prepared.plan, &prepared.context, &printer.plain()),
            markdown: render::markdown::render(&prepared.plan),
        }),
        checksum: None,
    };
    saved.checksum = Some(saved.digest());
    let text = printer
        .redactor
        .scrub(&serde_json::to_string_pretty(&saved).map_err(std::io::Error::other)?);
    use crate::engine::file::{self, Holds, Within};
    file::write(
        out,
        Within::Named,
        text.as_bytes(),
        Holds::Private(&printer.redactor),
    )?;
    Ok(())
}

/// The plan in a format, for stdout.
pub fn rendered(printer: &Printer, prepared: &Prepared, format: Format) -> String {
    match format {
        Format::Text => render::text::render(&prepared.plan, &prepared.context, printer),
        Format::Json => render::json::render(&prepared.plan),
        Format::Markdown => render::markdown::render(&prepared.plan),
    }
}

pub async fn run(printer: &Printer, args: PlanArgs) -> Result<Outcome, Error> {
    let selection = Selection {
        targets: args.target.clone(),
        workspaces: args.workspace.clone(),
        adopt: args.adopt,
        sync_secrets: args.sync_secrets,
    };
    let input = args.input.for_output(args.format);
    let prepared = prepare(
        printer,
        &args.path,
        &input,
        &args.api,
        &selection,
        &args.journal,
    )
    .await?;
    let text = rendered(printer, &prepared, args.format);
    match args.format {
        Format::Json => printer.data(&text),
        _ => printer.human(&text),
    }
    let mut outcome = if args.detailed_exitcode && counts(&prepared.plan, args.ignore_manual) {
        Outcome::Changes
    } else {
        Outcome::Success
    };
    if let Some(out) = &args.out {
        match save(printer, out, &args.path, &args.input, &selection, &prepared) {
            Ok(()) => printer.message(&format!(
                "Saved the plan to {}; apply it with `twinform apply {}`.",
                out.display(),
                out.display()
            )),
            Err(e) => {
                printer.error(&format!("cannot write {}: {e}", out.display()));
                outcome = Outcome::Failed;
            }
        }
    }
    prepared.session.close().await;
    Ok(outcome)
}

/// Whether `plan` has changes that count for `--detailed-exitcode` and
/// `drift`: any change, or with `--ignore-manual` any a command can make.
fn counts(plan: &Plan, ignore_manual: bool) -> bool {
    if ignore_manual {
        plan.has_work()
    } else {
        !plan.is_empty()
    }
}

/// `twinform drift`: a compact report for alerts; exit 0 (none), 2 (drift), 1 (error).
pub async fn drift(printer: &Printer, args: DriftArgs) -> Result<Outcome, Error> {
    let input = args.input.for_output(args.format);
    let prepared = prepare(
        printer,
        &args.path,
        &input,
        &args.api,
        &Selection::default(),
        &args.journal,
    )
    .await?;
    let plan = &prepared.plan;
    match args.format {
        Format::Json => printer.data(&render::json::render(plan)),
        Format::Markdown => printer.human(&render::markdown::render(plan)),
        Format::Text if plan.is_empty() => {
            printer.human("No drift: live state matches the manifests.\n")
        }
        Format::Text => {
            let s = plan.summary();
            let mut out = format!(
                "Drift: {} would be made ({} to add, {} to change, {} to destroy{})\n",
                render::count(plan.changes.len(), "change"),
                s.add,
                s.change,
                s.destroy,
                if s.manual > 0 {
                    format!(", {} to do by hand", s.manual)
                } else {
                    String::new()
                }
            );
            for c in &plan.changes {
                let who = c
                    .drift
                    .as_ref()
                    .filter(|d| d.outside_git)
                    .map(|d| {
                        format!(
                            " (changed outside git: {}, {})",
                            d.source_type.as_deref().unwrap_or("?"),
                            d.at.as_deref().unwrap_or("?")
                        )
                    })
                    .unwrap_or_default();
                out.push_str(&format!("  {} {}{who}\n", c.action.symbol(), c.address));
            }
            printer.human(&out);
        }
    }
    let outcome = if counts(plan, args.ignore_manual) {
        Outcome::Changes
    } else {
        Outcome::Success
    };
    prepared.session.close().await;
    Ok(outcome)
}

//! `twinform plan` and `twinform drift`, and the shared steps that `apply`
//! reuses: load the manifests, read live state, diff, attribute drift.

use std::collections::{BTreeMap, HashMap};

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::{connect, validate, Connection, EXIT_CHANGES, EXIT_ERROR, EXIT_OK};
use crate::cli::{ApiArgs, DriftArgs, Format, JournalArgs, PlanArgs};
use crate::live::{self, Live, Scope};
use crate::manifest::diagnostic::did_you_mean;
use crate::manifest::Desired;
use crate::output::Printer;
use crate::plan::render::{self, Context};
use crate::plan::{self, Action, Drift, Plan, Resource};
use crate::twin::{content_hash, Client};

/// Everything a plan was made from.
pub struct Prepared {
    pub desired: Desired,
    pub live: Live,
    pub plan: Plan,
    pub conn: Connection,
    pub context: Context,
}

/// What to narrow a plan to.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Selection {
    pub targets: Vec<String>,
    pub workspaces: Vec<String>,
}

/// Load, connect, read, diff, attribute drift and narrow. On failure the
/// problem has been printed and the exit code is returned.
pub async fn prepare(
    printer: &Printer,
    path: &Path,
    api: &ApiArgs,
    selection: &Selection,
    journal: &JournalArgs,
) -> Result<Prepared, i32> {
    let desired = validate::load(printer, path).ok_or(EXIT_ERROR)?;
    let conn = connect(api, printer).await.map_err(|e| {
        printer.error(&e);
        EXIT_ERROR
    })?;
    let started = Instant::now();
    let before = conn
        .client
        .stats
        .requests
        .load(std::sync::atomic::Ordering::Relaxed);
    let scope = Scope {
        workspaces: (!selection.workspaces.is_empty())
            .then(|| selection.workspaces.iter().cloned().collect()),
    };
    let live = match live::read_scoped(&conn.client, &desired, api.parallelism, &scope).await {
        Ok(mut l) => {
            match crate::apply::journal::unfinished(&journal.journal, "create_webhook") {
                Ok(cut_short) => l.unstored_secrets = cut_short,
                Err(e) => printer.message(&format!(
                    "warning: cannot read the journal {}: {e}",
                    journal.journal.display()
                )),
            }
            l
        }
        Err(e) => {
            printer.error(&format!("reading live state failed: {e}"));
            conn.close().await;
            return Err(EXIT_ERROR);
        }
    };
    if let Err(unknown) = check_selection(selection, &desired, &live) {
        printer.error(&format!(
            "nothing to plan for:\n  - {}",
            unknown.join("\n  - ")
        ));
        conn.close().await;
        return Err(EXIT_ERROR);
    }
    let mut plan = match plan::diff_scoped(&desired, &live, &scope) {
        Ok(p) => p,
        Err(e) => {
            printer.error(&e);
            conn.close().await;
            return Err(EXIT_ERROR);
        }
    };
    plan.narrow(&selection.targets);
    if let Err(e) = attribute_drift(&conn.client, &mut plan, api.parallelism).await {
        printer.error(&format!("reading instruction history failed: {e}"));
        conn.close().await;
        return Err(EXIT_ERROR);
    }
    let requests = conn
        .client
        .stats
        .requests
        .load(std::sync::atomic::Ordering::Relaxed)
        - before;
    let context = Context {
        seconds: started.elapsed().as_secs_f64(),
        requests,
    };
    Ok(Prepared {
        desired,
        live,
        plan,
        conn,
        context,
    })
}

/// Every `--workspace` must name a declared or live workspace, and every
/// `--target` a declared or live workspace or agent (or something inside one):
/// a typo must not plan "No changes" and exit 0.
fn check_selection(
    selection: &Selection,
    desired: &Desired,
    live: &Live,
) -> Result<(), Vec<String>> {
    let mut workspaces: Vec<&str> = desired.workspaces.iter().map(|w| w.name.as_str()).collect();
    workspaces.extend(live.workspaces.iter().map(|w| w.name.as_str()));
    let mut roots: Vec<String> = workspaces
        .iter()
        .map(|w| plan::diff::workspace_address(w))
        .collect();
    roots.extend(
        desired
            .agents
            .iter()
            .map(|a| plan::diff::agent_address(&a.id)),
    );
    roots.extend(live.agents.keys().map(|id| plan::diff::agent_address(id)));
    let root_strs: Vec<&str> = roots.iter().map(String::as_str).collect();
    let mut unknown = Vec::new();
    for w in &selection.workspaces {
        if !workspaces.contains(&w.as_str()) {
            unknown.push(match did_you_mean(w, &workspaces) {
                Some(s) => format!("--workspace {w:?}: no such workspace (did you mean {s:?}?)"),
                None => {
                    format!("--workspace {w:?}: no workspace is declared or live with that name")
                }
            });
        }
    }
    for t in &selection.targets {
        let full = Plan::target_address(t);
        let root = full.find(']').map_or(full.as_str(), |i| &full[..=i]);
        if !roots.iter().any(|r| r == root) {
            unknown.push(match did_you_mean(root, &root_strs) {
                Some(s) => {
                    format!("--target {t}: nothing is declared or live there (did you mean {s}?)")
                }
                None => format!("--target {t}: nothing is declared or live there"),
            });
        }
    }
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(unknown)
    }
}

/// Say who last changed instructions that drifted (one history call per drifted agent).
async fn attribute_drift(
    client: &Client,
    plan: &mut Plan,
    parallelism: usize,
) -> Result<(), crate::twin::ApiError> {
    let limit = Arc::new(Semaphore::new(parallelism.max(1)));
    let mut tasks = JoinSet::new();
    for c in plan
        .changes
        .iter()
        .filter(|c| c.resource == Resource::Instructions && c.action == Action::Update)
    {
        let (client, limit, address, agent) = (
            client.clone(),
            limit.clone(),
            c.address.clone(),
            c.agent.clone(),
        );
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let history = client
                .instructions_history(agent.as_deref().unwrap_or_default(), Some(1))
                .await?;
            Ok::<_, crate::twin::ApiError>((address, history.into_iter().next()))
        });
    }
    let mut found = HashMap::new();
    while let Some(joined) = tasks.join_next().await {
        let joined = joined.map_err(|e| {
            crate::twin::ApiError::Config(format!("a history read task failed: {e}"))
        })?;
        let (address, latest) = joined?;
        if let Some(v) = latest {
            found.insert(address, v);
        }
    }
    for c in &mut plan.changes {
        if let Some(v) = found.remove(&c.address) {
            // A server that drops `source_type` still keeps the `source_id`
            // twinform sends: a git commit is twinform's own write.
            let source_type = v.source_type.clone().or_else(|| {
                v.source_id
                    .as_deref()
                    .filter(|id| is_commit(id))
                    .map(|_| crate::apply::SOURCE_TYPE.to_string())
            });
            c.drift = Some(Drift {
                outside_git: source_type
                    .as_deref()
                    .is_some_and(|t| t != crate::apply::SOURCE_TYPE),
                source_type,
                at: v
                    .created_at
                    .as_ref()
                    .map(|t| t.as_str().map_or_else(|| t.to_string(), str::to_string)),
                user: v.user_email.clone(),
            });
        }
    }
    Ok(())
}

/// A git commit id as twinform sends it in `source_id` (`-dirty` when the
/// tree had uncommitted changes).
fn is_commit(id: &str) -> bool {
    let sha = id.strip_suffix("-dirty").unwrap_or(id);
    sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A saved plan (`plan --out`): no secret values, only what is needed to
/// check at apply time that nothing changed since.
#[derive(Debug, Serialize, Deserialize)]
pub struct SavedPlan {
    pub kind: String,
    pub format_version: String,
    pub manifests: PathBuf,
    pub selection: Selection,
    pub created_at: String,
    /// Fingerprints of every live object read.
    pub fingerprints: BTreeMap<String, String>,
    /// Per change address, a hash of its exact API operations.
    pub operations: BTreeMap<String, String>,
    pub plan: serde_json::Value,
}

pub const SAVED_PLAN_KIND: &str = "twinform-plan";

/// The manifest path as a saved plan records it: relative to the working
/// directory when it is inside it, so the plan applies from another checkout
/// of the same commit (a CI artifact passed between jobs).
fn portable(path: &Path) -> std::io::Result<PathBuf> {
    let absolute = std::fs::canonicalize(path)?;
    let cwd = std::env::current_dir().and_then(std::fs::canonicalize)?;
    Ok(match absolute.strip_prefix(&cwd) {
        Ok(rel) if rel.as_os_str().is_empty() => PathBuf::from("."),
        Ok(rel) => rel.to_path_buf(),
        Err(_) => absolute,
    })
}

/// Hash of each change's operations, by address.
pub fn operation_hashes(plan: &Plan) -> BTreeMap<String, String> {
    plan.changes
        .iter()
        .map(|c| {
            (
                c.address.clone(),
                content_hash(serde_json::to_string(&c.ops).unwrap_or_default().as_bytes()),
            )
        })
        .collect()
}

fn save(
    printer: &Printer,
    out: &Path,
    path: &Path,
    selection: &Selection,
    prepared: &Prepared,
) -> std::io::Result<()> {
    let saved = SavedPlan {
        kind: SAVED_PLAN_KIND.into(),
        format_version: plan::FORMAT_VERSION.into(),
        manifests: portable(path)?,
        selection: selection.clone(),
        created_at: chrono::Utc::now().to_rfc3339(),
        fingerprints: prepared.live.fingerprints(&prepared.desired),
        operations: operation_hashes(&prepared.plan),
        plan: render::json::to_value(&prepared.plan),
    };
    let text = printer
        .redactor
        .scrub(&serde_json::to_string_pretty(&saved).map_err(std::io::Error::other)?);
    crate::apply::write_private_sync(out, text.as_bytes())
}

pub async fn run(printer: &Printer, args: PlanArgs) -> i32 {
    let selection = Selection {
        targets: args.target.clone(),
        workspaces: args.workspace.clone(),
    };
    let prepared = match prepare(printer, &args.path, &args.api, &selection, &args.journal).await {
        Ok(p) => p,
        Err(code) => return code,
    };
    let text = match args.format {
        Format::Text => render::text::render(&prepared.plan, &prepared.context, printer),
        Format::Json => render::json::render(&prepared.plan),
        Format::Markdown => render::markdown::render(&prepared.plan),
    };
    printer.data(&text);
    let mut code = if args.detailed_exitcode && !prepared.plan.is_empty() {
        EXIT_CHANGES
    } else {
        EXIT_OK
    };
    if let Some(out) = &args.out {
        match save(printer, out, &args.path, &selection, &prepared) {
            Ok(()) => printer.message(&format!(
                "Saved the plan to {}; apply it with `twinform apply {}`.",
                out.display(),
                out.display()
            )),
            Err(e) => {
                printer.error(&format!("cannot write {}: {e}", out.display()));
                code = EXIT_ERROR;
            }
        }
    }
    prepared.conn.close().await;
    code
}

/// `twinform drift`: a compact report for alerts; exit 0 (none), 2 (drift), 1 (error).
pub async fn drift(printer: &Printer, args: DriftArgs) -> i32 {
    let format = args.format;
    let prepared = match prepare(
        printer,
        &args.path,
        &args.api,
        &Selection::default(),
        &args.journal,
    )
    .await
    {
        Ok(p) => p,
        Err(code) => return code,
    };
    let plan = &prepared.plan;
    let out = match format {
        Format::Json => render::json::render(plan),
        Format::Markdown => render::markdown::render(plan),
        Format::Text if plan.is_empty() => {
            "No drift: live state matches the manifests.\n".to_string()
        }
        Format::Text => {
            let s = plan.summary();
            let mut out = format!(
                "Drift: {} changes would be made ({} to add, {} to change, {} to destroy)\n",
                plan.changes.len(),
                s.add,
                s.change,
                s.destroy
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
            out
        }
    };
    printer.data(&out);
    let code = if plan.is_empty() {
        EXIT_OK
    } else {
        EXIT_CHANGES
    };
    prepared.conn.close().await;
    code
}

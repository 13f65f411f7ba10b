//! `twinform history` and `twinform rollback`: an agent's server-side
//! instruction versions, and one of them written back into git (the
//! manifest, as `pull` writes), so the next apply restores it through review.

use std::sync::Arc;

use super::connect::connect;
use super::pull::{write_back, SharedFile};
use super::{validate, Error, Outcome};
use crate::cli::{Format, HistoryArgs, RollbackArgs};
use crate::engine::bound::DynProvider;
use crate::engine::manifest::edit::{NewValue, Request};
use crate::engine::output::Printer;
use crate::engine::plan::render::count;
use crate::engine::provider::{Pulled, TextVersion};
use crate::engine::session::Session;

/// The versions of `agent`, newest first.
async fn versions(session: &Session, agent: &str) -> Result<Vec<TextVersion>, Error> {
    let Some(c) = session.connected.first() else {
        return Err(Error::Refused("no platform to ask".into()));
    };
    let name = c.provider.info().name;
    let bound = session
        .unloaded(name)
        .ok_or_else(|| Error::Refused("no platform to ask".into()))?;
    match bound.history(agent).await? {
        Some(v) => Ok(v),
        None => Err(Error::Refused(format!(
            "{name} keeps no history of agents' texts"
        ))),
    }
}

/// A version named as `history` lists them: its id, `@N` (1 = newest) or a
/// content-hash prefix of at least 6 characters.
fn resolve<'a>(
    versions: &'a [TextVersion],
    spec: &str,
) -> Result<(usize, &'a TextVersion), String> {
    let by_position = spec
        .strip_prefix('@')
        .and_then(|n| n.parse::<usize>().ok())
        .and_then(|n| n.checked_sub(1))
        .and_then(|i| Some((i, versions.get(i)?)));
    let by_id = || {
        versions
            .iter()
            .enumerate()
            .find(|(_, v)| v.id.as_deref() == Some(spec))
    };
    let by_hash = || {
        let hits: Vec<_> = versions
            .iter()
            .enumerate()
            .filter(|(_, v)| {
                spec.len() >= 6
                    && v.content_hash
                        .as_deref()
                        .is_some_and(|h| h.starts_with(spec))
            })
            .collect();
        (hits.len() == 1).then(|| hits[0])
    };
    by_position.or_else(by_id).or_else(by_hash).ok_or_else(|| {
        format!(
            "no version `{spec}` among {}: name one by its id, @1 (newest) to @{}, or a content-hash prefix",
            count(versions.len(), "version"),
            versions.len().max(1)
        )
    })
}

/// The provider asked for, connected.
async fn session_for(
    printer: &Printer,
    name: &str,
    api: &crate::cli::ApiArgs,
) -> Result<Session, Error> {
    let provider: Arc<dyn DynProvider> = super::provider_named(name)?;
    connect(printer, api, &[provider]).await
}

fn first_line(text: &str) -> String {
    let line = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    let short: String = line.chars().take(60).collect();
    let more = text.lines().count().saturating_sub(1);
    let cut = if short.len() < line.len() { "…" } else { "" };
    if more > 0 {
        format!("{short}{cut} (+{})", count(more, "line"))
    } else {
        format!("{short}{cut}")
    }
}

/// `twinform history AGENT [--diff A B]`.
pub async fn list(printer: &Printer, args: HistoryArgs) -> Result<Outcome, Error> {
    // Interpolated values of the manifests here never show, even in old
    // text: manifests that do not load stop history (nothing would be
    // redacted). Read offline: an unset variable's value is unknown here,
    // and a warning names it.
    let checked = validate::load_offline(printer, &args.manifests, &args.input)?;
    // An unset variable's value cannot be redacted: old texts may hold it
    // (attack review F12). History prints texts, so it needs every value.
    if !checked.unknown.is_empty() {
        return Err(Error::Refused(format!(
            "history prints old instruction texts, and {} not set here, so {} could not be redacted from them; set {} (as plan needs) and run it again",
            if checked.unknown.len() == 1 { format!("`{}` is", checked.unknown[0]) } else { format!("{} are", checked.unknown.iter().map(|u| format!("`{u}`")).collect::<Vec<_>>().join(", ")) },
            if checked.unknown.len() == 1 { "its value" } else { "their values" },
            checked.unknown.join(", ")
        )));
    }
    let session = session_for(printer, &args.provider, &args.api).await?;
    let found = versions(&session, &args.agent).await;
    session.close().await;
    let versions = found?;
    if let Some(pair) = &args.diff {
        let (Some(a), Some(b)) = (pair.first(), pair.get(1)) else {
            return Err(Error::Refused("--diff takes two versions".into()));
        };
        let (ia, va) = resolve(&versions, a).map_err(Error::Refused)?;
        let (ib, vb) = resolve(&versions, b).map_err(Error::Refused)?;
        // Named by position however they were asked for (`@2`, an id, a
        // hash prefix), with the id when there is one.
        let name = |i: usize, v: &TextVersion| match &v.id {
            Some(id) => format!("{}@{} ({id})", args.agent, i + 1),
            None => format!("{}@{}", args.agent, i + 1),
        };
        let diff = similar::TextDiff::from_lines(&va.content, &vb.content)
            .unified_diff()
            .header(&name(ia, va), &name(ib, vb))
            .to_string();
        printer.human(if diff.is_empty() {
            "The two versions are the same text.\n"
        } else {
            &diff
        });
        return Ok(Outcome::Success);
    }
    if args.format == Format::Json {
        let listed: Vec<serde_json::Value> = versions
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let mut j = serde_json::to_value(v).unwrap_or_default();
                j["ref"] = format!("@{}", i + 1).into();
                j
            })
            .collect();
        printer.data(&format!(
            "{}\n",
            serde_json::to_string_pretty(&serde_json::json!({
                "format_version": "1",
                "twinform_version": env!("CARGO_PKG_VERSION"),
                "agent": args.agent,
                "versions": listed,
            }))
            .unwrap_or_default()
        ));
        return Ok(Outcome::Success);
    }
    let mut out = format!(
        "agent \"{}\": {}, newest first\n\n",
        args.agent,
        count(versions.len(), "instruction version")
    );
    let rows: Vec<[String; 6]> = versions
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let dash = || "-".to_string();
            [
                format!("@{}", i + 1),
                v.id.clone().unwrap_or_else(dash),
                v.created_at.clone().unwrap_or_else(dash),
                v.source.clone().unwrap_or_else(dash),
                v.author.clone().unwrap_or_else(dash),
                first_line(&v.content),
            ]
        })
        .collect();
    let head = ["", "ID", "CREATED", "SOURCE", "AUTHOR", "TEXT"].map(String::from);
    let mut widths = [0; 6];
    for r in std::iter::once(&head).chain(&rows) {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    for r in std::iter::once(&head).chain(&rows) {
        let cells: Vec<String> = r
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(&format!("  {}\n", cells.join("  ").trim_end()));
    }
    printer.human(&out);
    Ok(Outcome::Success)
}

/// `twinform rollback AGENT --to VERSION [PATH]`.
pub async fn rollback(printer: &Printer, args: RollbackArgs) -> Result<Outcome, Error> {
    let tree = validate::load(printer, &args.path, &args.input)?;
    let Some((part, at)) = tree
        .parts
        .iter()
        .find_map(|p| Some((p, p.bound.text_location(&args.agent)?)))
    else {
        return Err(Error::Refused(format!(
            "agent `{}` is not declared in {} (rollback writes into its manifest)",
            args.agent,
            args.path.display()
        )));
    };
    if at.sensitive {
        return Err(Error::Refused(format!(
            "{} is interpolated from the environment; roll it back by hand",
            at.address
        )));
    }
    let name = part.provider.info().name;
    let session = session_for(printer, name, &args.api).await?;
    let found = versions(&session, &args.agent).await;
    session.close().await;
    let versions = found?;
    let (_, version) = resolve(&versions, &args.to).map_err(Error::Refused)?;
    let request = Request {
        origin: at.origin.clone(),
        path: at.path.clone(),
        value: NewValue::LongText(version.content.clone()),
        address: at.address.clone(),
        field: "instructions".into(),
    };
    let shared = if args.force {
        SharedFile::Rewrite
    } else {
        SharedFile::Leave
    };
    let written = write_back(
        printer,
        &tree,
        vec![Pulled::Write(request)],
        shared,
        args.dry_run,
    )?;
    if let Some((_, why)) = written.left.first() {
        let hint = if written.shared.is_empty() {
            String::new()
        } else {
            format!(
                "\nhint: pass --force to rewrite it anyway (they roll back too), or give `{}` a file of its own",
                args.agent
            )
        };
        return Err(Error::Refused(format!(
            "{} not rolled back: {why}{hint}",
            at.address
        )));
    }
    let label = version.id.clone().unwrap_or_else(|| args.to.clone());
    printer.message(&if written.files == 0 {
        format!("The manifest already holds version {label} of {}.", at.address)
    } else if args.dry_run {
        format!("Would write version {label} into the manifest of {}.", at.address)
    } else {
        format!(
            "Wrote version {label} into the manifest of {}; review it, commit it, and apply to restore it.",
            at.address
        )
    });
    Ok(Outcome::Success)
}

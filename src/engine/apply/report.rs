//! What an apply reports: the versioned JSON event stream (`apply -o json`,
//! one object per line) and the Markdown report (`apply -o markdown`, for a
//! pull-request comment after merge).

use serde::Serialize;

use super::{Finished, Status};
use crate::engine::plan::Action;

/// The version of the apply event stream; additive changes keep it.
pub const EVENTS_FORMAT_VERSION: &str = "1";

/// Counts of an apply, in every output format.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    pub applied: usize,
    pub failed: usize,
    pub blocked: usize,
    pub skipped: usize,
    /// Differences left for a person (the API cannot apply them).
    pub manual: usize,
    /// Changes that applied with a warning (a failed `--secrets-command`).
    pub warnings: usize,
    pub secrets_stored: usize,
    /// The signal that stopped the apply, if one did.
    pub interrupted_by: Option<i32>,
    pub exit_code: i32,
}

impl Summary {
    pub fn of(results: &[Finished]) -> Self {
        let count = |pred: fn(&Status) -> bool| results.iter().filter(|f| pred(&f.status)).count();
        Summary {
            applied: count(|s| *s == Status::Applied),
            failed: count(|s| matches!(s, Status::Failed(_))),
            blocked: count(|s| matches!(s, Status::Blocked(_))),
            skipped: count(|s| matches!(s, Status::Skipped(_))),
            manual: count(|s| matches!(s, Status::Manual(_))),
            warnings: results.iter().filter(|f| f.warning.is_some()).count(),
            ..Summary::default()
        }
    }
}

/// One line of `apply -o json`.
#[derive(Debug, Serialize)]
pub struct Event<'a> {
    pub format_version: &'static str,
    pub twinform_version: &'static str,
    #[serde(flatten)]
    pub body: EventBody<'a>,
}

/// What an event reports.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventBody<'a> {
    /// A change finished (applied, failed, blocked or skipped).
    Change {
        address: &'a str,
        action: Action,
        status: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        message: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        warning: Option<&'a str>,
        duration_ms: u128,
        /// Of `duration_ms`, the time spent waiting for a rate limit.
        #[serde(skip_serializing_if = "is_zero")]
        waited_ms: u128,
    },
    /// The last event of every apply, a no-op included.
    Summary(&'a Summary),
}

impl<'a> Event<'a> {
    pub fn new(body: EventBody<'a>) -> Self {
        Event {
            format_version: EVENTS_FORMAT_VERSION,
            twinform_version: env!("CARGO_PKG_VERSION"),
            body,
        }
    }

    pub fn change(f: &'a Finished) -> Self {
        let (status, message) = status_of(f);
        Event::new(EventBody::Change {
            address: &f.address,
            action: f.action,
            status,
            message,
            warning: f.warning.as_deref(),
            duration_ms: f.duration.as_millis(),
            waited_ms: f.waited.as_millis(),
        })
    }

    /// The event as one JSON line.
    pub fn line(&self) -> String {
        format!("{}\n", serde_json::to_string(self).unwrap_or_default())
    }
}

fn is_zero(n: &u128) -> bool {
    *n == 0
}

fn status_of(f: &Finished) -> (&'static str, Option<&str>) {
    match &f.status {
        Status::Applied => ("applied", None),
        Status::Failed(m) => ("failed", Some(m)),
        Status::Blocked(m) => ("blocked", Some(m)),
        Status::Skipped(m) => ("skipped", Some(m)),
        Status::Manual(m) => ("manual", Some(m)),
    }
}

/// The hidden marker CI uses to find the apply comment.
pub const MARKER: &str = "<!-- twinform-apply -->";

/// `apply -o markdown`: a summary line and one table row per change that did
/// not simply apply (every change when there are few), all text escaped.
pub fn markdown(results: &[Finished], summary: &Summary) -> String {
    use crate::engine::plan::render::markdown::escape;
    let mut out = format!("{MARKER}\n");
    let head = match (summary.interrupted_by, summary.exit_code) {
        (Some(_), _) => "interrupted",
        (None, 0) => "complete",
        _ => "finished with problems",
    };
    out.push_str(&format!(
        "### twinform apply {head}: {} applied, {} failed, {} blocked, {} skipped{}\n\n",
        summary.applied,
        summary.failed,
        summary.blocked,
        summary.skipped,
        if summary.manual > 0 {
            format!(", {} to do by hand", summary.manual)
        } else {
            String::new()
        }
    ));
    if results.is_empty() {
        out.push_str("No changes were needed: live state matched the manifests.\n");
        return out;
    }
    if summary.secrets_stored > 0 {
        out.push_str(&format!(
            "{} new signing secret(s) stored (never shown here).\n\n",
            summary.secrets_stored
        ));
    }
    let notable: Vec<&Finished> = results
        .iter()
        .filter(|f| f.status != Status::Applied || f.warning.is_some())
        .collect();
    let rows: Vec<&Finished> = if results.len() <= 50 {
        results.iter().collect()
    } else {
        notable
    };
    if !rows.is_empty() {
        out.push_str("| | change | result |\n|---|---|---|\n");
        for f in rows {
            let (status, message) = status_of(f);
            let icon = match (&f.status, &f.warning) {
                (Status::Applied, None) => "✅",
                (Status::Applied, Some(_)) => "⚠️",
                (Status::Failed(_), _) => "❌",
                (Status::Blocked(_), _) => "⛔",
                (Status::Skipped(_), _) => "⏭️",
                (Status::Manual(_), _) => "✋",
            };
            let detail = message.or(f.warning.as_deref()).unwrap_or(f.action.past());
            out.push_str(&format!(
                "| {icon} | <code>{}</code> | {status}: {} |\n",
                escape(&f.address),
                escape(detail)
            ));
        }
    }
    out
}

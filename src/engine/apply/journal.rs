//! The apply journal: one NDJSON line per operation started and finished,
//! appended under `.twinform/`, so an interrupted apply can say exactly where
//! it stopped. Addresses and messages only, never values or secrets.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::engine::redact::Redactor;

/// One journal line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub ts: String,
    pub apply_id: String,
    pub address: String,
    pub op: String,
    /// `begin`, `start`, `done`, `failed` or `end`; `stored` when a webhook's
    /// signing secret is safe (so a kill after it loses nothing).
    pub event: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// On `start`: the operation receives a secret that exists nowhere else
    /// (a webhook's signing secret), so a kill before `stored` loses it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub secret: bool,
}

/// An append-only journal file (or none).
pub struct Journal {
    file: Option<Mutex<std::fs::File>>,
    pub path: PathBuf,
    pub apply_id: String,
    redactor: Redactor,
}

impl Journal {
    pub fn open(path: &Path, redactor: Redactor) -> std::io::Result<Self> {
        use crate::engine::file::{self, Open, Within};
        let file = file::open(path, Within::Named, Open::Append)?;
        let apply_id = format!(
            "{}-{}",
            chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ"),
            std::process::id()
        );
        Ok(Journal {
            file: Some(Mutex::new(file)),
            path: path.to_path_buf(),
            apply_id,
            redactor,
        })
    }

    /// A journal that records nothing (tests, benchmarks).
    pub fn none() -> Self {
        Journal {
            file: None,
            path: PathBuf::new(),
            apply_id: String::new(),
            redactor: Redactor::new(),
        }
    }

    pub fn record(&self, address: &str, op: &str, event: &str, message: Option<&str>) {
        self.write(address, op, event, message, false);
    }

    /// The start of an operation that receives a secret (see [`Entry::secret`]).
    pub fn record_secret_start(&self, address: &str, op: &str) {
        self.write(address, op, "start", None, true);
    }

    fn write(&self, address: &str, op: &str, event: &str, message: Option<&str>, secret: bool) {
        let Some(file) = &self.file else { return };
        let entry = Entry {
            ts: chrono::Utc::now().to_rfc3339(),
            apply_id: self.apply_id.clone(),
            address: address.to_string(),
            op: op.to_string(),
            event: event.to_string(),
            message: message.map(str::to_string),
            secret,
        };
        let Ok(line) = serde_json::to_string(&entry) else {
            return;
        };
        let line = self.redactor.scrub(&line);
        if let Ok(mut f) = file.lock() {
            let _ = writeln!(f, "{line}");
        }
    }
}

/// Addresses of secret-receiving operations (see [`Entry::secret`]) that
/// started in some apply and never finished: the process was killed
/// (SIGKILL, power loss) with the request in flight, so an object may exist
/// whose secret was never stored. A later apply that completes the same op
/// at the same address, or stores its secret, resolves it; an apply whose
/// process is still running (a concurrent apply) is not counted.
pub fn unfinished(path: &Path) -> std::io::Result<std::collections::BTreeSet<String>> {
    use std::collections::{BTreeSet, HashSet};
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeSet::new()),
        Err(e) => return Err(e),
    };
    let mut pending: BTreeSet<(String, String)> = BTreeSet::new();
    let mut running: HashSet<String> = HashSet::new();
    for e in text
        .lines()
        .filter_map(|l| serde_json::from_str::<Entry>(l).ok())
    {
        match e.event.as_str() {
            "begin" => {
                running.insert(e.apply_id.clone());
            }
            "end" => {
                running.remove(&e.apply_id);
            }
            "start" if e.secret => {
                pending.insert((e.apply_id, e.address));
            }
            "done" if pending.iter().any(|(_, a)| *a == e.address) => {
                pending.retain(|(_, a)| *a != e.address)
            }
            // The secret is safe, whatever happened to the rest of the op.
            "stored" => pending.retain(|(_, a)| *a != e.address),
            "failed" => {
                pending.remove(&(e.apply_id, e.address));
            }
            _ => {}
        }
    }
    Ok(pending
        .into_iter()
        .filter(|(apply, _)| !(running.contains(apply) && still_running(apply)))
        .map(|(_, address)| address)
        .collect())
}

/// Whether the process that wrote `apply_id` (`<time>-<pid>`) is alive.
fn still_running(apply_id: &str) -> bool {
    let Some(pid) = apply_id
        .rsplit('-')
        .next()
        .and_then(|p| p.parse::<i32>().ok())
    else {
        return false;
    };
    #[cfg(unix)]
    {
        // Signal 0 checks that the process exists without touching it.
        // SAFETY: kill with signal 0 sends nothing; it only reports whether
        // the process exists (EPERM: it exists but is not ours).
        let alive = unsafe { libc::kill(pid, 0) } == 0;
        alive || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        false
    }
}

/// What the last apply recorded in a journal did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastApply {
    pub apply_id: String,
    /// Operations that finished (`address (op)`).
    pub done: Vec<String>,
    /// Operations started but never finished (interrupted in flight).
    pub unfinished: Vec<String>,
    /// Operations that failed, with the message.
    pub failed: Vec<String>,
}

/// Read the last apply from a journal; `None` when there is none.
pub fn last_apply(path: &Path) -> std::io::Result<Option<LastApply>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let entries: Vec<Entry> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let Some(last) = entries.last().map(|e| e.apply_id.clone()) else {
        return Ok(None);
    };
    let mut started: Vec<String> = Vec::new();
    let mut done = Vec::new();
    let mut failed = Vec::new();
    for e in entries.iter().filter(|e| e.apply_id == last) {
        let key = format!("{} ({})", e.address, e.op);
        match e.event.as_str() {
            "start" => started.push(key),
            "done" => done.push(key),
            "failed" => failed.push(format!("{key}: {}", e.message.clone().unwrap_or_default())),
            _ => {}
        }
    }
    let unfinished = started
        .into_iter()
        .filter(|s| !done.contains(s) && !failed.iter().any(|f| f.starts_with(s.as_str())))
        .collect();
    Ok(Some(LastApply {
        apply_id: last,
        done,
        unfinished,
        failed,
    }))
}

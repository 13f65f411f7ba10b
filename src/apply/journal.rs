//! The apply journal: one NDJSON line per operation started and finished,
//! appended under `.twinform/`, so an interrupted apply can say exactly where
//! it stopped. Addresses and messages only, never values or secrets.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::redact::Redactor;

/// One journal line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub ts: String,
    pub apply_id: String,
    pub address: String,
    pub op: String,
    /// `begin`, `start`, `done`, `failed` or `end`.
    pub event: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
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
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
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
        let Some(file) = &self.file else { return };
        let entry = Entry {
            ts: chrono::Utc::now().to_rfc3339(),
            apply_id: self.apply_id.clone(),
            address: address.to_string(),
            op: op.to_string(),
            event: event.to_string(),
            message: message.map(str::to_string),
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

//! Where webhook signing secrets go the moment they arrive: a JSON file
//! (mode 0600, merged, never truncated), standard output, and/or a command.
//!
//! The file is rewritten whole (temporary file, fsync, rename) so a crash
//! never leaves it half-written; secrets that arrive together are written in
//! one go, and each create waits until its secret is on disk.
//!
//! Order: the file first (unless `--secrets-out -`), then standard output,
//! then the command. A failing command therefore never loses a secret: it is
//! already in the file, and the apply says where and exits non-zero.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::engine::redact::Redactor;

/// One signing secret and what it belongs to.
#[derive(Clone, Serialize, Deserialize)]
pub struct SecretRecord {
    pub agent_id: String,
    pub url: String,
    pub webhook_id: String,
    pub signing_secret: String,
}

impl std::fmt::Debug for SecretRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretRecord")
            .field("agent_id", &self.agent_id)
            .field("webhook_id", &self.webhook_id)
            .finish_non_exhaustive()
    }
}

/// The version of the secrets file and of `--secrets-out -` lines.
pub const SECRETS_FORMAT_VERSION: &str = "1";

/// The secrets file: `webhooks` keyed by `agent_id/webhook_id`. Files
/// written before the version fields existed read as version 1.
#[derive(Debug, Default, Serialize, Deserialize)]
struct SecretsFile {
    #[serde(default)]
    format_version: String,
    #[serde(default)]
    twinform_version: String,
    #[serde(default)]
    webhooks: BTreeMap<String, SecretRecord>,
}

/// One `--secrets-out -` line: a record with the format's version.
#[derive(Serialize)]
struct SecretLine<'a> {
    format_version: &'static str,
    twinform_version: &'static str,
    #[serde(flatten)]
    record: &'a SecretRecord,
}

/// Why a secret could not be stored everywhere.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The secret is nowhere durable: it exists only in this process.
    #[error("the signing secret could not be stored: {0}")]
    Lost(std::io::Error),
    /// The secret is safe in `kept`, but `--secrets-command` failed.
    #[error("the signing secret is in {kept}, but --secrets-command failed: {message}")]
    Command { kept: String, message: String },
}

/// Every destination configured for this run.
pub struct SecretSink {
    /// `None`: standard output (`--secrets-out -`).
    file: Option<PathBuf>,
    command: Option<String>,
    redactor: Redactor,
    /// Our view of the file, and the length and mtime we last wrote it with:
    /// when the file changed since (another applier), it is read and merged first.
    state: Mutex<(SecretsFile, Option<(u64, std::time::SystemTime)>)>,
    /// Secrets received but not yet written (see [`SecretSink::store`]).
    pending: std::sync::Mutex<Vec<SecretRecord>>,
    /// Secrets stored by this run.
    count: std::sync::atomic::AtomicUsize,
}

impl SecretSink {
    /// `out` = `-` means standard output. The file is loaded now so merging keeps old entries.
    pub fn new(out: &Path, command: Option<String>, redactor: Redactor) -> std::io::Result<Self> {
        let file = (out != Path::new("-")).then(|| out.to_path_buf());
        let state = match &file {
            Some(p) => read_file(p)?,
            None => SecretsFile::default(),
        };
        Ok(SecretSink {
            file,
            command,
            redactor,
            state: Mutex::new((state, None)),
            pending: Default::default(),
            count: Default::default(),
        })
    }

    /// Store a secret everywhere it should go; returns once it is durable.
    pub async fn store(&self, record: SecretRecord) -> Result<(), StoreError> {
        self.redactor.add(&record.signing_secret);
        let kept = match &self.file {
            Some(path) => {
                self.write_file(path, record.clone())
                    .await
                    .map_err(StoreError::Lost)?;
                path.display().to_string()
            }
            None => {
                let line = serde_json::to_string(&SecretLine {
                    format_version: SECRETS_FORMAT_VERSION,
                    twinform_version: env!("CARGO_PKG_VERSION"),
                    record: &record,
                })
                .map_err(|e| StoreError::Lost(e.into()))?;
                let mut out = std::io::stdout().lock();
                writeln!(out, "{line}")
                    .and_then(|()| out.flush())
                    .map_err(StoreError::Lost)?;
                "standard output".to_string()
            }
        };
        self.count
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Some(cmd) = &self.command {
            if let Err(e) = pipe_to_command(SHELL, cmd, &record).await {
                return Err(StoreError::Command {
                    kept,
                    message: e.to_string(),
                });
            }
        }
        Ok(())
    }

    /// Group commit: the record is queued, and whoever holds the file lock next
    /// writes every queued record in one rewrite and fsync. Our record was
    /// queued before we asked for the lock, so once we hold it, it has been
    /// written (by us or by the holder before us) unless that write failed, in
    /// which case the batch is queued again and we retry it.
    async fn write_file(&self, path: &Path, record: SecretRecord) -> std::io::Result<()> {
        self.queue().push(record);
        let mut state = self.state.lock().await;
        let batch = std::mem::take(&mut *self.queue());
        if batch.is_empty() {
            return Ok(());
        }
        let written = self.update(path, &mut state, |file| {
            for r in batch.iter().cloned() {
                file.webhooks
                    .insert(format!("{}/{}", r.agent_id, r.webhook_id), r);
            }
        });
        if written.is_err() {
            self.queue().extend(batch);
        }
        written
    }

    /// Check, before anything is written to the API, that secrets can be
    /// stored: the folder exists or can be made, the lock can be taken, the
    /// file (if any) is a secrets file, and a private file can be written
    /// beside it. Without this, webhooks were created and their secrets dropped.
    pub async fn preflight(&self) -> std::io::Result<()> {
        let Some(path) = &self.file else {
            return Ok(());
        };
        let mut state = self.state.lock().await;
        self.update(path, &mut state, |_| {})
    }

    /// Check, before anything is written to the API, that `--secrets-command`
    /// can run at all: its shell is on PATH. The container image (distroless)
    /// has no shell; without this check, every secret's command failed with a
    /// bare "No such file or directory" after its webhook was made.
    pub fn check_command(&self) -> Result<(), String> {
        match &self.command {
            Some(_) if !on_path(SHELL) => {
                Err(format!("cannot run --secrets-command: {}", no_shell(SHELL)))
            }
            _ => Ok(()),
        }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Vec<SecretRecord>> {
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Drop the entry of a webhook that was deleted again (it lost a race).
    pub async fn forget(&self, agent_id: &str, webhook_id: &str) -> std::io::Result<()> {
        let mut state = self.state.lock().await;
        if let Some(path) = &self.file {
            let key = format!("{agent_id}/{webhook_id}");
            self.update(path, &mut state, |file| {
                file.webhooks.remove(&key);
            })?;
        }
        Ok(())
    }

    /// Change the file under an exclusive lock, merging what another process
    /// wrote since our last write, then write it atomically.
    fn update(
        &self,
        path: &Path,
        state: &mut (SecretsFile, Option<(u64, std::time::SystemTime)>),
        change: impl FnOnce(&mut SecretsFile),
    ) -> std::io::Result<()> {
        use crate::engine::file::{self, Holds, Open, Within};
        let lock = file::open(&path.with_extension("lock"), Within::Named, Open::Lock)?;
        lock.lock()?;
        let on_disk = std::fs::metadata(path)
            .ok()
            .and_then(|m| Some((m.len(), m.modified().ok()?)));
        if on_disk.is_some() && on_disk != state.1 {
            let theirs = read_file(path)?;
            for (k, v) in theirs.webhooks {
                state.0.webhooks.entry(k).or_insert(v);
            }
        }
        change(&mut state.0);
        state.0.format_version = SECRETS_FORMAT_VERSION.into();
        state.0.twinform_version = env!("CARGO_PKG_VERSION").into();
        let json = serde_json::to_vec_pretty(&state.0).map_err(std::io::Error::other)?;
        file::write(path, Within::Named, &json, Holds::Secrets)?;
        state.1 = std::fs::metadata(path)
            .ok()
            .and_then(|m| Some((m.len(), m.modified().ok()?)));
        lock.unlock()
    }

    /// How many secrets this run has stored.
    pub fn stored(&self) -> usize {
        self.count.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Where secrets go, for messages: the file, or standard output.
    pub fn destination(&self) -> String {
        self.file
            .as_ref()
            .map_or_else(|| "standard output".into(), |p| p.display().to_string())
    }
}

/// The signing secrets stored in the secrets file at `path` (none when it
/// is missing or unreadable): secrets of every run, so that no output or
/// written file repeats them.
pub fn stored(path: &Path) -> Vec<String> {
    read_file(path)
        .map(|f| f.webhooks.into_values().map(|r| r.signing_secret).collect())
        .unwrap_or_default()
}

fn read_file(path: &Path) -> std::io::Result<SecretsFile> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: not a secrets file: {e}", path.display()),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(SecretsFile::default()),
        Err(e) => Err(e),
    }
}

/// The shell `--secrets-command` runs in (`sh -c CMD`).
const SHELL: &str = "sh";

/// What is missing when the shell is: said the same way before the apply
/// (the check) and during it (a shell removed meanwhile).
fn no_shell(shell: &str) -> String {
    format!("`{shell}` is not on PATH (the distroless container image has no shell)")
}

/// Whether `program` is an executable file in a folder of PATH (where
/// spawning it looks; without PATH, the usual default).
fn on_path(program: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    std::env::split_paths(&path).any(|dir| is_executable(&dir.join(program)))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file() || path.with_extension("exe").is_file()
}

/// Run `SHELL -c CMD` with the secret on stdin and its identity in the environment.
async fn pipe_to_command(shell: &str, cmd: &str, record: &SecretRecord) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new(shell)
        .arg("-c")
        .arg(cmd)
        .env("TWINFORM_AGENT_ID", &record.agent_id)
        .env("TWINFORM_WEBHOOK_URL", &record.url)
        .env("TWINFORM_WEBHOOK_ID", &record.webhook_id)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => std::io::Error::new(e.kind(), no_shell(shell)),
            _ => e,
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(record.signing_secret.as_bytes()).await?;
    }
    let status = child.wait().await?;
    if status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "--secrets-command exited with {status}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Trust II item 20: a shell that is missing while the apply runs is
    /// named, not a bare "No such file or directory".
    #[tokio::test]
    async fn a_missing_shell_is_named() {
        let record = SecretRecord {
            agent_id: "a".into(),
            url: "https://a.example/x".into(),
            webhook_id: "w".into(),
            signing_secret: "whsec_0123456789".into(),
        };
        let e = pipe_to_command("no-such-shell-7f3a", "cat", &record)
            .await
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "`no-such-shell-7f3a` is not on PATH (the distroless container image has no shell)"
        );
        assert!(!on_path("no-such-shell-7f3a"));
        assert!(on_path(SHELL), "this machine has a shell");
    }
}

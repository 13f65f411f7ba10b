//! Saved plans (`plan --out FILE`, `apply FILE`): the plan as reviewed, with
//! no secret values, plus what is needed to refuse it when it went stale: a
//! fingerprint of every live object it depends on and a hash of each
//! change's exact operations.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Plan, FORMAT_VERSION};

/// What a file must say to be a saved plan.
pub const KIND: &str = "twinform-plan";

/// What a plan was narrowed to.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Selection {
    pub targets: Vec<String>,
    pub workspaces: Vec<String>,
    /// `--adopt`: take over live resources without the owner's mark.
    #[serde(default)]
    pub adopt: bool,
    /// `--sync-secrets`: rewrite write-only values whether or not they changed.
    #[serde(default)]
    pub sync_secrets: bool,
}

/// A saved plan.
#[derive(Debug, Serialize, Deserialize)]
pub struct SavedPlan {
    pub kind: String,
    pub format_version: String,
    /// The twinform release that wrote it (informational).
    #[serde(default)]
    pub twinform_version: String,
    /// The manifests, relative to the working directory when inside it.
    pub manifests: PathBuf,
    /// The `--var-file`s the plan was made with (apply uses the same).
    #[serde(default)]
    pub var_files: Vec<PathBuf>,
    /// The `--allow-hidden` paths the plan was made with (apply uses the same).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_hidden: Vec<PathBuf>,
    pub selection: Selection,
    pub created_at: String,
    /// Fingerprints of every live object read, by address.
    pub fingerprints: BTreeMap<String, String>,
    /// Per change address, a hash of its exact operations.
    pub operations: BTreeMap<String, String>,
    /// The plan as `-o json` shows it.
    pub plan: serde_json::Value,
    /// The git commit of the manifests when the plan was made
    /// (`<sha>-dirty` with uncommitted changes), if they are in git.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The plan as `-o text` and `-o markdown` showed it, for `twinform show`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rendered: Option<RenderedPlan>,
}

/// A plan's human renderings, made when it was saved (no colour).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RenderedPlan {
    pub text: String,
    pub markdown: String,
}

/// A keyed digest of each change's operations, by address. Operations
/// hold real values (interpolated secrets included), so a plain hash would
/// let whoever holds the plan file test guesses of a secret; `digest` is
/// keyed (the provider's client keys it with its API key), which plan and
/// apply both have and a reader of the file does not.
pub fn operation_hashes(
    plan: &Plan,
    digest: &dyn Fn(&str, &str) -> String,
) -> BTreeMap<String, String> {
    plan.changes
        .iter()
        .map(|c| {
            let ops = serde_json::to_string(&c.ops).unwrap_or_default();
            (c.address.clone(), digest(c.provider, &ops))
        })
        .collect()
}

/// Addresses whose hash differs between two maps (or is in only one).
pub fn changed(old: &BTreeMap<String, String>, new: &BTreeMap<String, String>) -> Vec<String> {
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

/// The manifest path as a saved plan records it: relative to the working
/// directory when it is inside it, so the plan applies from another checkout
/// of the same commit (a CI artifact passed between jobs).
pub fn portable(path: &Path) -> std::io::Result<PathBuf> {
    let absolute = std::fs::canonicalize(path)?;
    let cwd = std::env::current_dir().and_then(std::fs::canonicalize)?;
    Ok(match absolute.strip_prefix(&cwd) {
        Ok(rel) if rel.as_os_str().is_empty() => PathBuf::from("."),
        Ok(rel) => rel.to_path_buf(),
        Err(_) => absolute,
    })
}

/// A saved plan, if `path` is one: `Ok(None)` for manifests, an error for a
/// file that is meant as a plan (JSON) but is not a usable one.
pub fn read(path: &Path) -> Result<Option<SavedPlan>, String> {
    if !path.is_file() {
        return Ok(None);
    }
    // A plan of thousands of agents with their renderings is a few MiB; a
    // file far larger is not one, and is not read into memory.
    const MAX_PLAN_BYTES: u64 = 256 * 1024 * 1024;
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if size > MAX_PLAN_BYTES {
        return Err(format!(
            "{} is {size} bytes: too large to be a saved plan",
            path.display()
        ));
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
    if value.get("kind").and_then(|k| k.as_str()) != Some(KIND) {
        return Err(format!(
            "{what} is JSON but not a plan saved by `twinform plan --out`"
        ));
    }
    let version = value
        .get("format_version")
        .and_then(|v| v.as_str())
        .unwrap_or("none");
    if version != FORMAT_VERSION {
        return Err(format!(
            "{what} was saved in plan format {version}; this twinform reads format {FORMAT_VERSION}: make the plan again with this version"
        ));
    }
    serde_json::from_value(value)
        .map(Some)
        .map_err(|e| format!("{what} is not a usable saved plan: {e}"))
}

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
    /// SHA-256 of everything else ([`SavedPlan::digest`]), so `show` can say
    /// when a file was edited after it was saved. Not a signature: whoever
    /// edits the file can recompute it; `apply` relies on the keyed
    /// fingerprints and operations instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
}

impl SavedPlan {
    /// The SHA-256 of the plan as serialized without its checksum (keys
    /// sorted, so the same plan read back gives the same digest).
    pub fn digest(&self) -> String {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(m) = v.as_object_mut() {
            m.remove("checksum");
        }
        crate::engine::sha256_hex(v.to_string().as_bytes())
    }

    /// Whether the file is as it was saved: `None` when it carries no
    /// checksum (saved by an older twinform).
    pub fn intact(&self) -> Option<bool> {
        self.checksum.as_ref().map(|c| *c == self.digest())
    }
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

/// How a fresh plan compares with the saved plan it is to carry out.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Live objects the saved changes write or depend on that changed since
    /// (or that cannot be told apart from those): the plan is stale.
    pub stale: Vec<String>,
    /// Saved changes whose operations differ now (or that are gone), and
    /// saved changes that now depend on a change nobody reviewed.
    pub differs: Vec<String>,
    /// Live objects that changed since, which no saved change touches: a note.
    pub unrelated: Vec<String>,
    /// Changes the fresh plan has that the saved one has not: not applied.
    pub unreviewed: Vec<String>,
}

/// Compare a saved plan with a fresh one (its live fingerprints `now`, its
/// operation digests `ops`, and its changes): a saved plan is stale only
/// when what it would write, or what that depends on, changed. Live changes
/// elsewhere (an agent that rewrote its own instructions, an agent nobody
/// manages) are reported as unrelated, and the fresh plan's changes for
/// them are left out of the apply (nobody reviewed them).
///
/// A changed fingerprint is attributed to an object by its address (up to
/// `#`, which separates a live id): to the root object it names
/// (`agent["x"]` of `agent["x"].instructions`) when that root is the root
/// of some change or unmanaged object of either plan. One that cannot be
/// attributed (a workspace fingerprinted by id) counts as related: stale.
/// An attributed one is related to a change when one address contains the
/// other (`agent["x"]` and `agent["x"].schedule`; a collection
/// `agent["x"].webhooks` and its `agent["x"].webhook["…"]`).
pub fn compare(
    saved: &SavedPlan,
    now: &BTreeMap<String, String>,
    ops: &BTreeMap<String, String>,
    fresh: &Plan,
) -> Comparison {
    let mut out = Comparison::default();
    for (address, hash) in &saved.operations {
        if ops.get(address) != Some(hash) {
            out.differs.push(address.clone());
        }
    }
    out.unreviewed = ops
        .keys()
        .filter(|a| !saved.operations.contains_key(*a))
        .cloned()
        .collect();
    // What the saved changes write, and what they depend on (as saved, and
    // as the fresh plan sees it).
    let mut related: Vec<Vec<Segment>> = saved.operations.keys().map(|a| segments(a)).collect();
    let saved_changes = saved.plan.get("changes").and_then(|c| c.as_array());
    for c in saved_changes.into_iter().flatten() {
        for d in c
            .get("depends_on")
            .and_then(|d| d.as_array())
            .into_iter()
            .flatten()
        {
            related.extend(d.as_str().map(segments));
        }
    }
    for c in &fresh.changes {
        if !saved.operations.contains_key(&c.address) {
            continue;
        }
        for d in &c.depends_on {
            if out.unreviewed.contains(d) {
                out.differs
                    .push(format!("{} (now depends on {d})", c.address));
            }
            related.push(segments(d));
        }
    }
    // Objects whose addresses the plans know.
    let unmanaged = |v: &serde_json::Value| -> Vec<String> {
        v.get("unmanaged")
            .and_then(|u| u.as_array())
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect()
    };
    let known: std::collections::BTreeSet<String> = saved
        .operations
        .keys()
        .chain(ops.keys())
        .cloned()
        .chain(unmanaged(&saved.plan))
        .chain(fresh.unmanaged.iter().cloned())
        .map(|a| root(&segments(&a)))
        .collect();
    for key in changed(&saved.fingerprints, now) {
        let address = key.split('#').next().unwrap_or(&key);
        let path = segments(address);
        let attributed = known.contains(&root(&path));
        if !attributed || related.iter().any(|r| contains(r, &path)) {
            out.stale.push(key);
        } else {
            out.unrelated.push(key);
        }
    }
    out.differs.sort();
    out.differs.dedup();
    out
}

/// One step of an address: `agent["x"]` is (`agent`, `["x"]`), `schedule`
/// is (`schedule`, ``).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Segment {
    kind: String,
    key: String,
}

/// An address's steps, split at dots outside brackets and quotes.
fn segments(address: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let (mut kind, mut key) = (String::new(), String::new());
    let (mut depth, mut quoted, mut escaped) = (0usize, false, false);
    for ch in address.chars() {
        if quoted {
            key.push(ch);
            match (escaped, ch) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => quoted = false,
                _ => {}
            }
            continue;
        }
        match ch {
            '"' if depth > 0 => {
                quoted = true;
                key.push(ch);
            }
            '[' => {
                depth += 1;
                key.push(ch);
            }
            ']' => {
                depth = depth.saturating_sub(1);
                key.push(ch);
            }
            '.' if depth == 0 => out.push(Segment {
                kind: std::mem::take(&mut kind),
                key: std::mem::take(&mut key),
            }),
            c if depth > 0 => key.push(c),
            c => kind.push(c),
        }
    }
    out.push(Segment { kind, key });
    out
}

/// The object an address is about: up to its first keyed step
/// (`other.agent["x"]` of `other.agent["x"]`, `agent["x"]` of
/// `agent["x"].schedule`).
fn root(path: &[Segment]) -> String {
    let end = path
        .iter()
        .position(|s| !s.key.is_empty())
        .map_or(path.len(), |i| i + 1);
    path[..end]
        .iter()
        .map(|s| format!("{}{}", s.kind, s.key))
        .collect::<Vec<_>>()
        .join(".")
}

/// Whether one path contains the other (step by step, a keyless step
/// standing for the collection of its kind: `webhooks` for `webhook["u"]`).
fn contains(a: &[Segment], b: &[Segment]) -> bool {
    let same = |x: &Segment, y: &Segment| {
        let collection = |c: &Segment, item: &Segment| {
            c.key.is_empty()
                && !item.key.is_empty()
                && (c.kind == item.kind || c.kind == format!("{}s", item.kind))
        };
        x == y || collection(x, y) || collection(y, x)
    };
    a.iter().zip(b).all(|(x, y)| same(x, y))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn saved(ops: &[&str], fps: &[(&str, &str)]) -> SavedPlan {
        SavedPlan {
            kind: KIND.into(),
            format_version: FORMAT_VERSION.into(),
            twinform_version: String::new(),
            manifests: ".".into(),
            var_files: Vec::new(),
            allow_hidden: Vec::new(),
            selection: Selection::default(),
            created_at: String::new(),
            fingerprints: fps
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            operations: ops.iter().map(|a| (a.to_string(), "h".into())).collect(),
            plan: serde_json::json!({"changes": [], "unmanaged": []}),
            commit: None,
            rendered: None,
            checksum: None,
        }
    }

    fn map(items: &[(&str, &str)]) -> BTreeMap<String, String> {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn drift_of_an_object_no_saved_change_touches_is_a_note() {
        let digest = r#"agent["daily-digest"].instructions"#;
        let scout = r#"agent["lead-scout"].instructions"#;
        let s = saved(&[digest], &[(digest, "1"), (scout, "1")]);
        let mut fresh = Plan::default();
        fresh.changes.push(super::super::Change::new(
            "p",
            scout,
            "instructions",
            super::super::Action::Update,
        ));
        let now = map(&[(digest, "1"), (scout, "2")]);
        let ops = map(&[(digest, "h"), (scout, "h2")]);
        let c = compare(&s, &now, &ops, &fresh);
        assert_eq!(c.stale, Vec::<String>::new());
        assert_eq!(c.differs, Vec::<String>::new());
        assert_eq!(c.unrelated, [scout]);
        assert_eq!(c.unreviewed, [scout]);

        // What a saved change writes changed: stale.
        let now = map(&[(digest, "2"), (scout, "1")]);
        let c = compare(&s, &now, &map(&[(digest, "h")]), &Plan::default());
        assert_eq!(c.stale, [digest]);
    }

    #[test]
    fn parents_collections_and_unattributed_objects_are_related() {
        let hook = r#"agent["x"].webhook["https://h.example/a"]"#;
        let s = saved(&[hook], &[]);
        let related = |fp: &str| {
            let now = map(&[(fp, "2")]);
            let c = compare(&s, &now, &map(&[(hook, "h")]), &Plan::default());
            !c.stale.is_empty()
        };
        assert!(related(r#"agent["x"].webhooks"#), "the collection of it");
        assert!(related(r#"agent["x"]"#), "its agent");
        assert!(!related(r#"agent["x"].schedule"#), "a sibling");
        // A workspace fingerprinted by id is no address of either plan.
        assert!(related(r#"workspace_id["ws_1"]"#));
        // An id after `#` is not part of the address.
        let other = r#"other.agent["Support"]"#;
        let s = saved(&[other], &[]);
        let now = map(&[(r#"other.agent["Support"]#agent_1"#, "2")]);
        let c = compare(&s, &now, &map(&[(other, "h")]), &Plan::default());
        assert_eq!(c.stale.len(), 1);
    }

    #[test]
    fn a_saved_change_that_now_depends_on_an_unreviewed_one_differs() {
        let agent = r#"agent["a"]"#;
        let ws = r#"workspace["W"]"#;
        let s = saved(&[agent], &[]);
        let mut fresh = Plan::default();
        let mut c = super::super::Change::new("p", agent, "agent", super::super::Action::Create);
        c.depends_on.push(ws.into());
        fresh.changes.push(c);
        let c = compare(
            &s,
            &BTreeMap::new(),
            &map(&[(agent, "h"), (ws, "w")]),
            &fresh,
        );
        assert_eq!(c.differs.len(), 1, "{c:?}");
        assert_eq!(c.unreviewed, [ws]);
    }
}

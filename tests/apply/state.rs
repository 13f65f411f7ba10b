//! Saved plans between checkouts, every output format, and the state folder (kept out of git, never written through a link).

use super::*;

#[test]
fn a_saved_plan_travels_between_checkouts_and_is_checked_before_use() {
    let (twin, dir) = scenario();
    let (code, _, err) = run(&twin, dir.path(), &["plan", "--out", "p.json", "."]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(dir.path().join("p.json")).unwrap();
    let saved: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        saved["manifests"], ".",
        "an absolute path ties the plan to one checkout"
    );
    // Truncated in transit: a clear message, not a YAML error.
    std::fs::write(dir.path().join("cut.json"), &text[..text.len() / 2]).unwrap();
    let (code, _, err) = run(&twin, dir.path(), &["apply", "cut.json"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("cut.json is not a complete saved plan (truncated or edited?)"),
        "{err}"
    );
    // Edited to another format version: refused.
    std::fs::write(
        dir.path().join("v99.json"),
        text.replace("\"format_version\": \"1\"", "\"format_version\": \"99\""),
    )
    .unwrap();
    let (code, _, err) = run(&twin, dir.path(), &["apply", "v99.json"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("was saved in plan format 99; this twinform reads format 1"),
        "{err}"
    );
    assert_eq!(twin.writes(), 0);
    // Another checkout of the same tree (a CI job downloading the artifact).
    let other = tempfile::tempdir().unwrap();
    write_tree(other.path(), SCENARIO);
    std::fs::copy(dir.path().join("p.json"), other.path().join("p.json")).unwrap();
    let (code, _, err) = run(
        &twin,
        other.path(),
        &["apply", "--max-destroy", "10", "p.json"],
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, _) = run(&twin, other.path(), &["plan", "--detailed-exitcode", "."]);
    assert_eq!(code, 0);
}

#[test]
fn apply_reports_in_every_format_a_no_op_included() {
    let twin = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.yaml"), ONE_HOOK).unwrap();
    let (code, out, err) = run(
        &twin,
        dir.path(),
        &["apply", "--auto-approve", "-o", "json", "."],
    );
    assert_eq!(code, 0, "{err}");
    let events: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(events
        .iter()
        .all(|e| e["format_version"] == "1" && e["twinform_version"].is_string()));
    assert_eq!(
        events.iter().filter(|e| e["type"] == "change").count(),
        2,
        "{out}"
    );
    let last = events.last().unwrap();
    assert_eq!(last["type"], "summary");
    assert_eq!(last["applied"], 2);
    assert_eq!(last["secrets_stored"], 1);
    assert_eq!(last["exit_code"], 0);
    // A no-op apply still says so, in JSON…
    let (code, out, _) = run(
        &twin,
        dir.path(),
        &["apply", "--auto-approve", "-o", "json", "."],
    );
    assert_eq!(code, 0);
    let only: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(only["type"], "summary");
    assert_eq!(only["applied"], 0);
    // …and in Markdown, a report rather than the text view.
    let (code, out, _) = run(
        &twin,
        dir.path(),
        &["apply", "--auto-approve", "-o", "markdown", "."],
    );
    assert_eq!(code, 0);
    assert!(
        out.starts_with("<!-- twinform-apply -->\n### twinform apply complete: 0 applied"),
        "{out}"
    );
    std::fs::write(
        dir.path().join("m.yaml"),
        ONE_HOOK.replace("id: h", "id: h3"),
    )
    .unwrap();
    let (code, out, _) = run(
        &twin,
        dir.path(),
        &["apply", "--auto-approve", "-o", "markdown", "."],
    );
    assert_eq!(code, 0);
    assert!(
        out.contains("| ✅ | <code>agent\\[\"h3\"\\]</code> | applied: created |"),
        "{out}"
    );
    assert!(!out.contains("whsec_"), "{out}");
}

#[test]
fn apply_keeps_its_state_folder_out_of_git() {
    let twin = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .current_dir(dir.path())
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
    };
    let has_git = git(&["init", "-q"]).is_some();
    write_tree(
        dir.path(),
        &[(
            "m.yaml",
            "kind: Workspace\nname: Ops\n---\nkind: Agent\nid: hooked\nworkspace: Ops\nwebhooks:\n  - url: https://hooks.example.com/x\n    events: [run.failed]\n",
        )],
    );
    let (code, _, err) = run(&twin, dir.path(), &["apply", "--auto-approve", "."]);
    assert_eq!(code, 0, "{err}");
    let state = dir.path().join(".twinform");
    let secrets = std::fs::read_to_string(state.join("secrets.json")).unwrap();
    assert!(secrets.contains("signing_secret"), "{secrets}");
    let ignore = std::fs::read_to_string(state.join(".gitignore")).unwrap();
    assert!(ignore.lines().any(|l| l == "*"), "{ignore}");
    if has_git {
        let status = git(&["status", "--porcelain", "--untracked-files=all"]).unwrap();
        let status = String::from_utf8_lossy(&status.stdout);
        assert!(!status.contains(".twinform"), "{status}");
    }
}

#[cfg(unix)]
#[test]
fn apply_never_writes_its_state_through_a_planted_link() {
    let twin = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim");
    std::fs::write(&victim, "precious\n").unwrap();
    write_tree(
        dir.path(),
        &[(
            "m.yaml",
            "kind: Workspace\nname: Ops\n---\nkind: Agent\nid: hooked\nworkspace: Ops\nwebhooks:\n  - url: https://hooks.example.com/x\n    events: [run.failed]\n",
        )],
    );
    std::fs::create_dir(dir.path().join(".twinform")).unwrap();
    for name in ["journal.ndjson", "secrets.lock"] {
        std::fs::remove_file(dir.path().join(".twinform").join(name)).ok();
        std::os::unix::fs::symlink(&victim, dir.path().join(".twinform").join(name)).unwrap();
        let (code, _, err) = run(&twin, dir.path(), &["apply", "--auto-approve", "."]);
        assert_eq!(code, 1, "{err}");
        assert!(err.contains("symbolic link"), "{err}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
        std::fs::remove_file(dir.path().join(".twinform").join(name)).unwrap();
    }
    assert_eq!(twin.writes(), 0, "nothing was applied");
}

/// Review II 6: a saved plan is stale only when what it writes (or what
/// that depends on) changed. An agent that rewrote its own instructions,
/// which the plan does not touch, is a note; its change is not applied
/// (nobody reviewed it), and the reviewed change is.
#[test]
fn a_saved_plan_survives_drift_in_what_it_does_not_touch() {
    let twin = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[(
            "m.yaml",
            "kind: Agent\nid: daily-digest\nworkspace: My Workspace\ninstructions: Old digest.\n---\nkind: Agent\nid: lead-scout\nworkspace: My Workspace\ninstructions: Find leads.\n",
        )],
    );
    let (code, _, err) = run(&twin, dir.path(), &["apply", "--auto-approve", "."]);
    assert_eq!(code, 0, "{err}");
    write_tree(
        dir.path(),
        &[(
            "m.yaml",
            "kind: Agent\nid: daily-digest\nworkspace: My Workspace\ninstructions: New digest.\n---\nkind: Agent\nid: lead-scout\nworkspace: My Workspace\ninstructions: Find leads.\n",
        )],
    );
    let (code, _, err) = run(&twin, dir.path(), &["plan", "--out", "p.json", "."]);
    assert_eq!(code, 0, "{err}");
    // lead-scout rewrites its own instructions during a run.
    twin.store(|s| {
        s.put_instructions(
            "lead-scout",
            &serde_json::json!({"content": "Find leads; I learned to skip spam.", "source_type": "agent"}),
        )
        .unwrap()
    });
    let (code, out, err) = run(&twin, dir.path(), &["apply", "p.json"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("in objects it does not touch: agent[\"lead-scout\"].instructions"),
        "{err}"
    );
    assert!(
        err.contains("not applied, because the saved plan did not have them")
            && err.contains("agent[\"lead-scout\"].instructions"),
        "{err}"
    );
    let texts = twin.store(|s| {
        (
            s.instructions["daily-digest"].content.clone(),
            s.instructions["lead-scout"].content.clone(),
        )
    });
    assert_eq!(texts.0.trim_end(), "New digest.");
    assert_eq!(
        texts.1, "Find leads; I learned to skip spam.",
        "an unreviewed revert"
    );

    // What the plan writes changed: stale, nothing written.
    write_tree(
        dir.path(),
        &[(
            "m.yaml",
            "kind: Agent\nid: daily-digest\nworkspace: My Workspace\ninstructions: Newer digest.\n---\nkind: Agent\nid: lead-scout\nworkspace: My Workspace\ninstructions: Find leads.\n",
        )],
    );
    run(&twin, dir.path(), &["plan", "--out", "p.json", "."]);
    twin.store(|s| {
        s.put_instructions(
            "daily-digest",
            &serde_json::json!({"content": "Edited in the builder.", "source_type": "builder"}),
        )
        .unwrap()
    });
    let writes = twin.writes();
    let (code, _, err) = run(&twin, dir.path(), &["apply", "p.json"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("the saved plan is stale")
            && err.contains("agent[\"daily-digest\"].instructions"),
        "{err}"
    );
    assert_eq!(twin.writes(), writes);
}

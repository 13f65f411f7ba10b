//! Apply with signing secrets: where they go, and what happens when they cannot go there.

use super::*;

#[test]
fn an_unusable_secrets_destination_stops_apply_before_any_write() {
    let twin = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.yaml"), ONE_HOOK).unwrap();
    // A path under a regular file cannot be created, even by root.
    std::fs::write(dir.path().join("not-a-dir"), "").unwrap();
    let (code, _, err) = run(
        &twin,
        dir.path(),
        &[
            "apply",
            "--auto-approve",
            "--secrets-out",
            "not-a-dir/secrets.json",
            ".",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("cannot store signing secrets in not-a-dir/secrets.json"),
        "{err}"
    );
    assert!(err.contains("nothing was changed"), "{err}");
    assert_eq!(twin.writes(), 0, "the API was written to");
}

/// Trust II item 20: without `sh` (the distroless image), `--secrets-command`
/// is refused before anything is written, saying what is missing, instead
/// of failing each secret with a bare "No such file or directory".
#[test]
fn a_secrets_command_without_a_shell_is_refused_before_any_write() {
    let twin = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.yaml"), ONE_HOOK).unwrap();
    let no_shell = tempfile::tempdir().unwrap();
    let out = twin
        .cmd(dir.path())
        .env("PATH", no_shell.path())
        .args(["apply", "--auto-approve", "--secrets-command", "cat", "."])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cannot run --secrets-command: `sh` is not on PATH (the distroless container image has no shell)"),
        "{err}"
    );
    assert!(
        err.contains("nothing was changed") && err.contains("--secrets-out -"),
        "{err}"
    );
    assert_eq!(twin.writes(), 0, "the API was written to");
    // A plan that makes no secret does not need the shell.
    std::fs::write(
        dir.path().join("m.yaml"),
        "kind: Workspace\nname: My Workspace\n",
    )
    .unwrap();
    let out = twin
        .cmd(dir.path())
        .env("PATH", no_shell.path())
        .args(["apply", "--auto-approve", "--secrets-command", "cat", "."])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_failing_secrets_command_keeps_the_secret_in_the_file_and_fails_the_apply() {
    let twin = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.yaml"), ONE_HOOK).unwrap();
    let (code, out, err) = run(
        &twin,
        dir.path(),
        &[
            "apply",
            "--auto-approve",
            "--secrets-command",
            "exit 3",
            ".",
        ],
    );
    assert_eq!(code, 1, "{out}{err}");
    let (id, secret) = twin.store(|s| {
        let w = s.webhooks.values().next().unwrap();
        (w.webhook_id.clone(), w.signing_secret.clone().unwrap())
    });
    let saved: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join(".twinform/secrets.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        saved["webhooks"][format!("h/{id}")]["signing_secret"],
        secret.as_str()
    );
    assert!(
        err.contains(
            "the signing secret is in .twinform/secrets.json, but --secrets-command failed"
        ),
        "{err}"
    );
    assert!(!format!("{out}{err}").contains(&secret));
    // With `--secrets-out -`, the secret is on stdout before the command runs.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("m.yaml"),
        ONE_HOOK.replace("id: h", "id: h2"),
    )
    .unwrap();
    let (code, out, err) = run(
        &twin,
        dir.path(),
        &[
            "apply",
            "--auto-approve",
            "--secrets-out",
            "-",
            "--secrets-command",
            "exit 3",
            ".",
        ],
    );
    assert_eq!(code, 1, "{err}");
    let record: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(record["agent_id"], "h2");
    assert!(
        err.contains("the signing secret is in standard output"),
        "{err}"
    );
}

#[test]
fn a_secret_that_cannot_be_stored_takes_its_webhook_with_it() {
    let twin = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.yaml"), ONE_HOOK).unwrap();
    let desired = common::desired(dir.path(), &[]);
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let sink = twinform::engine::apply::secrets::SecretSink::new(
        &sub.join("s.json"),
        None,
        Default::default(),
    )
    .unwrap();
    twin.rt.block_on(sink.preflight()).unwrap();
    // The destination breaks after the check (a full disk, a removed mount).
    std::fs::remove_dir_all(&sub).unwrap();
    std::fs::write(&sub, "").unwrap();
    let client = twin.client();
    let results = twin.rt.block_on(async {
        let (live, plan) = common::plan_for(&client, &desired).await;
        let ctx = common::context(&client, &live, std::sync::Arc::new(sink));
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        twinform::engine::apply::execute(&plan, ctx, tx).await
    });
    let hook = results
        .iter()
        .find(|f| f.address.contains(".webhook["))
        .unwrap();
    assert!(
        matches!(&hook.status, twinform::engine::apply::Status::Failed(m) if m.contains("it was deleted again")),
        "{:?}",
        hook.status
    );
    assert_eq!(
        twin.store(|s| s.webhooks.len()),
        0,
        "a webhook without a known secret lives on"
    );
}

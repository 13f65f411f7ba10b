//! `history` lists an agent's server-side instruction versions and diffs
//! two; `rollback` writes one into the manifest (inline or file), so the
//! next apply restores it through review.

mod common;

use std::path::Path;

use common::{write_tree, TestTwin};
use twinform::providers::twin::wire::PutInstructions;

fn output(cmd: &mut assert_cmd::Command) -> (i32, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const V1: &str = "kind: Workspace\nname: Ops\n---\nkind: Agent\nid: digest   # the daily digest\nworkspace: Ops\ninstructions: |\n  Summarize the day.\n---\nkind: Agent\nid: triage\nworkspace: Ops\ninstructions: {file: triage.md}\n";

/// Three versions of digest: two applies from git, one edit in the builder.
fn three_versions(twin: &TestTwin, dir: &Path) {
    write_tree(
        dir,
        &[("agents.yaml", V1), ("triage.md", "Sort tickets.\n")],
    );
    twin.assert_converges(dir);
    write_tree(
        dir,
        &[(
            "agents.yaml",
            &V1.replace("Summarize the day.", "Summarize the day in three bullets."),
        )],
    );
    twin.assert_converges(dir);
    twin.rt.block_on(async {
        twin.client()
            .put_instructions(
                "digest",
                &PutInstructions {
                    content: "Edited in the builder.\n".into(),
                    source_type: Some("builder".into()),
                    source_id: None,
                },
            )
            .await
            .unwrap()
    });
}

#[test]
fn history_lists_versions_newest_first_and_diffs_two() {
    let twin = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    three_versions(&twin, dir.path());
    let (code, out, err) = output(twin.cmd(dir.path()).args(["history", "digest"]));
    assert_eq!(code, 0, "{err}");
    let rows: Vec<&str> = out
        .lines()
        .filter(|l| l.trim_start().starts_with('@'))
        .collect();
    assert_eq!(rows.len(), 3, "{out}");
    assert!(
        rows[0].contains("builder") && rows[0].contains("Edited in the builder."),
        "{out}"
    );
    assert!(rows[2].contains("Summarize the day."), "{out}");
    assert!(
        out.starts_with("agent \"digest\": 3 instruction versions, newest first"),
        "{out}"
    );

    let (code, out, _) = output(
        twin.cmd(dir.path())
            .args(["history", "digest", "--diff", "@3", "@2"]),
    );
    assert_eq!(code, 0);
    assert!(
        out.contains("-Summarize the day.\n+Summarize the day in three bullets.\n"),
        "{out}"
    );

    let (code, out, _) = output(
        twin.cmd(dir.path())
            .args(["history", "digest", "-o", "json"]),
    );
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["versions"][0]["ref"], "@1");
    assert_eq!(v["versions"][0]["source"], "builder");
    assert_eq!(v["versions"][2]["content"], "Summarize the day.\n");

    let (code, _, err) = output(
        twin.cmd(dir.path())
            .args(["history", "digest", "--diff", "@1", "@9"]),
    );
    assert_eq!(code, 1);
    assert!(err.contains("no version `@9` among 3 versions"), "{err}");
}

#[test]
fn rollback_writes_a_version_into_the_manifest_and_apply_restores_it() {
    let twin = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    three_versions(&twin, dir.path());
    let (code, _, err) = output(
        twin.cmd(dir.path())
            .args(["rollback", "digest", "--to", "@3", "."]),
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("review it, commit it, and apply"), "{err}");
    // Only the text changed; the comment stayed.
    assert_eq!(
        std::fs::read_to_string(dir.path().join("agents.yaml")).unwrap(),
        V1
    );
    let (code, plan, _) = output(
        twin.cmd(dir.path())
            .args(["plan", "--detailed-exitcode", "."]),
    );
    assert_eq!(code, 2);
    assert!(
        plan.contains("-Edited in the builder.") && plan.contains("+Summarize the day."),
        "{plan}"
    );
    twin.assert_converges(dir.path());

    // A prompt file is rewritten with the version's text.
    twin.rt.block_on(async {
        twin.client()
            .put_instructions(
                "triage",
                &PutInstructions {
                    content: "Sort tickets by urgency.\n".into(),
                    source_type: Some("builder".into()),
                    source_id: None,
                },
            )
            .await
            .unwrap()
    });
    let (code, _, err) =
        output(
            twin.cmd(dir.path())
                .args(["rollback", "triage", "--to", "@1", "--dry-run", "."]),
        );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("triage.md")).unwrap(),
        "Sort tickets.\n"
    );
    let (code, _, err) = output(
        twin.cmd(dir.path())
            .args(["rollback", "triage", "--to", "@1", "."]),
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("triage.md")).unwrap(),
        "Sort tickets by urgency.\n"
    );

    // An agent that is not declared, or a templated text, is refused.
    let (code, _, err) = output(
        twin.cmd(dir.path())
            .args(["rollback", "nope", "--to", "@1", "."]),
    );
    assert_eq!(code, 1);
    assert!(err.contains("agent `nope` is not declared"), "{err}");
    write_tree(
        dir.path(),
        &[
            ("t.md.j2", "Sort.\n"),
            (
                "agents.yaml",
                &V1.replace("{file: triage.md}", "{template: t.md.j2}"),
            ),
        ],
    );
    let (code, _, err) = output(
        twin.cmd(dir.path())
            .args(["rollback", "triage", "--to", "@2", "."]),
    );
    assert_eq!(code, 1);
    assert!(err.contains("rendered from a template"), "{err}");
}

/// Trust II item 7: `history --manifests T` reads T as plan does (with
/// `--var-file`) and stops when it does not load, instead of printing the
/// text with nothing redacted; an unset variable is only unknown there.
#[test]
fn history_reads_the_manifests_with_their_var_files_or_stops() {
    const TOKEN: &str = "tok-history-0123456789";
    let twin = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            (
                "tree/agents.yaml",
                "kind: Workspace\nname: Ops\n---\nkind: Agent\nid: digest-${var.env}\nworkspace: Ops\ninstructions: \"Post with token ${DIGEST_TOKEN}.\"\n",
            ),
            ("prod.yaml", "env: prod\n"),
        ],
    );
    let (code, _, err) = output(twin.cmd(dir.path()).env("DIGEST_TOKEN", TOKEN).args([
        "apply",
        "--auto-approve",
        "--var-file",
        "prod.yaml",
        "tree",
    ]));
    assert_eq!(code, 0, "{err}");
    let history = |args: &[&str], token: bool| {
        let mut cmd = twin.cmd(dir.path());
        if token {
            cmd.env("DIGEST_TOKEN", TOKEN);
        }
        output(
            cmd.args([
                "history",
                "digest-prod",
                "-o",
                "json",
                "--manifests",
                "tree",
            ])
            .args(args),
        )
    };
    // Without the var file the tree does not load: history says so and stops.
    let (code, out, err) = history(&[], true);
    assert_eq!(code, 1, "{out}{err}");
    assert!(!format!("{out}{err}").contains(TOKEN), "{out}{err}");
    assert!(err.contains("variable `env` is not defined"), "{err}");
    // With it, the text is shown and the interpolated token is redacted.
    let (code, out, err) = history(&["--var-file", "prod.yaml"], true);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Post with token"), "{out}");
    assert!(!format!("{out}{err}").contains(TOKEN), "{out}{err}");
    // An unset variable's value could not be redacted from old texts
    // (attack review F12): history says so and prints none of them.
    let (code, out, err) = history(&["--var-file", "prod.yaml"], false);
    assert_eq!(code, 1, "{out}{err}");
    assert!(!format!("{out}{err}").contains(TOKEN), "{out}{err}");
    assert!(
        err.contains("`DIGEST_TOKEN` is not set here, so its value could not be redacted"),
        "{err}"
    );
}

#[test]
fn rollback_of_a_shared_prompt_file_names_the_others_and_needs_force() {
    let twin = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    let agents = "kind: Workspace\nname: Ops\n---\nkind: Agent\nid: a1\nworkspace: Ops\ninstructions: {file: shared.md}\n---\nkind: Agent\nid: a2\nworkspace: Ops\ninstructions: {file: shared.md}\n---\nkind: Agent\nid: a3\nworkspace: Ops\ninstructions: {template: t.md.j2}\n";
    write_tree(
        dir.path(),
        &[
            ("agents.yaml", agents),
            ("shared.md", "Be brief.\n"),
            ("t.md.j2", "Rules:\n{% include 'shared.md' %}"),
        ],
    );
    twin.assert_converges(dir.path());
    write_tree(dir.path(), &[("shared.md", "Be brief and kind.\n")]);
    twin.assert_converges(dir.path());

    // a1's @2 is "Be brief.": writing it would roll a2 and a3 back too.
    let (code, _, err) = output(
        twin.cmd(dir.path())
            .args(["rollback", "a1", "--to", "@2", "."]),
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("agent[\"a1\"].instructions not rolled back: shared.md is also the text of Agent `a2` (instructions) at agents.yaml:12, Agent `a3` (instructions) at agents.yaml:17; not written"),
        "{err}"
    );
    assert!(err.contains("hint: pass --force"), "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("shared.md")).unwrap(),
        "Be brief and kind.\n"
    );

    let (code, _, err) = output(
        twin.cmd(dir.path())
            .args(["rollback", "a1", "--to", "@2", "--force", "."]),
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("note: shared.md is also the text of Agent `a2` (instructions) at agents.yaml:12, Agent `a3` (instructions) at agents.yaml:17: it changes for them too"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("shared.md")).unwrap(),
        "Be brief.\n"
    );
}

/// Review II 14: diff headers name versions once (`digest@3`, not
/// `digest@@3`), and an agent that does not exist is said so, with the
/// closest id, not as the API's bare 403.
#[test]
fn history_names_versions_plainly_and_suggests_a_misspelt_agent() {
    let twin = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    three_versions(&twin, dir.path());
    let (code, out, _) = output(
        twin.cmd(dir.path())
            .args(["history", "digest", "--diff", "@3", "@2"]),
    );
    assert_eq!(code, 0);
    let heads: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("--- ") || l.starts_with("+++ "))
        .collect();
    assert_eq!(heads.len(), 2, "{out}");
    assert!(
        heads[0].starts_with("--- digest@3") && heads[1].starts_with("+++ digest@2"),
        "{out}"
    );
    assert!(!out.contains("@@3") && !out.contains("@@2"), "{out}");

    let (code, _, err) = output(twin.cmd(dir.path()).args(["history", "digets"]));
    assert_eq!(code, 1);
    assert!(
        err.contains("no agent named `digets` on Twin (did you mean `digest`?)"),
        "{err}"
    );
    assert!(!err.contains("403"), "{err}");
}

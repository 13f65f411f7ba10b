//! Review tools: `show` renders a saved plan offline; validate and plan
//! problems in machine form (`-o json`, `--annotations github`).

mod common;

use std::path::Path;

use common::{write_tree, TestTwin};

const TREE: &[(&str, &str)] = &[
    ("ws.yaml", "kind: Workspace\nname: Ops\n"),
    (
        "agents.yaml",
        "kind: Agent\nid: digest\nworkspace: Ops\ninstructions: |\n  Summarize the day.\nschedule:\n  cron: \"0 0 9 * * MON-FRI *\"\n",
    ),
];

fn output(cmd: &mut assert_cmd::Command) -> (i32, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The binary with no API key and no endpoint: nothing can be reached.
fn offline(dir: &Path) -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("twinform").unwrap();
    c.current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("TWIN_API_KEY")
        .env("TWIN_ENDPOINT", "http://127.0.0.1:9");
    c
}

#[test]
fn show_renders_a_saved_plan_offline_in_every_format() {
    let twin = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), TREE);
    let (code, text, err) = output(twin.cmd(dir.path()).args(["plan", "--out", "p.json", "."]));
    assert_eq!(code, 0, "{err}");
    let (_, markdown, _) = output(twin.cmd(dir.path()).args(["plan", "-o", "markdown", "."]));
    let (_, json, _) = output(twin.cmd(dir.path()).args(["plan", "-o", "json", "."]));
    drop(twin);

    let (code, shown, err) = output(offline(dir.path()).args(["show", "p.json"]));
    assert_eq!(code, 0, "{err}");
    assert!(shown.starts_with("Saved plan of . made "), "{shown}");
    // The plan as it was printed, read time included.
    assert!(shown.ends_with(&text), "{shown}\n---\n{text}");
    assert!(
        shown.contains("+ agent[\"digest\"]") && shown.contains("next: "),
        "{shown}"
    );

    let (code, shown, _) = output(offline(dir.path()).args(["show", "-o", "markdown", "p.json"]));
    assert_eq!(code, 0);
    assert_eq!(shown, markdown);

    let (code, shown, _) = output(offline(dir.path()).args(["show", "-o", "json", "p.json"]));
    assert_eq!(code, 0);
    let shown: serde_json::Value = serde_json::from_str(&shown).unwrap();
    let planned: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(shown["changes"], planned["changes"]);
    assert_eq!(shown["format_version"], "1");

    // A file that is not a saved plan is refused with a reason.
    let (code, _, err) = output(offline(dir.path()).args(["show", "ws.yaml"]));
    assert_eq!(code, 1);
    assert!(
        err.contains("is not a plan saved by `twinform plan --out`"),
        "{err}"
    );
}

const BROKEN: &[(&str, &str)] = &[
    ("ws.yaml", "kind: Workspace\nname: Ops\n"),
    (
        "agents.yaml",
        "kind: Agent\nid: digest\nworkspace: Ops\nschedule:\n  cron: \"0 0 9 * * 2 *\"\n---\nkind: Agent\nid: bad id\nworkspace: Ops\n",
    ),
];

#[test]
fn validate_reports_problems_as_json_and_github_annotations() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), BROKEN);
    let (code, out, _) = output(offline(dir.path()).args(["validate", "-o", "json", "."]));
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["format_version"], "1");
    assert_eq!(v["valid"], false);
    assert_eq!(
        (v["errors"].as_u64(), v["warnings"].as_u64()),
        (Some(1), Some(1))
    );
    let error = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["severity"] == "error")
        .unwrap();
    assert_eq!(error["message"], "invalid agent id `bad id`");
    assert_eq!(error["position"]["file"], "./agents.yaml");
    assert_eq!(
        (
            error["position"]["line"].as_u64(),
            error["position"]["column"].as_u64()
        ),
        (Some(8), Some(5))
    );
    assert!(error["help"].as_str().unwrap().contains("agent ids match"));

    let (code, out, _) =
        output(offline(dir.path()).args(["validate", "--annotations", "github", "."]));
    assert_eq!(code, 1);
    let lines: Vec<&str> = out.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines.iter().any(|l| l.starts_with("::error file=./agents.yaml,line=8,col=5,endLine=8,endColumn=11,title=twinform::invalid agent id `bad id`%0Ahelp: ")), "{out}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("::warning file=./agents.yaml,line=5,col=9,")),
        "{out}"
    );

    // Markdown, for a pull-request comment: one bullet per problem.
    let (code, out, _) = output(offline(dir.path()).args(["validate", "-o", "markdown", "."]));
    assert_eq!(code, 1);
    assert!(
        out.starts_with("### twinform validate: 1 error, 1 warning\n\n"),
        "{out}"
    );
    assert!(
        out.contains("- `./agents.yaml:8:5` **error**: invalid agent id"),
        "{out}"
    );
    assert_eq!(out.matches("\n- ").count(), 2, "{out}");

    // A valid tree: JSON says so, with its warning.
    write_tree(
        dir.path(),
        &[("agents.yaml", "kind: Agent\nid: digest\nworkspace: Ops\n")],
    );
    let (code, out, _) = output(offline(dir.path()).args(["validate", "-o", "json", "."]));
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (v["valid"].as_bool(), v["errors"].as_u64()),
        (Some(true), Some(0))
    );
}

#[test]
fn plan_reports_invalid_manifests_in_its_machine_forms() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), BROKEN);
    // `-o json`: the problems document on stdout, nothing else; no request made.
    let (code, out, _) = output(offline(dir.path()).args(["plan", "-o", "json", "."]));
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["problems"].as_array().unwrap().len(), 2);
    // Annotations go to stderr: a plan's stdout is its report.
    let (code, out, err) = output(offline(dir.path()).args([
        "plan",
        "-o",
        "markdown",
        "--annotations",
        "github",
        ".",
    ]));
    assert_eq!(code, 1);
    assert!(!out.contains("::error"), "{out}");
    assert!(
        err.lines()
            .any(|l| l.starts_with("::error file=./agents.yaml,line=8,col=5")),
        "{err}"
    );
}

#[test]
fn show_refuses_a_file_too_large_to_be_a_plan_without_reading_it() {
    let dir = tempfile::tempdir().unwrap();
    let f = std::fs::File::create(dir.path().join("huge.json")).unwrap();
    // Sparse: no disk used, and twinform must not read it into memory.
    f.set_len(300 * 1024 * 1024).unwrap();
    let (code, _, err) = output(offline(dir.path()).args(["show", "huge.json"]));
    assert_eq!(code, 1);
    assert!(err.contains("too large to be a saved plan"), "{err}");
}

/// Review II 7: the manifests' warnings (a numeric day-of-week, an
/// undeclared workspace) are in `plan -o json`'s `warnings` and the
/// Markdown comment, not only on stderr; a warning of the plan itself (a
/// schedule Twin paused) is a GitHub annotation too.
#[test]
fn warnings_reach_every_plan_output() {
    let twin = TestTwin::start();
    twin.store(|s| {
        let ws = common::add_workspace(s, "Live Only");
        s.create_agent(&serde_json::json!({"agent_id": "nightly", "workspace_id": ws}))
            .unwrap();
        s.put_schedule("nightly", &serde_json::json!({"cron": "0 0 2 * * * *"}))
            .unwrap();
        let sch = s.schedules.get_mut("nightly").unwrap();
        sch.paused = true;
        sch.auto_paused = true;
        sch.consecutive_failures = 3;
    });
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[(
            "agents.yaml",
            "kind: Agent\nid: nightly\nworkspace: Live Only\nschedule:\n  cron: \"0 0 2 * * * *\"\n---\nkind: Agent\nid: weekly\nworkspace: Live Only\nschedule:\n  cron: \"0 0 9 * * 2 *\"\n",
        )],
    );
    let (code, out, err) = output(twin.cmd(dir.path()).args(["plan", "-o", "json", "."]));
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let warnings: Vec<&str> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w.as_str())
        .collect();
    let has = |s: &str| warnings.iter().any(|w| w.contains(s));
    assert!(
        has("./agents.yaml:11:9: day-of-week `2` is numeric"),
        "{warnings:?}"
    );
    assert!(has("workspace `Live Only` is not declared"), "{warnings:?}");
    assert!(
        has("was auto-paused by Twin after 3 consecutive failures"),
        "{warnings:?}"
    );

    let (_, md, _) = output(twin.cmd(dir.path()).args(["plan", "-o", "markdown", "."]));
    assert!(
        md.contains("> warning: ./agents.yaml:11:9: day-of-week \\`2\\`")
            || md.contains("> warning: ./agents.yaml:11:9: day-of-week &#96;2&#96; is numeric"),
        "{md}"
    );

    let (_, _, err) = output(twin.cmd(dir.path()).args([
        "plan",
        "-o",
        "markdown",
        "--annotations",
        "github",
        ".",
    ]));
    let annotations: Vec<&str> = err.lines().filter(|l| l.starts_with("::")).collect();
    assert!(
        annotations
            .iter()
            .any(|l| l.starts_with("::warning file=./agents.yaml,line=11,col=9,")),
        "{err}"
    );
    assert!(
        annotations.iter().any(|l| l
            .starts_with("::warning title=twinform::agent[\"nightly\"].schedule was auto-paused")),
        "{err}"
    );
}

/// Review II 14: `show` says when a saved plan was edited after it was saved.
#[test]
fn show_warns_about_an_edited_plan_file() {
    let twin = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), TREE);
    let (code, _, err) = output(twin.cmd(dir.path()).args(["plan", "--out", "p.json", "."]));
    assert_eq!(code, 0, "{err}");
    drop(twin);
    let (code, _, err) = output(offline(dir.path()).args(["show", "p.json"]));
    assert_eq!(code, 0);
    assert!(!err.contains("warning"), "an intact plan: {err}");
    let path = dir.path().join("p.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = text.replace(" to add,", " to ADD,");
    assert_ne!(edited, text);
    std::fs::write(&path, edited).unwrap();
    let (code, shown, err) = output(offline(dir.path()).args(["show", "p.json"]));
    assert_eq!(code, 0);
    assert!(shown.contains("to ADD"), "{shown}");
    assert!(
        err.contains("warning: p.json was edited after it was saved"),
        "{err}"
    );
}

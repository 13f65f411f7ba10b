//! Environments: one tree, `kind: Variables` defaults, `--var-file`
//! overrides, `${var.NAME}` in interpolated fields, identities and
//! templates; var values shown, environment values never.

mod common;

use std::path::{Path, PathBuf};

use common::{copy_dir, write_tree, TestTwin};

fn example() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/environments");
    copy_dir(&src, dir.path());
    (dir, PathBuf::from("manifests"))
}

fn run(twin: &TestTwin, dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = twin.cmd(dir).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn one_tree_applies_to_staging_and_prod_with_their_values() {
    let twin = TestTwin::start();
    let (dir, tree) = example();
    let tree = tree.to_str().unwrap();
    for env in ["staging", "prod"] {
        let file = format!("vars/{env}.yaml");
        let (code, out, err) = run(
            &twin,
            dir.path(),
            &["apply", "--auto-approve", "--var-file", &file, tree],
        );
        assert_eq!(code, 0, "{out}{err}");
        let (code, out, _) = run(
            &twin,
            dir.path(),
            &["plan", "--detailed-exitcode", "--var-file", &file, tree],
        );
        assert_eq!(code, 0, "{env} converged: {out}");
    }
    twin.store(|s| {
        let names: Vec<&str> = s.workspaces.iter().map(|w| w.name.as_str()).collect();
        assert!(
            names.contains(&"Support staging") && names.contains(&"Support prod"),
            "{names:?}"
        );
        assert_eq!(s.schedules["ticket-triage-prod"].cron, "0 */5 * * * * *");
        assert_eq!(
            s.schedules["ticket-triage-staging"].cron, "0 */15 * * * * *",
            "the default"
        );
        let prod = &s.instructions["ticket-triage-prod"].content;
        assert!(
            prod.contains("for the prod environment") && prod.contains("#support-escalations"),
            "{prod}"
        );
        assert!(!prod.contains("never email customers"));
        let staging = &s.instructions["ticket-triage-staging"].content;
        assert!(
            staging.contains("#support-staging") && staging.contains("never email customers"),
            "{staging}"
        );
    });
    // Without a var file the defaults apply: a third environment, planned in full.
    let (code, out, _) = run(&twin, dir.path(), &["plan", "--detailed-exitcode", tree]);
    assert_eq!(code, 2);
    assert!(out.contains("+ workspace[\"Support dev\"]"), "{out}");
}

#[test]
fn var_values_are_shown_and_environment_values_stay_sensitive() {
    let twin = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("vars.yaml", "kind: Variables\nvars: {env: staging, host: hooks.example.com}\n"),
            (
                "a.yaml",
                "kind: Workspace\nname: Ops ${var.env}\n---\nkind: Agent\nid: a-${var.env}\nworkspace: Ops ${var.env}\nwebhooks:\n  - url: https://${var.host}/${var.env}/${HOOK_TOKEN}\n    events: [run.failed]\n",
            ),
        ],
    );
    let out = twin
        .cmd(dir.path())
        .env("HOOK_TOKEN", "tok-0123456789-secret")
        .args(["plan", "-o", "json", "."])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("https://hooks.example.com/staging/(sensitive)"),
        "{text}"
    );
    assert!(!text.contains("tok-0123456789-secret"));
    assert!(
        text.contains("agent[\\\"a-staging\\\"]") || text.contains("a-staging"),
        "{text}"
    );
}

#[test]
fn later_var_files_win_and_problems_are_located() {
    let twin = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("tree/vars.yaml", "kind: Variables\nvars: {env: dev}\n"),
            ("tree/ws.yaml", "kind: Workspace\nname: Ops ${var.env}\n---\nkind: Workspace\nname: Ops ${var.other}\n"),
            ("one.yaml", "env: one\nother: two\n"),
            ("two.yaml", "env: two\n"),
            ("bad.yaml", "- not\n- a map\n"),
        ],
    );
    // Defined nowhere: an error at the use, file:line:col.
    let (code, _, err) = run(&twin, dir.path(), &["validate", "tree"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("variable `other` is not defined") && err.contains("ws.yaml:5:7"),
        "{err}"
    );
    // Set by one file: two different names.
    let (code, out, err) = run(
        &twin,
        dir.path(),
        &["validate", "--var-file", "one.yaml", "tree"],
    );
    assert_eq!(code, 0, "{out}{err}");
    // The later file wins for `env`, which now collides with `other`:
    // duplicates are caught after substitution.
    let (code, _, err) = run(
        &twin,
        dir.path(),
        &[
            "validate",
            "--var-file",
            "one.yaml",
            "--var-file",
            "two.yaml",
            "tree",
        ],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("workspace `Ops two` is declared twice"),
        "{err}"
    );
    // A var file that is not a map is named.
    let (code, _, err) = run(
        &twin,
        dir.path(),
        &["validate", "--var-file", "bad.yaml", "tree"],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("bad.yaml") && err.contains("not a var file"),
        "{err}"
    );
    // A default set twice in the tree is an error.
    write_tree(
        dir.path(),
        &[("tree/more.yaml", "kind: Variables\nvars: {env: again}\n")],
    );
    let (code, _, err) = run(
        &twin,
        dir.path(),
        &["validate", "--var-file", "one.yaml", "tree"],
    );
    assert_eq!(code, 1);
    assert!(err.contains("variable `env` is set twice"), "{err}");
}

#[test]
fn a_saved_plan_applies_with_the_var_files_it_was_made_with() {
    let twin = TestTwin::start();
    let (dir, tree) = example();
    let tree = tree.to_str().unwrap();
    let (code, out, err) = run(
        &twin,
        dir.path(),
        &[
            "plan",
            "--var-file",
            "vars/prod.yaml",
            "--out",
            "prod.plan",
            tree,
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let (code, _, err) = run(
        &twin,
        dir.path(),
        &[
            "apply",
            "--auto-approve",
            "--var-file",
            "vars/staging.yaml",
            "prod.plan",
        ],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("--var-file cannot change a saved plan"),
        "{err}"
    );
    let (code, out, err) = run(&twin, dir.path(), &["apply", "--auto-approve", "prod.plan"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(twin.store(|s| s.agents.contains_key("ticket-triage-prod")));
    assert!(!twin.store(|s| s.agents.contains_key("ticket-triage-dev")));
}

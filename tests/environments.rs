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

/// A tree whose prod var file misspells `triage_every_minutes`.
fn misspelt_var_file(dir: &Path) {
    write_tree(
        dir,
        &[
            (
                "tree/vars.yaml",
                "kind: Variables\nvars:\n  env: dev\n  triage_every_minutes: 15\n  pager: none\n",
            ),
            (
                "tree/agents.yaml",
                "kind: Workspace\nname: Support ${var.env}\n---\nkind: Agent\nid: triage-${var.env}\nworkspace: Support ${var.env}\ninstructions: {template: triage.md.j2}\nschedule: {cron: \"0 */${var.triage_every_minutes} * * * * *\"}\n",
            ),
            // `pager` is used only in a branch staging does not take: still used.
            (
                "tree/triage.md.j2",
                "Triage tickets.{% if var.env == \"prod\" %} Page {{ var.pager }}.{% endif %}\n",
            ),
            ("vars/prod.yaml", "env: prod\ntriage_every_minute: 5\n"),
            ("vars/staging.yaml", "env: staging\npager: \"#oncall\"\n"),
        ],
    );
}

/// Trust II item 18: a var-file key that no manifest uses is a warning at
/// its line:col with a did-you-mean, in every output format (validate's
/// text, JSON, Markdown and GitHub annotations; the plan's warnings in
/// text, JSON and Markdown); `--strict-vars` makes it an error, and an
/// apply then writes nothing.
#[test]
fn a_var_file_key_no_manifest_uses_is_a_located_warning_in_every_format() {
    let twin = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    misspelt_var_file(dir.path());
    let at = "vars/prod.yaml:2:1";
    let said = "variable `triage_every_minute` is set by this var file, but no manifest uses it";
    let hint = "did you mean `triage_every_minutes`?";
    let prod = ["--var-file", "vars/prod.yaml", "tree"];
    fn with<'a>(args: &[&'a str], prod: &[&'a str]) -> Vec<&'a str> {
        [args, prod].concat()
    }

    let (code, out, err) = run(&twin, dir.path(), &with(&["validate"], &prod));
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains(said) && err.contains(at) && err.contains(hint),
        "{err}"
    );
    assert!(err.contains("1 warning"), "only the misspelt key: {err}");

    let (code, out, _) = run(&twin, dir.path(), &with(&["validate", "-o", "json"], &prod));
    assert_eq!(code, 0);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let problems = doc["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{out}");
    assert_eq!(problems[0]["severity"], "warning");
    assert_eq!(problems[0]["message"], said);
    assert_eq!(problems[0]["position"]["file"], "vars/prod.yaml");
    assert_eq!(problems[0]["position"]["line"], 2);
    assert_eq!(problems[0]["position"]["column"], 1);
    assert!(problems[0]["help"].as_str().unwrap().contains(hint));

    let (_, out, _) = run(
        &twin,
        dir.path(),
        &with(&["validate", "-o", "markdown"], &prod),
    );
    assert!(out.contains(&format!("`{at}` **warning**")), "{out}");
    let (_, out, _) = run(
        &twin,
        dir.path(),
        &with(&["validate", "--annotations", "github"], &prod),
    );
    assert!(
        out.contains("::warning file=vars/prod.yaml,line=2,col=1,"),
        "{out}"
    );

    for format in ["json", "markdown", "text"] {
        let (code, out, err) = run(&twin, dir.path(), &with(&["plan", "-o", format], &prod));
        assert_eq!(code, 0, "{err}");
        assert!(
            out.contains(&format!("{at}: ")) && out.contains("triage"),
            "plan -o {format}: {out}"
        );
    }
    // The staging file uses every key it sets.
    let (code, _, err) = run(
        &twin,
        dir.path(),
        &["validate", "--var-file", "vars/staging.yaml", "tree"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("no manifest uses"), "{err}");

    for cmd in [
        &["validate"][..],
        &["plan"],
        &["drift"],
        &["apply", "--auto-approve"],
    ] {
        let (code, out, err) = run(
            &twin,
            dir.path(),
            &with(&[cmd, &["--strict-vars"]].concat(), &prod),
        );
        assert_eq!(code, 1, "{cmd:?} --strict-vars: {out}{err}");
        assert!(err.contains(said) && err.contains(at), "{err}");
    }
    assert_eq!(twin.writes(), 0, "a strict apply wrote");
}

/// Trust II item 18, for the tree's own defaults: a `kind: Variables`
/// default that nothing uses is dead configuration (often a rename's
/// leftover), so it is reported the same way, at its key.
#[test]
fn a_default_nothing_uses_is_a_warning_at_its_key() {
    let twin = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[(
            "a.yaml",
            "kind: Variables\nvars:\n  env: dev\n  old_name: x\n---\nkind: Workspace\nname: Ops ${var.env}\n",
        )],
    );
    let (code, _, err) = run(&twin, dir.path(), &["validate", "."]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("variable `old_name` has a default, but no manifest uses it")
            && err.contains("a.yaml:4:3"),
        "{err}"
    );
    let (code, _, _) = run(&twin, dir.path(), &["validate", "--strict-vars", "."]);
    assert_eq!(code, 1);
}

/// Trust II item 19: `validate` (a pre-commit hook, a fork's pull request)
/// checks a tree whose environment variables are not set, each as an
/// unknown value with a located warning naming it; `plan` and `apply` still
/// require them, and nothing is written.
#[test]
fn validate_checks_unset_environment_variables_as_unknown_and_plan_requires_them() {
    let twin = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[(
            "a.yaml",
            "kind: Workspace\nname: Ops\n---\nkind: Agent\nid: a\nworkspace: Ops\ninstructions: \"Post to Slack with ${SLACK_TOKEN}.\"\nwebhooks:\n  - url: ${SLACK_WEBHOOK_URL}\n    events: [run.failed]\n---\nkind: Agent\nid: b\nworkspace: Ops\ninstructions: \"Also ${SLACK_TOKEN}.\"\n",
        )],
    );
    let unset = |args: &[&str]| {
        let out = twin
            .cmd(dir.path())
            .env_remove("SLACK_TOKEN")
            .env_remove("SLACK_WEBHOOK_URL")
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, _, err) = unset(&["validate", "."]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("valid: 1 workspace, 2 agents, 2 warnings"),
        "{err}"
    );
    assert!(
        err.contains("environment variable `SLACK_TOKEN` is not set: checked as an unknown value")
            && err.contains("a.yaml:7:15")
            && err.contains("used in 1 more place"),
        "{err}"
    );
    assert!(err.contains("a.yaml:9:10"), "the whole-URL variable: {err}");
    let (code, out, _) = unset(&["validate", "-o", "json", "."]);
    assert_eq!(code, 0);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["valid"], true);
    assert_eq!(doc["warnings"], 2);
    assert!(
        !out.contains("unknown.invalid"),
        "the stand-in shows: {out}"
    );

    for cmd in [&["plan", "."][..], &["apply", "--auto-approve", "."]] {
        let (code, out, err) = unset(cmd);
        assert_eq!(code, 1, "{cmd:?}: {out}{err}");
        assert!(
            err.contains("environment variable `SLACK_TOKEN` is not set")
                && !err.contains("checked as an unknown value"),
            "{err}"
        );
    }
    assert_eq!(twin.writes(), 0);
}

/// Trust II item 18: what counts as a use. A template names variables as
/// `var.NAME` (in any branch) or takes `var` whole (every variable counts);
/// `${var.NAME:-default}` uses NAME whether or not it is set.
#[test]
fn templates_and_defaults_count_as_uses() {
    let twin = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    let tree = |template: &str| {
        write_tree(
            dir.path(),
            &[
                ("tree/vars.yaml", "kind: Variables\nvars: {a: 1, b: 2}\n"),
                (
                    "tree/agents.yaml",
                    "kind: Workspace\nname: Ops ${var.region:-eu}\n---\nkind: Agent\nid: x\nworkspace: Ops ${var.region:-eu}\ninstructions: {template: t.md.j2}\n",
                ),
                ("tree/t.md.j2", template),
                ("region.yaml", "region: us\n"),
            ],
        );
        run(
            &twin,
            dir.path(),
            &["validate", "--var-file", "region.yaml", "tree"],
        )
    };
    let (code, _, err) = tree("{% for k in var %}{{ k }} {% endfor %}\n");
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("no manifest uses"), "{err}");
    let (code, _, err) = tree("{{ var.a }}{% if false %}{{ var.b }}{% endif %}\n");
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("no manifest uses"), "{err}");
    let (code, _, err) = tree("{{ var.a }}\n");
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("variable `b` has a default, but no manifest uses it")
            && !err.contains("`a` has a default")
            && !err.contains("`region`"),
        "{err}"
    );
    // Attack review F9: a literal subscript names one variable; it does not
    // silence the check for the others.
    let (code, _, err) = tree("{{ var[\"a\"] }}\n");
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("variable `b` has a default, but no manifest uses it")
            && !err.contains("`a` has a default"),
        "{err}"
    );
}

//! Prompt templates: includes of shared fragments, variables, errors at the
//! template's own line, confinement, and plans that say which fragment a
//! change comes from.

mod common;

use common::{write_tree, TestTwin};

const TREE: &[(&str, &str)] = &[
    ("ws.yaml", "kind: Workspace\nname: Ops\n"),
    (
        "agents.yaml",
        "kind: Agent
id: digest
workspace: Ops
instructions: {template: prompts/digest.md.j2, vars: {tone: friendly, topics: [sales, support]}}
---
kind: Agent
id: triage
workspace: Ops
instructions: {template: prompts/triage.md.j2}
",
    ),
    (
        "prompts/digest.md.j2",
        "Write the daily digest in a {{ tone }} tone.\n{% for t in topics %}- {{ t }}\n{% endfor %}\n{% include \"fragments/rules.md\" %}",
    ),
    ("prompts/triage.md.j2", "Sort incoming tickets.\n\n{% include \"fragments/rules.md\" %}"),
    ("fragments/rules.md", "Rules:\n- Be concise.\n"),
];

fn run(twin: &TestTwin, dir: &std::path::Path, args: &[&str]) -> (i32, String) {
    let out = twin.cmd(dir).args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// Write `template` as the triage prompt and validate: it must fail; the output.
fn invalid_with(twin: &TestTwin, dir: &std::path::Path, template: &str) -> String {
    write_tree(dir, &[("prompts/triage.md.j2", template)]);
    let (code, out) = run(twin, dir, &["validate", "."]);
    assert_eq!(code, 1, "{out}");
    out
}

#[test]
fn templates_render_with_vars_and_shared_fragments() {
    let twin = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), TREE);
    let (code, out) = run(&twin, dir.path(), &["apply", "--auto-approve", "."]);
    assert_eq!(code, 0, "{out}");
    let digest = twin.store(|s| s.instructions["digest"].content.clone());
    assert_eq!(
        digest,
        "Write the daily digest in a friendly tone.\n- sales\n- support\n\nRules:\n- Be concise.\n"
    );
    let (code, _) = run(&twin, dir.path(), &["plan", "--detailed-exitcode", "."]);
    assert_eq!(code, 0, "converged");

    // One shared fragment changes: every agent including it changes, and
    // the plan says the fragment is why.
    write_tree(
        dir.path(),
        &[(
            "fragments/rules.md",
            "Rules:\n- Be concise.\n- Cite sources.\n",
        )],
    );
    let (code, out) = run(&twin, dir.path(), &["plan", "--detailed-exitcode", "."]);
    assert_eq!(code, 2, "{out}");
    assert_eq!(
        out.matches("from fragment fragments/rules.md").count(),
        2,
        "{out}"
    );
    assert!(out.contains("+- Cite sources."), "{out}");
    // A change in the template itself names no fragment.
    write_tree(
        dir.path(),
        &[("fragments/rules.md", "Rules:\n- Be concise.\n")],
    );
    write_tree(
        dir.path(),
        &[(
            "prompts/triage.md.j2",
            "Sort incoming tickets by urgency.\n\n{% include \"fragments/rules.md\" %}",
        )],
    );
    let (_, out) = run(&twin, dir.path(), &["plan", "."]);
    assert!(
        out.contains("rendered from prompts/triage.md.j2") && !out.contains("from fragment"),
        "{out}"
    );
}

#[test]
fn a_template_error_is_reported_at_the_template_line() {
    let twin = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), TREE);
    let out = invalid_with(
        &twin,
        dir.path(),
        "Sort incoming tickets.\n\nUrgency: {{ urgency }}\n",
    );
    assert!(
        out.contains("prompts/triage.md.j2:3:") && out.contains("template error"),
        "{out}"
    );
    // An unknown include is an error too, in the including template.
    let out = invalid_with(
        &twin,
        dir.path(),
        "Sort.\n{% include \"fragments/nope.md\" %}",
    );
    assert!(out.contains("prompts/triage.md.j2:2:"), "{out}");
}

#[test]
fn includes_cannot_leave_the_manifest_root() {
    let twin = TestTwin::start();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "TOP SECRET").unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), TREE);
    let escape = format!(
        "{{% include \"../{}/secret.txt\" %}}",
        outside.path().file_name().unwrap().to_string_lossy()
    );
    write_tree(dir.path(), &[("prompts/triage.md.j2", &escape)]);
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        outside.path().join("secret.txt"),
        dir.path().join("fragments/link.md"),
    )
    .unwrap();
    let (code, out) = run(&twin, dir.path(), &["validate", "."]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("outside the manifest root") && !out.contains("TOP SECRET"),
        "{out}"
    );
    #[cfg(unix)]
    {
        let out = invalid_with(&twin, dir.path(), "{% include \"fragments/link.md\" %}");
        assert!(
            out.contains("outside the manifest root") && !out.contains("TOP SECRET"),
            "{out}"
        );
    }
}

#[test]
fn a_hostile_template_stops_with_an_error_not_a_hang() {
    let twin = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), TREE);
    // Nested loops: billions of iterations without the fuel limit.
    let out = invalid_with(&twin, dir.path(), "{% for a in range(10000) %}{% for b in range(10000) %}{% for c in range(10000) %}x{% endfor %}{% endfor %}{% endfor %}");
    assert!(
        out.contains("prompts/triage.md.j2") && out.contains("template error"),
        "{out}"
    );
    // A render larger than any text may be is refused too.
    let out = invalid_with(
        &twin,
        dir.path(),
        "{% for a in range(3000) %}{{ 'x' * 3000 }}{% endfor %}",
    );
    assert!(out.contains("over the 8388608-byte limit"), "{out}");
}

/// Trust II item 6: hidden files are not read by templates or `{file:}`
/// (a pull request's `{% include '.git/config' %}` would put the checkout's
/// token into the plan comment): `.git/` and `.twinform/` never, others only
/// with `--allow-hidden`. On every command that reads manifests (validate
/// and plan here; they share one loader).
#[test]
fn hidden_files_are_not_read_unless_allowed() {
    let twin = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    let token = "ghp_checkout_token_0123456789";
    write_tree(
        dir.path(),
        &[
            ("ws.yaml", "kind: Workspace\nname: Ops\n"),
            (
                ".git/config",
                &format!("[http]\n\textraheader = AUTHORIZATION: basic {token}\n"),
            ),
            (
                ".twinform/secrets.json",
                &format!("{{\"signing_secret\": \"{token}\"}}"),
            ),
            (".notes/prompt.md", "A hidden prompt.\n"),
            ("prompts/leak.md.j2", "{% include '.git/config' %}"),
            (
                "prompts/leak2.md.j2",
                "{% include '.twinform/secrets.json' %}",
            ),
        ],
    );
    let agent = |id: &str, instructions: &str| {
        format!("kind: Agent\nid: {id}\nworkspace: Ops\ninstructions: {instructions}\n")
    };
    for (instructions, refused) in [
        ("{file: .git/config}", "`.git/`, which is never read"),
        (
            "{template: prompts/leak.md.j2}",
            "`.git/`, which is never read",
        ),
        (
            "{template: prompts/leak2.md.j2}",
            "`.twinform/`, which is never read",
        ),
        ("{file: .notes/prompt.md}", "hidden file"),
    ] {
        write_tree(dir.path(), &[("a.yaml", &agent("a", instructions))]);
        for cmd in [&["validate", "."][..], &["plan", "-o", "markdown", "."]] {
            let (code, out) = run(&twin, dir.path(), cmd);
            assert_eq!(code, 1, "{instructions}: {out}");
            assert!(out.contains(refused), "{instructions}: {out}");
            assert!(!out.contains(token), "{instructions}: {out}");
        }
        // Allowing `.git` does not open it.
        let (code, out) = run(
            &twin,
            dir.path(),
            &[
                "validate",
                "--allow-hidden",
                ".git",
                "--allow-hidden",
                ".twinform",
                ".",
            ],
        );
        if refused.contains("never") {
            assert_eq!(code, 1, "{out}");
            assert!(!out.contains(token), "{out}");
        }
    }
    let (code, out) = run(
        &twin,
        dir.path(),
        &["validate", "--allow-hidden", ".notes", "."],
    );
    assert_eq!(code, 0, "an allowed hidden folder is read: {out}");
    // A saved plan records what it was allowed to read, and applies with it.
    let (code, out) = run(
        &twin,
        dir.path(),
        &["plan", "--allow-hidden", ".notes", "--out", "p.json", "."],
    );
    assert_eq!(code, 0, "{out}");
    let (code, out) = run(&twin, dir.path(), &["apply", "--auto-approve", "p.json"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = run(
        &twin,
        dir.path(),
        &["apply", "--auto-approve", "--allow-hidden", ".x", "p.json"],
    );
    assert_eq!(code, 1, "a saved plan is applied as it was made: {out}");
}

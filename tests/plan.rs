//! `plan`: golden snapshots of every rule in text, JSON and Markdown; the
//! read-call formula; no writes; secrets redacted in every format.

mod common;
mod emu;

use common::{scenario_store, write_tree, TestTwin, HOOK_TOKEN, SCENARIO};
use twinform::cli::FaultArgs;

/// Replace what varies run to run: the timing in the header line and the
/// next fire times of schedules (relative to now).
fn stable(text: &str) -> String {
    text.lines()
        .map(|l| match (l.find("read in "), l.find(" s (")) {
            (Some(a), Some(b)) if b > a => format!("{}read in X{}", &l[..a], &l[b..]),
            _ => match l.find("next: ") {
                Some(at) => {
                    let rest = &l[at + 6..];
                    let times = rest
                        .find(|c: char| !(c.is_ascii_digit() || " -:,UTC".contains(c)))
                        .unwrap_or(rest.len());
                    format!("{}next: (fire times){}", &l[..at], &rest[times..])
                }
                None => l.to_string(),
            },
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn scenario() -> (TestTwin, tempfile::TempDir) {
    let twin = TestTwin::with(FaultArgs::default(), scenario_store());
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), SCENARIO);
    (twin, dir)
}

fn plan(twin: &TestTwin, dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = twin
        .cmd(dir)
        .arg("plan")
        .args(args)
        .arg(".")
        .env("HOOK_TOKEN", HOOK_TOKEN)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn text_plan_covers_every_rule() {
    let (twin, dir) = scenario();
    let (code, out, err) = plan(&twin, dir.path(), &["--detailed-exitcode"]);
    assert_eq!(code, 2, "{err}");
    for expected in [
        "+ workspace[\"Research\"]",
        "~ workspace[\"Renamed\"]",
        "→ agent[\"lead-scout\"]",
        "-/+ agent[\"summariser\"]",
        "- agent[\"legacy-triage\"]",
        "changed outside git: builder by ana@example.com, 2026-11-20T09:14:00Z",
        "-Summarise them in five bullet points.",
        "+Summarise them in at most five bullet points,",
        "https://hooks.example.com/twin/(sensitive)",
        "auto-paused by Twin after 5 consecutive failures",
        "unmanaged: 1 live agent that no manifest declares",
        "next: ",
        "Plan: ",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
    assert!(
        !out.contains("newline-only"),
        "a trailing newline is not a change:\n{out}"
    );
    insta::assert_snapshot!("plan-text", stable(&out));
}

#[test]
fn json_plan_is_the_documented_document() {
    let (twin, dir) = scenario();
    let (code, out, err) = plan(&twin, dir.path(), &["-o", "json", "--detailed-exitcode"]);
    assert_eq!(code, 2, "{err}");
    let v: serde_json::Value =
        serde_json::from_str(&out).expect("the whole JSON is printed before exit 2");
    assert_eq!(v["format_version"], "1");
    let changes = v["changes"].as_array().unwrap();
    let find = |addr: &str| {
        changes
            .iter()
            .find(|c| c["address"] == addr)
            .unwrap_or_else(|| panic!("no {addr}"))
    };
    assert_eq!(find("agent[\"summariser\"]")["action"], "replace");
    assert_eq!(find("agent[\"summariser\"]")["destructive"], true);
    assert_eq!(
        find("agent[\"lead-scout\"]")["depends_on"],
        serde_json::json!(["workspace[\"Research\"]"])
    );
    assert_eq!(
        find("agent[\"fresh\"].instructions")["depends_on"],
        serde_json::json!(["agent[\"fresh\"]"])
    );
    assert_eq!(find("agent[\"legacy-triage\"]")["action"], "delete");
    assert_eq!(
        find("agent[\"daily-digest\"].instructions")["drift"]["source_type"],
        "builder"
    );
    // the duplicate live webhook with one URL is deleted, the other kept
    let dupes: Vec<_> = changes
        .iter()
        .filter(|c| c["address"].as_str().unwrap().contains("keep.example.com"))
        .collect();
    assert_eq!(dupes.len(), 1);
    assert_eq!(dupes[0]["action"], "delete");
    let summary = &v["summary"];
    let (a, c, d) = (
        summary["add"].as_u64().unwrap(),
        summary["change"].as_u64().unwrap(),
        summary["destroy"].as_u64().unwrap(),
    );
    assert!(a > 0 && c > 0 && d > 0);
    assert_eq!(v["unmanaged"], serde_json::json!(["agent[\"scratch\"]"]));
    insta::assert_snapshot!("plan-json", stable(&out));
}

/// The Markdown with fenced code blocks removed (inside them, GitHub shows text as is).
fn outside_fences(md: &str) -> String {
    let mut out = String::new();
    let mut fence: Option<String> = None;
    for line in md.lines() {
        let ticks: String = line.chars().take_while(|c| *c == '`').collect();
        match &fence {
            Some(f) if line.trim_end() == f => fence = None,
            Some(_) => {}
            None if ticks.len() >= 3 => fence = Some(ticks),
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

#[test]
fn markdown_plan_is_safe_to_post() {
    let (twin, dir) = scenario();
    let (code, out, _) = plan(&twin, dir.path(), &["-o", "markdown"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("<!-- twinform-plan -->"));
    assert!(
        !outside_fences(&out).contains("<script>"),
        "HTML from a prompt got through outside a code block"
    );
    assert_eq!(
        outside_fences(&out).matches("</details>").count(),
        out.matches("<details>").count(),
        "a prompt closed a <details>"
    );
    // The prompt's ``` cannot close the fence: the fence is longer than any backtick run in it.
    assert!(out.contains("````diff"), "{out}");
    insta::assert_snapshot!("plan-markdown", stable(&out));
}

#[test]
fn plans_never_write_and_read_by_the_formula() {
    let (twin, dir) = scenario();
    let before_reads = twin.reads();
    let (_, out, _) = plan(&twin, dir.path(), &["-o", "json"]);
    assert_eq!(twin.writes(), 0, "a plan wrote");
    // workspaces 1 + agents 1 page + schedules 1 + instructions for live agents managing them
    // (daily-digest, newline-only) + webhooks (daily-digest) + history for drifted ones (daily-digest).
    let expected = 1 + 1 + 1 + 2 + 1 + 1;
    assert_eq!(twin.reads() - before_reads, expected, "{out}");
}

#[test]
fn read_formula_at_200_agents_and_no_op_is_zero_writes() {
    let twin = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    let mut docs = vec!["kind: Workspace\nname: Bulk\n".to_string()];
    for i in 0..200 {
        let mut d =
            format!("kind: Agent\nid: bulk-{i:03}\nworkspace: Bulk\ninstructions: \"Agent {i}\"\n");
        if i % 2 == 0 {
            d.push_str("schedule:\n  cron: \"0 0 9 * * * *\"\n");
        }
        if i % 4 == 0 {
            d.push_str("webhooks:\n  - url: https://h.example/bulk\n    events: [run.failed]\n");
        }
        docs.push(d);
    }
    std::fs::write(dir.path().join("bulk.yaml"), docs.join("---\n")).unwrap();
    // From nothing: 3 reads (no agent exists yet, so no per-agent reads).
    let reads0 = twin.reads();
    twin.cmd(dir.path()).args(["plan", "."]).assert().success();
    assert_eq!(twin.reads() - reads0, 3);
    twin.cmd(dir.path())
        .args(["apply", "--auto-approve", "--max-destroy", "0", "."])
        .assert()
        .success();
    let writes = twin.writes();
    assert_eq!(
        writes,
        1 + 200 + 200 + 100 + 50,
        "workspace + agents + instructions + schedules + webhooks"
    );
    // Now every agent exists: 1 + ceil(200/200) page + 1 + 200 instructions + 50 webhooks.
    let reads1 = twin.reads();
    twin.cmd(dir.path())
        .args(["plan", "--detailed-exitcode", "."])
        .assert()
        .code(0);
    assert_eq!(twin.reads() - reads1, 1 + 1 + 1 + 200 + 50);
    twin.cmd(dir.path())
        .args(["apply", "--auto-approve", "."])
        .assert()
        .success();
    assert_eq!(twin.writes(), writes, "a no-op apply wrote");
}

#[test]
fn secrets_are_redacted_in_every_format_and_the_saved_plan() {
    let (twin, dir) = scenario();
    let mut all = String::new();
    for format in ["text", "json", "markdown"] {
        let (_, out, err) = plan(
            &twin,
            dir.path(),
            &["-v", "-o", format, "--out", "saved.json"],
        );
        all.push_str(&out);
        all.push_str(&err);
        all.push_str(&std::fs::read_to_string(dir.path().join("saved.json")).unwrap());
    }
    assert!(all.contains("(sensitive)"));
    assert!(!all.contains(HOOK_TOKEN), "the interpolated value leaked");
    assert!(!all.contains(common::KEY), "the API key leaked");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("saved.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn target_narrows_to_an_agent_and_its_dependencies() {
    let (twin, dir) = scenario();
    let (_, out, _) = plan(&twin, dir.path(), &["-o", "json", "--target", "fresh"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut addrs: Vec<&str> = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["address"].as_str().unwrap())
        .collect();
    addrs.sort();
    assert_eq!(
        addrs,
        vec![
            "agent[\"fresh\"]",
            "agent[\"fresh\"].instructions",
            "agent[\"fresh\"].schedule",
            "agent[\"fresh\"].webhook[\"https://fresh.example.com/hook\"]",
            "workspace[\"Research\"]",
        ]
    );
}

#[test]
fn two_live_workspaces_with_one_name_stop_the_plan() {
    let twin = TestTwin::start();
    twin.store(|s| {
        s.create_workspace(&serde_json::json!({"name": "Twice"}))
            .unwrap();
        s.create_workspace(&serde_json::json!({"name": "Twice"}))
            .unwrap();
    });
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.yaml"), "kind: Workspace\nname: Twice\n").unwrap();
    let out = twin.cmd(dir.path()).args(["plan", "."]).assert().code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("m.yaml:1:7: workspace[\"Twice\"]: two live workspaces are named `Twice` (ws_000002, ws_000003)"),
        "{err}"
    );
}

/// A plan-time problem is located like a load-time one: the place of the
/// resource it is about comes first (`m.yaml:5:7: workspace["Gone"] pins id …`, at its `kind`),
/// on every provider, in text and JSON.
#[test]
fn plan_time_problems_carry_the_place_of_their_resource() {
    let twin = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("m.yaml"),
        "kind: Workspace\nname: Ops\n---\n# pinned\nkind: Workspace\nname: Gone\nid: ws_999999\n",
    )
    .unwrap();
    for format in ["text", "json"] {
        let out = twin
            .cmd(dir.path())
            .args(["plan", "-o", format, "."])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            all.contains("m.yaml:5:7: workspace[\\\"Gone\\\"] pins id `ws_999999`")
                || all.contains("m.yaml:5:7: workspace[\"Gone\"] pins id `ws_999999`"),
            "{format}: {all}"
        );
    }

    use twinform::providers::twig::emulator::{start_with, Store};
    let twig = emu::Emu::start(
        |l, s, f, st| async move { start_with(l, s, &f, st).await },
        Store::default(),
        "TWIG",
    );
    std::fs::write(
        dir.path().join("m.yaml"),
        "kind: TwigAgent\nname: Helper\nid: agent_missing\nsystem_prompt: hi\n",
    )
    .unwrap();
    let (code, all) = twig.run(dir.path(), &["plan", "."], &[]);
    assert_eq!(code, Some(1), "{all}");
    assert!(
        all.contains("m.yaml:1:7: twig.agent[\"Helper\"] pins id `agent_missing`"),
        "{all}"
    );
}

/// Review: a resource whose identity is built from `${var.…}` is located
/// too (its address was looked up with the placeholder, so never found).
#[test]
fn plan_time_problems_of_a_var_built_identity_carry_its_place() {
    let twin = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("m.yaml"),
        "kind: Variables\nvars:\n  env: prod\n---\nkind: Workspace\nname: Ops-${var.env}\nid: ws_999999\n",
    )
    .unwrap();
    let out = twin.cmd(dir.path()).args(["plan", "."]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let all = String::from_utf8_lossy(&out.stderr);
    assert!(
        all.contains("m.yaml:5:7: workspace[\"Ops-prod\"] pins id `ws_999999`"),
        "{all}"
    );
}

#[test]
fn drift_reports_and_exits_2() {
    let (twin, dir) = scenario();
    let out = twin
        .cmd(dir.path())
        .args(["drift", "."])
        .env("HOOK_TOKEN", HOOK_TOKEN)
        .assert()
        .code(2);
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(text.starts_with("Drift: "), "{text}");
    assert!(text.contains("changed outside git: builder"), "{text}");
}

#[test]
fn workspace_narrowing_keeps_prune_deletions_and_reads_only_that_workspace() {
    let (twin, dir) = scenario();
    twin.shared.stats.reset();
    let (code, out, err) = plan(&twin, dir.path(), &["-o", "json", "--workspace", "Support"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut addrs: Vec<&str> = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["address"].as_str().unwrap())
        .collect();
    addrs.sort();
    assert_eq!(
        addrs,
        vec![
            "agent[\"legacy-triage\"]",
            "agent[\"nightly\"].schedule",
            "agent[\"unscheduled\"].schedule",
        ]
    );
    // 1 workspaces + 1 page of Support's agents + 1 schedules + 1 instructions
    // (newline-only); nothing of the other workspaces.
    assert_eq!(twin.reads(), 4, "{}", twin.shared.stats.to_json());
    assert_eq!(
        twin.shared.stats.count("GET", "/v1/agents"),
        1,
        "agents were not listed by workspace"
    );
}

#[test]
fn a_workspace_narrowed_plan_still_moves_an_agent_in_from_elsewhere() {
    let (twin, dir) = scenario();
    // lead-scout lives in Growth and is declared in Research.
    let (code, out, err) = plan(
        &twin,
        dir.path(),
        &["-o", "json", "--workspace", "Research"],
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let scout = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == "agent[\"lead-scout\"]")
        .expect("no change for lead-scout");
    assert_eq!(scout["action"], "move");
}

#[test]
fn unknown_targets_and_workspaces_are_errors_with_suggestions() {
    let (twin, dir) = scenario();
    let (code, out, err) = plan(&twin, dir.path(), &["--workspace", "Suport"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        err.contains(r#"--workspace "Suport": no such workspace (did you mean "Support"?)"#),
        "{err}"
    );
    let (code, _, err) = plan(&twin, dir.path(), &["--target", "dialy-digest"]);
    assert_eq!(code, 1);
    assert!(
        err.contains(r#"did you mean agent["daily-digest"]?"#),
        "{err}"
    );
    let (code, _, err) = plan(
        &twin,
        dir.path(),
        &["--target", r#"agent["daily-digest"].schedule"#],
    );
    assert_eq!(code, 0, "{err}");
    // A saved plan applies exactly what was reviewed: narrowing it is refused.
    let (code, _, err) = plan(&twin, dir.path(), &["--out", "p.json"]);
    assert_eq!(code, 0, "{err}");
    let out = twin
        .cmd(dir.path())
        .args(["apply", "p.json", "--target", "fresh"])
        .env("HOOK_TOKEN", common::HOOK_TOKEN)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot narrow a saved plan"));
    assert_eq!(twin.writes(), 0);
}

#[test]
fn webhook_urls_match_modulo_host_case_and_default_port() {
    let twin = TestTwin::start();
    twin.store(|s| {
        s.create_agent(&serde_json::json!({"agent_id": "a"}))
            .unwrap();
        s.create_webhook(
            "a",
            &serde_json::json!({"url": "https://h.example.com/Hook", "events": ["run.failed"]}),
        )
        .unwrap();
    });
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("m.yaml"),
        "kind: Agent\nid: a\nworkspace: My Workspace\nwebhooks:\n  - url: HTTPS://H.EXAMPLE.COM:443/Hook\n    events: [run.failed]\n",
    )
    .unwrap();
    let (code, out, err) = plan(&twin, dir.path(), &["--detailed-exitcode"]);
    assert_eq!(
        code, 0,
        "a replace (and a new signing secret) was planned:\n{out}{err}"
    );
}

#[test]
fn drift_attribution_does_not_blame_an_unknown_source_for_twinforms_own_text() {
    let twin = TestTwin::start();
    let sha = "0123456789abcdef0123456789abcdef01234567";
    twin.store(|s| {
        for id in ["own", "unknown"] {
            s.create_agent(&serde_json::json!({"agent_id": id}))
                .unwrap();
            s.put_instructions(id, &serde_json::json!({"content": "live text"}))
                .unwrap();
            // A server that keeps source_id but drops source_type.
            for v in s.history.get_mut(id).unwrap() {
                v.source_type = None;
                v.source_id = (id == "own").then(|| sha.to_string());
            }
        }
    });
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("m.yaml"),
        "kind: Agent\nid: own\nworkspace: My Workspace\ninstructions: new text\n---\nkind: Agent\nid: unknown\nworkspace: My Workspace\ninstructions: new text\n",
    )
    .unwrap();
    let (_, out, _) = plan(&twin, dir.path(), &[]);
    assert!(!out.contains("unknown source"), "{out}");
    assert!(out.contains("(last set by twinform"), "{out}");
    // Said once, with the account it acted for (Review II 14).
    assert!(!out.contains("by twinform by"), "{out}");
    assert!(out.contains("the server does not say by what"), "{out}");
    assert!(!out.contains("changed outside git"), "{out}");
}

/// Review II 9: a one-word change in a long prompt line is highlighted
/// word by word in the terminal and marked in Markdown; text with an
/// interpolated value stays masked, and a masked side is never marked.
#[test]
fn a_changed_word_in_a_long_prompt_line_stands_out() {
    let twin = TestTwin::start();
    let line = |n: &str| {
        format!("Read every unread email from the last 24 hours, then summarise them in {n} bullet points, most urgent first, and never reply on the user's behalf.")
    };
    let hooked =
        |n: &str| format!("Post {n} items to the hook with token ${{HOOK_TOKEN}} every morning.");
    twin.store(|s| {
        for (id, text) in [
            ("digest", line("five")),
            (
                "hooked",
                hooked("five").replace("${HOOK_TOKEN}", HOOK_TOKEN),
            ),
        ] {
            s.create_agent(&serde_json::json!({"agent_id": id}))
                .unwrap();
            s.put_instructions(id, &serde_json::json!({"content": format!("{text}\n")}))
                .unwrap();
        }
    });
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("m.yaml"),
        format!(
            "kind: Agent\nid: digest\nworkspace: My Workspace\ninstructions: \"{}\"\n---\nkind: Agent\nid: hooked\nworkspace: My Workspace\ninstructions: \"{}\"\n",
            line("seven"),
            hooked("seven")
        ),
    )
    .unwrap();
    let out = twin
        .cmd(dir.path())
        .args(["plan", "."])
        .env("HOOK_TOKEN", HOOK_TOKEN)
        .env_remove("NO_COLOR")
        .env("CLICOLOR_FORCE", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains(HOOK_TOKEN), "{text}");
    // The changed words in reverse video, the rest of the line plain colour.
    assert!(
        text.contains("summarise them in \u{1b}[0m\u{1b}[7;31mfive\u{1b}[0m\u{1b}[31m bullet"),
        "{text:?}"
    );
    assert!(text.contains("\u{1b}[7;32mseven\u{1b}[0m"), "{text:?}");
    assert_eq!(
        text.matches("\u{1b}[7;3").count(),
        2,
        "only digest's words: {text:?}"
    );
    let (_, md, _) = plan(&twin, dir.path(), &["-o", "markdown"]);
    assert!(
        md.contains("summarise them in [-five-] bullet points"),
        "{md}"
    );
    assert!(
        md.contains("summarise them in {+seven+} bullet points"),
        "{md}"
    );
    assert!(!md.contains(HOOK_TOKEN), "{md}");
    assert_eq!(md.matches("{+").count(), 1, "{md}");
    // JSON's diff stays a plain unified diff.
    let (_, json, _) = plan(&twin, dir.path(), &["-o", "json"]);
    assert!(!json.contains("{+") && !json.contains("[-"), "{json}");
}

//! `twinform pull`: drift made through the API for every managed field kind
//! is written back into the manifests at its span (comments and layout
//! kept, prompt files byte for byte), after which the plan is empty;
//! templated and interpolated fields are never overwritten.

mod common;

use std::path::Path;

use common::{write_tree, TestTwin};
use twinform::providers::twin::wire::{PatchWebhook, PutInstructions};

const WS: &str = "# The ops team's workspace.\nkind: Workspace\nname: Ops\nicon: '{\"emoji\":\"gear\"}'   # shown in the sidebar\n---\nkind: Workspace\nname: Other\n";

const AGENTS: &str = "# Agents of the ops team.
kind: Agent
id: digest
workspace: Ops
instructions: |   # reviewed by the ops leads
  Summarize the day.
  Keep it short.
schedule:
  cron: \"0 0 9 * * MON-FRI *\"   # weekday mornings
  paused: false
webhooks:
  - url: https://hooks.example.com/digest
    events: [run.failed]
  - url: https://hooks.example.com/digest-all
    events:
      - run.completed
      - run.failed
---
kind: Agent
id: triage
workspace: Ops
instructions: {file: prompts/triage.md}
---
kind: Agent
id: templated
workspace: Ops
instructions: {template: prompts/t.md.j2}
schedule:
  cron: \"0 0 ${HOUR:-8} * * * *\"
";

const TRIAGE: &str = "Sort incoming tickets.\r\nNever close one.\r\n";

fn tree(dir: &Path) {
    write_tree(
        dir,
        &[
            ("ws.yaml", WS),
            ("agents.yaml", AGENTS),
            ("prompts/triage.md", TRIAGE),
            ("prompts/t.md.j2", "Templated {{ 1 + 1 }}.\n"),
        ],
    );
}

fn output(cmd: &mut assert_cmd::Command) -> (i32, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Drift every managed field kind through the API.
fn drift(twin: &TestTwin) {
    let c = twin.client();
    let (ops, other) = twin.store(|s| {
        let id = |n: &str| {
            s.workspaces
                .iter()
                .find(|w| w.name == n)
                .unwrap()
                .workspace_id
                .clone()
        };
        (id("Ops"), id("Other"))
    });
    twin.rt.block_on(async {
        let put = |content: &str| PutInstructions {
            content: content.into(),
            source_type: Some("builder".into()),
            source_id: None,
        };
        c.put_instructions(
            "digest",
            &put("Summarize the day.\n\nList every failed run.\n"),
        )
        .await
        .unwrap();
        c.put_instructions("triage", &put("Sort incoming tickets by urgency.\n"))
            .await
            .unwrap();
        c.put_instructions("templated", &put("Changed live.\n"))
            .await
            .unwrap();
        c.put_schedule("digest", "0 30 8 * * MON-FRI *")
            .await
            .unwrap();
        c.pause_schedule("digest").await.unwrap();
        c.put_schedule("templated", "0 0 7 * * * *").await.unwrap();
        let hooks = c.list_webhooks("digest").await.unwrap();
        for h in hooks {
            let patch = if h.url.ends_with("digest") {
                PatchWebhook {
                    events: Some(vec!["run.failed".into(), "run.stopped".into()]),
                    status: Some("disabled".into()),
                    ..Default::default()
                }
            } else {
                PatchWebhook {
                    events: Some(vec!["run.completed".into()]),
                    ..Default::default()
                }
            };
            c.patch_webhook("digest", &h.webhook_id, &patch)
                .await
                .unwrap();
        }
        c.update_workspace(&ops, "Ops", Some("{\"emoji\":\"rocket\"}"))
            .await
            .unwrap();
        c.move_agent("triage", &other).await.unwrap();
    });
}

#[test]
fn pull_writes_every_drifted_value_back_and_the_plan_is_empty() {
    let twin = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    twin.assert_converges(dir.path());
    drift(&twin);

    // The dry run prints the patch and writes nothing.
    let (code, patch, err) = output(twin.cmd(dir.path()).args(["pull", "--dry-run", "."]));
    assert_eq!(code, 0, "{err}");
    assert!(
        patch.contains("--- a/agents.yaml")
            && patch.contains("+  cron: \"0 30 8 * * MON-FRI *\"   # weekday mornings"),
        "{patch}\n{err}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("agents.yaml")).unwrap(),
        AGENTS
    );

    let (code, _, err) = output(twin.cmd(dir.path()).args(["pull", "."]));
    assert_eq!(code, 0, "{err}");
    // Templated and interpolated fields are named, not overwritten.
    assert!(
        err.contains(
            "not pulled: agent[\"templated\"].instructions: instructions: rendered from a template"
        ),
        "{err}"
    );
    assert!(
        err.contains(
            "not pulled: agent[\"templated\"].schedule: cron drifted, but it is interpolated"
        ),
        "{err}"
    );
    assert!(
        err.contains("Pulled 9 drifted values into 3 files; 2 differences left for a person."),
        "{err}"
    );

    // Only the drifted values changed; comments and layout stayed.
    let agents = std::fs::read_to_string(dir.path().join("agents.yaml")).unwrap();
    let expected = AGENTS
        .replace(
            "instructions: |   # reviewed by the ops leads\n  Summarize the day.\n  Keep it short.\n",
            "instructions: |   # reviewed by the ops leads\n  Summarize the day.\n\n  List every failed run.\n",
        )
        .replace("0 0 9 * * MON-FRI *", "0 30 8 * * MON-FRI *")
        .replace("paused: false", "paused: true")
        .replace(
            "    events: [run.failed]\n",
            "    events: [run.failed, run.stopped]\n    enabled: false\n",
        )
        .replace("      - run.completed\n      - run.failed\n", "      - run.completed\n")
        .replace("id: triage\nworkspace: Ops", "id: triage\nworkspace: Other");
    assert_eq!(agents, expected);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("ws.yaml")).unwrap(),
        WS.replace("'{\"emoji\":\"gear\"}'", "'{\"emoji\":\"rocket\"}'")
    );
    assert_eq!(
        std::fs::read(dir.path().join("prompts/triage.md")).unwrap(),
        b"Sort incoming tickets by urgency.\n",
        "byte for byte"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("prompts/t.md.j2")).unwrap(),
        "Templated {{ 1 + 1 }}.\n"
    );

    // The plan now has only what was left for a person.
    let (_, plan, _) = output(twin.cmd(dir.path()).args(["plan", "-o", "json", "."]));
    let v: serde_json::Value = serde_json::from_str(&plan).unwrap();
    let addresses: Vec<&str> = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["address"].as_str().unwrap())
        .collect();
    assert_eq!(
        addresses,
        [
            "agent[\"templated\"].instructions",
            "agent[\"templated\"].schedule"
        ],
        "{plan}"
    );
    // A second pull changes nothing.
    let (code, _, err) = output(twin.cmd(dir.path()).args(["pull", "."]));
    assert_eq!(code, 0);
    assert!(
        err.contains("Pulled 0 drifted values into 0 files"),
        "{err}"
    );
}

#[test]
fn pull_narrows_to_agents_and_never_writes_a_secret() {
    let twin = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    twin.assert_converges(dir.path());
    drift(&twin);
    let (code, _, err) = output(
        twin.cmd(dir.path())
            .args(["pull", "--agent", "triage", "."]),
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("Pulled 2 drifted values into 2 files."),
        "{err}"
    );
    let agents = std::fs::read_to_string(dir.path().join("agents.yaml")).unwrap();
    assert!(agents.contains("0 0 9 * * MON-FRI *"), "digest untouched");
    assert!(agents.contains("id: triage\nworkspace: Other"));

    // A live prompt that holds an interpolated secret never reaches git.
    let token = "tok-live-0123456789";
    write_tree(
        dir.path(),
        &[(
            "hook.yaml",
            "kind: Agent\nid: hooked\nworkspace: Ops\ninstructions: hi\nwebhooks:\n  - url: https://hooks.example.com/${HOOK_TOKEN}\n    events: [run.failed]\n",
        )],
    );
    let (code, _, err) = output(twin.cmd(dir.path()).env("HOOK_TOKEN", token).args([
        "apply",
        "--auto-approve",
        "hook.yaml",
    ]));
    assert_eq!(code, 0, "{err}");
    twin.rt.block_on(async {
        twin.client()
            .put_instructions(
                "hooked",
                &PutInstructions {
                    content: format!("call https://hooks.example.com/{token}"),
                    source_type: Some("builder".into()),
                    source_id: None,
                },
            )
            .await
            .unwrap()
    });
    let (code, out, err) = output(twin.cmd(dir.path()).env("HOOK_TOKEN", token).args([
        "pull",
        "--dry-run",
        "hook.yaml",
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("holds a secret; not written"), "{err}");
    assert!(!out.contains(token) && !err.contains(token));
    assert!(std::fs::read_to_string(dir.path().join("hook.yaml"))
        .unwrap()
        .contains("instructions: hi"));
}

/// Every file under `dir` except twinform's own state, with its text.
fn tree_files(dir: &Path) -> Vec<(std::path::PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.file_name().is_some_and(|n| n == ".twinform") {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
                out.push((p, text));
            }
        }
    }
    out
}

#[test]
fn pull_never_writes_any_known_secret_into_the_tree() {
    // Known secrets beyond the tree's own interpolated values: the API key
    // of a platform the tree does not use (Twig's), this platform's key,
    // and a signing secret stored by an earlier apply.
    const TWIG_KEY: &str = "twig_live_key_0123456789abcdef";
    const SIGNING: &str = "whsec_stored_0123456789abcdef";
    let twin = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    let agents = "kind: Workspace\nname: Ops\n---\nkind: Agent\nid: one\nworkspace: Ops\ninstructions: one\n---\nkind: Agent\nid: two\nworkspace: Ops\ninstructions: two\n---\nkind: Agent\nid: three\nworkspace: Ops\ninstructions: {file: three.md}\n";
    write_tree(
        dir.path(),
        &[
            ("agents.yaml", agents),
            ("three.md", "three\n"),
            (
                ".twinform/secrets.json",
                &format!("{{\"webhooks\": {{\"a/w\": {{\"agent_id\": \"a\", \"url\": \"https://x\", \"webhook_id\": \"w\", \"signing_secret\": \"{SIGNING}\"}}}}}}"),
            ),
        ],
    );
    twin.assert_converges(dir.path());
    twin.rt.block_on(async {
        for (agent, secret) in [("one", TWIG_KEY), ("two", common::KEY), ("three", SIGNING)] {
            twin.client()
                .put_instructions(
                    agent,
                    &PutInstructions {
                        content: format!("Call the API with {secret} please.\n"),
                        source_type: Some("builder".into()),
                        source_id: None,
                    },
                )
                .await
                .unwrap();
        }
    });
    let before = tree_files(dir.path());
    let (code, out, err) = output(
        twin.cmd(dir.path())
            .env("TWIG_API_KEY", TWIG_KEY)
            .args(["pull", "."]),
    );
    assert_eq!(code, 0, "{err}");
    for agent in ["one", "two", "three"] {
        assert!(
            err.contains(&format!(
                "not pulled: agent[\"{agent}\"].instructions: the value for instructions holds a secret; not written"
            )),
            "{err}"
        );
    }
    assert_eq!(tree_files(dir.path()), before, "nothing was written");
    for s in [TWIG_KEY, common::KEY, SIGNING] {
        assert!(!out.contains(s) && !err.contains(s), "{out}{err}");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn pull_never_writes_through_a_planted_link() {
    let twin = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    tree(dir.path());
    twin.assert_converges(dir.path());
    drift(&twin);
    let victim = outside.path().join("victim");
    std::fs::write(&victim, "precious\n").unwrap();
    // Links at the temporary names an earlier pull used (`.<name>.twinform-pull.<pid>`),
    // for the process ids the next processes will get.
    let next = std::fs::read_to_string("/proc/sys/kernel/ns_last_pid")
        .ok()
        .and_then(|p| p.trim().parse::<u32>().ok())
        .unwrap_or_else(std::process::id);
    for pid in next..next + 3000 {
        for name in ["agents.yaml", "ws.yaml", "prompts/triage.md"] {
            let (folder, file) = name.rsplit_once('/').unwrap_or(("", name));
            let link = dir
                .path()
                .join(folder)
                .join(format!(".{file}.twinform-pull.{pid}"));
            std::os::unix::fs::symlink(&victim, link).unwrap();
        }
    }
    let (code, _, err) = output(twin.cmd(dir.path()).args(["pull", "."]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    for name in ["agents.yaml", "ws.yaml", "prompts/triage.md"] {
        let meta = std::fs::symlink_metadata(dir.path().join(name)).unwrap();
        assert!(meta.is_file(), "{name} is still a regular file");
    }
    assert!(std::fs::read_to_string(dir.path().join("agents.yaml"))
        .unwrap()
        .contains("0 30 8 * * MON-FRI *"));
}

/// The binary in `dir`, against the embedded emulators (state in `state/`).
fn local(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = assert_cmd::Command::cargo_bin("twinform")
        .unwrap()
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .arg(args[0])
        .arg("--local=state/local.json")
        .args(&args[1..])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// Change Cadenya variations in the embedded emulator's state:
/// `(externalId, spec pointer, value)`.
fn drift_cadenya(dir: &Path, changes: &[(&str, &str, serde_json::Value)]) {
    let path = dir.join("state/local.cadenya.json");
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for (collection, items) in state["items"].as_object_mut().unwrap() {
        if !collection.ends_with("/variations") {
            continue;
        }
        for item in items.as_array_mut().unwrap() {
            for (ext, at, value) in changes {
                if item["metadata"]["externalId"] == *ext {
                    *item.pointer_mut(&format!("/spec{at}")).unwrap() = value.clone();
                }
            }
        }
    }
    std::fs::write(&path, state.to_string()).unwrap();
}

#[test]
fn pull_of_nested_block_text_and_aliases_leaves_a_tree_that_plans_clean() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/cadenya");
    common::copy_dir(&example, &d.join("tree"));
    let manifest = d.join("tree/cadenya.yaml");
    let original = std::fs::read_to_string(&manifest).unwrap();
    // A block-scalar prompt with a sibling after it, and a model shared by
    // an anchor and an alias.
    let text = original
        .replacen(
            "    prompt: Answer in one sentence.\n    model: getting-started-key.openai-gpt-5\n",
            "    prompt: |\n      Answer in one sentence.\n    model: *model\n    temperature: 0.5\n",
            1,
        )
        .replacen(
            "    model: getting-started-key.anthropic-claude-sonnet-4-6\n",
            "    model: &model getting-started-key.anthropic-claude-sonnet-4-6\n",
            1,
        );
    assert_ne!(text, original);
    std::fs::write(&manifest, &text).unwrap();
    let (code, out) = local(d, &["apply", "--auto-approve", "tree"]);
    assert_eq!(code, 0, "{out}");

    drift_cadenya(
        d,
        &[
            (
                "concise",
                "/systemPromptTemplate",
                "Answer in one short sentence.\nThen stop.\n".into(),
            ),
            ("concise", "/modelConfig/temperature", 0.7.into()),
        ],
    );
    let (code, out) = local(d, &["pull", "tree"]);
    assert_eq!(code, 0, "{out}");
    let pulled = std::fs::read_to_string(&manifest).unwrap();
    assert_eq!(
        pulled,
        text.replacen(
            "    prompt: |\n      Answer in one sentence.\n    model: *model\n    temperature: 0.5\n",
            "    prompt: |\n      Answer in one short sentence.\n      Then stop.\n    model: *model\n    temperature: 0.7\n",
            1
        )
    );
    let validated = assert_cmd::Command::cargo_bin("twinform")
        .unwrap()
        .current_dir(d)
        .args(["validate", "tree"])
        .output()
        .unwrap();
    assert!(validated.status.success(), "{validated:?}");
    let (code, out) = local(d, &["plan", "--detailed-exitcode", "tree"]);
    assert_eq!(code, 0, "{out}");

    // A value an alias repeats, or one read through the alias, is left
    // alone and the reason said: writing it would change the other use, or
    // replace the alias with a copy.
    drift_cadenya(
        d,
        &[
            (
                "concise",
                "/modelConfig/modelId",
                "getting-started-key.openai-gpt-4-1".into(),
            ),
            (
                "default",
                "/modelConfig/modelId",
                "getting-started-key.anthropic-claude-opus-4-6".into(),
            ),
        ],
    );
    let (code, out) = local(d, &["pull", "tree"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("variation[\"default\"]")
            && out.contains("anchored (`&…`) and repeated by an alias; change it by hand"),
        "{out}"
    );
    assert!(
        out.contains("variation[\"concise\"]")
            && out.contains("reached through a YAML alias or merge (`*…`); change it by hand"),
        "{out}"
    );
    assert_eq!(std::fs::read_to_string(&manifest).unwrap(), pulled);
}

#[test]
fn pull_leaves_a_prompt_file_another_agent_shares_and_says_which() {
    let twin = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    let agents = "kind: Workspace\nname: Ops\n---\nkind: Agent\nid: a1\nworkspace: Ops\ninstructions: {file: shared.md}\n---\nkind: Agent\nid: a2\nworkspace: Ops\ninstructions: {file: shared.md}\n";
    write_tree(
        dir.path(),
        &[("agents.yaml", agents), ("shared.md", "Be brief.\n")],
    );
    twin.assert_converges(dir.path());
    let put = |agent: &str, text: &str| {
        twin.rt.block_on(async {
            twin.client()
                .put_instructions(
                    agent,
                    &PutInstructions {
                        content: text.into(),
                        source_type: Some("builder".into()),
                        source_id: None,
                    },
                )
                .await
                .unwrap()
        })
    };
    put("a1", "Be brief and kind.\n");
    let (code, _, err) = output(twin.cmd(dir.path()).args(["pull", "."]));
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("not pulled: agent[\"a1\"].instructions: shared.md is also the text of Agent `a2` (instructions) at agents.yaml:12; not written"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("shared.md")).unwrap(),
        "Be brief.\n"
    );
    // Both drifted the same way: the file is theirs to rewrite, and the plan is clean.
    put("a2", "Be brief and kind.\n");
    let (code, _, err) = output(twin.cmd(dir.path()).args(["pull", "."]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("shared.md")).unwrap(),
        "Be brief and kind.\n"
    );
    twin.cmd(dir.path())
        .args(["plan", "--detailed-exitcode", "."])
        .assert()
        .code(0);
}

/// Review II 13: `pull --dry-run` prints a patch `git apply --check` takes
/// from the working directory (paths relative to it, not to the tree); a
/// patch with a secret of the run in it is masked, says it is for reading
/// only, and never holds the secret.
#[test]
fn pull_dry_run_prints_a_patch_git_applies_or_says_it_is_for_reading() {
    let twin = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .current_dir(dir.path())
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    git(&["init", "-q"]);
    const SECRET: &str = "tok-default-9f8e7d";
    let agents = "kind: Agent\nid: digest\nworkspace: My Workspace\ninstructions: |\n  Summarize the day.\n  Keep it short.\n---\nkind: Agent\nid: hooked\nworkspace: My Workspace\ninstructions: Say hi.\nwebhooks:\n  - url: https://hooks.example.com/x?token=${HOOK_TOKEN:-tok-default-9f8e7d}\n    events: [run.failed]\n";
    write_tree(dir.path(), &[("agents/m.yaml", agents)]);
    let cmd = || {
        let mut c = twin.cmd(dir.path());
        c.env("HOOK_TOKEN", SECRET);
        c
    };
    let (code, _, err) = output(cmd().args(["apply", "--auto-approve", "agents/"]));
    assert_eq!(code, 0, "{err}");
    let put = |id: &str, text: &str| {
        twin.store(|s| {
            s.put_instructions(
                id,
                &serde_json::json!({"content": text, "source_type": "builder"}),
            )
            .unwrap()
        })
    };
    put("digest", "Summarize the day.\nKeep it very short.\n");
    let (code, patch, err) = output(cmd().args(["pull", "--dry-run", "agents/"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        patch.contains("--- a/agents/m.yaml\n+++ b/agents/m.yaml\n"),
        "{patch}"
    );
    std::fs::write(dir.path().join("p.diff"), &patch).unwrap();
    let (ok, why) = git(&["apply", "--check", "p.diff"]);
    assert!(ok, "git apply --check refused the patch: {why}\n{patch}");

    // The webhook's line (holding the secret as a default) is context.
    put("hooked", "Say hello.\n");
    put("digest", "Summarize the day.\nKeep it short.\n");
    let (code, patch, err) = output(cmd().args(["pull", "--dry-run", "agents/"]));
    assert_eq!(code, 0, "{err}");
    assert!(!patch.contains(SECRET) && !err.contains(SECRET), "{patch}");
    assert!(
        patch.starts_with("# twinform: this patch is for reading only: 1 line holds a secret"),
        "{patch}"
    );
    assert!(
        err.contains("note: this patch is for reading only"),
        "{err}"
    );
    assert!(
        patch.contains("-instructions: Say hi.\n") && patch.contains("  Say hello.\n"),
        "{patch}"
    );
}

//! `apply`: convergence, ordering, partial failure, saved and stale plans,
//! signing secrets, `--max-destroy`, and the refusal without a terminal.

#[path = "../common/mod.rs"]
mod common;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use common::{scenario_store, write_tree, TestTwin, HOOK_TOKEN, SCENARIO};
use proptest::prelude::*;
use twinform::cli::FaultArgs;
use twinform::providers::twin::emulator::Store;
mod secrets;
mod state;

/// One agent with one webhook (its signing secret is what apply keeps).
const ONE_HOOK: &str = "kind: Agent\nid: h\nworkspace: My Workspace\nwebhooks:\n  - url: https://a.example/x\n    events: [run.failed]\n";

fn run(twin: &TestTwin, dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = twin
        .cmd(dir)
        .args(args)
        .env("HOOK_TOKEN", HOOK_TOKEN)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn scenario() -> (TestTwin, tempfile::TempDir) {
    let twin = TestTwin::with(FaultArgs::default(), scenario_store());
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), SCENARIO);
    (twin, dir)
}

#[test]
fn the_readme_first_command_converges() {
    let dir = tempfile::tempdir().unwrap();
    let copy = |from: &str| {
        for entry in std::fs::read_dir(from).unwrap().flatten() {
            let to = dir.path().join(from).join(entry.file_name());
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            if entry.path().is_dir() {
                for f in std::fs::read_dir(entry.path()).unwrap().flatten() {
                    std::fs::create_dir_all(&to).unwrap();
                    std::fs::copy(f.path(), to.join(f.file_name())).unwrap();
                }
            } else {
                std::fs::copy(entry.path(), &to).unwrap();
            }
        }
    };
    copy("examples/quickstart");
    let readme = std::fs::read_to_string("README.md").unwrap();
    assert!(readme.contains("cargo run -q -- apply --local --auto-approve examples/quickstart && cargo run -q -- plan --local examples/quickstart"));
    let bin = || {
        let mut c = assert_cmd::Command::cargo_bin("twinform").unwrap();
        c.current_dir(dir.path())
            .env("NO_COLOR", "1")
            .env_remove("TWIN_API_KEY");
        c
    };
    let out = bin()
        .args(["apply", "--local", "--auto-approve", "examples/quickstart"])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        stdout.contains("✓ agent[\"daily-digest\"].webhook"),
        "{stdout}"
    );
    let out = bin()
        .args(["plan", "--local", "examples/quickstart"])
        .assert()
        .success();
    assert!(String::from_utf8_lossy(&out.get_output().stdout)
        .contains("No changes. Live state matches the manifests."));
    assert!(dir.path().join(".twinform/secrets.json").exists());
}

#[test]
fn the_scenario_converges_with_exactly_the_planned_writes_in_dependency_order() {
    let (twin, dir) = scenario();
    let (_, plan_json, _) = run(&twin, dir.path(), &["plan", "-o", "json", "."]);
    let plan: serde_json::Value = serde_json::from_str(&plan_json).unwrap();
    let deps: HashMap<String, Vec<String>> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["address"].as_str().unwrap().to_string(),
                serde_json::from_value(c["depends_on"].clone()).unwrap(),
            )
        })
        .collect();
    let (code, out, err) = run(
        &twin,
        dir.path(),
        &[
            "apply",
            "--auto-approve",
            "--max-destroy",
            "10",
            "-o",
            "json",
            ".",
        ],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let mut seen = HashSet::new();
    for line in out.lines() {
        let event: serde_json::Value = serde_json::from_str(line).unwrap();
        let Some(address) = event["address"].as_str() else {
            continue;
        };
        assert_eq!(event["status"], "applied", "{line}");
        for d in &deps[address] {
            assert!(
                seen.contains(d),
                "{address} finished before its dependency {d}"
            );
        }
        seen.insert(address.to_string());
    }
    assert_eq!(seen.len(), deps.len(), "not every change was reported");
    let writes = twin.writes();
    let (code, out, _) = run(&twin, dir.path(), &["plan", "--detailed-exitcode", "."]);
    assert_eq!(code, 0, "second plan is not empty:\n{out}");
    // The summariser replace, for example, is two writes; the total must be exact.
    let expected_ops = 1 /* Growth icon */ + 1 /* Research */ + 1 /* rename */
        + 1 /* daily-digest instructions */ + 1 /* pause */ + 1 /* create hook */ + 1 /* dup delete */ + 1 /* patch */ + 1 /* old delete */
        + 1 /* move */ + 2 /* replace */ + 1 /* summariser schedule */ + 1 /* resume */ + 1 /* unschedule */
        + 1 /* fresh */ + 1 /* instructions */ + 2 /* schedule + pause */ + 1 /* webhook */ + 1 /* prune */;
    assert_eq!(writes, expected_ops);
    // The instructions were sent as twinform's.
    let source = twin.store(|s| {
        s.history["daily-digest"]
            .last()
            .unwrap()
            .source_type
            .clone()
    });
    assert_eq!(source.as_deref(), Some("twinform"));
}

#[test]
fn apply_refuses_without_a_terminal_or_past_max_destroy() {
    let (twin, dir) = scenario();
    let (code, _, err) = run(&twin, dir.path(), &["apply", "."]);
    assert_eq!(code, 1);
    assert!(err.contains("stdin is not a terminal"), "{err}");
    assert!(err.contains("--auto-approve"));
    let (code, _, err) = run(
        &twin,
        dir.path(),
        &["apply", "--auto-approve", "--max-destroy", "3", "."],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("destroys 4 resources, more than --max-destroy 3"),
        "{err}"
    );
    assert_eq!(twin.writes(), 0, "a refused apply wrote");
}

#[test]
fn one_rejected_change_leaves_the_others_applied() {
    let mut store = Store::default();
    store
        .create_agent(&serde_json::json!({"agent_id": "deployed"}))
        .unwrap();
    store.agents.get_mut("deployed").unwrap().deployment_state = Some("deployed".into());
    let twin = TestTwin::with(
        FaultArgs {
            strict: true,
            ..FaultArgs::default()
        },
        store,
    );
    let dir = tempfile::tempdir().unwrap();
    let agent = |id: &str| {
        format!("kind: Agent\nid: {id}\nworkspace: My Workspace\ninstructions: hi {id}\nschedule:\n  cron: \"0 0 9 * * * *\"\n")
    };
    std::fs::write(
        dir.path().join("m.yaml"),
        format!("{}---\n{}", agent("deployed"), agent("draft")),
    )
    .unwrap();
    let (code, out, err) = run(&twin, dir.path(), &["apply", "--auto-approve", "."]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("agent[\"draft\"].schedule blocked: 409 Conflict: agent is not deployed"),
        "{out}"
    );
    assert!(out.contains("deploy `draft`"), "{out}");
    // The summary closes the report on stdout.
    assert!(
        out.contains("4 applied, 0 failed, 1 blocked, 0 skipped"),
        "{out}"
    );
    twin.store(|s| {
        assert!(s.schedules.contains_key("deployed"));
        assert_eq!(s.instructions["draft"].content, "hi draft");
    });
}

#[test]
fn a_failure_skips_only_its_dependents() {
    use twinform::engine::plan::{Action, Change, Plan};
    use twinform::providers::twin::ops::{Op, WorkspaceRef};
    let twin = TestTwin::start();
    let change = |address: &str, ops: Vec<Op>, depends_on: &[&str]| {
        let mut c = Change::new("twin", address, "agent", Action::Create);
        c.depends_on = depends_on.iter().map(|s| s.to_string()).collect();
        c.ops = ops
            .iter()
            .map(|o| serde_json::to_value(o).unwrap())
            .collect();
        c
    };
    let create = |id: &str, ws: &str| Op::CreateAgent {
        agent_id: id.into(),
        workspace: WorkspaceRef::Id(ws.into()),
        subagent: None,
        derived_from: None,
    };
    let plan = Plan {
        changes: vec![
            change("bad", vec![create("bad", "ws_missing")], &[]),
            change(
                "child",
                vec![Op::PutInstructions {
                    agent_id: "bad".into(),
                    content: "x".into(),
                }],
                &["bad"],
            ),
            change(
                "grandchild",
                vec![Op::PutSchedule {
                    agent_id: "bad".into(),
                    cron: "0 0 9 * * * *".into(),
                }],
                &["child"],
            ),
            change("good", vec![create("good", "ws_000001")], &[]),
        ],
        ..Plan::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let results = twin.rt.block_on(async {
        let client = twin.client();
        let live = twinform::providers::twin::Live::default();
        let mut ctx = common::context(
            &client,
            &live,
            std::sync::Arc::new(
                twinform::engine::apply::secrets::SecretSink::new(
                    &dir.path().join("s.json"),
                    None,
                    Default::default(),
                )
                .unwrap(),
            ),
        );
        ctx.parallelism = 4;
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        twinform::engine::apply::execute(&plan, ctx, tx).await
    });
    let status: HashMap<&str, &twinform::engine::apply::Status> = results
        .iter()
        .map(|f| (f.address.as_str(), &f.status))
        .collect();
    assert!(
        matches!(status["bad"], twinform::engine::apply::Status::Failed(m) if m.contains("404")),
        "{:?}",
        status["bad"]
    );
    assert!(matches!(
        status["child"],
        twinform::engine::apply::Status::Skipped(_)
    ));
    assert!(matches!(
        status["grandchild"],
        twinform::engine::apply::Status::Skipped(_)
    ));
    assert_eq!(status["good"], &twinform::engine::apply::Status::Applied);
}

/// A saved plan's operation digests and live fingerprints, together.
fn json_pair(v: &serde_json::Value) -> serde_json::Value {
    let mut m = v["operations"].as_object().cloned().unwrap_or_default();
    for (k, f) in v["fingerprints"].as_object().into_iter().flatten() {
        m.insert(format!("fingerprint {k}"), f.clone());
    }
    serde_json::Value::Object(m)
}

#[test]
fn a_saved_plan_records_operations_by_a_keyed_digest() {
    // Operations carry interpolated secrets and live prompts may too: a plain
    // hash of either in the file would let its reader test guesses. Both are
    // keyed by the API key.
    let (twin, dir) = scenario();
    let saved = |key: &str, name: &str| {
        let out = twin
            .cmd(dir.path())
            .env("HOOK_TOKEN", HOOK_TOKEN)
            .env("TWIN_API_KEY", key)
            .args(["plan", "--out", name, "."])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join(name)).unwrap()).unwrap();
        json_pair(&v)
    };
    let a = saved("key-one-0123456789", "a.json");
    let again = saved("key-one-0123456789", "b.json");
    let other = saved("key-two-0123456789", "c.json");
    assert!(!a.as_object().unwrap().is_empty());
    assert_eq!(a, again, "the same key and plan give the same digests");
    for (address, digest) in a.as_object().unwrap() {
        assert_ne!(Some(digest), other.get(address), "{address}: not keyed");
    }
    // Plan and apply with different API keys agree through TWINFORM_PLAN_KEY.
    let with_plan_key = |key: &str, args: &[&str]| {
        twin.cmd(dir.path())
            .env("HOOK_TOKEN", HOOK_TOKEN)
            .env("TWIN_API_KEY", key)
            .env("TWINFORM_PLAN_KEY", "shared-plan-key-42")
            .args(args)
            .output()
            .unwrap()
    };
    assert!(
        with_plan_key("read-only-key-1", &["plan", "--out", "d.json", "."])
            .status
            .success()
    );
    let out = with_plan_key("writer-key-2", &["apply", "--max-destroy", "10", "d.json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_saved_plan_applies_exactly_and_refuses_when_stale() {
    let (twin, dir) = scenario();
    let (code, _, err) = run(&twin, dir.path(), &["plan", "--out", "p.json", "."]);
    assert_eq!(code, 0, "{err}");
    // Someone changes an agent's instructions in the builder after the plan.
    twin.store(|s| {
        s.put_instructions(
            "daily-digest",
            &serde_json::json!({"content": "edited", "source_type": "builder"}),
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
    assert_eq!(twin.writes(), writes, "a stale plan wrote");
    // A fresh plan applies without a prompt (it was reviewed) and converges;
    // an agent made meanwhile in a workspace no manifest declares does not make it stale.
    run(&twin, dir.path(), &["plan", "--out", "p.json", "."]);
    twin.store(|s| {
        s.create_agent(
            &serde_json::json!({"agent_id": "someone-elses", "workspace_id": "ws_000001"}),
        )
        .unwrap()
    });
    let (code, _, err) = run(
        &twin,
        dir.path(),
        &["apply", "--max-destroy", "10", "p.json"],
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, _) = run(&twin, dir.path(), &["plan", "--detailed-exitcode", "."]);
    assert_eq!(code, 0);
}

#[test]
fn a_saved_plan_refuses_changed_manifests() {
    let (twin, dir) = scenario();
    run(&twin, dir.path(), &["plan", "--out", "p.json", "."]);
    std::fs::write(
        dir.path().join("prompts/daily-digest.md"),
        "Something else entirely\n",
    )
    .unwrap();
    let (code, _, err) = run(&twin, dir.path(), &["apply", "p.json"]);
    assert_eq!(code, 1);
    assert!(err.contains("changed since the plan was saved"), "{err}");
    assert_eq!(twin.writes(), 0);
}

#[test]
fn signing_secrets_are_saved_private_and_merged_and_never_printed() {
    let twin = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    let manifest = |hooks: &[&str]| {
        let list: String = hooks
            .iter()
            .map(|u| format!("  - url: {u}\n    events: [run.failed]\n"))
            .collect();
        format!("kind: Agent\nid: hooked\nworkspace: My Workspace\nwebhooks:\n{list}")
    };
    std::fs::write(
        dir.path().join("m.yaml"),
        manifest(&["https://a.example/${HOOK_TOKEN}"]),
    )
    .unwrap();
    let (code, out, err) = run(&twin, dir.path(), &["apply", "-v", "--auto-approve", "."]);
    assert_eq!(code, 0, "{err}");
    std::fs::write(
        dir.path().join("m.yaml"),
        manifest(&["https://a.example/${HOOK_TOKEN}", "https://b.example/x"]),
    )
    .unwrap();
    let (code, out2, err2) = run(&twin, dir.path(), &["apply", "-v", "--auto-approve", "."]);
    assert_eq!(code, 0, "{err2}");
    let path = dir.path().join(".twinform/secrets.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let live: Vec<(String, String)> = twin.store(|s| {
        s.webhooks
            .values()
            .map(|w| (w.webhook_id.clone(), w.signing_secret.clone().unwrap()))
            .collect()
    });
    assert_eq!(live.len(), 2);
    let printed = format!("{out}{err}{out2}{err2}");
    for (id, secret) in &live {
        assert_eq!(
            saved["webhooks"][format!("hooked/{id}")]["signing_secret"],
            secret.as_str(),
            "secret of {id} not merged in"
        );
        assert!(
            !printed.contains(secret.as_str()),
            "a signing secret was printed"
        );
    }
    assert!(
        !printed.contains(HOOK_TOKEN),
        "an interpolated value was printed"
    );
    let journal = std::fs::read_to_string(dir.path().join(".twinform/journal.ndjson")).unwrap();
    assert!(journal.contains("create_webhook"));
    assert!(
        !journal.contains(HOOK_TOKEN) && !live.iter().any(|(_, s)| journal.contains(s.as_str()))
    );
}

#[test]
fn secrets_out_dash_keeps_stdout_for_secrets_only() {
    let twin = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.yaml"), "kind: Agent\nid: h\nworkspace: My Workspace\nwebhooks:\n  - url: https://a.example/x\n    events: [run.failed]\n").unwrap();
    let (code, out, _) = run(
        &twin,
        dir.path(),
        &["apply", "--auto-approve", "--secrets-out", "-", "."],
    );
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "stdout: {out}");
    let record: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(record["agent_id"], "h");
    assert!(record["signing_secret"]
        .as_str()
        .unwrap()
        .starts_with("whsec_"));
}

#[test]
fn resume_reports_the_last_apply() {
    let twin = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("m.yaml"),
        "kind: Agent\nid: j\nworkspace: My Workspace\ninstructions: x\n",
    )
    .unwrap();
    run(&twin, dir.path(), &["apply", "--auto-approve", "."]);
    let (code, out, _) = run(&twin, dir.path(), &["apply", "--resume"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("2 operations done, 0 unfinished, 0 failed"),
        "{out}"
    );
}

// ---- convergence property: random live states and random manifests ----

#[derive(Debug, Clone)]
struct Hook {
    url: usize,
    events: Vec<&'static str>,
    enabled: bool,
}

#[derive(Debug, Clone)]
struct Agent {
    workspace: usize,
    instructions: Option<usize>,
    schedule: Option<Option<(usize, Option<bool>)>>,
    hooks: Option<Vec<Hook>>,
}

const WORKSPACES: [&str; 3] = ["Alpha", "Beta", "Gamma"];
const TEXTS: [&str; 4] = [
    "Do the thing.",
    "Do the thing.\n",
    "Line one\nLine two ✓",
    "",
];
const CRONS: [&str; 3] = ["0 0 9 * * * *", "0 30 6 * * MON *", "0 0 */2 * * * *"];
const URLS: [&str; 3] = [
    "https://a.example/h",
    "https://b.example/h",
    "http://127.0.0.1:9/h",
];
const EVENTS: [&str; 3] = ["run.completed", "run.failed", "run.started"];

fn hook() -> impl Strategy<Value = Hook> {
    (
        0..URLS.len(),
        proptest::sample::subsequence(EVENTS.to_vec(), 1..=3),
        any::<bool>(),
    )
        .prop_map(|(url, events, enabled)| Hook {
            url,
            events,
            enabled,
        })
}

fn agent() -> impl Strategy<Value = Agent> {
    (
        0..WORKSPACES.len(),
        proptest::option::of(0..TEXTS.len()),
        proptest::option::of(proptest::option::of((
            0..CRONS.len(),
            proptest::option::of(any::<bool>()),
        ))),
        proptest::option::of(proptest::collection::vec(hook(), 0..3)),
    )
        .prop_map(|(workspace, instructions, schedule, hooks)| Agent {
            workspace,
            instructions,
            schedule,
            hooks,
        })
}

fn world() -> impl Strategy<Value = (Vec<Option<Agent>>, Vec<Option<Agent>>, Vec<bool>)> {
    (
        proptest::collection::vec(proptest::option::of(agent()), 5),
        proptest::collection::vec(proptest::option::of(agent()), 5),
        proptest::collection::vec(any::<bool>(), 3),
    )
}

fn seed_live(live: &[Option<Agent>]) -> Store {
    use serde_json::json;
    let mut s = Store::default();
    let ids: Vec<String> = WORKSPACES
        .iter()
        .take(2) // Gamma does not exist yet
        .map(|n| common::add_workspace(&mut s, n))
        .collect();
    for (i, a) in live.iter().enumerate() {
        let Some(a) = a else { continue };
        let id = format!("agent-{i}");
        let ws = ids
            .get(a.workspace)
            .cloned()
            .unwrap_or_else(|| ids[0].clone());
        s.create_agent(&json!({"agent_id": id, "workspace_id": ws}))
            .unwrap();
        if let Some(t) = a.instructions {
            s.put_instructions(&id, &json!({"content": TEXTS[t]}))
                .unwrap();
        }
        if let Some(Some((c, paused))) = a.schedule {
            s.put_schedule(&id, &json!({"cron": CRONS[c]})).unwrap();
            if paused == Some(true) {
                s.pause_schedule(&id, true).unwrap();
            }
        }
        for h in a.hooks.iter().flatten() {
            let (_, v) = s
                .create_webhook(&id, &json!({"url": URLS[h.url], "events": h.events}))
                .unwrap();
            if !h.enabled {
                let wid = v["webhook_id"].as_str().unwrap().to_string();
                s.patch_webhook(&id, &wid, &json!({"status": "disabled"}))
                    .unwrap();
            }
        }
    }
    s
}

fn manifests(desired: &[Option<Agent>], prune: &[bool]) -> String {
    let mut docs: Vec<String> = WORKSPACES
        .iter()
        .zip(prune)
        .map(|(n, p)| format!("kind: Workspace\nname: {n}\nprune: {p}\n"))
        .collect();
    for (i, a) in desired.iter().enumerate() {
        let Some(a) = a else { continue };
        let mut d = format!(
            "kind: Agent\nid: agent-{i}\nworkspace: {}\n",
            WORKSPACES[a.workspace]
        );
        if let Some(t) = a.instructions {
            d.push_str(&format!(
                "instructions: {}\n",
                serde_json::to_string(TEXTS[t]).unwrap()
            ));
        }
        match a.schedule {
            None => {}
            Some(None) => d.push_str("schedule: null\n"),
            Some(Some((c, paused))) => {
                d.push_str(&format!("schedule:\n  cron: \"{}\"\n", CRONS[c]));
                if let Some(p) = paused {
                    d.push_str(&format!("  paused: {p}\n"));
                }
            }
        }
        if let Some(hooks) = &a.hooks {
            let mut seen = HashSet::new();
            d.push_str("webhooks:\n");
            if hooks.is_empty() {
                d.truncate(d.len() - 1);
                d.push_str(" []\n");
            }
            for h in hooks.iter().filter(|h| seen.insert(h.url)) {
                d.push_str(&format!(
                    "  - url: {}\n    events: [{}]\n    enabled: {}\n",
                    URLS[h.url],
                    h.events.join(", "),
                    h.enabled
                ));
            }
        }
        docs.push(d);
    }
    docs.join("---\n")
}

/// Compare the emulator's state with the manifests directly, field by field.
fn oracle(
    s: &Store,
    desired: &[Option<Agent>],
    live: &[Option<Agent>],
    prune: &[bool],
) -> Vec<String> {
    let mut problems = Vec::new();
    let ws_name = |id: &Option<String>| {
        s.workspaces
            .iter()
            .find(|w| Some(&w.workspace_id) == id.as_ref())
            .map(|w| w.name.clone())
    };
    for (i, want) in desired.iter().enumerate() {
        let id = format!("agent-{i}");
        let Some(want) = want else {
            // Undeclared: deleted if its live workspace prunes, else untouched.
            let was = live[i]
                .as_ref()
                .map(|a| if a.workspace < 2 { a.workspace } else { 0 }); // as seed_live places it
            let exists = s.agents.contains_key(&id);
            if let Some(w) = was {
                if exists == prune[w] {
                    problems.push(format!("{id}: exists={exists} but prune={}", prune[w]));
                }
            }
            continue;
        };
        let Some(a) = s.agents.get(&id) else {
            problems.push(format!("{id} missing"));
            continue;
        };
        if ws_name(&a.workspace_id).as_deref() != Some(WORKSPACES[want.workspace]) {
            problems.push(format!("{id} in {:?}", ws_name(&a.workspace_id)));
        }
        if let Some(t) = want.instructions {
            let have = s
                .instructions
                .get(&id)
                .map(|i| i.content.clone())
                .unwrap_or_default();
            if have.trim_end_matches('\n') != TEXTS[t].trim_end_matches('\n') {
                problems.push(format!("{id} instructions {have:?}"));
            }
        }
        match (&want.schedule, s.schedules.get(&id)) {
            (None, _) | (Some(None), None) => {}
            (Some(None), Some(_)) => problems.push(format!("{id} kept a schedule")),
            (Some(Some(_)), None) => problems.push(format!("{id} has no schedule")),
            (Some(Some((c, paused))), Some(have)) => {
                if have.cron != CRONS[*c] || paused.is_some_and(|p| p != have.paused) {
                    problems.push(format!("{id} schedule {} {}", have.cron, have.paused));
                }
            }
        }
        if let Some(hooks) = &want.hooks {
            let mut seen = HashSet::new();
            let mut expected: Vec<(String, Vec<String>, bool)> = hooks
                .iter()
                .filter(|h| seen.insert(h.url))
                .map(|h| {
                    let mut e: Vec<String> = h.events.iter().map(|e| e.to_string()).collect();
                    e.sort();
                    (URLS[h.url].to_string(), e, h.enabled)
                })
                .collect();
            let mut have: Vec<(String, Vec<String>, bool)> = s
                .webhooks
                .values()
                .filter(|w| w.agent_id.as_deref() == Some(id.as_str()))
                .map(|w| {
                    let mut e = w.events.clone();
                    e.sort();
                    (w.url.clone(), e, w.status == "active")
                })
                .collect();
            expected.sort();
            have.sort();
            if expected != have {
                problems.push(format!("{id} webhooks {have:?} != {expected:?}"));
            }
        }
    }
    problems
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]
    #[test]
    fn apply_converges_with_exactly_the_planned_writes((live, desired, prune) in world()) {
        let twin = TestTwin::with(FaultArgs::default(), seed_live(&live));
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("m.yaml"), manifests(&desired, &prune)).unwrap();
        let d = common::desired(dir.path(), &[]);
        let client = twin.client();
        let secrets = dir.path().join("secrets.json");
        let (plan, results) = twin.rt.block_on(common::apply_once(&client, &d, &secrets));
        for f in &results {
            prop_assert_eq!(&f.status, &twinform::engine::apply::Status::Applied, "{}", f.address);
        }
        let planned_ops: usize = plan.changes.iter().map(|c| c.ops.len()).sum();
        prop_assert_eq!(twin.writes() as usize, planned_ops, "writes differ from the planned operations");
                let (_, again) = twin.rt.block_on(common::plan_for(&client, &d));
        prop_assert!(again.is_empty(), "not converged: {:#?}", again.changes.iter().map(|c| &c.address).collect::<Vec<_>>());
        // An oracle independent of the diff: the stored state is what the manifests say.
        let problems = twin.store(|s| oracle(s, &desired, &live, &prune));
        prop_assert!(problems.is_empty(), "live state differs from the manifests: {:#?}", problems);
    }
}

// ---- where signing secrets go when a destination fails ----

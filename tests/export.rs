//! `export`: the exported tree validates and plans to "No changes" on a
//! random population; existing files are refused; a failed read writes nothing.

mod common;

use common::TestTwin;
use proptest::prelude::*;
use serde_json::json;
use twinform::cli::FaultArgs;
use twinform::providers::twin::emulator::Store;

const TEXTS: [&str; 7] = [
    "plain",
    "windows\r\nline endings\r\n",
    "\u{feff}a byte-order mark",
    "ends with a newline\n",
    "ünïcødé ✓ — “quotes” and: colons # hash",
    "multi\nline\n\ntext",
    "  leading spaces and 'quotes'",
];
const CRONS: [&str; 3] = [
    "0 0 9 * * * *",
    "0 */5 * * * MON-FRI *",
    "30 15 6 1 * * 2030",
];

#[derive(Debug, Clone)]
struct Spec {
    ws: usize,
    text: Option<usize>,
    schedule: Option<(usize, bool)>,
    hooks: Vec<(usize, bool)>,
    name: bool,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        0..3usize,
        proptest::option::of(0..TEXTS.len()),
        proptest::option::of((0..CRONS.len(), any::<bool>())),
        proptest::collection::vec((0..3usize, any::<bool>()), 0..3),
        any::<bool>(),
    )
        .prop_map(|(ws, text, schedule, hooks, name)| Spec {
            ws,
            text,
            schedule,
            hooks,
            name,
        })
}

fn populate(specs: &[Spec]) -> Store {
    let mut s = Store::default();
    let names = ["Sales", "Ops: night shift", "Café ✓"];
    let ids: Vec<String> = names
        .iter()
        .map(|n| common::add_workspace(&mut s, n))
        .collect();
    s.update_workspace(
        &ids[0],
        &json!({"name": "Sales", "icon_config": "{\"emoji\":\"💰\"}"}),
    )
    .unwrap();
    for (i, sp) in specs.iter().enumerate() {
        let id = format!("agent-{i}");
        s.create_agent(&json!({"agent_id": id, "workspace_id": ids[sp.ws]}))
            .unwrap();
        if sp.name {
            s.agents.get_mut(&id).unwrap().agent_name =
                Some(json!({"name": format!("Helper #{i}")}));
        }
        if let Some(t) = sp.text {
            s.put_instructions(&id, &json!({"content": TEXTS[t]}))
                .unwrap();
        }
        if let Some((c, paused)) = sp.schedule {
            s.put_schedule(&id, &json!({"cron": CRONS[c]})).unwrap();
            s.pause_schedule(&id, paused).unwrap();
        }
        let mut urls = std::collections::HashSet::new();
        // Manifests name webhooks by URL, so duplicates cannot round-trip (export warns; tested below).
        for (u, enabled) in sp.hooks.iter().filter(|(u, _)| urls.insert(*u)) {
            let (_, v) = s.create_webhook(&id, &json!({"url": format!("https://h{u}.example/x?y=1&t=${{NOT_A_VAR}}"), "events": ["run.failed", "run.started"]})).unwrap();
            if !enabled {
                s.patch_webhook(
                    &id,
                    v["webhook_id"].as_str().unwrap(),
                    &json!({"status": "disabled"}),
                )
                .unwrap();
            }
        }
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn export_then_plan_shows_no_changes(specs in proptest::collection::vec(spec(), 0..6)) {
        let twin = TestTwin::with(FaultArgs::default(), populate(&specs));
        let dir = tempfile::tempdir().unwrap();
        twin.cmd(dir.path()).args(["export", "--out", "exported"]).assert().success();
        twin.cmd(dir.path()).args(["validate", "exported"]).assert().success();
        let out = twin.cmd(dir.path()).args(["plan", "--detailed-exitcode", "exported"]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        prop_assert_eq!(out.status.code(), Some(0), "{}", text);
        prop_assert_eq!(twin.writes(), 0);
        for (i, sp) in specs.iter().enumerate() {
            let doc = std::fs::read_to_string(dir.path().join(format!("exported/agents/agent-{i}.yaml"))).unwrap();
            prop_assert!(doc.starts_with("# yaml-language-server: $schema="));
            prop_assert_eq!(sp.name, doc.contains(&format!("# web-app name: Helper #{i}")));
            prop_assert!(!doc.contains("whsec_"), "a secret was exported");
        }
    }
}

#[test]
fn filters_and_refusals() {
    let specs = vec![
        Spec {
            ws: 0,
            text: Some(0),
            schedule: None,
            hooks: vec![],
            name: false,
        },
        Spec {
            ws: 1,
            text: None,
            schedule: None,
            hooks: vec![],
            name: false,
        },
    ];
    let twin = TestTwin::with(FaultArgs::default(), populate(&specs));
    let dir = tempfile::tempdir().unwrap();
    twin.cmd(dir.path())
        .args(["export", "--out", "one", "--agent", "agent-1"])
        .assert()
        .success();
    let agents: Vec<_> = std::fs::read_dir(dir.path().join("one/agents"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(agents, vec![std::ffi::OsString::from("agent-1.yaml")]);
    let workspaces: Vec<_> = std::fs::read_dir(dir.path().join("one/workspaces"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        workspaces,
        vec![std::ffi::OsString::from("ops-night-shift.yaml")]
    );
    // Existing files: refused, nothing changed; --force overwrites.
    let before = std::fs::read_to_string(dir.path().join("one/agents/agent-1.yaml")).unwrap();
    std::fs::write(dir.path().join("one/agents/agent-1.yaml"), "mine").unwrap();
    twin.cmd(dir.path())
        .args(["export", "--out", "one", "--agent", "agent-1"])
        .assert()
        .code(1);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("one/agents/agent-1.yaml")).unwrap(),
        "mine"
    );
    twin.cmd(dir.path())
        .args(["export", "--out", "one", "--agent", "agent-1", "--force"])
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("one/agents/agent-1.yaml")).unwrap(),
        before
    );
}

#[test]
fn duplicate_webhook_urls_are_warned_about() {
    let specs = vec![Spec {
        ws: 0,
        text: None,
        schedule: None,
        hooks: vec![(0, true)],
        name: false,
    }];
    let mut store = populate(&specs);
    store
        .create_webhook(
            "agent-0",
            &json!({"url": "https://h0.example/x?y=1&t=${NOT_A_VAR}", "events": ["run.failed"]}),
        )
        .unwrap();
    let twin = TestTwin::with(FaultArgs::default(), store);
    let dir = tempfile::tempdir().unwrap();
    let out = twin
        .cmd(dir.path())
        .args(["export", "--out", "x"])
        .assert()
        .success();
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("agent `agent-0` has several webhooks with one URL"),
        "{err}"
    );
}

#[test]
fn a_failed_read_writes_nothing() {
    let twin = TestTwin::with(
        FaultArgs {
            rate_503: 1.0,
            ..FaultArgs::default()
        },
        Store::default(),
    );
    let dir = tempfile::tempdir().unwrap();
    twin.cmd(dir.path())
        .args(["export", "--out", "x"])
        .assert()
        .code(1);
    assert!(!dir.path().join("x").exists());
}

#[test]
fn a_messy_account_exports_what_it_can_and_names_what_it_cannot() {
    let mut s = Store::default();
    let twice_a = common::add_workspace(&mut s, "Twice");
    let twice_b = common::add_workspace(&mut s, "Twice");
    let odd = common::add_workspace(&mut s, "Odd icon");
    s.update_workspace(&odd, &json!({"name": "Odd icon", "icon_config": "rocket"}))
        .unwrap();
    for (id, ws) in [
        ("in-twice", &twice_a),
        ("also-twice", &twice_b),
        ("fine", &odd),
    ] {
        s.create_agent(&json!({"agent_id": id, "workspace_id": ws}))
            .unwrap();
    }
    s.put_instructions("fine", &json!({"content": "line one\r\nline two\r\n"}))
        .unwrap();
    s.create_webhook(
        "fine",
        &json!({"url": "https://h.example/${HOOK}", "events": ["run.failed"]}),
    )
    .unwrap();
    // A schedule twinform's cron rules refuse (six fields) stays unmanaged.
    s.put_schedule("fine", &json!({"cron": "0 0 9 * * * *"}))
        .unwrap();
    s.schedules.get_mut("fine").unwrap().cron = "0 9 * * *".into();
    let twin = TestTwin::with(FaultArgs::default(), s);
    let dir = tempfile::tempdir().unwrap();
    let out = twin
        .cmd(dir.path())
        .args(["export", "--out", "x"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "workspaces {twice_a}, {twice_b} share the name `Twice`"
        )),
        "{err}"
    );
    assert!(err.contains("its icon is not a JSON document"), "{err}");
    assert!(err.contains("the schedule is left unmanaged"), "{err}");
    let agent = std::fs::read_to_string(dir.path().join("x/agents/fine.yaml")).unwrap();
    assert!(agent.contains("https://h.example/$${HOOK}"), "{agent}");
    assert!(!dir.path().join("x/agents/in-twice.yaml").exists());
    twin.cmd(dir.path())
        .args(["validate", "x"])
        .assert()
        .success();
    let out = twin
        .cmd(dir.path())
        .args(["plan", "--detailed-exitcode", "x"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // A filter that names nothing live is an error, not "Exported 0".
    let out = twin
        .cmd(dir.path())
        .args(["export", "--out", "y", "--agent", "fien"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains(r#"--agent "fien": nothing live has that name (did you mean "fine"?)"#));
    assert!(!dir.path().join("y").exists());
}

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

/// The binary in `dir`, against the embedded emulators (state in `state/`).
fn local(dir: &std::path::Path, args: &[&str]) -> (i32, String) {
    let out = assert_cmd::Command::cargo_bin("twinform")
        .unwrap()
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("CRM_TOKEN")
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

/// Every file below `dir`, relative to it.
fn files_below(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

/// Rename live ids in an emulator's state file (every string equal to a key).
fn rename_in_state(path: &std::path::Path, renames: &[(&str, String)]) {
    fn walk(v: &mut serde_json::Value, renames: &[(&str, String)]) {
        match v {
            serde_json::Value::String(s) => {
                if let Some((_, to)) = renames.iter().find(|(from, _)| from == s) {
                    *s = to.clone();
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(|x| walk(x, renames)),
            serde_json::Value::Object(m) => {
                let old = std::mem::take(m);
                for (k, mut x) in old {
                    walk(&mut x, renames);
                    let k = renames
                        .iter()
                        .find(|(from, _)| *from == k)
                        .map_or(k, |(_, to)| to.clone());
                    m.insert(k, x);
                }
            }
            _ => {}
        }
    }
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    walk(&mut state, renames);
    std::fs::write(path, state.to_string()).unwrap();
}

#[test]
fn paths_from_hostile_live_ids_stay_inside_out_for_every_provider() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let abs = outside.path().join("abs-escaped").display().to_string();
    let d = dir.path();
    let cadenya = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/cadenya");
    common::copy_dir(&cadenya, &d.join("cadenya"));
    common::write_tree(
        d,
        &[
            ("twin/m.yaml", "kind: Workspace\nname: ../../../../ws-escaped\n---\nkind: Agent\nid: zz-hostile\nworkspace: ../../../../ws-escaped\ninstructions: hi\n---\nkind: Agent\nid: fine\nworkspace: ../../../../ws-escaped\ninstructions: hello\n"),
            ("twig/m.yaml", &format!("kind: TwigAgent\nname: ../../../../twig-escaped\nsystem_prompt: hi\nmodel: gpt-4\ndata_sources: []\n---\nkind: TwigAgent\nname: {abs}\nsystem_prompt: yo\nmodel: gpt-4\ndata_sources: []\n")),
        ],
    );
    for tree in ["twin", "twig", "cadenya"] {
        let (code, text) = local(d, &["apply", "--auto-approve", tree]);
        assert_eq!(code, 0, "{text}");
    }
    rename_in_state(
        &d.join("state/local.json"),
        &[("zz-hostile", "../../../../agent-escaped".into())],
    );
    rename_in_state(
        &d.join("state/local.cadenya.json"),
        &[
            ("ask", "../../../../agent-escaped".into()),
            ("frontend", abs.clone()),
            ("crm-token", "../secret-escaped".into()),
            // Ids Cadenya takes that are still no file names as they are.
            ("playbooks", "..".into()),
            ("refunds", ".hidden".into()),
        ],
    );
    for provider in ["twin", "twig", "cadenya"] {
        let before = files_below(d);
        let out = format!("deep/a/b/{provider}");
        let (code, text) = local(d, &["export", "--provider", provider, "--out", &out]);
        let written: Vec<String> = files_below(d)
            .into_iter()
            .filter(|f| !before.contains(f) && !f.starts_with(".twinform/"))
            .collect();
        assert!(
            written.iter().all(|f| f.starts_with(&format!("{out}/"))),
            "{provider} wrote outside --out: {written:?}\n{text}"
        );
        assert!(written.len() > 1, "{provider}: {written:?}\n{text}");
        match provider {
            "twin" => {
                assert_eq!(code, 1, "{text}");
                assert!(
                    text.contains(
                        "agent `../../../../agent-escaped`: its id is not one a manifest can hold"
                    ),
                    "{text}"
                );
            }
            "cadenya" => {
                assert_eq!(code, 1, "{text}");
                for (what, id) in [
                    ("agent", "../../../../agent-escaped"),
                    ("tool set", abs.as_str()),
                    ("secret", "../secret-escaped"),
                ] {
                    assert!(
                        text.contains(&format!("not exported: {what} `{id}` in `development`: its externalId is not one a manifest can hold")),
                        "{text}"
                    );
                }
                assert!(
                    written.contains(&format!(
                        "{out}/cadenya/development/memory/~2E./~2Ehidden.md"
                    )),
                    "{written:?}"
                );
            }
            _ => assert_eq!(code, 0, "{text}"),
        }
    }
    assert_eq!(files_below(outside.path()), Vec::<String>::new());
    // What was exported is a tree that plans clean.
    for provider in ["twin", "twig", "cadenya"] {
        let (code, text) = local(
            d,
            &[
                "plan",
                "--detailed-exitcode",
                &format!("deep/a/b/{provider}"),
            ],
        );
        assert_eq!(code, 0, "{provider}: {text}");
    }
}

#[test]
fn export_never_writes_a_known_secret() {
    const TWIG_KEY: &str = "twig_live_key_0123456789abcdef";
    let mut s = Store::default();
    let ws = common::add_workspace(&mut s, "Ops");
    s.create_agent(&json!({"agent_id": "leaky", "workspace_id": ws}))
        .unwrap();
    s.put_instructions(
        "leaky",
        &json!({"content": format!("Use {TWIG_KEY} and {} to call the APIs.", common::KEY)}),
    )
    .unwrap();
    let twin = TestTwin::with(FaultArgs::default(), s);
    let dir = tempfile::tempdir().unwrap();
    let out = twin
        .cmd(dir.path())
        .env("TWIG_API_KEY", TWIG_KEY)
        .args(["export", "--out", "x"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("refusing to export: live values would put a secret known to this run")
            && err.contains("prompts/leaky.md"),
        "{err}"
    );
    assert!(
        !err.contains(TWIG_KEY) && !err.contains(common::KEY),
        "{err}"
    );
    assert!(!dir.path().join("x").exists(), "nothing was written");
}

#[cfg(unix)]
#[test]
fn a_link_planted_in_out_refuses_the_export_before_anything_is_written() {
    let specs = vec![Spec {
        ws: 0,
        text: Some(0),
        schedule: None,
        hooks: vec![],
        name: false,
    }];
    let twin = TestTwin::with(FaultArgs::default(), populate(&specs));
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("x")).unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("x/prompts")).unwrap();
    let out = twin
        .cmd(dir.path())
        .args(["export", "--out", "x", "--force"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("refusing to export:") && err.contains("resolves outside"),
        "{err}"
    );
    assert_eq!(files_below(outside.path()), Vec::<String>::new());
    assert_eq!(files_below(&dir.path().join("x")), Vec::<String>::new());
}

//! Unattended runs must survive a flaky API and hostile input: converge under
//! injected faults, lose and duplicate nothing, leak nothing, stop cleanly.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::BufRead;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{scenario_store, write_tree, TestTwin, HOOK_TOKEN, KEY, SCENARIO};
use twinform::cli::FaultArgs;
use twinform::providers::twin::diff::same_instructions;
use twinform::providers::twin::emulator::Store;

fn faults(seed: u64) -> FaultArgs {
    FaultArgs {
        rate_503: 0.15,
        rate_429: 0.05,
        rate_reset: 0.05,
        rate_spike: 0.03,
        spike_ms: 400,
        seed,
        ..FaultArgs::default()
    }
}

/// Webhooks per (agent, url) and workspaces per name: every count must be 1.
fn duplicates(s: &Store) -> Vec<String> {
    let mut out = Vec::new();
    let mut names: HashMap<&str, usize> = HashMap::new();
    for w in &s.workspaces {
        *names.entry(w.name.as_str()).or_default() += 1;
    }
    out.extend(
        names
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|(n, c)| format!("workspace {n} ×{c}")),
    );
    let mut hooks: HashMap<(String, String), usize> = HashMap::new();
    for w in s.webhooks.values() {
        *hooks
            .entry((w.agent_id.clone().unwrap_or_default(), w.url.clone()))
            .or_default() += 1;
    }
    out.extend(
        hooks
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|((a, u), c)| format!("webhook {a} {u} ×{c}")),
    );
    out
}

fn converge_under_faults(seed: u64) {
    let initial = scenario_store();
    let history_before: HashMap<String, usize> = initial
        .history
        .iter()
        .map(|(k, v)| (k.clone(), v.len()))
        .collect();
    let content_before: HashMap<String, String> = initial
        .instructions
        .iter()
        .map(|(k, v)| (k.clone(), v.content.clone()))
        .collect();
    let hooks_before: HashSet<String> = initial.webhooks.keys().cloned().collect();
    let twin = TestTwin::with(faults(seed), initial);
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), SCENARIO);
    let desired = common::desired(dir.path(), &[("HOOK_TOKEN", HOOK_TOKEN)]);
    let client = common::client_for(&twin.endpoint, Duration::from_millis(150));
    let secrets = dir.path().join("secrets.json");
    let mut runs = 0;
    loop {
        let (plan, _) = twin
            .rt
            .block_on(common::apply_once(&client, &desired, &secrets));
        if plan.is_empty() {
            break;
        }
        runs += 1;
        assert!(runs <= 3, "seed {seed}: not converged after 3 applies");
    }
    twin.store(|s| {
        assert_eq!(duplicates(s), Vec::<String>::new(), "seed {seed}");
        for a in &desired.agents {
            let Some(want) = &a.instructions else {
                continue;
            };
            let before = content_before
                .get(&a.id)
                .map(String::as_str)
                .unwrap_or_default();
            let real_change = usize::from(!same_instructions(before, want.expose()));
            let grew = s.history.get(&a.id).map_or(0, Vec::len)
                - history_before.get(&a.id).copied().unwrap_or(0);
            assert_eq!(
                grew, real_change,
                "seed {seed}: {} history grew by {grew}",
                a.id
            );
        }
        let saved: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&secrets).unwrap()).unwrap();
        for w in s
            .webhooks
            .values()
            .filter(|w| !hooks_before.contains(&w.webhook_id))
        {
            let key = format!(
                "{}/{}",
                w.agent_id.as_deref().unwrap_or_default(),
                w.webhook_id
            );
            assert_eq!(
                saved["webhooks"][&key]["signing_secret"].as_str(),
                w.signing_secret.as_deref(),
                "seed {seed}: secret of {key} lost"
            );
        }
    });
    let injected = twin.shared.stats.with_status(503) + twin.shared.stats.with_status(429);
    assert!(
        injected > 0,
        "seed {seed}: no faults were injected: {}",
        twin.shared.stats.to_json()
    );
}

#[test]
fn converges_under_faults_seeds_0_to_9() {
    (0..10).for_each(converge_under_faults);
}

#[test]
fn converges_under_faults_seeds_10_to_19() {
    (10..20).for_each(converge_under_faults);
}

// ---- bad input ----

fn extra_bad_inputs(dir: &Path) -> Vec<(String, std::path::PathBuf)> {
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("id-too-long", format!("kind: Agent\nid: {}\nworkspace: W\n", "a".repeat(65)).into_bytes()),
        ("webhooks-as-map", b"kind: Agent\nid: a\nworkspace: W\nwebhooks: {url: x}\n".to_vec()),
        ("schedule-as-string", b"kind: Agent\nid: a\nworkspace: W\nschedule: \"0 0 9 * * * *\"\n".to_vec()),
        ("subagent-yes", b"kind: Agent\nid: a\nworkspace: W\nsubagent: yes\n".to_vec()),
        ("event-number", b"kind: Agent\nid: a\nworkspace: W\nwebhooks:\n  - url: https://x.example\n    events: [run.failed, 5]\n".to_vec()),
        ("scalar-document", b"just a string\n".to_vec()),
        ("list-document", b"- kind: Agent\n".to_vec()),
        ("unterminated-interpolation", b"kind: Agent\nid: a\nworkspace: W\nwebhooks:\n  - url: https://x.example/${TOKEN\n    events: [run.failed]\n".to_vec()),
        ("tab-indentation", b"kind: Agent\nid: a\nworkspace: W\nschedule:\n\tcron: x\n".to_vec()),
        ("kind-null", b"kind: null\nname: x\n".to_vec()),
        ("invalid-utf8", b"kind: Workspace\nname: \xc3\x28\n".to_vec()),
        ("deep-nesting", format!("kind: Workspace\nname: {}{}\n", "[".repeat(10_000), "]".repeat(10_000)).into_bytes()),
    ];
    let mut bomb = String::from("kind: Workspace\nname: x\na: &a [x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        bomb.push_str(&format!(
            "a{i}: &a{i} [*a{}, *a{0}, *a{0}, *a{0}, *a{0}, *a{0}, *a{0}, *a{0}]\n",
            if i == 1 {
                String::new()
            } else {
                (i - 1).to_string()
            }
        ));
    }
    let bomb = bomb.replace("*a,", "*a ,").replace("[*a ,", "[*a,");
    cases.push(("alias-bomb", bomb.into_bytes()));
    let mut big = b"kind: Workspace\nname: x\n#".to_vec();
    big.resize(50 * 1024 * 1024, b'x');
    cases.push(("fifty-megabytes", big));
    let mut out = Vec::new();
    for (name, content) in cases {
        let case = dir.join(name);
        std::fs::create_dir_all(&case).unwrap();
        std::fs::write(case.join("m.yaml"), content).unwrap();
        out.push((name.to_string(), case));
    }
    #[cfg(unix)]
    {
        let case = dir.join("symlink-escape");
        std::fs::create_dir_all(&case).unwrap();
        std::fs::write(dir.join("outside-secret.txt"), "top secret").unwrap();
        std::os::unix::fs::symlink(dir.join("outside-secret.txt"), case.join("p.md")).unwrap();
        std::fs::write(case.join("m.yaml"), "kind: Workspace\nname: W\n---\nkind: Agent\nid: a\nworkspace: W\ninstructions: {file: p.md}\n").unwrap();
        out.push(("symlink-escape".into(), case));
    }
    out
}

#[test]
fn bad_input_exits_1_located_with_no_request_at_all() {
    let twin = TestTwin::start();
    let scratch = tempfile::tempdir().unwrap();
    let mut cases: Vec<(String, std::path::PathBuf)> = std::fs::read_dir("tests/fixtures/invalid")
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| {
            (
                e.file_name().to_string_lossy().to_string(),
                std::fs::canonicalize(e.path()).unwrap(),
            )
        })
        .collect();
    cases.extend(extra_bad_inputs(scratch.path()));
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let mut slowest = Duration::ZERO;
    for (name, case) in &cases {
        let started = Instant::now();
        let out = twin
            .cmd(scratch.path())
            .args(["plan", "-o", "json"])
            .arg(case)
            .output()
            .unwrap();
        slowest = slowest.max(started.elapsed());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {err}");
        assert!(!err.contains("panicked"), "{name} panicked: {err}");
        let located = err
            .lines()
            .any(|l| l.contains(".yaml:") || l.contains("╭─["));
        assert!(located, "{name}: no file:line:col in\n{err}");
        // `-o json` gets the problems document on stdout, never a plan.
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{name}: stdout is not the problems document: {e}"));
        assert_eq!(doc["valid"], false, "{name}");
        assert!(doc.get("changes").is_none(), "{name}: printed a plan");
    }
    assert_eq!(
        twin.shared
            .stats
            .total
            .load(std::sync::atomic::Ordering::Relaxed),
        0,
        "bad input reached the API"
    );
    // A hang guard, not a benchmark (debug build, busy CI machine).
    assert!(
        slowest < Duration::from_secs(5),
        "slowest case took {slowest:?}"
    );
    eprintln!("{} bad inputs, slowest {slowest:?}", cases.len());
}

// ---- secret hygiene ----

#[test]
fn no_secret_appears_in_any_output() {
    let twin = TestTwin::with(FaultArgs::default(), scenario_store());
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), SCENARIO);
    let mut seen = String::new();
    let mut run = |args: &[&str]| {
        // `-v` (request tracing) wherever the command makes requests.
        let verbose = !args.contains(&"validate");
        let out = twin
            .cmd(dir.path())
            .args(args)
            .args(verbose.then_some("-v"))
            .env("HOOK_TOKEN", HOOK_TOKEN)
            .output()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&out.stdout));
        seen.push_str(&String::from_utf8_lossy(&out.stderr));
        out.status.code()
    };
    run(&["validate", "."]);
    for format in ["text", "json", "markdown"] {
        run(&["plan", "-o", format, "--out", "plan.json", "."]);
    }
    let plan_file = std::fs::read_to_string(dir.path().join("plan.json")).unwrap();
    assert_eq!(
        run(&[
            "apply",
            "--auto-approve",
            "--max-destroy",
            "10",
            "-o",
            "json",
            "."
        ]),
        Some(0)
    );
    run(&["drift", "."]);
    run(&["drift", "-o", "json", "."]);
    run(&["export", "--out", "exported"]);
    let journal = std::fs::read_to_string(dir.path().join(".twinform/journal.ndjson")).unwrap();
    let signing: Vec<String> = twin.store(|s| {
        s.webhooks
            .values()
            .filter_map(|w| w.signing_secret.clone())
            .collect()
    });
    assert!(!signing.is_empty());
    for (what, text) in [
        ("output", &seen),
        ("plan file", &plan_file),
        ("journal", &journal),
    ] {
        assert!(!text.contains(KEY), "the API key is in the {what}");
        assert!(
            !text.contains(HOOK_TOKEN),
            "an interpolated value is in the {what}"
        );
        for s in &signing {
            assert!(
                !text.contains(s.as_str()),
                "a signing secret is in the {what}"
            );
        }
    }
    assert!(
        seen.contains("(sensitive)"),
        "nothing was redacted: the test proves nothing"
    );
}

// ---- interrupt and journal ----

/// An apply of 40 agents with a webhook each, slow enough to be stopped
/// midway: the twin, the folder and the running child, stopped after its
/// first webhook line.
#[cfg(unix)]
fn start_slow_apply() -> (
    TestTwin,
    tempfile::TempDir,
    std::process::Child,
    std::thread::JoinHandle<String>,
) {
    let twin = TestTwin::with(
        FaultArgs {
            latency_ms: 30,
            ..FaultArgs::default()
        },
        Store::default(),
    );
    let dir = tempfile::tempdir().unwrap();
    let docs: Vec<String> = (0..40)
        .map(|i| format!("kind: Agent\nid: int-{i:02}\nworkspace: My Workspace\ninstructions: \"agent {i}\"\nwebhooks:\n  - url: https://h.example/{i}\n    events: [run.failed]\n"))
        .collect();
    std::fs::write(dir.path().join("m.yaml"), docs.join("---\n")).unwrap();
    let bin = assert_cmd::cargo::cargo_bin("twinform");
    let mut child = std::process::Command::new(&bin)
        .current_dir(dir.path())
        .env("TWIN_ENDPOINT", &twin.endpoint)
        .env("TWIN_API_KEY", KEY)
        .args(["apply", "--auto-approve", "--parallelism", "2", "."])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    // Stop it once a webhook (and so a signing secret) exists.
    let mut line = String::new();
    while stdout.read_line(&mut line).unwrap() > 0 && !line.contains(".webhook[") {
        line.clear();
    }
    assert!(line.starts_with('✓'), "{line}");
    // The rest of stdout (the report goes on there) is read by the test.
    let rest = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut rest);
        rest
    });
    (twin, dir, child, rest)
}

/// Every live webhook's signing secret is in the secrets file.
fn every_secret_is_saved(twin: &TestTwin, dir: &Path) -> usize {
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(".twinform/secrets.json")).unwrap())
            .unwrap();
    let created: BTreeMap<String, String> = twin.store(|s| {
        s.webhooks
            .values()
            .map(|w| {
                (
                    format!("{}/{}", w.agent_id.clone().unwrap(), w.webhook_id),
                    w.signing_secret.clone().unwrap(),
                )
            })
            .collect()
    });
    for (key, secret) in &created {
        assert_eq!(
            saved["webhooks"][key]["signing_secret"],
            secret.as_str(),
            "{key}: secret not saved"
        );
    }
    created.len()
}

#[cfg(unix)]
#[test]
fn sigint_sigterm_and_sighup_finish_in_flight_keep_secrets_and_the_next_apply_converges() {
    for (signal, code) in [("INT", 130), ("TERM", 143), ("HUP", 129)] {
        let (twin, dir, mut child, rest) = start_slow_apply();
        std::process::Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap();
        let status = child.wait().unwrap();
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
        let out = rest.join().unwrap();
        assert_eq!(status.code(), Some(code), "SIG{signal}: {err}");
        // The report, summary included, is on stdout.
        assert!(out.contains("Apply interrupted"), "{out}\n{err}");
        assert!(
            out.lines().filter(|l| l.contains("skipped")).count() <= 1,
            "one line per change not started:\n{out}"
        );
        let created = every_secret_is_saved(&twin, dir.path());
        assert!(
            created > 0 && created < 40,
            "SIG{signal}: stopped too late or too early: {created} webhooks"
        );
        let resume = twin
            .cmd(dir.path())
            .args(["apply", "--resume"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&resume.stdout);
        assert!(text.contains("operations done, 0 unfinished"), "{text}");
        twin.assert_converges(dir.path());
        assert_eq!(twin.store(|s| s.webhooks.len()), 40);
    }
}

#[cfg(unix)]
#[test]
fn after_a_hard_kill_a_webhook_whose_secret_was_never_stored_is_replaced() {
    let (twin, dir, mut child, _) = start_slow_apply();
    child.kill().unwrap();
    child.wait().unwrap();
    // Whatever the kill cut short, applying again leaves no webhook whose
    // secret nobody has.
    twin.assert_converges(dir.path());
    assert_eq!(every_secret_is_saved(&twin, dir.path()), 40);

    // Deterministically: a journal whose create started and never finished.
    let twin = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("m.yaml"),
        "kind: Agent\nid: h\nworkspace: My Workspace\nwebhooks:\n  - url: https://a.example/x\n    events: [run.failed]\n",
    )
    .unwrap();
    twin.store(|s| {
        s.create_agent(&serde_json::json!({"agent_id": "h"}))
            .unwrap();
        s.create_webhook(
            "h",
            &serde_json::json!({"url": "https://a.example/x", "events": ["run.failed"]}),
        )
        .unwrap();
    });
    let address = r#"agent[\"h\"].webhook[\"https://a.example/x\"]"#;
    std::fs::create_dir_all(dir.path().join(".twinform")).unwrap();
    std::fs::write(
        dir.path().join(".twinform/journal.ndjson"),
        format!(
            "{{\"ts\":\"t\",\"apply_id\":\"x-999999999\",\"address\":\"\",\"op\":\"\",\"event\":\"begin\"}}\n\
             {{\"ts\":\"t\",\"apply_id\":\"x-999999999\",\"address\":\"{address}\",\"op\":\"create_webhook\",\"event\":\"start\",\"secret\":true}}\n"
        ),
    )
    .unwrap();
    let out = twin.cmd(dir.path()).args(["plan", "."]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("signing secret was never stored"), "{text}");
    assert!(
        text.contains("1 to add, 0 to change, 1 to destroy"),
        "{text}"
    );
    twin.assert_converges(dir.path());
    assert_eq!(every_secret_is_saved(&twin, dir.path()), 1);
}

// ---- concurrent appliers ----

/// A webhook POST that the server commits only after the client timed out
/// must not leave a second webhook (one whose secret nobody has) behind.
#[test]
fn webhook_creates_that_commit_after_the_client_gave_up_leave_no_duplicate() {
    let mut store = Store::default();
    for i in 0..12 {
        store
            .create_agent(&serde_json::json!({"agent_id": format!("late-{i}")}))
            .unwrap();
    }
    let twin = TestTwin::with(
        FaultArgs {
            rate_late_commit: 0.3,
            spike_ms: 400,
            seed: 7,
            ..FaultArgs::default()
        },
        store,
    );
    let dir = tempfile::tempdir().unwrap();
    let docs: Vec<String> = (0..12)
        .map(|i| format!("kind: Agent\nid: late-{i}\nworkspace: My Workspace\nwebhooks:\n  - url: https://h.example/{i}\n    events: [run.failed]\n"))
        .collect();
    std::fs::write(dir.path().join("m.yaml"), docs.join("---\n")).unwrap();
    let out = twin
        .cmd(dir.path())
        .args(["apply", "--auto-approve", "--timeout", "0.15", "."])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    // Let any write still in the server's hands land before looking.
    std::thread::sleep(Duration::from_millis(600));
    twin.store(|s| assert_eq!(duplicates(s), Vec::<String>::new(), "{err}"));
    assert!(
        twin.shared
            .stats
            .count("DELETE", "/v1/agents/{id}/webhooks/{wid}")
            > 0,
        "no create committed late: the test proves nothing"
    );
    if out.status.code() == Some(0) {
        assert_eq!(every_secret_is_saved(&twin, dir.path()), 12, "{err}");
    }
}

/// Three applies of one tree at once, against a server whose timestamps
/// have one-second resolution and whose ids are random (so neither says which
/// of two webhooks came first): every run must end with exactly one webhook
/// per URL, one workspace per name, every live secret on disk, all exit 0.
#[test]
fn three_applies_at_once_converge_whatever_the_clock_resolution() {
    let trials: u64 = std::env::var("TWINFORM_RACE_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    for trial in 0..trials {
        let twin = TestTwin::with(
            FaultArgs {
                latency_ms: 20,
                coarse_clock: true,
                seed: trial,
                ..FaultArgs::default()
            },
            Store::default(),
        );
        let dir = tempfile::tempdir().unwrap();
        let mut docs = vec!["kind: Workspace\nname: Shared\n".to_string()];
        docs.extend((0..4).map(|i| {
            format!("kind: Agent\nid: r-{i}\nworkspace: Shared\nwebhooks:\n  - url: https://h.example/{i}\n    events: [run.failed]\n")
        }));
        std::fs::write(dir.path().join("m.yaml"), docs.join("---\n")).unwrap();
        let bin = assert_cmd::cargo::cargo_bin("twinform");
        let spawn = || {
            std::process::Command::new(&bin)
                .current_dir(dir.path())
                .env("TWIN_ENDPOINT", &twin.endpoint)
                .env("TWIN_API_KEY", KEY)
                .args(["apply", "--auto-approve", "."])
                .output()
                .unwrap()
        };
        let outs: Vec<std::process::Output> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..3).map(|_| s.spawn(spawn)).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let errs: String = outs
            .iter()
            .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
            .collect::<Vec<_>>()
            .join("\n---\n");
        twin.store(|s| {
            assert_eq!(
                duplicates(s),
                Vec::<String>::new(),
                "trial {trial}:\n{errs}"
            )
        });
        for o in &outs {
            assert_eq!(o.status.code(), Some(0), "trial {trial}:\n{errs}");
        }
        assert_eq!(every_secret_is_saved(&twin, dir.path()), 4, "trial {trial}");
        twin.assert_converges(dir.path());
    }
}

#[test]
fn two_applies_at_once_never_create_twice() {
    for seed in 0..3 {
        let twin = TestTwin::with(
            FaultArgs {
                latency_ms: 15,
                seed,
                ..FaultArgs::default()
            },
            Store::default(),
        );
        let dir = tempfile::tempdir().unwrap();
        let mut docs = vec!["kind: Workspace\nname: Shared\n".to_string()];
        docs.extend((0..8).map(|i| {
            format!("kind: Agent\nid: c-{i}\nworkspace: Shared\ninstructions: \"c {i}\"\nwebhooks:\n  - url: https://h.example/{i}\n    events: [run.failed]\n")
        }));
        std::fs::write(dir.path().join("m.yaml"), docs.join("---\n")).unwrap();
        let bin = assert_cmd::cargo::cargo_bin("twinform");
        let spawn = || {
            std::process::Command::new(&bin)
                .current_dir(dir.path())
                .env("TWIN_ENDPOINT", &twin.endpoint)
                .env("TWIN_API_KEY", KEY)
                .args(["apply", "--auto-approve", "."])
                .output()
        };
        let (a, b) = std::thread::scope(|s| {
            let a = s.spawn(spawn);
            let b = s.spawn(spawn);
            (a.join().unwrap().unwrap(), b.join().unwrap().unwrap())
        });
        let errs = format!(
            "{}\n{}",
            String::from_utf8_lossy(&a.stderr),
            String::from_utf8_lossy(&b.stderr)
        );
        twin.store(|s| assert_eq!(duplicates(s), Vec::<String>::new(), "seed {seed}:\n{errs}"));
        twin.assert_converges(dir.path());
        let saved: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join(".twinform/secrets.json")).unwrap(),
        )
        .unwrap();
        twin.store(|s| {
            assert_eq!(s.webhooks.len(), 8);
            for w in s.webhooks.values() {
                let key = format!("{}/{}", w.agent_id.clone().unwrap(), w.webhook_id);
                assert_eq!(
                    saved["webhooks"][&key]["signing_secret"].as_str(),
                    w.signing_secret.as_deref(),
                    "seed {seed}: {key}"
                );
            }
        });
    }
}

// ---- previous values of sensitive fields ----

/// Rotate an interpolated token and an interpolated webhook URL: the old
/// values (known to the live service, never to the redactor) must appear in
/// no output, saved plan, event or journal.
#[test]
fn previous_values_of_sensitive_fields_are_masked_everywhere() {
    let twin = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("m.yaml"),
        "kind: Agent\nid: rot\nworkspace: My Workspace\ninstructions: |\n  Use token ${TOK} for the CRM.\n  Be brief.\nschedule:\n  cron: \"0 0 ${HOUR} * * * *\"\nwebhooks:\n  - url: https://hooks.example.com/twin/${HOOK}\n    events: [run.failed]\n  - url: https://hooks.slack.com/services/T0/B0/literalsecret42\n    events: [run.failed]\n    sensitive: true\n",
    )
    .unwrap();
    let old = [
        ("TOK", "old-token-1111"),
        ("HOOK", "old-hook-2222"),
        ("HOUR", "7"),
    ];
    let new = [
        ("TOK", "new-token-3333"),
        ("HOOK", "new-hook-4444"),
        ("HOUR", "8"),
    ];
    let run = |env: &[(&str, &str)], args: &[&str]| {
        let mut c = twin.cmd(dir.path());
        for (k, v) in env {
            c.env(k, v);
        }
        let out = c.args(args).output().unwrap();
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    run(&old, &["apply", "--auto-approve", "."]);
    let mut seen = String::new();
    for format in ["text", "json", "markdown"] {
        seen.push_str(&run(&new, &["plan", "-o", format, "--out", "p.json", "."]));
        seen.push_str(&std::fs::read_to_string(dir.path().join("p.json")).unwrap());
    }
    seen.push_str(&run(&new, &["drift", "."]));
    seen.push_str(&run(&new, &["drift", "-o", "json", "."]));
    seen.push_str(&run(
        &new,
        &[
            "apply",
            "--auto-approve",
            "-o",
            "json",
            "--max-destroy",
            "9",
            ".",
        ],
    ));
    seen.push_str(&std::fs::read_to_string(dir.path().join(".twinform/journal.ndjson")).unwrap());
    for (name, value) in old.iter().chain(&new).filter(|(n, _)| *n != "HOUR") {
        assert!(!seen.contains(value), "{name}={value} leaked:\n{seen}");
    }
    assert!(
        !seen.contains("literalsecret42"),
        "a sensitive: true URL leaked"
    );
    assert!(
        !seen.contains("\"0 0 7 * * * *\""),
        "the previous interpolated cron leaked"
    );
    // Masked, not missing: the plan still says what changes where.
    assert!(
        seen.contains("instructions   a sensitive value changed (not shown)"),
        "{seen}"
    );
    assert!(
        seen.contains("schedule       a sensitive value changed (not shown)"),
        "{seen}"
    );
    assert!(
        seen.contains("https://hooks.slack.com/(sensitive)"),
        "{seen}"
    );
    assert!(
        seen.contains("https://hooks.example.com/twin/(sensitive)"),
        "{seen}"
    );
}

#[test]
fn urls_that_differ_only_in_a_secret_keep_distinct_addresses() {
    let twin = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("m.yaml"),
        "kind: Agent\nid: two\nworkspace: My Workspace\nwebhooks:\n  - url: https://h.example/${A}\n    events: [run.failed]\n  - url: https://h.example/${B}\n    events: [run.completed]\n",
    )
    .unwrap();
    let out = twin
        .cmd(dir.path())
        .env("A", "aaaa-1")
        .env("B", "bbbb-2")
        .args(["plan", "-o", "json", "."])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let addrs: Vec<&str> = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["address"].as_str().unwrap())
        .filter(|a| a.contains(".webhook["))
        .collect();
    assert_eq!(addrs.len(), 2);
    assert_ne!(
        addrs[0], addrs[1],
        "one address for two webhooks: --target would hit both"
    );
    let target = addrs[1].to_string();
    let out = twin
        .cmd(dir.path())
        .env("A", "aaaa-1")
        .env("B", "bbbb-2")
        .args(["plan", "-o", "json", "--target", &target, "."])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let hooks = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["address"].as_str().unwrap().contains(".webhook["))
        .count();
    assert_eq!(hooks, 1, "--target {target} matched {hooks} webhooks");
}

/// Prompts are text from a pull request: escape sequences must not reach a
/// reviewer's terminal, and lines that look alike must look different.
#[test]
fn hostile_and_invisible_text_is_shown_visibly() {
    let twin = TestTwin::start();
    twin.store(|s| {
        s.create_agent(&serde_json::json!({"agent_id": "t"}))
            .unwrap();
        s.put_instructions("t", &serde_json::json!({"content": "same\ncafé\nline\n"}))
            .unwrap();
    });
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p.md"),
        "\u{feff}same \ncafe\u{301}\nline\u{1b}[2K\u{1b}[1A erased\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("m.yaml"),
        "kind: Agent\nid: t\nworkspace: My Workspace\ninstructions: {file: p.md}\n",
    )
    .unwrap();
    for format in ["text", "markdown"] {
        let out = twin
            .cmd(dir.path())
            .args(["plan", "-o", format, "."])
            .env("CLICOLOR_FORCE", "1")
            .env_remove("NO_COLOR")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let raw_escapes = text.matches('\u{1b}').count();
        let our_colours = text.matches("\u{1b}[").count()
            - text.matches("\u{1b}[2K").count()
            - text.matches("\u{1b}[1A").count();
        assert_eq!(
            raw_escapes, our_colours,
            "{format}: a prompt's escape reached the terminal:\n{text}"
        );
        assert!(text.contains("␛[2K␛[1A erased"), "{format}:\n{text}");
        assert!(
            text.contains("+same·"),
            "{format}: trailing space invisible:\n{text}"
        );
        assert!(
            text.contains("+cafe<U+0301>"),
            "{format}: NFD invisible:\n{text}"
        );
    }
}

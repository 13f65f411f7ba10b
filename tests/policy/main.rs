//! Policies end to end: the binary with `--policy` against each platform's
//! emulator. A deny stops validate, plan and apply (located at the field it
//! names, nothing written); a warn is in every format; exceptions exempt
//! rules as in conftest; a broken or endless policy is a located error; the
//! input holds no secret; `policy test` passes and fails like `opa test`;
//! the starter set's tests pass; plans count prompt tokens.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use tokio::runtime::Runtime;
use twinform::cli::FaultArgs;
use twinform::engine::emulation::{Emulator, Shared};
mod plans;

/// One platform's emulator, in process, and the binary pointed at it.
struct Platform<S: Serialize + DeserializeOwned + Send + 'static> {
    rt: Runtime,
    shared: Arc<Shared<S>>,
    emulator: Option<Emulator<S>>,
    env: Vec<(&'static str, String)>,
}

macro_rules! platform {
    ($provider:ident, $store:expr, $faults:expr, $endpoint:literal, $key:literal) => {{
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let config = $faults.config();
        let emulator = rt
            .block_on(twinform::providers::$provider::emulator::start_with(
                "127.0.0.1:0",
                None,
                &config,
                $store,
            ))
            .unwrap();
        Platform {
            env: vec![
                ($endpoint, emulator.endpoint()),
                ($key, "policy_test_key_0123456789abcdef".to_string()),
            ],
            shared: emulator.shared.clone(),
            emulator: Some(emulator),
            rt,
        }
    }};
}

fn twin() -> Platform<twinform::providers::twin::emulator::Store> {
    platform!(
        twin,
        Default::default(),
        FaultArgs::default(),
        "TWIN_ENDPOINT",
        "TWIN_API_KEY"
    )
}

fn twig() -> Platform<twinform::providers::twig::emulator::Store> {
    let fast = FaultArgs {
        time_scale: 600.0,
        ..FaultArgs::default()
    };
    platform!(
        twig,
        Default::default(),
        fast,
        "TWIG_ENDPOINT",
        "TWIG_API_KEY"
    )
}

fn cadenya() -> Platform<twinform::providers::cadenya::emulator::Store> {
    platform!(
        cadenya,
        twinform::providers::cadenya::emulator::Store::seeded(),
        FaultArgs::default(),
        "CADENYA_ENDPOINT",
        "CADENYA_API_KEY"
    )
}

/// How a command ended: its code, stdout and stderr.
struct Run {
    code: i32,
    out: String,
    err: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.out).unwrap_or_else(|e| panic!("{e}: {}", self.out))
    }
}

impl<S: Serialize + DeserializeOwned + Send + 'static> Platform<S> {
    fn run(&self, dir: &Path, args: &[&str]) -> Run {
        let mut c = assert_cmd::Command::cargo_bin("twinform").unwrap();
        c.current_dir(dir)
            .env("NO_COLOR", "1")
            .env_remove("TWIN_API_KEY")
            .env_remove("TWIG_API_KEY")
            .env_remove("CADENYA_API_KEY");
        for (k, v) in &self.env {
            c.env(k, v);
        }
        let out = c.args(args).output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            out: String::from_utf8_lossy(&out.stdout).into_owned(),
            err: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn writes(&self) -> u64 {
        self.shared.stats.writes()
    }

    fn requests(&self) -> u64 {
        self.shared.stats.reads() + self.writes()
    }
}

impl<S: Serialize + DeserializeOwned + Send + 'static> Drop for Platform<S> {
    fn drop(&mut self) {
        if let Some(e) = self.emulator.take() {
            let _ = self.rt.block_on(e.stop());
        }
    }
}

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (name, content) in files {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
}

/// A tree with the starter set in `policy/`.
fn starter(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = assert_cmd::Command::cargo_bin("twinform")
        .unwrap()
        .current_dir(dir.path())
        .args(["policy", "init", "policy"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    write(dir.path(), files);
    dir
}

/// The problems of a problems document, as `(severity, file:line, message, help)`.
fn problems(doc: &Value) -> Vec<(String, String, String, String)> {
    doc["problems"]
        .as_array()
        .unwrap_or_else(|| panic!("not a problems document: {doc:#}"))
        .iter()
        .map(|p| {
            let at = format!(
                "{}:{}",
                p["position"]["file"].as_str().unwrap_or("?"),
                p["position"]["line"]
            );
            (
                p["severity"].as_str().unwrap_or("?").to_string(),
                at,
                p["message"].as_str().unwrap_or("?").to_string(),
                p["help"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

const TWIN_HTTP_WEBHOOK: &str = "kind: Workspace
name: Ops
---
kind: Agent
id: digest
workspace: Ops
instructions: |
  Summarize the inbox.
webhooks:
  - url: http://hooks.example.com/digest
    events: [run.failed]
";

#[test]
fn a_deny_blocks_validate_plan_and_apply_on_twin_at_the_field_it_names() {
    let twin = twin();
    let dir = starter(&[("m.yaml", TWIN_HTTP_WEBHOOK)]);
    let d = dir.path();

    let v = twin.run(d, &["validate", "--policy", "policy", "m.yaml"]);
    assert_eq!(v.code, 1, "{}", v.err);
    assert!(v.err.contains("[m.yaml:10:10]"), "{}", v.err);
    assert!(
        v.err
            .contains("webhook http://hooks.example.com/digest is not HTTPS"),
        "{}",
        v.err
    );
    assert!(
        v.err.contains("denied by main.deny_webhook_not_https"),
        "{}",
        v.err
    );

    let plan = twin.run(d, &["plan", "--policy", "policy", "-o", "json", "m.yaml"]);
    assert_eq!(plan.code, 1, "{}", plan.err);
    let found = problems(&plan.json());
    assert_eq!(found.len(), 1, "{found:?}");
    let (severity, at, message, help) = &found[0];
    assert_eq!((severity.as_str(), at.as_str()), ("error", "m.yaml:10"));
    assert_eq!(
        message,
        "webhook http://hooks.example.com/digest is not HTTPS"
    );
    assert!(
        help.starts_with("policy main.deny_webhook_not_https (policy/main.rego:"),
        "{help}"
    );

    let drift = twin.run(d, &["drift", "--policy", "policy", "m.yaml"]);
    assert_eq!(
        drift.code, 1,
        "drift exits 1 on a deny, not 2: {}",
        drift.err
    );
    assert!(drift.err.contains("[m.yaml:10:10]"), "{}", drift.err);

    let md = twin.run(
        d,
        &["plan", "--policy", "policy", "-o", "markdown", "m.yaml"],
    );
    assert_eq!(md.code, 1);
    assert!(
        md.out
            .starts_with("<!-- twinform-plan -->\n### twinform plan: refused by policy: 1 error"),
        "{}",
        md.out
    );
    assert!(md.out.contains("`m.yaml:10:10` **error**"), "{}", md.out);

    let annotations = twin.run(
        d,
        &[
            "plan",
            "--policy",
            "policy",
            "--annotations",
            "github",
            "m.yaml",
        ],
    );
    assert!(
        annotations
            .err
            .contains("::error file=m.yaml,line=10,col=10,"),
        "{}",
        annotations.err
    );

    let apply = twin.run(
        d,
        &[
            "apply",
            "--auto-approve",
            "--policy",
            "policy",
            "-o",
            "json",
            "m.yaml",
        ],
    );
    assert_eq!(apply.code, 1, "{}", apply.err);
    let last: Value = serde_json::from_str(apply.out.lines().last().unwrap()).unwrap();
    assert_eq!(last["type"], "error");
    assert_eq!(last["kind"], "refused");
    assert!(last["message"]
        .as_str()
        .unwrap()
        .contains("nothing was changed"));
    assert_eq!(twin.writes(), 0, "a denied apply wrote");

    // Without the policy the same tree applies: the deny was what stopped it.
    let ok = twin.run(d, &["apply", "--auto-approve", "m.yaml"]);
    assert_eq!(ok.code, 0, "{}", ok.err);
    assert!(twin.writes() > 0);
}

#[test]
fn a_deny_blocks_twig_and_cadenya_too_and_nothing_is_written() {
    let twig = twig();
    let dir = starter(&[(
        "twig.yaml",
        "kind: TwigAgent\nname: Reports\nsystem_prompt: Summarize the reports.\nmodel: gpt-4o\ntemperature: 0.9\ndata_sources: []\n",
    )]);
    let d = dir.path();
    let validate = twig.run(d, &["validate", "--policy", "policy", "."]);
    assert_eq!(validate.code, 1, "{}", validate.err);
    assert!(
        validate.err.contains("[./twig.yaml:5:14]"),
        "{}",
        validate.err
    );
    let plan = twig.run(d, &["plan", "--policy", "policy", "-o", "json", "."]);
    assert_eq!(plan.code, 1, "{}", plan.err);
    let found = problems(&plan.json());
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].1, "./twig.yaml:5");
    assert_eq!(found[0].2, "temperature 0.9 is above the allowed 0.7");
    let apply = twig.run(d, &["apply", "--auto-approve", "--policy", "policy", "."]);
    assert_eq!(apply.code, 1, "{}", apply.err);
    assert!(apply.err.contains("[./twig.yaml:5:14]"), "{}", apply.err);
    assert!(
        apply
            .err
            .contains("the policies deny this plan (1 error, above): nothing was changed"),
        "{}",
        apply.err
    );
    assert_eq!(twig.writes(), 0);

    let cadenya = cadenya();
    let dir = starter(&[]);
    let d = dir.path();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/cadenya");
    for rel in ["cadenya.yaml", "prompts/ask.md", "memory/refunds.md"] {
        let text = std::fs::read_to_string(src.join(rel)).unwrap();
        let text = text.replace("    temperature: 0.2\n", "    temperature: 0.95\n");
        write(d, &[(rel, &text)]);
    }
    let line = std::fs::read_to_string(d.join("cadenya.yaml"))
        .unwrap()
        .lines()
        .position(|l| l.contains("temperature: 0.95"))
        .unwrap()
        + 1;
    let apply = cadenya.run(
        d,
        &[
            "apply",
            "--auto-approve",
            "--policy",
            "policy",
            "cadenya.yaml",
        ],
    );
    assert_eq!(apply.code, 1, "{}", apply.err);
    assert!(
        apply.err.contains(&format!("[cadenya.yaml:{line}:18]")),
        "{}",
        apply.err
    );
    assert!(
        apply.err.contains("denied by main.deny_temperature"),
        "{}",
        apply.err
    );
    assert_eq!(cadenya.writes(), 0);
    let validate = cadenya.run(
        d,
        &[
            "validate",
            "--policy",
            "policy",
            "-o",
            "json",
            "cadenya.yaml",
        ],
    );
    assert_eq!(validate.code, 1);
    assert_eq!(
        problems(&validate.json())[0].1,
        format!("cadenya.yaml:{line}")
    );
    let plan = cadenya.run(
        d,
        &["plan", "--policy", "policy", "-o", "json", "cadenya.yaml"],
    );
    assert_eq!(plan.code, 1, "{}", plan.err);
    let found = problems(&plan.json());
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].1, format!("cadenya.yaml:{line}"));
    assert_eq!(found[0].2, "temperature 0.95 is above the allowed 0.7");
    assert_eq!(cadenya.writes(), 0);
}

const WARN_SHORT: &str = r#"package main

warn contains {"msg": sprintf("instructions are only %d tokens", [p.tokens]), "address": r.address, "field": p.path} if {
	some r in input.resources
	some p in r.prompts
	p.tokens < 10
}
"#;

#[test]
fn a_warn_is_in_every_format() {
    let twin = twin();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        &[
            ("m.yaml", &TWIN_HTTP_WEBHOOK.replace("http://", "https://")),
            ("policy/warn.rego", WARN_SHORT),
        ],
    );
    let v = twin.run(
        d,
        &["validate", "--policy", "policy", "-o", "json", "m.yaml"],
    );
    assert_eq!(v.code, 0, "{}", v.err);
    let found = problems(&v.json());
    assert_eq!(found.len(), 1);
    assert_eq!(
        (
            found[0].0.as_str(),
            found[0].1.as_str(),
            found[0].2.as_str()
        ),
        ("warning", "m.yaml:8", "instructions are only 6 tokens")
    );
    let located =
        "m.yaml:8:3: instructions are only 6 tokens (policy main.warn (policy/warn.rego:3))";

    let text = twin.run(d, &["plan", "--policy", "policy", "m.yaml"]);
    assert_eq!(text.code, 0, "{}", text.err);
    assert!(
        text.out.contains(&format!("warning: {located}")),
        "{}",
        text.out
    );
    assert!(text.err.contains("warned by main.warn"), "{}", text.err);

    let json = twin.run(d, &["plan", "--policy", "policy", "-o", "json", "m.yaml"]);
    assert_eq!(json.code, 0);
    let warnings = json.json()["warnings"].clone();
    assert_eq!(warnings, serde_json::json!([located]));

    let md = twin.run(
        d,
        &["plan", "--policy", "policy", "-o", "markdown", "m.yaml"],
    );
    assert!(
        md.out
            .contains("> warning: m.yaml:8:3: instructions are only 6 tokens"),
        "{}",
        md.out
    );

    let gh = twin.run(
        d,
        &[
            "validate",
            "--policy",
            "policy",
            "--annotations",
            "github",
            "m.yaml",
        ],
    );
    assert!(
        gh.out.contains("::warning file=m.yaml,line=8,col=3,"),
        "{}",
        gh.out
    );

    // A warn never stops an apply.
    let apply = twin.run(
        d,
        &["apply", "--auto-approve", "--policy", "policy", "m.yaml"],
    );
    assert_eq!(apply.code, 0, "{}", apply.err);
    assert!(
        apply.err.contains(&format!("warning: {located}")),
        "{}",
        apply.err
    );
}

const EXCEPTIONS: &str = r#"package main

deny_short contains {"msg": "too short", "address": r.address, "field": "instructions"} if {
	some r in input.resources
	some p in r.prompts
	p.tokens < 10
}

exception contains ["short"] if input.command == "validate"
"#;

#[test]
fn exceptions_exempt_named_rules_as_in_conftest() {
    let twin = twin();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        &[
            ("m.yaml", &TWIN_HTTP_WEBHOOK.replace("http://", "https://")),
            ("policy/p.rego", EXCEPTIONS),
        ],
    );
    let v = twin.run(d, &["validate", "--policy", "policy", "m.yaml"]);
    assert_eq!(v.code, 0, "{}", v.err);
    assert!(
        v.err
            .contains("policy exception: main.deny_short (1 finding excepted)"),
        "{}",
        v.err
    );
    // The exception holds for validate only: a plan is denied.
    let plan = twin.run(d, &["plan", "--policy", "policy", "m.yaml"]);
    assert_eq!(plan.code, 1, "{}", plan.err);
    assert!(plan.err.contains("too short"), "{}", plan.err);

    // An exception names a rule without its prefix; a bare `deny` has none.
    write(
        d,
        &[(
            "policy/p.rego",
            &EXCEPTIONS.replace("deny_short", "deny").replace(
                "exception contains [\"short\"] if input.command == \"validate\"",
                "exception contains [\"\"] if true",
            ),
        )],
    );
    let v = twin.run(d, &["validate", "--policy", "policy", "m.yaml"]);
    assert_eq!(v.code, 1, "{}", v.err);
}

#[test]
fn a_broken_policy_is_a_located_error_before_anything_is_read() {
    let twin = twin();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        &[
            ("m.yaml", TWIN_HTTP_WEBHOOK),
            (
                "policy/ok.rego",
                "package main\n\nwarn contains \"x\" if false\n",
            ),
            (
                "policy/broken.rego",
                "package main\n\ndeny contains msg if {\n\tmsg := \"x\"\n\tinput.a ==\n}\n",
            ),
        ],
    );
    let v = twin.run(
        d,
        &["validate", "--policy", "policy", "-o", "json", "m.yaml"],
    );
    assert_eq!(v.code, 1);
    let found = problems(&v.json());
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].1, "policy/broken.rego:6");
    assert!(found[0].2.starts_with("policy error: "), "{found:?}");
    let plan = twin.run(d, &["plan", "--policy", "policy", "m.yaml"]);
    assert_eq!(plan.code, 1);
    assert!(
        plan.err.contains("[policy/broken.rego:6:1]"),
        "{}",
        plan.err
    );
    assert_eq!(
        twin.requests(),
        0,
        "a broken policy must stop the plan before it reads"
    );

    // A rule that fails while it is evaluated names its file and line.
    write(
        d,
        &[(
            "policy/broken.rego",
            "package main\n\ndeny contains {\"address\": \"x\"} if true\n",
        )],
    );
    let v = twin.run(
        d,
        &["validate", "--policy", "policy", "-o", "json", "m.yaml"],
    );
    assert_eq!(v.code, 1);
    let found = problems(&v.json());
    assert_eq!(found[0].1, "policy/broken.rego:3");
    assert!(found[0].2.contains("without a `msg` string"), "{found:?}");
    write(
        d,
        &[(
            "policy/broken.rego",
            "package main\n\ndeny contains msg if {\n\tx := 1 / 0\n\tmsg := sprintf(\"%v\", [x])\n}\n",
        )],
    );
    let v = twin.run(
        d,
        &["validate", "--policy", "policy", "-o", "json", "m.yaml"],
    );
    assert_eq!(v.code, 1, "{}", v.out);
    let found = problems(&v.json());
    assert_eq!(found[0].1, "policy/broken.rego:4", "{found:?}");

    // A policy cannot hang the tool.
    write(
        d,
        &[(
            "policy/broken.rego",
            "package main\n\ndeny contains \"never\" if {\n\tsome i in numbers.range(1, 100000)\n\tsome j in numbers.range(1, 100000)\n\ti + j < 0\n}\n",
        )],
    );
    let started = Instant::now();
    let v = twin.run(
        d,
        &[
            "validate",
            "--policy",
            "policy",
            "--policy-timeout",
            "1",
            "m.yaml",
        ],
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(v.code, 1);
    assert!(
        v.err.contains("policy evaluation stopped after"),
        "{}",
        v.err
    );
    assert!(v.err.contains("[policy/broken.rego:3:1]"), "{}", v.err);

    // No policy files at all, and a namespace nobody declares, are errors too.
    std::fs::create_dir_all(d.join("empty")).unwrap();
    let v = twin.run(d, &["validate", "--policy", "empty", "m.yaml"]);
    assert_eq!(v.code, 1);
    assert!(v.err.contains("no policies found (*.rego)"), "{}", v.err);
    write(
        d,
        &[(
            "policy/broken.rego",
            "package org.agents\n\ndeny contains \"no\" if false\n",
        )],
    );
    let v = twin.run(
        d,
        &[
            "validate",
            "--policy",
            "policy",
            "--namespace",
            "org.agent",
            "m.yaml",
        ],
    );
    assert_eq!(v.code, 1);
    assert!(
        v.err.contains("did you mean `--namespace org.agents`?"),
        "{}",
        v.err
    );
    let v = twin.run(
        d,
        &[
            "validate",
            "--policy",
            "policy",
            "--namespace",
            "org.agents",
            "m.yaml",
        ],
    );
    assert_eq!(v.code, 0, "{}", v.err);
}

#[test]
fn the_input_holds_no_secret_and_matches_what_plans_show() {
    let twin = twin();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let secret = "tok-very-secret-0123456789";
    write(
        d,
        &[
            (
                "m.yaml",
                "kind: Workspace\nname: Ops\n---\nkind: Agent\nid: digest\nworkspace: Ops\ninstructions: \"Call with ${API_TOKEN} only.\"\nwebhooks:\n  - url: https://hooks.example.com/${API_TOKEN}\n    events: [run.failed]\n  - url: https://hooks.slack.com/services/T0/B0/literalsecretpath\n    events: [run.failed]\n    sensitive: true\n",
            ),
            // Every rule sees the whole input; this one says all of it.
            ("policy/p.rego", "package main\n\ndeny contains json.marshal(input) if true\n"),
        ],
    );
    let mut cmd = assert_cmd::Command::cargo_bin("twinform").unwrap();
    let shown = cmd
        .current_dir(d)
        .env("API_TOKEN", secret)
        .args(["policy", "input", "m.yaml"])
        .output()
        .unwrap();
    let input = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.status.success(), "{input}");
    assert!(
        !input.contains(secret) && !input.contains("literalsecretpath"),
        "{input}"
    );
    let doc: Value = serde_json::from_str(&input).unwrap();
    let agent = &doc["resources"][1];
    assert_eq!(agent["kind"], "TwinAgent");
    assert_eq!(agent["address"], "agent[\"digest\"]");
    assert_eq!(agent["line"], 4);
    assert_eq!(
        agent["fields"]["instructions"]["text"],
        "Call with (sensitive) only."
    );
    assert_eq!(
        agent["fields"]["webhooks"][0]["url"],
        "https://hooks.example.com/(sensitive)"
    );
    assert_eq!(
        agent["fields"]["webhooks"][1]["url"],
        "https://hooks.slack.com/(sensitive)"
    );
    assert_eq!(doc["command"], "validate");
    assert_eq!(doc["changes"], serde_json::json!([]));

    let mut env = twin.env.clone();
    env.push(("API_TOKEN", secret.to_string()));
    for args in [
        &["validate", "--policy", "policy", "-o", "json", "m.yaml"][..],
        &["plan", "--policy", "policy", "-o", "json", "m.yaml"],
        &["apply", "--auto-approve", "--policy", "policy", "m.yaml"],
    ] {
        let mut c = assert_cmd::Command::cargo_bin("twinform").unwrap();
        c.current_dir(d).env("NO_COLOR", "1");
        for (k, v) in &env {
            c.env(k, v);
        }
        let out = c.args(args).output().unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(1), "{args:?}: {all}");
        assert!(!all.contains(secret), "{args:?} leaked: {all}");
        assert!(all.contains("(sensitive)"), "{args:?}: {all}");
    }
    assert_eq!(twin.writes(), 0);
}

#[test]
fn policy_test_passes_and_fails_like_opa_test() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = |args: &[&str]| {
        let out = assert_cmd::Command::cargo_bin("twinform")
            .unwrap()
            .current_dir(d)
            .env("NO_COLOR", "1")
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert_eq!(run(&["policy", "init", "policy"]).0, 0);
    let (code, out, err) = run(&["policy", "test", "policy"]);
    assert_eq!(code, 0, "{out}{err}");
    let total = twinform_starter_tests();
    assert_eq!(out.trim(), format!("PASS: {total}/{total}"));
    // init never overwrites.
    let (code, _, err) = run(&["policy", "init", "policy"]);
    assert_eq!(code, 1);
    assert!(err.contains("already exist"), "{err}");

    write(
        d,
        &[(
            "policy/extra_test.rego",
            "package extra_test\n\ntest_false if {\n\tprint(\"looked at\", 1)\n\t1 == 2\n}\n\ntest_error if {\n\tx := 1 / 0\n\tx > 0\n}\n\ntest_true if true\n",
        )],
    );
    let (code, out, _) = run(&["policy", "test", "policy"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("data.extra_test.test_false: FAIL"), "{out}");
    assert!(
        out.contains("  policy/extra_test.rego:4: looked at 1"),
        "{out}"
    );
    assert!(
        out.contains("data.extra_test.test_error: ERROR: divide by zero"),
        "{out}"
    );
    assert!(
        !out.contains("test_true"),
        "passing tests are listed with -v only: {out}"
    );
    assert!(
        out.ends_with(&format!(
            "PASS: {}/{}\nFAIL: 2/{}\n",
            total + 1,
            total + 3,
            total + 3
        )),
        "{out}"
    );
    let (_, out, _) = run(&["policy", "test", "-v", "policy"]);
    assert!(out.contains("data.extra_test.test_true: PASS"), "{out}");

    write(
        d,
        &[(
            "none/p.rego",
            "package main\n\ndeny contains \"x\" if false\n",
        )],
    );
    let (code, _, err) = run(&["policy", "test", "none"]);
    assert_eq!(code, 1);
    assert!(err.contains("no tests"), "{err}");
}

/// How many tests the starter set has.
fn twinform_starter_tests() -> usize {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/commands/policy/starter/main_test.rego"),
    )
    .unwrap();
    let n = text.lines().filter(|l| l.starts_with("test_")).count();
    assert!(n >= 20, "{n}");
    n
}

#[test]
fn the_example_uses_the_starter_set_and_passes_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let example = root.join("examples/policy");
    let dir = starter(&[]);
    for entry in std::fs::read_dir(dir.path().join("policy")).unwrap() {
        let p = entry.unwrap().path();
        let name = p.file_name().unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            std::fs::read_to_string(example.join("policy").join(name)).unwrap_or_default(),
            "examples/policy/policy/{} differs from `twinform policy init`: run `cargo run -- policy init --force examples/policy/policy`",
            name.to_string_lossy()
        );
    }
    let run = |args: &[&str]| {
        assert_cmd::Command::cargo_bin("twinform")
            .unwrap()
            .current_dir(root)
            .env("NO_COLOR", "1")
            .args(args)
            .output()
            .unwrap()
    };
    let tested = run(&["policy", "test", "examples/policy/policy"]);
    assert!(tested.status.success(), "{tested:?}");
    let checked = run(&[
        "validate",
        "--policy",
        "examples/policy/policy",
        "examples/policy",
    ]);
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    // The policy dir is skipped as a manifest tree (it holds no YAML), and
    // each starter rule has something in the example to judge.
    let input = run(&["policy", "input", "examples/policy"]);
    let doc: Value = serde_json::from_slice(&input.stdout).unwrap();
    let kinds: Vec<&str> = doc["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["kind"].as_str())
        .collect();
    for kind in ["TwinAgent", "TwigAgent", "CadenyaAgent", "CadenyaWorkspace"] {
        assert!(
            kinds.contains(&kind),
            "{kind} missing from the example: {kinds:?}"
        );
    }
}

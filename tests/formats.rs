//! Every machine output matches its checked-in JSON Schema (`schema/`), and
//! the schemas describe every field the output has: validated strictly here
//! (no field outside the schema), while the published schemas allow fields
//! they do not know, so additive changes keep the format version.

mod common;

use std::path::Path;

use common::{write_tree, TestTwin};
use serde_json::{json, Value};

const BASE: &str = "https://github.com/twinform/twinform/schema/";

fn load(name: &str) -> Value {
    let text = std::fs::read_to_string(Path::new("schema").join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// `schema` with `additionalProperties: false` on every object schema that
/// lists its properties (but not on one that branches with `oneOf`, whose
/// branches list them).
fn strict(schema: &mut Value) {
    match schema {
        Value::Object(m) => {
            if m.contains_key("properties")
                && !m.contains_key("additionalProperties")
                && !m.contains_key("oneOf")
            {
                m.insert("additionalProperties".into(), json!(false));
            }
            m.values_mut().for_each(strict);
        }
        Value::Array(a) => a.iter_mut().for_each(strict),
        _ => {}
    }
}

fn validator(name: &str) -> jsonschema::Validator {
    // Schemas refer to each other by $id.
    let mut options = jsonschema::options();
    for other in ["plan.schema.json", "error.schema.json"] {
        let mut s = load(other);
        strict(&mut s);
        options = options.with_resource(
            format!("{BASE}{other}"),
            jsonschema::Resource::from_contents(s).unwrap(),
        );
    }
    let mut schema = load(name);
    strict(&mut schema);
    options.build(&schema).unwrap()
}

fn check(name: &str, doc: &Value) {
    let v = validator(name);
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{name}: {errors:#?}\n{doc:#}");
}

const TREE: &str = "kind: Workspace\nname: Ops\n---\nkind: Agent\nid: digest\nworkspace: Ops\ninstructions: |\n  Summarize.\nschedule: {cron: \"0 0 9 * * MON-FRI *\"}\nwebhooks:\n  - url: https://hooks.example.com/d\n    events: [run.failed]\n";

fn run(twin: &TestTwin, dir: &Path, args: &[&str]) -> (i32, String) {
    let out = twin.cmd(dir).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn every_machine_output_matches_its_schema() {
    let twin = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("m.yaml", TREE)]);

    let (_, plan) = run(&twin, dir.path(), &["plan", "-o", "json", "."]);
    let plan: Value = serde_json::from_str(&plan).unwrap();
    assert!(plan["changes"].as_array().unwrap().len() >= 4);
    check("plan.schema.json", &plan);

    let (code, _) = run(&twin, dir.path(), &["plan", "--out", "p.json", "."]);
    assert_eq!(code, 0);
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("p.json")).unwrap()).unwrap();
    check("saved-plan.schema.json", &saved);
    let (_, shown) = run(&twin, dir.path(), &["show", "-o", "json", "p.json"]);
    check("plan.schema.json", &serde_json::from_str(&shown).unwrap());

    let (code, events) = run(
        &twin,
        dir.path(),
        &[
            "apply",
            "--auto-approve",
            "-o",
            "json",
            "--secrets-out",
            "s.json",
            "p.json",
        ],
    );
    assert_eq!(code, 0, "{events}");
    let mut types = Vec::new();
    for line in events.lines() {
        let e: Value = serde_json::from_str(line).unwrap();
        types.push(e["type"].as_str().unwrap().to_string());
        check("apply-event.schema.json", &e);
    }
    assert_eq!(types.last().map(String::as_str), Some("summary"));
    assert!(types.iter().filter(|t| *t == "change").count() >= 4);
    let secrets: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("s.json")).unwrap()).unwrap();
    check("secrets.schema.json", &secrets);
    assert_eq!(secrets["webhooks"].as_object().unwrap().len(), 1);

    // Drift after a live change, and a no-op apply's single summary.
    twin.store(|s| s.instructions.get_mut("digest").unwrap().content = "Changed.\n".into());
    let (code, drift) = run(&twin, dir.path(), &["drift", "-o", "json", "."]);
    assert_eq!(code, 2);
    check("plan.schema.json", &serde_json::from_str(&drift).unwrap());

    write_tree(
        dir.path(),
        &[(
            "bad/m.yaml",
            "kind: Agent\nid: bad id\nworkspace: Ops\nshedule: {}\n",
        )],
    );
    let (code, problems) = run(&twin, dir.path(), &["validate", "-o", "json", "bad"]);
    assert_eq!(code, 1);
    let problems: Value = serde_json::from_str(&problems).unwrap();
    assert!(
        problems["problems"][0]["position"]["line"].is_u64(),
        "{problems:#}"
    );
    check("problems.schema.json", &problems);

    // A refused apply ends its event stream with an error event; a plan that
    // cannot read prints the error document.
    let (code, _) = run(&twin, dir.path(), &["plan", "--out", "p2.json", "m.yaml"]);
    assert_eq!(code, 0);
    twin.store(|s| s.instructions.get_mut("digest").unwrap().content = "Changed again.\n".into());
    let (code, events) = run(
        &twin,
        dir.path(),
        &["apply", "--auto-approve", "-o", "json", "p2.json"],
    );
    assert_eq!(code, 1);
    let last: Value = serde_json::from_str(events.lines().last().unwrap()).unwrap();
    assert_eq!(
        (last["type"].as_str(), last["kind"].as_str()),
        (Some("error"), Some("refused")),
        "{events}"
    );
    check("apply-event.schema.json", &last);
    let out = twin
        .cmd(dir.path())
        .env("TWIN_ENDPOINT", "http://127.0.0.1:9")
        .args(["plan", "-o", "json", "--timeout", "1", "m.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["type"], "error");
    check("error.schema.json", &doc);
}

/// The input policies receive: offline (`policy input`, as `validate`
/// gives it) over trees with templates, files, crons and intervals of every
/// provider, and in a plan (the library's own step, against the emulator),
/// with changes and their token counts.
#[test]
fn the_policy_input_matches_its_schema() {
    use twinform::engine::session::{self, ConnectOptions, LoadOptions};
    for example in ["examples/policy", "examples/cadenya", "examples/twig"] {
        let out = assert_cmd::Command::cargo_bin("twinform")
            .unwrap()
            .args(["policy", "input", example])
            .output()
            .unwrap();
        assert!(out.status.success(), "{example}: {out:?}");
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(!doc["resources"].as_array().unwrap().is_empty());
        check("policy-input.schema.json", &doc);
    }

    let twin = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("m.yaml", TREE)]);
    let providers = twinform::providers::all();
    let env = |_: &str| None;
    let options = LoadOptions {
        declared: true,
        ..LoadOptions::default()
    };
    let tree = session::load_with(dir.path(), &providers, &env, &options)
        .desired
        .expect("valid");
    let doc = twin.rt.block_on(async {
        let connect = ConnectOptions {
            endpoints: [("twin".to_string(), twin.endpoint.clone())].into(),
            timeout: std::time::Duration::from_secs(5),
            connect_timeout: std::time::Duration::from_secs(2),
            ..ConnectOptions::default()
        };
        let env = |k: &str| (k == "TWIN_API_KEY").then(|| common::KEY.to_string());
        let parts: Vec<_> = tree.parts.iter().map(|p| p.provider.clone()).collect();
        let connected = session::connect(&parts, &connect, &env, &Default::default())
            .await
            .unwrap();
        let planned = session::plan(
            &tree,
            &connected,
            &Default::default(),
            &Default::default(),
            4,
        )
        .await
        .unwrap();
        connected.close().await;
        twinform::engine::policy::input::document("plan", &planned.plan, &tree.declared)
    });
    assert_eq!(doc["command"], "plan");
    let changes = doc["changes"].as_array().unwrap();
    assert!(
        changes.iter().any(|c| c["tokens"]["after"].is_u64()),
        "{doc:#}"
    );
    assert_eq!(doc["resources"].as_array().unwrap().len(), 2);
    check("policy-input.schema.json", &doc);
}

#[test]
fn every_machine_format_carries_its_versions() {
    // The schemas themselves say which version they describe.
    for name in [
        "plan",
        "saved-plan",
        "apply-event",
        "problems",
        "secrets",
        "error",
        "policy-input",
    ] {
        let s = load(&format!("{name}.schema.json"));
        assert_eq!(s["properties"]["format_version"]["const"], "1", "{name}");
        assert!(
            s["required"]
                .as_array()
                .unwrap()
                .contains(&json!("format_version")),
            "{name}"
        );
        assert_eq!(s["$id"], format!("{BASE}{name}.schema.json"));
    }
}

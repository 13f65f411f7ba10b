//! The Twin tables are complete: generated from `src/providers/twin/tables.rs`,
//! for every field a table manages of every Twin resource (workspaces,
//! agents and their instructions, schedules, webhooks), changing it live
//! makes `plan` show exactly that field under the manifest's key, `pull`
//! writes it back so that the next plan is empty, and `export` of that live
//! state plans empty. A field added to a table later is covered (or this
//! test fails until it has a sample).

mod common;

use std::collections::BTreeSet;

use common::{write_tree, TestTwin};
use serde_json::{json, Value};
use twinform::engine::manifest::Text;
use twinform::engine::resource::{at, leaves, set_at, to_wire, Field, Table, Ty, Val};
use twinform::providers::twin::emulator::Store;
use twinform::providers::twin::tables;

/// Where a table's instances live in the tree, in the store and in plans.
#[derive(Clone, Copy, PartialEq)]
enum Place {
    Workspace,
    Agent,
    Schedule,
    Webhook,
}

const PLACES: [(Place, &Table); 4] = [
    (Place::Workspace, &tables::WORKSPACE),
    (Place::Agent, &tables::AGENT),
    (Place::Schedule, &tables::SCHEDULE),
    (Place::Webhook, &tables::WEBHOOK),
];

/// A value of `f` in the manifest's form: the declared one (`live` false)
/// or the one set live; distinct per case `i`.
fn sample(f: &Field, i: usize, live: bool) -> Value {
    let ab = if live { "b" } else { "a" };
    match (f.ty, f.key) {
        (Ty::Text, "icon") => json!(format!("{{\"emoji\":\"{ab}{i}\"}}")),
        (Ty::Text, "cron") => json!(format!(
            "0 {} {} * * * *",
            i % 60,
            if live { 10 } else { 9 }
        )),
        (Ty::Str | Ty::Text, _) => json!(format!("{}-{ab}-{i}", f.key.replace('_', "-"))),
        (Ty::LongText, _) => json!(format!("Text {ab} {i}.\n")),
        (Ty::Bool | Ty::Flag { .. }, _) => json!(live),
        (Ty::List { .. }, "events") => {
            if live {
                json!(["run.completed", "run.failed"])
            } else {
                json!(["run.failed"])
            }
        }
        (ty, _) => panic!("no sample for {} ({ty:?})", f.name()),
    }
}

/// The manifest lines of one instance: every field the table manages.
fn lines(table: &'static Table, i: usize, indent: &str) -> String {
    leaves(table)
        .iter()
        .map(|f| format!("{indent}{}: {}\n", f.key, sample(f, i, false)))
        .collect()
}

/// One case: a field of a table, changed live on its own instance.
struct Case {
    place: Place,
    field: &'static Field,
    /// The workspace name or agent id of its instance.
    id: String,
}

impl Case {
    fn url(&self) -> String {
        format!("https://{}.example.com/hook", self.id)
    }

    /// The address of the change that shows the field.
    fn address(&self) -> String {
        let agent = format!("agent[\"{}\"]", self.id);
        match self.place {
            Place::Workspace => format!("workspace[\"{}\"]", self.id),
            // Instructions are their own resource in Twin's API (and plan).
            Place::Agent if self.field.key == "instructions" => format!("{agent}.instructions"),
            Place::Agent => agent,
            Place::Schedule => format!("{agent}.schedule"),
            Place::Webhook => format!("{agent}.webhook[\"{}\"]", self.url()),
        }
    }
}

fn tree(cases: &[Case]) -> String {
    let mut docs = vec!["kind: Workspace\nname: main\n".to_string()];
    for (n, c) in cases.iter().enumerate() {
        let table = PLACES.iter().find(|(p, _)| *p == c.place).unwrap().1;
        let agent = format!("kind: Agent\nid: {}\nworkspace: main\n", c.id);
        docs.push(match c.place {
            Place::Workspace => format!("kind: Workspace\nname: {}\n{}", c.id, lines(table, n, "")),
            Place::Agent => format!("{agent}{}", lines(table, n, "")),
            Place::Schedule => format!("{agent}schedule:\n{}", lines(table, n, "  ")),
            Place::Webhook => format!(
                "{agent}webhooks:\n  - url: {}\n{}",
                c.url(),
                lines(table, n, "    ")
            ),
        });
    }
    docs.join("---\n")
}

/// The live value `f` is set to, on the wire.
fn wire_value(f: &Field, n: usize) -> Value {
    let v = sample(f, n, true);
    let val = match (f.ty, &v) {
        (Ty::Text | Ty::LongText, Value::String(s)) => Val::Text(Text::plain(s)),
        _ => Val::Json(v),
    };
    to_wire(f, &val)
}

/// Set `path` of a wire record to `value` through its JSON form.
fn set<T: serde::Serialize + serde::de::DeserializeOwned>(
    record: &mut T,
    path: &str,
    value: Value,
) {
    let mut v = serde_json::to_value(&*record).unwrap();
    set_at(&mut v, path, value);
    *record = serde_json::from_value(v).unwrap();
}

/// Change case `n`'s field live, in the emulator's store.
fn drift(s: &mut Store, c: &Case, n: usize) {
    let value = wire_value(c.field, n);
    let path = c.field.wire.read;
    match c.place {
        Place::Workspace => {
            let w = s.workspaces.iter_mut().find(|w| w.name == c.id).unwrap();
            set(w, path, value);
        }
        Place::Agent => match path.strip_prefix("instructions.") {
            Some(rest) => set(s.instructions.get_mut(&c.id).unwrap(), rest, value),
            None => set(s.agents.get_mut(&c.id).unwrap(), path, value),
        },
        Place::Schedule => set(s.schedules.get_mut(&c.id).unwrap(), path, value),
        Place::Webhook => {
            let w = s
                .webhooks
                .values_mut()
                .find(|w| w.agent_id.as_deref() == Some(c.id.as_str()))
                .unwrap();
            set(w, path, value);
        }
    }
}

/// `(address, key)` of every field whose after differs from its before.
fn changed(plan: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for c in plan["changes"].as_array().into_iter().flatten() {
        let address = c["address"].as_str().unwrap_or_default().to_string();
        let before = c["before"].as_object().cloned().unwrap_or_default();
        let after = c["after"].as_object().cloned().unwrap_or_default();
        let mut any = false;
        for (k, v) in &after {
            if before.get(k) != Some(v) && !["content_sha256", "lines"].contains(&k.as_str()) {
                out.push((address.clone(), k.clone()));
                any = true;
            }
        }
        if !any {
            out.push((address, String::new()));
        }
    }
    out
}

fn plan_json(t: &TestTwin, dir: &std::path::Path) -> Value {
    let out = t
        .cmd(dir)
        .args(["plan", "-o", "json", "."])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{e}: {text}{}", String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn every_managed_twin_field_plans_pulls_and_exports_under_its_key() {
    let mut cases = Vec::new();
    for (place, table) in PLACES {
        for f in leaves(table) {
            let prefix = match place {
                Place::Workspace => "wk",
                Place::Agent => "ag",
                Place::Schedule => "sc",
                Place::Webhook => "wh",
            };
            cases.push(Case {
                place,
                field: f,
                id: format!("{prefix}{}", cases.len()),
            });
        }
    }
    let covered: BTreeSet<&str> = cases.iter().map(|c| c.field.key).collect();
    for key in [
        "icon",
        "subagent",
        "derived_from",
        "instructions",
        "cron",
        "paused",
        "events",
        "enabled",
    ] {
        assert!(covered.contains(key), "{key} is not on a table");
    }

    let t = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("twin.yaml", &tree(&cases))]);
    t.assert_converges(dir.path());
    t.store(|s| {
        for (n, c) in cases.iter().enumerate() {
            drift(s, c, n);
        }
    });

    // Plan: each case's change shows exactly its field. A replaced agent
    // (a create-only field) re-creates its instructions too.
    let plan = plan_json(&t, dir.path());
    let shown = changed(&plan);
    let mut broken = Vec::new();
    for c in &cases {
        let address = c.address();
        let here: Vec<&str> = shown
            .iter()
            .filter(|(a, _)| *a == address)
            .map(|(_, k)| k.as_str())
            .collect();
        let want = if c.field.key == "instructions" {
            ""
        } else {
            c.field.key
        };
        if here != [want] {
            broken.push(format!("plan: {address} shows {here:?}, not [{want:?}]"));
        }
    }
    for (a, k) in &shown {
        let ours = cases.iter().any(|c| {
            *a == c.address() || (c.field.nature.create_only && a.starts_with(&c.address()))
        });
        if !ours {
            broken.push(format!("plan: unexpected change {a} {k}"));
        }
    }

    // Export of the drifted state plans empty.
    let out_dir = tempfile::tempdir().unwrap();
    let out_arg = out_dir.path().display().to_string();
    t.cmd(dir.path())
        .args(["export", "--out", &out_arg])
        .assert()
        .success();
    for (a, k) in changed(&plan_json(&t, out_dir.path())) {
        broken.push(format!("export: its plan changes {a} {k}"));
    }

    // Pull writes every field back: the next plan is empty.
    let out = t.cmd(dir.path()).args(["pull", "."]).output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{said}");
    for (a, k) in changed(&plan_json(&t, dir.path())) {
        broken.push(format!("pull: {a} {k} still changes after pull"));
    }
    if !said.contains(&format!(
        "Pulled {} drifted values into 1 file.",
        cases.len()
    )) {
        broken.push(format!("pull: not {} values: {said}", cases.len()));
    }
    assert!(
        broken.is_empty(),
        "{}\n\n{}",
        broken.join("\n"),
        std::fs::read_to_string(dir.path().join("twin.yaml")).unwrap()
    );
    // The fields' live places are where the tables say (read back here).
    t.store(|s| {
        let c = cases.iter().find(|c| c.field.key == "icon").unwrap();
        let w = s.workspaces.iter().find(|w| w.name == c.id).unwrap();
        let v = serde_json::to_value(w).unwrap();
        assert!(at(&v, c.field.wire.read).is_some());
    });
}

/// Review: a live text holding `${` is written back as the manifest reads
/// it. Before, pull wrote a live icon `{"emoji":"${HOOK_X}"}` as is, so the
/// next apply sent the value of HOOK_X (a secret of the run) to the
/// server; a live `derived_from: x${var.env}` was pulled and exported as
/// is and read back as `xprod` (a replacement); `${HOOK_X}` in an id,
/// which no manifest can hold, was exported as a broken document.
#[test]
fn live_text_holding_a_placeholder_is_pulled_and_exported_as_written() {
    let t = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    let tree = "kind: Variables\nvars:\n  env: prod\n---\nkind: Workspace\nname: W\nicon: '{\"emoji\":\"a\"}'\n---\n\
                kind: Agent\nid: one\nworkspace: W\nderived_from: base\ninstructions: hi\n---\n\
                kind: Agent\nid: two\nworkspace: W\nderived_from: other\ninstructions: hi\n";
    write_tree(dir.path(), &[("twin.yaml", tree)]);
    t.assert_converges(dir.path());
    t.store(|s| {
        let w = s.workspaces.iter_mut().find(|w| w.name == "W").unwrap();
        w.icon_config = Some("{\"emoji\":\"${HOOK_X}\"}".into());
        s.agents.get_mut("one").unwrap().derived_from_agent_id = Some("x${var.env}".into());
        s.agents.get_mut("two").unwrap().derived_from_agent_id = Some("${HOOK_X}".into());
    });
    let run = |args: &[&str], at: &std::path::Path| {
        let out = t
            .cmd(at)
            .env("HOOK_X", "hook-secret-value")
            .args(args)
            .output()
            .unwrap();
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    let said = run(&["pull", "."], dir.path());
    assert!(
        said.contains("derived_from drifted to a value holding `${`"),
        "{said}"
    );
    let written = std::fs::read_to_string(dir.path().join("twin.yaml")).unwrap();
    assert!(
        written.contains("$${HOOK_X}") && written.contains("derived_from: x$${var.env}"),
        "{written}"
    );
    let out = t
        .cmd(dir.path())
        .env("HOOK_X", "hook-secret-value")
        .args(["plan", "-o", "json", "."])
        .output()
        .unwrap();
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    let addresses: Vec<&str> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["address"].as_str())
        .collect();
    // Only `two` (its live derived_from cannot be written) still differs.
    assert!(
        addresses.iter().all(|a| a.starts_with("agent[\"two\"]")),
        "{addresses:?}"
    );
    assert!(!plan.to_string().contains("hook-secret-value"));

    let out_dir = tempfile::tempdir().unwrap();
    let out_arg = out_dir.path().display().to_string();
    let said = run(&["export", "--out", &out_arg], dir.path());
    assert!(said.contains("`derived_from` holds `${`"), "{said}");
    std::fs::write(
        out_dir.path().join("vars.yaml"),
        "kind: Variables\nvars:\n  env: prod\n",
    )
    .unwrap();
    let plan = run(&["plan", "."], out_dir.path());
    assert!(plan.contains("No changes."), "{plan}");
}

/// A live prompt holding `${…}` is pulled back as it reads: escaped
/// (`$${HOOK_X}`) where the manifest holds it inline (inline text is
/// interpolated), byte for byte into its `{file: …}` (a prompt file is not);
/// either way the next plan is empty and never holds the secret's value.
/// `rollback` writes an old version the same way (`NewValue::LongText`).
#[test]
fn a_live_prompt_holding_a_placeholder_is_pulled_as_it_reads_inline_and_in_files() {
    let t = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    let tree = "kind: Workspace\nname: W\n---\nkind: Agent\nid: inline\nworkspace: W\ninstructions: hi\n---\n\
                kind: Agent\nid: filed\nworkspace: W\ninstructions: {file: filed.md}\n";
    write_tree(dir.path(), &[("twin.yaml", tree), ("filed.md", "hello\n")]);
    t.assert_converges(dir.path());
    let live = "Use ${HOOK_X} here.\n";
    t.store(|s| {
        for id in ["inline", "filed"] {
            s.put_instructions(id, &serde_json::json!({ "content": live }))
                .unwrap();
        }
    });
    let run = |args: &[&str]| {
        let out = t
            .cmd(dir.path())
            .env("HOOK_X", "hook-secret-value")
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (code, said) = run(&["pull", "."]);
    assert_eq!(code, Some(0), "{said}");
    let manifest = std::fs::read_to_string(dir.path().join("twin.yaml")).unwrap();
    assert!(manifest.contains("Use $${HOOK_X} here."), "{manifest}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("filed.md")).unwrap(),
        live,
        "a prompt file is not interpolated: written as live"
    );
    let (code, plan) = run(&["plan", "-o", "json", "."]);
    assert_eq!(code, Some(0), "{plan}");
    let plan: Value = serde_json::from_str(&plan).unwrap();
    assert_eq!(plan["changes"], serde_json::json!([]), "{plan:#}");
    assert!(!plan.to_string().contains("hook-secret-value"));
}

/// A prompt pulled escaped (`$${HOOK_X}`) is pulled again when it changes
/// live once more: the escape reads as a literal `${`, not as an
/// interpolation the writer must leave for a person (it refused, and the
/// next plan showed the drift).
#[test]
fn an_escaped_prompt_is_pulled_again_when_it_changes_again() {
    let t = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    let tree =
        "kind: Workspace\nname: W\n---\nkind: Agent\nid: a\nworkspace: W\ninstructions: |\n  hi\n";
    write_tree(dir.path(), &[("twin.yaml", tree)]);
    t.assert_converges(dir.path());
    let run = |args: &[&str]| {
        let out = t
            .cmd(dir.path())
            .env("HOOK_X", "hook-secret-value")
            .args(args)
            .output()
            .unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(0), "{said}");
        said
    };
    for live in ["Use ${HOOK_X} here.\n", "Use ${HOOK_X} there.\n"] {
        t.store(|s| {
            s.put_instructions("a", &serde_json::json!({ "content": live }))
                .unwrap();
        });
        let said = run(&["pull", "."]);
        assert!(!said.contains("left for a person"), "{said}");
        let plan = run(&["plan", "."]);
        assert!(plan.contains("No changes."), "{plan}");
        assert!(!plan.contains("hook-secret-value"), "{plan}");
    }
    let manifest = std::fs::read_to_string(dir.path().join("twin.yaml")).unwrap();
    assert!(manifest.contains("Use $${HOOK_X} there."), "{manifest}");
}

/// A live prompt holding a byte-order mark is pulled into an inline
/// manifest value quoted with the mark escaped (`\uFEFF`): written plain or
/// raw inside quotes, YAML reads it as nothing and the writer refused.
#[test]
fn a_live_prompt_holding_a_byte_order_mark_is_pulled_inline() {
    let t = TestTwin::start();
    let dir = tempfile::tempdir().unwrap();
    let tree =
        "kind: Workspace\nname: W\n---\nkind: Agent\nid: a\nworkspace: W\ninstructions: hi\n";
    write_tree(dir.path(), &[("twin.yaml", tree)]);
    t.assert_converges(dir.path());
    t.store(|s| {
        s.put_instructions("a", &serde_json::json!({ "content": "\u{feff}Be brief." }))
            .unwrap();
    });
    let out = t.cmd(dir.path()).args(["pull", "."]).output().unwrap();
    let said = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(!said.contains("left for a person"), "{said}");
    let manifest = std::fs::read_to_string(dir.path().join("twin.yaml")).unwrap();
    assert!(manifest.contains("\"\\uFEFFBe brief.\""), "{manifest}");
    let plan = t
        .cmd(dir.path())
        .args(["plan", "--detailed-exitcode", "."])
        .output()
        .unwrap();
    assert_eq!(plan.status.code(), Some(0));
}

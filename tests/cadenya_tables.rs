//! The Cadenya tables are complete: generated from `tables.rs`, for every
//! field a table manages (its groups' fields included) of every resource,
//! changing it live makes `plan` show exactly that field under the
//! manifest's key, `pull` writes it back so that the next plan is empty,
//! and `export` of that live state plans empty. A table or field added
//! later is covered (or this test fails until it is placed).

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use serde_json::{json, Value};
use tokio::runtime::Runtime;
use twinform::cli::FaultArgs;
use twinform::engine::emulation::Shared;
use twinform::engine::manifest::Text;
use twinform::engine::resource::{leaves, set_at, to_wire, Field, Table, Ty, Val};
use twinform::providers::cadenya::emulator::{self, Emulator, Store};
use twinform::providers::cadenya::tables;

const KEY: &str = "cadenya_tables_key_0123456789";

struct Emu {
    rt: Runtime,
    endpoint: String,
    shared: Arc<Shared<Store>>,
    emulator: Option<Emulator>,
}

impl Emu {
    fn start() -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let emulator = rt
            .block_on(emulator::start_with(
                "127.0.0.1:0",
                None,
                &FaultArgs::default().config(),
                Store::seeded(),
            ))
            .unwrap();
        Emu {
            endpoint: emulator.endpoint(),
            shared: emulator.shared.clone(),
            emulator: Some(emulator),
            rt,
        }
    }

    fn run(&self, dir: &Path, args: &[&str]) -> (i32, String, String) {
        let out = assert_cmd::Command::cargo_bin("twinform")
            .unwrap()
            .current_dir(dir)
            .env("CADENYA_ENDPOINT", &self.endpoint)
            .env("CADENYA_API_KEY", KEY)
            .env("NO_COLOR", "1")
            .env("SECRET_VALUE", "secret-value-for-tables-01")
            .env("CADENYA_SECRET_S0", "secret-value-for-tables-01")
            .env_remove("TWIN_API_KEY")
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

impl Drop for Emu {
    fn drop(&mut self) {
        if let Some(e) = self.emulator.take() {
            let _ = self.rt.block_on(e.stop());
        }
    }
}

/// Where a table's instances live: how a document (or a child) is written,
/// where its live record is, and its plan address.
struct Place {
    table: &'static Table,
    /// The collection suffix of its records (`None`: workspaces).
    collection: Option<&'static str>,
    id: fn(usize) -> String,
    address: fn(&str) -> String,
}

fn places() -> Vec<Place> {
    vec![
        Place {
            table: &tables::WORKSPACE,
            collection: None,
            id: |i| format!("wk{i}"),
            address: |id| format!("cadenya.workspace[\"{id}\"]"),
        },
        Place {
            table: &tables::AGENT,
            collection: Some("/agents"),
            id: |i| format!("a{i}"),
            address: |id| format!("cadenya.agent[\"main/{id}\"]"),
        },
        Place {
            table: &tables::VARIATION,
            collection: Some("/variations"),
            id: |i| format!("v{i}"),
            address: |id| format!("cadenya.agent[\"main/var-host\"].variation[\"{id}\"]"),
        },
        Place {
            table: &tables::SCHEDULE,
            collection: Some("/schedules"),
            id: |i| format!("s{i}"),
            address: |id| format!("cadenya.agent[\"main/sched-host\"].schedule[\"{id}\"]"),
        },
        Place {
            table: &tables::TOOL_SET,
            collection: Some("/tool_sets"),
            id: |i| format!("t{i}"),
            address: |id| format!("cadenya.tool_set[\"main/{id}\"]"),
        },
        Place {
            table: &tables::TOOL,
            collection: Some("/tools"),
            id: |i| format!("x{i}"),
            address: |id| format!("cadenya.tool_set[\"main/tool-host\"].tool[\"{id}\"]"),
        },
        Place {
            table: &tables::LAYER,
            collection: Some("/memory_layers"),
            id: |i| format!("l{i}"),
            address: |id| format!("cadenya.memory_layer[\"main/{id}\"]"),
        },
        Place {
            table: &tables::ENTRY,
            collection: Some("/entries"),
            id: |i| format!("e{i}"),
            address: |id| format!("cadenya.memory_layer[\"main/entry-host\"].entry[\"{id}\"]"),
        },
        Place {
            table: &tables::SECRET,
            collection: Some("/workspace_secrets"),
            id: |i| format!("s{i}"),
            address: |id| format!("cadenya.secret[\"main/{id}\"]"),
        },
    ]
}

/// A value of `f` in the manifest's form: the declared one (`live` false)
/// or the one set live; distinct per instance `i` where that matters.
fn sample(f: &Field, i: usize, live: bool) -> Value {
    let ab = if live { "b" } else { "a" };
    match (f.ty, f.name()) {
        (Ty::Str, "model") => json!(if live {
            "getting-started-key.openai-gpt-4-1"
        } else {
            "getting-started-key.openai-gpt-5"
        }),
        (Ty::Str, "http.path") => json!(format!("/{ab}{i}")),
        // An entry key that reads as a name (`skills/…`), not as a secret.
        (Ty::Str, "key") => json!(format!("skills/{ab}{i}")),
        (Ty::Str, _) => json!(format!("{}-{ab}-{i}", f.key.replace('_', "-"))),
        (Ty::Text, "webhook_url") => json!(format!("https://{ab}{i}.example.com/hook")),
        (Ty::Text, _) => json!(format!("text {ab} {i}")),
        (Ty::LongText, _) => json!(format!("Text {ab} {i}.\n")),
        (Ty::Int { min, max }, _) => {
            let base = min.max(0) + 2;
            json!((if live { base + 3 } else { base }).min(max))
        }
        (Ty::Float { .. }, _) => json!(if live { 0.5 } else { 0.25 }),
        (Ty::Bool | Ty::Flag { .. }, _) => json!(live),
        (Ty::Enum(values), _) => json!(values[usize::from(live)].0),
        (Ty::Duration, _) => json!(if live { "3h" } else { "2h" }),
        (Ty::Json, _) => {
            json!({"type": "object", "properties": {format!("{ab}{i}"): {"type": "string"}}})
        }
        (Ty::List { .. }, _) => json!([format!("{ab}-{i}")]),
        (ty, _) => panic!("no sample for {} ({ty:?})", f.name()),
    }
}

/// The manifest lines of one instance: every field the table manages
/// (groups as flow mappings), at `indent`.
fn lines(table: &'static Table, i: usize, indent: &str) -> String {
    let mut out = String::new();
    for f in table.fields {
        if let Some(g) = f.group() {
            let inner: Vec<String> = leaves(g)
                .iter()
                .map(|x| format!("{}: {}", x.key, sample(x, i, false)))
                .collect();
            out += &format!("{indent}{}: {{{}}}\n", f.key, inner.join(", "));
        } else if f.managed_here() {
            out += &format!("{indent}{}: {}\n", f.key, sample(f, i, false));
        }
    }
    out
}

/// One case: a field of a table, changed on its own instance.
struct Case {
    place: usize,
    field: &'static Field,
    id: String,
}

fn tree(places: &[Place], cases: &[Case]) -> String {
    let mut docs = vec!["kind: CadenyaWorkspace\nid: main\nowner: prop\n".to_string()];
    let of = |p: usize| cases.iter().enumerate().filter(move |(_, c)| c.place == p);
    for (n, c) in of(0) {
        docs.push(format!(
            "kind: CadenyaWorkspace\nid: {}\n{}",
            c.id,
            lines(places[0].table, n, "")
        ));
    }
    for (n, c) in of(1) {
        // A variation each: a published agent has one (the API publishes
        // no agent without).
        docs.push(format!(
            "kind: CadenyaAgent\nworkspace: main\nid: {}\n{}variations:\n  main:\n    model: getting-started-key.openai-gpt-5\n",
            c.id,
            lines(places[1].table, n, "")
        ));
    }
    let mut host = "kind: CadenyaAgent\nworkspace: main\nid: var-host\nvariations:\n".to_string();
    for (n, c) in of(2) {
        host += &format!("  {}:\n{}", c.id, lines(places[2].table, n, "    "));
    }
    docs.push(host);
    let mut host = "kind: CadenyaAgent\nworkspace: main\nid: sched-host\nschedules:\n".to_string();
    for (n, c) in of(3) {
        host += &format!(
            "  {}:\n    every: 1h\n{}",
            c.id,
            lines(places[3].table, n, "    ")
        );
    }
    docs.push(host);
    for (n, c) in of(4) {
        docs.push(format!(
            "kind: CadenyaToolSet\nworkspace: main\nid: {}\nadapter: {{http: {{base_url: \"https://{}.example.com\"}}}}\n{}",
            c.id,
            c.id,
            lines(places[4].table, n, "")
        ));
    }
    let mut host = "kind: CadenyaToolSet\nworkspace: main\nid: tool-host\nadapter: {http: {base_url: \"https://tools.example.com\"}}\ntools:\n".to_string();
    for (n, c) in of(5) {
        host += &format!("  {}:\n{}", c.id, lines(places[5].table, n, "    "));
    }
    docs.push(host);
    for (n, c) in of(6) {
        docs.push(format!(
            "kind: CadenyaMemoryLayer\nworkspace: main\nid: {}\n{}",
            c.id,
            lines(places[6].table, n, "")
        ));
    }
    let mut host =
        "kind: CadenyaMemoryLayer\nworkspace: main\nid: entry-host\nentries:\n".to_string();
    for (n, c) in of(7) {
        host += &format!("  {}:\n{}", c.id, lines(places[7].table, n, "    "));
    }
    docs.push(host);
    for (n, c) in of(8) {
        docs.push(format!(
            "kind: CadenyaSecret\nworkspace: main\nid: {}\nvalue: ${{SECRET_VALUE}}\n{}",
            c.id,
            lines(places[8].table, n, "")
        ));
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

#[test]
fn every_managed_field_plans_pulls_and_exports_under_its_key() {
    let places = places();
    // Every table of a kind or a child is placed here.
    let placed: BTreeSet<&str> = places.iter().map(|p| p.table.name).collect();
    for t in tables::ALL {
        assert!(
            placed.contains(t.name),
            "{} has no place in this test",
            t.name
        );
    }
    let mut cases = Vec::new();
    for (p, place) in places.iter().enumerate() {
        let mut n = 0;
        for f in leaves(place.table) {
            // A create-only field is replaced, not updated: its change is a
            // plan error (tested in tests/cadenya/), not a write.
            if f.nature.create_only {
                continue;
            }
            cases.push(Case {
                place: p,
                field: f,
                id: (place.id)(n),
            });
            n += 1;
        }
    }
    assert!(cases.len() > 40, "{} cases", cases.len());
    let t = Emu::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.yaml"), tree(&places, &cases)).unwrap();
    let (code, out, err) = t.run(dir.path(), &["apply", "--auto-approve", "."]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = t.run(dir.path(), &["plan", "--detailed-exitcode", "."]);
    assert_eq!(code, 0, "the tree converged:\n{out}{err}");

    // Change each case's field on its own instance, live.
    t.shared.with_store(true, |s| {
        // `n`: the case's index, as the tree wrote its declared values.
        for (n, c) in cases.iter().enumerate() {
            let place = &places[c.place];
            let value = wire_value(c.field, n);
            let record = match place.collection {
                None => s
                    .workspaces
                    .iter_mut()
                    .find(|w| w["metadata"]["externalId"] == c.id.as_str()),
                Some(suffix) => s
                    .items
                    .iter_mut()
                    .filter(|(k, _)| k.ends_with(suffix))
                    .flat_map(|(_, v)| v.iter_mut())
                    .find(|r| r["metadata"]["externalId"] == c.id.as_str()),
            };
            let record = record.unwrap_or_else(|| panic!("no live {}", c.id));
            set_at(record, c.field.wire.read, value);
        }
    });

    let (_, out, err) = t.run(dir.path(), &["plan", "-o", "json", "."]);
    let plan: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    let changes = plan["changes"].as_array().unwrap();
    for c in &cases {
        let address = (places[c.place].address)(&c.id);
        let found: Vec<&Value> = changes
            .iter()
            .filter(|x| x["address"] == address.as_str())
            .collect();
        let [change] = found.as_slice() else {
            panic!(
                "{address} ({}): {} changes in {plan:#}",
                c.field.name(),
                found.len()
            );
        };
        // A long text's side also says its size and digest (`lines`,
        // `content_sha256`, the plan format's summary of the first one).
        let keys: Vec<&String> = change["after"]
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| {
                !(matches!(c.field.ty, Ty::LongText)
                    && ["lines", "content_sha256"].contains(&k.as_str()))
            })
            .collect();
        assert_eq!(keys, vec![c.field.name()], "{address}: {change:#}");
    }
    assert_eq!(changes.len(), cases.len(), "{plan:#}");

    let (code, out, err) = t.run(dir.path(), &["pull", "."]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        format!("{out}{err}").contains(&format!(
            "Pulled {} drifted values into 1 file.",
            cases.len()
        )),
        "{out}{err}"
    );
    let (code, out, err) = t.run(dir.path(), &["plan", "--detailed-exitcode", "."]);
    assert_eq!(
        code,
        0,
        "pulled values plan empty:\n{out}{err}\n{}",
        std::fs::read_to_string(dir.path().join("c.yaml")).unwrap()
    );

    let out_dir = tempfile::tempdir().unwrap();
    let out_arg = out_dir.path().display().to_string();
    let (code, out, err) = t.run(
        dir.path(),
        &["export", "--provider", "cadenya", "--out", &out_arg],
    );
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = t.run(out_dir.path(), &["plan", "--detailed-exitcode", "."]);
    assert_eq!(
        code, 0,
        "the export of that live state plans empty:\n{out}{err}"
    );
}

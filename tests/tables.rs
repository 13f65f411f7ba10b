//! The resource tables are complete (issue 22): for every managed field of
//! every Twig resource, generated from the tables themselves, changing the
//! field live makes `plan` show exactly that field under the manifest's key,
//! `pull` writes it back so the next plan is empty, and `export` of that
//! live state plans empty. (Cadenya's: `tests/cadenya_tables.rs`.)

mod emu;

use emu::{files, write, Emu};
use serde_json::{json, Value};
use twinform::engine::resource::{self, Field, Table, Ty};

/// A wire value for `f` different from `current` (generated from its type).
fn another(f: &Field, current: Option<&Value>) -> Value {
    let cur = current.cloned().unwrap_or(Value::Null);
    match f.ty {
        Ty::Str | Ty::Text => json!(format!("{}-changed", cur.as_str().unwrap_or("value"))),
        Ty::LongText => json!(format!(
            "{}\nA line added live.\n",
            cur.as_str().unwrap_or("Text").trim_end()
        )),
        Ty::Int { min, max } => {
            let c = cur.as_i64().unwrap_or(min);
            json!(if c < max { c + 1 } else { c - 1 })
        }
        Ty::Float { min, max } => {
            let c = cur.as_f64().unwrap_or(min);
            let mid = (min + max) / 2.0;
            json!(if (c - mid).abs() > 1e-6 {
                mid
            } else {
                (mid + max) / 2.0
            })
        }
        Ty::Bool => json!(!cur.as_bool().unwrap_or(false)),
        Ty::Enum(values) => {
            let other = values
                .iter()
                .find(|(_, w)| Some(*w) != cur.as_str())
                .map(|(_, w)| *w)
                .unwrap_or_default();
            json!(other)
        }
        Ty::Duration => json!(format!(
            "{}s",
            resource::wire_seconds(&cur).unwrap_or(60) + 60
        )),
        Ty::Json => json!({"changed": true}),
        // One entry the manifest writes, changed (a number counts up).
        Ty::Map => {
            let mut m = cur.as_object().cloned().unwrap_or_default();
            if let Some((k, v)) = m.iter().next().map(|(k, v)| (k.clone(), v.clone())) {
                let v = match v {
                    Value::Number(n) => json!(n.as_i64().unwrap_or(0) + 1),
                    Value::String(s) => json!(format!("{s}-changed")),
                    _ => json!("changed"),
                };
                m.insert(k, v);
            }
            Value::Object(m)
        }
        Ty::List { .. } => json!(["changed"]),
        Ty::Flag { on, off } => json!(if cur.as_str() == Some(on) { off } else { on }),
        Ty::Children(_) | Ty::Group(_) | Ty::TextMap | Ty::Removed { .. } => Value::Null,
    }
}

/// A value of `f` a manifest declares (generated from its type; the
/// emulator accepts it: a website's `config` has a `url`).
fn sample(f: &Field) -> String {
    match f.ty {
        Ty::Str | Ty::Text => format!("{}-a", f.key.replace('_', "-")),
        Ty::LongText => "|\n  Answer from the docs.".into(),
        Ty::Int { min, max } => (min.max(0) + 500).min(max).to_string(),
        Ty::Float { min, max } => ((min + max) / 2.0 - 0.3).max(min).to_string(),
        Ty::Bool => "true".into(),
        Ty::Enum(values) => values[0].0.into(),
        Ty::Duration => "2h".into(),
        Ty::Json => "{a: 1}".into(),
        Ty::List { .. } => "[a]".into(),
        Ty::Map => "{url: https://docs.example.com, max_pages: 100}".into(),
        ty => panic!("no sample for {} ({ty:?})", f.name()),
    }
}

/// The changed fields of a plan's changes, by address.
fn changed(plan: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for c in plan["changes"].as_array().into_iter().flatten() {
        let address = c["address"].as_str().unwrap_or_default().to_string();
        let before = c["before"].as_object().cloned().unwrap_or_default();
        let after = c["after"].as_object().cloned().unwrap_or_default();
        for (k, v) in &after {
            if ["content_sha256", "lines"].contains(&k.as_str()) {
                continue;
            }
            if before.get(k) != Some(v) {
                out.push((address.clone(), k.clone()));
            }
        }
    }
    out
}

mod twig {
    use super::*;
    use twinform::providers::twig::emulator::Store;
    use twinform::providers::twig::tables::{self, AGENT, DATA_SOURCE, USER};

    /// One Twig resource: its table, its document's identity lines, its
    /// address, and where the emulator keeps it.
    pub struct Resource {
        pub table: &'static Table,
        pub head: &'static str,
        pub address: &'static str,
        pub tail: &'static str,
        /// Change the live resource's JSON (as the emulator stores it).
        pub edit: Edit,
    }

    /// A change to one live resource of the emulator's store.
    type Edit = fn(&mut Store, &mut dyn FnMut(&mut Value));

    fn edit<T: serde::Serialize + serde::de::DeserializeOwned>(
        item: &mut T,
        f: &mut dyn FnMut(&mut Value),
    ) {
        let mut v = serde_json::to_value(&*item).unwrap();
        f(&mut v);
        *item = serde_json::from_value(v).unwrap();
    }

    pub fn resources() -> Vec<Resource> {
        vec![
            Resource {
                table: &DATA_SOURCE,
                head: "kind: TwigDataSource\nname: Docs\nsync_on_create: false\n",
                address: "twig.data_source[\"Docs\"]",
                tail: "",
                edit: |s, f| edit(&mut s.data_sources[0], f),
            },
            Resource {
                table: &AGENT,
                head: "kind: TwigAgent\nname: Helper\n",
                address: "twig.agent[\"Helper\"]",
                tail: "data_sources: [Docs]\n",
                edit: |s, f| edit(&mut s.agents[0], f),
            },
            Resource {
                table: &USER,
                head: "kind: TwigUser\nemail: ana@example.com\n",
                address: "twig.user[\"ana@example.com\"]",
                tail: "",
                edit: |s, f| edit(&mut s.users[0], f),
            },
        ]
    }

    /// Every Twig document, each declaring every field its table manages.
    pub fn tree() -> String {
        let docs: Vec<String> = resources()
            .iter()
            .map(|r| {
                let fields: String = resource::leaves(r.table)
                    .iter()
                    .map(|f| format!("{}: {}\n", f.key, sample(f)))
                    .collect();
                format!("{}{fields}{}", r.head, r.tail)
            })
            .collect();
        docs.join("---\n")
    }

    /// Every table of the provider is covered (the organization manages
    /// nothing live: `prune` is a setting of twinform).
    #[test]
    fn every_twig_table_is_covered() {
        let covered: Vec<&str> = resources().iter().map(|r| r.table.name).collect();
        for t in tables::ALL {
            assert!(
                covered.contains(&t.name) || resource::leaves(t).is_empty(),
                "{} has managed fields and no coverage",
                t.name
            );
        }
    }
}

/// Twig: every managed field of every table (agents, data sources, users).
#[test]
fn every_twig_field_drifts_pulls_back_and_exports_clean() {
    use twinform::providers::twig::emulator::{start_with, Store};
    let tree = twig::tree();
    let mut covered = 0;
    for r in twig::resources() {
        for f in resource::leaves(r.table) {
            assert!(!f.nature.write_only, "Twig has no write-only field");
            covered += 1;
            let t = Emu::start(
                |l, s, c, st| async move { start_with(l, s, &c, st).await },
                Store::default(),
                "TWIG",
            );
            let dir = tempfile::tempdir().unwrap();
            write(dir.path(), "twig.yaml", &tree);
            let (code, out) = t.run(dir.path(), &["apply", "--auto-approve", "."], &[]);
            assert_eq!(code, Some(0), "{out}");
            let (code, out) = t.run(dir.path(), &["plan", "--detailed-exitcode", "."], &[]);
            assert_eq!(code, Some(0), "{}: applied, nothing left: {out}", f.key);
            // The field drifts live.
            t.store(|s| {
                (r.edit)(s, &mut |v| {
                    let now = resource::at(v, f.wire.read).cloned();
                    resource::set_at(v, f.wire.read, another(f, now.as_ref()));
                })
            });
            let (code, out) = t.run(dir.path(), &["plan", "-o", "json", "."], &[]);
            assert_eq!(code, Some(0), "{out}");
            let plan: Value = serde_json::from_str(&out[out.find('{').unwrap()..]).unwrap();
            assert_eq!(
                changed(&plan),
                vec![(r.address.to_string(), f.key.to_string())],
                "{} {}: {out}",
                r.table.name,
                f.key
            );
            // Export of the drifted live state plans empty.
            let out_dir = tempfile::tempdir().unwrap();
            let out_arg = out_dir.path().display().to_string();
            let (code, out) = t.run(
                dir.path(),
                &["export", "--provider", "twig", "--out", &out_arg],
                &[],
            );
            assert_eq!(code, Some(0), "{}: {out}", f.key);
            assert!(!files(out_dir.path()).is_empty());
            let (code, out) = t.run(out_dir.path(), &["plan", "--detailed-exitcode", "."], &[]);
            assert_eq!(
                code,
                Some(0),
                "{} {}: the export plans empty: {out}",
                r.table.name,
                f.key
            );
            // Pull writes it back: the next plan is empty.
            let (code, out) = t.run(dir.path(), &["pull", "."], &[]);
            assert_eq!(code, Some(0), "{}: {out}", f.key);
            let (code, out) = t.run(dir.path(), &["plan", "--detailed-exitcode", "."], &[]);
            assert_eq!(
                code,
                Some(0),
                "{} {}: pulled back, no change left: {out}",
                r.table.name,
                f.key
            );
        }
    }
    assert!(
        covered >= 10,
        "5 agent, 3 data source and 2 user fields at least: {covered}"
    );
}

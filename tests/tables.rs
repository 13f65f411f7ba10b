//! The resource tables are complete (issue 22): for every managed field of
//! every table-described resource, generated from the table itself,
//! changing the field live makes `plan` show exactly that field under the
//! manifest's key, `pull` writes it back so the next plan is empty, and
//! `export` of that live state plans empty.

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
        Ty::List { .. } => json!(["changed"]),
        Ty::Flag { on, off } => json!(if cur.as_str() == Some(on) { off } else { on }),
        Ty::Children(_) | Ty::Group(_) | Ty::TextMap | Ty::Removed { .. } => Value::Null,
    }
}

/// The managed fields of a table a manifest declares in `tree`.
fn managed<'t>(table: &'t Table, declared: &[&str]) -> Vec<&'t Field> {
    table
        .fields
        .iter()
        .filter(|f| f.managed_here() && !f.nature.write_only && declared.contains(&f.key))
        .collect()
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

/// Twig agents: every field of `tables::AGENT` the example declares.
#[test]
fn every_twig_agent_field_drifts_pulls_back_and_exports_clean() {
    use twinform::providers::twig::emulator::{start_with, Store};
    use twinform::providers::twig::tables::AGENT;
    use twinform::providers::twig::wire::Agent;
    let tree = "kind: TwigAgent\nname: Helper\nmodel: gpt-4\nrag_strategy: cedar\ntemperature: 0.7\nmax_tokens: 500\nsystem_prompt: |\n  Answer from the docs.\n";
    let fields = managed(
        &AGENT,
        &[
            "model",
            "rag_strategy",
            "temperature",
            "max_tokens",
            "system_prompt",
        ],
    );
    assert_eq!(fields.len(), 5, "every declared field is on the table");
    for f in fields {
        let t = Emu::start(
            |l, s, c, st| async move { start_with(l, s, &c, st).await },
            Store::default(),
            "TWIG",
        );
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "twig.yaml", tree);
        let (code, out) = t.run(dir.path(), &["apply", "--auto-approve", "."], &[]);
        assert_eq!(code, Some(0), "{out}");
        // The field drifts live.
        t.store(|s| {
            let a = &mut s.agents[0];
            let mut v = serde_json::to_value(&*a).unwrap();
            let now = resource::at(&v, f.wire.read).cloned();
            resource::set_at(&mut v, f.wire.read, another(f, now.as_ref()));
            *a = serde_json::from_value::<Agent>(v).unwrap();
        });
        let (code, out) = t.run(dir.path(), &["plan", "-o", "json", "."], &[]);
        assert_eq!(code, Some(0), "{out}");
        let plan: Value = serde_json::from_str(&out[out.find('{').unwrap()..]).unwrap();
        assert_eq!(
            changed(&plan),
            vec![("twig.agent[\"Helper\"]".to_string(), f.key.to_string())],
            "{}: {out}",
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
        assert_eq!(code, Some(0), "{}: the export plans empty: {out}", f.key);
        // Pull writes it back: the next plan is empty.
        let (code, out) = t.run(dir.path(), &["pull", "."], &[]);
        assert_eq!(code, Some(0), "{}: {out}", f.key);
        let (code, out) = t.run(dir.path(), &["plan", "--detailed-exitcode", "."], &[]);
        assert_eq!(
            code,
            Some(0),
            "{}: pulled back, no change left: {out}",
            f.key
        );
    }
}

//! `validate`: every broken fixture gives its located diagnostic and exit 1;
//! hostile files fail fast and cleanly; the loader never panics.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use proptest::prelude::*;

mod common;
/// The loader with every provider, as `validate` runs it.
mod manifest {
    pub fn load_with(
        path: &std::path::Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> twinform::engine::manifest::Validated<twinform::engine::session::Tree> {
        twinform::engine::session::load(path, &twinform::providers::all(), env)
    }
}

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(Path::new("tests/fixtures").join(kind))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// Problems as `file:line:col: severity: message (help)`, paths relative to the case.
fn describe(case: &Path) -> String {
    let v = manifest::load_with(case, &|name| {
        (name == "SET_VAR").then(|| "value".to_string())
    });
    let prefix = format!("{}/", case.display());
    let mut lines: Vec<String> = v
        .problems
        .iter()
        .map(|p| {
            let sev = if p.is_error() { "error" } else { "warning" };
            let help = p
                .help
                .as_ref()
                .map(|h| format!(" (help: {h})"))
                .unwrap_or_default();
            let loc = p.location.clone().unwrap_or_default().replace(&prefix, "");
            let msg = p.message.replace(&prefix, "");
            let help = help.replace(
                &std::fs::canonicalize(case).unwrap().display().to_string(),
                "<root>",
            );
            format!("{loc}: {sev}: {msg}{help}")
        })
        .collect();
    lines.sort();
    lines.join("\n")
}

#[test]
fn every_broken_fixture_has_a_located_error() {
    let cases = fixtures("invalid");
    assert!(cases.len() >= 25, "only {} fixtures", cases.len());
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let out = describe(&case);
        assert!(out.contains(": error: "), "{name}: no error:\n{out}");
        let first = out.lines().find(|l| l.contains(": error: ")).unwrap();
        let loc = first.split(": ").next().unwrap();
        assert!(
            loc.matches(':').count() == 2
                && loc.split(':').skip(1).all(|n| n.parse::<usize>().is_ok()),
            "{name}: error without file:line:col: {first}"
        );
        insta::assert_snapshot!(format!("invalid-{name}"), out);
    }
}

#[test]
fn warnings_do_not_fail_validation() {
    for case in fixtures("warnings") {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let v = manifest::load_with(&case, &|_| None);
        assert!(v.desired.is_some(), "{name} should be valid");
        let out = describe(&case);
        assert!(out.contains(": warning: "), "{name}: {out}");
        insta::assert_snapshot!(format!("warning-{name}"), out);
    }
}

#[test]
fn the_binary_exits_1_with_a_snippet() {
    let case = Path::new("tests/fixtures/invalid/cron-six-fields");
    let out = assert_cmd::Command::cargo_bin("twinform")
        .unwrap()
        .args(["validate"])
        .arg(case)
        .env("NO_COLOR", "1")
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("m.yaml:8:9"), "{stderr}");
    assert!(
        stderr.contains(r#"cron: "0 0 9 * * *""#),
        "snippet missing: {stderr}"
    );
    assert!(stderr.contains("cron must have 7 fields"), "{stderr}");
}

#[test]
fn examples_are_valid() {
    for ex in ["examples/quickstart", "examples/multi-team"] {
        assert_cmd::Command::cargo_bin("twinform")
            .unwrap()
            .args(["validate", ex])
            .assert()
            .success();
    }
}

/// Run the loader on one hostile file: it must fail quickly with a located error.
fn hostile(name: &str, content: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(name), content).unwrap();
    let started = Instant::now();
    let v = manifest::load_with(dir.path(), &|_| None);
    // A hang detector, not a benchmark: generous enough for a debug build on a busy machine.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{name} took {:?}",
        started.elapsed()
    );
    assert!(v.desired.is_none(), "{name} was accepted");
    let p = v.problems.iter().find(|p| p.is_error()).unwrap();
    format!(
        "{}: {}",
        p.location
            .clone()
            .unwrap_or_default()
            .replace(&dir.path().display().to_string(), ""),
        p.message
    )
}

#[test]
fn hostile_inputs_fail_fast() {
    let mut bomb = String::from(
        "kind: Workspace\nname: Ops\nx0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for i in 1..12 {
        let prev = i - 1;
        bomb.push_str(&format!("x{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"));
    }
    let out = hostile("bomb.yaml", bomb.as_bytes());
    assert!(out.starts_with("/bomb.yaml:"), "{out}");

    let deep = format!(
        "kind: Workspace\nname: {}{}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    assert!(hostile("deep.yaml", deep.as_bytes()).starts_with("/deep.yaml:"));

    let mut big = b"kind: Workspace\nname: Ops\n# ".to_vec();
    big.resize(50 * 1024 * 1024, b'x');
    assert!(hostile("big.yaml", &big).contains("too large"));

    let out = hostile("bad.yaml", b"kind: Workspace\nname: Op\xffs\n");
    assert!(
        out.starts_with("/bad.yaml: ")
            && out.ends_with(
                "/bad.yaml: file is not valid UTF-8: invalid byte 0xff at byte offset 24"
            ),
        "{out}"
    );
}

#[cfg(unix)]
#[test]
fn a_symlink_cannot_pull_files_from_outside_the_root() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("id_rsa"), "PRIVATE KEY").unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path().join("id_rsa"), dir.path().join("prompt.md"))
        .unwrap();
    std::fs::write(
        dir.path().join("m.yaml"),
        "kind: Workspace\nname: Ops\n---\nkind: Agent\nid: a\nworkspace: Ops\ninstructions: {file: prompt.md}\n",
    )
    .unwrap();
    let v = manifest::load_with(dir.path(), &|_| None);
    let p = v
        .problems
        .iter()
        .find(|p| p.is_error())
        .expect("symlink escape accepted");
    assert!(
        p.message.contains("outside the manifest root"),
        "{}",
        p.message
    );
    assert!(
        p.location.as_deref().unwrap().ends_with("m.yaml:7:15"),
        "{:?}",
        p.location
    );
}

/// The binary's whole output for `validate DIR`.
fn validate_output(dir: &std::path::Path) -> (Option<i32>, String) {
    let out = assert_cmd::Command::cargo_bin("twinform")
        .unwrap()
        .env("NO_COLOR", "1")
        .args(["validate"])
        .arg(dir)
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

#[cfg(unix)]
#[test]
fn a_manifest_symlink_out_of_the_root_is_refused_unread() {
    let outside = tempfile::tempdir().unwrap();
    // What /proc/self/environ looks like: NUL-separated, valid UTF-8.
    std::fs::write(
        outside.path().join("environ"),
        "HOME=/root\0TWIN_API_KEY=tw_live_leaked_0123456789\0kind: Agent\0",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("agents")).unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("environ"),
        dir.path().join("agents/x.yaml"),
    )
    .unwrap();
    std::os::unix::fs::symlink("/proc/self/environ", dir.path().join("agents/y.yaml")).unwrap();
    let (code, text) = validate_output(&dir.path().join("agents"));
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("x.yaml: resolves outside the manifest root"),
        "{text}"
    );
    assert!(
        text.contains("y.yaml: resolves outside the manifest root"),
        "{text}"
    );
    assert!(!text.contains("tw_live_leaked"), "{text}");
    assert!(!text.contains("HOME="), "{text}");
}

#[test]
fn content_that_is_not_text_is_refused_by_offset_without_a_snippet() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("m.yaml"),
        "kind: Workspace\nname: W\0SECRET_TOKEN=abc123\n",
    )
    .unwrap();
    let (code, text) = validate_output(dir.path());
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("control byte 0x00 at byte offset 23"),
        "{text}"
    );
    assert!(!text.contains("SECRET_TOKEN"), "{text}");
    std::fs::write(
        dir.path().join("m.yaml"),
        b"kind: Workspace\nname: SECRET_\xff\n",
    )
    .unwrap();
    let (code, text) = validate_output(dir.path());
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("invalid byte 0xff at byte offset 29"),
        "{text}"
    );
    assert!(!text.contains("SECRET_"), "{text}");
}

#[cfg(unix)]
#[test]
fn fifos_are_refused_not_waited_on() {
    let dir = tempfile::tempdir().unwrap();
    let mkfifo = |p: &std::path::Path| {
        assert!(std::process::Command::new("mkfifo")
            .arg(p)
            .status()
            .unwrap()
            .success());
    };
    mkfifo(&dir.path().join("pipe.yaml"));
    mkfifo(&dir.path().join("prompt.md"));
    std::fs::write(
        dir.path().join("m.yaml"),
        "kind: Workspace\nname: W\n---\nkind: Agent\nid: a\nworkspace: W\ninstructions: {file: prompt.md}\n",
    )
    .unwrap();
    let started = Instant::now();
    let (code, text) = validate_output(dir.path());
    assert!(started.elapsed() < Duration::from_secs(15));
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("pipe.yaml: cannot read: not a regular file"),
        "{text}"
    );
    assert!(
        text.contains("prompt.md: cannot read: not a regular file"),
        "{text}"
    );
}

#[test]
fn dotfiles_ignored_files_and_foreign_yaml_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str, text: &str| {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write("agents.yaml", "kind: Workspace\nname: W\n");
    write(".gitlab-ci.yml", "stages: [test]\njob:\n  script: [make]\n");
    write(".pre-commit-config.yaml", "repos: []\n");
    write(".github/workflows/ci.yml", "name: CI\non: push\njobs: {}\n");
    write("ci/other.yml", "name: CI\non: push\njobs: {}\n");
    write("helm/values.yaml", "{{ broken: yaml\n");
    write(".twinformignore", "helm/\n");
    let v = manifest::load_with(dir.path(), &|_| None);
    let errors: Vec<_> = v
        .problems
        .iter()
        .filter(|p| p.is_error())
        .map(|p| &p.message)
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let notes: Vec<_> = v.problems.iter().map(|p| p.message.as_str()).collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].ends_with(
            "other.yml: skipped: no document in it has a `kind`, so it is not a twinform manifest"
        ),
        "{notes:?}"
    );
    assert_eq!(
        v.desired.unwrap().counts(),
        [("workspace", 1), ("agent", 0)]
    );
    // A document that forgot its kind is still an error, not a skip.
    write("forgot.yaml", "id: a\nworkspace: W\n");
    write("typo.yaml", "kidn: Agent\nid: b\n");
    let v = manifest::load_with(dir.path(), &|_| None);
    let errors: Vec<_> = v
        .problems
        .iter()
        .filter(|p| p.is_error())
        .filter_map(|p| p.location.clone())
        .collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
}

#[test]
fn every_unknown_field_of_a_document_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("m.yaml"),
        "kind: Agent\nid: a\nworkspace: W\nschedul: {}\nwebhooks:\n  - url: https://x.example\n    events: [run.failed]\n    enabeld: true\n",
    )
    .unwrap();
    let v = manifest::load_with(dir.path(), &|_| None);
    let found: Vec<(String, String)> = v
        .problems
        .iter()
        .filter(|p| p.is_error())
        .map(|p| {
            let loc = p.location.clone().unwrap_or_default();
            let loc = loc.rsplit('/').next().unwrap_or_default().to_string();
            (
                loc,
                format!("{} / {}", p.message, p.help.clone().unwrap_or_default()),
            )
        })
        .collect();
    assert_eq!(
        found,
        vec![
            (
                "m.yaml:4:1".to_string(),
                "unknown field `schedul` / did you mean `schedule`?".to_string()
            ),
            (
                "m.yaml:8:5".to_string(),
                "unknown field `enabeld` / did you mean `enabled`?".to_string()
            ),
        ]
    );
}

/// An unknown field no longer hides the document's other problems: its
/// missing prompt file and its duplicate id are reported in the same pass,
/// for every provider (block and flow mappings alike).
#[test]
fn an_unknown_field_hides_no_other_problem_of_its_document() {
    let cases: [(&str, &[&str]); 3] = [
        (
            "kind: Workspace\nname: W\n---\nkind: Agent\nid: a\nworkspace: W\nbogus:\n  deep: [1, 2]\ninstructions: {file: missing.md}\n---\nkind: Agent\nid: a\nworkspace: W\ninstructions: hi\n",
            &[
                "m.yaml:7:1: unknown field `bogus`",
                "m.yaml:9:15: instruction file `missing.md` cannot be read",
                "m.yaml:12:5: agent `a` is declared twice",
            ],
        ),
        (
            "kind: TwigDataSource\nname: D\ntype: website\nbogus: 2\nconfig: {url: \"https://x.example\"}\n---\nkind: TwigDataSource\nname: D\ntype: website\nconfig: {url: \"https://x.example\"}\n---\nkind: TwigAgent\nname: A\nsystem_prompt: {file: nope.md}\nbogus: 1\n---\nkind: TwigAgent\nname: A\nsystem_prompt: hi\n",
            &[
                "m.yaml:4:1: unknown field `bogus`",
                "m.yaml:8:7: data source `D` is declared twice",
                "m.yaml:14:16: system_prompt file `nope.md` cannot be read",
                "m.yaml:15:1: unknown field `bogus`",
                "m.yaml:18:7: agent `A` is declared twice",
            ],
        ),
        (
            "kind: CadenyaWorkspace\nid: w\nname: W\n---\nkind: CadenyaAgent\nworkspace: w\nid: x\nname: X\nvariations:\n  v: {prompt: {file: gone.md}, modle: gpt, model: getting-started-key.openai-gpt-5}\n---\nkind: CadenyaAgent\nworkspace: w\nid: x\nname: X2\n",
            &[
                "m.yaml:10:15: prompt file `gone.md` cannot be read",
                "m.yaml:10:32: unknown field `modle`",
                "m.yaml:14:5: agent `x` is declared twice",
            ],
        ),
    ];
    for (tree, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("m.yaml"), tree).unwrap();
        let v = twinform::engine::session::load_with(
            dir.path(),
            &twinform::providers::all(),
            &|_| None,
            &twinform::engine::session::LoadOptions::default(),
        );
        let found: Vec<String> = v
            .problems
            .iter()
            .filter(|p| p.is_error())
            .map(|p| {
                let loc = p.location.clone().unwrap_or_default();
                format!(
                    "{}: {}",
                    loc.rsplit('/').next().unwrap_or_default(),
                    p.message
                )
            })
            .collect();
        for want in expected {
            assert!(
                found.iter().any(|f| f.starts_with(want)),
                "{want} missing from {found:#?}"
            );
        }
    }
}

/// Thousands of problems print in linear time: the first 100 with their
/// snippet, the rest one line each (every one still named and located).
#[test]
fn past_100_problems_each_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut tree = String::from("kind: Workspace\nname: W\n");
    for i in 0..150 {
        tree += &format!("bogus{i}: {i}\n");
    }
    std::fs::write(dir.path().join("m.yaml"), tree).unwrap();
    let (code, text) = validate_output(dir.path());
    assert_eq!(code, Some(1));
    assert_eq!(text.matches("╭─[").count(), 100, "{text}");
    assert!(text.contains("50 more, one line each:"), "{text}");
    assert!(
        text.contains("error: ")
            && text.contains("m.yaml:152:1: unknown field `bogus149` (fields here are"),
        "{text}"
    );
    assert!(text.contains("150 errors, 0 warnings"), "{text}");
}

#[test]
fn no_manifests_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let v = manifest::load_with(dir.path(), &|_| None);
    assert!(v
        .problems
        .iter()
        .any(|p| p.message.contains("no manifests found")));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn the_loader_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400), yamlish in "(kind: (Agent|Workspace)\n)?([a-z_]{1,8}: [\\[\\]{}\"'a-z0-9 :,&*-]{0,12}\n){0,6}") {
        for content in [bytes.clone(), yamlish.clone().into_bytes()] {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("m.yaml"), &content).unwrap();
            let _ = manifest::load_with(dir.path(), &|_| None);
        }
    }
}

#[test]
fn the_examples_can_be_applied_to_one_account() {
    // Agents are account-wide: two examples declaring one id would fight.
    let mut seen = std::collections::HashMap::new();
    for ex in ["examples/quickstart", "examples/multi-team"] {
        let d = twinform::engine::session::load_typed(
            Path::new(ex),
            twinform::providers::twin::Twin,
            &|_| Some("x".into()),
        )
        .desired
        .unwrap();
        for a in &d.agents {
            if let Some(other) = seen.insert(a.id.clone(), ex) {
                panic!("agent `{}` is declared by {other} and {ex}", a.id);
            }
        }
    }
}

#[test]
fn the_editor_schema_is_as_strict_as_validate_and_discriminates_by_kind() {
    let schema = twinform::engine::session::json_schema(&twinform::providers::all());
    let validator = jsonschema::validator_for(&schema).unwrap();
    let doc = |yaml: &str| -> serde_json::Value { serde_saphyr::from_str(yaml).unwrap() };
    let good = [
        "kind: Workspace\nname: W\n",
        "kind: Agent\nid: a\nworkspace: W\nwebhooks:\n  - url: https://h.example/x\n    events: [run.failed]\n",
    ];
    for g in good {
        let errors: Vec<String> = validator
            .iter_errors(&doc(g))
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{g}: {errors:?}");
    }
    let bad = [
        ("empty events", "kind: Agent\nid: a\nworkspace: W\nwebhooks:\n  - url: https://h.example/x\n    events: []\n"),
        ("duplicate events", "kind: Agent\nid: a\nworkspace: W\nwebhooks:\n  - url: https://h.example/x\n    events: [run.failed, run.failed]\n"),
        ("not a url", "kind: Agent\nid: a\nworkspace: W\nwebhooks:\n  - url: not a url\n    events: [run.failed]\n"),
        ("no host", "kind: Agent\nid: a\nworkspace: W\nwebhooks:\n  - url: https:///x\n    events: [run.failed]\n"),
        ("empty name", "kind: Workspace\nname: \"\"\n"),
        ("agent field on a workspace", "kind: Workspace\nname: W\nschedule: null\n"),
        ("unknown kind", "kind: Agnet\nid: a\n"),
    ];
    for (what, b) in bad {
        assert!(!validator.is_valid(&doc(b)), "{what} passes the schema");
    }
    // Errors name the document's own kind's rules only (no anyOf of every kind).
    let errors: Vec<String> = validator
        .iter_errors(&doc("kind: Workspace\nname: W\nschedule: null\n"))
        .map(|e| e.to_string())
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("schedule"), "{errors:?}");
}

/// Trust II item 1, as a mechanism: a typo in any field name at any depth
/// of any kind of any provider (every key line of every example) is an error
/// at that line with a did-you-mean, or (for keys that are names, such as a
/// variation's id) changes nothing that is counted: a document is never
/// dropped silently.
#[test]
fn a_typo_in_any_key_of_any_example_is_located_or_harmless() {
    let env = |_: &str| Some("x".to_string());
    let key_line = regex_lite_key();
    let mut located = 0;
    for example in [
        "quickstart",
        "multi-team",
        "twig",
        "cadenya",
        "multi-provider",
        "environments/manifests",
    ] {
        let src = Path::new("examples").join(example);
        let baseline = manifest::load_with(&src, &env);
        assert!(
            baseline.problems.iter().all(|p| !p.is_error()),
            "{example} is not valid"
        );
        let counts = baseline.desired.as_ref().map(|t| t.counts());
        for file in yaml_files(&src) {
            let text = std::fs::read_to_string(&file).unwrap();
            for (n, line) in text.lines().enumerate() {
                let Some((indent, key)) = key_line(line) else {
                    continue;
                };
                if key == "kind" {
                    continue;
                }
                let dir = tempfile::tempdir().unwrap();
                common::copy_dir(&src, dir.path());
                let rel = file.strip_prefix(&src).unwrap();
                let typo = format!("{key}z");
                let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
                lines[n] = format!("{indent}{typo}{}", &line[indent.len() + key.len()..]);
                std::fs::write(dir.path().join(rel), lines.join("\n") + "\n").unwrap();
                let v = manifest::load_with(dir.path(), &env);
                let here = format!(":{}:{}", n + 1, indent.len() + 1);
                let reported = v.problems.iter().any(|p| {
                    p.is_error()
                        && p.message == format!("unknown field `{typo}`")
                        && p.location.as_deref().is_some_and(|l| l.ends_with(&here))
                        && p.help.as_deref() == Some(&format!("did you mean `{key}`?"))
                });
                if reported {
                    located += 1;
                    continue;
                }
                let errors: Vec<_> = v.problems.iter().filter(|p| p.is_error()).collect();
                // A renamed variable is reported where it is used.
                let var = format!("variable `{key}` is not defined");
                let tvar = format!("template error: `var.{key}` is undefined");
                if !errors.is_empty()
                    && errors
                        .iter()
                        .all(|p| p.message.contains(&var) || p.message.starts_with(&tvar))
                {
                    continue;
                }
                assert!(
                    errors.is_empty() && v.desired.as_ref().map(|t| t.counts()) == counts,
                    "{}:{}: `{key}` -> `{typo}` was neither reported there nor harmless: {:?}",
                    file.display(),
                    n + 1,
                    errors
                        .iter()
                        .map(|p| (&p.location, &p.message))
                        .collect::<Vec<_>>()
                );
            }
        }
    }
    assert!(located >= 60, "only {located} typos located");
}

/// `(indent, key)` of a block-mapping key line such as `  temperature: 0.2`
/// or `- url: x` (not a comment, not inside a flow collection).
fn regex_lite_key() -> impl Fn(&str) -> Option<(String, String)> {
    |line: &str| {
        let body = line.trim_start_matches([' ', '-']);
        let indent = &line[..line.len() - body.len()];
        if indent.contains('-') && !indent.ends_with("- ") {
            return None;
        }
        let (key, _) = body.split_once(':')?;
        let ok = !key.is_empty()
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && key.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
        ok.then(|| (indent.to_string(), key.to_string()))
    }
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(yaml_files(&p));
        } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// Trust II item 10: `${…}` is interpolated in every field that takes it
/// (a Cadenya adapter's URLs too), and anywhere else it is a located error:
/// never sent as written. Template `vars` take `${var.NAME}`, not the
/// environment.
#[test]
fn a_placeholder_is_interpolated_or_refused_never_sent_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let tree = "kind: CadenyaWorkspace\nid: dev\nowner: team\n---\nkind: CadenyaToolSet\nworkspace: dev\nid: mcp\nadapter:\n  mcp: {url: \"https://mcp.example.com/${MCP_TOKEN}\"}\n---\nkind: CadenyaToolSet\nworkspace: dev\nid: api\nadapter:\n  openapi: {url: \"https://x.example.com/spec?key=${SPEC_KEY}\", base_url: \"https://${HOST}\"}\n";
    std::fs::write(dir.path().join("ok.yaml"), tree).unwrap();
    std::fs::write(dir.path().join("p.md.j2"), "Hello {{ who }}\n").unwrap();
    let env = |n: &str| (n != "UNSET").then(|| format!("value-of-{n}"));
    let v = manifest::load_with(dir.path(), &env);
    let errors: Vec<_> = v.problems.iter().filter(|p| p.is_error()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let tree = v.desired.unwrap();
    assert!(tree.secrets.contains(&"value-of-MCP_TOKEN".to_string()));
    assert!(tree.secrets.contains(&"value-of-HOST".to_string()));
    // Elsewhere: refused at the value, whatever the provider.
    let bad = "kind: CadenyaAgent\nworkspace: dev\nid: ask\nvariations:\n  v:\n    model: ${MODEL}\n    prompt: {template: p.md.j2, vars: {who: \"${SLACK_TOKEN}\"}}\n---\nkind: TwigAgent\nname: Helper\nmodel: ${var.model}\n";
    std::fs::write(dir.path().join("bad.yaml"), bad).unwrap();
    std::fs::write(
        dir.path().join("vars.yaml"),
        "kind: Variables\nvars: {model: gpt}\n",
    )
    .unwrap();
    let v = manifest::load_with(dir.path(), &env);
    let errors: Vec<(String, String)> = v
        .problems
        .iter()
        .filter(|p| p.is_error())
        .map(|p| {
            let loc = p.location.clone().unwrap_or_default();
            (
                loc.rsplit('/').next().unwrap().to_string(),
                p.message.clone(),
            )
        })
        .collect();
    assert!(
        errors.contains(&(
            "bad.yaml:6:12".into(),
            "`${MODEL}` is not interpolated in this field: it would be sent as written".into()
        )),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|(l, m)| l.starts_with("bad.yaml:7:")
            && m == "template vars do not read the environment (`${SLACK_TOKEN}`)"),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|(l, m)| l == "bad.yaml:11:8" && m.starts_with("`${var.…}` is not interpolated")),
        "{errors:?}"
    );
    // Attack review F8: free-form values (a JSON Schema) are data, sent as
    // written: a `${` in them is not a mistake.
    std::fs::remove_file(dir.path().join("bad.yaml")).unwrap();
    std::fs::write(
        dir.path().join("free.yaml"),
        "kind: CadenyaAgent\nworkspace: dev\nid: ask\ninput_schema: {type: object, properties: {q: {type: string, default: \"${price}\"}}}\n",
    )
    .unwrap();
    let v = manifest::load_with(dir.path(), &env);
    let errors: Vec<_> = v.problems.iter().filter(|p| p.is_error()).collect();
    assert!(errors.is_empty(), "{errors:?}");
}

/// Trust II item 19, the mechanism: read offline, an unset `${VAR}` is an
/// unknown value: one warning per variable at its first use, no error from
/// a check its stand-in failed (a cron), every other error kept, and no
/// stand-in among the values to redact. The offline result holds no
/// desired state, so an unknown value cannot reach a request or a file;
/// the same tree read for a plan fails on every unset variable.
#[test]
fn offline_checks_take_unset_variables_as_unknown_values() {
    use twinform::engine::session::{self, LoadOptions};
    let dir = tempfile::tempdir().unwrap();
    let tree = |event: &str| {
        std::fs::write(
            dir.path().join("a.yaml"),
            format!("kind: Workspace\nname: Ops\n---\nkind: Agent\nid: a\nworkspace: Ops\nschedule: {{cron: \"${{CRON}}\"}}\nwebhooks:\n  - url: ${{HOOK}}\n    events: [{event}]\n  - url: https://b.example/${{HOOK}}\n    events: [run.failed]\n"),
        )
        .unwrap();
    };
    let providers = twinform::providers::all();
    let unset = |_: &str| None;
    let options = LoadOptions::default();
    tree("run.faild");
    let v = session::check(dir.path(), &providers, &unset, &options);
    assert!(v.desired.is_none());
    let errors: Vec<&str> = v
        .problems
        .iter()
        .filter(|p| p.is_error())
        .map(|p| p.message.as_str())
        .collect();
    assert_eq!(errors, ["unknown event `run.faild`"]);
    tree("run.failed");
    let v = session::check(dir.path(), &providers, &unset, &options);
    let warnings: Vec<String> = v
        .problems
        .iter()
        .map(|p| format!("{}: {}", p.location.as_deref().unwrap_or("?"), p.message))
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
    assert!(
        warnings[0].ends_with(
            "a.yaml:7:18: environment variable `CRON` is not set: checked as an unknown value"
        ),
        "{warnings:#?}"
    );
    // What its stand-in failed is said, not an error.
    assert!(
        v.problems[0]
            .help
            .as_deref()
            .unwrap()
            .contains("not checked without its value: cron must have 7 fields"),
        "{:?}",
        v.problems[0].help
    );
    assert!(
        warnings[1].ends_with(
            "a.yaml:9:10: environment variable `HOOK` is not set: checked as an unknown value"
        ),
        "{warnings:#?}"
    );
    let checked = v.desired.expect("valid offline");
    assert_eq!(checked.unknown, ["CRON", "HOOK"]);
    assert!(checked.secrets.is_empty(), "{:?}", checked.secrets);
    // A credential's stand-in passes the checks of a URL or a token, so
    // what uses one is counted.
    std::fs::write(dir.path().join("a.yaml"), "kind: Workspace\nname: Ops\n---\nkind: Agent\nid: a\nworkspace: Ops\nwebhooks:\n  - url: ${HOOK}\n    events: [run.failed]\n").unwrap();
    let checked = session::check(dir.path(), &providers, &unset, &options)
        .desired
        .unwrap();
    assert_eq!(checked.counts, [("workspace", 1), ("agent", 1)]);
    let v = session::load_with(dir.path(), &providers, &unset, &options);
    assert!(v.desired.is_none());
    assert_eq!(
        v.problems
            .iter()
            .filter(|p| p.is_error() && p.message.contains("is not set"))
            .count(),
        1
    );
}

/// Attack review F15: `agents.YAML` is a manifest like `agents.yaml` (a
/// skipped file's documents would be pruned).
#[test]
fn yaml_extensions_in_any_case_are_manifests() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.YAML"), "kind: Workspace\nname: Ops\n").unwrap();
    std::fs::write(dir.path().join("b.Yml"), "kind: Workspace\nname: Dev\n").unwrap();
    let v = manifest::load_with(dir.path(), &|_| None);
    let tree = v.desired.expect("valid");
    assert!(
        tree.counts().contains(&("workspace", 2)),
        "{:?}",
        tree.counts()
    );
}

/// Review II 11: every document of every example passes the editor schema,
/// `${var.NAME}` in an identity included (`id: ticket-triage-${var.env}`),
/// as the loader accepts them; the schema has a stable `$id`, which every
/// example's modeline names; an identity still takes no `${ENV}`.
#[test]
fn every_example_passes_the_editor_schema_it_names() {
    let schema = twinform::engine::session::json_schema(&twinform::providers::all());
    let url = twinform::engine::manifest::schema::SCHEMA_URL;
    assert_eq!(schema["$id"], url);
    let validator = jsonschema::validator_for(&schema).unwrap();
    let mut checked = 0;
    for file in yaml_files(Path::new("examples")) {
        let text = std::fs::read_to_string(&file).unwrap();
        if file
            .components()
            .any(|c| c.as_os_str() == "ci" || c.as_os_str() == "vars")
        {
            continue;
        }
        assert!(
            text.contains(&format!("# yaml-language-server: $schema={url}")),
            "{}: no modeline naming {url}",
            file.display()
        );
        let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(&text).unwrap();
        for doc in docs.iter().filter(|d| !d.is_null()) {
            let errors: Vec<String> = validator.iter_errors(doc).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{}: {errors:?}\n{doc}", file.display());
            checked += 1;
        }
    }
    assert!(checked > 20, "{checked} documents");
    let doc = |yaml: &str| -> serde_json::Value { serde_saphyr::from_str(yaml).unwrap() };
    for ok in [
        "kind: Agent\nid: triage-${var.env}\nworkspace: W\n",
        "kind: Agent\nid: a\nworkspace: W\nschedule: {cron: \"${CRON}\"}\n",
        "kind: Agent\nid: a\nworkspace: W\nwebhooks:\n  - url: ${HOOK_URL}\n    events: [run.failed]\n",
    ] {
        assert!(validator.is_valid(&doc(ok)), "{ok}");
    }
    for bad in [
        "kind: Agent\nid: triage-${ENV}\nworkspace: W\n",
        "kind: Agent\nid: bad id\nworkspace: W\n",
    ] {
        assert!(!validator.is_valid(&doc(bad)), "{bad}");
    }
}

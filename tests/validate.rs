//! `validate`: every broken fixture gives its located diagnostic and exit 1;
//! hostile files fail fast and cleanly; the loader never panics.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use twinform::manifest;

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
        out.starts_with("/bad.yaml:2:9: file is not valid UTF-8"),
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

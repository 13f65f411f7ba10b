//! The layering ARCHITECTURE.md promises, checked: the engine names no
//! platform, nothing imports "up" (main → commands → providers → engine), and
//! providers do not import each other.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file without its comments (doc comments explain with
/// examples; the rule is about code).
fn code(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| match l.find("//") {
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
}

#[test]
fn the_engine_names_no_platform() {
    let mut files = Vec::new();
    rust_files(Path::new("src/engine"), &mut files);
    assert!(files.len() > 20);
    let mut found = Vec::new();
    for f in &files {
        let text = code(f);
        for w in words(&text) {
            let lower = w.to_ascii_lowercase();
            if ["twin", "twig", "cadenya"].contains(&lower.as_str()) || w.starts_with("TWIN_") {
                found.push(format!("{}: {w}", f.display()));
            }
        }
        for s in [
            "x-api-key",
            "build.twin.so",
            "api.twig.so",
            "api.cadenya.com",
        ] {
            if text.contains(s) {
                found.push(format!("{}: {s}", f.display()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "platform names in the engine:\n{}",
        found.join("\n")
    );
}

#[test]
fn nothing_imports_upward_and_providers_stand_alone() {
    let mut files = Vec::new();
    rust_files(Path::new("src"), &mut files);
    let mut wrong = Vec::new();
    for f in &files {
        let path = f.to_string_lossy().replace('\\', "/");
        let text = code(f);
        let forbidden: Vec<String> = if path.starts_with("src/engine/") {
            vec![
                "crate::providers".into(),
                "crate::commands".into(),
                "crate::cli".into(),
            ]
        } else if let Some(rest) = path.strip_prefix("src/providers/") {
            let own = rest
                .split('/')
                .next()
                .unwrap_or_default()
                .trim_end_matches(".rs");
            let mut v: Vec<String> = vec!["crate::commands".into(), "crate::cli".into()];
            for other in ["twin", "twig", "cadenya"].iter().filter(|p| **p != own) {
                if own != "mod" {
                    v.push(format!("crate::providers::{other}"));
                    v.push(format!("super::super::{other}"));
                }
            }
            v
        } else {
            Vec::new()
        };
        for bad in forbidden {
            if text.contains(&bad) {
                wrong.push(format!("{path} uses {bad}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the flow:\n{}",
        wrong.join("\n")
    );
}

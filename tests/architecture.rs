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

/// No source file (the crate's, its tests' and benches') over 1,000
/// lines: a longer one is split by what it holds (as
/// `providers/cadenya/diff/` by resource, `tests/apply/` by subject).
#[test]
fn no_source_file_is_over_1000_lines() {
    let mut files = Vec::new();
    for dir in ["src", "tests", "benches"] {
        rust_files(Path::new(dir), &mut files);
    }
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(f).unwrap().lines().count();
            (n > 1000).then(|| format!("{} ({n} lines)", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "split these: {long:?}");
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

/// The module a file is (`src/engine/http/client.rs` → `engine::http::client`,
/// `src/engine/http/mod.rs` → `engine::http`).
fn module_of(path: &Path) -> Vec<String> {
    let rel = path.strip_prefix("src").unwrap_or(path);
    let mut parts: Vec<String> = rel
        .iter()
        .map(|c| c.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts
        .last()
        .is_some_and(|l| l == "mod" || l == "lib" || l == "main")
    {
        parts.pop();
    }
    parts
}

/// Every path a file names through `crate::`, `super::` or `self::`, in
/// `use` trees (grouped ones expanded) and inline, as absolute segments.
fn referenced_paths(text: &str, module: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes: Vec<char> = text.chars().collect();
    let mut i = 0;
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    while i < bytes.len() {
        let rest: String = bytes[i..bytes.len().min(i + 8)].iter().collect();
        let starts = ["crate::", "super::", "self::"]
            .iter()
            .find(|p| rest.starts_with(**p))
            .copied();
        let boundary = i == 0 || !ident(bytes[i - 1]) && bytes[i - 1] != ':';
        let Some(prefix) = starts.filter(|_| boundary) else {
            i += 1;
            continue;
        };
        // Read the path tree that follows (idents, `::`, braces, commas).
        let mut j = i;
        let mut depth = 0;
        while j < bytes.len() {
            let c = bytes[j];
            if c == '{' {
                depth += 1;
            } else if c == '}' {
                if depth == 0 {
                    break;
                }
                depth -= 1;
            } else if !(ident(c)
                || c == ':'
                || (depth > 0 && (c == ',' || c.is_whitespace() || c == '*')))
            {
                break;
            }
            j += 1;
        }
        let tree: String = bytes[i..j].iter().collect();
        let base: Vec<String> = match prefix {
            "crate::" => Vec::new(),
            "super::" => {
                let mut m = module.to_vec();
                m.pop();
                m
            }
            _ => module.to_vec(),
        };
        for p in expand(&tree[prefix.len()..]) {
            let mut segs = base.clone();
            let mut rest = p.as_str();
            // `super::super::x`
            while let Some(r) = rest.strip_prefix("super::") {
                segs.pop();
                rest = r;
            }
            segs.extend(
                rest.split("::")
                    .filter(|s| !s.is_empty() && *s != "self")
                    .map(str::to_string),
            );
            out.push(segs);
        }
        i = j.max(i + 1);
    }
    out
}

/// `a::{b, c::{d, e}}` → `a::b`, `a::c::d`, `a::c::e`.
fn expand(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        return vec![tree.to_string()];
    };
    let prefix = &tree[..open];
    let inner = tree[open + 1..].trim_end().trim_end_matches('}');
    let mut parts = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    for (k, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..k]);
                start = k + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .flat_map(|p| expand(p).into_iter().map(move |e| format!("{prefix}{e}")))
        .collect()
}

/// The import graph between source files: an edge for every path that
/// resolves to another file's module (the longest module prefix), through
/// a `mod.rs`'s `pub use` re-exports to the file that defines the item.
fn import_graph() -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    use std::collections::{BTreeMap, BTreeSet};
    let mut files = Vec::new();
    rust_files(Path::new("src"), &mut files);
    let modules: BTreeMap<Vec<String>, String> = files
        .iter()
        .map(|f| (module_of(f), f.to_string_lossy().replace('\\', "/")))
        .collect();
    // Re-exports: (module, name) → module defining it.
    let mut reexports: BTreeMap<(Vec<String>, String), Vec<String>> = BTreeMap::new();
    for f in &files {
        let m = module_of(f);
        for line in code(f).lines() {
            let Some(tree) = line
                .trim()
                .strip_prefix("pub use ")
                .and_then(|l| l.strip_suffix(';'))
            else {
                continue;
            };
            let tree = if tree.starts_with("crate::")
                || tree.starts_with("super::")
                || tree.starts_with("self::")
            {
                tree.to_string()
            } else {
                format!("self::{tree}")
            };
            for p in referenced_paths(&tree, &m) {
                if let Some(name) = p.last() {
                    let target = p[..p.len() - 1].to_vec();
                    reexports.insert((m.clone(), name.clone()), target);
                }
            }
        }
    }
    let resolve = |segs: &[String]| -> Option<String> {
        let mut n = segs.len();
        while n > 0 {
            let m = &segs[..n];
            if let Some(file) = modules.get(m) {
                // An item of a module that only re-exports it.
                if n < segs.len() {
                    if let Some(target) = reexports.get(&(m.to_vec(), segs[n].clone())) {
                        if let Some(f) = modules.get(target) {
                            return Some(f.clone());
                        }
                    }
                }
                return Some(file.clone());
            }
            n -= 1;
        }
        None
    };
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let path = f.to_string_lossy().replace('\\', "/");
        let m = module_of(f);
        // `mod x;` declarations are not imports; a mod.rs's `pub use` is.
        for segs in referenced_paths(&code(f), &m) {
            if let Some(target) = resolve(&segs) {
                if target != path
                    && !target.ends_with("src/lib.rs")
                    && !target.ends_with("src/main.rs")
                {
                    graph.entry(path.clone()).or_default().insert(target);
                }
            }
        }
    }
    graph
}

/// No import cycle between source files (issue 22): a file that imports
/// another never imports it back, directly or through others. A module's
/// `mod.rs` that only declares and re-exports is transparent.
#[test]
fn no_import_cycle_between_source_files() {
    use std::collections::{BTreeMap, BTreeSet};
    let graph = import_graph();
    assert!(graph.len() > 40, "{} files with imports", graph.len());
    // Tarjan's strongly connected components.
    struct State<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        next: usize,
        cycles: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on.insert(v);
        if let Some(ws) = s.graph.get(v) {
            for w in ws {
                let w = w.as_str();
                if !s.index.contains_key(w) {
                    visit(s, w);
                    let lw = s.low[w];
                    let lv = s.low[v];
                    s.low.insert(v, lv.min(lw));
                } else if s.on.contains(w) {
                    let iw = s.index[w];
                    let lv = s.low[v];
                    s.low.insert(v, lv.min(iw));
                }
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on.remove(w);
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                s.cycles.push(comp);
            }
        }
    }
    let mut s = State {
        graph: &graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        cycles: Vec::new(),
    };
    let nodes: Vec<&str> = graph.keys().map(String::as_str).collect();
    for v in nodes {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    let described: Vec<String> = s.cycles.iter().map(|c| c.join(" <-> ")).collect();
    assert!(
        described.is_empty(),
        "import cycles:\n{}",
        described.join("\n")
    );
}

/// The layering, on the graph (so grouped `use` statements count): the
/// engine imports no provider, command or CLI file; providers import no
/// command, CLI file or other provider; commands import no `main.rs`.
#[test]
fn the_layers_hold_on_the_import_graph() {
    let graph = import_graph();
    let mut wrong = Vec::new();
    let provider = |p: &str| {
        p.strip_prefix("src/providers/")
            .and_then(|r| r.split('/').next())
            .map(|s| s.trim_end_matches(".rs").to_string())
    };
    for (from, tos) in &graph {
        for to in tos {
            let bad = if from.starts_with("src/engine/") {
                to.starts_with("src/providers/")
                    || to.starts_with("src/commands/")
                    || to == "src/cli.rs"
            } else if let Some(own) = provider(from) {
                to.starts_with("src/commands/")
                    || to == "src/cli.rs"
                    || provider(to).is_some_and(|p| p != own && p != "mod" && own != "mod")
            } else if from.starts_with("src/commands/") {
                to == "src/main.rs"
            } else {
                false
            };
            if bad {
                wrong.push(format!("{from} -> {to}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layers:\n{}",
        wrong.join("\n")
    );
}

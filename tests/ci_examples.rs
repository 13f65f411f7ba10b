//! The CI examples are valid YAML and every `twinform` invocation in them
//! parses with the real CLI (no invented flags); the PR comment for a
//! 500-agent change stays under GitHub's limit.

mod common;

use std::path::{Path, PathBuf};

use clap::Parser;

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "yml" || x == "yaml") {
            out.push(p);
        }
    }
}

/// Every shell script in a workflow: GitHub's `run:` and GitLab's `script:`.
fn scripts(v: &serde_json::Value, inside: bool, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) if inside => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| scripts(x, inside, out)),
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                scripts(
                    x,
                    inside || k == "run" || k == "script" || k == "before_script",
                    out,
                );
            }
        }
        _ => {}
    }
}

/// Split a shell command line into words (quotes and backslash-newlines handled).
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut chars = line.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                any = true;
            }
            (None, '\\') if chars.peek() == Some(&'\n') => {
                chars.next();
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            (None, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Every `twinform …` command in a script, up to a shell operator.
fn invocations(script: &str) -> Vec<Vec<String>> {
    let joined = script.replace("\\\n", " ");
    let mut out = Vec::new();
    for line in joined.lines() {
        let w = words(line);
        let mut i = 0;
        while i < w.len() {
            if w[i] == "twinform"
                && (i == 0
                    || ["|", "&&", "||", ";", "then", "do", "-c"].contains(&w[i - 1].as_str())
                    || w[i - 1].ends_with(';'))
            {
                let cmd: Vec<String> = w[i..]
                    .iter()
                    .take_while(|x| !["|", ">", "2>", "&&", "||", ";", ">>"].contains(&x.as_str()))
                    .cloned()
                    .collect();
                out.push(cmd);
            }
            i += 1;
        }
    }
    out
}

#[test]
fn workflows_are_valid_and_use_only_real_flags() {
    let mut all = Vec::new();
    files(Path::new("examples/ci"), &mut all);
    assert!(all.len() >= 5, "{all:?}");
    let mut checked = 0;
    for f in all {
        let text = std::fs::read_to_string(&f).unwrap();
        let doc: serde_json::Value = serde_saphyr::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: invalid YAML: {e}", f.display()));
        let mut found = Vec::new();
        scripts(&doc, false, &mut found);
        for s in found {
            for cmd in invocations(&s) {
                if let Err(e) = twinform::cli::Cli::try_parse_from(&cmd) {
                    panic!("{}: `{}` does not parse:\n{e}", f.display(), cmd.join(" "));
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 13, "only {checked} twinform invocations found");
}

#[test]
fn the_tokenizer_handles_quotes_and_operators() {
    assert_eq!(
        invocations(
            "set +e\ntwinform plan agents/ -o markdown --workspace \"Team A\" > plan.md\ncode=$?"
        ),
        vec![vec![
            "twinform",
            "plan",
            "agents/",
            "-o",
            "markdown",
            "--workspace",
            "Team A"
        ]]
    );
}

#[test]
fn a_500_agent_plan_comment_fits_on_github() {
    use twinform::engine::manifest::Text;
    use twinform::engine::model::CreateOnly;
    use twinform::providers::twin::model::{AgentSpec, Desired, WorkspaceSpec};
    use twinform::providers::twin::wire::{Agent, Instructions, Workspace};
    use twinform::providers::twin::Live;
    let long = |i: usize, v: &str| {
        (0..40)
            .map(|l| format!("Line {l} of agent {i}: {v} instructions that are fairly long\n"))
            .collect::<String>()
    };
    let mut live = Live {
        workspaces: vec![Workspace {
            workspace_id: "w".into(),
            name: "W".into(),
            icon_config: None,
            position: None,
            agent_count: None,
            created_at: None,
            updated_at: None,
        }],
        ..Live::default()
    };
    let mut agents = Vec::new();
    for i in 0..500 {
        let id = format!("agent-{i:03}");
        live.agents.insert(
            id.clone(),
            Agent {
                agent_id: id.clone(),
                workspace_id: Some("w".into()),
                ..Agent::default()
            },
        );
        live.instructions.insert(
            id.clone(),
            Some(Instructions {
                content: long(i, "old"),
                ..Instructions::default()
            }),
        );
        agents.push(AgentSpec {
            id,
            workspace: "W".into(),
            subagent: CreateOnly(None),
            derived_from: CreateOnly(None),
            derived_from_literal: true,
            instructions: Some(Text::plain(&long(i, "new"))),
            schedule: None,
            webhooks: None,
            source: String::new(),
            origin: Default::default(),
        });
    }
    let desired = Desired {
        root: ".".into(),
        workspaces: vec![WorkspaceSpec {
            name: "W".into(),
            id: None,
            icon: None,
            prune: false,
            origin: Default::default(),
        }],
        agents,
    };
    let plan = common::diff(&desired, &live);
    let md = twinform::engine::plan::render::markdown::render(&plan);
    assert!(
        md.chars().count() < 65_536,
        "{} characters",
        md.chars().count()
    );
    assert!(md.starts_with("<!-- twinform-plan -->"));
    assert!(
        md.contains("> Truncated: the details of"),
        "no truncation note"
    );
    assert!(md
        .trim_end()
        .ends_with("Plan: 0 to add, 500 to change, 0 to destroy."));
    let head: String = md.lines().take(8).collect::<Vec<_>>().join("\n");
    let tail: String = md
        .lines()
        .rev()
        .take(3)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!("markdown-500-agents", format!("{head}\n…\n{tail}"));
}

#[test]
fn a_4000_agent_creation_comment_fits_on_github_table_included() {
    use twinform::engine::manifest::Text;
    use twinform::engine::model::CreateOnly;
    use twinform::providers::twin::model::{AgentSpec, Desired, WorkspaceSpec};
    use twinform::providers::twin::Live;
    let agents = (0..4000)
        .map(|i| AgentSpec {
            id: format!("new-agent-with-a-long-name-{i:05}"),
            workspace: "W".into(),
            subagent: CreateOnly(None),
            derived_from: CreateOnly(None),
            derived_from_literal: true,
            instructions: Some(Text::plain("Say hello.\n")),
            schedule: None,
            webhooks: None,
            source: String::new(),
            origin: Default::default(),
        })
        .collect();
    let desired = Desired {
        root: ".".into(),
        workspaces: vec![WorkspaceSpec {
            name: "W".into(),
            id: None,
            icon: None,
            prune: false,
            origin: Default::default(),
        }],
        agents,
    };
    let plan = common::diff(&desired, &Live::default());
    let md = twinform::engine::plan::render::markdown::render(&plan);
    let chars = md.chars().count();
    assert!(chars < 65_536, "{chars} characters");
    assert!(
        md.contains("more rows | not shown |"),
        "the table was not cut: {}",
        &md[md.len() - 600..]
    );
    assert!(md.contains("> Truncated:"), "no truncation note");
    assert!(md
        .trim_end()
        .ends_with("Plan: 8001 to add, 0 to change, 0 to destroy."));
}

#[test]
fn completions_man_page_and_version() {
    let run = |args: &[&str]| {
        let out = assert_cmd::Command::cargo_bin("twinform")
            .unwrap()
            .args(args)
            .assert()
            .success();
        String::from_utf8_lossy(&out.get_output().stdout).to_string()
    };
    for shell in ["bash", "zsh", "fish"] {
        let script = run(&["completions", shell]);
        assert!(
            script.contains("twinform") && script.contains("auto-approve"),
            "{shell}"
        );
    }
    let man = run(&["man"]);
    assert!(man.contains(".TH twinform 1"), "{man}");
    // One page per subcommand, each with exit status, environment and
    // files; every page the main one refers to exists.
    let dir = tempfile::tempdir().unwrap();
    run(&["man", "--out", dir.path().to_str().unwrap()]);
    let main = std::fs::read_to_string(dir.path().join("twinform.1")).unwrap();
    let mut referred = 0;
    for sub in [
        "validate", "plan", "apply", "drift", "pull", "history", "rollback", "show", "export",
        "emulator",
    ] {
        let page = std::fs::read_to_string(dir.path().join(format!("twinform-{sub}.1"))).unwrap();
        assert!(page.contains(&format!(".TH twinform-{sub} 1")), "{sub}");
        assert!(page.contains(&format!("twinform {sub}")), "{sub}: synopsis");
        for s in [
            "EXIT STATUS",
            "ENVIRONMENT",
            "FILES",
            "TWIN_API_KEY",
            "TWINFORM_PLAN_KEY",
        ] {
            assert!(page.contains(s), "{sub}: {s}");
        }
        referred += usize::from(main.contains(&format!("twinform\\-{sub}(1)")));
    }
    assert_eq!(referred, 10, "{main}");
    // README lists the same environment variables.
    let readme = std::fs::read_to_string("README.md").unwrap();
    for (name, _) in twinform::commands::man_environment() {
        for n in name
            .split(", ")
            .filter(|n| n.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        {
            assert!(readme.contains(&format!("`{n}`")), "README lacks {n}");
        }
    }
    let version = run(&["--version"]);
    assert!(version.starts_with("twinform 0.1.0"), "{version}");
}

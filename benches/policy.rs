//! `cargo bench --bench policy`: what `--policy` with the starter set adds to a
//! plan of 1,000 agents (time and memory), against the plan's own wall time
//! on the in-process emulator with 20 ms of latency per request (as
//! `benches/reconcile.rs`).
//!
//! The plan is what `twinform plan` does (load the manifests, connect, read,
//! diff); the policy check is what `--policy` adds: reading what each
//! document declares (texts, token counts, schedules), the input document,
//! parsing the policies and evaluating them. Size: `TWINFORM_POLICY_AGENTS`
//! (default 1000). Prints a Markdown table (copied into BENCHMARKS.md);
//! `TWINFORM_POLICY_BREAKDOWN=1` also times each starter rule alone, the
//! token counts and the cron intervals.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use twinform::cli::FaultArgs;
use twinform::engine::apply::secrets::SecretSink;
use twinform::engine::apply::{self, Target};
use twinform::engine::policy;
use twinform::engine::redact::Redactor;
use twinform::engine::session::{self, ConnectOptions, LoadOptions, Session, Tree};
use twinform::providers::twin::emulator::{self, Store};

const LATENCY_MS: u64 = 20;

/// `/proc/self/status` values in KiB (`VmRSS`, `VmHWM`); 0 elsewhere.
fn memory(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn prompt(i: usize) -> String {
    let mut s = format!("# Agent {i}\n\nYou are agent number {i}. Every morning:\n");
    let mut line = 0;
    while s.len() < 2048 {
        s.push_str(&format!("- Step {line}: read the inbox, summarise what matters for team {}, and never reply on anyone's behalf.\n", i % 10));
        line += 1;
    }
    s
}

/// N agents over 10 workspaces (half of them "Support", customer-facing for
/// the starter set), each with a ~2 KB prompt, a schedule and a webhook.
/// Customer-facing prompts are templates that include the safety fragment;
/// one agent in a hundred breaks a rule (an HTTP webhook), so the policies
/// find something.
fn write_tree(dir: &Path, n: usize) -> usize {
    std::fs::create_dir_all(dir.join("prompts")).unwrap();
    std::fs::create_dir_all(dir.join("fragments")).unwrap();
    std::fs::write(
        dir.join("fragments/safety.md"),
        "## Safety\n\nNever share a customer's data.\n",
    )
    .unwrap();
    let mut broken = 0;
    for w in 0..10 {
        let support = w < 5;
        let ws = if support {
            format!("Support {w}")
        } else {
            format!("Team {w}")
        };
        let mut docs = vec![format!("kind: Workspace\nname: {ws}\n")];
        for i in (w..n).step_by(10) {
            let instructions = if support {
                std::fs::write(
                    dir.join(format!("prompts/agent-{i:05}.md.j2")),
                    format!("{}\n{{% include \"fragments/safety.md\" %}}\n", prompt(i)),
                )
                .unwrap();
                format!("{{template: prompts/agent-{i:05}.md.j2}}")
            } else {
                std::fs::write(dir.join(format!("prompts/agent-{i:05}.md")), prompt(i)).unwrap();
                format!("{{file: prompts/agent-{i:05}.md}}")
            };
            let scheme = if i % 100 == 7 {
                broken += 1;
                "http"
            } else {
                "https"
            };
            docs.push(format!(
                "kind: Agent\nid: agent-{i:05}\nworkspace: {ws}\ninstructions: {instructions}\nschedule:\n  cron: \"0 {} 9 * * * *\"\n  paused: false\nwebhooks:\n  - url: {scheme}://hooks.example.com/agents/{i}\n    events: [run.completed, run.failed]\n",
                i % 60
            ));
        }
        std::fs::write(dir.join(format!("team-{w}.yaml")), docs.join("---\n")).unwrap();
    }
    broken
}

fn load(dir: &Path, declared: bool) -> (Tree, Duration) {
    let t = Instant::now();
    let options = LoadOptions {
        declared,
        ..LoadOptions::default()
    };
    let tree = session::load_with(dir, &twinform::providers::all(), &|_| None, &options)
        .desired
        .expect("benchmark manifests are valid");
    (tree, t.elapsed())
}

async fn connect(tree: &Tree, endpoint: &str) -> Session {
    let options = ConnectOptions {
        endpoints: HashMap::from([("twin".to_string(), endpoint.to_string())]),
        timeout: Duration::from_secs(30),
        connect_timeout: Duration::from_secs(5),
        ..ConnectOptions::default()
    };
    let env = |k: &str| (k == "TWIN_API_KEY").then(|| "bench-key".to_string());
    let providers: Vec<_> = tree.parts.iter().map(|p| p.provider.clone()).collect();
    session::connect(&providers, &options, &env, &Redactor::new())
        .await
        .unwrap()
}

async fn apply_all(tree: &Tree, session: &Session, secrets: &Path) {
    let planned = session::plan(tree, session, &Default::default(), &BTreeSet::new(), 16)
        .await
        .unwrap();
    let mut targets = HashMap::new();
    let _ = &planned;
    for part in &tree.parts {
        part.bound.begin_apply();
        targets.insert(
            part.provider.info().name,
            Target {
                provider: part.provider.clone(),
                bound: part.bound.clone(),
            },
        );
    }
    let ctx = apply::Context {
        targets,
        parallelism: 16,
        source_id: None,
        secrets: Arc::new(SecretSink::new(secrets, None, Redactor::new()).unwrap()),
        journal: Arc::new(apply::journal::Journal::none()),
        interrupted: Default::default(),
    };
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let results = apply::execute(&planned.plan, ctx, tx).await;
    assert!(results.iter().all(|r| r.status == apply::Status::Applied));
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("TWINFORM_POLICY_AGENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    // The o200k_base encoder is built on a process's first count: any plan
    // that changes a prompt pays it once, with or without --policy.
    let t = Instant::now();
    twinform::engine::tokens::count("warm up");
    let encoder = t.elapsed();
    let dir = tempfile::tempdir().unwrap();
    let broken = write_tree(dir.path(), n);
    let policies = dir.path().join("policy");
    std::fs::create_dir_all(&policies).unwrap();
    let starter = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/commands/policy/starter");
    for name in ["settings.rego", "main.rego"] {
        std::fs::copy(starter.join(name), policies.join(name)).unwrap();
    }

    let faults = FaultArgs {
        latency_ms: LATENCY_MS,
        ..FaultArgs::default()
    };
    let emu = emulator::start_with("127.0.0.1:0", None, &faults.config(), Store::default())
        .await
        .unwrap();
    let (tree, _) = load(dir.path(), false);
    let session = connect(&tree, &emu.endpoint()).await;
    apply_all(&tree, &session, &dir.path().join("secrets.json")).await;
    // One prompt in a hundred changes, so the plan has changes with token counts.
    for i in (0..n).step_by(100) {
        let p = dir.path().join(format!("prompts/agent-{i:05}.md.j2"));
        let p = if p.exists() {
            p
        } else {
            dir.path().join(format!("prompts/agent-{i:05}.md"))
        };
        let text = std::fs::read_to_string(&p).unwrap();
        std::fs::write(&p, format!("{text}- And one more step.\n")).unwrap();
    }

    // The plan, as `twinform plan` makes it (best of 3).
    let mut plan_wall = Duration::MAX;
    let mut plan_load = Duration::ZERO;
    let mut changes = 0;
    for _ in 0..3 {
        let t = Instant::now();
        let (tree, took) = load(dir.path(), false);
        let planned = session::plan(&tree, &session, &Default::default(), &BTreeSet::new(), 16)
            .await
            .unwrap();
        let wall = t.elapsed();
        if wall < plan_wall {
            plan_wall = wall;
            plan_load = took;
        }
        changes = planned.plan.changes.len();
    }

    // What --policy adds (best of 3 each).
    let rss_before = memory("VmRSS:");
    let hwm_before = memory("VmHWM:");
    let mut declared_extra = Duration::MAX;
    let mut tree_declared = None;
    for _ in 0..3 {
        let (tree, took) = load(dir.path(), true);
        declared_extra = declared_extra.min(took.saturating_sub(plan_load));
        tree_declared = Some(tree);
    }
    let tree = tree_declared.unwrap();
    let planned = session::plan(&tree, &session, &Default::default(), &BTreeSet::new(), 16)
        .await
        .unwrap();
    let mut input_time = Duration::MAX;
    let mut json = String::new();
    for _ in 0..3 {
        let t = Instant::now();
        let doc = policy::input::document("plan", &planned.plan, &tree.declared);
        json = serde_json::to_string(&doc).unwrap();
        input_time = input_time.min(t.elapsed());
    }
    let mut parse_time = Duration::MAX;
    let mut set = None;
    for _ in 0..3 {
        let t = Instant::now();
        let s = policy::load(std::slice::from_ref(&policies), Duration::from_secs(60))
            .unwrap()
            .with_namespaces(&[])
            .unwrap();
        parse_time = parse_time.min(t.elapsed());
        set = Some(s);
    }
    let set = set.unwrap();
    let mut eval_time = Duration::MAX;
    let mut verdict = None;
    for _ in 0..3 {
        let t = Instant::now();
        let v = set.evaluate(&json).unwrap();
        eval_time = eval_time.min(t.elapsed());
        verdict = Some(v);
    }
    let verdict = verdict.unwrap();
    if std::env::var("TWINFORM_POLICY_BREAKDOWN").is_ok() {
        // What reading the input alone costs: a policy that looks at nothing.
        let empty = dir.path().join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        std::fs::write(
            empty.join("p.rego"),
            "package main\n\ndeny contains \"x\" if false\n",
        )
        .unwrap();
        let e = policy::load(&[empty], Duration::from_secs(60))
            .unwrap()
            .with_namespaces(&[])
            .unwrap();
        let t = Instant::now();
        e.evaluate(&json).unwrap();
        println!("input alone: {:.3} s", t.elapsed().as_secs_f64());
        let texts: Vec<&str> = tree
            .declared
            .iter()
            .flat_map(|d| d.prompts.iter())
            .filter_map(|p| p["text"].as_str())
            .collect();
        let t = Instant::now();
        let sum: usize = texts
            .iter()
            .map(|x| twinform::engine::tokens::count(x))
            .sum();
        println!(
            "token counts of {} prompts ({sum} tokens): {:.3} s",
            texts.len(),
            t.elapsed().as_secs_f64()
        );
        let t = Instant::now();
        for i in 0..n {
            let _ = twinform::engine::manifest::declared::cron_interval(&format!(
                "0 {} 9 * * * *",
                i % 60
            ));
        }
        println!("{n} cron intervals: {:.3} s", t.elapsed().as_secs_f64());
        for rule in [
            "deny_unapproved_model",
            "deny_temperature",
            "deny_webhook_not_https",
            "warn_webhook_unchecked",
            "deny_schedule_too_frequent",
            "deny_missing_safety",
            "deny_prompt_too_long",
            "deny_prune_without_owner",
            "warn_destructive",
            "warn_prompt_growth",
        ] {
            let only = dir.path().join(format!("only-{rule}"));
            std::fs::create_dir_all(&only).unwrap();
            std::fs::copy(policies.join("settings.rego"), only.join("settings.rego")).unwrap();
            let main = std::fs::read_to_string(policies.join("main.rego")).unwrap();
            // Keep the helpers and this rule: rename the other finding rules.
            let kept: String = main
                .lines()
                .map(|l| {
                    if (l.starts_with("deny_") || l.starts_with("warn_")) && !l.starts_with(rule) {
                        l.replacen("deny_", "skip_deny_", 1)
                            .replacen("warn_", "skip_warn_", 1)
                    } else {
                        l.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n");
            std::fs::write(only.join("main.rego"), kept).unwrap();
            let e = policy::load(&[only], Duration::from_secs(60))
                .unwrap()
                .with_namespaces(&[])
                .unwrap();
            let t = Instant::now();
            e.evaluate(&json).unwrap();
            println!("{rule}: {:.3} s", t.elapsed().as_secs_f64());
        }
    }
    let denies = verdict
        .findings
        .iter()
        .filter(|f| f.severity == policy::Severity::Deny)
        .count();
    assert_eq!(denies, broken, "the policies must find each HTTP webhook");
    let rss_after = memory("VmRSS:");
    let hwm_after = memory("VmHWM:");
    session.close().await;

    // End to end: the release binary, `plan` with and without the policies,
    // with the prompts changed above and with none changed (where nothing
    // but --policy counts tokens). Best of 3 each.
    let plan = |extra: &[&str]| {
        let t = Instant::now();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_twinform"))
            .current_dir(dir.path())
            .env("TWIN_ENDPOINT", emu.endpoint())
            .env("TWIN_API_KEY", "bench-key")
            .env("NO_COLOR", "1")
            .args(["plan", "-o", "json"])
            .args(extra)
            .arg(".")
            .output()
            .unwrap();
        let code = out.status.code();
        // With the policies the broken webhooks are denied (exit 1).
        assert!(
            code == Some(0) || (code == Some(1) && !extra.is_empty()),
            "{out:?}"
        );
        t.elapsed()
    };
    // Turns alternate, so a slow stretch of the machine hits both alike.
    let compare = || {
        let (mut without, mut with) = (Duration::MAX, Duration::MAX);
        for _ in 0..5 {
            without = without.min(plan(&[]));
            with = with.min(plan(&["--policy", "policy"]));
        }
        (without, with)
    };
    let e2e_changed = compare();
    let sess = connect(&tree, &emu.endpoint()).await;
    apply_all(&tree, &sess, &dir.path().join("secrets.json")).await;
    sess.close().await;
    let e2e_same = compare();
    let _ = emu.stop().await;

    let total = declared_extra + input_time + parse_time + eval_time;
    let pct = |d: Duration| 100.0 * d.as_secs_f64() / plan_wall.as_secs_f64();
    println!("twinform policy benchmark · {n} agents · starter set · emulator latency {LATENCY_MS} ms/request\n");
    println!("plan (load + read + diff, no --policy): {:.2} s, of which loading the manifests {:.2} s; {changes} changes\n", plan_wall.as_secs_f64(), plan_load.as_secs_f64());
    println!("| step of --policy | time | share of the plan's wall time |");
    println!("|---|---|---|");
    let row = |what: &str, d: Duration| {
        println!("| {what} | {:.3} s | {:.1} % |", d.as_secs_f64(), pct(d));
    };
    row(
        "read what each document declares (texts, tokens, schedules)",
        declared_extra,
    );
    row(
        &format!(
            "build the input document ({:.1} MB of JSON)",
            json.len() as f64 / 1e6
        ),
        input_time,
    );
    row("parse the starter set", parse_time);
    row(
        &format!(
            "evaluate it ({} findings, {denies} denies)",
            verdict.findings.len()
        ),
        eval_time,
    );
    row("**total**", total);
    println!("\nEnd to end, the release binary (`twinform plan -o json .` against the same emulator, best of 5, turns alternating):\n");
    println!("| plan | without --policy | with the starter set | added |");
    println!("|---|---|---|---|");
    for (what, (without, with)) in [
        (format!("{changes} prompts changed"), e2e_changed),
        ("no changes".to_string(), e2e_same),
    ] {
        println!(
            "| {what} | {:.2} s | {:.2} s | {:.1} % |",
            without.as_secs_f64(),
            with.as_secs_f64(),
            100.0 * (with.as_secs_f64() / without.as_secs_f64() - 1.0)
        );
    }
    println!(
        "\nthe o200k_base encoder, built once per process on the first count (a plan that changes a prompt pays it too): {:.3} s",
        encoder.as_secs_f64()
    );
    println!(
        "\nmemory: resident {} → {} across the policy steps (peak {} → {})",
        mib(rss_before),
        mib(rss_after),
        mib(hwm_before),
        mib(hwm_after)
    );
}

//! `cargo bench --bench reconcile`: API calls and wall time of plan and apply
//! against the in-process emulator with 20 ms of latency per request, compared
//! with the ideal `ceil(requests / parallelism) × latency`.
//!
//! Sizes: `TWINFORM_BENCH_SIZES=100,1000,10000` (default). Prints Markdown
//! tables (copied into BENCHMARKS.md).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use twinform::cli::FaultArgs;
use twinform::engine::apply::secrets::SecretSink;
use twinform::engine::apply::{self, Target};
use twinform::engine::bound::erase;
use twinform::engine::bound::{Bound, Typed};
use twinform::engine::http::{ApiKey, Client, ClientConfig, RetryPolicy};
use twinform::engine::plan::Plan;
use twinform::engine::provider::{Local, Provider, Scope};
use twinform::engine::redact::Redactor;
use twinform::providers::twin::emulator::{self, Store};
use twinform::providers::twin::wire::{Agent, Instructions, Schedule, Webhook, Workspace};
use twinform::providers::twin::{read, Desired, Live, Twin, TwinApi};

const LATENCY_MS: u64 = 20;

fn prompt(i: usize) -> String {
    let mut s = format!("# Agent {i}\n\nYou are agent number {i}. Every morning:\n");
    let mut line = 0;
    while s.len() < 2048 {
        s.push_str(&format!("- Step {line}: read the inbox, summarise what matters for team {}, and never reply on anyone's behalf.\n", i % 10));
        line += 1;
    }
    s
}

/// Write N agents over 10 workspaces, each with a ~2 KB prompt file, a schedule and a webhook.
fn write_tree(dir: &Path, n: usize, variant: &dyn Fn(usize) -> String) {
    std::fs::create_dir_all(dir.join("prompts")).unwrap();
    for w in 0..10 {
        let mut docs = vec![format!("kind: Workspace\nname: Team {w}\n")];
        for i in (w..n).step_by(10) {
            std::fs::write(
                dir.join(format!("prompts/agent-{i:05}.md")),
                format!("{}{}", prompt(i), variant(i)),
            )
            .unwrap();
            docs.push(format!(
                "kind: Agent\nid: agent-{i:05}\nworkspace: Team {w}\ninstructions: {{file: prompts/agent-{i:05}.md}}\nschedule:\n  cron: \"0 {} 9 * * * *\"\n  paused: false\nwebhooks:\n  - url: https://hooks.example.com/agents/{i}\n    events: [run.completed, run.failed]\n",
                i % 60
            ));
        }
        std::fs::write(dir.join(format!("team-{w}.yaml")), docs.join("---\n")).unwrap();
    }
}

fn client(endpoint: &str) -> TwinApi {
    let config = ClientConfig {
        endpoint: endpoint.into(),
        timeout: Duration::from_secs(30),
        connect_timeout: Duration::from_secs(5),
        retry: RetryPolicy::default(),
    };
    TwinApi {
        client: Client::new(config, ApiKey::new("bench-key").unwrap(), Twin.profile()).unwrap(),
    }
}

fn load(dir: &Path) -> Desired {
    twinform::engine::session::load_typed(dir, Twin, &|_| None)
        .desired
        .expect("benchmark manifests are valid")
}

fn diff(d: &Desired, live: &Live) -> Plan {
    Typed::ready(Twin, d.clone(), None, live.clone())
        .diff(&Local::default())
        .unwrap()
}

/// The documented read formula (README.md, src/live.rs).
fn formula(desired: &Desired, live_agents: usize) -> u64 {
    let managed_live = desired.agents.iter().filter(|_| live_agents > 0).count() as u64;
    let pages = (live_agents as u64).div_ceil(200).max(1);
    let schedules = u64::from(desired.agents.iter().any(|a| a.schedule.is_some()));
    let instr = desired
        .agents
        .iter()
        .filter(|a| a.instructions.is_some())
        .count() as u64;
    let hooks = desired
        .agents
        .iter()
        .filter(|a| a.webhooks.is_some())
        .count() as u64;
    1 + pages + schedules + if managed_live > 0 { instr + hooks } else { 0 }
}

fn ideal(requests: u64, parallelism: usize) -> Duration {
    Duration::from_millis(requests.div_ceil(parallelism as u64) * LATENCY_MS)
}

struct Row {
    what: String,
    n: usize,
    parallelism: usize,
    requests: u64,
    expected: String,
    writes: u64,
    wall: Duration,
    ideal: Duration,
}

impl Row {
    fn print(&self) {
        println!(
            "| {} | {} | {} | {} | {} | {} | {:.2} s | {:.2} s | {:.2} |",
            self.what,
            self.n,
            self.parallelism,
            self.requests,
            self.expected,
            self.writes,
            self.wall.as_secs_f64(),
            self.ideal.as_secs_f64(),
            self.wall.as_secs_f64() / self.ideal.as_secs_f64().max(0.001)
        );
    }
}

async fn timed_plan(c: &TwinApi, d: &Desired, parallelism: usize) -> (Live, Plan, Duration) {
    let t = Instant::now();
    let live = read::read(c, d, parallelism, &Scope::default())
        .await
        .unwrap();
    let plan = diff(d, &live);
    (live, plan, t.elapsed())
}

async fn timed_apply(
    c: &TwinApi,
    live: &Live,
    plan: &Plan,
    parallelism: usize,
    secrets: &Path,
) -> Duration {
    let secrets = Arc::new(SecretSink::new(secrets, None, Redactor::new()).unwrap());
    let mut targets = HashMap::new();
    targets.insert(
        "twin",
        Target {
            provider: Arc::from(erase(Twin)),
            bound: {
                let b = Typed::ready(Twin, Desired::default(), Some(c.clone()), live.clone());
                b.begin_apply();
                Arc::new(b)
            },
        },
    );
    let ctx = apply::Context {
        targets,
        parallelism,
        source_id: None,
        secrets,
        journal: Arc::new(apply::journal::Journal::none()),
        interrupted: Default::default(),
    };
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let t = Instant::now();
    let results = apply::execute(plan, ctx, tx).await;
    let failed = results
        .iter()
        .filter(|r| r.status != apply::Status::Applied)
        .count();
    assert_eq!(failed, 0, "{failed} changes did not apply");
    t.elapsed()
}

async fn sized(n: usize, rows: &mut Vec<Row>) {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), n, &|_| String::new());
    let desired = load(dir.path());
    let faults = FaultArgs {
        latency_ms: LATENCY_MS,
        ..FaultArgs::default()
    };
    let emu = emulator::start_with("127.0.0.1:0", None, &faults.config(), Store::default())
        .await
        .unwrap();
    let c = client(&emu.endpoint());
    let stats = &emu.shared.stats;
    let secrets = dir.path().join("secrets.json");

    // Plan from empty, then apply everything.
    stats.reset();
    let (live, plan, wall) = timed_plan(&c, &desired, 16).await;
    let reads = stats.total.load(Ordering::Relaxed);
    rows.push(Row {
        what: "plan (empty account)".into(),
        n,
        parallelism: 16,
        requests: reads,
        expected: formula(&desired, 0).to_string(),
        writes: stats.writes(),
        wall,
        ideal: ideal(reads, 16),
    });
    let ops: usize = plan.changes.iter().map(|c| c.ops.len()).sum();
    stats.reset();
    let wall = timed_apply(&c, &live, &plan, 16, &secrets).await;
    let requests = stats.total.load(Ordering::Relaxed);
    rows.push(Row {
        what: "apply from empty".into(),
        n,
        parallelism: 16,
        requests,
        expected: format!("{ops} writes"),
        writes: stats.writes(),
        wall,
        ideal: ideal(requests, 16),
    });

    // Plan of a converged account, at parallelism 16 and 1.
    let parallelisms: &[usize] = if n <= 1000 { &[16, 1] } else { &[16] };
    for &p in parallelisms {
        stats.reset();
        let (_, plan, wall) = timed_plan(&c, &desired, p).await;
        assert!(plan.is_empty());
        let reads = stats.total.load(Ordering::Relaxed);
        rows.push(Row {
            what: "plan (no changes)".into(),
            n,
            parallelism: p,
            requests: reads,
            expected: formula(&desired, n).to_string(),
            writes: stats.writes(),
            wall,
            ideal: ideal(reads, p),
        });
    }

    // 1% of the prompts change: writes must equal the changes.
    let changed = (n / 100).max(1);
    write_tree(dir.path(), n, &|i| {
        if i % 100 == 0 && i / 100 < changed {
            "- One more rule.\n".to_string()
        } else {
            String::new()
        }
    });
    let desired = load(dir.path());
    stats.reset();
    let (live, plan, plan_wall) = timed_plan(&c, &desired, 16).await;
    let plan_reads = stats.total.load(Ordering::Relaxed);
    stats.reset();
    let wall = timed_apply(&c, &live, &plan, 16, &secrets).await;
    let requests = stats.total.load(Ordering::Relaxed);
    assert_eq!(stats.writes() as usize, changed, "1% apply");
    rows.push(Row {
        what: "apply 1% changed (plan + apply)".into(),
        n,
        parallelism: 16,
        requests: plan_reads + requests,
        expected: format!("{changed} writes"),
        writes: stats.writes(),
        wall: plan_wall + wall,
        ideal: ideal(plan_reads, 16) + ideal(requests, 16),
    });

    // No-op apply.
    stats.reset();
    let (live, plan, plan_wall) = timed_plan(&c, &desired, 16).await;
    let wall = timed_apply(&c, &live, &plan, 16, &secrets).await;
    let requests = stats.total.load(Ordering::Relaxed);
    rows.push(Row {
        what: "no-op apply (plan + apply)".into(),
        n,
        parallelism: 16,
        requests,
        expected: "0 writes".into(),
        writes: stats.writes(),
        wall: plan_wall + wall,
        ideal: ideal(requests, 16),
    });
    assert_eq!(stats.writes(), 0, "a no-op apply wrote");
    emu.stop().await.unwrap();
}

/// Live state equal to the desired state, built in memory (no network).
fn live_from(desired: &Desired) -> Live {
    let ids: HashMap<&str, String> = desired
        .workspaces
        .iter()
        .enumerate()
        .map(|(i, w)| (w.name.as_str(), format!("ws_{i}")))
        .collect();
    let mut live = Live {
        workspaces: desired
            .workspaces
            .iter()
            .map(|w| Workspace {
                workspace_id: ids[w.name.as_str()].clone(),
                name: w.name.clone(),
                icon_config: None,
                position: None,
                agent_count: None,
                created_at: None,
                updated_at: None,
            })
            .collect(),
        ..Live::default()
    };
    for a in &desired.agents {
        live.agents.insert(
            a.id.clone(),
            Agent {
                agent_id: a.id.clone(),
                workspace_id: Some(ids[a.workspace.as_str()].clone()),
                ..Agent::default()
            },
        );
        let content = a
            .instructions
            .as_ref()
            .map(|t| t.expose().to_string())
            .unwrap_or_default();
        live.instructions.insert(
            a.id.clone(),
            Some(Instructions {
                content,
                ..Instructions::default()
            }),
        );
        if let Some(Some(s)) = &a.schedule {
            live.schedules.insert(
                a.id.clone(),
                Schedule {
                    agent_id: Some(a.id.clone()),
                    cron: s.cron.expose().to_string(),
                    ..Schedule::default()
                },
            );
        }
        let hooks = a
            .webhooks
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, w)| Webhook {
                webhook_id: format!("{}-{i}", a.id),
                url: w.url.expose().to_string(),
                events: w.events.clone(),
                status: "active".into(),
                ..Webhook::default()
            });
        live.webhooks.insert(a.id.clone(), hooks.collect());
    }
    live
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn local_cost(n: usize) {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), n, &|_| String::new());
    let t = Instant::now();
    let desired = load(dir.path());
    let validate = t.elapsed();
    let mut live = live_from(&desired);
    for (i, a) in desired
        .agents
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 100 == 0)
    {
        live.instructions.insert(
            a.id.clone(),
            Some(Instructions {
                content: format!("old {i}"),
                ..Instructions::default()
            }),
        );
    }
    let t = Instant::now();
    let plan = diff(&desired, &live);
    let diff = t.elapsed();
    let t = Instant::now();
    let text = twinform::engine::plan::render::json::render(&plan);
    let render = t.elapsed();
    println!(
        "| {n} | {:.3} s | {:.3} s | {:.3} s ({} changes, {} KB JSON) | {:.0} MB |",
        validate.as_secs_f64(),
        diff.as_secs_f64(),
        render.as_secs_f64(),
        plan.changes.len(),
        text.len() / 1024,
        peak_rss_mb()
    );
}

async fn rate_limited(n: usize) {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), n, &|_| String::new());
    let desired = load(dir.path());
    let rpm = 600u32;
    let faults = FaultArgs {
        latency_ms: LATENCY_MS,
        rpm,
        ..FaultArgs::default()
    };
    let emu = emulator::start_with("127.0.0.1:0", None, &faults.config(), Store::default())
        .await
        .unwrap();
    let c = client(&emu.endpoint());
    let secrets = dir.path().join("secrets.json");
    let t = Instant::now();
    let (live, plan, _) = timed_plan(&c, &desired, 16).await;
    timed_apply(&c, &live, &plan, 16, &secrets).await;
    let (_, again, _) = timed_plan(&c, &desired, 16).await;
    assert!(again.is_empty());
    let wall = t.elapsed();
    let stats = &emu.shared.stats;
    let total = stats.total.load(Ordering::Relaxed);
    let throttled = stats.with_status(429);
    if std::env::var_os("TWINFORM_BENCH_DEBUG").is_some() {
        for (m, r, s, n) in stats.snapshot().into_iter().filter(|e| e.2 == 429) {
            eprintln!("429: {m} {r} ×{n} (status {s})");
        }
    }
    let served = total - throttled;
    // A fixed window of `rpm` per minute: the last window starts after floor((served-1)/rpm) minutes.
    let windows = (served.saturating_sub(1)) / u64::from(rpm);
    let bound = Duration::from_secs(60 * windows) + ideal(served - windows * u64::from(rpm), 16);
    println!(
        "| plan + apply from empty + plan | {n} | {rpm}/min | {served} | {throttled} ({:.2}%) | {:.1} s | {:.1} s | {:.2} |",
        100.0 * throttled as f64 / total as f64,
        wall.as_secs_f64(),
        bound.as_secs_f64(),
        wall.as_secs_f64() / bound.as_secs_f64()
    );
    emu.stop().await.unwrap();
}

fn main() {
    let sizes: Vec<usize> = std::env::var("TWINFORM_BENCH_SIZES")
        .unwrap_or_else(|_| "100,1000,10000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return; // `cargo test --benches` / harness probes
    }
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    println!(
        "twinform reconcile benchmark · {cores} cores · emulator latency {LATENCY_MS} ms/request\n"
    );

    println!("Local cost, no network (load + validate, diff against an in-memory live state with 1% drift, JSON render):\n");
    println!("| agents | validate | diff | render | peak RSS |\n|---|---|---|---|---|");
    local_cost(*sizes.iter().max().unwrap_or(&10_000));
    println!();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut rows = Vec::new();
    for &n in &sizes {
        rt.block_on(sized(n, &mut rows));
    }
    println!("Against the emulator (ideal = ceil(requests / parallelism) × {LATENCY_MS} ms):\n");
    println!("| operation | agents | parallelism | requests | expected | writes | wall | ideal | ratio |\n|---|---|---|---|---|---|---|---|---|");
    for r in &rows {
        r.print();
    }
    let by: BTreeMap<(usize, usize), Duration> = rows
        .iter()
        .filter(|r| r.what == "plan (no changes)")
        .map(|r| ((r.n, r.parallelism), r.wall))
        .collect();
    for &n in &sizes {
        if let (Some(p16), Some(p1)) = (by.get(&(n, 16)), by.get(&(n, 1))) {
            println!(
                "\nplan at {n} agents: parallelism 16 is {:.1}× faster than parallelism 1",
                p1.as_secs_f64() / p16.as_secs_f64()
            );
        }
    }
    println!("\nUnder a server limit (fixed window), pacing from X-RateLimit-* headers:\n");
    println!("| operation | agents | limit | requests served | answered 429 | wall | bound | ratio |\n|---|---|---|---|---|---|---|---|");
    rt.block_on(rate_limited(100));
}

//! Twig end to end: the binary against the Twig emulator (reads by formula,
//! convergence, manual changes and their exit codes, pacing without 429s,
//! faults without duplicates, secrets never shown, export round trip) and
//! the client against hand-made servers (shifting pages, error shapes).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::Method;
use tokio::runtime::Runtime;
use twinform::cli::FaultArgs;
use twinform::engine::emulation::{Hook, Shared};
use twinform::engine::http::{ApiKey, Client, ClientConfig, RetryPolicy};
use twinform::engine::provider::Provider;
use twinform::providers::twig::emulator::{self, Emulator, Store};
use twinform::providers::twig::wire::{Agent, DataSource};
use twinform::providers::twig::{Twig, TwigApi};

const KEY: &str = "twigsk_test_0123456789abcdef";

struct TestTwig {
    rt: Runtime,
    endpoint: String,
    shared: Arc<Shared<Store>>,
    emulator: Option<Emulator>,
}

impl TestTwig {
    fn with(faults: FaultArgs, store: Store) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let emulator = rt
            .block_on(emulator::start_with(
                "127.0.0.1:0",
                None,
                &faults.config(),
                store,
            ))
            .unwrap();
        TestTwig {
            endpoint: emulator.endpoint(),
            shared: emulator.shared.clone(),
            emulator: Some(emulator),
            rt,
        }
    }

    /// Rate limits 600 times faster than documented (a minute is 0.1 s).
    fn start() -> Self {
        Self::with(fast(), Store::default())
    }

    fn cmd(&self, dir: &Path) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::cargo_bin("twinform").unwrap();
        c.current_dir(dir)
            .env("TWIG_ENDPOINT", &self.endpoint)
            .env("TWIG_API_KEY", KEY)
            .env("NO_COLOR", "1")
            .env_remove("TWIN_API_KEY");
        c
    }

    fn store<T>(&self, f: impl FnOnce(&mut Store) -> T) -> T {
        self.shared.with_store(true, f)
    }

    fn reads(&self) -> u64 {
        self.shared.stats.reads()
    }

    fn writes(&self) -> u64 {
        self.shared.stats.writes()
    }

    fn reset_stats(&self) {
        self.shared.stats.reset();
    }

    fn apply(&self, dir: &Path) -> std::process::Output {
        self.cmd(dir)
            .args(["apply", "--auto-approve", "."])
            .output()
            .unwrap()
    }

    fn plan_code(&self, dir: &Path) -> i32 {
        let out = self
            .cmd(dir)
            .args(["plan", "--detailed-exitcode", "."])
            .output()
            .unwrap();
        out.status.code().unwrap_or(-1)
    }
}

impl Drop for TestTwig {
    fn drop(&mut self) {
        if let Some(e) = self.emulator.take() {
            let _ = self.rt.block_on(e.stop());
        }
    }
}

fn fast() -> FaultArgs {
    FaultArgs {
        time_scale: 600.0,
        ..FaultArgs::default()
    }
}

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (name, content) in files {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

const TREE: &str = "kind: TwigDataSource
name: Docs
type: website
config: {url: https://docs.example.com, max_pages: 100}
sync_frequency: daily
---
kind: TwigAgent
name: Support
system_prompt: {file: support.md}
model: gpt-4
rag_strategy: cedar
temperature: 0.3
max_tokens: 400
data_sources: [Docs]
---
kind: TwigUser
email: ana@example.com
name: Ana
role: train
";

fn agents_tree(n: usize) -> String {
    (0..n)
        .map(|i| format!("kind: TwigAgent\nname: agent-{i:03}\nsystem_prompt: Prompt {i}\nmodel: gpt-4\ndata_sources: []\n"))
        .collect::<Vec<_>>()
        .join("---\n")
}

#[test]
fn apply_converges_and_a_no_op_plan_reads_exactly_the_formula() {
    let t = TestTwig::start();
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[
            ("twig.yaml", TREE),
            ("support.md", "Answer from the docs.\n"),
        ],
    );
    let out = t.apply(dir.path());
    assert!(out.status.success(), "{}", text(&out));
    // Data source create + its first sync, agent create, user invite.
    assert_eq!(t.writes(), 4);
    let (agent, source) = t.store(|s| (s.agents[0].clone(), s.data_sources[0].clone()));
    assert_eq!(agent.data_source_ids, vec![source.id.clone()]);
    assert_eq!(
        agent.system_prompt.as_deref(),
        Some("Answer from the docs.\n")
    );
    assert_eq!(
        source.status.as_deref(),
        Some("processing"),
        "the first sync started"
    );

    t.reset_stats();
    assert_eq!(t.plan_code(dir.path()), 0);
    // 1 agent page + 1 data source page + 1 user page + 1 GET per managed agent.
    assert_eq!(t.reads(), 1 + 1 + 1 + 1);
    t.reset_stats();
    let out = t.apply(dir.path());
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(t.writes(), 0, "a no-op apply writes nothing");
}

#[test]
fn reads_page_through_200_at_a_time() {
    let t = TestTwig::start();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &[("twig.yaml", &agents_tree(3))]);
    t.store(|s| {
        for i in 0..450 {
            s.agents.push(Agent {
                id: format!("agent_other{i}"),
                name: format!("other-{i}"),
                ..Agent::default()
            });
        }
    });
    assert!(t.apply(dir.path()).status.success());
    t.reset_stats();
    assert_eq!(t.plan_code(dir.path()), 0);
    // ceil(453 / 200) = 3 agent pages, read twice (a list of several pages
    // is read until two reads agree), no data sources or users (none
    // declared, none referenced by name), 3 GETs for managed agents.
    assert_eq!(t.reads(), 2 * 3 + 3);
}

#[test]
fn a_long_apply_is_paced_by_the_write_bucket_and_never_answered_429() {
    // Write: 15 at once, then 10 per (scaled) minute: 40 agents need the
    // bucket to refill 25 times.
    let t = TestTwig::with(
        FaultArgs {
            time_scale: 120.0,
            ..FaultArgs::default()
        },
        Store::default(),
    );
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &[("twig.yaml", &agents_tree(40))]);
    let out = t.apply(dir.path());
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(t.store(|s| s.agents.len()), 40);
    assert_eq!(
        t.shared.stats.with_status(429),
        0,
        "{}",
        t.shared.stats.to_json()
    );
}

#[test]
fn manual_changes_are_listed_counted_and_keep_drift_exit_2() {
    let t = TestTwig::start();
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[
            ("twig.yaml", TREE),
            ("support.md", "Answer from the docs.\n"),
        ],
    );
    assert!(t.apply(dir.path()).status.success());
    // Someone changes the data source's schedule and the user's role in Twig's UI…
    let changed = TREE
        .replace("sync_frequency: daily", "sync_frequency: hourly")
        .replace("role: train", "role: admin");
    write(dir.path(), &[("twig.yaml", &changed)]);
    let out = t
        .cmd(dir.path())
        .args(["plan", "--detailed-exitcode", "."])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let shown = text(&out);
    assert!(
        shown.contains("twig.data_source[\"Docs\"]") && shown.contains("Twig's settings"),
        "{shown}"
    );
    assert!(shown.contains("2 to do by hand"), "{shown}");
    let json = t
        .cmd(dir.path())
        .args(["plan", "-o", "json", "."])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let actions: Vec<&str> = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, vec!["manual", "manual"]);
    assert_eq!(v["summary"]["manual"], 2);
    let md = t
        .cmd(dir.path())
        .args(["plan", "-o", "markdown", "."])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&md.stdout).contains("2 to do by hand"));
    // apply does what it can (nothing), lists the rest, and exits 0.
    t.reset_stats();
    let out = t.apply(dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("left to do by hand"), "{}", text(&out));
    assert_eq!(t.writes(), 0);
    let drift = t.cmd(dir.path()).args(["drift", "."]).output().unwrap();
    assert_eq!(drift.status.code(), Some(2), "{}", text(&drift));
}

#[test]
fn changes_update_only_what_differs_and_prune_deletes() {
    let t = TestTwig::start();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &[("twig.yaml", &agents_tree(3))]);
    assert!(t.apply(dir.path()).status.success());
    t.store(|s| {
        let a = s.agents.iter_mut().find(|a| a.name == "agent-001").unwrap();
        a.model = Some("gpt-3.5-turbo".into());
    });
    let mut tree = agents_tree(2);
    tree.push_str("---\nkind: TwigOrganization\nprune: true\n");
    write(dir.path(), &[("twig.yaml", &tree)]);
    let plan = t.cmd(dir.path()).args(["plan", "."]).output().unwrap();
    let shown = text(&plan);
    assert!(
        shown.contains("model: \"gpt-3.5-turbo\" → \"gpt-4\""),
        "{shown}"
    );
    assert!(shown.contains("- twig.agent[\"agent-002\"]"), "{shown}");
    t.reset_stats();
    let out = t.apply(dir.path());
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(t.shared.stats.count("PUT", "/api/v1/agents/{id}"), 1);
    assert_eq!(t.shared.stats.count("DELETE", "/api/v1/agents/{id}"), 1);
    assert_eq!(t.plan_code(dir.path()), 0);
}

#[test]
fn lost_create_answers_never_duplicate() {
    // Every write's connection is dropped after it commits half the time, and
    // some answers come back 503: the creates read back by name before retrying.
    let t = TestTwig::with(
        FaultArgs {
            time_scale: 600.0,
            rate_reset: 0.5,
            rate_503: 0.1,
            seed: 7,
            ..FaultArgs::default()
        },
        Store::default(),
    );
    let dir = tempfile::tempdir().unwrap();
    let mut tree = agents_tree(12);
    tree.push_str("---\nkind: TwigDataSource\nname: Docs\ntype: website\nconfig: {url: https://d.example.com}\nsync_on_create: false\n");
    tree.push_str("---\nkind: TwigUser\nemail: ana@example.com\nname: Ana\nrole: train\n");
    write(dir.path(), &[("twig.yaml", &tree)]);
    for _ in 0..4 {
        if t.apply(dir.path()).status.success() {
            break;
        }
    }
    let (agents, sources, users) =
        t.store(|s| (s.agents.len(), s.data_sources.len(), s.users.len()));
    assert_eq!((agents, sources, users), (12, 1, 1));
    let quiet = TestTwig::with(fast(), t.store(std::mem::take));
    assert_eq!(quiet.plan_code(dir.path()), 0);
}

#[test]
fn creates_that_commit_after_the_client_gave_up_are_swept() {
    // Half the writes commit 0.8 s after they arrive; the client gives up
    // after 0.5 s, finds nothing by name yet, and creates again. The late
    // first request then commits a second agent of the name, which the
    // apply deletes at its end.
    let t = TestTwig::with(
        FaultArgs {
            time_scale: 600.0,
            rate_late_commit: 0.5,
            spike_ms: 800,
            seed: 3,
            ..FaultArgs::default()
        },
        Store::default(),
    );
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &[("twig.yaml", &agents_tree(6))]);
    let out = t
        .cmd(dir.path())
        .args(["apply", "--auto-approve", "--timeout", "0.5", "."])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let names: Vec<String> = t.store(|s| s.agents.iter().map(|a| a.name.clone()).collect());
    let unique: std::collections::HashSet<&String> = names.iter().collect();
    assert_eq!((names.len(), unique.len()), (6, 6), "{names:?}");
    let journal = std::fs::read_to_string(dir.path().join(".twinform/journal.ndjson")).unwrap();
    assert!(
        journal.contains("late duplicate(s) deleted"),
        "no create lost its answer: {journal}"
    );
}

#[test]
fn secrets_in_config_and_the_api_key_never_show() {
    let t = TestTwig::start();
    let dir = tempfile::tempdir().unwrap();
    let tree = "kind: TwigDataSource
name: Wiki
type: confluence
config: {url: https://wiki.example.com, api_token: \"${WIKI_TOKEN}\"}
sync_on_create: false
";
    write(dir.path(), &[("twig.yaml", tree)]);
    let secret = "wiki-token-very-secret-1";
    let run = |args: &[&str], token: &str| {
        let out = t
            .cmd(dir.path())
            .env("WIKI_TOKEN", token)
            .args(args)
            .output()
            .unwrap();
        text(&out)
    };
    let mut everything = String::new();
    for format in ["text", "json", "markdown"] {
        everything += &run(&["plan", "-v", "-o", format, "."], secret);
    }
    everything += &run(&["plan", "--out", "saved.json", "."], secret);
    everything += &std::fs::read_to_string(dir.path().join("saved.json")).unwrap();
    everything += &run(
        &["apply", "-v", "--auto-approve", "-o", "json", "."],
        secret,
    );
    // The token changes: a manual change, shown masked on both sides.
    let rotated = "wiki-token-rotated-2";
    everything += &run(&["plan", "-o", "json", "."], rotated);
    everything += &run(&["plan", "."], rotated);
    everything += &run(&["apply", "--auto-approve", "-o", "markdown", "."], rotated);
    for leak in [secret, rotated, KEY] {
        assert!(!everything.contains(leak), "`{leak}` leaked:\n{everything}");
    }
    assert!(everything.contains("(sensitive)"), "{everything}");
    let stored = t.store(|s| s.data_sources[0].config.clone().unwrap());
    assert_eq!(stored["api_token"], secret, "the real value was sent");
}

#[test]
fn export_round_trips_to_no_changes() {
    let t = TestTwig::start();
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[
            ("twig.yaml", TREE),
            ("support.md", "Answer from the docs.\nLine ${two}.\n"),
        ],
    );
    assert!(t.apply(dir.path()).status.success());
    t.store(|s| {
        s.data_sources.push(DataSource {
            id: "ds_manual".into(),
            name: "Slack".into(),
            source_type: Some("slack".into()),
            config: serde_json::from_value(
                serde_json::json!({"channel": "#help", "bot_token": "xoxb-secret"}),
            )
            .ok(),
            sync_frequency: Some("hourly".into()),
            ..DataSource::default()
        })
    });
    let out_dir = tempfile::tempdir().unwrap();
    let out = t
        .cmd(dir.path())
        .args(["export", "--provider", "twig", "--out"])
        .arg(out_dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("bot_token"),
        "the note names what was left out: {}",
        text(&out)
    );
    let mut all = String::new();
    for entry in walk(out_dir.path()) {
        all += &std::fs::read_to_string(entry).unwrap();
    }
    assert!(!all.contains("xoxb-secret"), "{all}");
    t.reset_stats();
    let plan = t
        .cmd(out_dir.path())
        .args(["plan", "--detailed-exitcode", "."])
        .output()
        .unwrap();
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// A client for a hand-made server.
fn client(endpoint: &str) -> TwigApi {
    let config = ClientConfig {
        endpoint: endpoint.to_string(),
        timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(2),
        retry: RetryPolicy {
            max_attempts: 4,
            base: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
        },
    };
    let client = Client::new(config, ApiKey::new(KEY).unwrap(), Twig.profile()).unwrap();
    TwigApi { client }
}

async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn a_list_that_shifts_while_read_is_read_again_and_deduplicated() {
    use axum::extract::Query;
    use std::collections::HashMap;
    // 201 agents; while the second page is read, one is inserted at the
    // front, so the second page repeats the last of the first and `total`
    // moves. The first read sees the shift; the next two agree.
    let calls = Arc::new(AtomicU64::new(0));
    let seen = calls.clone();
    let app = axum::Router::new().route(
        "/api/v1/agents",
        axum::routing::get(move |Query(q): Query<HashMap<String, String>>| {
            let calls = seen.clone();
            async move {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                let offset: usize = q.get("offset").and_then(|o| o.parse().ok()).unwrap_or(0);
                let total = if n == 0 { 201 } else { 202 };
                let all: Vec<serde_json::Value> = (0..total)
                    .rev()
                    .map(|i| serde_json::json!({"id": format!("agent_{i}"), "name": format!("a{i}")}))
                    .collect();
                let page: Vec<_> = all.iter().skip(offset).take(200).cloned().collect();
                axum::Json(serde_json::json!({"agents": page, "total": total, "limit": 200, "offset": offset}))
            }
        }),
    );
    let api = client(&serve(app).await);
    let agents = api.list_agents().await.unwrap();
    assert_eq!(agents.len(), 202);
    let ids: std::collections::HashSet<&str> = agents.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids.len(), 202, "no duplicates");
    assert_eq!(calls.load(Ordering::SeqCst), 6, "three reads of two pages");
}

#[tokio::test]
async fn a_server_ignoring_offset_is_an_error_instead_of_a_loop_or_part_of_the_list() {
    let app = axum::Router::new().route(
        "/api/v1/agents",
        axum::routing::get(|| async {
            let page: Vec<_> = (0..200)
                .map(|i| serde_json::json!({"id": format!("agent_{i}")}))
                .collect();
            axum::Json(serde_json::json!({"agents": page, "total": 1000}))
        }),
    );
    let api = client(&serve(app).await);
    let err = api.list_agents().await.unwrap_err().to_string();
    assert!(err.contains("ignores `offset`"), "{err}");
}

#[tokio::test]
async fn every_documented_error_shape_is_read_and_4xx_is_never_retried() {
    let calls = Arc::new(AtomicU64::new(0));
    let seen = calls.clone();
    let app = axum::Router::new()
        .route(
            "/api/v1/agents/{id}",
            axum::routing::get(move |axum::extract::Path(id): axum::extract::Path<String>| {
                let calls = seen.clone();
                async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    let body = match id.as_str() {
                        "seed" => serde_json::json!({"error": {"code": "not_found", "message": "Agent not found", "details": {"agent_id": "seed"}}, "request_id": "req_1"}),
                        "status" => serde_json::json!({"status": "error", "error": {"code": "not_found", "message": "No such agent", "retryAfter": 1}}),
                        _ => serde_json::json!({"error": "Invalid API key", "status": 401}),
                    };
                    let code = if id == "flat" { 401 } else { 404 };
                    (axum::http::StatusCode::from_u16(code).unwrap(), axum::Json(body))
                }
            }),
        );
    let api = client(&serve(app).await);
    let e = api.get_agent("seed").await.unwrap_err().to_string();
    assert!(
        e.contains("Agent not found") && e.contains("not_found") && e.contains("req_1"),
        "{e}"
    );
    let e = api.get_agent("status").await.unwrap_err().to_string();
    assert!(e.contains("No such agent"), "{e}");
    let e = api.get_agent("flat").await.unwrap_err().to_string();
    assert!(e.starts_with("401") && e.contains("Invalid API key"), "{e}");
    assert_eq!(calls.load(Ordering::SeqCst), 3, "no 4xx was retried");
}

#[test]
fn pull_writes_drifted_agent_values_back_and_the_plan_is_empty() {
    let t = TestTwig::start();
    let dir = tempfile::tempdir().unwrap();
    let tree = TREE.replace(
        "data_sources: [Docs]",
        "data_sources: [Docs]   # answers from the docs",
    );
    write(
        dir.path(),
        &[
            ("twig.yaml", &tree),
            ("support.md", "Answer from the docs.\n"),
        ],
    );
    assert!(t.apply(dir.path()).status.success());
    let id = t.store(|s| s.agents[0].id.clone());
    let api = client(&t.endpoint);
    t.rt.block_on(async {
        api.update_agent(
            &id,
            &twinform::providers::twig::wire::AgentBody {
                system_prompt: Some("Answer from the docs, briefly.\n".into()),
                model: Some("gpt-4o".into()),
                temperature: Some(0.7),
                max_tokens: Some(800),
                data_source_ids: Some(Vec::new()),
                ..Default::default()
            },
        )
        .await
        .unwrap()
    });
    let out = t.cmd(dir.path()).args(["pull", "."]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("Pulled 5 drifted values into 2 files."),
        "{}",
        text(&out)
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("twig.yaml")).unwrap(),
        tree.replace("model: gpt-4\n", "model: gpt-4o\n")
            .replace("temperature: 0.3", "temperature: 0.7")
            .replace("max_tokens: 400", "max_tokens: 800")
            .replace("data_sources: [Docs]", "data_sources: []")
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("support.md")).unwrap(),
        "Answer from the docs, briefly.\n"
    );
    assert_eq!(t.plan_code(dir.path()), 0);
}

/// `n` agents no manifest declares, `other-000`…
fn others(n: usize) -> Vec<Agent> {
    (0..n)
        .map(|i| Agent {
            id: format!("agent_other{i:03}"),
            name: format!("other-{i:03}"),
            ..Agent::default()
        })
        .collect()
}

#[test]
fn a_create_and_a_delete_between_two_pages_never_duplicate_an_agent() {
    // The declared agent is the first of the second page. While the first
    // page is read, someone deletes an agent before it and creates one
    // (`total` does not move): the second page starts one agent later.
    let t = TestTwig::start();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &[("twig.yaml", &agents_tree(1))]);
    t.store(|s| {
        s.agents = others(200);
        s.agents.push(Agent {
            id: "agent_declared".into(),
            name: "agent-000".into(),
            system_prompt: Some("Prompt 0".into()),
            model: Some("gpt-4".into()),
            ..Agent::default()
        });
        s.agents.extend(others(210).split_off(200));
    });
    t.shared.hook(Hook::new(
        Method::GET,
        "/api/v1/agents",
        1,
        |_: &str, s: &mut Store| {
            s.agents.remove(5);
            s.agents.push(Agent {
                id: "agent_someone".into(),
                name: "someone-else".into(),
                ..Agent::default()
            });
            None
        },
    ));
    let out = t.apply(dir.path());
    assert!(out.status.success(), "{}", text(&out));
    let named = t.store(|s| s.agents.iter().filter(|a| a.name == "agent-000").count());
    assert_eq!(named, 1, "a duplicate was created: {}", text(&out));
    assert_eq!(t.plan_code(dir.path()), 0);
}

#[test]
fn a_list_that_keeps_moving_fails_the_command_instead_of_being_used_in_part() {
    // Every page read, someone deletes the first agent and creates two.
    let t = TestTwig::start();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &[("twig.yaml", &agents_tree(1))]);
    t.store(|s| s.agents = others(250));
    let created = Arc::new(AtomicU64::new(0));
    let n = created.clone();
    t.shared.hook(Hook::new(
        Method::GET,
        "/api/v1/agents",
        u32::MAX,
        move |_: &str, s: &mut Store| {
            s.agents.remove(0);
            for _ in 0..2 {
                let i = n.fetch_add(1, Ordering::SeqCst);
                s.agents.push(Agent {
                    id: format!("agent_churn{i}"),
                    name: format!("churn-{i}"),
                    ..Agent::default()
                });
            }
            None
        },
    ));
    let out = t.apply(dir.path());
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("kept changing while it was read"),
        "{}",
        text(&out)
    );
    assert_eq!(t.writes(), 0, "nothing was decided from a partial list");
}

const SOURCE: &str = "kind: TwigDataSource
name: Docs
type: website
config: {url: https://docs.example.com}
";

#[test]
fn a_first_sync_answered_500_after_it_started_is_not_sent_again() {
    // Every write commits, then is answered 500.
    let t = TestTwig::with(
        FaultArgs {
            time_scale: 600.0,
            rate_500_after_commit: 1.0,
            ..FaultArgs::default()
        },
        Store::default(),
    );
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &[("twig.yaml", SOURCE)]);
    let out = t.apply(dir.path());
    let sync = "/api/v1/data-sources/{id}/sync";
    assert_eq!(
        t.shared.stats.count("POST", sync),
        1,
        "every sync sent is a full crawl: {}",
        t.shared.stats.to_json()
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        t.store(|s| (s.data_sources.len(), s.data_sources[0].status.clone())),
        (1, Some("processing".into()))
    );
    assert!(!text(&out).contains("its first sync"), "{}", text(&out));
}

#[test]
fn a_first_sync_that_failed_before_it_started_is_sent_again() {
    // The first sync request is answered 500 and did not start (the status
    // is still pending): it is sent once more, after the status said so.
    let t = TestTwig::start();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &[("twig.yaml", SOURCE)]);
    t.shared.hook(Hook::new(
        Method::POST,
        "/api/v1/data-sources/{id}/sync",
        1,
        |_: &str, s: &mut Store| {
            s.data_sources[0].status = Some("pending".into());
            Some(500)
        },
    ));
    let out = t.apply(dir.path());
    assert!(out.status.success(), "{}", text(&out));
    let stats = &t.shared.stats;
    assert_eq!(stats.count("POST", "/api/v1/data-sources/{id}/sync"), 2);
    assert_eq!(stats.count("GET", "/api/v1/data-sources/{id}/status"), 1);
    assert_eq!(
        t.store(|s| s.data_sources[0].status.clone()),
        Some("processing".into())
    );
}

/// Review II 2 and 8: a "do by hand" change shows the values that differ
/// (a config entry by itself), with what to do, in text and Markdown; a
/// pruned agent shows what is lost; `--ignore-manual` lets the check after
/// an apply pass while only manual changes remain.
#[test]
fn manual_changes_show_their_values_and_ignore_manual_passes_the_check() {
    let t = TestTwig::start();
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[
            ("twig.yaml", TREE),
            ("support.md", "Answer from the docs.\n"),
        ],
    );
    assert!(t.apply(dir.path()).status.success());
    let changed = TREE
        .replace("max_pages: 100", "max_pages: 50")
        .replace("role: train", "role: admin");
    write(dir.path(), &[("twig.yaml", &changed)]);
    let out = t.cmd(dir.path()).args(["plan", "."]).output().unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("config.max_pages: 100 → 50"),
        "the value that differs: {shown}"
    );
    assert!(shown.contains("role: \"train\" → \"admin\""), "{shown}");
    assert!(
        shown.contains("do by hand: cannot be applied through the API"),
        "{shown}"
    );
    let md = t
        .cmd(dir.path())
        .args(["plan", "-o", "markdown", "."])
        .output()
        .unwrap();
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(
        md.contains("by hand: config.max\\_pages: 100 → 50 (cannot be applied"),
        "{md}"
    );
    // The check after an apply: manual changes alone pass with
    // --ignore-manual, and still fail without it.
    let code = |args: &[&str]| t.cmd(dir.path()).args(args).output().unwrap().status.code();
    assert_eq!(code(&["plan", "--detailed-exitcode", "."]), Some(2));
    assert_eq!(
        code(&["plan", "--detailed-exitcode", "--ignore-manual", "."]),
        Some(0)
    );
    assert_eq!(code(&["drift", "--ignore-manual", "."]), Some(0));
    assert_eq!(code(&["drift", "."]), Some(2));
    // Work that can be applied still counts.
    write(
        dir.path(),
        &[(
            "twig.yaml",
            &changed.replace("max_tokens: 400", "max_tokens: 300"),
        )],
    );
    assert_eq!(
        code(&["plan", "--detailed-exitcode", "--ignore-manual", "."]),
        Some(2)
    );
    // A pruned agent shows what is lost, not only its model.
    write(
        dir.path(),
        &[(
            "twig.yaml",
            "kind: TwigOrganization\nprune: true\n---\nkind: TwigDataSource\nname: Docs\ntype: website\n",
        )],
    );
    let out = t.cmd(dir.path()).args(["plan", "."]).output().unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    let line = shown
        .lines()
        .find(|l| l.contains("- twig.agent[\"Support\"]"))
        .unwrap_or_else(|| panic!("{shown}"));
    for field in [
        "model \"gpt-4\"",
        "rag_strategy \"cedar\"",
        "data_sources [Docs]",
    ] {
        assert!(line.contains(field), "{field}: {line}");
    }
}

/// Review II 10: a paced apply says before it starts how long the rate
/// limit makes it; each change's time is its own, with the wait for the
/// rate limit said apart.
#[test]
fn a_paced_apply_says_how_long_it_takes_and_times_changes_without_their_queueing() {
    // A minute is 6 s here: 15 creates go at once, then one every 0.6 s.
    let t = TestTwig::with(
        FaultArgs {
            time_scale: 10.0,
            ..FaultArgs::default()
        },
        Store::default(),
    );
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &[("twig.yaml", &agents_tree(40))]);
    let plan = t.cmd(dir.path()).args(["plan", "."]).output().unwrap();
    let shown = String::from_utf8_lossy(&plan.stdout);
    assert!(
        shown.contains(
            "paced: Twig allows 10 write requests a minute after a burst of 15: the 40 of this plan take about 2 min 30 s"
        ),
        "{shown}"
    );
    write(dir.path(), &[("twig.yaml", &agents_tree(20))]);
    let out = t
        .cmd(dir.path())
        .args(["apply", "--auto-approve", "."])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the 20 of this plan take about 30 s"),
        "said before the apply: {err}"
    );
    let report = String::from_utf8_lossy(&out.stdout);
    let created: Vec<&str> = report
        .lines()
        .filter(|l| l.contains(" created ("))
        .collect();
    assert_eq!(created.len(), 20, "{report}");
    let waited = created
        .iter()
        .filter(|l| l.contains("waiting for the rate limit"))
        .count();
    assert!(waited >= 3, "the creates past the burst waited: {report}");
    for line in &created {
        // `created (0.01 s, after 0.6 s waiting …)`: its own time is short.
        let own: f64 = line
            .split(" created (")
            .nth(1)
            .and_then(|r| r.split(" s").next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{line}"));
        assert!(own < 0.5, "queueing counted as the change's time: {line}");
    }
}

/// Two documents that manage one live agent (one by `id:`, one by name)
/// stop the plan, located at the second one's document.
#[test]
fn two_documents_managing_one_live_agent_stop_the_plan_at_the_second() {
    let t = TestTwig::start();
    t.store(|s| {
        s.agents.push(Agent {
            id: "agent_live".into(),
            name: "Helper".into(),
            ..Agent::default()
        })
    });
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[(
            "twig.yaml",
            "kind: TwigAgent\nname: Helper\nsystem_prompt: a\n---\nkind: TwigAgent\nname: Other\nid: agent_live\nsystem_prompt: b\n",
        )],
    );
    let out = t.cmd(dir.path()).args(["plan", "."]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains(
            "twig.yaml:5:7: twig.agent[\"Other\"]: another TwigAgent document manages the same live agent `agent_live`"
        ),
        "{}",
        text(&out)
    );
}

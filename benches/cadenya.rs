//! Cadenya: 100 agents × 2 variations × 2 assignments, from empty and as a
//! no-op, against the in-process emulator with 20 ms of latency per
//! request; twinform (the binary, default parallelism 16) beside the
//! strategy of Cadenya's config loader (sequential, one resource at a time,
//! every existing resource updated on every apply), replayed here with the
//! same client on the same emulator in the same run.
//!
//! `ideal` = the longest of ceil(requests / 16) rounds and the dependency
//! chain (list workspaces → list kinds → create agent → create variation →
//! 2 assignments → publish = 7 rounds), × 20 ms.
//!
//! `cargo bench --bench cadenya` (`TWINFORM_CADENYA_AGENTS=100`).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;
use twinform::engine::emulation::FaultConfig;
use twinform::engine::http::{ApiKey, Client, ClientConfig, RetryPolicy};
use twinform::engine::provider::Provider;
use twinform::providers::cadenya::emulator::{self, Store};
use twinform::providers::cadenya::{Cadenya, CadenyaApi};

const LATENCY_MS: u64 = 20;
const PARALLELISM: u64 = 16;
const CHAIN: u64 = 7;

fn write_tree(dir: &Path, agents: usize) {
    let mut docs = vec!["kind: CadenyaWorkspace\nid: default\nowner: bench\n".to_string()];
    for t in ["search", "crm"] {
        docs.push(format!(
            "kind: CadenyaToolSet\nworkspace: default\nid: {t}\nname: {t}\nadapter: {{http: {{base_url: https://{t}.example.com}}}}\n"
        ));
    }
    for i in 0..agents {
        docs.push(format!(
            "kind: CadenyaAgent
workspace: default
id: agent-{i:03}
name: Agent {i}
status: published
selection: weighted
variations:
  a: {{prompt: \"You are agent {i}, variation a.\", model: anthropic/claude-sonnet-4.6, weight: 3, tools: [tool_set:search, tool_set:crm]}}
  b: {{prompt: \"You are agent {i}, variation b.\", model: openai/gpt-5, weight: 1, tools: [tool_set:search, tool_set:crm]}}
"
        ));
    }
    std::fs::write(dir.join("cadenya.yaml"), docs.join("---\n")).unwrap();
}

fn run(endpoint: &str, dir: &Path, args: &[&str]) -> Duration {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_twinform"))
        .current_dir(dir)
        .env("CADENYA_ENDPOINT", endpoint)
        .env("CADENYA_API_KEY", "bench-key")
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    started.elapsed()
}

fn ideal(requests: u64) -> Duration {
    Duration::from_millis(requests.div_ceil(PARALLELISM).max(CHAIN) * LATENCY_MS)
}

fn api(endpoint: &str) -> CadenyaApi {
    let config = ClientConfig {
        endpoint: endpoint.into(),
        timeout: Duration::from_secs(30),
        connect_timeout: Duration::from_secs(5),
        retry: RetryPolicy::default(),
    };
    CadenyaApi {
        client: Client::new(config, ApiKey::new("bench-key").unwrap(), Cadenya.profile()).unwrap(),
    }
}

/// The loader's strategy: read everything, then one request at a time,
/// creating what is missing and updating everything that exists.
async fn loader(api: &CadenyaApi, agents: usize) {
    let base = "/v1/workspaces/external_id:default";
    let live_sets = api.list(&format!("{base}/tool_sets"), "").await.unwrap();
    let live_agents = api.list(&format!("{base}/agents"), "").await.unwrap();
    let mut variations = Vec::new();
    for a in &live_agents {
        variations.push(
            api.list(
                &format!("{base}/agents/{}/variations", a.id()),
                "includeInfo=true",
            )
            .await
            .unwrap(),
        );
    }
    let mut set_ids = Vec::new();
    for t in ["search", "crm"] {
        let spec = json!({"adapter": {"http": {"baseUrl": format!("https://{t}.example.com")}}});
        match live_sets.iter().find(|s| s.metadata.ext() == Some(t)) {
            Some(s) => {
                let body = json!({"metadata": {"name": t}, "spec": spec, "updateMask": "metadata.name,spec.adapter"});
                api.write(
                    Method::PUT,
                    &format!("{base}/tool_sets/{}", s.id()),
                    Some(&body),
                )
                .await
                .unwrap();
                set_ids.push(s.id().to_string());
            }
            None => {
                let body = json!({"metadata": {"name": t, "externalId": t}, "spec": spec});
                set_ids.push(
                    api.create(&format!("{base}/tool_sets"), &body, Some(t))
                        .await
                        .unwrap()
                        .id()
                        .to_string(),
                );
            }
        }
    }
    for i in 0..agents {
        let ext = format!("agent-{i:03}");
        let spec = json!({"status": "AGENT_STATUS_DRAFT", "variationSelectionMode": "VARIATION_SELECTION_MODE_WEIGHTED"});
        let existing = live_agents
            .iter()
            .position(|a| a.metadata.ext() == Some(ext.as_str()));
        let agent_id = match existing {
            Some(k) => {
                let a = &live_agents[k];
                let body = json!({"metadata": {"name": format!("Agent {i}")}, "spec": {"variationSelectionMode": "VARIATION_SELECTION_MODE_WEIGHTED"}, "updateMask": "metadata.name,spec.variationSelectionMode"});
                api.write(
                    Method::PATCH,
                    &format!("{base}/agents/{}", a.id()),
                    Some(&body),
                )
                .await
                .unwrap();
                a.id().to_string()
            }
            None => {
                let body = json!({"metadata": {"name": format!("Agent {i}"), "externalId": ext}, "spec": spec});
                api.create(&format!("{base}/agents"), &body, Some(&ext))
                    .await
                    .unwrap()
                    .id()
                    .to_string()
            }
        };
        for (v, model, weight) in [
            ("a", "anthropic/claude-sonnet-4.6", 3),
            ("b", "openai/gpt-5", 1),
        ] {
            let spec = json!({"prompt": format!("You are agent {i}, variation {v}."), "modelConfig": {"modelId": model}, "weight": weight});
            let live =
                existing.and_then(|k| variations[k].iter().find(|x| x.metadata.ext() == Some(v)));
            match live {
                Some(lv) => {
                    let body = json!({"metadata": {"name": v}, "spec": spec, "updateMask": "metadata.name,spec.prompt,spec.modelConfig,spec.weight"});
                    api.write(
                        Method::PATCH,
                        &format!("{base}/agents/{agent_id}/variations/{}", lv.id()),
                        Some(&body),
                    )
                    .await
                    .unwrap();
                }
                None => {
                    let body = json!({"metadata": {"name": v, "externalId": v}, "spec": spec});
                    let created = api
                        .create(
                            &format!("{base}/agents/{agent_id}/variations"),
                            &body,
                            Some(v),
                        )
                        .await
                        .unwrap();
                    for s in &set_ids {
                        let path = format!(
                            "{base}/agents/{agent_id}/variations/{}/assignments",
                            created.id()
                        );
                        api.create(&path, &json!({"toolSetId": s}), None)
                            .await
                            .unwrap();
                    }
                }
            }
        }
        if existing.is_none() {
            let body =
                json!({"spec": {"status": "AGENT_STATUS_PUBLISHED"}, "updateMask": "spec.status"});
            api.write(
                Method::PATCH,
                &format!("{base}/agents/{agent_id}"),
                Some(&body),
            )
            .await
            .unwrap();
        }
    }
}

fn row(op: &str, who: &str, requests: u64, writes: u64, expected: &str, wall: Duration) {
    let ideal = ideal(requests);
    println!(
        "| {op} | {who} | {requests} | {expected} | {writes} | {:.2} s | {:.2} s | {:.2} |",
        wall.as_secs_f64(),
        ideal.as_secs_f64(),
        wall.as_secs_f64() / ideal.as_secs_f64()
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return;
    }
    let agents: usize = std::env::var("TWINFORM_CADENYA_AGENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    println!("twinform Cadenya benchmark · {cores} cores · {agents} agents × 2 variations × 2 assignments · emulator latency {LATENCY_MS} ms/request\n");
    println!("| operation | strategy | requests | expected | writes | wall | ideal (p=16) | ratio |\n|---|---|---|---|---|---|---|---|");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let faults = FaultConfig {
        latency_ms: LATENCY_MS,
        ..FaultConfig::default()
    };
    // twinform.
    let emu = rt
        .block_on(emulator::start_with(
            "127.0.0.1:0",
            None,
            &faults,
            Store::seeded(),
        ))
        .unwrap();
    let endpoint = emu.endpoint();
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), agents);
    let stats = &emu.shared.stats;
    let writes_expected = 2 + agents * (1 + 2 + 4 + 1);
    let wall = run(&endpoint, dir.path(), &["apply", "--auto-approve", "."]);
    row(
        "apply from empty",
        "twinform",
        stats.total.load(std::sync::atomic::Ordering::Relaxed),
        stats.writes(),
        &format!("{writes_expected} writes"),
        wall,
    );
    stats.reset();
    let wall = run(&endpoint, dir.path(), &["plan", "."]);
    // workspaces + agents (pages of 100; a list of several pages is read
    // until two reads agree) + tool sets + variations per agent.
    let pages = if agents <= 100 {
        1
    } else {
        2 * agents.div_ceil(100) as u64
    };
    let formula = 1 + pages + 1 + agents as u64;
    row(
        "no-op plan",
        "twinform",
        stats.reads(),
        stats.writes(),
        &format!("{formula} reads"),
        wall,
    );
    stats.reset();
    let wall = run(&endpoint, dir.path(), &["apply", "--auto-approve", "."]);
    row(
        "no-op apply",
        "twinform",
        stats.total.load(std::sync::atomic::Ordering::Relaxed),
        stats.writes(),
        "0 writes",
        wall,
    );
    rt.block_on(emu.stop()).unwrap();

    // The loader's strategy, on a fresh account.
    let emu = rt
        .block_on(emulator::start_with(
            "127.0.0.1:0",
            None,
            &faults,
            Store::seeded(),
        ))
        .unwrap();
    let client = api(&emu.endpoint());
    let stats = &emu.shared.stats;
    let started = Instant::now();
    rt.block_on(loader(&client, agents));
    row(
        "apply from empty",
        "loader strategy",
        stats.total.load(std::sync::atomic::Ordering::Relaxed),
        stats.writes(),
        &format!("{writes_expected} writes"),
        started.elapsed(),
    );
    stats.reset();
    let started = Instant::now();
    rt.block_on(loader(&client, agents));
    row(
        "no-op apply",
        "loader strategy",
        stats.total.load(std::sync::atomic::Ordering::Relaxed),
        stats.writes(),
        "0 writes",
        started.elapsed(),
    );
    rt.block_on(emu.stop()).unwrap();
}

//! Cadenya (the API of the official SDK `cadenya` 1.8.0): 100 agents × 2
//! variations × 2 tool-set assignments, from empty and as a no-op, against
//! the in-process emulator with 20 ms of latency per request; twinform (the
//! binary, default parallelism 16) beside the strategy of Cadenya's config
//! loader (`cadenya/cadenya-config-loader`: sequential, one request at a
//! time, every existing bundle resource updated on every apply), replayed
//! here with the same client on the same emulator in the same run.
//!
//! `ideal` = the longest of ceil(requests / 16) rounds and the dependency
//! chain (list workspaces → list kinds → list archived ones (a declared
//! agent is missing) → create agent → create variation (assignments
//! inline) → `:publish` = 6 rounds), × 20 ms.
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
use twinform::providers::cadenya::wire::Resource;
use twinform::providers::cadenya::{Cadenya, CadenyaApi};

const LATENCY_MS: u64 = 20;
const PARALLELISM: u64 = 16;
const CHAIN: u64 = 6;
const MODELS: [&str; 2] = [
    "getting-started-key.anthropic-claude-sonnet-4-6",
    "getting-started-key.openai-gpt-5",
];

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
  a: {{prompt: \"You are agent {i}, variation a.\", model: {}, tools: [tool_set:search, tool_set:crm]}}
  b: {{prompt: \"You are agent {i}, variation b.\", model: {}, tools: [tool_set:search, tool_set:crm]}}
",
            MODELS[0], MODELS[1]
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

/// The loader's label (`internal/config/config.go` `BundleLabel`).
const LABEL: &str = "bundle_key=bench";

async fn lists(api: &CadenyaApi, path: &str, queries: &[&str]) -> Vec<Resource> {
    let mut out = Vec::new();
    for q in queries {
        out.extend(
            api.list(path, &format!("labels={LABEL}&{q}"))
                .await
                .unwrap(),
        );
    }
    out
}

/// The loader's strategy (notes §5, its `Build` and `Apply`): a snapshot of
/// every bundle resource (each kind in every state: lists hide archived
/// ones), a `GET external_id:` for every bundle resource missing whose
/// parent exists, then one request at a time: one upsert per bundle
/// resource (a create, or a PATCH of every field the file has: the loader
/// diffs nothing), variations with their assignments inline, and
/// `:publish` for agents not yet published.
async fn loader(api: &CadenyaApi, agents: usize) {
    let base = "/v1/workspaces/external_id%3Adefault";
    let labels = json!({"bundle_key": "bench"});
    // Snapshot.
    let sets = lists(
        api,
        &format!("{base}/tool_sets"),
        &["state=STATE_ACTIVE", "state=STATE_ARCHIVED"],
    )
    .await;
    for s in &sets {
        api.list(
            &format!("{base}/tool_sets/{}/tools", s.id()),
            &format!(
                "labels={LABEL}&states=STATE_AVAILABLE&states=STATE_OMITTED&states=STATE_ARCHIVED"
            ),
        )
        .await
        .unwrap();
    }
    lists(api, &format!("{base}/memory_layers"), &[""]).await;
    let live_agents = lists(
        api,
        &format!("{base}/agents"),
        &[
            "state=STATE_DRAFT",
            "state=STATE_PUBLISHED",
            "state=STATE_ARCHIVED",
        ],
    )
    .await;
    let mut variations = Vec::new();
    for a in &live_agents {
        variations.push(lists(api, &format!("{base}/agents/{}/variations", a.id()), &[""]).await);
    }
    lists(api, &format!("{base}/widgets"), &[""]).await;
    // checkCreates: what the snapshot misses is looked up by externalId.
    for t in ["search", "crm"] {
        if !sets.iter().any(|s| s.metadata.ext() == Some(t)) {
            api.get(&format!("{base}/tool_sets/external_id%3A{t}"))
                .await
                .unwrap();
        }
    }
    for i in 0..agents {
        let ext = format!("agent-{i:03}");
        if !live_agents
            .iter()
            .any(|a| a.metadata.ext() == Some(ext.as_str()))
        {
            api.get(&format!("{base}/agents/external_id%3A{ext}"))
                .await
                .unwrap();
        }
    }
    // Upserts, one at a time.
    let mut set_ids = Vec::new();
    for t in ["search", "crm"] {
        let metadata = json!({"name": t, "externalId": t, "labels": labels});
        let spec = json!({"adapter": {"type": "http", "http": {"baseUrl": format!("https://{t}.example.com")}}});
        match sets.iter().find(|s| s.metadata.ext() == Some(t)) {
            Some(s) => {
                let body = json!({"metadata": metadata, "spec": spec, "updateMask": "metadata.name,metadata.externalId,metadata.labels,spec.adapter"});
                api.write(
                    Method::PATCH,
                    &format!("{base}/tool_sets/{}", s.id()),
                    Some(&body),
                )
                .await
                .unwrap();
                set_ids.push(s.id().to_string());
            }
            None => {
                let body = json!({"metadata": metadata, "spec": spec});
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
    let assignments: Vec<_> = set_ids
        .iter()
        .map(|s| json!({"type": "toolSetId", "toolSetId": s}))
        .collect();
    for i in 0..agents {
        let ext = format!("agent-{i:03}");
        let metadata = json!({"name": format!("Agent {i}"), "externalId": ext, "labels": labels});
        let spec = json!({"variationSelectionMode": "VARIATION_SELECTION_MODE_WEIGHTED"});
        let existing = live_agents
            .iter()
            .position(|a| a.metadata.ext() == Some(ext.as_str()));
        let agent_id = match existing {
            Some(k) => {
                let body = json!({"metadata": metadata, "spec": spec, "updateMask": "metadata.name,metadata.externalId,metadata.labels,spec.variationSelectionMode"});
                let id = live_agents[k].id().to_string();
                api.write(Method::PATCH, &format!("{base}/agents/{id}"), Some(&body))
                    .await
                    .unwrap();
                id
            }
            None => api
                .create(
                    &format!("{base}/agents"),
                    &json!({"metadata": metadata, "spec": spec}),
                    Some(&ext),
                )
                .await
                .unwrap()
                .id()
                .to_string(),
        };
        for (v, model) in [("a", MODELS[0]), ("b", MODELS[1])] {
            let metadata = json!({"name": v, "externalId": v, "labels": labels});
            let spec = json!({"systemPromptTemplate": format!("You are agent {i}, variation {v}."), "modelConfig": {"modelId": model}, "assignments": assignments});
            let live =
                existing.and_then(|k| variations[k].iter().find(|x| x.metadata.ext() == Some(v)));
            match live {
                Some(lv) => {
                    let body = json!({"metadata": metadata, "spec": spec, "updateMask": "metadata.name,metadata.externalId,metadata.labels,spec.systemPromptTemplate,spec.modelConfig,spec.assignments"});
                    api.write(
                        Method::PATCH,
                        &format!("{base}/agents/{agent_id}/variations/{}", lv.id()),
                        Some(&body),
                    )
                    .await
                    .unwrap();
                }
                None => {
                    api.create(
                        &format!("{base}/agents/{agent_id}/variations"),
                        &json!({"metadata": metadata, "spec": spec}),
                        Some(v),
                    )
                    .await
                    .unwrap();
                }
            }
        }
        let published = existing.is_some_and(|k| live_agents[k].state() == "STATE_PUBLISHED");
        if !published {
            api.action(&format!("{base}/agents/{agent_id}"), "publish")
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
    // 2 tool sets, and per agent: itself, 2 variations (their assignments
    // inline) and `:publish`.
    let writes_expected = 2 + agents * (1 + 2 + 1);
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
    // The formula of read.rs: workspaces + agents (pages of 100; a list of
    // several pages is read until two reads agree) + tool sets +
    // variations per agent (every declared agent and tool set is listed:
    // no archived list).
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
        &format!("{} writes", 2 + agents * 3),
        started.elapsed(),
    );
    rt.block_on(emu.stop()).unwrap();
}

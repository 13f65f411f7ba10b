//! Shared test harness: an in-process emulator on its own runtime, the
//! binary pointed at it, and the library's plan/apply steps without the CLI.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Runtime;
use twinform::cli::FaultArgs;
use twinform::engine::apply::secrets::SecretSink;
use twinform::engine::apply::{self, Finished, Target};
use twinform::engine::bound::{erase, DynProvider};
use twinform::engine::bound::{Bound, Typed};
use twinform::engine::emulation::Shared;
use twinform::engine::http::{ApiKey, Client, ClientConfig, RetryPolicy};
use twinform::engine::plan::Plan;
use twinform::engine::provider::{Local, Provider, Scope};
use twinform::engine::redact::Redactor;
use twinform::providers::twin::emulator::{self, Emulator, Store};
use twinform::providers::twin::{read, Desired, Live, Twin, TwinApi};

pub const KEY: &str = "tw_test_key_0123456789abcdef";

/// An emulator running on its own runtime for the life of the value.
pub struct TestTwin {
    pub rt: Runtime,
    pub endpoint: String,
    pub shared: Arc<Shared<Store>>,
    emulator: Option<Emulator>,
}

impl TestTwin {
    pub fn start() -> Self {
        Self::with(FaultArgs::default(), Store::default())
    }

    pub fn with(faults: FaultArgs, store: Store) -> Self {
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
        TestTwin {
            endpoint: emulator.endpoint(),
            shared: emulator.shared.clone(),
            emulator: Some(emulator),
            rt,
        }
    }

    /// A client with fast retries.
    pub fn client(&self) -> TwinApi {
        client_for(&self.endpoint, Duration::from_secs(5))
    }

    /// The binary, pointed at this emulator, running in `dir`.
    pub fn cmd(&self, dir: &Path) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::cargo_bin("twinform").unwrap();
        c.current_dir(dir)
            .env("TWIN_ENDPOINT", &self.endpoint)
            .env("TWIN_API_KEY", KEY)
            .env("NO_COLOR", "1")
            .env_remove("HOOK_TOKEN");
        c
    }

    /// Apply the tree in `dir`, then require that a plan shows no changes.
    pub fn assert_converges(&self, dir: &Path) {
        self.cmd(dir)
            .args(["apply", "--auto-approve", "."])
            .assert()
            .success();
        self.cmd(dir)
            .args(["plan", "--detailed-exitcode", "."])
            .assert()
            .code(0);
    }

    pub fn writes(&self) -> u64 {
        self.shared.stats.writes()
    }

    pub fn reads(&self) -> u64 {
        self.shared.stats.reads()
    }

    pub fn store<T>(&self, f: impl FnOnce(&mut Store) -> T) -> T {
        self.shared.with_store(true, f)
    }
}

impl Drop for TestTwin {
    fn drop(&mut self) {
        if let Some(e) = self.emulator.take() {
            let _ = self.rt.block_on(e.stop());
        }
    }
}

pub fn client_for(endpoint: &str, timeout: Duration) -> TwinApi {
    let config = ClientConfig {
        endpoint: endpoint.to_string(),
        timeout,
        connect_timeout: Duration::from_secs(2),
        retry: RetryPolicy {
            max_attempts: 8,
            base: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
        },
    };
    let client = Client::new(config, ApiKey::new(KEY).unwrap(), Twin.profile()).unwrap();
    TwinApi { client }
}

/// Load manifests with a fixed environment; panics with the problems if invalid.
pub fn desired(path: &Path, env: &[(&str, &str)]) -> Desired {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let v = twinform::engine::session::load_typed(path, Twin, &|k| env.get(k).cloned());
    match v.desired {
        Some(d) => d,
        None => panic!(
            "invalid manifests: {:#?}",
            v.problems
                .iter()
                .map(|p| (&p.location, &p.message))
                .collect::<Vec<_>>()
        ),
    }
}

/// Twin as the engine sees it.
pub fn twin() -> Arc<dyn DynProvider> {
    Arc::from(erase(Twin))
}

/// The diff of `desired` against `live`, with operations in the changes.
pub fn diff(desired: &Desired, live: &Live) -> Plan {
    Typed::ready(Twin, desired.clone(), None, live.clone())
        .diff(&Local::default())
        .unwrap()
}

pub async fn plan_for(client: &TwinApi, desired: &Desired) -> (Live, Plan) {
    let live = read::read(client, desired, 16, &Scope::default())
        .await
        .unwrap();
    let plan = diff(desired, &live);
    (live, plan)
}

/// An executor context applying Twin changes with `client` and `secrets`.
pub fn context(client: &TwinApi, live: &Live, secrets: Arc<SecretSink>) -> apply::Context {
    let mut targets = HashMap::new();
    targets.insert(
        "twin",
        Target {
            provider: twin(),
            bound: {
                let b = Typed::ready(Twin, Desired::default(), Some(client.clone()), live.clone());
                b.begin_apply();
                Arc::new(b)
            },
        },
    );
    apply::Context {
        targets,
        parallelism: 8,
        source_id: None,
        secrets,
        journal: Arc::new(apply::journal::Journal::none()),
        interrupted: Default::default(),
    }
}

/// Plan and apply with the library; returns the plan that was applied and the results.
pub async fn apply_once(
    client: &TwinApi,
    desired: &Desired,
    secrets: &Path,
) -> (Plan, Vec<Finished>) {
    let (live, plan) = plan_for(client, desired).await;
    let secrets = Arc::new(SecretSink::new(secrets, None, Redactor::new()).unwrap());
    let ctx = context(client, &live, secrets);
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let results = apply::execute(&plan, ctx, tx).await;
    (plan, results)
}

/// Write `files` (relative path → content) under `dir`.
/// Copy a folder (an example) recursively.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let target = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &target);
        } else {
            std::fs::copy(&p, &target).unwrap();
        }
    }
}

pub fn write_tree(dir: &Path, files: &[(&str, &str)]) {
    for (rel, content) in files {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
}

/// Create a workspace directly in the store and return its id.
pub fn add_workspace(s: &mut Store, name: &str) -> String {
    let (_, v) = s
        .create_workspace(&serde_json::json!({"name": name}))
        .unwrap();
    v["workspace"]["workspace_id"].as_str().unwrap().to_string()
}

/// A live account covering every diff rule, seeded directly (fixed ids and times).
pub fn scenario_store() -> Store {
    use serde_json::json;
    let mut s = Store::default();
    let ws = add_workspace;
    let growth = ws(&mut s, "Growth");
    let support = ws(&mut s, "Support");
    let old_name = ws(&mut s, "Old Name");
    let agent = |s: &mut Store, id: &str, ws: &str| {
        s.create_agent(&json!({"agent_id": id, "workspace_id": ws}))
            .unwrap();
    };
    // daily-digest: drifted instructions (changed in the builder), schedule to pause, webhooks to sort out.
    agent(&mut s, "daily-digest", &growth);
    s.put_instructions("daily-digest", &json!({"content": "Read every unread email.\nSummarise them in five bullet points.\nNever reply.\n", "source_type": "builder"})).unwrap();
    for v in s.history.get_mut("daily-digest").unwrap() {
        v.created_at = Some(json!("2026-11-20T09:14:00Z"));
        v.user_email = Some("ana@example.com".into());
    }
    s.put_schedule("daily-digest", &json!({"cron": "0 0 9 * * * *"}))
        .unwrap();
    s.create_webhook(
        "daily-digest",
        &json!({"url": "https://old.example.com/hook", "events": ["run.completed"]}),
    )
    .unwrap();
    s.create_webhook(
        "daily-digest",
        &json!({"url": "https://keep.example.com/hook", "events": ["run.completed"]}),
    )
    .unwrap();
    s.create_webhook(
        "daily-digest",
        &json!({"url": "https://keep.example.com/hook", "events": ["run.completed"]}),
    )
    .unwrap();
    s.create_webhook(
        "daily-digest",
        &json!({"url": "https://events.example.com/hook", "events": ["run.completed"]}),
    )
    .unwrap();
    // lead-scout lives in Growth but is declared in Research: a move.
    agent(&mut s, "lead-scout", &growth);
    // summariser must become a subagent: a replace.
    agent(&mut s, "summariser", &growth);
    s.put_schedule("summariser", &json!({"cron": "0 0 6 * * * *"}))
        .unwrap();
    // legacy-triage is in Support (prune: true) and in no manifest: a delete.
    agent(&mut s, "legacy-triage", &support);
    // scratch is in Growth (prune off) and in no manifest: unmanaged.
    agent(&mut s, "scratch", &growth);
    // auto-paused by Twin after failures, declared unpaused: resume with the reason.
    agent(&mut s, "nightly", &support);
    s.put_schedule("nightly", &json!({"cron": "0 0 2 * * * *"}))
        .unwrap();
    if let Some(sch) = s.schedules.get_mut("nightly") {
        sch.paused = true;
        sch.auto_paused = true;
        sch.consecutive_failures = 5;
    }
    // newline-only: differs only by the trailing newline, so no change.
    agent(&mut s, "newline-only", &support);
    s.put_instructions("newline-only", &json!({"content": "Same text"}))
        .unwrap();
    // unscheduled: has a schedule the manifest says it must not have.
    agent(&mut s, "unscheduled", &support);
    s.put_schedule("unscheduled", &json!({"cron": "0 0 1 * * * *"}))
        .unwrap();
    // in the pinned workspace, renamed by the manifest.
    agent(&mut s, "pinned-agent", &old_name);
    s
}

/// The manifests that go with [`scenario_store`].
pub const SCENARIO: &[(&str, &str)] = &[
    ("workspaces.yaml", "kind: Workspace\nname: Growth\nicon: '{\"emoji\":\"chart\"}'\n---\nkind: Workspace\nname: Research\n---\nkind: Workspace\nname: Support\nprune: true\n---\nkind: Workspace\nname: Renamed\nid: ws_000004\n"),
    ("growth.yaml", "kind: Agent\nid: daily-digest\nworkspace: Growth\ninstructions: {file: prompts/daily-digest.md}\nschedule:\n  cron: \"0 0 9 * * * *\"\n  paused: true\nwebhooks:\n  - url: https://hooks.example.com/twin/${HOOK_TOKEN}\n    events: [run.failed]\n  - url: https://keep.example.com/hook\n    events: [run.completed]\n  - url: https://events.example.com/hook\n    events: [run.completed, run.failed]\n    enabled: false\n---\nkind: Agent\nid: lead-scout\nworkspace: Research\n---\nkind: Agent\nid: summariser\nworkspace: Growth\nsubagent: true\nschedule:\n  cron: \"0 0 6 * * * *\"\n"),
    ("support.yaml", "kind: Agent\nid: nightly\nworkspace: Support\nschedule:\n  cron: \"0 0 2 * * * *\"\n  paused: false\n---\nkind: Agent\nid: newline-only\nworkspace: Support\ninstructions: |\n  Same text\n---\nkind: Agent\nid: unscheduled\nworkspace: Support\nschedule: null\n---\nkind: Agent\nid: fresh\nworkspace: Research\ninstructions: \"Brand new </details> ``` <script>alert(1)</script>\"\nschedule:\n  cron: \"0 15 10 * * MON-FRI *\"\n  paused: true\nwebhooks:\n  - url: https://fresh.example.com/hook\n    events: [run.started]\n---\nkind: Agent\nid: pinned-agent\nworkspace: Renamed\n"),
    ("prompts/daily-digest.md", "Read every unread email.\nSummarise them in at most five bullet points,\nmost urgent first.\nNever reply.\n"),
];

pub const HOOK_TOKEN: &str = "tok-9f8e7d6c5b4a";

//! Shared test harness: an in-process emulator on its own runtime, the
//! binary pointed at it, and the library's plan/apply steps without the CLI.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Runtime;
use twinform::apply::journal::Journal;
use twinform::apply::secrets::SecretSink;
use twinform::cli::FaultArgs;
use twinform::emulator::{Emulator, Shared, Store};
use twinform::live::{self, Live};
use twinform::manifest::{self, Desired};
use twinform::plan::{self, Plan};
use twinform::redact::Redactor;
use twinform::twin::{ApiKey, Client, ClientConfig, RetryPolicy};

pub const KEY: &str = "tw_test_key_0123456789abcdef";

/// An emulator running on its own runtime for the life of the value.
pub struct TestTwin {
    pub rt: Runtime,
    pub endpoint: String,
    pub shared: Arc<Shared>,
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
            .block_on(Emulator::start_with("127.0.0.1:0", None, &faults, store))
            .unwrap();
        TestTwin {
            endpoint: emulator.endpoint(),
            shared: emulator.shared.clone(),
            emulator: Some(emulator),
            rt,
        }
    }

    /// A client with fast retries.
    pub fn client(&self) -> Client {
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

pub fn client_for(endpoint: &str, timeout: Duration) -> Client {
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
    Client::new(config, ApiKey::new(KEY).unwrap()).unwrap()
}

/// Load manifests with a fixed environment; panics with the problems if invalid.
pub fn desired(path: &Path, env: &[(&str, &str)]) -> Desired {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let v = manifest::load_with(path, &|k| env.get(k).cloned());
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

pub async fn plan_for(client: &Client, desired: &Desired) -> (Live, Plan) {
    let live = live::read(client, desired, 16).await.unwrap();
    let plan = plan::diff(desired, &live).unwrap();
    (live, plan)
}

/// Plan and apply with the library; returns the plan that was applied and the results.
pub async fn apply_once(
    client: &Client,
    desired: &Desired,
    secrets: &Path,
) -> (Plan, Vec<twinform::apply::Finished>) {
    let (live, plan) = plan_for(client, desired).await;
    let ctx = twinform::apply::Context {
        client: client.clone(),
        parallelism: 8,
        source_id: None,
        secrets: Arc::new(SecretSink::new(secrets, None, Redactor::new()).unwrap()),
        journal: Arc::new(Journal::none()),
        interrupted: Arc::new(AtomicBool::new(false)),
        known_workspaces: live
            .workspaces
            .iter()
            .map(|w| w.workspace_id.clone())
            .collect(),
        known_webhooks: live
            .webhooks
            .iter()
            .map(|(a, h)| {
                (
                    a.clone(),
                    h.iter()
                        .map(|w| w.webhook_id.clone())
                        .collect::<HashSet<_>>(),
                )
            })
            .collect(),
    };
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let results = twinform::apply::execute(&plan, ctx, tx).await;
    (plan, results)
}

/// Write `files` (relative path → content) under `dir`.
pub fn write_tree(dir: &Path, files: &[(&str, &str)]) {
    for (rel, content) in files {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
}

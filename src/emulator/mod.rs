//! A faithful local Twin API: every endpoint of the reference with the
//! semantics of the contract, state persisted atomically to a JSON file,
//! fault injection, and request counters that tests and benchmarks read.
//!
//! Run it standalone (`twinform emulator`) or in-process ([`Emulator::start`],
//! which is what `--local` does).

mod faults;
mod routes;
pub mod store;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

pub use faults::{Faults, Stats};
pub use store::Store;

use crate::cli::FaultArgs;

/// Shared state of a running emulator.
pub struct Shared {
    pub store: Mutex<Store>,
    pub faults: Faults,
    pub stats: Stats,
    dirty: AtomicBool,
    http: reqwest::Client,
}

impl Shared {
    /// Run `f` on the store; mark it for persistence if `write`.
    pub fn with_store<T>(&self, write: bool, f: impl FnOnce(&mut Store) -> T) -> T {
        let mut guard = match self.store.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let out = f(&mut guard);
        if write {
            self.dirty.store(true, Ordering::Release);
        }
        out
    }
}

/// A running emulator.
pub struct Emulator {
    pub addr: SocketAddr,
    pub shared: Arc<Shared>,
    state_path: Option<PathBuf>,
    shutdown: Arc<Notify>,
    server: tokio::task::JoinHandle<()>,
    persister: Option<tokio::task::JoinHandle<()>>,
}

impl Emulator {
    /// Start on `listen` (use `127.0.0.1:0` for an ephemeral port), loading
    /// `state` if it exists.
    pub async fn start(
        listen: &str,
        state: Option<&Path>,
        faults: &FaultArgs,
    ) -> std::io::Result<Emulator> {
        let store = match state {
            Some(p) if p.exists() => load_state(p)?,
            _ => Store::default(),
        };
        Self::start_with(listen, state, faults, store).await
    }

    /// Start with a given store (tests and benchmarks seed large states this way).
    pub async fn start_with(
        listen: &str,
        state: Option<&Path>,
        faults: &FaultArgs,
        mut store: Store,
    ) -> std::io::Result<Emulator> {
        store.strict_deploy = faults.strict_deploy;
        store.coarse_clock = faults.coarse_clock;
        store.reindex();
        let shared = Arc::new(Shared {
            store: Mutex::new(store),
            faults: Faults::new(faults),
            stats: Stats::default(),
            dirty: AtomicBool::new(state.is_some()),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .map_err(std::io::Error::other)?,
        });
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let shutdown = Arc::new(Notify::new());
        let app = routes::router(shared.clone());
        let stop = shutdown.clone();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move { stop.notified().await })
                .await;
        });
        let state_path = state.map(Path::to_path_buf);
        let persister = state_path.clone().map(|path| {
            let shared = shared.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    let _ = persist(&shared, &path);
                }
            })
        });
        Ok(Emulator {
            addr,
            shared,
            state_path,
            shutdown,
            server,
            persister,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stop serving and write the state one last time.
    pub async fn stop(self) -> std::io::Result<()> {
        self.shutdown.notify_waiters();
        if let Some(p) = &self.persister {
            p.abort();
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), self.server).await;
        if let Some(path) = &self.state_path {
            self.shared.dirty.store(true, Ordering::Release);
            persist(&self.shared, path)?;
        }
        Ok(())
    }
}

fn load_state(path: &Path) -> std::io::Result<Store> {
    let text = std::fs::read_to_string(path)?;
    serde_json::from_str(&text).map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{}: not an emulator state: {e}", path.display()),
        )
    })
}

/// Write the state if it changed: to a temporary file, then rename (atomic).
fn persist(shared: &Shared, path: &Path) -> std::io::Result<()> {
    if !shared.dirty.swap(false, Ordering::AcqRel) {
        return Ok(());
    }
    let json = shared
        .with_store(false, |s| serde_json::to_vec(s))
        .map_err(std::io::Error::other)?;
    // The state holds signing secrets: owner-only, like the secrets file.
    crate::apply::write_private_sync(path, &json)
}

/// `twinform emulator`: serve until Ctrl-C, then persist.
pub async fn serve(listen: &str, state: Option<&Path>, faults: &FaultArgs) -> std::io::Result<()> {
    let emu = Emulator::start(listen, state, faults).await?;
    eprintln!("Twin emulator listening on {}", emu.endpoint());
    match state {
        Some(p) => eprintln!("state: {} (persisted after every write)", p.display()),
        None => eprintln!("state: in memory (use --state FILE to keep it)"),
    }
    eprintln!("any x-api-key is accepted; request counts at GET /_emulator/stats");
    let _ = tokio::signal::ctrl_c().await;
    emu.stop().await
}

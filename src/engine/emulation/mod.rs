//! What every platform emulator shares (behind the `emulator` feature):
//! serving a router in process or standalone, state persisted atomically to a
//! private JSON file, fault injection and request counting ([`faults`]).
//! A provider supplies its store (the account's state and the semantics of
//! every endpoint) and its router; see [`Emulate`].

pub mod faults;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::response::Response;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::Notify;

pub use faults::{Bucket, FaultConfig, Faults, Hook, HookFn, Limits, Stats};

use super::BoxFuture;

/// Builds an error response in the platform's own format.
pub type ProblemFn = fn(u16, &str) -> Response;

/// Shared state of a running emulator.
pub struct Shared<S> {
    pub store: Mutex<S>,
    pub faults: Faults,
    pub stats: Stats,
    /// How injected errors are answered.
    pub problem: ProblemFn,
    /// Tests' hooks on routes (see [`Hook`]).
    hooks: Mutex<Vec<Hook<S>>>,
    dirty: AtomicBool,
}

impl<S> Shared<S> {
    /// Add a hook on a route (tests: change the account between two
    /// requests, answer a write that took effect with an error).
    pub fn hook(&self, hook: Hook<S>) {
        match self.hooks.lock() {
            Ok(mut h) => h.push(hook),
            Err(poisoned) => poisoned.into_inner().push(hook),
        }
    }

    /// Run `f` on the store; mark it for persistence if `write`.
    pub fn with_store<T>(&self, write: bool, f: impl FnOnce(&mut S) -> T) -> T {
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

/// A running emulator of one platform.
pub struct Emulator<S: Serialize + Send + 'static> {
    pub addr: SocketAddr,
    pub shared: Arc<Shared<S>>,
    state_path: Option<PathBuf>,
    shutdown: Arc<Notify>,
    server: Option<tokio::task::JoinHandle<()>>,
    persister: Option<tokio::task::JoinHandle<()>>,
}

impl<S: Serialize + DeserializeOwned + Send + 'static> Emulator<S> {
    /// Load a persisted store, or `None` when `state` does not exist yet.
    pub fn load(state: Option<&Path>) -> std::io::Result<Option<S>> {
        let Some(path) = state.filter(|p| p.exists()) else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path)?;
        serde_json::from_str(&text).map(Some).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: not an emulator state: {e}", path.display()),
            )
        })
    }

    /// Serve `router` (built over the shared state) on `listen` (use
    /// `127.0.0.1:0` for an ephemeral port), persisting to `state` if given,
    /// answering errors with `problem` and enforcing the platform's
    /// documented rate `limits`.
    pub async fn start(
        listen: &str,
        state: Option<&Path>,
        faults: &FaultConfig,
        store: S,
        problem: ProblemFn,
        limits: Option<Limits>,
        router: impl FnOnce(Arc<Shared<S>>) -> axum::Router,
    ) -> std::io::Result<Self> {
        // A state file that could not be written (a planted link, a folder)
        // is refused now, not lost silently after every apply.
        if let Some(path) = state {
            super::file::check(path, super::file::Within::Named)
                .map_err(|e| std::io::Error::other(format!("state {}: {e}", path.display())))?;
        }
        let shared = Arc::new(Shared {
            store: Mutex::new(store),
            faults: Faults::new(faults, limits),
            stats: Stats::default(),
            problem,
            hooks: Mutex::new(Vec::new()),
            dirty: AtomicBool::new(state.is_some()),
        });
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let shutdown = Arc::new(Notify::new());
        let app = faults::layer(router(shared.clone()), shared.clone());
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
            server: Some(server),
            persister,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stop serving and write the state one last time.
    pub async fn stop(mut self) -> std::io::Result<()> {
        self.shutdown.notify_waiters();
        if let Some(p) = self.persister.take() {
            p.abort();
        }
        if let Some(server) = self.server.take() {
            let _ = tokio::time::timeout(Duration::from_secs(2), server).await;
        }
        self.save()
    }

    fn save(&self) -> std::io::Result<()> {
        match &self.state_path {
            Some(path) => {
                self.shared.dirty.store(true, Ordering::Release);
                persist(&self.shared, path)
            }
            None => Ok(()),
        }
    }
}

/// A guard: an emulator dropped without [`Emulator::stop`] (an early return,
/// a panic) still stops serving and writes its state.
impl<S: Serialize + Send + 'static> Drop for Emulator<S> {
    fn drop(&mut self) {
        self.shutdown.notify_waiters();
        if let Some(p) = self.persister.take() {
            p.abort();
        }
        if let Some(s) = self.server.take() {
            s.abort();
        }
        if let Some(path) = &self.state_path {
            self.shared.dirty.store(true, Ordering::Release);
            let _ = persist(&self.shared, path);
        }
    }
}

/// Write the state if it changed: to a temporary file, then rename (atomic).
fn persist<S: Serialize>(shared: &Shared<S>, path: &Path) -> std::io::Result<()> {
    if !shared.dirty.swap(false, Ordering::AcqRel) {
        return Ok(());
    }
    let json = shared
        .with_store(false, |s| serde_json::to_vec(s))
        .map_err(std::io::Error::other)?;
    // The state may hold secrets (signing secrets): owner-only.
    super::file::write(
        path,
        super::file::Within::Named,
        &json,
        super::file::Holds::Secrets,
    )?;
    Ok(())
}

/// A running emulator, whatever its platform.
pub trait Running: Send + Sync {
    fn endpoint(&self) -> String;
    fn stats(&self) -> &Stats;
    fn stop(self: Box<Self>) -> BoxFuture<'static, std::io::Result<()>>;
}

impl<S: Serialize + DeserializeOwned + Send + 'static> Running for Emulator<S> {
    fn endpoint(&self) -> String {
        Emulator::endpoint(self)
    }

    fn stats(&self) -> &Stats {
        &self.shared.stats
    }

    fn stop(self: Box<Self>) -> BoxFuture<'static, std::io::Result<()>> {
        Box::pin(async move { (*self).stop().await })
    }
}

/// How a platform's emulator is started.
pub trait Emulate: Send + Sync {
    fn start<'a>(
        &'a self,
        listen: &'a str,
        state: Option<&'a Path>,
        faults: &'a FaultConfig,
    ) -> BoxFuture<'a, std::io::Result<Box<dyn Running>>>;
}

/// `GET /_emulator/stats` (requests seen) and `DELETE /_emulator/stats`
/// (start counting again), for any platform's router.
pub fn stats_routes<S: Send + 'static>() -> axum::Router<Arc<Shared<S>>> {
    use axum::extract::State;
    use axum::response::IntoResponse;
    axum::Router::new().route(
        "/_emulator/stats",
        axum::routing::get(|State(sh): State<Arc<Shared<S>>>| async move {
            axum::Json(sh.stats.to_json()).into_response()
        })
        .delete(|State(sh): State<Arc<Shared<S>>>| async move {
            sh.stats.reset();
            axum::http::StatusCode::NO_CONTENT.into_response()
        }),
    )
}

/// Whether a URL points at this machine (emulators deliver only there).
pub fn is_loopback_url(url: &str) -> bool {
    match url::Url::parse(url)
        .ok()
        .and_then(|u| u.host().map(|h| h.to_owned()))
    {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

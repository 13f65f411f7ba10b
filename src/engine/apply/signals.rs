//! The signals that stop an apply gracefully: SIGINT (Ctrl-C), SIGTERM
//! (`docker stop`, a cancelled CI job, Kubernetes) and SIGHUP (the terminal
//! went away). Each one lets requests in flight finish, so every signing
//! secret already received is stored, and starts nothing new.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Arc;

/// Which signal stopped the apply, if any.
#[derive(Debug, Clone, Default)]
pub struct Interrupt {
    /// Set as soon as a signal arrives: the executor starts nothing new.
    pub flag: Arc<AtomicBool>,
    signal: Arc<AtomicI32>,
}

impl Interrupt {
    /// The signal number received, if any.
    pub fn signal(&self) -> Option<i32> {
        match self.signal.load(Ordering::SeqCst) {
            0 => None,
            n => Some(n),
        }
    }

    /// The conventional exit status: 128 + the signal number (130 for
    /// SIGINT, 143 for SIGTERM, 129 for SIGHUP).
    pub fn exit_code(&self) -> Option<i32> {
        self.signal().map(|n| 128 + n)
    }

    fn raise(&self, signal: i32) {
        self.signal.store(signal, Ordering::SeqCst);
        self.flag.store(true, Ordering::SeqCst);
    }

    /// Start watching: from now on SIGINT, SIGTERM and SIGHUP no longer kill
    /// the process but set this interrupt. `notice` is called once per signal.
    /// Stop watching by aborting the returned task.
    pub fn watch(&self, notice: impl Fn(&str) + Send + 'static) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let mut streams = Streams::new();
            loop {
                let Some((signal, name)) = streams.next().await else {
                    return;
                };
                let first = this.signal().is_none();
                this.raise(signal);
                notice(&if first {
                    format!("{name}: letting requests in flight finish, starting nothing new…")
                } else {
                    format!("{name} again: still finishing the requests in flight…")
                });
            }
        })
    }
}

#[cfg(unix)]
struct Streams {
    streams: Vec<(tokio::signal::unix::Signal, i32, &'static str)>,
}

#[cfg(unix)]
impl Streams {
    fn new() -> Self {
        use tokio::signal::unix::{signal, SignalKind};
        let wanted = [
            (
                SignalKind::interrupt(),
                libc::SIGINT,
                "Interrupted (SIGINT)",
            ),
            (
                SignalKind::terminate(),
                libc::SIGTERM,
                "Terminated (SIGTERM)",
            ),
            (SignalKind::hangup(), libc::SIGHUP, "Hung up (SIGHUP)"),
        ];
        let streams = wanted
            .into_iter()
            .filter_map(|(kind, n, name)| Some((signal(kind).ok()?, n, name)))
            .collect();
        Streams { streams }
    }

    async fn next(&mut self) -> Option<(i32, &'static str)> {
        if self.streams.is_empty() {
            return None;
        }
        let futures = self
            .streams
            .iter_mut()
            .map(|(s, n, name)| Box::pin(async move { s.recv().await.map(|()| (*n, *name)) }));
        futures_util::future::select_all(futures).await.0
    }
}

#[cfg(not(unix))]
struct Streams;

#[cfg(not(unix))]
impl Streams {
    fn new() -> Self {
        Streams
    }

    async fn next(&mut self) -> Option<(i32, &'static str)> {
        tokio::signal::ctrl_c().await.ok()?;
        Some((2, "Interrupted (Ctrl-C)"))
    }
}

//! A faithful local Twin API: every endpoint of the reference with the
//! semantics of the contract (the *live* shapes where known, the *decided*
//! rules elsewhere), on the engine's emulator server (persistence, faults,
//! counters). Run it standalone (`twinform emulator`) or in process
//! (`--local`).

mod routes;
pub mod store;

use std::path::Path;

pub use store::Store;

use crate::engine::emulation::{self, Emulate, FaultConfig, Running};
use crate::engine::provider::BoxFuture;

/// A running Twin emulator.
pub type Emulator = emulation::Emulator<Store>;

/// Start a Twin emulator with `store` (tests and benchmarks seed states this way).
pub async fn start_with(
    listen: &str,
    state: Option<&Path>,
    faults: &FaultConfig,
    mut store: Store,
) -> std::io::Result<Emulator> {
    store.strict_deploy = faults.strict;
    store.coarse_clock = faults.coarse_clock;
    store.reindex();
    Emulator::start(
        listen,
        state,
        faults,
        store,
        routes::problem_response,
        None,
        routes::router,
    )
    .await
}

/// Start a Twin emulator, loading `state` if it exists.
pub async fn start(
    listen: &str,
    state: Option<&Path>,
    faults: &FaultConfig,
) -> std::io::Result<Emulator> {
    let store = Emulator::load(state)?.unwrap_or_default();
    start_with(listen, state, faults, store).await
}

/// Twin's emulator as the engine starts it.
pub struct TwinEmulator;

pub static EMULATOR: TwinEmulator = TwinEmulator;

impl Emulate for TwinEmulator {
    fn start<'a>(
        &'a self,
        listen: &'a str,
        state: Option<&'a Path>,
        faults: &'a FaultConfig,
    ) -> BoxFuture<'a, std::io::Result<Box<dyn Running>>> {
        Box::pin(
            async move { Ok(Box::new(start(listen, state, faults).await?) as Box<dyn Running>) },
        )
    }
}

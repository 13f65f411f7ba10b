//! Reaching the API: the real service, or the embedded emulator with `--local`.

use crate::cli::{ApiArgs, FaultArgs};
use crate::emulator::Emulator;
use crate::output::Printer;
use crate::twin::{ApiError, ApiKey, Client, ClientConfig, RetryPolicy};

/// A connected client and, with `--local`, the emulator it talks to (stop it
/// at the end so its state is written).
pub struct Connection {
    pub client: Client,
    pub emulator: Option<Emulator>,
}

impl Connection {
    pub async fn close(self) {
        if let Some(emu) = self.emulator {
            let _ = emu.stop().await;
        }
    }
}

/// The API key: `--api-key-file`, else `TWIN_API_KEY`. Never from the command line.
fn api_key(api: &ApiArgs) -> Result<ApiKey, ApiError> {
    if let Some(path) = &api.api_key_file {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ApiError::Config(format!(
                "cannot read --api-key-file {}: {e}",
                path.display()
            ))
        })?;
        return ApiKey::new(text);
    }
    match std::env::var("TWIN_API_KEY") {
        Ok(k) if !k.trim().is_empty() => ApiKey::new(k),
        _ => Err(ApiError::Config(
            "no API key: set TWIN_API_KEY or pass --api-key-file FILE (or use --local for the embedded emulator)".into(),
        )),
    }
}

/// Connect as the arguments say, tracing requests with `-v`.
pub async fn connect(api: &ApiArgs, printer: &Printer) -> Result<Connection, ApiError> {
    let (endpoint, key, emulator) = match &api.local {
        Some(state) => {
            let emu = Emulator::start("127.0.0.1:0", Some(state), &FaultArgs::default())
                .await
                .map_err(|e| {
                    ApiError::Config(format!("cannot start the embedded emulator: {e}"))
                })?;
            if api.verbose {
                printer.message(&format!(
                    "embedded emulator on {} (state {})",
                    emu.endpoint(),
                    state.display()
                ));
            }
            (
                emu.endpoint(),
                ApiKey::new("local-emulator-key")?,
                Some(emu),
            )
        }
        None => (api.endpoint.clone(), api_key(api)?, None),
    };
    printer.redactor.add(key.expose());
    let config = ClientConfig {
        endpoint,
        timeout: api.timeout,
        connect_timeout: api.connect_timeout,
        retry: RetryPolicy::default(),
    };
    let mut client = Client::new(config, key)?;
    if api.verbose {
        let p = printer.clone();
        client = client.with_tracer(std::sync::Arc::new(move |line: &str| p.message(line)));
    }
    Ok(Connection { client, emulator })
}

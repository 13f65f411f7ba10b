//! From `ApiArgs` to connected providers, and `twinform whoami`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::{Error, Outcome};
use crate::cli::ApiArgs;
use crate::engine::http::{ApiError, RetryPolicy};
use crate::engine::output::Printer;
use crate::engine::provider::DynProvider;
use crate::engine::session::{self, ConnectError, ConnectOptions, Session};

/// `NAME=VALUE` per provider, a bare value meaning the original provider
/// (the flags' meaning before other providers existed).
fn by_provider(
    values: &[String],
    flag: &str,
    providers: &[Arc<dyn DynProvider>],
) -> Result<HashMap<String, String>, Error> {
    let known: Vec<&str> = providers.iter().map(|p| p.info().name).collect();
    let original = providers
        .iter()
        .find(|p| p.info().original)
        .map_or("", |p| p.info().name);
    let mut out = HashMap::new();
    for v in values {
        let (name, value) = match v.split_once('=') {
            Some((n, rest)) if known.contains(&n) => (n.to_string(), rest.to_string()),
            Some((n, _)) if !n.contains(['/', ':', '.']) => {
                return Err(Error::Refused(format!(
                    "{flag} {v}: `{n}` is not a provider (providers are {})",
                    known.join(", ")
                )))
            }
            _ => (original.to_string(), v.clone()),
        };
        out.insert(name, value);
    }
    Ok(out)
}

/// The options of a run, from its flags (a flag may name any provider of
/// this build, whether or not the tree uses it).
pub fn options(printer: &Printer, api: &ApiArgs) -> Result<ConnectOptions, Error> {
    let all = crate::providers::all();
    let tracer = api.verbose.then(|| {
        let p = printer.clone();
        Arc::new(move |line: &str| p.message(line)) as crate::engine::http::Tracer
    });
    Ok(ConnectOptions {
        endpoints: by_provider(&api.endpoint, "--endpoint", &all)?,
        key_files: by_provider(&api.api_key_file, "--api-key-file", &all)?
            .into_iter()
            .map(|(k, v)| (k, PathBuf::from(v)))
            .collect(),
        local: api.local.clone(),
        timeout: api.timeout,
        connect_timeout: api.connect_timeout,
        retry: RetryPolicy::default(),
        tracer,
    })
}

/// Connect to `providers` as the flags say; the session's emulators stop
/// (and persist) when it is closed or dropped.
pub async fn connect(
    printer: &Printer,
    api: &ApiArgs,
    providers: &[Arc<dyn DynProvider>],
) -> Result<Session, Error> {
    let opts = options(printer, api)?;
    let env = |name: &str| std::env::var(name).ok();
    learn_secrets(printer, &opts, &env);
    Ok(session::connect(providers, &opts, &env, &printer.redactor).await?)
}

/// Where `apply` stores signing secrets unless told otherwise.
const SECRETS_FILE: &str = ".twinform/secrets.json";

/// Teach the redactor the secrets a run knows beyond its own tree and
/// connections: the key of every configured platform (not only those this
/// run talks to) and the signing secrets stored in `.twinform/secrets.json`.
/// No output and no written file ever holds one of them.
fn learn_secrets(printer: &Printer, opts: &ConnectOptions, env: &dyn Fn(&str) -> Option<String>) {
    for p in crate::providers::all() {
        if let Ok((_, key)) = session::credentials(p.as_ref(), opts, env) {
            printer.redactor.add(key.expose());
        }
    }
    let stored = crate::engine::apply::secrets::stored(std::path::Path::new(SECRETS_FILE));
    printer.redactor.add_all(&stored);
}

/// `twinform whoami`: who the API key of one provider belongs to.
pub async fn whoami(printer: &Printer, provider: &str, api: ApiArgs) -> Result<Outcome, Error> {
    let p = super::provider_named(provider)?;
    let session = connect(printer, &api, std::slice::from_ref(&p)).await?;
    let result = match session.connected.first() {
        Some(c) => p
            .whoami(c.api.as_ref())
            .await
            .map(|who| (who, c.client.endpoint().to_string())),
        None => Err(ApiError::Task("no connection".into())),
    };
    session.close().await;
    let (who, endpoint) = result.map_err(|e| Error::Connect(ConnectError::Api(e)))?;
    printer.data(&format!("{who} at {endpoint}\n"));
    Ok(Outcome::Success)
}

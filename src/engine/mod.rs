//! The provider-neutral engine: manifests (documents, spans, interpolation,
//! diagnostics), the typed plan and its renderers, the DAG executor with its
//! journal, secrets sink and signals, saved plans, the HTTP layer (retries,
//! pacing, redaction, tracing) and the printer. It names no platform's
//! resources: a platform plugs in through [`provider::Provider`].

pub mod apply;
pub mod credentials;
#[cfg(feature = "emulator")]
pub mod emulation;
pub mod file;
pub mod http;
pub mod manifest;
pub mod model;
pub mod output;
pub mod plan;
pub mod provider;
pub mod redact;
pub mod resource;
pub mod session;

/// A future a trait object can return.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// SHA-256 hex of some bytes (content hashes, fingerprints).
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

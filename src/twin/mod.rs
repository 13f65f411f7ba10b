//! The Twin platform: the HTTP client ([`client`]), its typed errors
//! ([`error`]), the wire types ([`types`]) and one method per endpoint
//! ([`resources`]).

pub mod client;
pub mod error;
pub mod resources;
pub mod types;

pub use client::{ApiKey, Client, ClientConfig, RetryPolicy};
pub use error::ApiError;

/// SHA-256 hex of a text, as Twin computes `content_hash`.
pub fn content_hash(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

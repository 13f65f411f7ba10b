//! The HTTP layer every provider talks through: one client per platform
//! with the retry policy, pacing from rate-limit headers, `-v` tracing and
//! typed errors. Providers build their endpoint methods on [`Client`].

mod adapt;
mod client;
mod error;
mod pace;

pub use client::{
    erased, keyed_digest, parse_retry_after, ApiKey, Auth, Client, ClientConfig, ClientStats,
    Idempotency, Profile, Response, RetryPolicy, Tracer, MAX_RETRY_AFTER,
};
pub use error::{describe, from_response, ApiError, ErrorBody};

//! The HTTP layer every provider talks through: one client per platform
//! with the retry policy, pacing from rate-limit headers, `-v` tracing and
//! typed errors. Providers build their endpoint methods on [`Client`], and
//! read paged lists through [`read_offset_list`] / [`read_cursor_list`],
//! many requests at once through [`Bounded`] / [`fan_out`].

mod adapt;
mod client;
mod error;
mod fan;
mod list;
mod once;
mod pace;
mod segment;

pub use client::{
    erased, keyed_digest, parse_retry_after, ApiKey, Auth, Client, ClientConfig, ClientStats,
    Idempotency, Profile, Response, RetryPolicy, Tracer, MAX_RETRY_AFTER,
};
pub use error::{describe, from_response, ApiError, ErrorBody};
pub use fan::{fan_out, Bounded, Limit};
pub use list::{read_cursor_list, read_offset_list, Identified, Page, LIST_READS};
pub use once::{lost, once, Once};
pub use pace::{count_wait, WAITED};
pub use segment::{dot_segment, segment};

//! Writes that must take effect once: a create, or an action that starts
//! something each time it is sent (a sync that crawls a whole site, a run).
//! The client sends them with [`Idempotency::Create`] or
//! [`Idempotency::Action`], which it retries only after a 429 (the server
//! did nothing). After a lost answer (a timeout, a dropped connection, 500,
//! 502-504: the write may have happened) [`once`] asks the caller whether
//! it took effect (a read by name, a status) before it is sent again.
//!
//! [`Idempotency::Create`]: super::Idempotency::Create
//! [`Idempotency::Action`]: super::Idempotency::Action

use std::future::Future;
use std::time::Instant;

use super::error::ApiError;

/// A lost answer to a write: the write may have happened.
pub fn lost(e: &ApiError) -> bool {
    e.is_ambiguous() || e.status() == Some(500)
}

/// What a write done once gave, and when a request of it lost its answer:
/// that request may still commit late (a slow server finishing after the
/// client gave up), so a caller may look again once it cannot be pending.
#[derive(Debug)]
pub struct Once<T> {
    pub value: T,
    pub ambiguous_at: Option<Instant>,
}

/// Send a write with `send`, at most `attempts` times. After each lost
/// answer, `took_effect` looks for its effect: found, it is the result;
/// not found, the write is sent again. Any other error, an error of
/// `took_effect`, or the last attempt's lost answer is returned.
pub async fn once<T, S, SFut, C, CFut>(
    attempts: u32,
    send: S,
    took_effect: C,
) -> Result<Once<T>, ApiError>
where
    S: Fn() -> SFut,
    SFut: Future<Output = Result<T, ApiError>>,
    C: Fn() -> CFut,
    CFut: Future<Output = Result<Option<T>, ApiError>>,
{
    let mut attempt = 0;
    let mut ambiguous_at = None;
    loop {
        attempt += 1;
        let sent = Instant::now();
        match send().await {
            Ok(value) => {
                return Ok(Once {
                    value,
                    ambiguous_at,
                })
            }
            Err(e) if lost(&e) && attempt < attempts => {
                if e.may_commit_late() {
                    ambiguous_at = Some(sent);
                }
                if let Some(value) = took_effect().await? {
                    return Ok(Once {
                        value,
                        ambiguous_at,
                    });
                }
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn status(status: u16) -> ApiError {
        ApiError::Status {
            status,
            title: String::new(),
            detail: String::new(),
            details: Vec::new(),
            method: "POST".into(),
            path: "/x".into(),
        }
    }

    #[tokio::test]
    async fn a_write_that_took_effect_is_never_sent_again() {
        let sent = AtomicU32::new(0);
        let done = once(
            6,
            || async {
                sent.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>(status(500))
            },
            || async { Ok(Some(())) },
        )
        .await;
        assert!(done.is_ok());
        assert_eq!(sent.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_write_that_did_not_happen_is_sent_again_up_to_the_limit() {
        let sent = AtomicU32::new(0);
        let done = once(
            3,
            || async {
                sent.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>(status(502))
            },
            || async { Ok(None) },
        )
        .await;
        assert_eq!(done.unwrap_err().status(), Some(502));
        assert_eq!(sent.load(Ordering::SeqCst), 3);
        // A refusal is no lost answer: never looked for, never repeated.
        let sent = AtomicU32::new(0);
        let done = once(
            3,
            || async {
                sent.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>(status(400))
            },
            // Were it asked, the error would be its 418.
            || async { Err::<Option<()>, _>(status(418)) },
        )
        .await;
        assert_eq!(done.unwrap_err().status(), Some(400));
        assert_eq!(sent.load(Ordering::SeqCst), 1);
    }
}

//! Adaptive concurrency for platforms that publish no rate limits: AIMD,
//! like TCP. Every request holds a slot; a 429 halves the number of slots
//! (at most once per round trip: only a request sent after the last cut can
//! cut again), and every answered request adds `1 / slots`, so the limit
//! grows back by about one slot per round of requests.

use std::sync::Mutex;
use std::time::Instant;

use tokio::sync::Notify;

/// The most requests in flight the limiter ever allows.
pub const MAX_SLOTS: f64 = 64.0;

struct State {
    limit: f64,
    in_flight: usize,
    last_cut: Option<Instant>,
}

pub struct Adaptive {
    state: Mutex<State>,
    freed: Notify,
}

impl Default for Adaptive {
    fn default() -> Self {
        Adaptive {
            state: Mutex::new(State {
                limit: MAX_SLOTS,
                in_flight: 0,
                last_cut: None,
            }),
            freed: Notify::new(),
        }
    }
}

impl Adaptive {
    /// Wait for a slot; the instant it was taken (pass it to [`Adaptive::release`]).
    pub async fn acquire(&self) -> Instant {
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            if let Ok(mut s) = self.state.lock() {
                if (s.in_flight as f64) < s.limit.floor().max(1.0) {
                    s.in_flight += 1;
                    return Instant::now();
                }
            } else {
                return Instant::now();
            }
            freed.await;
        }
    }

    /// Give the slot back; `throttled` when the answer was 429.
    pub fn release(&self, sent: Instant, throttled: bool) {
        if let Ok(mut s) = self.state.lock() {
            s.in_flight = s.in_flight.saturating_sub(1);
            if throttled {
                if s.last_cut.is_none_or(|cut| sent > cut) {
                    s.limit = (s.limit / 2.0).max(1.0);
                    s.last_cut = Some(Instant::now());
                }
            } else {
                s.limit = (s.limit + 1.0 / s.limit).min(MAX_SLOTS);
            }
        }
        self.freed.notify_waiters();
    }

    /// The current number of slots (tests).
    #[cfg(test)]
    pub fn limit(&self) -> f64 {
        self.state.lock().map_or(MAX_SLOTS, |s| s.limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_burst_of_429s_halves_once_and_successes_recover() {
        let a = Adaptive::default();
        let sent: Vec<Instant> = futures_util::future::join_all((0..8).map(|_| a.acquire())).await;
        for s in &sent {
            a.release(*s, true);
        }
        assert_eq!(
            a.limit(),
            MAX_SLOTS / 2.0,
            "one cut for requests sent together"
        );
        let later = a.acquire().await;
        a.release(later, true);
        assert_eq!(a.limit(), MAX_SLOTS / 4.0);
        for _ in 0..200 {
            let s = a.acquire().await;
            a.release(s, false);
        }
        // About one slot back per round of `limit` answers: 16 → ~25.6.
        assert!(a.limit() > MAX_SLOTS / 4.0 + 8.0, "{}", a.limit());
    }

    #[tokio::test]
    async fn no_more_than_the_limit_are_in_flight() {
        let a = std::sync::Arc::new(Adaptive::default());
        for _ in 0..7 {
            let s = a.acquire().await;
            a.release(s, true);
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        assert_eq!(a.limit(), 1.0);
        let first = a.acquire().await;
        let second = tokio::time::timeout(std::time::Duration::from_millis(50), a.acquire()).await;
        assert!(
            second.is_err(),
            "a second request went while the limit is 1"
        );
        a.release(first, false);
        let _ = tokio::time::timeout(std::time::Duration::from_millis(50), a.acquire())
            .await
            .expect("the slot came back");
    }
}

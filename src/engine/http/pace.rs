//! Pacing from rate-limit headers: wait when a scope's budget is spent
//! instead of sending requests that would only be answered 429.
//!
//! Per scope (platforms may limit reads and writes apart), the pacer keeps
//! the server's last word (`X-RateLimit-Remaining` and `-Reset`), less what
//! has been sent since. Within one window an answer can only lower the
//! estimate (headers are snapshots from when each request arrived); once the
//! reset time passes, one request learns the new budget while the others
//! wait for it. Before any header, a scope's documented budget applies.
//!
//! `X-RateLimit-Reset` may be unix seconds (with or without a fraction) or
//! seconds from now. A whole number is known only to the second, so one
//! second of margin is added; a fractional one is trusted as it is. Either
//! may be off by the clock skew between server and client: a 429 in a scope
//! doubles the scope's learned skew (from 25 ms, at most 2 s), which every
//! later wait adds.
//!
//! Fixed windows (a reset that stays put until the window ends) and token
//! buckets (a reset that says when the next token arrives) are both read
//! this way: while the last reset heard is still ahead, answers can only
//! lower the estimate; once it has passed, the next answer is believed.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What one scope's headers said, and what has been sent since.
#[derive(Debug, Default)]
struct Scope {
    remaining: Option<i64>,
    reset_at: Option<Instant>,
    in_flight: i64,
    /// After a window ends, one request learns the new budget; the others wait
    /// for its answer (or for this long-gone probe to be given up on).
    probe_since: Option<Instant>,
    /// Learned from 429s: how far the server's clock is behind its resets.
    skew: Duration,
}

/// The pacing state of one client.
pub struct Pacer {
    scopes: Mutex<HashMap<&'static str, Scope>>,
    budget: fn(&str) -> Option<i64>,
    /// Requests a minute each scope's budget regains (documented).
    refill: fn(&str) -> Option<f64>,
}

tokio::task_local! {
    /// Time the current task spent waiting for a rate limit (the pacer, or
    /// an adaptive slot): the executor sets it per change, so a change's
    /// time can be told apart from its queueing.
    pub static WAITED: std::cell::Cell<Duration>;
}

/// Count `d` as time the current task waited for a rate limit (nothing
/// outside a task that measures it).
pub fn count_wait(d: Duration) {
    let _ = WAITED.try_with(|w| w.set(w.get() + d));
}

impl Pacer {
    pub fn new(budget: fn(&str) -> Option<i64>) -> Self {
        Pacer {
            scopes: Mutex::new(HashMap::new()),
            budget,
            refill: |_| None,
        }
    }

    /// With each scope's documented refill (requests a minute).
    pub fn refilling(mut self, refill: fn(&str) -> Option<f64>) -> Self {
        self.refill = refill;
        self
    }

    /// How many requests a minute `scope` regains, when documented.
    pub fn refill(&self, scope: &str) -> Option<f64> {
        (self.refill)(scope).filter(|r| r.is_finite() && *r > 0.0)
    }

    /// How long until `n` more requests of `scope` (those in flight
    /// included: they have their budget already) can all have been sent,
    /// from what the pacer knows now (the budget left, when it next grows,
    /// the documented refill); `None` when the scope has no known refill.
    pub fn time_for(&self, scope: &'static str, n: u64) -> Option<Duration> {
        let per_minute = self.refill(scope)?;
        let interval = Duration::from_secs_f64(60.0 / per_minute);
        let (left, next, in_flight) = self.with(scope, |p| {
            let left = u64::try_from(p.remaining.unwrap_or(0).max(0)).unwrap_or(0);
            let next = p
                .reset_at
                .and_then(|r| r.checked_duration_since(Instant::now()))
                .map(|d| d + p.skew);
            (left, next, u64::try_from(p.in_flight.max(0)).unwrap_or(0))
        })?;
        let n = n.saturating_sub(in_flight);
        if n <= left {
            return Some(Duration::ZERO);
        }
        let extra = n - left;
        let first = next.unwrap_or(interval).min(interval * 2);
        Some(first + interval.mul_f64((extra - 1) as f64))
    }

    fn with<T>(&self, scope: &'static str, f: impl FnOnce(&mut Scope) -> T) -> Option<T> {
        let mut all = self.scopes.lock().ok()?;
        let budget = self.budget;
        let s = all.entry(scope).or_insert_with(|| Scope {
            remaining: budget(scope),
            ..Scope::default()
        });
        Some(f(s))
    }

    /// Wait until `scope` may send one more request, and count it in flight
    /// in the same critical section that lets it go (so an answer arriving
    /// meanwhile cannot forget it).
    pub async fn wait(&self, scope: &'static str) {
        loop {
            let wait = self.with(scope, |p| {
                let now = Instant::now();
                let wait = match (p.remaining, p.reset_at) {
                    (Some(r), Some(reset)) if r <= 0 && reset + p.skew > now => {
                        Some(reset + p.skew - now)
                    }
                    // A new window: its budget is unknown until one request learns it.
                    (Some(r), Some(_)) if r <= 0 => match p.probe_since {
                        Some(t) if t.elapsed() < Duration::from_secs(5) => {
                            Some(Duration::from_millis(20))
                        }
                        _ => {
                            p.probe_since = Some(now);
                            None
                        }
                    },
                    // A documented budget spent before any header said when it
                    // comes back: let one request find out.
                    (Some(r), None) if r <= 0 && p.in_flight > 0 => Some(Duration::from_millis(20)),
                    (Some(r), _) => {
                        p.remaining = Some(r.saturating_sub(1));
                        None
                    }
                    (None, _) => None,
                };
                if wait.is_none() {
                    p.in_flight = p.in_flight.saturating_add(1);
                }
                wait
            });
            match wait.flatten() {
                Some(d) => tokio::time::sleep(d).await,
                None => return,
            }
        }
    }

    /// A request of `scope` is no longer in flight.
    pub fn end(&self, scope: &'static str) {
        self.with(scope, |p| p.in_flight = p.in_flight.saturating_sub(1));
    }

    /// Remember the server's budget; requests still in flight will spend some of it.
    pub fn observe(&self, scope: &'static str, headers: &reqwest::header::HeaderMap) {
        let text = |name: &str| Some(headers.get(name)?.to_str().ok()?.trim().to_string());
        let Some(remaining) = text("x-ratelimit-remaining").and_then(|v| v.parse::<i64>().ok())
        else {
            return;
        };
        let reset_at = text("x-ratelimit-reset").and_then(|v| reset_instant(&v));
        self.with(scope, |p| {
            p.probe_since = None;
            let estimate = remaining.saturating_sub(p.in_flight.max(0));
            // The header is a snapshot from when this request arrived; until the
            // last reset heard has passed, a stale answer must not raise the
            // estimate (answers arrive out of order).
            let window_open = p.reset_at.is_some_and(|old| old > Instant::now());
            p.remaining = match p.remaining {
                Some(current) if window_open => Some(current.min(estimate)),
                _ => Some(estimate),
            };
            if !window_open {
                if let Some(new) = reset_at {
                    p.reset_at = Some(new);
                }
            }
        });
    }

    /// A request of `scope` was answered 429 although it was paced: the
    /// server's clock runs behind its resets. Wait longer from now on.
    pub fn throttled(&self, scope: &'static str) {
        self.with(scope, |p| {
            p.skew = (p.skew * 2).clamp(Duration::from_millis(25), Duration::from_secs(2));
        });
    }

    /// When `scope`'s budget comes back, as last heard (tests).
    #[cfg(test)]
    pub fn reset_at(&self, scope: &'static str) -> Option<Instant> {
        self.with(scope, |p| p.reset_at).flatten()
    }

    /// Set a scope's state (tests).
    #[cfg(test)]
    pub fn set(&self, scope: &'static str, remaining: Option<i64>, reset_at: Option<Instant>) {
        self.with(scope, |p| {
            p.remaining = remaining;
            p.reset_at = reset_at;
        });
    }
}

/// `X-RateLimit-Reset` as an instant: unix seconds (a fraction allowed) or,
/// for small values, seconds from now; clamped to an hour.
fn reset_instant(value: &str) -> Option<Instant> {
    let v: f64 = value.parse().ok().filter(|v: &f64| v.is_finite())?;
    let now = chrono::Utc::now();
    let now_secs = now.timestamp() as f64 + f64::from(now.timestamp_subsec_millis()) / 1000.0;
    let secs = if v > 1_000_000_000.0 { v - now_secs } else { v };
    let margin = if value.contains('.') { 0.0 } else { 1.0 };
    let wait = (secs + margin).clamp(0.0, 3600.0);
    Some(Instant::now() + Duration::from_secs_f64(wait))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resets_with_a_fraction_are_trusted_whole_seconds_get_a_margin() {
        let t = chrono::Utc::now();
        let now = t.timestamp() as f64 + f64::from(t.timestamp_subsec_millis()) / 1000.0;
        let soon = reset_instant(&format!("{:.3}", now + 2.5)).unwrap();
        let left = soon.duration_since(Instant::now()).as_secs_f64();
        assert!((2.3..2.6).contains(&left), "{left}");
        let whole = reset_instant(&format!("{}", now as i64 + 2)).unwrap();
        let left = whole.duration_since(Instant::now()).as_secs_f64();
        assert!((1.9..3.1).contains(&left), "{left}");
        assert!(reset_instant("inf").is_none());
        assert!(reset_instant("1e300").is_some());
    }

    #[test]
    fn the_time_for_n_requests_comes_from_the_budget_and_its_refill() {
        // Twig's write scope: a burst of 15, 10 a minute after it.
        let p = Pacer::new(|s| (s == "write").then_some(15))
            .refilling(|s| (s == "write").then_some(10.0));
        assert_eq!(p.time_for("write", 15), Some(Duration::ZERO));
        // 40 creates: 15 at once, the other 25 at one every 6 s.
        let t = p.time_for("write", 40).unwrap().as_secs_f64();
        assert!((149.0..=151.0).contains(&t), "{t}");
        // A scope without a documented refill is not paced.
        assert_eq!(p.time_for("read", 1000), None);
        // Spent, with the next request allowed in 2 s.
        p.set(
            "write",
            Some(0),
            Some(Instant::now() + Duration::from_secs(2)),
        );
        let t = p.time_for("write", 2).unwrap().as_secs_f64();
        assert!((7.5..=8.1).contains(&t), "{t}");
        // Requests in flight have their budget: 15 sent, 25 waiting.
        p.set("write", Some(0), None);
        p.with("write", |s| s.in_flight = 15);
        let t = p.time_for("write", 40).unwrap().as_secs_f64();
        assert!((149.0..=151.0).contains(&t), "{t}");
    }

    #[tokio::test]
    async fn a_documented_budget_paces_before_any_header() {
        let p = Pacer::new(|s| (s == "write").then_some(2));
        p.wait("write").await;
        p.wait("write").await;
        // The third waits for an answer to say when the budget returns.
        let third = tokio::time::timeout(Duration::from_millis(100), p.wait("write")).await;
        assert!(third.is_err(), "a third write went before any header");
        // Other scopes are not held up.
        p.wait("read").await;
    }

    fn headers(remaining: i64, reset_in: f64) -> reqwest::header::HeaderMap {
        let now = chrono::Utc::now();
        let at = now.timestamp() as f64 + f64::from(now.timestamp_subsec_millis()) / 1000.0;
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("x-ratelimit-remaining", remaining.into());
        h.insert(
            "x-ratelimit-reset",
            format!("{:.3}", at + reset_in).parse().unwrap(),
        );
        h
    }

    #[tokio::test]
    async fn a_token_bucket_is_followed_token_by_token() {
        let p = Pacer::new(|_| None);
        p.observe("write", &headers(0, 0.2));
        let first = p.reset_at("write").unwrap();
        // A later answer in the same window (a later next token) does not
        // move the wait, and cannot raise the budget.
        p.observe("write", &headers(3, 0.4));
        assert_eq!(p.reset_at("write"), Some(first));
        let started = Instant::now();
        p.wait("write").await;
        let waited = started.elapsed().as_secs_f64();
        assert!((0.15..0.3).contains(&waited), "{waited}");
        // Once the reset has passed, the next answer is believed.
        p.end("write");
        p.observe("write", &headers(5, 0.1));
        assert!(p.reset_at("write").unwrap() > first);
        p.wait("write").await;
    }

    #[tokio::test]
    async fn a_429_teaches_the_clock_skew() {
        let p = Pacer::new(|_| None);
        p.throttled("write");
        p.throttled("write");
        p.observe("write", &headers(0, 0.0));
        let started = Instant::now();
        p.wait("write").await;
        let waited = started.elapsed().as_secs_f64();
        assert!((0.04..0.2).contains(&waited), "{waited}");
    }
}

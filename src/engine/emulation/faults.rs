//! Fault injection and request counting, as one axum middleware.
//!
//! Order per request: count it; enforce the platform's documented limits (a
//! token bucket per scope, see [`Bucket`]) and the `--rpm` window (429 with
//! `Retry-After` and `X-RateLimit-*`); roll the 503 and 429 dice; add latency;
//! run the handler (the write commits); run a test's [`Hook`] on the route
//! (change the store between two requests, replace the answer); then maybe
//! answer 500 anyway, answer late (a spike past the client's timeout) or drop
//! the connection (reset after commit).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::Shared;

/// Fault injection and behaviour switches of an emulator.
#[derive(Debug, Clone, Default)]
pub struct FaultConfig {
    /// Enforce a documented rule the live service is known not to enforce
    /// (Twin: a schedule needs a deployed agent).
    pub strict: bool,
    /// Timestamps with one-second resolution and random ids.
    pub coarse_clock: bool,
    /// Latency added to every request, in milliseconds.
    pub latency_ms: u64,
    /// Fraction of requests answered 503 (0.0 to 1.0).
    pub rate_503: f64,
    /// Fraction of requests answered 429 with Retry-After.
    pub rate_429: f64,
    /// Fraction of writes whose connection is dropped after the write commits.
    pub rate_reset: f64,
    /// Fraction of writes that commit only after `spike_ms`, even when the
    /// client has given up.
    pub rate_late_commit: f64,
    /// Fraction of writes answered 500 after they commit (the write took
    /// effect; the client cannot tell).
    pub rate_500_after_commit: f64,
    /// Fraction of requests answered only after `spike_ms` (after committing).
    pub rate_spike: f64,
    pub spike_ms: u64,
    /// Requests per minute before 429 (0 = unlimited), with X-RateLimit-*.
    pub rpm: u32,
    /// Rate-limit windows run this many times faster (tests of platforms
    /// whose documented limits are per minute); 1.0 when unset.
    pub time_scale: f64,
    /// Seed for the fault dice (deterministic runs).
    pub seed: u64,
}

/// A documented rate limit: a token bucket of `burst` tokens refilled at
/// `per_minute` (scaled by `--time-scale`), one per scope.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    pub scope: &'static str,
    pub per_minute: f64,
    pub burst: f64,
}

/// Which bucket a request draws from (`None`: not limited).
pub type Limits = fn(&Method, &str) -> Option<Bucket>;

/// The fault settings and their dice.
pub struct Faults {
    pub args: FaultConfig,
    rng: Mutex<StdRng>,
    window: Mutex<(Instant, u32)>,
    limits: Option<Limits>,
    /// Tokens and last refill per scope.
    buckets: Mutex<HashMap<&'static str, (f64, Instant)>>,
}

/// What a bucket said about one request.
struct Drawn {
    allowed: bool,
    limit: f64,
    remaining: f64,
    /// Seconds until the next token (0 when the bucket is full).
    next_in: f64,
}

impl Faults {
    pub fn new(args: &FaultConfig, limits: Option<Limits>) -> Self {
        Faults {
            args: args.clone(),
            rng: Mutex::new(StdRng::seed_from_u64(args.seed)),
            window: Mutex::new((Instant::now(), 0)),
            limits,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Draw one token of the request's bucket, if its platform limits it.
    fn draw(&self, method: &Method, route: &str) -> Option<Drawn> {
        let b = (self.limits?)(method, route)?;
        let scale = if self.args.time_scale > 0.0 {
            self.args.time_scale
        } else {
            1.0
        };
        let per_sec = b.per_minute / 60.0 * scale;
        let mut all = self.buckets.lock().ok()?;
        let now = Instant::now();
        let (tokens, last) = all.entry(b.scope).or_insert((b.burst, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * per_sec).min(b.burst);
        *last = now;
        let allowed = *tokens >= 1.0;
        if allowed {
            *tokens -= 1.0;
        }
        let next_in = if *tokens >= b.burst || per_sec <= 0.0 {
            0.0
        } else {
            (1.0 - tokens.fract()) / per_sec
        };
        Some(Drawn {
            allowed,
            limit: b.per_minute,
            remaining: tokens.floor(),
            next_in,
        })
    }

    fn roll(&self, p: f64) -> bool {
        p > 0.0
            && self
                .rng
                .lock()
                .map(|mut r| r.random::<f64>() < p)
                .unwrap_or(false)
    }

    /// Count a request against the per-minute limit: `(allowed, remaining, seconds to reset)`.
    fn take(&self) -> Option<(bool, u32, u64)> {
        let limit = self.args.rpm;
        if limit == 0 {
            return None;
        }
        let mut w = self.window.lock().ok()?;
        if w.0.elapsed() >= Duration::from_secs(60) {
            *w = (Instant::now(), 0);
        }
        let reset = 60u64.saturating_sub(w.0.elapsed().as_secs()).max(1);
        if w.1 >= limit {
            return Some((false, 0, reset));
        }
        w.1 += 1;
        Some((true, limit - w.1, reset))
    }
}

/// A test's hook on one route (`METHOD /route/{param}`, as the router
/// names it): after the handler answered, `act` runs with the request's
/// path and query on the store, as if someone else changed the account
/// between two requests, and may replace the answer with an error status
/// (a write that took effect, answered as failed). It runs for the next
/// `times` requests of the route.
pub struct Hook<S> {
    pub method: Method,
    pub route: String,
    pub times: u32,
    pub act: HookFn<S>,
}

/// What a [`Hook`] does: `(path and query, store)` → the status to answer instead.
pub type HookFn<S> = Box<dyn FnMut(&str, &mut S) -> Option<u16> + Send>;

impl<S> Hook<S> {
    pub fn new(
        method: Method,
        route: &str,
        times: u32,
        act: impl FnMut(&str, &mut S) -> Option<u16> + Send + 'static,
    ) -> Self {
        Hook {
            method,
            route: route.to_string(),
            times,
            act: Box::new(act),
        }
    }
}

/// Run the first live hook of `method route`: the status it answers instead, if any.
fn run_hook<S>(shared: &super::Shared<S>, method: &Method, route: &str, uri: &str) -> Option<u16> {
    let mut hooks = shared.hooks.lock().ok()?;
    let hook = hooks
        .iter_mut()
        .find(|h| h.times > 0 && h.method == method && h.route == route)?;
    hook.times -= 1;
    shared.with_store(true, |s| (hook.act)(uri, s))
}

/// Requests seen, by `METHOD /route` and status.
#[derive(Debug, Default)]
pub struct Stats {
    counts: Mutex<BTreeMap<(String, String, u16), u64>>,
    pub total: AtomicU64,
}

impl Stats {
    fn record(&self, method: &Method, route: &str, status: u16) {
        self.total.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut c) = self.counts.lock() {
            *c.entry((method.to_string(), route.to_string(), status))
                .or_default() += 1;
        }
    }

    /// Every `(method, route, status)` with its count.
    pub fn snapshot(&self) -> Vec<(String, String, u16, u64)> {
        self.counts
            .lock()
            .map(|c| {
                c.iter()
                    .map(|((m, r, s), n)| (m.clone(), r.clone(), *s, *n))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Requests with `method` on `route` (any status).
    pub fn count(&self, method: &str, route: &str) -> u64 {
        self.snapshot()
            .iter()
            .filter(|(m, r, _, _)| m == method && r == route)
            .map(|e| e.3)
            .sum()
    }

    /// Successful writes (non-GET, 2xx): what actually changed state.
    pub fn writes(&self) -> u64 {
        self.snapshot()
            .iter()
            .filter(|(m, _, s, _)| m != "GET" && (200..300).contains(s))
            .map(|e| e.3)
            .sum()
    }

    /// Reads (GET, any status).
    pub fn reads(&self) -> u64 {
        self.snapshot()
            .iter()
            .filter(|(m, _, _, _)| m == "GET")
            .map(|e| e.3)
            .sum()
    }

    /// Requests answered with `status`.
    pub fn with_status(&self, status: u16) -> u64 {
        self.snapshot()
            .iter()
            .filter(|(_, _, s, _)| *s == status)
            .map(|e| e.3)
            .sum()
    }

    pub fn reset(&self) {
        if let Ok(mut c) = self.counts.lock() {
            c.clear();
        }
        self.total.store(0, Ordering::Relaxed);
    }

    /// As JSON for `GET /_emulator/stats`.
    pub fn to_json(&self) -> serde_json::Value {
        let rows: Vec<serde_json::Value> = self
            .snapshot()
            .into_iter()
            .map(|(m, r, s, n)| serde_json::json!({"method": m, "route": r, "status": s, "count": n}))
            .collect();
        serde_json::json!({"total": self.total.load(Ordering::Relaxed), "writes": self.writes(),
            "reads": self.reads(), "requests": rows})
    }
}

/// `X-RateLimit-*` of a token bucket: the reset is when the next token
/// arrives, in unix seconds with milliseconds.
fn bucket_headers(resp: &mut Response, d: &Drawn) {
    let now = chrono::Utc::now();
    let at = now.timestamp() as f64 + f64::from(now.timestamp_subsec_millis()) / 1000.0;
    let h = resp.headers_mut();
    h.insert("x-ratelimit-limit", HeaderValue::from(d.limit as u64));
    h.insert(
        "x-ratelimit-remaining",
        HeaderValue::from(d.remaining as u64),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("{:.3}", at + d.next_in)) {
        h.insert("x-ratelimit-reset", v);
    }
}

fn rate_headers(resp: &mut Response, limit: u32, remaining: u32, reset_in: u64) {
    let reset_at = chrono::Utc::now().timestamp() as u64 + reset_in;
    let h = resp.headers_mut();
    h.insert("x-ratelimit-limit", HeaderValue::from(limit));
    h.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
    h.insert("x-ratelimit-reset", HeaderValue::from(reset_at));
}

/// `router` with fault injection and counting on every matched route.
pub fn layer<S: Send + 'static>(router: axum::Router, shared: Arc<Shared<S>>) -> axum::Router {
    router.route_layer(axum::middleware::from_fn_with_state(
        shared,
        middleware::<S>,
    ))
}

async fn middleware<S: Send + 'static>(
    State(shared): State<Arc<Shared<S>>>,
    req: Request,
    next: Next,
) -> Response {
    let problem_response = shared.problem;
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| req.uri().path().to_string());
    if route.starts_with("/_emulator") {
        return next.run(req).await;
    }
    let uri = req.uri().to_string();
    let f = &shared.faults;
    let drawn = f.draw(&method, &route);
    let budget = f.take();
    let respond = |mut resp: Response| {
        if let Some((_, remaining, reset)) = budget {
            rate_headers(&mut resp, f.args.rpm, remaining, reset);
        }
        if let Some(d) = &drawn {
            bucket_headers(&mut resp, d);
        }
        shared.stats.record(&method, &route, resp.status().as_u16());
        resp
    };
    if let Some(d) = drawn.as_ref().filter(|d| !d.allowed) {
        let mut resp = problem_response(429, "rate limit exceeded");
        let wait = d.next_in.ceil().max(1.0) as u64;
        resp.headers_mut()
            .insert("retry-after", HeaderValue::from(wait));
        return respond(resp);
    }
    if let Some((false, _, reset)) = budget {
        let mut resp = problem_response(429, "rate limit exceeded");
        resp.headers_mut()
            .insert("retry-after", HeaderValue::from(reset));
        return respond(resp);
    }
    if f.roll(f.args.rate_503) {
        return respond(problem_response(503, "service unavailable (injected)"));
    }
    if f.roll(f.args.rate_429) {
        let mut resp = problem_response(429, "too many requests (injected)");
        resp.headers_mut()
            .insert("retry-after", HeaderValue::from(0));
        return respond(resp);
    }
    if f.args.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(f.args.latency_ms)).await;
    }
    let is_write = method != Method::GET;
    let spike = f.roll(f.args.rate_spike);
    let reset = is_write && f.roll(f.args.rate_reset);
    let resp = if is_write && f.roll(f.args.rate_late_commit) {
        // The write runs in a task of its own: a client that times out and
        // hangs up does not cancel it, so it commits after the client gave up.
        let delay = Duration::from_millis(f.args.spike_ms);
        let late = tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            next.run(req).await
        });
        match late.await {
            Ok(resp) => resp,
            Err(_) => (shared.problem)(500, "the late write failed (injected)"),
        }
    } else {
        next.run(req).await
    };
    let resp = match run_hook(&shared, &method, &route, &uri) {
        Some(status) => problem_response(status, "failed after the request took effect (hook)"),
        None => resp,
    };
    let committed = is_write && resp.status().is_success();
    let resp = if committed && f.roll(f.args.rate_500_after_commit) {
        problem_response(500, "internal error after the write committed (injected)")
    } else {
        resp
    };
    if spike {
        tokio::time::sleep(Duration::from_millis(f.args.spike_ms)).await;
    }
    if reset {
        // The write has committed; now drop the connection mid-response.
        shared.stats.record(&method, &route, resp.status().as_u16());
        let broken = futures_util::stream::once(async {
            Err::<bytes::Bytes, std::io::Error>(std::io::Error::other(
                "connection reset (injected)",
            ))
        });
        return (StatusCode::OK, Body::from_stream(broken)).into_response();
    }
    respond(resp)
}

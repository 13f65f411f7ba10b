//! The transport: one `reqwest::Client` per platform, authentication, the
//! retry policy, pacing from `X-RateLimit-*` headers, and request tracing.
//! What differs between platforms (the auth header, the error body, the
//! rate-limit scopes) comes from their [`Profile`].
//!
//! Retry policy (the contract's): 429, 502, 503, 504 and connection failures
//! are retried with exponential backoff and full jitter, honouring
//! `Retry-After`, at most [`RetryPolicy::max_attempts`] times, but only for
//! requests that are safe to repeat. A creating `POST`, or one that starts
//! something (a sync, a run), is retried only after a 429 (the server did
//! nothing); other failures come back to the caller, which looks for the
//! effect before it sends again (see `once.rs`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::error::{from_response, ApiError, ErrorBody};

/// The API key. Its `Debug` and `Display` never show it.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> Result<Self, ApiError> {
        let key = key.into().trim().to_string();
        if key.is_empty() {
            return Err(ApiError::Credentials("the API key is empty".into()));
        }
        if key.chars().any(|c| c.is_control()) {
            return Err(ApiError::Credentials(
                "the API key contains a control character (a stray line break?)".into(),
            ));
        }
        Ok(ApiKey(key))
    }

    /// The key itself, for the header and for the redactor. Never print it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(****)")
    }
}

impl std::fmt::Display for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("****")
    }
}

/// How a request may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Repeating it has the same effect (GET, PUT, DELETE, PATCH, pause, move…).
    Safe,
    /// It creates something: only a 429 is retried.
    Create,
    /// It starts something each time it is sent (a sync, a run): only a 429
    /// is retried, as for a create. A POST that is not a create is one of
    /// these unless repeating it provably changes nothing (a move to a given
    /// place, a pause); the caller checks whether a lost one took effect
    /// before sending it again (see `once.rs`).
    Action,
}

/// Backoff settings.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// Full-jitter exponential backoff for attempt `n` (1-based).
    fn backoff(&self, n: u32) -> Duration {
        let cap = self.base.saturating_mul(1 << n.min(16)).min(self.max_delay);
        cap.mul_f64(rand::random::<f64>().max(0.05))
    }
}

/// How requests carry the API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// `<header>: <key>` (an API-key header).
    Header(&'static str),
    /// `Authorization: Bearer <key>`.
    Bearer,
}

/// How one platform's API is spoken.
#[derive(Clone, Copy)]
pub struct Profile {
    pub auth: Auth,
    /// Reads the platform's error body (`None`: use the generic reader).
    pub describe_error: fn(&[u8]) -> Option<ErrorBody>,
    /// Whether a 500 may be retried (for safe requests), as some references say.
    pub retry_500: bool,
    /// The rate-limit scope a request counts against (platforms that limit
    /// reads and writes separately); `"all"` by default.
    pub scope: fn(&Method, &str) -> &'static str,
    /// A scope's documented budget (its burst), used until the server's
    /// `X-RateLimit-*` headers say otherwise.
    pub budget: fn(&str) -> Option<i64>,
    /// How many requests a minute a scope's budget regains (documented),
    /// for telling how long a paced apply takes before and while it runs.
    pub refill: fn(&str) -> Option<f64>,
    /// Adapt concurrency to 429s (platforms that publish no limits).
    pub adaptive: bool,
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            auth: Auth::Bearer,
            describe_error: |_| None,
            retry_500: false,
            scope: |_, _| "all",
            budget: |_| None,
            refill: |_| None,
            adaptive: false,
        }
    }
}

/// Connection settings.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub endpoint: String,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub retry: RetryPolicy,
}

/// Counters of what the client did (benchmarks and summaries read them).
#[derive(Debug, Default)]
pub struct ClientStats {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub throttled: AtomicU64,
}

/// A tracer for `-v`: receives one line per request, already free of secrets.
pub type Tracer = Arc<dyn Fn(&str) + Send + Sync>;

/// An async client for one platform's API. Cheap to clone (shared
/// connection pool, pacing and counters).
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    key: ApiKey,
    profile: Profile,
    retry: RetryPolicy,
    pace: Arc<super::pace::Pacer>,
    adaptive: Option<Arc<super::adapt::Adaptive>>,
    pub stats: Arc<ClientStats>,
    tracer: Option<Tracer>,
    /// The run's redactor: every credential found in an answer is added to
    /// it (see [`crate::engine::credentials`]), so no output shows it.
    redactor: Option<crate::engine::redact::Redactor>,
    /// The request timeout: how long a request may take before its outcome
    /// is unknown.
    pub timeout: Duration,
}

/// A successful response: status and raw body.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: bytes::Bytes,
}

impl Client {
    /// Build a client. Plain `http` is refused except for loopback addresses.
    pub fn new(config: ClientConfig, key: ApiKey, profile: Profile) -> Result<Self, ApiError> {
        let base = config.endpoint.trim_end_matches('/').to_string();
        let url = url::Url::parse(&base)
            .map_err(|e| ApiError::Endpoint(format!("invalid endpoint `{base}`: {e}")))?;
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&url) => {}
            "http" => {
                return Err(ApiError::Endpoint(format!(
                "refusing plain http to `{base}`: the API key would cross the network unencrypted \
                     (http is allowed only for loopback addresses)"
            )))
            }
            other => {
                return Err(ApiError::Endpoint(format!(
                    "unsupported endpoint scheme `{other}`"
                )))
            }
        }
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .pool_max_idle_per_host(64)
            .user_agent(concat!("twinform/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ApiError::Endpoint(format!("cannot build the HTTP client: {e}")))?;
        Ok(Client {
            http,
            base,
            key,
            profile,
            retry: config.retry,
            pace: Arc::new(super::pace::Pacer::new(profile.budget).refilling(profile.refill)),
            adaptive: profile.adaptive.then(Arc::default),
            stats: Arc::default(),
            tracer: None,
            redactor: None,
            timeout: config.timeout,
        })
    }

    /// Trace every request through `tracer` (`-v`).
    pub fn with_tracer(mut self, tracer: Tracer) -> Self {
        self.tracer = Some(tracer);
        self
    }

    /// Register every credential found in a successful answer with
    /// `redactor` (live data may hold credentials at any depth: a data
    /// source's `auth.api_token`, a tool's `X-Api-Key` header).
    pub fn with_redactor(mut self, redactor: crate::engine::redact::Redactor) -> Self {
        self.redactor = Some(redactor);
        self
    }

    fn learn_credentials(&self, body: &[u8]) {
        let Some(r) = &self.redactor else {
            return;
        };
        // Any answer that is JSON (leading whitespace included).
        let first = body.iter().find(|b| !b.is_ascii_whitespace());
        if first.is_none_or(|b| !matches!(b, b'{' | b'[')) {
            return;
        }
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
            for s in crate::engine::credentials::find(&v) {
                if crate::engine::credentials::worth_scrubbing(&s) {
                    r.add(&s);
                }
            }
        }
    }

    pub fn endpoint(&self) -> &str {
        &self.base
    }

    /// A keyed fingerprint of `parts` (HMAC-SHA256, hex, 32 characters),
    /// keyed by a hash of the API key: stable for one key, meaningless
    /// without it. For platforms where a write-only value's change must be
    /// detected without storing the value or an unsalted hash of it.
    pub fn keyed_digest(&self, parts: &[&str]) -> String {
        keyed_digest(self.key.expose().as_bytes(), parts)
    }

    /// Send a request and decode a JSON answer.
    pub async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&dyn erased::Body>,
        idem: Idempotency,
    ) -> Result<T, ApiError> {
        let resp = self.send(method.clone(), path, body, idem).await?;
        let bytes = if resp.body.is_empty() {
            &b"{}"[..]
        } else {
            &resp.body[..]
        };
        serde_json::from_slice(bytes).map_err(|e| ApiError::Decode {
            message: e.to_string(),
            method: method.to_string(),
            path: path.to_string(),
        })
    }

    /// How long until `n` more requests of `scope` can all have gone, from
    /// the pacer's budget; `None` when the scope is not paced.
    pub fn paced_time(&self, scope: &'static str, n: u64) -> Option<Duration> {
        self.pace.time_for(scope, n)
    }

    /// How many requests a minute `scope` regains, when documented.
    pub fn refill(&self, scope: &str) -> Option<f64> {
        self.pace.refill(scope)
    }

    /// Send a request with the retry policy; any 2xx is success.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&dyn erased::Body>,
        idem: Idempotency,
    ) -> Result<Response, ApiError> {
        if let Some(segment) = super::segment::dot_segment(path) {
            return Err(ApiError::UnsafePath {
                method: method.to_string(),
                path: path.to_string(),
                segment,
            });
        }
        let body = body.map(|b| b.to_json());
        let scope = (self.profile.scope)(&method, path);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let queued = Instant::now();
            self.pace.wait(scope).await;
            let slot = match &self.adaptive {
                Some(a) => Some(a.acquire().await),
                None => None,
            };
            super::pace::count_wait(queued.elapsed());
            let started = Instant::now();
            let result = self.send_once(&method, path, body.as_ref()).await;
            self.pace.end(scope);
            if let (Some(a), Some(sent)) = (&self.adaptive, slot) {
                let throttled = matches!(&result, Ok((r, _)) if r.status == 429);
                a.release(sent, throttled);
            }
            let ms = started.elapsed().as_millis();
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let retry_after = match &result {
                Ok((resp, headers)) => {
                    self.pace.observe(scope, headers);
                    if resp.status < 400 {
                        self.trace(&method, path, &resp.status.to_string(), ms, attempt);
                        self.learn_credentials(&resp.body);
                        return Ok(Response {
                            status: resp.status,
                            body: resp.body.clone(),
                        });
                    }
                    let described = (self.profile.describe_error)(&resp.body);
                    let err =
                        from_response(resp.status, method.as_str(), path, &resp.body, described);
                    self.trace(&method, path, &resp.status.to_string(), ms, attempt);
                    let retryable = match resp.status {
                        429 => {
                            self.stats.throttled.fetch_add(1, Ordering::Relaxed);
                            self.pace.throttled(scope);
                            true
                        }
                        500 => self.profile.retry_500 && idem == Idempotency::Safe,
                        502..=504 => idem == Idempotency::Safe,
                        _ => false,
                    };
                    if !retryable || attempt >= self.retry.max_attempts {
                        return Err(err);
                    }
                    retry_after(headers).or_else(|| body_retry_after(&resp.body))
                }
                Err(err) => {
                    self.trace(&method, path, "failed", ms, attempt);
                    if idem != Idempotency::Safe || attempt >= self.retry.max_attempts {
                        return Err(err.clone());
                    }
                    None
                }
            };
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            let delay = retry_after
                .unwrap_or_else(|| self.retry.backoff(attempt))
                .min(MAX_RETRY_AFTER);
            tokio::time::sleep(delay).await;
        }
    }

    async fn send_once(
        &self,
        method: &Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<(Response, reqwest::header::HeaderMap), ApiError> {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        req = match self.profile.auth {
            Auth::Header(name) => req.header(name, self.key.expose()),
            Auth::Bearer => req.bearer_auth(self.key.expose()),
        };
        if let Some(b) = body {
            req = req.json(b);
        }

        let result = async {
            let resp = req.send().await.map_err(|e| transport(method, path, &e))?;
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let body = resp
                .bytes()
                .await
                .map_err(|e| transport(method, path, &e))?;
            Ok((Response { status, body }, headers))
        }
        .await;
        result
    }

    fn trace(&self, method: &Method, path: &str, status: &str, ms: u128, attempt: u32) {
        if let Some(t) = &self.tracer {
            let retry = if attempt > 1 {
                format!(" (retry {})", attempt - 1)
            } else {
                String::new()
            };
            t(&format!("{method} {path} → {status} in {ms} ms{retry}"));
        }
    }
}

/// HMAC-SHA256 of `parts` (length-prefixed, so ("ab", "c") and ("a", "bc")
/// differ) under a key derived from `secret`; hex, 32 characters.
pub fn keyed_digest(secret: &[u8], parts: &[&str]) -> String {
    use hmac::{Hmac, Mac};
    use sha2::{Digest, Sha256};
    let key = Sha256::new()
        .chain_update(b"twinform keyed digest v1\0")
        .chain_update(secret)
        .finalize();
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&key) else {
        return String::new();
    };
    for p in parts {
        mac.update(&(p.len() as u64).to_be_bytes());
        mac.update(p.as_bytes());
    }
    hex::encode(&mac.finalize().into_bytes()[..16])
}

fn transport(method: &Method, path: &str, e: &reqwest::Error) -> ApiError {
    // A request that failed to connect never reached the server; anything else might have.
    let ambiguous = !e.is_connect();
    let kind = if e.is_timeout() {
        super::error::TIMED_OUT
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "connection dropped while reading the response"
    } else {
        "request failed"
    };
    let mut message = kind.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message = format!("{message}: {s}");
        source = s.source();
    }
    ApiError::Transport {
        message,
        method: method.to_string(),
        path: path.to_string(),
        ambiguous,
    }
}

/// The longest wait a server can ask for with `Retry-After`: a larger (or
/// infinite, or absurd) value is clamped, never trusted into a panic or a hang.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(v, chrono::Utc::now().timestamp())
}

/// A wait the error body asks for: `retryAfter` / `retry_after` seconds at
/// its top or inside `error` (some platforms say it there, not in a header).
fn body_retry_after(body: &[u8]) -> Option<Duration> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let find = |o: &serde_json::Value| {
        ["retryAfter", "retry_after"]
            .iter()
            .find_map(|k| o.get(*k))
            .and_then(|x| x.as_f64().or_else(|| x.as_str()?.trim().parse().ok()))
    };
    let secs = find(&v).or_else(|| find(v.get("error")?))?;
    parse_retry_after(&secs.to_string(), 0)
}

/// `Retry-After` as seconds (integer or decimal) or an HTTP date, clamped to
/// `0..=MAX_RETRY_AFTER`; `None` when it is neither. `now` is unix seconds.
pub fn parse_retry_after(value: &str, now: i64) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<f64>() {
        if secs.is_nan() {
            return None;
        }
        let secs = secs.clamp(0.0, MAX_RETRY_AFTER.as_secs_f64());
        return Some(Duration::from_secs_f64(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let secs = when
        .timestamp()
        .saturating_sub(now)
        .clamp(0, MAX_RETRY_AFTER.as_secs() as i64);
    Some(Duration::from_secs(secs.unsigned_abs()))
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Request bodies of any serializable type, passed by reference.
pub mod erased {
    /// A serializable request body.
    pub trait Body: Send + Sync {
        fn to_json(&self) -> serde_json::Value;
    }

    impl<T: super::Serialize + Send + Sync> Body for T {
        fn to_json(&self) -> serde_json::Value {
            serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(endpoint: &str) -> ClientConfig {
        ClientConfig {
            endpoint: endpoint.into(),
            timeout: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(1),
            retry: RetryPolicy::default(),
        }
    }

    #[test]
    fn plain_http_only_for_loopback() {
        let key = ApiKey::new("k").unwrap();
        let p = Profile::default();
        assert!(Client::new(config("http://127.0.0.1:8080"), key.clone(), p).is_ok());
        assert!(Client::new(config("http://localhost:8080"), key.clone(), p).is_ok());
        assert!(Client::new(config("http://[::1]:8080"), key.clone(), p).is_ok());
        assert!(Client::new(config("https://api.example.com"), key.clone(), p).is_ok());
        let err = Client::new(config("http://api.example.com"), key, p)
            .err()
            .unwrap();
        assert!(err.to_string().contains("refusing plain http"));
    }

    /// Trust II attack review F5: a live id `..` never reaches a request
    /// path, where the URL would resolve it to the parent resource.
    #[tokio::test]
    async fn a_dot_segment_is_refused_before_anything_is_sent() {
        let client = Client::new(
            config("http://127.0.0.1:9"),
            ApiKey::new("k").unwrap(),
            Profile::default(),
        )
        .unwrap();
        for path in [
            "/v1/agents/x/webhooks/..",
            "/v1/agents/%2E%2E",
            "/v1/agents/x/./y",
        ] {
            let err = client
                .send(Method::DELETE, path, None, Idempotency::Safe)
                .await
                .unwrap_err();
            assert!(
                matches!(err, ApiError::UnsafePath { .. }),
                "{path}: {err:?}"
            );
        }
        assert_eq!(client.stats.requests.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn key_is_never_shown() {
        let key = ApiKey::new("tw_live_supersecret").unwrap();
        assert_eq!(format!("{key} {key:?}"), "**** ApiKey(****)");
    }

    #[test]
    fn retry_after_is_clamped_never_a_panic() {
        let now = 1_800_000_000;
        assert_eq!(parse_retry_after("2", now), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_retry_after("0.5", now),
            Some(Duration::from_millis(500))
        );
        for huge in ["inf", "1e30", "18446744073709551616", "+Infinity"] {
            assert_eq!(
                parse_retry_after(huge, now),
                Some(MAX_RETRY_AFTER),
                "{huge}"
            );
        }
        assert_eq!(parse_retry_after("-5", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("NaN", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(
            parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now),
            Some(MAX_RETRY_AFTER)
        );
    }

    #[test]
    fn a_wait_named_in_the_error_body_is_honoured() {
        let secs = |b: &str| body_retry_after(b.as_bytes());
        assert_eq!(
            secs(r#"{"error": {"code": "rate_limit_exceeded", "retryAfter": 3}}"#),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            secs(r#"{"retry_after": "1.5"}"#),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(secs(r#"{"retryAfter": 1e99}"#), Some(MAX_RETRY_AFTER));
        assert_eq!(secs(r#"{"error": "slow down"}"#), None);
        assert_eq!(secs("not json"), None);
    }

    proptest::proptest! {
        #[test]
        fn any_retry_after_parses_within_bounds(v in ".{0,40}", now in proptest::num::i64::ANY) {
            if let Some(d) = parse_retry_after(&v, now) {
                proptest::prop_assert!(d <= MAX_RETRY_AFTER);
            }
        }

        #[test]
        fn any_rate_limit_headers_are_survived(
            remaining in "[-+0-9e.]{0,25}|.{0,10}",
            reset in "[-+0-9]{0,25}|.{0,10}",
        ) {
            let client = Client::new(config("http://127.0.0.1:9"), ApiKey::new("k").unwrap(), Profile::default()).unwrap();
            let mut headers = reqwest::header::HeaderMap::new();
            if let Ok(v) = reqwest::header::HeaderValue::from_str(&remaining) {
                headers.insert("x-ratelimit-remaining", v);
            }
            if let Ok(v) = reqwest::header::HeaderValue::from_str(&reset) {
                headers.insert("x-ratelimit-reset", v);
            }
            client.pace.observe("all", &headers);
            client.pace.observe("all", &headers);
            if let Some(at) = client.pace.reset_at("all") {
                proptest::prop_assert!(at <= Instant::now() + Duration::from_secs(3602));
            }
        }
    }

    #[test]
    fn extreme_rate_limit_numbers_do_not_overflow() {
        let client = Client::new(
            config("http://127.0.0.1:9"),
            ApiKey::new("k").unwrap(),
            Profile::default(),
        )
        .unwrap();
        for (rem, reset) in [
            (i64::MIN.to_string(), i64::MIN.to_string()),
            (i64::MAX.to_string(), i64::MAX.to_string()),
        ] {
            let mut headers = reqwest::header::HeaderMap::new();
            headers.insert("x-ratelimit-remaining", rem.parse().unwrap());
            headers.insert("x-ratelimit-reset", reset.parse().unwrap());
            client.pace.observe("all", &headers);
        }
        // A budget of i64::MIN with no reset would underflow on the next request.
        client.pace.set("all", Some(i64::MIN), None);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(client.pace.wait("all"));
    }

    /// A server answering every request 500; how many requests it saw.
    async fn always_500() -> (String, Arc<AtomicU64>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(AtomicU64::new(0));
        let count = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let _ = socket
                    .write_all(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            }
        });
        (endpoint, seen)
    }

    #[tokio::test]
    async fn an_action_or_a_create_is_never_retried_after_a_500() {
        let (endpoint, seen) = always_500().await;
        let mut c = config(&endpoint);
        c.retry.base = Duration::from_millis(1);
        let profile = Profile {
            retry_500: true,
            ..Profile::default()
        };
        let client = Client::new(c, ApiKey::new("k").unwrap(), profile).unwrap();
        for idem in [Idempotency::Action, Idempotency::Create] {
            seen.store(0, Ordering::SeqCst);
            let err = client
                .send(Method::POST, "/x", None, idem)
                .await
                .unwrap_err();
            assert_eq!(err.status(), Some(500));
            assert_eq!(seen.load(Ordering::SeqCst), 1, "{idem:?} was retried");
        }
        // What is safe to repeat is retried, as the platform's profile says.
        seen.store(0, Ordering::SeqCst);
        let _ = client
            .send(Method::PUT, "/x", None, Idempotency::Safe)
            .await;
        assert_eq!(
            seen.load(Ordering::SeqCst),
            u64::from(RetryPolicy::default().max_attempts)
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy::default();
        for n in 1..20 {
            assert!(p.backoff(n) <= p.max_delay);
        }
    }
}

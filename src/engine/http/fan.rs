//! Bounded fan-out: the one way providers run many requests at once.
//! A [`Limit`] holds `--parallelism` permits; a [`Bounded`] set of
//! requests starts each one as it is added and runs it when it holds a
//! permit, so reads can start as the pages that name them arrive. A limit
//! may be shared between levels (a layer's entries read inside a
//! workspace's reads): each request takes its own permit and never holds
//! one while waiting for another, so parallelism 1 cannot deadlock.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::ApiError;

/// At most this many requests in flight.
#[derive(Clone, Debug)]
pub struct Limit(Arc<Semaphore>);

impl Limit {
    /// `parallelism` permits (at least one).
    pub fn new(parallelism: usize) -> Self {
        Self(Arc::new(Semaphore::new(parallelism.max(1))))
    }

    /// `request`, run while holding a permit.
    pub async fn run<F: Future>(&self, request: F) -> F::Output {
        // The semaphore is never closed, so the permit always comes.
        let _permit = self.0.clone().acquire_owned().await;
        request.await
    }
}

/// Requests running under a [`Limit`], their answers collected as they
/// finish. Dropping the set cancels what has not finished (after a
/// failure nothing more is sent).
pub struct Bounded<T> {
    limit: Limit,
    tasks: JoinSet<Result<T, ApiError>>,
}

impl<T: Send + 'static> Bounded<T> {
    /// An empty set under `limit`.
    pub fn new(limit: &Limit) -> Self {
        Self {
            limit: limit.clone(),
            tasks: JoinSet::new(),
        }
    }

    /// Start `request`; it runs once it holds a permit.
    pub fn spawn(&mut self, request: impl Future<Output = Result<T, ApiError>> + Send + 'static) {
        let limit = self.limit.clone();
        self.tasks.spawn(async move { limit.run(request).await });
    }

    /// Start `driver`, which makes its own requests under this set's limit
    /// (a list, then a read per item): it holds no permit itself, since
    /// holding one while its requests wait for theirs would deadlock at
    /// parallelism 1.
    pub fn spawn_driver<D, Fut>(&mut self, driver: D)
    where
        D: FnOnce(Limit) -> Fut,
        Fut: Future<Output = Result<T, ApiError>> + Send + 'static,
    {
        self.tasks.spawn(driver(self.limit.clone()));
    }

    /// The next answer to finish; `None` once all have.
    pub async fn next(&mut self) -> Option<Result<T, ApiError>> {
        let joined = self.tasks.join_next().await?;
        Some(joined.unwrap_or_else(|e| Err(ApiError::Task(e.to_string()))))
    }

    /// Every answer (in the order they finish), or the first failure.
    pub async fn all(mut self) -> Result<Vec<T>, ApiError> {
        let mut out = Vec::with_capacity(self.tasks.len());
        while let Some(answer) = self.next().await {
            out.push(answer?);
        }
        Ok(out)
    }
}

/// `request` for each of `items`, at most `parallelism` at a time: every
/// answer, or the first failure.
pub async fn fan_out<I, T, F, Fut>(
    parallelism: usize,
    items: I,
    mut request: F,
) -> Result<Vec<T>, ApiError>
where
    I: IntoIterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future<Output = Result<T, ApiError>> + Send + 'static,
    T: Send + 'static,
{
    let mut set = Bounded::new(&Limit::new(parallelism));
    for item in items {
        set.spawn(request(item));
    }
    set.all().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn never_more_in_flight_than_the_limit() {
        let (now, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let answers = fan_out(3, 0..20, |i| {
            let (now, peak) = (now.clone(), peak.clone());
            async move {
                let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(n, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(2)).await;
                now.fetch_sub(1, Ordering::SeqCst);
                Ok(i)
            }
        })
        .await
        .unwrap();
        let mut answers = answers;
        answers.sort_unstable();
        assert_eq!(answers, (0..20).collect::<Vec<_>>());
        assert_eq!(peak.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_failure_is_the_answer_and_zero_means_one() {
        let r = fan_out(0, 0..5, |i| async move {
            if i == 3 {
                Err(ApiError::Task("boom".into()))
            } else {
                Ok(i)
            }
        })
        .await;
        assert!(matches!(r, Err(ApiError::Task(m)) if m == "boom"));
    }

    #[tokio::test]
    async fn drivers_of_nested_requests_finish_at_parallelism_one() {
        let mut outer = Bounded::new(&Limit::new(1));
        for i in 0..3 {
            outer.spawn(async move { Ok(i) });
            outer.spawn_driver(move |limit| async move {
                let listed = limit.run(async { Ok::<_, ApiError>(3) }).await?;
                let mut inner = Bounded::new(&limit);
                for j in 0..listed {
                    inner.spawn(async move { Ok(j) });
                }
                Ok(10 + inner.all().await?.len())
            });
        }
        let r = tokio::time::timeout(Duration::from_secs(5), outer.all()).await;
        let mut r = r.expect("no deadlock").unwrap();
        r.sort_unstable();
        assert_eq!(r, vec![0, 1, 2, 13, 13, 13]);
    }

    #[tokio::test]
    async fn a_panicking_request_is_an_error_not_a_crash() {
        let mut set: Bounded<u8> = Bounded::new(&Limit::new(2));
        set.spawn(async { panic!("bad answer") });
        assert!(matches!(set.all().await, Err(ApiError::Task(_))));
    }
}

//! The retry layer every provider runs behind: [`Retry`].

use async_trait::async_trait;

use super::{
    BatchRead, BatchValue, Capabilities, FindRef, Provider, PushRef, PushValue, RemoteRef,
    StoreRetry, Validation,
};
use crate::{Result, SecretMap, SecretValue};

/// Retries calls that fail with a temporary error ([`Error::is_temporary`](crate::Error::is_temporary):
/// rate limits, outages, conflicts), as a store's `spec.retrySettings` say: up to
/// `maxRetries` more attempts, `retryInterval` apart.
///
/// [`ProviderRegistry`](super::ProviderRegistry) wraps every provider it builds in this layer,
/// so every provider crate honours `retrySettings` the same way and none retries on its own.
/// Permanent errors (not found, permission denied, bad configuration) return at once. Push and
/// delete are idempotent by the [`Provider`] contract, so retrying them is safe.
///
/// # Example
///
/// ```
/// # #[cfg(feature = "testing")] {
/// use std::time::Duration;
/// // `Flaky` comes with the `testing` feature.
/// use eso_core::provider::{Flaky, InMemory, Provider, RemoteRef, Retry, StoreRetry};
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// // Every second call fails; one retry hides that.
/// let flaky = Flaky::new(InMemory::new().with_secret("k", "v"), 2);
/// let store = Retry::new(flaky, StoreRetry::new(1, Some(Duration::from_millis(1))));
/// for _ in 0..4 {
///     assert_eq!(store.get_secret(&RemoteRef::new("k")).await.unwrap().expose(), b"v");
/// }
/// # });
/// # }
/// ```
#[derive(Debug)]
pub struct Retry<P> {
    inner: P,
    policy: StoreRetry,
}

impl<P> Retry<P> {
    /// Wraps `inner` with `policy`.
    pub fn new(inner: P, policy: StoreRetry) -> Self {
        Self { inner, policy }
    }

    /// The policy.
    pub fn policy(&self) -> StoreRetry {
        self.policy
    }

    /// The wrapped provider.
    pub fn inner(&self) -> &P {
        &self.inner
    }

    async fn run<T, F, Fut>(&self, call: F) -> Result<T>
    where
        F: FnMut() -> Fut + Send,
        Fut: std::future::Future<Output = Result<T>> + Send,
        T: Send,
    {
        self.policy.run(call).await
    }
}

impl StoreRetry {
    /// Runs `call`, and again after each temporary failure, up to the policy's retries. The
    /// one retry loop of eso-rs: the [`Retry`] layer and generators that call backends use it.
    ///
    /// # Example
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// use std::time::Duration;
    /// use eso_core::Error;
    /// use eso_core::provider::StoreRetry;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
    /// let calls = AtomicU32::new(0);
    /// let policy = StoreRetry::new(3, Some(Duration::from_millis(1)));
    /// let out = policy.run(|| async {
    ///     if calls.fetch_add(1, Ordering::Relaxed) < 2 {
    ///         Err(Error::RateLimited { message: "slow down".into() })
    ///     } else {
    ///         Ok("done")
    ///     }
    /// }).await;
    /// assert_eq!(out.unwrap(), "done");
    /// assert_eq!(calls.load(Ordering::Relaxed), 3);
    /// # });
    /// ```
    pub async fn run<T, F, Fut>(&self, mut call: F) -> Result<T>
    where
        F: FnMut() -> Fut + Send,
        Fut: std::future::Future<Output = Result<T>> + Send,
        T: Send,
    {
        let mut attempt = 0;
        loop {
            match call().await {
                Err(e) if e.is_temporary() && attempt < self.max_retries => {
                    attempt += 1;
                    tracing::debug!(attempt, error = %e, "retrying a backend call");
                    tokio::time::sleep(self.wait()).await;
                }
                other => return other,
            }
        }
    }

    /// The policy of a `retrySettings` block (a store's, or a generator's that talks to a
    /// backend): `maxRetries` (unset or negative: 0) and `retryInterval` (a Go duration; unset:
    /// [`StoreRetry::DEFAULT_INTERVAL`]). A bad interval is an error at `field.retryInterval`.
    pub fn from_settings(
        settings: &crate::api::SecretStoreRetrySettings,
        field: &str,
    ) -> Result<Self> {
        let max = u32::try_from(settings.max_retries.unwrap_or(0).max(0)).unwrap_or(0);
        let interval = match settings.retry_interval.as_deref() {
            None | Some("") => None,
            Some(s) => Some(
                crate::GoDuration::parse(s)
                    .ok()
                    .and_then(crate::GoDuration::to_std)
                    .ok_or_else(|| {
                        crate::Error::invalid_config(
                            format!("{field}.retryInterval"),
                            format!("{s:?} is not a valid duration"),
                        )
                    })?,
            ),
        };
        Ok(Self::new(max, interval))
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl<P: Provider> Provider for Retry<P> {
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    async fn get_secret(&self, r: &RemoteRef) -> Result<SecretValue> {
        self.run(|| self.inner.get_secret(r)).await
    }
    async fn get_secret_map(&self, r: &RemoteRef) -> Result<SecretMap> {
        self.run(|| self.inner.get_secret_map(r)).await
    }
    async fn get_all_secrets(&self, find: &FindRef) -> Result<SecretMap> {
        self.run(|| self.inner.get_all_secrets(find)).await
    }
    async fn push_secret(&self, value: &PushValue, r: &PushRef) -> Result<()> {
        self.run(|| self.inner.push_secret(value, r)).await
    }
    async fn delete_secret(&self, r: &PushRef) -> Result<()> {
        self.run(|| self.inner.delete_secret(r)).await
    }
    async fn secret_exists(&self, r: &PushRef) -> Result<bool> {
        self.run(|| self.inner.secret_exists(r)).await
    }
    async fn validate(&self) -> Result<Validation> {
        self.run(|| self.inner.validate()).await
    }
    fn supports_batch_reads(&self) -> bool {
        self.inner.supports_batch_reads()
    }
    fn batch_size(&self) -> usize {
        self.inner.batch_size()
    }
    async fn get_batch(&self, reads: &[BatchRead]) -> Vec<Result<BatchValue>> {
        // Reads that failed temporarily are retried as a smaller batch; the others keep
        // their first answer.
        let mut out = self.inner.get_batch(reads).await;
        for _ in 0..self.policy.max_retries {
            let again: Vec<usize> = out
                .iter()
                .enumerate()
                .filter(|(_, r)| r.as_ref().is_err_and(crate::Error::is_temporary))
                .map(|(i, _)| i)
                .collect();
            if again.is_empty() {
                break;
            }
            tokio::time::sleep(self.policy.wait()).await;
            let retry: Vec<BatchRead> = again.iter().map(|&i| reads[i].clone()).collect();
            for (i, r) in again.into_iter().zip(self.inner.get_batch(&retry).await) {
                out[i] = r;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::Error;
    use crate::provider::{Flaky, InMemory};

    fn fast(n: u32) -> StoreRetry {
        StoreRetry::new(n, Some(Duration::from_millis(1)))
    }

    #[tokio::test]
    async fn temporary_failures_are_retried_up_to_the_limit() {
        // Every call fails: 1 + 3 attempts, then the error.
        let p = Retry::new(
            Flaky::new(InMemory::new().with_secret("k", "v"), 1),
            fast(3),
        );
        let e = p.get_secret(&RemoteRef::new("k")).await.unwrap_err();
        assert!(e.is_temporary());
        assert!(e.to_string().contains("call 4"), "{e}");
        // No retries configured: the first failure is returned.
        let p = Retry::new(Flaky::new(InMemory::new(), 1), StoreRetry::none());
        let e = p.get_secret(&RemoteRef::new("k")).await.unwrap_err();
        assert!(e.to_string().contains("call 1"), "{e}");
    }

    #[tokio::test]
    async fn permanent_errors_return_at_once() {
        let p = Retry::new(InMemory::new(), fast(5));
        let e = p.get_secret(&RemoteRef::new("missing")).await.unwrap_err();
        assert!(matches!(e, Error::NotFound { .. }));
    }

    #[tokio::test]
    async fn batches_retry_only_the_failed_reads() {
        let p = Retry::new(
            Flaky::new(InMemory::new().with_secret("a", "1"), 2),
            fast(2),
        );
        let reads = [BatchRead::Value(RemoteRef::new("a"))];
        // Call 1 succeeds, call 2 fails and is retried as call 3.
        assert!(p.get_batch(&reads).await[0].is_ok());
        assert!(p.get_batch(&reads).await[0].is_ok());
    }
}

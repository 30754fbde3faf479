//! Provider decorators for tests and benches: [`Latency`] and [`Flaky`] (feature `testing`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;

use super::{
    BatchRead, BatchValue, Capabilities, FindRef, Provider, PushRef, PushValue, RemoteRef,
    Validation,
};
use crate::SecretValue;
use crate::{Error, Result, SecretMap};

/// Delays every call by a fixed time, like a backend with that round-trip latency.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use eso_core::provider::{InMemory, Latency};
///
/// let slow = Latency::new(InMemory::new(), Duration::from_millis(20));
/// assert_eq!(slow.latency(), Duration::from_millis(20));
/// ```
#[derive(Debug, Clone)]
pub struct Latency<P> {
    inner: P,
    latency: Duration,
}

impl<P> Latency<P> {
    /// Wraps `inner`, delaying each call by `latency`.
    pub fn new(inner: P, latency: Duration) -> Self {
        Self { inner, latency }
    }

    /// The configured delay.
    pub fn latency(&self) -> Duration {
        self.latency
    }

    /// The wrapped provider.
    pub fn inner(&self) -> &P {
        &self.inner
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl<P: Provider> Provider for Latency<P> {
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    async fn get_secret(&self, r: &RemoteRef) -> Result<SecretValue> {
        tokio::time::sleep(self.latency).await;
        self.inner.get_secret(r).await
    }
    async fn get_secret_map(&self, r: &RemoteRef) -> Result<SecretMap> {
        tokio::time::sleep(self.latency).await;
        self.inner.get_secret_map(r).await
    }
    async fn get_all_secrets(&self, find: &FindRef) -> Result<SecretMap> {
        tokio::time::sleep(self.latency).await;
        self.inner.get_all_secrets(find).await
    }
    async fn push_secret(&self, value: &PushValue, r: &PushRef) -> Result<()> {
        tokio::time::sleep(self.latency).await;
        self.inner.push_secret(value, r).await
    }
    async fn delete_secret(&self, r: &PushRef) -> Result<()> {
        tokio::time::sleep(self.latency).await;
        self.inner.delete_secret(r).await
    }
    async fn secret_exists(&self, r: &PushRef) -> Result<bool> {
        tokio::time::sleep(self.latency).await;
        self.inner.secret_exists(r).await
    }
    async fn validate(&self) -> Result<Validation> {
        tokio::time::sleep(self.latency).await;
        self.inner.validate().await
    }
    fn supports_batch_reads(&self) -> bool {
        self.inner.supports_batch_reads()
    }
    fn batch_size(&self) -> usize {
        self.inner.batch_size()
    }
    async fn get_batch(&self, reads: &[BatchRead]) -> Vec<Result<BatchValue>> {
        tokio::time::sleep(self.latency).await;
        self.inner.get_batch(reads).await
    }
}

/// Fails every `n`-th call with a temporary [`Error::Unavailable`], to exercise retries.
///
/// # Example
///
/// ```
/// use eso_core::provider::{Flaky, InMemory, Provider, RemoteRef};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = Flaky::new(InMemory::new().with_secret("k", "v"), 2);
/// assert!(store.get_secret(&RemoteRef::new("k")).await.is_ok());
/// assert!(store.get_secret(&RemoteRef::new("k")).await.unwrap_err().is_temporary());
/// # });
/// ```
#[derive(Debug)]
pub struct Flaky<P> {
    inner: P,
    every: u64,
    calls: AtomicU64,
}

impl<P> Flaky<P> {
    /// Wraps `inner`; every `every`-th call fails (0 or 1 fails every call).
    pub fn new(inner: P, every: u64) -> Self {
        Self {
            inner,
            every: every.max(1),
            calls: AtomicU64::new(0),
        }
    }

    fn fail_now(&self) -> Result<()> {
        let n = self.calls.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_multiple_of(self.every) {
            return Err(Error::Unavailable {
                message: format!("injected failure on call {n}"),
                source: None,
            });
        }
        Ok(())
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl<P: Provider> Provider for Flaky<P> {
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    async fn get_secret(&self, r: &RemoteRef) -> Result<SecretValue> {
        self.fail_now()?;
        self.inner.get_secret(r).await
    }
    async fn get_secret_map(&self, r: &RemoteRef) -> Result<SecretMap> {
        self.fail_now()?;
        self.inner.get_secret_map(r).await
    }
    async fn get_all_secrets(&self, find: &FindRef) -> Result<SecretMap> {
        self.fail_now()?;
        self.inner.get_all_secrets(find).await
    }
    async fn push_secret(&self, value: &PushValue, r: &PushRef) -> Result<()> {
        self.fail_now()?;
        self.inner.push_secret(value, r).await
    }
    async fn delete_secret(&self, r: &PushRef) -> Result<()> {
        self.fail_now()?;
        self.inner.delete_secret(r).await
    }
    async fn secret_exists(&self, r: &PushRef) -> Result<bool> {
        self.fail_now()?;
        self.inner.secret_exists(r).await
    }
    async fn validate(&self) -> Result<Validation> {
        self.fail_now()?;
        self.inner.validate().await
    }
    fn supports_batch_reads(&self) -> bool {
        self.inner.supports_batch_reads()
    }
    fn batch_size(&self) -> usize {
        self.inner.batch_size()
    }
    async fn get_batch(&self, reads: &[BatchRead]) -> Vec<Result<BatchValue>> {
        if let Err(Error::Unavailable { message, .. }) = self.fail_now() {
            return reads
                .iter()
                .map(|_| {
                    Err(Error::Unavailable {
                        message: message.clone(),
                        source: None,
                    })
                })
                .collect();
        }
        self.inner.get_batch(reads).await
    }
}

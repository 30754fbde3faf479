//! [`Counting`]: an in-memory provider that counts the calls it gets, to test how many
//! reads a flow or an operator makes.

use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;

use crate::provider::{
    BatchRead, BatchValue, Capabilities, FindRef, InMemory, Provider, PushRef, PushValue,
    RemoteRef, Validation,
};
use crate::{Result, SecretMap, SecretValue};

/// An [`InMemory`] backend that counts single reads and batch calls, and batches reads when
/// asked to (as AWS Secrets Manager does).
///
/// # Example
///
/// ```
/// use eso_core::provider::{InMemory, Provider, RemoteRef};
/// use eso_core::testing::Counting;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let backend = Counting::new(InMemory::new().with_secret("db", "v1"), false);
/// backend.get_secret(&RemoteRef::new("db")).await.unwrap();
/// assert_eq!((backend.single_reads(), backend.batch_calls()), (1, 0));
/// # });
/// ```
#[derive(Debug, Default)]
pub struct Counting {
    inner: InMemory,
    batches: bool,
    single: AtomicUsize,
    batch_calls: AtomicUsize,
    batched: AtomicUsize,
}

impl Counting {
    /// `inner`, counted; it declares batch reads when `batches`.
    pub fn new(inner: InMemory, batches: bool) -> Self {
        Self {
            inner,
            batches,
            ..Self::default()
        }
    }

    /// `get_secret` and `get_secret_map` calls so far.
    pub fn single_reads(&self) -> usize {
        self.single.load(Ordering::SeqCst)
    }

    /// `get_batch` calls so far.
    pub fn batch_calls(&self) -> usize {
        self.batch_calls.load(Ordering::SeqCst)
    }

    /// Reads asked for through `get_batch` so far.
    pub fn batched_reads(&self) -> usize {
        self.batched.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl Provider for Counting {
    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }
    async fn get_secret(&self, r: &RemoteRef) -> Result<SecretValue> {
        self.single.fetch_add(1, Ordering::SeqCst);
        self.inner.get_secret(r).await
    }
    async fn get_secret_map(&self, r: &RemoteRef) -> Result<SecretMap> {
        self.single.fetch_add(1, Ordering::SeqCst);
        self.inner.get_secret_map(r).await
    }
    async fn get_all_secrets(&self, f: &FindRef) -> Result<SecretMap> {
        self.inner.get_all_secrets(f).await
    }
    async fn push_secret(&self, v: &PushValue, r: &PushRef) -> Result<()> {
        self.inner.push_secret(v, r).await
    }
    async fn delete_secret(&self, r: &PushRef) -> Result<()> {
        self.inner.delete_secret(r).await
    }
    async fn secret_exists(&self, r: &PushRef) -> Result<bool> {
        self.inner.secret_exists(r).await
    }
    async fn validate(&self) -> Result<Validation> {
        Ok(Validation::Ready)
    }
    fn supports_batch_reads(&self) -> bool {
        self.batches
    }
    fn batch_size(&self) -> usize {
        if self.batches { 20 } else { 1 }
    }
    async fn get_batch(&self, reads: &[BatchRead]) -> Vec<Result<BatchValue>> {
        self.batch_calls.fetch_add(1, Ordering::SeqCst);
        self.batched.fetch_add(reads.len(), Ordering::SeqCst);
        self.inner.get_batch(reads).await
    }
}

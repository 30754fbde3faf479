//! A pass shared by all reconciles of an operator ([`Pass::shared`]): identical reads within
//! the window are made once and never served older than it; single reads of a batching
//! provider arriving together go out as one batch call; the reconciles of many
//! ExternalSecrets over few distinct secrets cost one read per distinct secret.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use eso_core::Result;
use eso_core::provider::{
    BatchRead, BatchValue, Capabilities, DynProvider, FindRef, InMemory, Provider, PushRef,
    PushValue, RemoteRef, StoreIdentity, StoreScope, Validation,
};
use eso_core::reconcile::Pass;
use eso_core::{SecretMap, SecretValue};

/// InMemory, counting its calls; batching when `batches` is set.
#[derive(Debug, Default)]
struct Counting {
    inner: InMemory,
    batches: bool,
    single: AtomicUsize,
    batch_calls: AtomicUsize,
    batched: AtomicUsize,
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
    async fn get_batch(&self, reads: &[BatchRead]) -> Vec<Result<BatchValue>> {
        self.batch_calls.fetch_add(1, Ordering::SeqCst);
        self.batched.fetch_add(reads.len(), Ordering::SeqCst);
        self.inner.get_batch(reads).await
    }
}

fn counting(batches: bool, keys: usize) -> Arc<Counting> {
    let mut inner = InMemory::new();
    for i in 0..keys {
        inner = inner.with_secret(format!("k{i}"), format!("v{i}"));
    }
    Arc::new(Counting {
        inner,
        batches,
        ..Counting::default()
    })
}

fn store() -> StoreIdentity {
    StoreIdentity::new(StoreScope::Namespaced, "ns", "mem")
}

#[tokio::test(start_paused = true)]
async fn reads_are_reused_within_the_window_and_never_after() {
    let c = counting(false, 1);
    let pass = Pass::shared(Duration::from_secs(2), Duration::ZERO);
    let p = pass.provider(&store(), "ns", Arc::clone(&c) as DynProvider);
    let r = RemoteRef::new("k0");
    p.get_secret(&r).await.unwrap();
    tokio::time::advance(Duration::from_millis(1500)).await;
    p.get_secret(&r).await.unwrap();
    assert_eq!(c.single.load(Ordering::SeqCst), 1, "reused within 2 s");
    tokio::time::advance(Duration::from_millis(600)).await;
    p.get_secret(&r).await.unwrap();
    assert_eq!(
        c.single.load(Ordering::SeqCst),
        2,
        "2.1 s after the read: read again"
    );
    // The same key through another credential namespace is another read.
    pass.provider(&store(), "other", Arc::clone(&c) as DynProvider)
        .get_secret(&r)
        .await
        .unwrap();
    assert_eq!(c.single.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn a_zero_window_reuses_nothing() {
    let c = counting(false, 1);
    let pass = Pass::shared(Duration::ZERO, Duration::ZERO);
    let p = pass.provider(&store(), "ns", Arc::clone(&c) as DynProvider);
    for _ in 0..3 {
        p.get_secret(&RemoteRef::new("k0")).await.unwrap();
        tokio::time::advance(Duration::from_millis(1)).await;
    }
    assert_eq!(c.single.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn single_reads_arriving_together_go_out_as_one_batch() {
    let c = counting(true, 50);
    let pass = Pass::shared(Duration::from_secs(2), Duration::from_millis(5));
    let p = pass.provider(&store(), "ns", Arc::clone(&c) as DynProvider);
    let reads = (0..50).map(|i| {
        let p = Arc::clone(&p);
        async move {
            let r = RemoteRef::new(format!("k{i}"));
            let value = p.get_secret(&r).await.unwrap();
            assert_eq!(value.expose(), format!("v{i}").as_bytes());
            // And once more, the same key: reused.
            p.get_secret(&r).await.unwrap();
        }
    });
    futures_util::future::join_all(reads).await;
    assert_eq!(c.batch_calls.load(Ordering::SeqCst), 1);
    assert_eq!(c.batched.load(Ordering::SeqCst), 50);
    assert_eq!(c.single.load(Ordering::SeqCst), 0);
    assert_eq!(pass.provider_reads(), 1);
    // A missing secret in a batch fails alone and is not remembered.
    let missing = p.get_secret(&RemoteRef::new("nope")).await.unwrap_err();
    assert!(missing.is_not_found(), "{missing}");
    assert_eq!(c.batch_calls.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn providers_that_do_not_batch_are_read_one_by_one() {
    let c = counting(false, 10);
    let pass = Pass::shared(Duration::from_secs(2), Duration::from_millis(5));
    let p = pass.provider(&store(), "ns", Arc::clone(&c) as DynProvider);
    let reads = (0..10).map(|i| {
        let p = Arc::clone(&p);
        async move {
            p.get_secret(&RemoteRef::new(format!("k{i}")))
                .await
                .unwrap()
        }
    });
    futures_util::future::join_all(reads).await;
    assert_eq!(c.single.load(Ordering::SeqCst), 10);
    assert_eq!(c.batch_calls.load(Ordering::SeqCst), 0);
}

//! A pass shared by all reconciles of an operator ([`Pass::shared`]): identical reads within
//! the window are made once and never served older than it; single reads of a batching
//! provider arriving together go out as one batch call; the reconciles of many
//! ExternalSecrets over few distinct secrets cost one read per distinct secret.

#![cfg(feature = "testing")]

use std::sync::Arc;
use std::time::Duration;

use eso_core::provider::{DynProvider, InMemory, RemoteRef, StoreIdentity, StoreScope};
use eso_core::reconcile::Pass;
use eso_core::testing::Counting;

fn counting(batches: bool, keys: usize) -> Arc<Counting> {
    let mut inner = InMemory::new();
    for i in 0..keys {
        inner = inner.with_secret(format!("k{i}"), format!("v{i}"));
    }
    Arc::new(Counting::new(inner, batches))
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
    assert_eq!(c.single_reads(), 1, "reused within 2 s");
    tokio::time::advance(Duration::from_millis(600)).await;
    p.get_secret(&r).await.unwrap();
    assert_eq!(c.single_reads(), 2, "2.1 s after the read: read again");
    // The same key through another credential namespace is another read.
    pass.provider(&store(), "other", Arc::clone(&c) as DynProvider)
        .get_secret(&r)
        .await
        .unwrap();
    assert_eq!(c.single_reads(), 3);
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
    assert_eq!(c.single_reads(), 3);
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
    assert_eq!(c.batch_calls(), 1);
    assert_eq!(c.batched_reads(), 50);
    assert_eq!(c.single_reads(), 0);
    assert_eq!(pass.provider_reads(), 1);
    // A missing secret in a batch fails alone and is not remembered.
    let missing = p.get_secret(&RemoteRef::new("nope")).await.unwrap_err();
    assert!(missing.is_not_found(), "{missing}");
    assert_eq!(c.batch_calls(), 2);
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
    assert_eq!(c.single_reads(), 10);
    assert_eq!(c.batch_calls(), 0);
}

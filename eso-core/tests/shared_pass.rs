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
async fn a_batch_is_filled_with_the_reads_asked_for_lately() {
    let c = counting(true, 100);
    let pass = Pass::shared(Duration::from_secs(10), Duration::from_millis(5));
    let p = pass.provider(&store(), "ns", Arc::clone(&c) as DynProvider);
    let read = |i: usize| {
        let p = Arc::clone(&p);
        async move {
            let value = p
                .get_secret(&RemoteRef::new(format!("k{i}")))
                .await
                .unwrap();
            assert_eq!(value.expose(), format!("v{i}").as_bytes());
        }
    };
    // The first refresh: reads one after another, nothing remembered yet, a call each.
    for i in 0..100 {
        read(i).await;
    }
    assert_eq!(c.batch_calls(), 100);
    // A minute later the same reads, again one after another (the worst case for
    // gathering): each call is filled up to 20 with the secrets asked for lately.
    tokio::time::advance(Duration::from_secs(60)).await;
    for i in 0..100 {
        read(i).await;
    }
    assert_eq!(
        c.batch_calls(),
        105,
        "ceil(100 / 20) calls for the second refresh"
    );
    assert_eq!(c.batched_reads(), 200);
}

#[tokio::test(start_paused = true)]
async fn a_failed_read_fills_no_later_batch() {
    let c = counting(true, 2);
    let pass = Pass::shared(Duration::from_secs(10), Duration::from_millis(5));
    let p = pass.provider(&store(), "ns", Arc::clone(&c) as DynProvider);
    p.get_secret(&RemoteRef::new("k0")).await.unwrap();
    p.get_secret(&RemoteRef::new("k1")).await.unwrap();
    assert!(p.get_secret(&RemoteRef::new("gone")).await.is_err());
    assert_eq!(c.batched_reads(), 3);
    tokio::time::advance(Duration::from_secs(60)).await;
    p.get_secret(&RemoteRef::new("k0")).await.unwrap();
    assert_eq!(c.batch_calls(), 4);
    assert_eq!(c.batched_reads(), 5, "k0 with k1, without `gone`");
    // k1 came with k0's call.
    p.get_secret(&RemoteRef::new("k1")).await.unwrap();
    assert_eq!(c.batch_calls(), 4);
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
